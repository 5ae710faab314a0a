/*
 * plugins/local/spawn.c - starting a sandbox: its /etc, the bwrap command
 * line, posix_spawn, the info/block handshake that lets us put the
 * sandbox's init into its cgroups before it runs, and the wait for the
 * agent's first answer.
 *
 * Never fork() here: the plugin lives in a host that may be large (the
 * HTTP server), and posix_spawn (vfork + exec in glibc) costs the same at
 * any size.
 *
 * As root, bwrap must not run as root: the sandbox's user would be host
 * uid 0 (able to write the host's /proc/sys, read root-only /proc files,
 * own its files as root).  Then what is spawned is the agent binary as a
 * trampoline, `csdk-local-agent --exec-as UID:GID --stage DIR --expose
 * NAME PATH... -- bwrap ARGS` (agent/execas.c): it binds the sandbox's
 * directories under a tmpfs on DIR in a mount namespace of its own, drops
 * to the run_as user for good and execs bwrap, whose sources are then the
 * staged paths.  With cgroup v1 limits it first enters the sandbox's
 * cgroups, made beforehand (`--cgroup-tasks DIR`, lc_limits_prepare).
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "local.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* The fds the agent and bwrap see (docs/local-provider.md). */
#define LC_FD_LISTEN 3
#define LC_FD_INFO 4
#define LC_FD_BLOCK 5

/* /dev/shm inside: a tmpfs of at most this (and at most memory_mb). */
#define LC_SHM_MAX (64u * LC_MIB)

/* The environment of bwrap (and of the trampoline). */
#define LC_SPAWN_PATH "/usr/local/bin:/usr/bin:/bin"

/* ------------------------------------------------------------------ */
/* /etc                                                                */
/* ------------------------------------------------------------------ */

/*
 * Every sandbox sees the same small /etc, bound read-only: users, hosts,
 * and mount points for the few host files it binds over them
 * (alternatives, ld.so.cache; with network, resolv.conf and the CA
 * certificates).  It is built once per ROOT and version, in a temporary
 * directory renamed into place, so a create writes no file for it.
 */
#define LC_ETC_VERSION "1"

static const char lc_passwd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "sandbox:x:1000:1000:sandbox:/home/sandbox:/bin/sh\n"
    "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
static const char lc_group[] = "root:x:0:\nsandbox:x:1000:\nnogroup:x:65534:\n";
static const char lc_hosts[] = "127.0.0.1\tlocalhost\n"
                               "127.0.1.1\tsandbox\n"
                               "::1\tlocalhost ip6-localhost ip6-loopback\n";
static const char lc_nsswitch[] = "passwd: files\ngroup: files\n"
                                  "hosts: files dns\n";

static int lc_etc_file(const char *etc, const char *name, const void *data,
                       size_t len)
{
    char *p = lc_join(etc, name);
    int fd, rc = -1;

    if (p == NULL)
        return -1;
    fd = open(p, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd >= 0) {
        rc = write(fd, data, len) == (ssize_t)len ? 0 : -1;
        if (close(fd) != 0)
            rc = -1;
    }
    free(p);
    return rc;
}

static int lc_etc_dir(const char *etc, const char *name)
{
    char *p = lc_join(etc, name);
    int rc = p != NULL ? lc_mkdir_p(p, 0755) : -1;

    free(p);
    return rc;
}

/* ROOT/etc/vN-net or vN-offline, made if missing.  malloc'd, or NULL. */
static char *lc_etc_path(const lc_state_t *st, int network)
{
    char *etc = lc_printf("%s/etc/v%s-%s", st->conf.root, LC_ETC_VERSION,
                          network ? "net" : "offline");
    char *tmp = NULL, hex[9];
    struct stat s;
    int ok;

    if (etc == NULL || stat(etc, &s) == 0)
        return etc;
    lc_random_hex(hex, 8);
    tmp = lc_printf("%s.tmp-%s", etc, hex);
    ok = tmp != NULL && lc_mkdir_p(tmp, 0755) == 0 &&
         lc_etc_file(tmp, "passwd", lc_passwd, sizeof lc_passwd - 1) == 0 &&
         lc_etc_file(tmp, "group", lc_group, sizeof lc_group - 1) == 0 &&
         lc_etc_file(tmp, "hosts", lc_hosts, sizeof lc_hosts - 1) == 0 &&
         lc_etc_file(tmp, "hostname", "sandbox\n", 8) == 0 &&
         lc_etc_file(tmp, "nsswitch.conf", lc_nsswitch,
                     sizeof lc_nsswitch - 1) == 0 &&
         lc_etc_dir(tmp, "alternatives") == 0 &&
         lc_etc_file(tmp, "ld.so.cache", "", 0) == 0 &&
         (!network || (lc_etc_file(tmp, "resolv.conf", "", 0) == 0 &&
                       lc_etc_dir(tmp, "ssl/certs") == 0));
    /* Losing the race to another process is fine: its copy is the same. */
    if (ok && rename(tmp, etc) != 0 && errno != ENOTEMPTY && errno != EEXIST)
        ok = 0;
    if (tmp != NULL)
        (void)lc_remove_tree(tmp);
    free(tmp);
    if (!ok) {
        int e = errno;

        free(etc);
        errno = e;
        return NULL;
    }
    return etc;
}

/* ------------------------------------------------------------------ */
/* The command line                                                    */
/* ------------------------------------------------------------------ */

typedef struct lc_argv {
    char **v;
    size_t n, cap;
    int failed;
} lc_argv_t;

static void lc_arg(lc_argv_t *a, const char *s)
{
    if (a->failed)
        return;
    if (a->n + 2 > a->cap) {
        size_t cap = a->cap ? a->cap * 2 : 64;
        char **grown = realloc(a->v, cap * sizeof *grown);

        if (grown == NULL) {
            a->failed = 1;
            return;
        }
        a->v = grown;
        a->cap = cap;
    }
    a->v[a->n] = strdup(s);
    if (a->v[a->n] == NULL) {
        a->failed = 1;
        return;
    }
    a->v[++a->n] = NULL;
}

static void lc_args(lc_argv_t *a, const char *s1, const char *s2,
                    const char *s3)
{
    lc_arg(a, s1);
    if (s2 != NULL)
        lc_arg(a, s2);
    if (s3 != NULL)
        lc_arg(a, s3);
}

/* Where bwrap finds what it binds from the host: the sandbox's
 * directories, the shared /etc and the agent.  Host paths, or their
 * staged copies under the trampoline's tmpfs. */
typedef struct lc_sources {
    char *ws, *home, *tmp, *logs, *etc, *agent;
} lc_sources_t;

static void lc_sources_free(lc_sources_t *src)
{
    free(src->ws);
    free(src->home);
    free(src->tmp);
    free(src->logs);
    free(src->etc);
    free(src->agent);
}

/* The sources under `base` ("/mnt" staged), or the host's (base NULL). */
static int lc_sources(lc_sources_t *src, const lc_sandbox_t *sb,
                      const char *etc, const char *agent, const char *base)
{
    const char *dir = base ? base : sb->dir;

    memset(src, 0, sizeof *src);
    src->ws = lc_join(dir, "ws");
    src->home = lc_join(dir, "home");
    src->tmp = lc_join(dir, "tmp");
    src->logs = lc_join(dir, "logs");
    src->etc = base ? lc_join(base, "etc") : strdup(etc);
    src->agent = base ? lc_join(base, "agent") : strdup(agent);
    if (!src->ws || !src->home || !src->tmp || !src->logs || !src->etc ||
        !src->agent) {
        lc_sources_free(src);
        memset(src, 0, sizeof *src);
        return -1;
    }
    return 0;
}

static void lc_argv_free(lc_argv_t *a)
{
    for (size_t i = 0; i < a->n; i++)
        free(a->v[i]);
    free(a->v);
}

/* /bin, /lib... as the host has them: a symlink into /usr (merged /usr)
 * is recreated, a real directory is bound read-only. */
static void lc_arg_toplevel(lc_argv_t *a, const char *name)
{
    char path[32], target[256];
    struct stat s;
    ssize_t n;

    snprintf(path, sizeof path, "/%s", name);
    if (lstat(path, &s) != 0)
        return;
    if (S_ISLNK(s.st_mode)) {
        n = readlink(path, target, sizeof target - 1);
        if (n > 0) {
            target[n] = '\0';
            lc_args(a, "--symlink", target, path);
        }
    } else if (S_ISDIR(s.st_mode)) {
        lc_args(a, "--ro-bind", path, path);
    }
}

static void lc_build_argv(lc_argv_t *a, const lc_sandbox_t *sb,
                          const lc_sources_t *src, const char *bwrap,
                          int features)
{
    static const char *const top[] = {"bin", "sbin", "lib", "lib64", "lib32",
                                      "libx32"};
    char num[32];
    uint64_t shm = LC_SHM_MAX;

    lc_arg(a, bwrap);
    lc_args(a, "--unshare-user", "--unshare-pid", "--unshare-ipc");
    lc_args(a, "--unshare-uts", "--unshare-cgroup-try", NULL);
    if (!sb->network)
        lc_arg(a, "--unshare-net");
    /* No user namespace of its own for sandboxed code (bwrap >= 0.8): a
     * nested root could remount what we made read-only. */
    if (features & LC_BW_DISABLE_USERNS)
        lc_arg(a, "--disable-userns");
    /* The agent is the sandbox's init: no bwrap reaper in between. */
    lc_args(a, "--as-pid-1", "--new-session", NULL);
    lc_args(a, "--hostname", "sandbox", NULL);
    lc_args(a, "--uid", "1000", NULL);
    lc_args(a, "--gid", "1000", NULL);
    lc_args(a, "--ro-bind", "/usr", "/usr");
    for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
        lc_arg_toplevel(a, top[i]);
    lc_args(a, "--ro-bind", src->etc, "/etc");
    lc_args(a, "--ro-bind-try", "/etc/alternatives", "/etc/alternatives");
    lc_args(a, "--ro-bind-try", "/etc/ld.so.cache", "/etc/ld.so.cache");
    if (sb->network) {
        /* The host's resolver config (a bind follows its symlink). */
        lc_args(a, "--ro-bind-try", "/etc/resolv.conf", "/etc/resolv.conf");
        lc_args(a, "--ro-bind-try", "/etc/ssl/certs", "/etc/ssl/certs");
    }
    lc_args(a, "--proc", "/proc", NULL);
    /* The kernel's settings are the whole machine's (core_pattern, pid_max,
     * drop_caches...): read-only whoever the sandbox's user maps to.
     * bwrap's own cover of /proc/sys is skipped when the directory looks
     * unwritable, which says nothing about the files in it. */
    lc_args(a, "--ro-bind", "/proc/sys", "/proc/sys");
    lc_args(a, "--dev", "/dev", NULL);
    if (features & LC_BW_SIZE) {
        /* /dev/shm is a tmpfs of its own, bounded, and /dev (bwrap's
         * tmpfs, unbounded) is read-only: no tmpfs without a size. */
        if (sb->lim.memory_mb != 0 && sb->lim.memory_mb * LC_MIB < shm)
            shm = sb->lim.memory_mb * LC_MIB;
        if (features & LC_BW_PERMS)
            lc_args(a, "--perms", "01777", NULL);
        snprintf(num, sizeof num, "%" PRIu64, shm);
        lc_args(a, "--size", num, NULL);
        lc_args(a, "--tmpfs", "/dev/shm", NULL);
        lc_args(a, "--remount-ro", "/dev", NULL);
    }
    lc_args(a, "--bind", src->ws, LC_WORKSPACE);
    lc_args(a, "--bind", src->home, LC_HOME);
    lc_args(a, "--bind", src->tmp, "/tmp");
    lc_args(a, "--bind", src->logs, LC_LOGS_PATH);
    lc_args(a, "--ro-bind", src->agent, LC_AGENT_PATH);
    lc_args(a, "--chdir", LC_WORKSPACE, NULL);
    lc_arg(a, "--clearenv");
    lc_args(a, "--setenv", "PATH", LC_BASE_PATH);
    lc_args(a, "--setenv", "HOME", LC_HOME);
    lc_args(a, "--setenv", "USER", LC_USER);
    lc_args(a, "--setenv", "LANG", "C.UTF-8");
    snprintf(num, sizeof num, "%d", LC_FD_INFO);
    lc_args(a, "--info-fd", num, NULL);
    snprintf(num, sizeof num, "%d", LC_FD_BLOCK);
    lc_args(a, "--block-fd", num, NULL);
    lc_args(a, "--", LC_AGENT_PATH, "--listen-fd");
    snprintf(num, sizeof num, "%d", LC_FD_LISTEN);
    lc_arg(a, num);
    if (sb->expires_ms) {
        snprintf(num, sizeof num, "%" PRIu64, sb->expires_ms);
        lc_args(a, "--expires-ms", num, NULL);
    }
}

/* ------------------------------------------------------------------ */
/* Spawning                                                            */
/* ------------------------------------------------------------------ */

/* Move fd to >= 10 so the dup2s onto 3..5 cannot clobber one another. */
static int lc_fd_high(int fd)
{
    int high;

    if (fd >= 10)
        return fd;
    high = fcntl(fd, F_DUPFD_CLOEXEC, 10);
    close(fd);
    return high;
}

/* Start `prog` (bwrap, found in PATH, or the trampoline: `search` 0). */
static pid_t lc_posix_spawn(const char *prog, int search, char *const *argv,
                            const char *log, int listen_fd, int info_w,
                            int block_r, int *err)
{
    static char *const envp[] = {"PATH=" LC_SPAWN_PATH, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    pid_t pid = -1;
    int rc;

    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    /* Own session (outlives our terminal), default signal dispositions
     * (a host ignoring SIGPIPE must not pass that on) and no mask. */
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, log,
                                     O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_adddup2(&fa, listen_fd, LC_FD_LISTEN);
    posix_spawn_file_actions_adddup2(&fa, info_w, LC_FD_INFO);
    posix_spawn_file_actions_adddup2(&fa, block_r, LC_FD_BLOCK);
    posix_spawn_file_actions_addclosefrom_np(&fa, LC_FD_BLOCK + 1);
    rc = search ? posix_spawnp(&pid, prog, &fa, &at, argv, envp)
                : posix_spawn(&pid, prog, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    *err = rc;
    return rc == 0 ? pid : -1;
}

/* ------------------------------------------------------------------ */
/* bwrap's options and whereabouts                                     */
/* ------------------------------------------------------------------ */

/* The LC_BW_* options `bwrap --help` lists, or -1 when bwrap cannot be
 * run (starting the sandbox then says why). */
static int lc_bwrap_probe(lc_state_t *st, const char *bwrap)
{
    static char *const envp[] = {"PATH=" LC_SPAWN_PATH, NULL};
    char *const argv[] = {(char *)bwrap, (char *)"--help", NULL};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    sigset_t none, all;
    char buf[16384];
    size_t len = 0;
    int p[2], features = 0, rc;
    uint64_t end;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) != 0)
        return -1;
    sigemptyset(&none);
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    posix_spawn_file_actions_init(&fa);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSIGMASK |
                                      POSIX_SPAWN_SETSIGDEF);
    posix_spawnattr_setsigmask(&at, &none);
    posix_spawnattr_setsigdefault(&at, &all);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&fa, 3);
    rc = posix_spawnp(&pid, bwrap, &fa, &at, argv, envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(p[1]);
    if (rc != 0) {
        close(p[0]);
        return -1;
    }
    end = st->host->monotonic_ms() + 2000;
    while (len < sizeof buf - 1) {
        struct pollfd pf = {.fd = p[0], .events = POLLIN};
        uint64_t now = st->host->monotonic_ms();
        ssize_t n;

        if (now >= end || (rc = poll(&pf, 1, (int)(end - now))) == 0)
            break;
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc < 0)
            break;
        n = read(p[0], buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
    }
    buf[len] = '\0';
    close(p[0]);
    (void)kill(pid, SIGKILL); /* if it hangs; it has normally exited */
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (strstr(buf, "--disable-userns") != NULL)
        features |= LC_BW_DISABLE_USERNS;
    if (strstr(buf, "--size") != NULL)
        features |= LC_BW_SIZE;
    if (strstr(buf, "--perms") != NULL)
        features |= LC_BW_PERMS;
    return strstr(buf, "--bind") != NULL ? features : -1;
}

static char *lc_which(const char *prog);

/*
 * The LC_BW_* options of `bwrap`.  Running `bwrap --help` costs ~1 ms, and
 * each csdk command is a process of its own, so the answer is kept in
 * memory and in ROOT/etc/bwrap-features, keyed by the binary's device,
 * inode, size and mtime (an upgraded bwrap is asked again).  Not read at
 * init: most commands never start a sandbox.
 */
static int lc_bwrap_features(lc_state_t *st, const char *bwrap)
{
    char *abs, *cache, *text = NULL, key[160];
    struct stat s;
    int features = -1, n;

    if (st->bwrap_probed != NULL && strcmp(st->bwrap_probed, bwrap) == 0)
        return st->bwrap_features;
    abs = lc_which(bwrap);
    if (abs == NULL || stat(abs, &s) != 0) {
        free(abs);
        return 0; /* starting it fails and says why */
    }
    n = snprintf(key, sizeof key, "%ju %ju %jd %jd.%09ld ",
                 (uintmax_t)s.st_dev, (uintmax_t)s.st_ino,
                 (intmax_t)s.st_size, (intmax_t)s.st_mtim.tv_sec,
                 s.st_mtim.tv_nsec);
    cache = lc_printf("%s/etc/bwrap-features", st->conf.root);
    if (cache != NULL && n > 0 && (size_t)n < sizeof key &&
        lc_read_small(cache, &text, NULL, 4096) == 0 &&
        strncmp(text, key, (size_t)n) == 0) {
        char *end;
        long v = strtol(text + n, &end, 10);

        if (end != text + n && *end == ' ' && v >= 0 && v < 256)
            features = (int)v;
    }
    free(text);
    if (features < 0) {
        features = lc_bwrap_probe(st, abs);
        if (features >= 0 && cache != NULL && n > 0 && (size_t)n < sizeof key) {
            char *line = lc_printf("%s%d %s\n", key, features, abs);

            /* ROOT/etc exists once a sandbox's /etc was made there. */
            if (line != NULL)
                (void)lc_write_atomic(cache, line, strlen(line), 0644);
            free(line);
        }
    }
    free(cache);
    free(abs);
    if (features < 0)
        return 0;
    free(st->bwrap_probed);
    st->bwrap_probed = strdup(bwrap);
    st->bwrap_features = features;
    return features;
}

/* `prog` as an absolute path, looked up in PATH as posix_spawnp would
 * (the trampoline runs it by path, after dropping root).  malloc'd, or
 * NULL with errno (ENOENT, EACCES, ENOMEM). */
static char *lc_which(const char *prog)
{
    const char *path = getenv("PATH"), *p;
    int eacces = 0;

    if (strchr(prog, '/') != NULL) {
        char *abs = realpath(prog, NULL);

        if (abs != NULL && access(abs, X_OK) != 0) {
            free(abs);
            return NULL;
        }
        return abs;
    }
    if (path == NULL || *path == '\0')
        path = "/bin:/usr/bin";
    for (p = path;; p++) {
        const char *end = strchrnul(p, ':');
        char *cand = end == p ? NULL
                              : lc_printf("%.*s/%s", (int)(end - p), p, prog);
        struct stat s;

        if (cand != NULL && cand[0] == '/' && stat(cand, &s) == 0 &&
            S_ISREG(s.st_mode)) {
            if (access(cand, X_OK) == 0)
                return cand;
            eacces = 1;
        }
        free(cand);
        if (*end == '\0')
            break;
        p = end;
    }
    errno = eacces ? EACCES : ENOENT;
    return NULL;
}

/* Where the trampoline mounts its tmpfs: an existing directory that every
 * user can reach (the tmpfs, 0755, hides what is there, but only in the
 * trampoline's own mount namespace, and only from bwrap, which binds
 * nothing from it but our paths).  NULL if none exists. */
static const char *lc_stage_dir(void)
{
    static const char *const dirs[] = {"/mnt", "/media", "/srv", "/opt"};

    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        struct stat s;

        if (lstat(dirs[i], &s) == 0 && S_ISDIR(s.st_mode))
            return dirs[i];
    }
    return NULL;
}

/* The trampoline's arguments, before bwrap's: `agent --exec-as U:G
 * --stage DIR --expose NAME PATH... --`. */
static void lc_build_trampoline(lc_argv_t *a, const lc_sandbox_t *sb,
                                const char *stage, const char *etc,
                                const char *agent)
{
    static const char *const subs[] = {"ws", "home", "tmp", "logs"};
    char ids[48];

    snprintf(ids, sizeof ids, "%lu:%lu", (unsigned long)sb->run_uid,
             (unsigned long)sb->run_gid);
    lc_arg(a, agent);
    lc_args(a, "--exec-as", ids, NULL);
    lc_args(a, "--stage", stage, NULL);
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char *p = lc_join(sb->dir, subs[i]);

        if (p == NULL) {
            a->failed = 1;
            return;
        }
        lc_args(a, "--expose", subs[i], p);
        free(p);
    }
    lc_args(a, "--expose", "etc", etc);
    lc_args(a, "--expose", "agent", agent);
    /* The v1 cgroups of lc_limits_prepare, which it enters itself. */
    for (size_t i = 0; sb->cg_v1_early && i < sb->cgroups.n; i++)
        if (strcmp(sb->cgroups.v[i].key, "unified") != 0)
            lc_args(a, "--cgroup-tasks", sb->cgroups.v[i].value, NULL);
    lc_arg(a, "--");
}

/* Read bwrap's info JSON up to its closing brace and take child-pid.
 * Returns the pid, or -1 (bwrap failed: EOF, or no answer in time). */
static pid_t lc_read_info(int fd, unsigned timeout_ms)
{
    char buf[2048];
    size_t len = 0;
    const char *key;

    while (len < sizeof buf - 1) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int rc = poll(&p, 1, (int)timeout_ms);
        ssize_t n;

        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            return -1;
        n = read(fd, buf + len, sizeof buf - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        buf[len] = '\0';
        if (strchr(buf, '}') != NULL)
            break;
    }
    buf[len] = '\0';
    key = strstr(buf, "\"child-pid\"");
    if (key == NULL || (key = strchr(key, ':')) == NULL)
        return -1;
    return (pid_t)strtol(key + 1, NULL, 10);
}

/* The first line of bwrap's complaint in agent.log, for the error. */
static char *lc_bwrap_complaint(const lc_sandbox_t *sb)
{
    char *log = lc_join(sb->dir, "agent.log"), *text = NULL, *nl;

    if (log == NULL || lc_read_small(log, &text, NULL, 1u << 16) != 0) {
        free(log);
        return NULL;
    }
    free(log);
    nl = strchr(text, '\n');
    if (nl != NULL)
        *nl = '\0';
    if (*text == '\0') {
        free(text);
        return NULL;
    }
    return text;
}

static csdk_status_t lc_bwrap_failed(lc_state_t *st, csdk_call_t *call,
                                     const lc_sandbox_t *sb, pid_t pid,
                                     const char *bwrap)
{
    char *why;
    int status = 0;
    csdk_status_t rc;

    (void)kill(pid, SIGKILL);
    (void)waitpid(pid, &status, 0);
    why = lc_bwrap_complaint(sb);
    if (why != NULL &&
        (strstr(why, "namespace") != NULL || strstr(why, "uid map") != NULL ||
         strstr(why, "Operation not permitted") != NULL))
        rc = st->host->error(call, CSDK_E_PERMISSION,
                             "bubblewrap ('%s') cannot create the sandbox's "
                             "namespaces: %s; user namespaces may be "
                             "disabled (sysctl user.max_user_namespaces, "
                             "kernel.unprivileged_userns_clone, or an "
                             "AppArmor policy)", bwrap, why);
    else
        rc = st->host->error(call, CSDK_E_IO,
                             "bubblewrap ('%s') could not start sandbox %s: "
                             "%s", bwrap, sb->id,
                             why ? why : "it exited without saying why");
    free(why);
    return rc;
}

/* Wait for the agent's first PING answer, watching bwrap meanwhile. */
static csdk_status_t lc_wait_agent(lc_state_t *st, csdk_call_t *call,
                                   lc_sandbox_t *sb, const char *agent)
{
    uint64_t start = st->host->monotonic_ms();
    uint64_t budget = st->host->remaining_ms(call);

    if (budget > LC_START_TIMEOUT_MS)
        budget = LC_START_TIMEOUT_MS;
    for (;;) {
        uint64_t used = st->host->monotonic_ms() - start;
        unsigned slice;
        char *why;
        csdk_status_t rc;

        /* A ping fails at once when bwrap is gone (the listening socket
         * closes with it); otherwise it waits up to its slice. */
        if (!lc_proc_matches((pid_t)sb->bwrap_pid, sb->bwrap_start)) {
            why = lc_bwrap_complaint(sb);
            rc = st->host->error(call, CSDK_E_IO,
                                 "the agent of sandbox %s ('%s', the [provider."
                                 "%s] agent key) exited at start: %s", sb->id,
                                 agent, st->instance,
                                 why ? why : "it said nothing");
            free(why);
            return rc;
        }
        if (used >= budget)
            return st->host->error(call, CSDK_E_TIMEOUT,
                                   "the agent of sandbox %s did not answer "
                                   "within %" PRIu64 " ms", sb->id, budget);
        slice = (unsigned)(budget - used < 200 ? budget - used : 200);
        if (lc_agent_ping(sb, slice) == 0)
            return CSDK_OK;
    }
}

csdk_status_t lc_spawn_sandbox(lc_state_t *st, csdk_call_t *call,
                               lc_sandbox_t *sb, const lc_conf_t *conf)
{
    lc_argv_t a = {0};
    lc_sources_t src;
    int info[2] = {-1, -1}, block[2] = {-1, -1}, listen_fd = -1, err = 0;
    char *log = NULL, *etc, *bwrap = NULL;
    const char *stage = NULL;
    pid_t pid = -1, child;
    uint64_t left;
    csdk_status_t rc = CSDK_OK;

    if (access(conf->agent, X_OK) != 0)
        return st->host->error(call, CSDK_E_CONFIG,
                               "the agent '%s' (the [provider.%s] agent key) "
                               "is not an executable file: %s; build and "
                               "install csdk-local-agent or fix the key",
                               conf->agent, st->instance, strerror(errno));
    if (sb->run_as) {
        /* As root: bwrap runs as run_as, through the trampoline. */
        if (sb->run_uid == 0 || sb->run_gid == 0)
            return st->host->error(call, CSDK_E_CONFIG,
                                   "[provider.%s] run_as: refusing to run a "
                                   "sandbox as uid or gid 0", st->instance);
        bwrap = lc_which(conf->bwrap);
        if (bwrap == NULL)
            return errno == ENOMEM
                       ? st->host->error(call, CSDK_E_NOMEM, "out of memory")
                       : st->host->error(
                             call, CSDK_E_CONFIG,
                             "cannot run bubblewrap '%s' (the [provider.%s] "
                             "bwrap key): %s; install it (apt-get install "
                             "bubblewrap) or set the key to its path",
                             conf->bwrap, st->instance, strerror(errno));
        stage = lc_stage_dir();
        if (stage == NULL) {
            free(bwrap);
            return st->host->error(call, CSDK_E_IO,
                                   "none of /mnt, /media, /srv and /opt "
                                   "exists, so there is no directory to "
                                   "stage the sandbox's mounts on for "
                                   "bubblewrap running as uid %lu",
                                   (unsigned long)sb->run_uid);
        }
    }
    etc = lc_etc_path(st, sb->network);
    if (etc == NULL) {
        free(bwrap);
        return st->host->error(call, CSDK_E_IO,
                               "cannot write the sandboxes' /etc under '%s/"
                               "etc': %s", st->conf.root, strerror(errno));
    }
    if (lc_sources(&src, sb, etc, conf->agent, stage) != 0) {
        free(etc);
        free(bwrap);
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    if (sb->run_as) {
        /* cgroup v1: made now, entered by the trampoline (a failed create
         * removes them: lc_sandbox_destroy). */
        lc_limits_prepare(st, sb);
        lc_build_trampoline(&a, sb, stage, etc, conf->agent);
    }
    lc_build_argv(&a, sb, &src, bwrap ? bwrap : conf->bwrap,
                  lc_bwrap_features(st, bwrap ? bwrap : conf->bwrap));
    lc_sources_free(&src);
    free(etc);
    log = lc_join(sb->dir, "agent.log");
    if (a.failed || log == NULL) {
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
        goto out;
    }
    listen_fd = lc_agent_listen(sb->dir);
    if (listen_fd < 0) {
        rc = st->host->error(call, CSDK_E_IO,
                             "cannot listen on the control socket of sandbox "
                             "%s in '%s': %s", sb->id, sb->dir,
                             strerror(errno));
        goto out;
    }
    if (pipe2(info, O_CLOEXEC) != 0 || pipe2(block, O_CLOEXEC) != 0 ||
        (listen_fd = lc_fd_high(listen_fd)) < 0 ||
        (info[1] = lc_fd_high(info[1])) < 0 ||
        (block[0] = lc_fd_high(block[0])) < 0) {
        rc = st->host->error(call, CSDK_E_IO, "cannot make pipes: %s",
                             strerror(errno));
        goto out;
    }
    pid = sb->run_as ? lc_posix_spawn(conf->agent, 0, a.v, log, listen_fd,
                                      info[1], block[0], &err)
                     : lc_posix_spawn(conf->bwrap, 1, a.v, log, listen_fd,
                                      info[1], block[0], &err);
    if (pid < 0) {
        rc = err == ENOENT || err == EACCES
                 ? st->host->error(call, CSDK_E_CONFIG,
                                   "cannot run bubblewrap '%s' (the [provider."
                                   "%s] bwrap key): %s; install it "
                                   "(apt-get install bubblewrap) or set the "
                                   "key to its path", conf->bwrap,
                                   st->instance, strerror(err))
                 : st->host->error(call, CSDK_E_IO,
                                   "cannot start bubblewrap '%s': %s",
                                   conf->bwrap, strerror(err));
        goto out;
    }
    (void)lc_track_child(st, pid);
    close(listen_fd);
    close(info[1]);
    close(block[0]);
    listen_fd = info[1] = block[0] = -1;

    sb->bwrap_pid = pid;
    (void)lc_proc_stat(pid, &sb->bwrap_start, NULL);
    left = st->host->remaining_ms(call);
    child = lc_read_info(info[0], left < LC_START_TIMEOUT_MS
                                      ? (unsigned)left
                                      : LC_START_TIMEOUT_MS);
    if (child <= 0) {
        rc = lc_bwrap_failed(st, call, sb, pid, conf->bwrap);
        sb->bwrap_pid = 0;
        goto out;
    }
    /* bwrap's child waits on the block fd: no instruction of the agent
     * has run, and whatever it starts inherits these cgroups.  (cgroup v1
     * as root: it is in them already, from the trampoline.) */
    lc_limits_apply(st, sb, child);
    if (write(block[1], "x", 1) != 1) {
        rc = lc_bwrap_failed(st, call, sb, pid, conf->bwrap);
        sb->bwrap_pid = 0;
        goto out;
    }
    close(block[1]);
    block[1] = -1;
    if (lc_meta_save(sb) != 0) {
        rc = st->host->error(call, CSDK_E_IO,
                             "cannot write the state of sandbox %s: %s",
                             sb->id, strerror(errno));
        goto out;
    }
    rc = lc_wait_agent(st, call, sb, conf->agent);
out:
    if (listen_fd >= 0)
        close(listen_fd);
    for (int i = 0; i < 2; i++) {
        if (info[i] >= 0)
            close(info[i]);
        if (block[i] >= 0)
            close(block[i]);
    }
    free(log);
    free(bwrap);
    lc_argv_free(&a);
    return rc;
}
