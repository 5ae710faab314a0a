/*
 * plugins/local/agent/tree.c - kill a command's whole process tree.
 *
 * A process group is not enough: a command can start children in a new
 * session (setsid) or double-fork so they are no longer its children.  The
 * shepherd is a child subreaper, so every orphan of the tree reparents to
 * it instead of to init; "descendant of the shepherd" in /proc therefore
 * names the whole tree, however it was built.
 *
 * Until the command kills its shepherd: then the tree's orphans reparent
 * to the agent (pid 1), where tree_kill_orphans finds them -- a process
 * whose parent is pid 1 and which is not a live shepherd.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "agent.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* Passes before giving up on processes that will not die (e.g. stuck in
 * uninterruptible sleep); with the pause between passes, about a second. */
#define TREE_MAX_PASSES 500

typedef struct proc_ent {
    pid_t pid, ppid;
    char state;
    signed char mark; /* -1 unknown, 0 not in the tree, 1 in it */
} proc_ent_t;

typedef struct proc_tab {
    proc_ent_t *v;
    size_t n, cap;
} proc_tab_t;

/* Read pid, state and ppid from /proc/PID/stat.  The command name is in
 * parentheses and may itself hold ") ", so parse after the last ')'. */
static int read_stat(int procfd, const char *name, proc_ent_t *e)
{
    char path[64], buf[512];
    const char *p;
    ssize_t n;
    long ppid;
    char *end;
    int fd;

    if (strlen(name) > 32)
        return -1;
    strcpy(path, name);
    strcat(path, "/stat");
    fd = openat(procfd, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    p = strrchr(buf, ')');
    if (!p || p[1] != ' ' || !p[2] || p[3] != ' ')
        return -1;
    e->state = p[2];
    ppid = strtol(p + 4, &end, 10);
    if (end == p + 4 || ppid < 0)
        return -1;
    e->ppid = (pid_t)ppid;
    return 0;
}

static int cmp_pid(const void *a, const void *b)
{
    pid_t x = ((const proc_ent_t *)a)->pid, y = ((const proc_ent_t *)b)->pid;
    return (x > y) - (x < y);
}

static proc_ent_t *find(proc_tab_t *t, pid_t pid)
{
    proc_ent_t key = {.pid = pid};
    return bsearch(&key, t->v, t->n, sizeof *t->v, cmp_pid);
}

/* Snapshot every process.  Returns 0 or -1 (no /proc, no memory). */
static int snapshot(proc_tab_t *t)
{
    DIR *d = opendir("/proc");
    struct dirent *de;

    t->n = 0;
    if (!d)
        return -1;
    while ((de = readdir(d))) {
        proc_ent_t e;
        char *end;
        long pid;

        if (de->d_name[0] < '1' || de->d_name[0] > '9')
            continue;
        pid = strtol(de->d_name, &end, 10);
        if (*end || pid <= 0)
            continue;
        if (read_stat(dirfd(d), de->d_name, &e) < 0)
            continue; /* exited meanwhile */
        e.pid = (pid_t)pid;
        e.mark = -1;
        if (t->n == t->cap) {
            size_t cap = t->cap ? t->cap * 2 : 256;
            proc_ent_t *nv = realloc(t->v, cap * sizeof *nv);
            if (!nv) {
                closedir(d);
                return -1;
            }
            t->v = nv;
            t->cap = cap;
        }
        t->v[t->n++] = e;
    }
    closedir(d);
    qsort(t->v, t->n, sizeof *t->v, cmp_pid);
    return 0;
}

/* Is `e` below `root`?  Memoised in `mark`; the chain walk is bounded by
 * the table size, so a (momentarily) inconsistent snapshot cannot loop. */
static int in_tree(proc_tab_t *t, proc_ent_t *e, pid_t root)
{
    proc_ent_t *cur = e;
    int r = 0;
    size_t steps = 0;

    while (cur && steps++ <= t->n) {
        if (cur->mark >= 0) {
            r = cur->mark;
            break;
        }
        if (cur->ppid == root) {
            r = 1;
            break;
        }
        if (cur->ppid <= 1 || cur->pid == root)
            break;
        cur = find(t, cur->ppid);
    }
    /* Memoise along the chain. */
    for (cur = e, steps = 0; cur && cur->mark < 0 && steps++ <= t->n;
         cur = find(t, cur->ppid)) {
        cur->mark = (signed char)r;
        if (cur->ppid == root)
            break;
    }
    return r;
}

/* One pass: signal every live descendant.  Returns how many. */
static int kill_pass(proc_tab_t *t, pid_t root, int sig)
{
    int n = 0;
    if (snapshot(t) < 0)
        return 0;
    for (size_t i = 0; i < t->n; i++) {
        proc_ent_t *e = &t->v[i];
        if (e->pid == root || e->state == 'Z' || e->state == 'X')
            continue;
        if (in_tree(t, e, root) && kill(e->pid, sig) == 0)
            n++;
    }
    return n;
}

int tree_kill(pid_t root, pid_t pgid, int sig)
{
    proc_tab_t t = {0};
    int total = 0;

    if (pgid > 1 && pgid != root && kill(-pgid, sig) == 0)
        total++;
    for (int pass = 0; pass < TREE_MAX_PASSES; pass++) {
        int n = kill_pass(&t, root, sig);
        total += n;
        if (n == 0 || sig != SIGKILL)
            break;
        /* Let the killed die (become zombies) before looking again. */
        struct timespec ts = {0, pass < 10 ? 100000 : 2000000};
        nanosleep(&ts, NULL);
    }
    free(t.v);
    return total;
}

/* Is `pid` one of keep[0..n)? */
static int kept(const pid_t *keep, size_t n, pid_t pid)
{
    for (size_t i = 0; i < n; i++)
        if (keep[i] == pid)
            return 1;
    return 0;
}

/* Does `e` hang below an orphan (a child of pid 1 that is not kept)?
 * Memoised in `mark`; a chain whose link is missing from the snapshot
 * (exited meanwhile: its children move to pid 1) waits for the next
 * pass. */
static int in_orphan_tree(proc_tab_t *t, proc_ent_t *e, const pid_t *keep,
                          size_t n)
{
    proc_ent_t *cur = e;
    int r = 0;
    size_t steps = 0;

    while (cur && steps++ <= t->n) {
        if (cur->mark >= 0) {
            r = cur->mark;
            break;
        }
        if (cur->pid <= 1 || cur->ppid == 0)
            break; /* the agent itself */
        if (cur->ppid == 1) {
            r = !kept(keep, n, cur->pid);
            break;
        }
        cur = find(t, cur->ppid);
    }
    for (cur = e, steps = 0; cur && cur->mark < 0 && steps++ <= t->n;
         cur = find(t, cur->ppid)) {
        cur->mark = (signed char)r;
        if (cur->ppid <= 1)
            break;
    }
    return r;
}

int tree_kill_orphans(const pid_t *keep, size_t n)
{
    proc_tab_t t = {0};
    int total = 0;

    for (int pass = 0; pass < TREE_MAX_PASSES; pass++) {
        int killed = 0;

        if (snapshot(&t) < 0)
            break;
        for (size_t i = 0; i < t.n; i++) {
            proc_ent_t *e = &t.v[i];
            if (e->pid <= 1 || e->state == 'Z' || e->state == 'X')
                continue;
            if (in_orphan_tree(&t, e, keep, n) && kill(e->pid, SIGKILL) == 0)
                killed++;
        }
        total += killed;
        if (killed == 0)
            break;
        struct timespec ts = {0, pass < 10 ? 100000 : 2000000};
        nanosleep(&ts, NULL);
    }
    free(t.v);
    return total;
}
