/*
 * plugins/local/agent/execas.c - csdk-local-agent --exec-as: start
 * bubblewrap as an unprivileged host user when the plugin runs as root.
 *
 *   csdk-local-agent --exec-as UID:GID [--stage DIR [--expose NAME PATH]...]
 *                    [--cgroup-tasks DIR]... -- PROGRAM ARGS...
 *
 * Run by bwrap as root, the sandbox's user (uid 1000 inside) would be
 * host uid 0: sandboxed code could write the host's /proc/sys, read
 * root-only /proc files, and its files would be root's.  The plugin never
 * forks (it may live in a large host process), so it posix_spawns this
 * program instead, which, still as root:
 *
 *  1. opens PROGRAM;
 *  1b. with --cgroup-tasks: moves itself into each cgroup v1 directory DIR
 *     by writing "0" to DIR/tasks.  One thread moving itself takes no
 *     threadgroup lock (the plugin writing another pid to cgroup.procs
 *     waits for an RCU grace period), and bwrap and all it starts are
 *     born in the sandbox's cgroups;
 *  2. with --stage: unshares a mount namespace of its own (its mounts
 *     propagate nowhere), opens every PATH there (a bind's source must be
 *     in the caller's namespace), mounts a small tmpfs over DIR (a
 *     directory every user can reach, such as /mnt) and binds each PATH
 *     onto DIR/NAME.
 *     bwrap, running as UID, then reaches the sandbox's directories under
 *     DIR although they sit below a state directory only root may enter:
 *     no host user but root ever can, and the state directory stays 0700;
 *  3. drops to UID:GID for good: no supplementary groups, real, effective
 *     and saved ids all set, no capability left (checked, and setuid(0)
 *     must fail), PR_SET_NO_NEW_PRIVS;
 *  4. execs PROGRAM (bwrap) with ARGS, its fds 0-5 and environment as
 *     inherited, so bwrap's pid is this process's pid.
 *
 * Any failure is one line on stderr (the sandbox's agent.log, which the
 * plugin quotes) and exit status 127; nothing is ever run with privileges
 * it should not have.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define EXECAS_MAX_EXPOSE 16
#define EXECAS_MAX_CGROUPS 8

extern char **environ;

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));

static void die(const char *fmt, ...)
{
    char buf[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    dprintf(2, "csdk-local-agent: --exec-as: %s\n", buf);
    _exit(127);
}

static int parse_id(const char *s, const char **end, unsigned long *out)
{
    char *e;
    unsigned long v;

    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoul(s, &e, 10);
    /* (uid_t)-1 means "unchanged" to the set*id calls. */
    if (errno || v >= UINT_MAX)
        return -1;
    *out = v;
    *end = e;
    return 0;
}

/* A NAME under the stage directory: one plain component. */
static int plain_name(const char *s)
{
    if (!*s || !strcmp(s, ".") || !strcmp(s, "..") || strlen(s) > 64)
        return 0;
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
            return 0;
    return 1;
}

/* Every capability set is empty (effective, permitted, inheritable). */
static int no_capabilities(void)
{
    struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

    memset(d, 0, sizeof d);
    if (syscall(SYS_capget, &h, d) != 0)
        return 0;
    for (int i = 0; i < _LINUX_CAPABILITY_U32S_3; i++)
        if (d[i].effective || d[i].permitted || d[i].inheritable)
            return 0;
    return 1;
}

static void drop_privileges(uid_t uid, gid_t gid)
{
    uid_t r, e, s;
    gid_t rg, eg, sg;

    /* Nothing may carry a capability across the uid change. */
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0 &&
        errno != EINVAL)
        die("clearing the ambient capabilities: %s", strerror(errno));
    if (prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0) != 0)
        die("PR_SET_KEEPCAPS: %s", strerror(errno));
    if (setgroups(0, NULL) != 0)
        die("setgroups: %s", strerror(errno));
    if (setresgid(gid, gid, gid) != 0)
        die("setresgid(%lu): %s", (unsigned long)gid, strerror(errno));
    if (setresuid(uid, uid, uid) != 0)
        die("setresuid(%lu): %s", (unsigned long)uid, strerror(errno));

    /* Verify, rather than trust, that root is gone for good. */
    if (getresuid(&r, &e, &s) != 0 || r != uid || e != uid || s != uid)
        die("the user ids are not all %lu after setresuid", (unsigned long)uid);
    if (getresgid(&rg, &eg, &sg) != 0 || rg != gid || eg != gid || sg != gid)
        die("the group ids are not all %lu after setresgid", (unsigned long)gid);
    if (getgroups(0, NULL) != 0)
        die("supplementary groups are left after setgroups");
    if (setuid(0) == 0 || seteuid(0) == 0 || setgid(0) == 0)
        die("root could be regained after dropping to %lu:%lu",
            (unsigned long)uid, (unsigned long)gid);
    if (!no_capabilities())
        die("capabilities are left after dropping to %lu:%lu (securebits?)",
            (unsigned long)uid, (unsigned long)gid);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
        die("PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
}

/* Move this (single-threaded) process into the cgroup v1 directory
 * `dir`: "0" to its tasks file means the writer itself. */
static void enter_cgroup(const char *dir)
{
    char path[PATH_MAX];
    int fd;

    if ((size_t)snprintf(path, sizeof path, "%s/tasks", dir) >= sizeof path)
        die("--cgroup-tasks %s: path too long", dir);
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        die("cannot enter cgroup %s: %s", dir, strerror(errno));
    if (write(fd, "0", 1) != 1) {
        int e = errno;

        close(fd);
        die("cannot enter cgroup %s: %s", dir, strerror(e));
    }
    if (close(fd) != 0)
        die("cannot enter cgroup %s: %s", dir, strerror(errno));
}

/* Mount a tmpfs over `dir` in a mount namespace of our own and bind each
 * PATH onto dir/NAME. */
static void stage(const char *dir, char *const *names, char *const *paths,
                  int n)
{
    char path[PATH_MAX], src[64];
    int fds[EXECAS_MAX_EXPOSE];
    struct stat sts[EXECAS_MAX_EXPOSE];

    if (unshare(CLONE_NEWNS) != 0)
        die("cannot make a mount namespace for bubblewrap: unshare: %s",
            strerror(errno));
    /* Nothing mounted here may reach the host's namespace. */
    if (mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) != 0)
        die("cannot make the mounts private: %s", strerror(errno));
    /* Opened before anything is mounted over DIR, so a PATH below DIR
     * still means the host's. */
    for (int i = 0; i < n; i++) {
        fds[i] = open(paths[i], O_PATH | O_CLOEXEC);
        if (fds[i] < 0 || fstat(fds[i], &sts[i]) != 0)
            die("%s: %s", paths[i], strerror(errno));
    }
    if (mount("csdk-stage", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "mode=0755,size=64k,nr_inodes=64") != 0)
        die("cannot mount a tmpfs on %s: %s", dir, strerror(errno));
    for (int i = 0; i < n; i++) {
        if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, names[i]) >=
            sizeof path)
            die("%s/%s: path too long", dir, names[i]);
        if (S_ISDIR(sts[i].st_mode)) {
            if (mkdir(path, 0755) != 0)
                die("mkdir %s: %s", path, strerror(errno));
        } else {
            int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
            if (fd < 0)
                die("create %s: %s", path, strerror(errno));
            close(fd);
        }
        snprintf(src, sizeof src, "/proc/self/fd/%d", fds[i]);
        if (mount(src, path, NULL, MS_BIND | MS_REC, NULL) != 0)
            die("bind %s: %s", path, strerror(errno));
        close(fds[i]);
    }
}

int execas_main(int argc, char **argv)
{
    char *names[EXECAS_MAX_EXPOSE], *paths[EXECAS_MAX_EXPOSE];
    const char *cgroups[EXECAS_MAX_CGROUPS];
    const char *dir = NULL, *end;
    unsigned long uid, gid;
    int n = 0, n_cg = 0, i = 2, prog;

    if (argc < 3 || parse_id(argv[2], &end, &uid) < 0 || *end != ':' ||
        parse_id(end + 1, &end, &gid) < 0 || *end)
        die("expected UID:GID, got '%s'", argc > 2 ? argv[2] : "");
    if (uid == 0 || gid == 0)
        die("refusing to run as uid %lu, gid %lu: the point is to leave root",
            uid, gid);
    if (geteuid() != 0)
        die("only root drops to another user (running as uid %lu)",
            (unsigned long)geteuid());
    for (i = 3; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (!strcmp(argv[i], "--stage") && i + 1 < argc) {
            dir = argv[++i];
            if (dir[0] != '/' || !strcmp(dir, "/"))
                die("--stage %s: not an absolute path below /", dir);
        } else if (!strcmp(argv[i], "--cgroup-tasks") && i + 1 < argc) {
            if (n_cg == EXECAS_MAX_CGROUPS)
                die("more than %d --cgroup-tasks", EXECAS_MAX_CGROUPS);
            cgroups[n_cg] = argv[++i];
            if (cgroups[n_cg][0] != '/')
                die("--cgroup-tasks %s: not an absolute path", cgroups[n_cg]);
            n_cg++;
        } else if (!strcmp(argv[i], "--expose") && i + 2 < argc) {
            if (n == EXECAS_MAX_EXPOSE)
                die("more than %d --expose", EXECAS_MAX_EXPOSE);
            if (!plain_name(argv[i + 1]))
                die("--expose %s: not a plain name", argv[i + 1]);
            names[n] = argv[i + 1];
            paths[n] = argv[i + 2];
            n++;
            i += 2;
        } else {
            die("unknown or incomplete option '%s'", argv[i]);
        }
    }
    if (i + 1 >= argc || argv[i + 1][0] != '/')
        die("expected -- and the absolute path of the program to run");
    if (n > 0 && !dir)
        die("--expose needs --stage");
    prog = open(argv[i + 1], O_PATH | O_CLOEXEC);
    if (prog < 0)
        die("%s: %s", argv[i + 1], strerror(errno));

    for (int c = 0; c < n_cg; c++)
        enter_cgroup(cgroups[c]);
    if (dir)
        stage(dir, names, paths, n);
    drop_privileges((uid_t)uid, (gid_t)gid);

    fexecve(prog, argv + i + 1, environ);
    /* An interpreter script cannot be run from a close-on-exec fd. */
    if (errno == ENOENT)
        execv(argv[i + 1], argv + i + 1);
    die("cannot run %s: %s", argv[i + 1], strerror(errno));
}
