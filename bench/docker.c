/*
 * bench/docker.c - the docker provider against the same Engine API calls
 * made with curl, and against the docker CLI.
 *
 * Four measurements, each with its peers timed in the same run,
 * interleaved sample by sample (the order of the sides rotates from one
 * sample to the next, so drift on a shared machine hits every side alike):
 *
 *   exec   csdk_run_command {"echo", "hi"} in one live sandbox, against
 *          the three requests of an exec (POST /containers/ID/exec, POST
 *          /exec/EID/start, GET /exec/EID/json) made with curl:
 *            curl-sh     a shell running three curl processes, the exec id
 *                        cut from the first reply with parameter expansion
 *                        (wall time: three curl start-ups and one sh);
 *            curl-http   the same three requests from two curl processes
 *                        (the create; then start --next inspect on one
 *                        connection), timed by curl's own time_total for
 *                        each transfer and summed: process start-up is not
 *                        counted (curl 7.88 cannot put one reply's id into
 *                        the next URL, so one process cannot do all three);
 *            curl-wrapped  as curl-http, but with the exact command csdk
 *                        sends (its /bin/sh wrapper that execs echo,
 *                        and the same body keys): the engine's side of
 *                        csdk's request, without csdk;
 *            docker      docker -H unix://SOCK exec ID echo hi.
 *   tti    time to interactive: csdk_create then the first run_command of
 *          {"echo", "hi"} (destroy after, timed apart), against docker -H
 *          unix://SOCK run --rm --network none [-v BINDS] IMAGE echo hi
 *          (which also removes its container before it returns).
 *   file   csdk_write_file then csdk_read_file of SIZE MiB of random bytes
 *          (NULs included; a fresh name each round; read back and compared
 *          byte for byte), against curl PUT and GET of
 *          /containers/ID/archive with a tar of the same bytes made
 *          beforehand (the GET's tar is kept as it is, not unpacked).
 *   b64    the write method ComputeSDK's docker provider uses, through
 *          csdk_run_command: sh -c 'mkdir -p $(dirname "P") && echo
 *          "<base64>" | base64 -d > "P"' at each size of -b (KiB), then
 *          its read method (base64 P | tr -d '\n') to check the bytes.
 *          The whole base64 text is one argument of one exec, so it fails
 *          once it passes the kernel's limit for one argument (128 KiB,
 *          MAX_ARG_STRLEN): how it fails is printed, and the largest size
 *          that still works (sizes tried one byte apart below 96 KiB).
 *
 * Usage: docker -S SOCK [-a API] [-n EXECS] [-t TTI] [-s MIB] [-r ROUNDS]
 *               [-b KIB,KIB...] [-o TESTS] [-x LOOP] [-I IMAGE] [-B BINDS]
 *               [-D DOCKER] [-C CURL] [-P PLUGIN_DIR] [-c KEY=VALUE]...
 *               [-v] [-q]
 *   -S  the engine's unix socket (default $ENGINE_SOCK)
 *   -a  API version for the curl peers (default $ENGINE_API, else 1.41)
 *   -n  exec samples per side (default 100, after 5 warm-up rounds)
 *   -t  time-to-interactive samples per side (default 30)
 *   -s  file size in MiB (default 64)
 *   -r  file rounds, median reported (default 3)
 *   -b  base64 sizes in KiB (default 1,64,96,128,1024)
 *   -o  comma-separated tests: exec,tti,file,b64 (default all)
 *   -x  one csdk loop alone for a profiler, no peers: exec (EXECS calls in
 *       one sandbox), exec-split (the same with the output streamed: the
 *       time until "hi" arrives and the time after it, medians), tti
 *       (create + echo + destroy, TTI times), create (create + destroy),
 *       write, read (SIZE MiB, ROUNDS times)
 *   -I  image (default csdk-test/hostusr)
 *   -B  binds, space-separated (default /usr:/usr:ro; "" for none)
 *   -D  the docker CLI (default docker, from PATH)
 *   -C  curl (default curl, from PATH)
 *   -P  directory holding docker.so (default: this build tree's)
 *   -c  add KEY = VALUE to the [provider.docker] section (repeatable)
 *   -v  log_level = debug (the host's per-call timings on stderr)
 *   -q  print only the machine-readable "bench:" lines
 *
 * It prints figures and exits 0 whatever they are; it exits non-zero only
 * when something fails (a broken build, engine or machine, not a slow
 * one).  A base64 write that fails is a figure, not a failure.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include <csdk/csdk.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

#ifndef BENCH_DOCKER_PLUGIN_DIR
#define BENCH_DOCKER_PLUGIN_DIR "plugins/docker/.libs"
#endif

#define MIB (1024u * 1024u)
#define KIB 1024u
#define EXEC_WARMUP 5
#define MAX_SIZES 32

extern char **environ;

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
    fflush(stdout);
    fputs("docker: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        die("out of memory");
    return p;
}

static char *xasprintf(const char *fmt, ...) CSDK_PRINTF(1, 2);
static char *xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&p, fmt, ap);
    va_end(ap);
    if (n < 0)
        die("out of memory");
    return p;
}

static int quiet;
#define say(...) (quiet ? (void)0 : (void)printf(__VA_ARGS__))

/* A byte buffer for a child's output. */
typedef struct buf {
    char *data;
    size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (!(b->data = realloc(b->data, cap)))
            die("out of memory");
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static void buf_free(buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

/* A printable excerpt of the first bytes of a buffer, for messages. */
static const char *excerpt(const char *p, size_t n)
{
    static char out[201];
    size_t i, k = n < 200 ? n : 200;

    for (i = 0; i < k; i++)
        out[i] = p[i] >= 32 && p[i] < 127 ? p[i] : '.';
    out[k] = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* Statistics                                                          */
/* ------------------------------------------------------------------ */

typedef struct stats {
    size_t n;
    double median, p95, min, max, mean;
} stats_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Nearest-rank p95; the median of an even count is the mean of the middle
 * two. */
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
    s.p95 = c[(size_t)(0.95 * (double)n + 0.999999) - 1];
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
           "min_ms=%.3f max_ms=%.3f mean_ms=%.3f%s%s\n",
           test, side, s.n, s.median, s.p95, s.min, s.max, s.mean,
           extra && *extra ? " " : "", extra ? extra : "");
}

static double median_of(const double *v, size_t n)
{
    return summarise(v, n).median;
}

static double mbs(size_t bytes, double ms)
{
    return ms > 0 ? (double)bytes / 1e6 / (ms / 1e3) : 0;
}

/* ------------------------------------------------------------------ */
/* Configuration                                                       */
/* ------------------------------------------------------------------ */

static const char *plugin_dir = BENCH_DOCKER_PLUGIN_DIR;
static const char *sock;
static char api[32] = "v1.41";  /* URL prefix for the curl peers */
static char base_url[64];       /* http://localhost/v1.41 */
static char docker_host[4200];  /* unix://SOCK */
static const char *image = "csdk-test/hostusr";
static const char *binds = "/usr:/usr:ro";
static const char *docker_cli = "docker";
static const char *curl_bin = "curl";
static const char *log_level = "warn";
static char extra_conf[4096]; /* -c KEY=VALUE lines */

/* ------------------------------------------------------------------ */
/* The host                                                            */
/* ------------------------------------------------------------------ */

static csdk_t *open_host(void)
{
    char ini[16384];
    csdk_t *h;
    csdk_error_t err;
    csdk_provider_info_t info;

    snprintf(ini, sizeof ini,
             "[host]\n"
             "log_level = %s\n"
             "plugin_dir = %s\n"
             "default_provider = docker\n"
             "[provider.docker]\n"
             "plugin = docker\n"
             "host = %s\n"
             "image = %s\n"
             "pull_policy = never\n"
             "%s%s%s"
             "%s",
             log_level, plugin_dir, docker_host, image,
             *binds ? "binds = " : "", binds, *binds ? "\n" : "",
             extra_conf);
    if (csdk_open_string(ini, "(bench/docker)", NULL, &h, &err) != CSDK_OK)
        die("csdk_open_string: %s", err.message);
    if (csdk_provider_get(h, 0, &info) != CSDK_OK || !info.loaded)
        die("the docker provider did not load from %s: %s", plugin_dir,
            info.error ? info.error : "?");
    return h;
}

/* A new sandbox's id (malloc'd), or die. */
static char *create(csdk_t *h)
{
    csdk_sandbox_t sb;
    csdk_error_t err;
    char *id;

    if (csdk_create(h, "docker", NULL, NULL, &sb, &err) != CSDK_OK)
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

/* The container id of a sandbox id ("docker:3f2a..."). */
static const char *native_id(const char *id)
{
    const char *p = strchr(id, ':');
    return p ? p + 1 : id;
}

static const char *const argv_echo[] = {"echo", "hi", NULL};

/* Run argv in id; die unless it exits 0 printing exactly `expect`. */
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
    if (expect && (res.out_len != strlen(expect) ||
                   memcmp(res.out, expect, res.out_len) != 0))
        die("%s in %s printed '%s', not '%s'", argv[0], id,
            excerpt(res.out ? res.out : "", res.out_len), expect);
    csdk_result_clear(&res);
}

/* ------------------------------------------------------------------ */
/* Peers: child processes                                              */
/* ------------------------------------------------------------------ */

/* posix_spawnp argv with stdout and stderr on one pipe, read to EOF into
 * out (when not NULL), the child waited for.  Returns the exit status
 * (128 + signal when killed). */
static int spawn_wait(char *const *argv, buf_t *out)
{
    posix_spawn_file_actions_t fa;
    int p[2], st = 0, rc;
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) != 0)
        die("pipe2: %s", strerror(errno));
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, p[1], 1);
    posix_spawn_file_actions_adddup2(&fa, p[1], 2);
    rc = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
        die("cannot run %s: %s", argv[0], strerror(rc));
    close(p[1]);
    for (;;) {
        char b[65536];
        ssize_t n = read(p[0], b, sizeof b);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        if (out)
            buf_add(out, b, (size_t)n);
    }
    close(p[0]);
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Minimal JSON string escaping (for the bodies the curl peers send). */
static char *json_str(const char *s)
{
    buf_t b = {0};

    buf_add(&b, "\"", 1);
    for (; *s; s++) {
        char e[8];
        if (*s == '"' || *s == '\\') {
            e[0] = '\\';
            e[1] = *s;
            buf_add(&b, e, 2);
        } else if ((unsigned char)*s < 32) {
            snprintf(e, sizeof e, "\\u%04x", (unsigned char)*s);
            buf_add(&b, e, 6);
        } else {
            buf_add(&b, s, 1);
        }
    }
    buf_add(&b, "\"", 1);
    return b.data;
}

/* The exec-create body of the peers: argv as Cmd; `as_csdk` adds the keys
 * csdk's body has (Tty false, the marker in Env). */
static char *exec_body(const char *const *argv, int as_csdk)
{
    buf_t b = {0};

    buf_add(&b, "{\"AttachStdout\":true,\"AttachStderr\":true,", 41);
    if (as_csdk)
        buf_add(&b, "\"Tty\":false,", 12);
    buf_add(&b, "\"Cmd\":[", 7);
    for (size_t i = 0; argv[i]; i++) {
        char *s = json_str(argv[i]);
        if (i)
            buf_add(&b, ",", 1);
        buf_add(&b, s, strlen(s));
        free(s);
    }
    buf_add(&b, "]", 1);
    if (as_csdk)
        buf_add(&b, ",\"Env\":[\"CSDK_EXEC_ID=0123456789abcdef\"]", 40);
    buf_add(&b, "}", 1);
    return b.data;
}

/* The wrapper csdk's docker provider runs every command under
 * (plugins/docker/exec.c, wrap_script), as it runs a command without
 * standard input or a timeout: it execs the command.  The timeout branch
 * is left out (this peer never takes it).  Copied here so that
 * curl-wrapped sends what csdk sends. */
static const char csdk_wrap_script[] =
    "if [ -n \"$1\" ]; then exec <\"$1\"; rm -f \"$1\"; fi; "
    "c=$2 t=$3 k=$4; shift 4; "
    "if [ -z \"$t\" ]; then [ -n \"$c\" ] || exec \"$@\"; "
    "\"$@\"; s=$?; rm -f \"$c\"; exit $s; fi; exit 125";

/* The shell loop of curl invocations: $1 curl, $2 socket, $3 base URL,
 * $4 container id, $5 exec-create body.  Prints the start's raw stream
 * and the inspect's JSON. */
static const char curl_sh_script[] =
    "r=$(\"$1\" -sS --unix-socket \"$2\" -H 'Content-Type: application/json' "
    "-d \"$5\" \"$3/containers/$4/exec\") || exit 1; "
    "e=${r#*\\\"Id\\\":\\\"}; e=${e%%\\\"*}; "
    "\"$1\" -sS --unix-socket \"$2\" -H 'Content-Type: application/json' "
    "-d '{\"Detach\":false,\"Tty\":false}' \"$3/exec/$e/start\" || exit 1; "
    "\"$1\" -sS --unix-socket \"$2\" \"$3/exec/$e/json\"";

#define CURL_W "\n@T %{time_total} %{http_code}\n"

/* The "@T seconds status" lines curl -w appended, in order: fills up to
 * max times (ms) and statuses; returns how many. */
static size_t curl_times(const buf_t *b, double *ms, long *status,
                         size_t max)
{
    size_t n = 0;
    const char *p = b->data, *end = b->data + b->len;

    while (p && n < max &&
           (p = memmem(p, (size_t)(end - p), "\n@T ", 4)) != NULL) {
        double s;
        long code;
        if (sscanf(p + 4, "%lf %ld", &s, &code) == 2) {
            ms[n] = s * 1e3;
            status[n] = code;
            n++;
        }
        p += 4;
    }
    return n;
}

/* The exec-create's id from a reply, into eid (65 bytes). */
static int exec_id(const buf_t *b, char *eid)
{
    const char *p = b->data ? strstr(b->data, "\"Id\":\"") : NULL;
    size_t n;

    if (!p)
        return -1;
    p += 6;
    n = strspn(p, "0123456789abcdef");
    if (n == 0 || n > 64)
        return -1;
    memcpy(eid, p, n);
    eid[n] = '\0';
    return 0;
}

/* Check the output of an exec start + inspect: the multiplexed stdout
 * frame holding "hi\n" (or the wrapper's output) and ExitCode 0. */
static void check_exec_output(const char *side, const buf_t *b)
{
    static const char frame[] = "\001\0\0\0\0\0\0\003hi\n";

    if (!b->data || !memmem(b->data, b->len, frame, sizeof frame - 1) ||
        !memmem(b->data, b->len, "\"ExitCode\":0", 12))
        die("%s: unexpected output: %s", side, excerpt(b->data, b->len));
}

/* One curl-sh sample: wall ms. */
static double peer_curl_sh(const char *cid, const char *body)
{
    char *argv[] = {"sh", "-c", (char *)curl_sh_script, "curl-sh",
                    (char *)curl_bin, (char *)sock, base_url, (char *)cid,
                    (char *)body, NULL};
    buf_t out = {0};
    uint64_t t0 = now_ns();
    int st = spawn_wait(argv, &out);
    double ms = ms_since(t0);

    if (st != 0)
        die("curl-sh exited %d: %s", st, excerpt(out.data, out.len));
    check_exec_output("curl-sh", &out);
    buf_free(&out);
    return ms;
}

/* One curl-http sample: the three requests from two curl processes.
 * Returns the sum of curl's time_total (ms); *wall gets the wall time of
 * both processes. */
static double peer_curl_http(const char *side, const char *cid,
                             const char *body, double *wall)
{
    char *url1 = xasprintf("%s/containers/%s/exec", base_url, cid);
    char eid[65], *url2, *url3;
    char *a1[] = {(char *)curl_bin, "-sS", "--unix-socket", (char *)sock,
                  "-H", "Content-Type: application/json", "-d", (char *)body,
                  "-w", CURL_W, url1, NULL};
    buf_t o1 = {0}, o2 = {0};
    double t[4];
    long code[4];
    uint64_t t0 = now_ns();
    int st = spawn_wait(a1, &o1);

    if (st != 0 || curl_times(&o1, t, code, 1) != 1 || code[0] != 201 ||
        exec_id(&o1, eid) != 0)
        die("%s: exec create failed (exit %d): %s", side, st,
            excerpt(o1.data, o1.len));
    url2 = xasprintf("%s/exec/%s/start", base_url, eid);
    url3 = xasprintf("%s/exec/%s/json", base_url, eid);
    {
        char *a2[] = {(char *)curl_bin, "-sS", "--unix-socket", (char *)sock,
                      "-H", "Content-Type: application/json", "-d",
                      "{\"Detach\":false,\"Tty\":false}", "-w", CURL_W, url2,
                      "--next", "-sS", "--unix-socket", (char *)sock, "-w",
                      CURL_W, url3, NULL};
        st = spawn_wait(a2, &o2);
    }
    *wall = ms_since(t0);
    if (st != 0 || curl_times(&o2, t + 1, code + 1, 2) != 2 ||
        code[1] != 200 || code[2] != 200)
        die("%s: exec start/inspect failed (exit %d): %s", side, st,
            excerpt(o2.data, o2.len));
    check_exec_output(side, &o2);
    buf_free(&o1);
    buf_free(&o2);
    free(url1);
    free(url2);
    free(url3);
    return t[0] + t[1] + t[2];
}

static double peer_docker_exec(const char *cid)
{
    char *argv[] = {(char *)docker_cli, "-H", docker_host, "exec",
                    (char *)cid, "echo", "hi", NULL};
    buf_t out = {0};
    uint64_t t0 = now_ns();
    int st = spawn_wait(argv, &out);
    double ms = ms_since(t0);

    if (st != 0 || !out.data || strcmp(out.data, "hi\n") != 0)
        die("docker exec exited %d: %s", st, excerpt(out.data, out.len));
    buf_free(&out);
    return ms;
}

static double peer_docker_run(void)
{
    char *argv[16];
    size_t k = 0;
    buf_t out = {0};
    uint64_t t0;
    double ms;
    int st;

    argv[k++] = (char *)docker_cli;
    argv[k++] = "-H";
    argv[k++] = docker_host;
    argv[k++] = "run";
    argv[k++] = "--rm";
    argv[k++] = "--network";
    argv[k++] = "none";
    if (*binds) {
        /* One -v per bind (binds are space-separated; at most 3 here). */
        static char bcopy[1024];
        char *save = NULL, *w;
        snprintf(bcopy, sizeof bcopy, "%s", binds);
        for (w = strtok_r(bcopy, " ", &save); w && k < 13;
             w = strtok_r(NULL, " ", &save)) {
            argv[k++] = "-v";
            argv[k++] = w;
        }
    }
    argv[k++] = (char *)image;
    argv[k++] = "echo";
    argv[k++] = "hi";
    argv[k] = NULL;
    t0 = now_ns();
    st = spawn_wait(argv, &out);
    ms = ms_since(t0);
    if (st != 0 || !out.data || strcmp(out.data, "hi\n") != 0)
        die("docker run exited %d: %s", st, excerpt(out.data, out.len));
    buf_free(&out);
    return ms;
}

/* ------------------------------------------------------------------ */
/* exec                                                                */
/* ------------------------------------------------------------------ */

enum { EX_CSDK, EX_CURL_SH, EX_CURL_HTTP, EX_CURL_WRAPPED, EX_DOCKER,
       EX_SIDES };
static const char *const ex_names[EX_SIDES] = {
    "csdk", "curl-sh", "curl-http", "curl-wrapped", "docker"};

static void test_exec(csdk_t *h, size_t n)
{
    double *v[EX_SIDES], *wall_http = xcalloc(n, sizeof *wall_http),
           *wall_wrapped = xcalloc(n, sizeof *wall_wrapped), junk;
    char *id = create(h), extra[128];
    const char *cid = native_id(id);
    char *plain = exec_body(argv_echo, 0);
    const char *wargv[] = {"/bin/sh", "-c", csdk_wrap_script, "csdk-run",
                           "", "", "", "", "echo", "hi", NULL};
    char *wrapped = exec_body(wargv, 1);

    say("== exec: %zu x echo hi in one live sandbox (%s), per side; %d "
        "warm-up rounds; sides rotate\n", n, cid, EXEC_WARMUP);
    for (int s = 0; s < EX_SIDES; s++)
        v[s] = xcalloc(n, sizeof *v[s]);
    for (size_t i = 0; i < n + EXEC_WARMUP; i++) {
        size_t k = i < EXEC_WARMUP ? 0 : i - EXEC_WARMUP;
        for (int j = 0; j < EX_SIDES; j++) {
            int s = (int)((i + (size_t)j) % EX_SIDES);
            double ms;
            uint64_t t0;
            switch (s) {
            case EX_CSDK:
                t0 = now_ns();
                run(h, id, argv_echo, "hi\n");
                ms = ms_since(t0);
                break;
            case EX_CURL_SH:
                ms = peer_curl_sh(cid, plain);
                break;
            case EX_CURL_HTTP:
                ms = peer_curl_http("curl-http", cid, plain,
                                    i < EXEC_WARMUP ? &junk
                                                    : &wall_http[k]);
                break;
            case EX_CURL_WRAPPED:
                ms = peer_curl_http("curl-wrapped", cid, wrapped,
                                    i < EXEC_WARMUP ? &junk
                                                    : &wall_wrapped[k]);
                break;
            default:
                ms = peer_docker_exec(cid);
                break;
            }
            if (i >= EXEC_WARMUP)
                v[s][k] = ms;
        }
    }
    for (int s = 0; s < EX_SIDES; s++) {
        extra[0] = '\0';
        if (s == EX_CURL_HTTP || s == EX_CURL_WRAPPED)
            snprintf(extra, sizeof extra, "wall_median_ms=%.3f",
                     median_of(s == EX_CURL_HTTP ? wall_http : wall_wrapped,
                               n));
        print_stats("exec", ex_names[s], v[s], n, extra);
        free(v[s]);
    }
    destroy(h, id);
    free(plain);
    free(wrapped);
    free(wall_http);
    free(wall_wrapped);
}

/* ------------------------------------------------------------------ */
/* Time to interactive                                                 */
/* ------------------------------------------------------------------ */

static void test_tti(csdk_t *h, size_t n)
{
    double *c = xcalloc(n, sizeof *c), *cc = xcalloc(n, sizeof *cc),
           *cr = xcalloc(n, sizeof *cr), *cd = xcalloc(n, sizeof *cd),
           *ct = xcalloc(n, sizeof *ct), *d = xcalloc(n, sizeof *d);
    char extra[256];

    say("== time to interactive: %zu x (create + echo hi), destroy timed "
        "apart; against docker run --rm\n", n);
    /* One of each first: page cache, the image's layers. */
    {
        char *id = create(h);
        run(h, id, argv_echo, "hi\n");
        destroy(h, id);
        (void)peer_docker_run();
    }
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < 2; j++) {
            if ((i + (size_t)j) % 2 == 0) {
                uint64_t t0 = now_ns(), t1, t2;
                char *id = create(h);
                t1 = now_ns();
                run(h, id, argv_echo, "hi\n");
                t2 = now_ns();
                destroy(h, id);
                c[i] = (double)(t2 - t0) / 1e6;
                cc[i] = (double)(t1 - t0) / 1e6;
                cr[i] = (double)(t2 - t1) / 1e6;
                cd[i] = ms_since(t2);
                ct[i] = c[i] + cd[i];
            } else {
                d[i] = peer_docker_run();
            }
        }
    }
    snprintf(extra, sizeof extra,
             "create_median_ms=%.3f run_median_ms=%.3f "
             "destroy_median_ms=%.3f with_destroy_median_ms=%.3f "
             "with_destroy_p95_ms=%.3f",
             median_of(cc, n), median_of(cr, n), median_of(cd, n),
             median_of(ct, n), summarise(ct, n).p95);
    print_stats("tti", "csdk", c, n, extra);
    print_stats("tti", "docker-run", d, n, NULL);
    free(c);
    free(cc);
    free(cr);
    free(cd);
    free(ct);
    free(d);
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

static unsigned char *random_bytes(size_t len)
{
    unsigned char *p = malloc(len ? len : 1);
    uint64_t x = 0x9e3779b97f4a7c15u ^ (uint64_t)now_ns();

    if (!p)
        die("out of memory for %zu bytes", len);
    for (size_t i = 0; i < len; i += 8) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(p + i, &x, len - i < 8 ? len - i : 8);
    }
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 0; /* binary: NULs throughout */
    return p;
}

static void write_host_file(const char *path, const void *data, size_t len)
{
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

/* A curl transfer for the file peer: returns curl's time_total (ms),
 * *wall the process's wall time. */
static double curl_transfer(char *const *argv, const char *what,
                            long want, double *wall)
{
    buf_t out = {0};
    double t;
    long code;
    uint64_t t0 = now_ns();
    int st = spawn_wait(argv, &out);

    *wall = ms_since(t0);
    if (st != 0 || curl_times(&out, &t, &code, 1) != 1 || code != want)
        die("curl %s failed (exit %d): %s", what, st,
            excerpt(out.data, out.len));
    buf_free(&out);
    return t;
}

typedef enum { FILE_ALL, FILE_WRITE_ONLY, FILE_READ_ONLY } file_mode_t;

static void test_file(csdk_t *h, size_t mib, size_t rounds, file_mode_t mode)
{
    size_t len = mib * MIB;
    unsigned char *data = random_bytes(len);
    char *id = create(h), tmp[4096], tar[4200], got[4200], *url_put,
        *url_get;
    const char *cid = native_id(id);
    double *cw = xcalloc(rounds, sizeof *cw), *cr = xcalloc(rounds, sizeof *cr),
           *pw = xcalloc(rounds, sizeof *pw), *pr = xcalloc(rounds, sizeof *pr),
           *pww = xcalloc(rounds, sizeof *pww),
           *prw = xcalloc(rounds, sizeof *prw);
    csdk_error_t err;
    const char *t = getenv("TMPDIR");

    snprintf(tmp, sizeof tmp, "%s/csdk-bench-docker.XXXXXX",
             t && *t ? t : "/tmp");
    if (!mkdtemp(tmp))
        die("mkdtemp %s: %s", tmp, strerror(errno));
    snprintf(tar, sizeof tar, "%s/peer.tar", tmp);
    snprintf(got, sizeof got, "%s/got.tar", tmp);
    url_put = xasprintf("%s/containers/%s/archive?path=/tmp", base_url, cid);
    url_get = xasprintf("%s/containers/%s/archive?path=/tmp/peer.bin",
                        base_url, cid);
    if (mode == FILE_ALL) {
        /* The peer's tar, made before any timing. */
        char path[4300];
        char *tar_argv[] = {"tar", "-C", tmp, "-cf", tar, "peer.bin", NULL};
        snprintf(path, sizeof path, "%s/peer.bin", tmp);
        write_host_file(path, data, len);
        if (spawn_wait(tar_argv, NULL) != 0)
            die("tar -cf %s failed", tar);
        unlink(path);
        say("== files: %zu MiB of random bytes written then read, %zu "
            "rounds (median); peer: curl PUT/GET of the archive\n",
            mib, rounds);
    }
    if (mode == FILE_READ_ONLY &&
        csdk_write_file(h, id, "/tmp/csdk-bench.bin", data, len, NULL,
                        &err) != CSDK_OK)
        die("csdk_write_file: %s", err.message);
    for (size_t r = 0; r < rounds; r++) {
        char name[64];
        void *back = NULL;
        size_t back_len = 0;
        uint64_t t0;

        if (mode == FILE_READ_ONLY)
            snprintf(name, sizeof name, "/tmp/csdk-bench.bin");
        else
            snprintf(name, sizeof name, "/tmp/csdk-bench-%zu.bin", r);
        if (mode != FILE_READ_ONLY) {
            t0 = now_ns();
            if (csdk_write_file(h, id, name, data, len, NULL, &err) !=
                CSDK_OK)
                die("csdk_write_file %zu MiB: %s", mib, err.message);
            cw[r] = ms_since(t0);
        }
        if (mode == FILE_WRITE_ONLY) {
            (void)csdk_remove(h, id, name, NULL, &err);
            continue;
        }
        t0 = now_ns();
        if (csdk_read_file(h, id, name, NULL, &back, &back_len, &err) !=
            CSDK_OK)
            die("csdk_read_file %zu MiB: %s", mib, err.message);
        cr[r] = ms_since(t0);
        if (back_len != len || memcmp(back, data, len) != 0)
            die("csdk_read_file returned %zu bytes that differ from the %zu "
                "written", back_len, len);
        free(back);
        if (mode == FILE_READ_ONLY)
            continue;
        if (csdk_remove(h, id, name, NULL, &err) != CSDK_OK)
            die("csdk_remove: %s", err.message);

        /* The peer: the same API calls with curl. */
        {
            char *put[] = {(char *)curl_bin, "-sS", "--unix-socket",
                           (char *)sock, "-T", tar, "-H",
                           "Content-Type: application/x-tar", "-w", CURL_W,
                           url_put, NULL};
            char *get[] = {(char *)curl_bin, "-sS", "--unix-socket",
                           (char *)sock, "-o", got, "-w", CURL_W, url_get,
                           NULL};
            struct stat s;
            pw[r] = curl_transfer(put, "PUT archive", 200, &pww[r]);
            pr[r] = curl_transfer(get, "GET archive", 200, &prw[r]);
            if (stat(got, &s) != 0 || (size_t)s.st_size < len)
                die("curl GET archive: %s holds %lld bytes, not the %zu "
                    "written", got, (long long)s.st_size, len);
            unlink(got);
        }
    }
    if (mode == FILE_ALL) {
        double w = median_of(cw, rounds), rd = median_of(cr, rounds),
               w2 = median_of(pw, rounds), r2 = median_of(pr, rounds),
               w3 = median_of(pww, rounds), r3 = median_of(prw, rounds);
        printf("bench: test=file side=csdk bytes=%zu rounds=%zu write_ms=%.2f "
               "read_ms=%.2f write_mbs=%.0f read_mbs=%.0f\n",
               len, rounds, w, rd, mbs(len, w), mbs(len, rd));
        printf("bench: test=file side=curl-archive bytes=%zu rounds=%zu "
               "write_ms=%.2f read_ms=%.2f write_mbs=%.0f read_mbs=%.0f "
               "write_wall_ms=%.2f read_wall_ms=%.2f\n",
               len, rounds, w2, r2, mbs(len, w2), mbs(len, r2), w3, r3);
    } else {
        double *v = mode == FILE_WRITE_ONLY ? cw : cr;
        double m = median_of(v, rounds);
        printf("bench: loop=%s ms=%.2f mbs=%.0f rounds=%zu\n",
               mode == FILE_WRITE_ONLY ? "write" : "read", m, mbs(len, m),
               rounds);
    }
    (void)nftw(tmp, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    destroy(h, id);
    free(url_put);
    free(url_get);
    free(data);
    free(cw);
    free(cr);
    free(pw);
    free(pr);
    free(pww);
    free(prw);
}

/* ------------------------------------------------------------------ */
/* base64 through exec (ComputeSDK's docker provider's file methods)   */
/* ------------------------------------------------------------------ */

static char *b64_encode(const unsigned char *p, size_t n, size_t *out_len)
{
    static const char t[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t m = (n + 2) / 3 * 4, k = 0;
    char *o = malloc(m + 1);

    if (!o)
        die("out of memory");
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < n)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < n)
            v |= p[i + 2];
        o[k++] = t[(v >> 18) & 63];
        o[k++] = t[(v >> 12) & 63];
        o[k++] = i + 1 < n ? t[(v >> 6) & 63] : '=';
        o[k++] = i + 2 < n ? t[v & 63] : '=';
    }
    o[k] = '\0';
    *out_len = k;
    return o;
}

/* One run_command of a shell string.  Returns the csdk status; the result
 * in *res (cleared by the caller). */
static csdk_status_t run_shell(csdk_t *h, const char *id, const char *cmd,
                               csdk_result_t *res, csdk_error_t *err)
{
    csdk_run_opts_t ro = {.struct_size = sizeof ro, .shell = cmd};

    memset(res, 0, sizeof *res);
    return csdk_run_command(h, id, &ro, NULL, res, err);
}

/* The edge: the largest write whose command fits in one argument
 * (MAX_ARG_STRLEN, 32 pages: 131072 bytes with the NUL), found by trying
 * sizes around the limit, and the next size up. */
static void b64_edge(csdk_t *h, const char *id)
{
    const size_t arg_max = 131072;
    size_t lo = 0, hi = 0;
    long psz = sysconf(_SC_PAGESIZE);

    if (psz != 4096)
        return; /* the limit is 32 pages; only checked for 4 KiB pages */
    /* ComputeSDK's command is the base64 text plus a fixed frame around
     * it; step down a byte at a time from the size whose base64 alone
     * fills the argument. */
    for (size_t len = arg_max / 4 * 3; len > arg_max / 4 * 3 - 300; len--) {
        size_t b64_len;
        unsigned char *data = random_bytes(len);
        char *b64 = b64_encode(data, len, &b64_len);
        char *cmd = xasprintf("mkdir -p $(dirname \"/tmp/b64-edge.bin\") && "
                              "echo \"%s\" | base64 -d > "
                              "\"/tmp/b64-edge.bin\"", b64);
        csdk_result_t res;
        csdk_error_t err;
        int ok;

        free(data);
        free(b64);
        if (strlen(cmd) + 1 > arg_max) {
            hi = len;
            free(cmd);
            continue;
        }
        ok = run_shell(h, id, cmd, &res, &err) == CSDK_OK &&
             res.exit_code == 0;
        csdk_result_clear(&res);
        if (!ok)
            die("base64 write of %zu bytes (%zu-byte command, under the "
                "limit) failed", len, strlen(cmd));
        free(cmd);
        lo = len;
        break;
    }
    if (lo && hi) {
        /* hi is the smallest size found too long; check it fails. */
        unsigned char *data = random_bytes(hi);
        size_t b64_len;
        char *b64 = b64_encode(data, hi, &b64_len);
        char *cmd = xasprintf("mkdir -p $(dirname \"/tmp/b64-edge.bin\") && "
                              "echo \"%s\" | base64 -d > "
                              "\"/tmp/b64-edge.bin\"", b64);
        csdk_result_t res;
        csdk_error_t err;
        int failed = run_shell(h, id, cmd, &res, &err) != CSDK_OK ||
                     res.exit_code != 0;
        printf("bench: test=b64-edge side=csdk largest_ok_bytes=%zu "
               "smallest_failing_bytes=%zu failed=%d\n",
               lo, hi, failed);
        csdk_result_clear(&res);
        free(cmd);
        free(b64);
        free(data);
    }
}

static void test_b64(csdk_t *h, const size_t *kib, size_t nsizes,
                     size_t rounds)
{
    char *id = create(h);

    say("== base64 through exec (ComputeSDK's docker writeFile/readFile): "
        "sh -c 'mkdir -p $(dirname \"P\") && echo \"<base64>\" | base64 -d "
        "> \"P\"' then 'base64 \"P\" | tr -d \\n'; %zu rounds per size\n",
        rounds);
    for (size_t z = 0; z < nsizes; z++) {
        size_t len = kib[z] * KIB, b64_len;
        unsigned char *data = random_bytes(len);
        char *b64 = b64_encode(data, len, &b64_len);
        char path[64], *wcmd, *rcmd;
        double *w = xcalloc(rounds, sizeof *w), *r = xcalloc(rounds, sizeof *r);
        size_t ok = 0;
        const char *fail = NULL;
        char why[700] = "";

        snprintf(path, sizeof path, "/tmp/b64-%zu.bin", kib[z]);
        wcmd = xasprintf("mkdir -p $(dirname \"%s\") && echo \"%s\" | "
                         "base64 -d > \"%s\"", path, b64, path);
        rcmd = xasprintf("if [ -f \"%s\" ]; then base64 \"%s\" | tr -d "
                         "'\\n'; else exit 1; fi", path, path);
        for (size_t i = 0; i < rounds && !fail; i++) {
            csdk_result_t res;
            csdk_error_t err;
            csdk_status_t rc;
            uint64_t t0 = now_ns();

            rc = run_shell(h, id, wcmd, &res, &err);
            w[i] = ms_since(t0);
            if (rc != CSDK_OK) {
                fail = "call";
                snprintf(why, sizeof why, "%s: %s", csdk_status_name(rc),
                         err.message);
            } else if (res.exit_code != 0) {
                fail = "exit";
                snprintf(why, sizeof why, "exit %d: %s", res.exit_code,
                         excerpt(res.err ? res.err : "", res.err_len));
            }
            csdk_result_clear(&res);
            if (fail)
                break;
            t0 = now_ns();
            rc = run_shell(h, id, rcmd, &res, &err);
            r[i] = ms_since(t0);
            if (rc != CSDK_OK || res.exit_code != 0)
                die("base64 read of %zu KiB: %s (exit %d)", kib[z],
                    rc != CSDK_OK ? err.message : "", res.exit_code);
            if (res.out_len != b64_len || memcmp(res.out, b64, b64_len) != 0)
                die("base64 read of %zu KiB: %zu base64 characters that "
                    "differ from the %zu written", kib[z], res.out_len,
                    b64_len);
            csdk_result_clear(&res);
            ok++;
        }
        /* The quoted text of why goes last on the line. */
        for (char *p = why; *p; p++)
            if (*p == '\n' || *p == '\r')
                *p = ' ';
        if (ok)
            printf("bench: test=b64 side=csdk kib=%zu bytes=%zu "
                   "arg_bytes=%zu rounds=%zu ok=1 write_ms=%.2f read_ms=%.2f "
                   "write_mbs=%.2f read_mbs=%.2f\n",
                   kib[z], len, strlen(wcmd), ok, median_of(w, ok),
                   median_of(r, ok), mbs(len, median_of(w, ok)),
                   mbs(len, median_of(r, ok)));
        else
            printf("bench: test=b64 side=csdk kib=%zu bytes=%zu "
                   "arg_bytes=%zu ok=0 fail=%s write_ms=%.2f why=%s\n",
                   kib[z], len, strlen(wcmd), fail, w[0], why);
        fflush(stdout);
        {
            csdk_result_t res;
            csdk_error_t err;
            char *rm = xasprintf("rm -f \"%s\"", path);
            if (run_shell(h, id, rm, &res, &err) == CSDK_OK)
                csdk_result_clear(&res);
            free(rm);
        }
        free(w);
        free(r);
        free(wcmd);
        free(rcmd);
        free(b64);
        free(data);
    }
    b64_edge(h, id);
    destroy(h, id);
}

/* ------------------------------------------------------------------ */
/* One loop alone, for profilers                                       */
/* ------------------------------------------------------------------ */

/* For -x exec-split: when the output arrived. */
typedef struct split {
    uint64_t first_ns;
    size_t bytes;
} split_t;

static int32_t on_split_output(void *ud, int32_t stream, const void *data,
                               size_t len)
{
    split_t *s = ud;

    (void)stream;
    (void)data;
    if (!s->first_ns)
        s->first_ns = now_ns();
    s->bytes += len;
    return 0;
}

/* echo hi with its output streamed: how long until "hi" arrives (exec
 * create + start + the command), and how long the call goes on after it
 * (the wrapper finishing, the stream's end, the exit code). */
static void loop_exec_split(csdk_t *h, size_t n)
{
    char *id = create(h);
    double *before = xcalloc(n, sizeof *before),
           *after = xcalloc(n, sizeof *after), *all = xcalloc(n, sizeof *all);

    run(h, id, argv_echo, "hi\n");
    for (size_t i = 0; i < n; i++) {
        split_t sp = {0, 0};
        csdk_call_opts_t co = {.struct_size = sizeof co,
                               .on_output = on_split_output,
                               .output_ud = &sp};
        csdk_run_opts_t ro = {.struct_size = sizeof ro, .argv = argv_echo};
        csdk_result_t res;
        csdk_error_t err;
        uint64_t t0 = now_ns(), t1;

        if (csdk_run_command(h, id, &ro, &co, &res, &err) != CSDK_OK)
            die("run_command echo in %s: %s", id, err.message);
        t1 = now_ns();
        if (res.exit_code != 0 || sp.bytes != 3 || !sp.first_ns)
            die("echo hi (streamed) exited %d with %zu bytes of output",
                res.exit_code, sp.bytes);
        csdk_result_clear(&res);
        before[i] = (double)(sp.first_ns - t0) / 1e6;
        after[i] = (double)(t1 - sp.first_ns) / 1e6;
        all[i] = (double)(t1 - t0) / 1e6;
    }
    print_stats("exec-split", "csdk-call", all, n, NULL);
    print_stats("exec-split", "csdk-until-output", before, n, NULL);
    print_stats("exec-split", "csdk-after-output", after, n, NULL);
    destroy(h, id);
    free(before);
    free(after);
    free(all);
}

static void loop_only(csdk_t *h, const char *loop, size_t execs, size_t n,
                      size_t mib, size_t rounds)
{
    uint64_t t0;
    size_t count;

    if (strcmp(loop, "exec") == 0) {
        char *id = create(h);
        run(h, id, argv_echo, "hi\n");
        t0 = now_ns();
        for (size_t i = 0; i < execs; i++)
            run(h, id, argv_echo, "hi\n");
        printf("bench: loop=exec ms=%.3f n=%zu\n",
               ms_since(t0) / (double)execs, execs);
        destroy(h, id);
        return;
    }
    if (strcmp(loop, "exec-split") == 0) {
        loop_exec_split(h, execs);
        return;
    }
    if (strcmp(loop, "write") == 0 || strcmp(loop, "read") == 0) {
        test_file(h, mib, rounds,
                  loop[0] == 'w' ? FILE_WRITE_ONLY : FILE_READ_ONLY);
        return;
    }
    if (strcmp(loop, "tti") != 0 && strcmp(loop, "create") != 0)
        die("-x: no loop '%s' (exec, exec-split, tti, create, write, "
            "read)", loop);
    t0 = now_ns();
    for (count = 0; count < n; count++) {
        char *id = create(h);
        if (loop[0] == 't')
            run(h, id, argv_echo, "hi\n");
        destroy(h, id);
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

static size_t parse_sizes(const char *s, size_t *out, size_t max)
{
    size_t n = 0;
    char copy[512], *save = NULL, *w;

    snprintf(copy, sizeof copy, "%s", s);
    for (w = strtok_r(copy, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
        if (n == max)
            die("-b: at most %zu sizes", max);
        out[n++] = parse_count(w, "-b");
    }
    if (n == 0)
        die("-b: a comma-separated list of sizes in KiB");
    return n;
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

static void usage(const char *argv0)
{
    fprintf(stderr,
            "usage: %s -S SOCK [-a API] [-n EXECS] [-t TTI] [-s MIB] "
            "[-r ROUNDS] [-b KIB,...] [-o TESTS] [-x LOOP] [-I IMAGE] "
            "[-B BINDS] [-D DOCKER] [-C CURL] [-P PLUGIN_DIR] "
            "[-c KEY=VALUE]... [-v] [-q]\n",
            argv0);
    exit(2);
}

int main(int argc, char **argv)
{
    size_t execs = 100, tti = 30, mib = 64, rounds = 3, nsizes;
    size_t kib[MAX_SIZES];
    const char *only = NULL, *loop = NULL, *api_arg = getenv("ENGINE_API");
    csdk_t *h;

    sock = getenv("ENGINE_SOCK");
    nsizes = parse_sizes("1,64,96,128,1024", kib, MAX_SIZES);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-q") == 0) {
            quiet = 1;
        } else if (strcmp(a, "-v") == 0) {
            log_level = "debug";
        } else if (a[0] == '-' && a[1] && strchr("SantsrboxIBDCPc", a[1]) &&
                   !a[2] && i + 1 < argc) {
            const char *v = argv[++i];
            switch (a[1]) {
            case 'S': sock = v; break;
            case 'a': api_arg = v; break;
            case 'n': execs = parse_count(v, "-n"); break;
            case 't': tti = parse_count(v, "-t"); break;
            case 's': mib = parse_count(v, "-s"); break;
            case 'r': rounds = parse_count(v, "-r"); break;
            case 'b': nsizes = parse_sizes(v, kib, MAX_SIZES); break;
            case 'o': only = v; break;
            case 'x': loop = v; break;
            case 'I': image = v; break;
            case 'B': binds = v; break;
            case 'D': docker_cli = v; break;
            case 'C': curl_bin = v; break;
            case 'P': plugin_dir = v; break;
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
            usage(argv[0]);
        }
    }
    if (!sock || !*sock)
        die("no engine socket: pass -S SOCK or set ENGINE_SOCK (see "
            "bench/docker.sh, which starts an engine)");
    if (strlen(sock) > 4000)
        die("-S: the socket path is too long");
    snprintf(docker_host, sizeof docker_host, "unix://%s", sock);
    if (api_arg && *api_arg)
        snprintf(api, sizeof api, "%s%s", api_arg[0] == 'v' ? "" : "v",
                 api_arg);
    snprintf(base_url, sizeof base_url, "http://localhost/%s", api);

    h = open_host();
    say("csdk docker provider: %s; engine %s; image %s%s%s\n", plugin_dir,
        docker_host, image, *binds ? ", binds " : "", binds);
    if (loop) {
        loop_only(h, loop, execs, tti, mib, rounds);
    } else {
        if (wanted(only, "exec"))
            test_exec(h, execs);
        if (wanted(only, "tti"))
            test_tti(h, tti);
        if (wanted(only, "file"))
            test_file(h, mib, rounds, FILE_ALL);
        if (wanted(only, "b64"))
            test_b64(h, kib, nsizes, rounds);
    }
    fflush(stdout);
    csdk_close(h);
    return 0;
}
