/*
 * plugins/local/limits.c - memory, pids and CPU limits of a sandbox.
 *
 * Order of preference (docs/local-provider.md, "Limits"):
 *  1. cgroup v2: a writable cgroup2 tree offering the controllers.  We
 *     try the root of the cgroup2 mount, then the parent of our own
 *     cgroup, then our own (a delegated subtree), and make
 *     C/csdk-local/ID there.  A cgroup that holds processes cannot give
 *     controllers to children (the "no internal processes" rule), so a
 *     candidate that refuses is skipped.
 *  2. cgroup v1: per controller, ROOT_OF_HIERARCHY/csdk-local/ID, else
 *     OWN_CGROUP/csdk-local/ID.
 *  3. rlimits, set per command by the agent: RLIMIT_AS for memory,
 *     RLIMIT_CPU for CPU; nothing can limit the number of processes.
 *
 * The sandbox's init is moved into its cgroups while bwrap holds it on
 * the block fd, so every process of the sandbox starts inside them.  As
 * root with cgroup v1, the cgroups are made before bwrap starts
 * (lc_limits_prepare) and the trampoline moves itself into them
 * (`--cgroup-tasks`, writing 0 to `tasks`: no threadgroup lock, unlike
 * moving another process), so bwrap and all it starts are born inside.
 * Nothing here fails a create: what cannot be enforced is recorded as
 * such and `info` says so.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "local.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LC_CG_DIR "csdk-local"
#define LC_CPU_PERIOD_US 100000u

const char *lc_enf_name(int enf)
{
    switch (enf) {
    case LC_ENF_CGROUP2:
        return "cgroup2";
    case LC_ENF_CGROUP1:
        return "cgroup1";
    case LC_ENF_RLIMIT:
        return "rlimit";
    default:
        return "none";
    }
}

/* ------------------------------------------------------------------ */
/* Small file helpers                                                  */
/* ------------------------------------------------------------------ */

static int lc_cg_write(const char *dir, const char *file, const char *value)
{
    char *path = lc_join(dir, file);
    int fd, rc = -1;

    if (path == NULL)
        return -1;
    fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd >= 0) {
        size_t n = strlen(value);

        rc = write(fd, value, n) == (ssize_t)n ? 0 : -1;
        if (close(fd) != 0)
            rc = -1;
    }
    free(path);
    return rc;
}

static char *lc_cg_read(const char *dir, const char *file)
{
    char *path = lc_join(dir, file), *text = NULL;

    if (path != NULL && lc_read_small(path, &text, NULL, 1u << 16) != 0)
        text = NULL;
    free(path);
    return text;
}

/* Non-zero if the space-separated list `list` holds `word`. */
static int lc_has_word(const char *list, const char *word)
{
    size_t n = strlen(word);

    for (const char *p = list; p != NULL && *p != '\0';) {
        while (*p == ' ' || *p == '\n' || *p == ',')
            p++;
        if (strncmp(p, word, n) == 0 &&
            (p[n] == '\0' || p[n] == ' ' || p[n] == '\n' || p[n] == ','))
            return 1;
        while (*p != '\0' && *p != ' ' && *p != '\n' && *p != ',')
            p++;
    }
    return 0;
}

/* Undo mountinfo's octal escapes (\040 for a space) in place. */
static void lc_unoctal(char *s)
{
    char *o = s;

    for (char *p = s; *p != '\0'; p++) {
        if (p[0] == '\\' && p[1] >= '0' && p[1] <= '3' && p[2] >= '0' &&
            p[2] <= '7' && p[3] >= '0' && p[3] <= '7') {
            *o++ = (char)((p[1] - '0') << 6 | (p[2] - '0') << 3 | (p[3] - '0'));
            p += 3;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
}

/*
 * The mount point of the cgroup2 filesystem (`controller` NULL) or of the
 * cgroup v1 hierarchy carrying `controller`.  malloc'd, or NULL.
 */
static char *lc_cg_mount(const char *controller)
{
    char *text = NULL, *line, *next, *found = NULL;

    if (lc_read_small("/proc/self/mountinfo", &text, NULL, 1u << 22) != 0)
        return NULL;
    for (line = text; line != NULL && found == NULL; line = next) {
        char *f[6], *dash, *fstype, *super, *save = NULL;
        size_t n = 0;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        dash = strstr(line, " - ");
        if (dash == NULL)
            continue;
        *dash = '\0';
        fstype = strtok_r(dash + 3, " ", &save);
        (void)strtok_r(NULL, " ", &save); /* source */
        super = strtok_r(NULL, " ", &save);
        if (fstype == NULL)
            continue;
        save = NULL;
        for (char *t = strtok_r(line, " ", &save); t != NULL && n < 6;
             t = strtok_r(NULL, " ", &save))
            f[n++] = t;
        if (n < 5)
            continue;
        if (controller == NULL ? strcmp(fstype, "cgroup2") == 0
                               : strcmp(fstype, "cgroup") == 0 &&
                                     super != NULL &&
                                     lc_has_word(super, controller)) {
            lc_unoctal(f[4]);
            found = strdup(f[4]);
        }
    }
    free(text);
    return found;
}

/* Our own cgroup path for `controller` (NULL: the v2 "0::" line). */
static char *lc_cg_own(const char *controller)
{
    char *text = NULL, *line, *next, *found = NULL;

    if (lc_read_small("/proc/self/cgroup", &text, NULL, 1u << 16) != 0)
        return NULL;
    for (line = text; line != NULL && found == NULL; line = next) {
        char *c1, *c2;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        c1 = strchr(line, ':');
        c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (c2 == NULL)
            continue;
        *c2 = '\0';
        if (controller == NULL ? strcmp(line, "0:") == 0 && c1 + 1 == c2
                               : lc_has_word(c1 + 1, controller))
            found = strdup(c2 + 1);
    }
    free(text);
    return found;
}

/* Parent of a cgroup path ("/a/b" -> "/a", "/a" -> "/"). */
static char *lc_cg_parent(const char *path)
{
    char *p = strdup(path), *slash;

    if (p == NULL)
        return NULL;
    slash = strrchr(p, '/');
    if (slash == NULL || slash == p)
        strcpy(p, "/");
    else
        *slash = '\0';
    return p;
}

/* mount + cgroup path, without a doubled slash. */
static char *lc_cg_path(const char *mount, const char *cg)
{
    while (*cg == '/')
        cg++;
    return *cg ? lc_join(mount, cg) : strdup(mount);
}

static void lc_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Kill every process in cgroup `dir` and remove it, waiting a little for
 * the dying.  Returns 0 or -1. */
static int lc_cg_destroy(const char *dir)
{
    for (int attempt = 0; attempt < 200; attempt++) {
        char *procs;

        if (rmdir(dir) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY)
            return -1;
        if (lc_cg_write(dir, "cgroup.kill", "1") != 0) {
            procs = lc_cg_read(dir, "cgroup.procs");
            for (char *p = procs; p != NULL && *p != '\0';) {
                char *end;
                long pid = strtol(p, &end, 10);

                if (end == p)
                    break;
                if (pid > 1)
                    (void)kill((pid_t)pid, SIGKILL);
                p = end;
                while (*p == '\n')
                    p++;
            }
            free(procs);
        }
        lc_sleep_ms(attempt < 20 ? 1 : 10);
    }
    return -1;
}

/* ------------------------------------------------------------------ */
/* cgroup v2                                                           */
/* ------------------------------------------------------------------ */

static void lc_wanted(const lc_limits_t *lim, const char **names, size_t *n)
{
    *n = 0;
    if (lim->memory_mb)
        names[(*n)++] = "memory";
    if (lim->pids)
        names[(*n)++] = "pids";
    if (lim->millicpus)
        names[(*n)++] = "cpu";
}

/* Try to make C/csdk-local/ID under candidate `dir` with the limits and
 * move `pid` in.  Returns the new cgroup's path, or NULL. */
static char *lc_v2_try(const char *dir, const lc_sandbox_t *sb, pid_t pid)
{
    const char *want[3];
    size_t n_want;
    char *ctl = lc_cg_read(dir, "cgroup.controllers"), *sub, *base = NULL,
         *cg = NULL, buf[96], enable[64] = "";
    int ok = ctl != NULL && access(dir, W_OK) == 0;

    lc_wanted(&sb->lim, want, &n_want);
    for (size_t i = 0; ok && i < n_want; i++) {
        ok = lc_has_word(ctl, want[i]);
        strcat(enable, i ? " +" : "+");
        strcat(enable, want[i]);
    }
    free(ctl);
    if (!ok || n_want == 0)
        return NULL;
    sub = lc_cg_read(dir, "cgroup.subtree_control");
    for (size_t i = 0; ok && i < n_want; i++)
        ok = sub != NULL && lc_has_word(sub, want[i]);
    free(sub);
    if (!ok && lc_cg_write(dir, "cgroup.subtree_control", enable) != 0)
        return NULL;
    base = lc_join(dir, LC_CG_DIR);
    if (base == NULL || (mkdir(base, 0755) != 0 && errno != EEXIST) ||
        lc_cg_write(base, "cgroup.subtree_control", enable) != 0)
        goto fail;
    cg = lc_join(base, sb->id);
    if (cg == NULL || mkdir(cg, 0755) != 0)
        goto fail;
    if (sb->lim.memory_mb) {
        snprintf(buf, sizeof buf, "%" PRIu64, sb->lim.memory_mb * LC_MIB);
        if (lc_cg_write(cg, "memory.max", buf) != 0)
            goto fail_cg;
        (void)lc_cg_write(cg, "memory.swap.max", "0");
    }
    if (sb->lim.pids) {
        snprintf(buf, sizeof buf, "%" PRIu64, sb->lim.pids);
        if (lc_cg_write(cg, "pids.max", buf) != 0)
            goto fail_cg;
    }
    if (sb->lim.millicpus) {
        snprintf(buf, sizeof buf, "%" PRIu64 " %u",
                 sb->lim.millicpus * (LC_CPU_PERIOD_US / 1000),
                 LC_CPU_PERIOD_US);
        if (lc_cg_write(cg, "cpu.max", buf) != 0)
            goto fail_cg;
    }
    snprintf(buf, sizeof buf, "%ld", (long)pid);
    if (lc_cg_write(cg, "cgroup.procs", buf) != 0)
        goto fail_cg;
    free(base);
    return cg;
fail_cg:
    (void)rmdir(cg);
fail:
    free(cg);
    free(base);
    return NULL;
}

static int lc_v2_apply(lc_sandbox_t *sb, pid_t pid)
{
    char *mount = lc_cg_mount(NULL), *own, *cands[3] = {NULL, NULL, NULL};
    char *cg = NULL;

    if (mount == NULL)
        return -1;
    own = lc_cg_own(NULL);
    cands[0] = strdup("/");
    if (own != NULL) {
        cands[1] = lc_cg_parent(own);
        cands[2] = own;
    }
    for (size_t i = 0; i < 3 && cg == NULL; i++) {
        char *dir;

        if (cands[i] == NULL ||
            (i > 0 && cands[i - 1] && strcmp(cands[i], cands[i - 1]) == 0))
            continue;
        dir = lc_cg_path(mount, cands[i]);
        if (dir != NULL)
            cg = lc_v2_try(dir, sb, pid);
        free(dir);
    }
    for (size_t i = 0; i < 3; i++)
        free(cands[i]);
    free(mount);
    if (cg == NULL)
        return -1;
    if (lc_pairs_set(&sb->cgroups, "unified", cg) != 0) {
        (void)lc_cg_destroy(cg);
        free(cg);
        return -1;
    }
    free(cg);
    if (sb->lim.memory_mb)
        sb->enf.memory = LC_ENF_CGROUP2;
    if (sb->lim.pids)
        sb->enf.pids = LC_ENF_CGROUP2;
    if (sb->lim.millicpus)
        sb->enf.cpus = LC_ENF_CGROUP2;
    return 0;
}

/* ------------------------------------------------------------------ */
/* cgroup v1                                                           */
/* ------------------------------------------------------------------ */

/* Write the limit of `controller` into the new cgroup `cg`. */
static int lc_v1_limit(const char *cg, const char *controller,
                       const lc_limits_t *lim)
{
    char buf[64], *back;
    int ok;

    if (strcmp(controller, "memory") == 0) {
        snprintf(buf, sizeof buf, "%" PRIu64, lim->memory_mb * LC_MIB);
        if (lc_cg_write(cg, "memory.limit_in_bytes", buf) != 0)
            return -1;
        /* With swap accounting, keep the sandbox from swapping past it. */
        (void)lc_cg_write(cg, "memory.memsw.limit_in_bytes", buf);
        back = lc_cg_read(cg, "memory.limit_in_bytes");
        ok = back != NULL && strtoull(back, NULL, 10) <= lim->memory_mb * LC_MIB;
        free(back);
        return ok ? 0 : -1;
    }
    if (strcmp(controller, "pids") == 0) {
        snprintf(buf, sizeof buf, "%" PRIu64, lim->pids);
        return lc_cg_write(cg, "pids.max", buf);
    }
    snprintf(buf, sizeof buf, "%u", LC_CPU_PERIOD_US);
    if (lc_cg_write(cg, "cpu.cfs_period_us", buf) != 0)
        return -1;
    snprintf(buf, sizeof buf, "%" PRIu64,
             lim->millicpus * (LC_CPU_PERIOD_US / 1000));
    return lc_cg_write(cg, "cpu.cfs_quota_us", buf);
}

/* Make ROOT_OF_HIERARCHY/csdk-local/ID (else OWN_CGROUP/csdk-local/ID) for
 * `controller` with its limit and record it in sb->cgroups.  With `pid`
 * > 0, also move that process in (a candidate refusing it is skipped);
 * with `pid` <= 0 the trampoline moves itself in (lc_limits_prepare). */
static int lc_v1_apply_one(lc_sandbox_t *sb, const char *controller,
                           pid_t pid)
{
    char *mount = lc_cg_mount(controller), *own = NULL, *cg = NULL;
    const char *cands[2];
    char pidbuf[32];

    if (mount == NULL)
        return -1;
    own = lc_cg_own(controller);
    cands[0] = "/";
    cands[1] = own != NULL && strcmp(own, "/") != 0 ? own : NULL;
    snprintf(pidbuf, sizeof pidbuf, "%ld", (long)pid);
    for (size_t i = 0; i < 2 && cg == NULL; i++) {
        char *dir, *base;

        if (cands[i] == NULL)
            continue;
        dir = lc_cg_path(mount, cands[i]);
        base = dir ? lc_join(dir, LC_CG_DIR) : NULL;
        cg = base ? lc_join(base, sb->id) : NULL;
        if (cg == NULL || (mkdir(base, 0755) != 0 && errno != EEXIST) ||
            mkdir(cg, 0755) != 0) {
            free(cg);
            cg = NULL;
        } else if (lc_v1_limit(cg, controller, &sb->lim) != 0 ||
                   (pid > 0 && lc_cg_write(cg, "cgroup.procs", pidbuf) != 0)) {
            (void)rmdir(cg);
            free(cg);
            cg = NULL;
        }
        free(base);
        free(dir);
    }
    free(own);
    free(mount);
    if (cg == NULL)
        return -1;
    if (lc_pairs_set(&sb->cgroups, controller, cg) != 0) {
        (void)lc_cg_destroy(cg);
        free(cg);
        return -1;
    }
    free(cg);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Entry points                                                        */
/* ------------------------------------------------------------------ */

void lc_limits_prepare(lc_state_t *st, lc_sandbox_t *sb)
{
    const char *want[3];
    size_t n_want;
    int v1 = 0;

    (void)st;
    memset(&sb->enf, 0, sizeof sb->enf);
    sb->cg_v1_early = 0;
    lc_wanted(&sb->lim, want, &n_want);
    /* A controller bound to a v1 hierarchy is in no cgroup2 tree, so
     * lc_v2_try, which needs every wanted one, would fail anyway. */
    for (size_t i = 0; i < n_want && !v1; i++) {
        char *m = lc_cg_mount(want[i]);

        v1 = m != NULL;
        free(m);
    }
    if (!v1)
        return; /* cgroup v2 or none: all done by lc_limits_apply */
    sb->cg_v1_early = 1;
    if (sb->lim.memory_mb && lc_v1_apply_one(sb, "memory", 0) == 0)
        sb->enf.memory = LC_ENF_CGROUP1;
    if (sb->lim.pids && lc_v1_apply_one(sb, "pids", 0) == 0)
        sb->enf.pids = LC_ENF_CGROUP1;
    if (sb->lim.millicpus && lc_v1_apply_one(sb, "cpu", 0) == 0)
        sb->enf.cpus = LC_ENF_CGROUP1;
}

void lc_limits_apply(lc_state_t *st, lc_sandbox_t *sb, pid_t pid)
{
    if (!sb->cg_v1_early)
        memset(&sb->enf, 0, sizeof sb->enf);
    if (!sb->lim.memory_mb && !sb->lim.pids && !sb->lim.millicpus)
        return;
    /* After lc_limits_prepare, the trampoline put bwrap, and so `pid`,
     * into the v1 cgroups already: nothing to move. */
    if (!sb->cg_v1_early && lc_v2_apply(sb, pid) != 0) {
        if (sb->lim.memory_mb && lc_v1_apply_one(sb, "memory", pid) == 0)
            sb->enf.memory = LC_ENF_CGROUP1;
        if (sb->lim.pids && lc_v1_apply_one(sb, "pids", pid) == 0)
            sb->enf.pids = LC_ENF_CGROUP1;
        if (sb->lim.millicpus && lc_v1_apply_one(sb, "cpu", pid) == 0)
            sb->enf.cpus = LC_ENF_CGROUP1;
    }
    /* The agent applies these per command (PROTO_F_LIMIT_AS / _CPU_S). */
    if (sb->lim.memory_mb && sb->enf.memory == LC_ENF_NONE)
        sb->enf.memory = LC_ENF_RLIMIT;
    if (sb->lim.millicpus && sb->enf.cpus == LC_ENF_NONE)
        sb->enf.cpus = LC_ENF_RLIMIT;
    if (sb->lim.pids && sb->enf.pids == LC_ENF_NONE)
        st->host->log(st->inst, CSDK_LOG_INFO,
                      "sandbox %s: no writable pids cgroup; its process "
                      "count is not limited", sb->id);
}

void lc_limits_remove(lc_state_t *st, const lc_sandbox_t *sb)
{
    for (size_t i = 0; i < sb->cgroups.n; i++) {
        const char *dir = sb->cgroups.v[i].value;
        size_t n = strlen(dir), idn = strlen(sb->id);

        /* Only ever a directory this plugin made for this sandbox. */
        const size_t sfx = sizeof("/" LC_CG_DIR "/") - 1;

        if (n < idn + sfx || strcmp(dir + n - idn, sb->id) != 0 ||
            strncmp(dir + n - idn - sfx, "/" LC_CG_DIR "/", sfx) != 0)
            continue;
        if (lc_cg_destroy(dir) != 0)
            st->host->log(st->inst, CSDK_LOG_WARN,
                          "sandbox %s: cannot remove cgroup '%s': %s",
                          sb->id, dir, strerror(errno));
    }
}

static char *lc_cpus_text(uint64_t milli)
{
    uint64_t frac = milli % 1000;

    if (frac == 0)
        return lc_printf("%" PRIu64 ".0", milli / 1000);
    if (frac % 100 == 0)
        return lc_printf("%" PRIu64 ".%" PRIu64, milli / 1000, frac / 100);
    if (frac % 10 == 0)
        return lc_printf("%" PRIu64 ".%02" PRIu64, milli / 1000, frac / 10);
    return lc_printf("%" PRIu64 ".%03" PRIu64, milli / 1000, frac);
}

char *lc_limit_describe(const lc_sandbox_t *sb, const char *which)
{
    const lc_limits_t *l = &sb->lim;

    if (strcmp(which, "memory") == 0)
        return l->memory_mb
                   ? lc_printf("%s:%" PRIu64 "MiB%s", lc_enf_name(sb->enf.memory),
                               l->memory_mb,
                               sb->enf.memory == LC_ENF_RLIMIT
                                   ? " (address space)"
                                   : "")
                   : strdup("none");
    if (strcmp(which, "pids") == 0)
        return l->pids && sb->enf.pids != LC_ENF_NONE
                   ? lc_printf("%s:%" PRIu64, lc_enf_name(sb->enf.pids),
                               l->pids)
                   : l->pids ? lc_printf("none (wanted %" PRIu64 ")", l->pids)
                             : strdup("none");
    if (strcmp(which, "cpus") == 0) {
        char *c, *out;

        if (!l->millicpus)
            return strdup("none");
        c = lc_cpus_text(l->millicpus);
        if (c == NULL)
            return NULL;
        out = lc_printf("%s:%s%s", lc_enf_name(sb->enf.cpus), c,
                        sb->enf.cpus == LC_ENF_RLIMIT ? " (cpu time)" : "");
        free(c);
        return out;
    }
    if (strcmp(which, "file_size") == 0)
        return l->file_size_mb
                   ? lc_printf("rlimit:%" PRIu64 "MiB", l->file_size_mb)
                   : strdup("none");
    if (strcmp(which, "open_files") == 0)
        return l->open_files ? lc_printf("rlimit:%" PRIu64, l->open_files)
                             : strdup("none");
    if (strcmp(which, "output") == 0)
        return l->output_max_mb
                   ? lc_printf("plugin:%" PRIu64 "MiB per stream",
                               l->output_max_mb)
                   : strdup("none");
    return strdup("none");
}
