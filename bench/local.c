/*
 * bench/local.c - the local (bubblewrap) provider against bare bubblewrap.
 *
 * Four measurements, each with its peer timed in the same run:
 *
 *   tti    time to interactive as ComputeSDK's benchmark defines it:
 *          csdk_create then the first run_command of {"node", "-v"}, N
 *          times one after another (each sandbox destroyed before the next,
 *          not timed) and N times in a burst (THREADS threads taking the
 *          next iteration until N are done; destroyed after the burst).
 *          csdk bursts two ways: all threads sharing one csdk_t (the
 *          plugin is not thread-safe, so the host serialises its calls)
 *          and one csdk_t per thread.  Every side bursts twice, N/2 each
 *          time, in the order peer, per-thread, shared, then shared,
 *          per-thread, peer.  Peer: the bare
 *            bwrap --unshare-all --die-with-parent --new-session
 *                  --ro-bind /usr /usr --symlink usr/bin /bin
 *                  --symlink usr/lib /lib --symlink usr/lib64 /lib64
 *                  --proc /proc --dev /dev --tmpfs /tmp /usr/bin/node -v
 *          started with posix_spawn and waited for, its output read from a
 *          pipe; and for reference node -v with no sandbox at all.
 *   exec   run_command {"true"} in one live sandbox, against the same bare
 *          bwrap running /bin/true.
 *   mem    N sandboxes created and left idle; the PSS, RSS and USS of each
 *          one's processes (the bwrap monitor named by bwrap_pid in its
 *          meta file, and every descendant: the agent) from
 *          /proc/PID/smaps_rollup, and its memory cgroup's charge.  Then
 *          every sandbox must answer `echo` while all N are alive.  Peer:
 *          N bare bwraps (the command line above) holding `sleep
 *          infinity`, measured the same way.
 *   file   csdk_write_file then csdk_read_file of SIZE MiB of random bytes
 *          (NULs included), against write(2) and read(2) of the same bytes
 *          in the same directory (the sandbox's workspace on the host) and
 *          against `cp` of such a file there.
 *
 * Commands of both sides get the same clean environment (PATH, HOME, USER,
 * LANG): the caller's may hold NODE_EXTRA_CA_CERTS, which costs node ~50 ms.
 * Sides are interleaved sample by sample (bursts in the A B C C B A order
 * above), so drift on a shared machine hits both alike.
 *
 * Usage: local [-n TTI] [-t THREADS] [-e EXECS] [-m SANDBOXES] [-s MIB]
 *              [-r ROUNDS] [-o TESTS] [-x LOOP] [-P PLUGIN_DIR] [-A AGENT]
 *              [-R ROOT] [-c KEY=VALUE]... [-q]
 *   -n  time-to-interactive iterations per mode and side (default 100)
 *   -t  threads of the burst (default 8)
 *   -e  exec calls per side (default 500, after 20 warm-up calls)
 *   -m  sandboxes of the memory test (default 100)
 *   -s  file size in MiB (default 64)
 *   -r  file rounds, median reported (default 5)
 *   -o  comma-separated tests to run: tti,burst,exec,mem,file (default all)
 *   -x  run one csdk loop alone for a profiler, no peer: tti (create + node
 *       -v + destroy, N times), create (create + destroy), exec (true, EXECS
 *       times), write, read (SIZE MiB, ROUNDS times); or a peer loop:
 *       bwrap-node, bwrap-true
 *   -P  directory holding local.so (default: this build tree's)
 *   -A  csdk-local-agent (default: this build tree's)
 *   -R  state root (default: a new directory under $TMPDIR, removed after)
 *   -c  add KEY = VALUE to the [provider.local] section (repeatable), e.g.
 *       -c memory_mb=0 -c pids=0 -c cpus=0 to create no cgroups, or
 *       -c bwrap=/usr/bin/bwrap to skip the PATH search
 *   -q  print only the machine-readable "bench:" lines
 *
 * It prints figures and exits 0 whatever they are; it exits non-zero only
 * when something fails (a broken build or machine, not a slow one).
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include <csdk/csdk.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <pthread.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef BENCH_LOCAL_PLUGIN_DIR
#define BENCH_LOCAL_PLUGIN_DIR "plugins/local/.libs"
#endif
#ifndef BENCH_LOCAL_AGENT
#define BENCH_LOCAL_AGENT "plugins/local/agent/csdk-local-agent"
#endif

#define MIB (1024u * 1024u)
#define EXEC_WARMUP 20
#define MAX_THREADS 256

/* ------------------------------------------------------------------ */
/* Small things                                                        */
/* ------------------------------------------------------------------ */

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static double ms_since(uint64_t t0)
{
    return (double)(now_ns() - t0) / 1e6;
}

static void die(const char *fmt, ...) CSDK_PRINTF(1, 2);
static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("local: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die("out of memory");
    return p;
}

static int quiet;
#define say(...) (quiet ? (void)0 : (void)printf(__VA_ARGS__))

/* The environment of every command on both sides (the sandbox's own:
 * see plugins/local/spawn.c). */
static char *const clean_env[] = {
    "PATH=/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin",
    "HOME=/tmp", "USER=sandbox", "LANG=C.UTF-8", NULL};

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */

typedef struct stats {
    size_t n;
    double median, p95, p99, min, max, mean;
} stats_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank percentiles; the median of an even count is the mean of
 * the middle two. */
static stats_t summarise(const double *v, size_t n)
{
    stats_t s = {0};
    double *c, sum = 0;

    if (n == 0)
        return s;
    c = xcalloc(n, sizeof *c);
    memcpy(c, v, n * sizeof *c);
    qsort(c, n, sizeof *c, cmp_double);
    for (size_t i = 0; i < n; i++)
        sum += c[i];
    s.n = n;
    s.median = n % 2 ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
#define RANK(p) c[(size_t)((p) * (double)n + 0.999999) - 1]
    s.p95 = RANK(0.95);
    s.p99 = RANK(0.99);
#undef RANK
    s.min = c[0];
    s.max = c[n - 1];
    s.mean = sum / (double)n;
    free(c);
    return s;
}

static void print_stats(const char *test, const char *side, const double *v,
                        size_t n, const char *extra)
{
    stats_t s = summarise(v, n);
    printf("bench: test=%s side=%s n=%zu median_ms=%.3f p95_ms=%.3f "
           "p99_ms=%.3f min_ms=%.3f max_ms=%.3f mean_ms=%.3f%s%s\n",
           test, side, s.n, s.median, s.p95, s.p99, s.min, s.max, s.mean,
           extra && *extra ? " " : "", extra ? extra : "");
}

static double median_of(const double *v, size_t n)
{
    return summarise(v, n).median;
}

/* ------------------------------------------------------------------ */
/* The host                                                            */
/* ------------------------------------------------------------------ */

static const char *plugin_dir = BENCH_LOCAL_PLUGIN_DIR;
static const char *agent = BENCH_LOCAL_AGENT;
static char root[4096];
static char extra_conf[4096]; /* -c KEY=VALUE lines for [provider.local] */

static csdk_t *open_host(void)
{
    char ini[16384];
    csdk_t *h;
    csdk_error_t err;
    csdk_provider_info_t info;

    snprintf(ini, sizeof ini,
             "[host]\n"
             "log_level = warn\n"
             "plugin_dir = %s\n"
             "default_provider = local\n"
             "[provider.local]\n"
             "plugin = local\n"
             "root = %s\n"
             "agent = %s\n"
             "%s",
             plugin_dir, root, agent, extra_conf);
    if (csdk_open_string(ini, "(bench/local)", NULL, &h, &err) != CSDK_OK)
        die("csdk_open_string: %s", err.message);
    if (csdk_provider_get(h, 0, &info) != CSDK_OK || !info.loaded)
        die("the local provider did not load from %s: %s", plugin_dir,
            info.error ? info.error : "?");
    return h;
}

/* A new sandbox's id (malloc'd), or die. */
static char *create(csdk_t *h)
{
    csdk_sandbox_t sb;
    csdk_error_t err;
    char *id;

    if (csdk_create(h, "local", NULL, NULL, &sb, &err) != CSDK_OK)
        die("csdk_create: %s", err.message);
    id = sb.id;
    sb.id = NULL;
    csdk_sandbox_clear(&sb);
    return id;
}

static void destroy(csdk_t *h, char *id)
{
    csdk_error_t err;

    if (id == NULL)
        return;
    if (csdk_destroy(h, id, NULL, &err) != CSDK_OK)
        die("csdk_destroy %s: %s", id, err.message);
    free(id);
}

/* Run argv in id; die unless it exits 0 and its stdout starts with
 * `expect` (when not NULL). */
static void run(csdk_t *h, const char *id, const char *const *argv,
                const char *expect)
{
    csdk_run_opts_t ro = {.struct_size = sizeof ro, .argv = argv};
    csdk_result_t res;
    csdk_error_t err;

    if (csdk_run_command(h, id, &ro, NULL, &res, &err) != CSDK_OK)
        die("run_command %s in %s: %s", argv[0], id, err.message);
    if (res.exit_code != 0)
        die("%s in %s exited %d: %.*s", argv[0], id, res.exit_code,
            (int)res.err_len, res.err ? res.err : "");
    if (expect && (res.out_len < strlen(expect) ||
                   memcmp(res.out, expect, strlen(expect)) != 0))
        die("%s in %s printed '%.*s', not '%s...'", argv[0], id,
            (int)res.out_len, res.out ? res.out : "", expect);
    csdk_result_clear(&res);
}

static const char *const argv_node[] = {"node", "-v", NULL};
static const char *const argv_true[] = {"true", NULL};

/* The state directory of a sandbox id ("local:lc-..."). */
static char *sandbox_dir(const char *id)
{
    const char *native = strchr(id, ':');
    char *p;

    native = native ? native + 1 : id;
    if (asprintf(&p, "%s/sandboxes/%s", root, native) < 0)
        die("out of memory");
    return p;
}

/* ------------------------------------------------------------------ */
/* The peer: bare bubblewrap                                           */
/* ------------------------------------------------------------------ */

#define BWRAP_ARGS                                                         \
    "bwrap", "--unshare-all", "--die-with-parent", "--new-session",        \
        "--ro-bind", "/usr", "/usr", "--symlink", "usr/bin", "/bin",       \
        "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64", \
        "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"

static char *const bwrap_node[] = {BWRAP_ARGS, "/usr/bin/node", "-v", NULL};
static char *const bwrap_true[] = {BWRAP_ARGS, "/bin/true", NULL};
static char *const bwrap_sleep[] = {BWRAP_ARGS, "/usr/bin/sleep", "infinity",
                                    NULL};
static char *const bare_node[] = {"/usr/bin/node", "-v", NULL};

/* posix_spawnp argv with stdout (and stderr) on a pipe, the pipe read to
 * EOF, the child waited for; stdout of `out_len` bytes kept in out.
 * Returns the exit status (-1: did not run).  With `keep`, returns at once
 * after the spawn with *pid set (stdout to /dev/null). */
static int spawn_wait(char *const *argv, char *out, size_t out_len,
                      int keep, pid_t *kept)
{
    posix_spawn_file_actions_t fa;
    int p[2] = {-1, -1}, st = 0, rc;
    size_t got = 0;
    pid_t pid;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (keep) {
        posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
        posix_spawn_file_actions_adddup2(&fa, 1, 2);
    } else {
        if (pipe2(p, O_CLOEXEC) != 0)
            die("pipe2: %s", strerror(errno));
        posix_spawn_file_actions_adddup2(&fa, p[1], 1);
        posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    }
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, clean_env);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        die("cannot run %s: %s", argv[0], strerror(rc));
    if (keep) {
        *kept = pid;
        return 0;
    }
    close(p[1]);
    for (;;) {
        char buf[4096];
        ssize_t n = read(p[0], buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (out && got + 1 < out_len) {
            size_t k = (size_t)n < out_len - 1 - got ? (size_t)n
                                                    : out_len - 1 - got;
            memcpy(out + got, buf, k);
            got += k;
        }
    }
    if (out)
        out[got] = '\0';
    close(p[0]);
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* One timed peer run; die if it fails or prints the wrong thing. */
static double peer_once(char *const *argv, const char *expect)
{
    char out[512];
    uint64_t t0 = now_ns();
    int st = spawn_wait(argv, out, sizeof out, 0, NULL);
    double ms = ms_since(t0);

    if (st != 0)
        die("%s (peer) exited %d: %s", argv[0], st, out);
    if (expect && strncmp(out, expect, strlen(expect)) != 0)
        die("%s printed '%s', not '%s...'", argv[0], out, expect);
    return ms;
}

/* ------------------------------------------------------------------ */
/* Time to interactive                                                 */
/* ------------------------------------------------------------------ */

/* create + first node -v; the two parts in *create_ms and *run_ms. */
static char *tti_once(csdk_t *h, double *total, double *create_ms,
                      double *run_ms)
{
    uint64_t t0 = now_ns(), t1;
    char *id = create(h);

    t1 = now_ns();
    run(h, id, argv_node, "v");
    *total = ms_since(t0);
    *create_ms = (double)(t1 - t0) / 1e6;
    *run_ms = ms_since(t1);
    return id;
}

static void test_tti_seq(csdk_t *h, size_t n)
{
    double *c = xcalloc(n, sizeof *c), *cc = xcalloc(n, sizeof *cc),
           *cr = xcalloc(n, sizeof *cr), *b = xcalloc(n, sizeof *b),
           *nd = xcalloc(n, sizeof *nd);
    char extra[160];

    say("== time to interactive, sequential: %zu x (create + node -v), "
        "destroy after each (not timed)\n", n);
    /* One of each first: page cache, the sandboxes' /etc. */
    destroy(h, tti_once(h, &c[0], &cc[0], &cr[0]));
    (void)peer_once(bwrap_node, "v");
    for (size_t i = 0; i < n; i++) {
        destroy(h, tti_once(h, &c[i], &cc[i], &cr[i]));
        b[i] = peer_once(bwrap_node, "v");
        nd[i] = peer_once(bare_node, "v");
    }
    snprintf(extra, sizeof extra, "create_median_ms=%.3f run_median_ms=%.3f",
             median_of(cc, n), median_of(cr, n));
    print_stats("tti-seq", "csdk", c, n, extra);
    print_stats("tti-seq", "bwrap", b, n, NULL);
    print_stats("tti-seq", "node", nd, n, NULL);
    free(c);
    free(cc);
    free(cr);
    free(b);
    free(nd);
}

typedef struct burst {
    size_t n, next; /* iterations; the next one to take (atomic) */
    int side;       /* 0 csdk shared host, 1 csdk host per thread, 2 bwrap */
    csdk_t *shared;
    csdk_t **hosts; /* per thread, side 1 */
    double *ms, *create_ms, *run_ms;
    char **ids;
} burst_t;

typedef struct burst_arg {
    burst_t *b;
    size_t thread;
} burst_arg_t;

static void *burst_thread(void *p)
{
    burst_arg_t *a = p;
    burst_t *b = a->b;
    csdk_t *h = b->side == 1 ? b->hosts[a->thread] : b->shared;

    for (;;) {
        size_t i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
        if (i >= b->n)
            break;
        if (b->side == 2)
            b->ms[i] = peer_once(bwrap_node, "v");
        else
            b->ids[i] = tti_once(h, &b->ms[i], &b->create_ms[i],
                                 &b->run_ms[i]);
    }
    return NULL;
}

/* Returns the burst's wall time in ms. */
static double burst_run(burst_t *b, size_t threads)
{
    pthread_t t[MAX_THREADS];
    burst_arg_t a[MAX_THREADS];
    uint64_t t0;

    b->next = 0;
    t0 = now_ns();
    for (size_t i = 0; i < threads; i++) {
        a[i].b = b;
        a[i].thread = i;
        if (pthread_create(&t[i], NULL, burst_thread, &a[i]) != 0)
            die("pthread_create failed");
    }
    for (size_t i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    return ms_since(t0);
}

/* Each side bursts twice, n/2 iterations each time, in the order A B C
 * then C B A, so that load that rises or falls during the test hits every
 * side alike; the samples of both bursts are pooled. */
static void test_tti_burst(csdk_t *h, size_t n, size_t threads)
{
    static const char *const sides[] = {"csdk-shared", "csdk-per-thread",
                                        "bwrap"};
    static const int order[2][3] = {{2, 1, 0}, {0, 1, 2}};
    double *ms[3], *cms[3], *rms[3], wall[3] = {0, 0, 0};
    char **ids = xcalloc(n, sizeof *ids), extra[256];
    csdk_t **hosts = xcalloc(threads, sizeof *hosts);
    size_t part[2] = {n / 2, n - n / 2};

    say("== time to interactive, burst: %zu x (create + node -v) from %zu "
        "threads, in two bursts per side; destroyed after each burst (not "
        "timed)\n", n, threads);
    for (int s = 0; s < 3; s++) {
        ms[s] = xcalloc(n, sizeof *ms[s]);
        cms[s] = xcalloc(n, sizeof *cms[s]);
        rms[s] = xcalloc(n, sizeof *rms[s]);
    }
    for (size_t i = 0; i < threads; i++)
        hosts[i] = open_host();
    for (int r = 0; r < 2; r++) {
        size_t base = r ? part[0] : 0;
        if (part[r] == 0)
            continue;
        for (int k = 0; k < 3; k++) {
            int side = order[r][k];
            burst_t b = {0};
            b.n = part[r];
            b.side = side;
            b.shared = h;
            b.hosts = hosts;
            b.ms = ms[side] + base;
            b.create_ms = cms[side] + base;
            b.run_ms = rms[side] + base;
            b.ids = ids;
            wall[side] += burst_run(&b, threads);
            for (size_t i = 0; side != 2 && i < part[r]; i++) {
                destroy(h, ids[i]);
                ids[i] = NULL;
            }
        }
    }
    for (int side = 0; side < 3; side++) {
        if (side == 2)
            snprintf(extra, sizeof extra, "threads=%zu wall_ms=%.1f", threads,
                     wall[side]);
        else
            snprintf(extra, sizeof extra,
                     "threads=%zu wall_ms=%.1f create_median_ms=%.3f "
                     "run_median_ms=%.3f",
                     threads, wall[side], median_of(cms[side], n),
                     median_of(rms[side], n));
        print_stats("tti-burst", sides[side], ms[side], n, extra);
        free(ms[side]);
        free(cms[side]);
        free(rms[side]);
    }
    for (size_t i = 0; i < threads; i++)
        csdk_close(hosts[i]);
    free(hosts);
    free(ids);
}

/* ------------------------------------------------------------------ */
/* exec true                                                           */
/* ------------------------------------------------------------------ */

static void test_exec(csdk_t *h, size_t n)
{
    double *c = xcalloc(n, sizeof *c), *b = xcalloc(n, sizeof *b);
    char *id = create(h);

    say("== exec: %zu x run_command {\"true\"} in one live sandbox "
        "(%d warm-up calls each side)\n", n, EXEC_WARMUP);
    for (int i = 0; i < EXEC_WARMUP; i++) {
        run(h, id, argv_true, NULL);
        (void)peer_once(bwrap_true, NULL);
    }
    for (size_t i = 0; i < n; i++) {
        uint64_t t0 = now_ns();
        run(h, id, argv_true, NULL);
        c[i] = ms_since(t0);
        b[i] = peer_once(bwrap_true, NULL);
    }
    print_stats("exec", "csdk", c, n, NULL);
    print_stats("exec", "bwrap", b, n, NULL);
    destroy(h, id);
    free(c);
    free(b);
}

/* ------------------------------------------------------------------ */
/* Idle memory                                                         */
/* ------------------------------------------------------------------ */

typedef struct proc {
    pid_t pid, ppid;
    char state;
    uint64_t cpu; /* utime + stime, ticks */
} proc_t;

typedef struct ptable {
    proc_t *v;
    size_t n, cap;
} ptable_t;

static void ptable_scan(ptable_t *t)
{
    DIR *d = opendir("/proc");
    struct dirent *e;

    if (!d)
        die("cannot open /proc: %s", strerror(errno));
    t->n = 0;
    while ((e = readdir(d)) != NULL) {
        char path[64], buf[1024], *p;
        proc_t pr = {0};
        unsigned long long ut = 0, stt = 0;
        int ppid = 0, fd;
        ssize_t len;

        if (e->d_name[0] < '1' || e->d_name[0] > '9')
            continue;
        pr.pid = (pid_t)atoi(e->d_name);
        snprintf(path, sizeof path, "/proc/%d/stat", (int)pr.pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        len = read(fd, buf, sizeof buf - 1);
        close(fd);
        if (len <= 0)
            continue;
        buf[len] = '\0';
        p = strrchr(buf, ')');
        /* state ppid pgrp session tty tpgid flags minflt cminflt majflt
         * cmajflt utime stime */
        if (!p || sscanf(p + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u "
                                "%llu %llu",
                         &pr.state, &ppid, &ut, &stt) != 4)
            continue;
        pr.ppid = (pid_t)ppid;
        pr.cpu = ut + stt;
        if (t->n == t->cap) {
            t->cap = t->cap ? t->cap * 2 : 1024;
            t->v = realloc(t->v, t->cap * sizeof *t->v);
            if (!t->v)
                die("out of memory");
        }
        t->v[t->n++] = pr;
    }
    closedir(d);
}

/* pid and its descendants into out (at most max); returns the count. */
static size_t ptable_tree(const ptable_t *t, pid_t pid, pid_t *out,
                          size_t max)
{
    size_t n = 0, k = 0;
    int found = 0;

    for (size_t i = 0; i < t->n; i++)
        found |= t->v[i].pid == pid;
    if (!found || max == 0)
        return 0;
    out[n++] = pid;
    while (k < n) {
        pid_t parent = out[k++];
        for (size_t i = 0; i < t->n && n < max; i++)
            if (t->v[i].ppid == parent)
                out[n++] = t->v[i].pid;
    }
    return n;
}

static const proc_t *ptable_get(const ptable_t *t, pid_t pid)
{
    for (size_t i = 0; i < t->n; i++)
        if (t->v[i].pid == pid)
            return &t->v[i];
    return NULL;
}

typedef struct memuse {
    uint64_t rss_kb, pss_kb, uss_kb, procs;
} memuse_t;

static void smaps_add(pid_t pid, memuse_t *m)
{
    char path[64], line[256];
    FILE *f;

    snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
    f = fopen(path, "re");
    if (!f)
        die("cannot read %s: %s", path, strerror(errno));
    while (fgets(line, sizeof line, f)) {
        unsigned long long v;
        if (sscanf(line, "Rss: %llu", &v) == 1)
            m->rss_kb += v;
        else if (sscanf(line, "Pss: %llu", &v) == 1)
            m->pss_kb += v;
        else if (sscanf(line, "Private_Clean: %llu", &v) == 1 ||
                 sscanf(line, "Private_Dirty: %llu", &v) == 1)
            m->uss_kb += v;
    }
    fclose(f);
    m->procs++;
}

/* A key of a sandbox's meta file (malloc'd), or NULL. */
static char *meta_get(const char *id, const char *key)
{
    char *dir = sandbox_dir(id), path[4352], line[4352], *val = NULL;
    size_t kl = strlen(key);
    FILE *f;

    snprintf(path, sizeof path, "%s/meta", dir);
    free(dir);
    f = fopen(path, "re");
    if (!f)
        return NULL;
    while (!val && fgets(line, sizeof line, f)) {
        if (strncmp(line, key, kl) == 0 && line[kl] == '=') {
            line[strcspn(line, "\n")] = '\0';
            val = strdup(line + kl + 1);
        }
    }
    fclose(f);
    return val;
}

/* The memory cgroup's charge in kB (v1 usage_in_bytes or v2 current), or
 * 0 when the sandbox has no memory cgroup. */
static uint64_t cgroup_kb(const char *id)
{
    char *cg = meta_get(id, "cgroup.memory"), path[4352];
    unsigned long long v = 0;
    FILE *f;

    if (!cg)
        return 0;
    snprintf(path, sizeof path, "%s/memory.usage_in_bytes", cg);
    f = fopen(path, "re");
    if (!f) {
        snprintf(path, sizeof path, "%s/memory.current", cg);
        f = fopen(path, "re");
    }
    free(cg);
    if (!f)
        return 0;
    if (fscanf(f, "%llu", &v) != 1)
        v = 0;
    fclose(f);
    return v / 1024;
}

static uint64_t mem_available_kb(void)
{
    char line[256];
    unsigned long long v = 0;
    FILE *f = fopen("/proc/meminfo", "re");

    if (!f)
        return 0;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %llu", &v) == 1)
            break;
    fclose(f);
    return v;
}

/* Wait until every process of the trees rooted at roots[] sleeps and none
 * used CPU over 250 ms (at most 15 s).  Returns the ms waited. */
static double wait_idle(ptable_t *t, const pid_t *roots, size_t n)
{
    uint64_t t0 = now_ns(), prev = UINT64_MAX;
    pid_t tree[64];

    for (;;) {
        uint64_t cpu = 0;
        int busy = 0;

        sleep_ms(250);
        ptable_scan(t);
        for (size_t i = 0; i < n; i++) {
            size_t k = ptable_tree(t, roots[i], tree, 64);
            if (k == 0)
                die("the processes of sandbox %zu (pid %d) are gone", i,
                    (int)roots[i]);
            for (size_t j = 0; j < k; j++) {
                const proc_t *p = ptable_get(t, tree[j]);
                cpu += p->cpu;
                busy |= p->state != 'S' && p->state != 'I';
            }
        }
        if ((!busy && cpu == prev) || ms_since(t0) > 15000)
            return ms_since(t0);
        prev = cpu;
    }
}

static void mem_measure(ptable_t *t, const pid_t *roots, size_t n,
                        memuse_t *sum, memuse_t *max)
{
    pid_t tree[64];

    memset(sum, 0, sizeof *sum);
    memset(max, 0, sizeof *max);
    ptable_scan(t);
    for (size_t i = 0; i < n; i++) {
        memuse_t m = {0};
        size_t k = ptable_tree(t, roots[i], tree, 64);
        for (size_t j = 0; j < k; j++)
            smaps_add(tree[j], &m);
        sum->rss_kb += m.rss_kb;
        sum->pss_kb += m.pss_kb;
        sum->uss_kb += m.uss_kb;
        sum->procs += m.procs;
        if (m.pss_kb > max->pss_kb)
            max->pss_kb = m.pss_kb;
        if (m.procs > max->procs)
            max->procs = m.procs;
    }
}

typedef struct echo_job {
    csdk_t *h;
    char **ids;
    size_t n, next, ok, live;
} echo_job_t;

static void *echo_thread(void *p)
{
    echo_job_t *j = p;

    for (;;) {
        size_t i = __atomic_fetch_add(&j->next, 1, __ATOMIC_RELAXED);
        char word[32];
        const char *argv[] = {"echo", word, NULL};
        csdk_run_opts_t ro = {.struct_size = sizeof ro, .argv = argv};
        csdk_result_t res;
        csdk_sandbox_t sb;
        csdk_error_t err;

        if (i >= j->n)
            break;
        if (csdk_get(j->h, j->ids[i], NULL, &sb, &err) == CSDK_OK &&
            sb.status && strcmp(sb.status, "running") == 0)
            __atomic_fetch_add(&j->live, 1, __ATOMIC_RELAXED);
        csdk_sandbox_clear(&sb);
        snprintf(word, sizeof word, "sandbox-%zu", i);
        memset(&res, 0, sizeof res);
        if (csdk_run_command(j->h, j->ids[i], &ro, NULL, &res, &err) !=
            CSDK_OK) {
            fprintf(stderr, "local: echo in %s failed: %s\n", j->ids[i],
                    err.message);
            csdk_result_clear(&res);
            continue;
        }
        if (res.exit_code == 0 && res.out_len == strlen(word) + 1 &&
            memcmp(res.out, word, strlen(word)) == 0)
            __atomic_fetch_add(&j->ok, 1, __ATOMIC_RELAXED);
        else
            fprintf(stderr, "local: echo in %s exited %d printing '%.*s'\n",
                    j->ids[i], res.exit_code, (int)res.out_len,
                    res.out ? res.out : "");
        csdk_result_clear(&res);
    }
    return NULL;
}

static void test_mem(csdk_t *h, size_t n, size_t threads)
{
    char **ids = xcalloc(n, sizeof *ids);
    pid_t *roots = xcalloc(n, sizeof *roots);
    ptable_t t = {0};
    memuse_t sum, max;
    uint64_t cg = 0, avail0, avail1;
    double idle_ms, echo_ms, destroy_ms, create_ms;
    echo_job_t job = {0};
    pthread_t th[MAX_THREADS];
    uint64_t t0;
    size_t nt = threads < n ? threads : n;

    say("== idle memory: %zu sandboxes at once\n", n);
    avail0 = mem_available_kb();
    t0 = now_ns();
    for (size_t i = 0; i < n; i++) {
        char *pid;
        ids[i] = create(h);
        pid = meta_get(ids[i], "bwrap_pid");
        if (!pid || (roots[i] = (pid_t)atoi(pid)) <= 0)
            die("no bwrap_pid in the meta file of %s", ids[i]);
        free(pid);
    }
    create_ms = ms_since(t0);
    idle_ms = wait_idle(&t, roots, n);
    mem_measure(&t, roots, n, &sum, &max);
    avail1 = mem_available_kb();
    for (size_t i = 0; i < n; i++)
        cg += cgroup_kb(ids[i]);

    /* All n alive at once, each answering. */
    job.h = h;
    job.ids = ids;
    job.n = n;
    t0 = now_ns();
    for (size_t i = 0; i < nt; i++)
        if (pthread_create(&th[i], NULL, echo_thread, &job) != 0)
            die("pthread_create failed");
    for (size_t i = 0; i < nt; i++)
        pthread_join(th[i], NULL);
    echo_ms = ms_since(t0);
    if (job.ok != n || job.live != n)
        die("only %zu of %zu sandboxes were running and %zu answered echo",
            job.live, n, job.ok);
    t0 = now_ns();
    for (size_t i = 0; i < n; i++)
        destroy(h, ids[i]);
    destroy_ms = ms_since(t0);
    printf("bench: test=mem side=csdk n=%zu pss_kb=%.1f rss_kb=%.1f "
           "uss_kb=%.1f procs=%.2f max_pss_kb=%" PRIu64 " cgroup_kb=%.1f "
           "sys_kb=%.1f live=%zu echo_ok=%zu echo_ms=%.1f idle_wait_ms=%.0f "
           "create_all_ms=%.0f destroy_all_ms=%.0f\n",
           n, (double)sum.pss_kb / (double)n, (double)sum.rss_kb / (double)n,
           (double)sum.uss_kb / (double)n, (double)sum.procs / (double)n,
           max.pss_kb, (double)cg / (double)n,
           ((double)avail0 - (double)avail1) / (double)n, job.live, job.ok,
           echo_ms, idle_ms, create_ms, destroy_ms);
    fflush(stdout);

    /* The peer: n bare bwraps holding sleep. */
    avail0 = mem_available_kb();
    for (size_t i = 0; i < n; i++)
        (void)spawn_wait(bwrap_sleep, NULL, 0, 1, &roots[i]);
    idle_ms = wait_idle(&t, roots, n);
    mem_measure(&t, roots, n, &sum, &max);
    avail1 = mem_available_kb();
    printf("bench: test=mem side=bwrap n=%zu pss_kb=%.1f rss_kb=%.1f "
           "uss_kb=%.1f procs=%.2f max_pss_kb=%" PRIu64 " sys_kb=%.1f "
           "idle_wait_ms=%.0f\n",
           n, (double)sum.pss_kb / (double)n, (double)sum.rss_kb / (double)n,
           (double)sum.uss_kb / (double)n, (double)sum.procs / (double)n,
           max.pss_kb, ((double)avail0 - (double)avail1) / (double)n,
           idle_ms);
    for (size_t i = 0; i < n; i++) {
        (void)kill(roots[i], SIGKILL);
        while (waitpid(roots[i], NULL, 0) < 0 && errno == EINTR)
            ;
    }
    free(t.v);
    free(ids);
    free(roots);
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

static unsigned char *random_bytes(size_t len)
{
    unsigned char *p = malloc(len);
    uint64_t x = 0x9e3779b97f4a7c15u ^ (uint64_t)now_ns();

    if (!p)
        die("out of memory for %zu bytes", len);
    for (size_t i = 0; i + 8 <= len; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, 8);
    }
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 0; /* binary: NULs throughout */
    return p;
}

static double plain_write(const char *path, const void *data, size_t len)
{
    uint64_t t0 = now_ns();
    const char *d = data;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

    if (fd < 0)
        die("open %s: %s", path, strerror(errno));
    while (len > 0) {
        ssize_t n = write(fd, d, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("write %s: %s", path, strerror(errno));
        d += n;
        len -= (size_t)n;
    }
    if (close(fd) != 0)
        die("close %s: %s", path, strerror(errno));
    return ms_since(t0);
}

/* Read a whole file into a new buffer, as a caller of read_file gets. */
static double plain_read(const char *path, const void *expect, size_t len)
{
    uint64_t t0 = now_ns();
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat s;
    char *buf;
    size_t got = 0;
    double ms;

    if (fd < 0 || fstat(fd, &s) != 0)
        die("open %s: %s", path, strerror(errno));
    buf = malloc((size_t)s.st_size + 1);
    if (!buf)
        die("out of memory");
    while (got < (size_t)s.st_size) {
        ssize_t n = read(fd, buf + got, (size_t)s.st_size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            die("read %s: %s", path, strerror(errno));
        got += (size_t)n;
    }
    close(fd);
    ms = ms_since(t0);
    if (got != len || memcmp(buf, expect, len) != 0)
        die("%s: read back differs", path);
    free(buf);
    return ms;
}

static double mbs(size_t bytes, double ms)
{
    return (double)bytes / 1e6 / (ms / 1e3);
}

typedef enum { FILE_ALL, FILE_WRITE_ONLY, FILE_READ_ONLY } file_mode_t;

static void test_file(csdk_t *h, size_t mib, size_t rounds, file_mode_t mode)
{
    size_t len = mib * MIB;
    unsigned char *data = random_bytes(len);
    char *id = create(h), *dir = sandbox_dir(id);
    double *cw = xcalloc(rounds, sizeof *cw), *cr = xcalloc(rounds, sizeof *cr),
           *pw = xcalloc(rounds, sizeof *pw), *pr = xcalloc(rounds, sizeof *pr),
           *cp = xcalloc(rounds, sizeof *cp);
    csdk_error_t err;

    if (mode == FILE_ALL)
        say("== files: %zu MiB written then read, %zu rounds (median)\n",
            mib, rounds);
    if (mode == FILE_READ_ONLY &&
        csdk_write_file(h, id, "bench.bin", data, len, NULL, &err) != CSDK_OK)
        die("csdk_write_file: %s", err.message);
    for (size_t r = 0; r < rounds; r++) {
        char name[64], ppath[4400], cpath[4400];
        char *cp_argv[] = {"cp", ppath, cpath, NULL};
        void *back = NULL;
        size_t back_len = 0;
        uint64_t t0;

        /* csdk: a fresh name each round (no rename over a big file). */
        snprintf(name, sizeof name, "bench-%zu.bin", r);
        if (mode == FILE_READ_ONLY)
            snprintf(name, sizeof name, "bench.bin");
        if (mode != FILE_READ_ONLY) {
            t0 = now_ns();
            if (csdk_write_file(h, id, name, data, len, NULL, &err) != CSDK_OK)
                die("csdk_write_file: %s", err.message);
            cw[r] = ms_since(t0);
        }
        if (mode == FILE_WRITE_ONLY) {
            (void)csdk_remove(h, id, name, NULL, &err);
            continue;
        }
        t0 = now_ns();
        if (csdk_read_file(h, id, name, NULL, &back, &back_len, &err) !=
            CSDK_OK)
            die("csdk_read_file: %s", err.message);
        cr[r] = ms_since(t0);
        if (back_len != len || memcmp(back, data, len) != 0)
            die("csdk_read_file returned %zu bytes that differ from the %zu "
                "written", back_len, len);
        free(back);
        if (mode == FILE_READ_ONLY)
            continue;
        if (csdk_remove(h, id, name, NULL, &err) != CSDK_OK)
            die("csdk_remove: %s", err.message);

        /* The peers, in the same directory. */
        snprintf(ppath, sizeof ppath, "%s/ws/peer-%zu.bin", dir, r);
        snprintf(cpath, sizeof cpath, "%s/ws/peer-%zu.cp", dir, r);
        pw[r] = plain_write(ppath, data, len);
        pr[r] = plain_read(ppath, data, len);
        t0 = now_ns();
        if (spawn_wait(cp_argv, NULL, 0, 0, NULL) != 0)
            die("cp %s %s failed", ppath, cpath);
        cp[r] = ms_since(t0);
        unlink(ppath);
        unlink(cpath);
    }
    if (mode == FILE_ALL) {
        double w = median_of(cw, rounds), rd = median_of(cr, rounds),
               w2 = median_of(pw, rounds), r2 = median_of(pr, rounds),
               c = median_of(cp, rounds);
        printf("bench: test=file side=csdk bytes=%zu rounds=%zu write_ms=%.2f "
               "read_ms=%.2f write_mbs=%.0f read_mbs=%.0f\n",
               len, rounds, w, rd, mbs(len, w), mbs(len, rd));
        printf("bench: test=file side=syscalls bytes=%zu rounds=%zu "
               "write_ms=%.2f read_ms=%.2f write_mbs=%.0f read_mbs=%.0f\n",
               len, rounds, w2, r2, mbs(len, w2), mbs(len, r2));
        printf("bench: test=file side=cp bytes=%zu rounds=%zu copy_ms=%.2f "
               "copy_mbs=%.0f\n",
               len, rounds, c, mbs(len, c));
    } else {
        double *v = mode == FILE_WRITE_ONLY ? cw : cr;
        double m = median_of(v, rounds);
        printf("bench: loop=%s ms=%.2f mbs=%.0f rounds=%zu\n",
               mode == FILE_WRITE_ONLY ? "write" : "read", m, mbs(len, m),
               rounds);
    }
    destroy(h, id);
    free(dir);
    free(data);
    free(cw);
    free(cr);
    free(pw);
    free(pr);
    free(cp);
}

/* ------------------------------------------------------------------ */
/* One loop alone, for profilers                                       */
/* ------------------------------------------------------------------ */

static void loop_only(csdk_t *h, const char *loop, size_t n, size_t execs,
                      size_t mib, size_t rounds)
{
    uint64_t t0 = now_ns();
    size_t count = n;

    if (strcmp(loop, "tti") == 0 || strcmp(loop, "create") == 0) {
        for (size_t i = 0; i < n; i++) {
            char *id = create(h);
            if (loop[0] == 't')
                run(h, id, argv_node, "v");
            destroy(h, id);
        }
    } else if (strcmp(loop, "exec") == 0) {
        char *id = create(h);
        t0 = now_ns();
        for (size_t i = 0; i < execs; i++)
            run(h, id, argv_true, NULL);
        count = execs;
        printf("bench: loop=exec ms=%.3f n=%zu\n",
               ms_since(t0) / (double)count, count);
        destroy(h, id);
        return;
    } else if (strcmp(loop, "bwrap-node") == 0) {
        for (size_t i = 0; i < n; i++)
            (void)peer_once(bwrap_node, "v");
    } else if (strcmp(loop, "bwrap-true") == 0) {
        for (size_t i = 0; i < execs; i++)
            (void)peer_once(bwrap_true, NULL);
        count = execs;
    } else if (strcmp(loop, "write") == 0 || strcmp(loop, "read") == 0) {
        test_file(h, mib, rounds,
                  loop[0] == 'w' ? FILE_WRITE_ONLY : FILE_READ_ONLY);
        return;
    } else {
        die("-x: no loop '%s' (tti, create, exec, write, read, bwrap-node, "
            "bwrap-true)", loop);
    }
    printf("bench: loop=%s ms=%.3f n=%zu (per iteration, destroy "
           "included)\n",
           loop, ms_since(t0) / (double)count, count);
}

/* ------------------------------------------------------------------ */
/* main                                                                */
/* ------------------------------------------------------------------ */

static size_t parse_count(const char *s, const char *what)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= 1) || v > 1e9)
        die("%s: '%s' is not a count", what, s);
    return (size_t)v;
}

static int rm_entry(const char *path, const struct stat *s, int flag,
                    struct FTW *f)
{
    (void)s;
    (void)f;
    if (flag == FTW_DP)
        (void)rmdir(path);
    else
        (void)unlink(path);
    return 0;
}

/* Destroy whatever a failed run left, through a fresh host. */
static int made_root;
static void cleanup(void)
{
    csdk_t *h;
    csdk_sandbox_t *sbs = NULL;
    size_t n = 0;
    csdk_error_t err;

    if (!made_root)
        return;
    made_root = 0;
    h = open_host();
    if (csdk_list(h, "local", NULL, &sbs, &n, &err) == CSDK_OK)
        for (size_t i = 0; i < n; i++)
            (void)csdk_destroy(h, sbs[i].id, NULL, &err);
    csdk_sandbox_list_free(sbs, n);
    csdk_close(h);
    (void)nftw(root, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

static int wanted(const char *only, const char *test)
{
    const char *p = only;
    size_t l = strlen(test);

    if (!only)
        return 1;
    while ((p = strstr(p, test)) != NULL) {
        if ((p == only || p[-1] == ',') && (p[l] == ',' || p[l] == '\0'))
            return 1;
        p += l;
    }
    return 0;
}

int main(int argc, char **argv)
{
    size_t n = 100, threads = 8, execs = 500, mem_n = 100, mib = 64,
           rounds = 5;
    const char *only = NULL, *loop = NULL;
    csdk_t *h;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-q") == 0) {
            quiet = 1;
        } else if (a[0] == '-' && strchr("ntemsroxPARc", a[1]) && !a[2] &&
                   i + 1 < argc) {
            const char *v = argv[++i];
            switch (a[1]) {
            case 'n': n = parse_count(v, "-n"); break;
            case 't': threads = parse_count(v, "-t"); break;
            case 'e': execs = parse_count(v, "-e"); break;
            case 'm': mem_n = parse_count(v, "-m"); break;
            case 's': mib = parse_count(v, "-s"); break;
            case 'r': rounds = parse_count(v, "-r"); break;
            case 'o': only = v; break;
            case 'x': loop = v; break;
            case 'P': plugin_dir = v; break;
            case 'A': agent = v; break;
            case 'R': snprintf(root, sizeof root, "%s", v); break;
            case 'c': {
                size_t l = strlen(extra_conf);
                if (!strchr(v, '=') ||
                    (size_t)snprintf(extra_conf + l, sizeof extra_conf - l,
                                     "%s\n", v) >= sizeof extra_conf - l)
                    die("-c: KEY=VALUE, a few of them");
                break;
            }
            }
        } else {
            fprintf(stderr,
                    "usage: %s [-n TTI] [-t THREADS] [-e EXECS] [-m "
                    "SANDBOXES] [-s MIB] [-r ROUNDS] [-o TESTS] [-x LOOP] "
                    "[-P PLUGIN_DIR] [-A AGENT] [-R ROOT] [-c KEY=VALUE] "
                    "[-q]\n",
                    argv[0]);
            return 2;
        }
    }
    if (threads > MAX_THREADS)
        die("-t: at most %d threads", MAX_THREADS);
    if (!root[0]) {
        const char *tmp = getenv("TMPDIR");
        snprintf(root, sizeof root, "%s/csdk-bench-local.XXXXXX",
                 tmp && *tmp ? tmp : "/tmp");
        if (!mkdtemp(root))
            die("mkdtemp %s: %s", root, strerror(errno));
        made_root = 1;
        atexit(cleanup);
    }
    if (access(agent, X_OK) != 0)
        die("no agent at %s (run 'make', or pass -A)", agent);

    h = open_host();
    say("csdk local provider: %s, agent %s, root %s\n", plugin_dir, agent,
        root);
    if (loop) {
        loop_only(h, loop, n, execs, mib, rounds);
    } else {
        if (wanted(only, "tti"))
            test_tti_seq(h, n);
        if (wanted(only, "burst"))
            test_tti_burst(h, n, threads);
        if (wanted(only, "exec"))
            test_exec(h, execs);
        if (wanted(only, "mem"))
            test_mem(h, mem_n, threads);
        if (wanted(only, "file"))
            test_file(h, mib, rounds, FILE_ALL);
    }
    fflush(stdout);
    csdk_close(h);
    return 0;
}
