/*
 * bench/dispatch.c - what libcsdk's dispatch path costs per call.
 *
 * The same plugin slot is timed two ways on one sandbox of the example
 * provider (an in-memory plugin whose run_command answers `true` with a
 * built-in, so no process is started and only host overhead is left):
 *
 *   host    through the public API (csdk_run_command, csdk_get): id
 *           routing, deadline, rate-limit check, the instance mutex,
 *           retry policy, metrics, result records and their conversion
 *           into the caller's structs;
 *   direct  the plugin's table called straight from here: dlopen the .so,
 *           csdk_provider_entry(), init with this file's own minimal
 *           csdk_host_t, then slot calls with a sink that buffers output
 *           in place.  This is what a plugin call costs with no host.
 *
 * The difference is the dispatch overhead.  Each side is warmed up, then
 * timed over several rounds of N calls (sides interleaved round by round,
 * so drift on a noisy machine hits both alike); the median round is
 * reported.  A third host variant runs run_command on an instance with
 * `rate_limit = 1000000000/s`, a limit never reached, to show what the
 * token bucket costs.
 *
 * Usage: dispatch [-n CALLS] [-r ROUNDS] [-w WARMUP] [-p PLUGIN.so] [-q]
 *                 [-x LOOP]
 *   -n  calls per round and side (default 1e6; "1e5" style accepted)
 *   -r  rounds (default 5)
 *   -w  warm-up calls per side (default CALLS/10)
 *   -p  the example plugin (default: the one in this build tree)
 *   -q  print only the machine-readable "bench:" lines
 *   -x  run only one loop and print its time, for profilers: run-host,
 *       run-direct, get-host, get-direct or run-host-rl
 *
 * It prints figures and exits 0 whatever they are; it exits non-zero only
 * when a call fails (a broken build, not a slow one).
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include <csdk/csdk.h>
#include <csdk/provider.h>

#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef BENCH_DEFAULT_PLUGIN
#define BENCH_DEFAULT_PLUGIN "plugins/example/.libs/example.so"
#endif

#define MAX_ROUNDS 101

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void die(const char *fmt, ...) CSDK_PRINTF(1, 2);
static void die(const char *fmt, ...)
{
    va_list ap;
    fputs("dispatch: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(1);
}

/* ------------------------------------------------------------------ */
/* The bench's own host: the least a csdk_host_t can be                */
/* ------------------------------------------------------------------ */

/*
 * csdk_call_t is opaque to plugins, so this program may define it: a flat
 * struct with fixed buffers, reset by clearing a few counters.  Strings a
 * plugin reports are copied (they are borrowed only for the upcall) into
 * fixed slots; output is appended into fixed buffers.  No allocation, no
 * clock, no lock: the floor under any host.
 */
#define SINK_FIELDS 32
#define SINK_STR 64
#define SINK_OUT 4096

struct csdk_call {
    csdk_status_t code;
    uint32_t int_set, str_set;
    uint64_t retry_after_ms;
    int64_t ints[SINK_FIELDS];
    char strs[SINK_FIELDS][SINK_STR];
    size_t out_len[3];
    char out[3][SINK_OUT];
    uint32_t n_records, n_meta;
    char msg[256];
};

struct csdk_instance {
    const char *name;
};

static void sink_reset(csdk_call_t *c)
{
    c->code = CSDK_OK;
    c->int_set = c->str_set = 0;
    c->retry_after_ms = 0;
    c->out_len[0] = c->out_len[1] = c->out_len[2] = 0;
    c->n_records = c->n_meta = 0;
    c->msg[0] = '\0';
}

static csdk_status_t up_error(csdk_call_t *c, csdk_status_t code,
                              const char *fmt, ...) CSDK_PRINTF(3, 4);
static csdk_status_t up_error(csdk_call_t *c, csdk_status_t code,
                              const char *fmt, ...)
{
    va_list ap;
    c->code = code;
    va_start(ap, fmt);
    vsnprintf(c->msg, sizeof c->msg, fmt, ap);
    va_end(ap);
    return code;
}

static void up_retry_after(csdk_call_t *c, uint64_t ms)
{
    c->retry_after_ms = ms;
}

static int32_t up_write(csdk_call_t *c, int32_t stream, const void *data,
                        size_t len)
{
    size_t room;
    if (stream < 0 || stream > 2)
        return 1;
    room = SINK_OUT - c->out_len[stream];
    if (len > room)
        len = room; /* a benchmark's commands print a few bytes */
    memcpy(c->out[stream] + c->out_len[stream], data, len);
    c->out_len[stream] += len;
    return 0;
}

static int32_t up_set_int(csdk_call_t *c, uint32_t field, int64_t value)
{
    if (field < SINK_FIELDS) {
        c->ints[field] = value;
        c->int_set |= 1u << field;
    }
    return 0;
}

static int32_t up_set_str(csdk_call_t *c, uint32_t field, const char *value)
{
    if (field < SINK_FIELDS) {
        size_t n = value ? strlen(value) : 0;
        if (n >= SINK_STR)
            n = SINK_STR - 1;
        memcpy(c->strs[field], value ? value : "", n);
        c->strs[field][n] = '\0';
        c->str_set |= 1u << field;
    }
    return 0;
}

static int32_t up_set_meta(csdk_call_t *c, const char *key, const char *value)
{
    (void)key;
    (void)value;
    c->n_meta++;
    return 0;
}

static int32_t up_next_record(csdk_call_t *c)
{
    c->n_records++;
    return 0;
}

static uint64_t up_remaining_ms(csdk_call_t *c)
{
    (void)c;
    return UINT64_MAX;
}

static int32_t up_cancelled(csdk_call_t *c)
{
    (void)c;
    return 0;
}

static void up_log(csdk_instance_t *inst, int32_t level, const char *fmt, ...)
    CSDK_PRINTF(3, 4);
static void up_log(csdk_instance_t *inst, int32_t level, const char *fmt, ...)
{
    va_list ap;
    if (level > CSDK_LOG_WARN)
        return;
    fprintf(stderr, "dispatch: %s: ", inst ? inst->name : "?");
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static uint64_t up_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t up_monotonic_ms(void) { return now_ns() / 1000000u; }

static const csdk_host_t bench_host = {
    .abi_version = CSDK_ABI_VERSION,
    .struct_size = sizeof(csdk_host_t),
    .error = up_error,
    .retry_after = up_retry_after,
    .write = up_write,
    .set_int = up_set_int,
    .set_str = up_set_str,
    .set_meta = up_set_meta,
    .next_record = up_next_record,
    .remaining_ms = up_remaining_ms,
    .cancelled = up_cancelled,
    .log = up_log,
    .now_ms = up_now_ms,
    .monotonic_ms = up_monotonic_ms,
};

/* One plugin loaded and initialised by hand. */
typedef struct direct {
    void *dl;
    const csdk_provider_def_t *def;
    void *state;
    struct csdk_instance inst;
    char id[SINK_STR]; /* the sandbox made for the benchmark */
} direct_t;

static void direct_open(direct_t *d, const char *path)
{
    csdk_provider_entry_fn *entry;
    csdk_create_opts_t copts = {.struct_size = sizeof copts};
    static csdk_call_t call;
    csdk_status_t rc;

    memset(d, 0, sizeof *d);
    d->inst.name = "direct";
    d->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!d->dl)
        die("cannot load %s: %s (build it with 'make', or pass -p)", path,
            dlerror());
    *(void **)&entry = dlsym(d->dl, CSDK_PROVIDER_ENTRY);
    if (!entry)
        die("%s has no %s", path, CSDK_PROVIDER_ENTRY);
    d->def = entry(CSDK_ABI_VERSION);
    if (!d->def || CSDK_ABI_VERSION_MAJOR(d->def->abi_version) !=
                       CSDK_ABI_MAJOR ||
        d->def->struct_size < sizeof *d->def)
        die("%s: unexpected provider table", path);
    sink_reset(&call);
    rc = d->def->init(&bench_host, &d->inst, "direct", NULL, 0, &call,
                      &d->state);
    if (rc != CSDK_OK)
        die("direct init: %s: %s", csdk_status_name(rc), call.msg);
    sink_reset(&call);
    rc = d->def->create(d->state, &call, &copts);
    if (rc != CSDK_OK || !(call.str_set & (1u << CSDK_F_ID)))
        die("direct create: %s: %s", csdk_status_name(rc), call.msg);
    memcpy(d->id, call.strs[CSDK_F_ID], sizeof d->id);
}

static void direct_close(direct_t *d)
{
    d->def->fini(d->state);
    dlclose(d->dl);
}

/* ------------------------------------------------------------------ */
/* The workloads                                                       */
/* ------------------------------------------------------------------ */

static const char *const argv_true[] = {"true", NULL};
static const csdk_run_opts_t run_true = {
    .struct_size = sizeof(csdk_run_opts_t),
    .argv = argv_true,
};

typedef struct ctx {
    csdk_t *h;          /* the host, default policy */
    csdk_t *h_rl;       /* the host, rate_limit = 1e9/s */
    char *id, *id_rl;   /* "example:ex-1" on each */
    direct_t d;
    csdk_call_t call;   /* the direct side's sink */
} ctx_t;

typedef uint64_t loop_fn(ctx_t *c, uint64_t n); /* returns failures */

static uint64_t host_run_loop(csdk_t *h, const char *id, uint64_t n)
{
    uint64_t bad = 0;
    csdk_result_t res;
    csdk_error_t err;
    for (uint64_t i = 0; i < n; i++) {
        if (csdk_run_command(h, id, &run_true, NULL, &res, &err) != CSDK_OK ||
            res.exit_code != 0)
            bad++;
        csdk_result_clear(&res);
    }
    return bad;
}

static uint64_t loop_host_run(ctx_t *c, uint64_t n)
{
    return host_run_loop(c->h, c->id, n);
}

static uint64_t loop_host_run_rl(ctx_t *c, uint64_t n)
{
    return host_run_loop(c->h_rl, c->id_rl, n);
}

static uint64_t loop_direct_run(ctx_t *c, uint64_t n)
{
    uint64_t bad = 0;
    const csdk_provider_def_t *def = c->d.def;
    for (uint64_t i = 0; i < n; i++) {
        sink_reset(&c->call);
        if (def->run_command(c->d.state, &c->call, c->d.id, &run_true) !=
                CSDK_OK ||
            c->call.ints[CSDK_F_EXIT_CODE] != 0)
            bad++;
    }
    return bad;
}

static uint64_t loop_host_get(ctx_t *c, uint64_t n)
{
    uint64_t bad = 0;
    csdk_sandbox_t sb;
    csdk_error_t err;
    for (uint64_t i = 0; i < n; i++) {
        if (csdk_get(c->h, c->id, NULL, &sb, &err) != CSDK_OK || !sb.id)
            bad++;
        csdk_sandbox_clear(&sb);
    }
    return bad;
}

static uint64_t loop_direct_get(ctx_t *c, uint64_t n)
{
    uint64_t bad = 0;
    const csdk_provider_def_t *def = c->d.def;
    for (uint64_t i = 0; i < n; i++) {
        sink_reset(&c->call);
        if (def->get(c->d.state, &c->call, c->d.id) != CSDK_OK ||
            !(c->call.str_set & (1u << CSDK_F_ID)))
            bad++;
    }
    return bad;
}

/* ------------------------------------------------------------------ */
/* Measuring                                                           */
/* ------------------------------------------------------------------ */

typedef struct series {
    const char *key, *method, *side;
    loop_fn *fn;
    double ns[MAX_ROUNDS]; /* ns per call, per round */
    double median, lo, hi;
} series_t;

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void summarise(series_t *s, int rounds)
{
    double v[MAX_ROUNDS];
    memcpy(v, s->ns, (size_t)rounds * sizeof *v);
    qsort(v, (size_t)rounds, sizeof *v, cmp_double);
    s->lo = v[0];
    s->hi = v[rounds - 1];
    s->median = rounds % 2 ? v[rounds / 2]
                           : (v[rounds / 2 - 1] + v[rounds / 2]) / 2;
}

static void run_round(ctx_t *c, series_t *s, int round, uint64_t n)
{
    uint64_t t0 = now_ns(), bad = s->fn(c, n), t1 = now_ns();
    if (bad)
        die("%s %s: %llu of %llu calls failed", s->method, s->side,
            (unsigned long long)bad, (unsigned long long)n);
    s->ns[round] = (double)(t1 - t0) / (double)n;
}

static uint64_t parse_count(const char *s, const char *what)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(s, &end);
    if (end == s || *end || errno || !(v >= 1) || v > 1e12)
        die("%s: '%s' is not a count (e.g. 1000000 or 1e6)", what, s);
    return (uint64_t)v;
}

static char *open_host(csdk_t **h, const char *plugin, const char *extra)
{
    char ini[4096];
    csdk_error_t err;
    csdk_sandbox_t sb;
    csdk_provider_info_t info;
    char *id;

    snprintf(ini, sizeof ini,
             "[host]\n"
             "log_level = warn\n"
             "default_provider = example\n"
             "[provider.example]\n"
             "plugin = %s\n"
             "%s",
             plugin, extra);
    if (csdk_open_string(ini, "(bench)", NULL, h, &err) != CSDK_OK)
        die("csdk_open_string: %s", err.message);
    if (csdk_provider_get(*h, 0, &info) != CSDK_OK || !info.loaded)
        die("the example provider did not load: %s",
            info.error ? info.error : "?");
    if (csdk_create(*h, "example", NULL, NULL, &sb, &err) != CSDK_OK)
        die("csdk_create: %s", err.message);
    id = sb.id;
    sb.id = NULL;
    csdk_sandbox_clear(&sb);
    return id;
}

/* Both sides must run the same command: check with echo's output. */
static void check_sides(ctx_t *c)
{
    static const char *const argv_echo[] = {"echo", "hi", NULL};
    csdk_run_opts_t ro = {.struct_size = sizeof ro, .argv = argv_echo};
    csdk_result_t res;
    csdk_error_t err;

    if (csdk_run_command(c->h, c->id, &ro, NULL, &res, &err) != CSDK_OK)
        die("csdk_run_command: %s", err.message);
    if (res.out_len != 3 || memcmp(res.out, "hi\n", 3) != 0)
        die("host side: echo hi printed %zu bytes", res.out_len);
    csdk_result_clear(&res);
    sink_reset(&c->call);
    if (c->d.def->run_command(c->d.state, &c->call, c->d.id, &ro) != CSDK_OK)
        die("direct run_command: %s", c->call.msg);
    if (c->call.out_len[CSDK_STREAM_STDOUT] != 3 ||
        memcmp(c->call.out[CSDK_STREAM_STDOUT], "hi\n", 3) != 0)
        die("direct side: echo hi printed %zu bytes",
            c->call.out_len[CSDK_STREAM_STDOUT]);
}

static void print_rate(double ns)
{
    printf("%10.2f M/s", 1e3 / ns);
}

int main(int argc, char **argv)
{
    uint64_t n = 1000000, warm = 0;
    int rounds = 5, quiet = 0;
    const char *plugin = getenv("CSDK_BENCH_PLUGIN"), *only = NULL;
    static ctx_t c;
    series_t s[] = {
        {"run-host", "run_command", "host", loop_host_run, {0}, 0, 0, 0},
        {"run-direct", "run_command", "direct", loop_direct_run, {0}, 0, 0,
         0},
        {"get-host", "get", "host", loop_host_get, {0}, 0, 0, 0},
        {"get-direct", "get", "direct", loop_direct_get, {0}, 0, 0, 0},
        {"run-host-rl", "run_command", "host+rate_limit", loop_host_run_rl,
         {0}, 0, 0, 0},
    };
    const size_t ns = sizeof s / sizeof *s;

    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-q") == 0)
            quiet = 1;
        else if ((strcmp(a, "-n") == 0 || strcmp(a, "-r") == 0 ||
                  strcmp(a, "-w") == 0 || strcmp(a, "-p") == 0 ||
                  strcmp(a, "-x") == 0) &&
                 i + 1 < argc) {
            const char *v = argv[++i];
            if (a[1] == 'x')
                only = v;
            else if (a[1] == 'n')
                n = parse_count(v, "-n");
            else if (a[1] == 'w')
                warm = parse_count(v, "-w");
            else if (a[1] == 'p')
                plugin = v;
            else if ((rounds = (int)parse_count(v, "-r")) > MAX_ROUNDS)
                die("-r: at most %d rounds", MAX_ROUNDS);
        } else if (a[0] >= '0' && a[0] <= '9') {
            n = parse_count(a, "CALLS");
        } else {
            fprintf(stderr,
                    "usage: %s [-n CALLS] [-r ROUNDS] [-w WARMUP] "
                    "[-p PLUGIN.so] [-q] [-x LOOP]\n",
                    argv[0]);
            return 2;
        }
    }
    if (!plugin || !*plugin)
        plugin = BENCH_DEFAULT_PLUGIN;
    if (!warm)
        warm = n / 10 ? n / 10 : 1;

    c.id = open_host(&c.h, plugin, "");
    c.id_rl = open_host(&c.h_rl, plugin, "rate_limit = 1000000000/s\n");
    direct_open(&c.d, plugin);
    check_sides(&c);

    if (only) { /* one loop, for perf/callgrind: no warm-up, no rounds */
        for (size_t k = 0; k < ns; k++) {
            if (strcmp(s[k].key, only) == 0) {
                run_round(&c, &s[k], 0, n);
                printf("bench: loop=%s ns=%.1f n=%llu\n", only, s[k].ns[0],
                       (unsigned long long)n);
                return 0;
            }
        }
        die("-x: no loop '%s' (run-host, run-direct, get-host, get-direct, "
            "run-host-rl)", only);
    }
    for (size_t k = 0; k < ns; k++)
        (void)s[k].fn(&c, warm);
    for (int r = 0; r < rounds; r++)
        for (size_t k = 0; k < ns; k++)
            run_round(&c, &s[k], r, n);
    for (size_t k = 0; k < ns; k++)
        summarise(&s[k], rounds);

    if (!quiet) {
        printf("csdk dispatch: %s\n", plugin);
        printf("%llu calls x %d rounds per side (median round), "
               "%llu warm-up calls\n\n",
               (unsigned long long)n, rounds, (unsigned long long)warm);
        printf("%-12s %-16s %10s %13s   %s\n", "method", "side", "ns/call",
               "calls/s", "spread (min..max ns)");
        for (size_t k = 0; k < ns; k++) {
            printf("%-12s %-16s %10.1f ", s[k].method, s[k].side,
                   s[k].median);
            print_rate(s[k].median);
            printf("   %.1f..%.1f\n", s[k].lo, s[k].hi);
        }
        printf("\n");
        printf("run_command dispatch overhead: %6.1f ns/call "
               "(host - direct; target <= 100 ns)\n",
               s[0].median - s[1].median);
        printf("get         dispatch overhead: %6.1f ns/call "
               "(idempotent: retry policy on)\n",
               s[2].median - s[3].median);
        printf("token bucket (rate_limit set): %+6.1f ns/call\n\n",
               s[4].median - s[0].median);
    }
    /* One line per method for scripts: key=value, ns per call. */
    printf("bench: method=run_command host_ns=%.1f direct_ns=%.1f "
           "overhead_ns=%.1f host_cps=%.0f direct_cps=%.0f "
           "ratelimit_ns=%.1f n=%llu rounds=%d\n",
           s[0].median, s[1].median, s[0].median - s[1].median,
           1e9 / s[0].median, 1e9 / s[1].median, s[4].median,
           (unsigned long long)n, rounds);
    printf("bench: method=get host_ns=%.1f direct_ns=%.1f overhead_ns=%.1f "
           "host_cps=%.0f direct_cps=%.0f n=%llu rounds=%d\n",
           s[2].median, s[3].median, s[2].median - s[3].median,
           1e9 / s[2].median, 1e9 / s[3].median, (unsigned long long)n,
           rounds);

    direct_close(&c.d);
    csdk_close(c.h);
    csdk_close(c.h_rl);
    free(c.id);
    free(c.id_rl);
    return 0;
}
