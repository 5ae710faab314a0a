/*
 * conformance.c - one suite that holds every csdk provider to the same bar.
 *
 *     conformance --config FILE --provider NAME [--only PATTERN] [--list]
 *
 * It opens a host from FILE, finds the provider instance NAME, reads its
 * capability bits and runs every case against it through the public API
 * (csdk/csdk.h) only, printing TAP on standard output:
 *
 *     ok 3 - sandbox.list
 *     ok 41 - fs.readdir # SKIP provider lacks readdir
 *     not ok 7 - cmd.unknown_command: argv: exit 0, expected 127 ...
 *
 * A case whose method the provider does not implement is skipped, and the
 * decision is taken from the capability bits alone, never from the
 * provider's name.  The required slots (run_command, run_code, ...) are
 * always there, so a provider that cannot run real commands or real
 * interpreters fails those cases: that is what the suite is for.
 *
 * Exit status: 0 when no case failed, 1 when one did (or the run was
 * interrupted or a call never returned), 2 on a usage or setup error (bad
 * arguments, the config does not open, no such provider, the provider did
 * not load).  README.md in this directory lists the cases.
 *
 * Most cases share one sandbox, created by the first case that needs it;
 * cases that need a fresh one make their own.  Every sandbox the run makes
 * is recorded and destroyed by the last test point ("cleanup"), whatever
 * happened before; each is also created with a lifetime
 * (CONF_SANDBOX_LIFETIME_MS) so that a provider's own reaper removes it if
 * the process dies first.  A watchdog thread ends the run with "Bail out!"
 * if one case runs far past its time limit (a call that never returns),
 * after destroying the run's sandboxes from a helper process.
 *
 * Helper processes are this program again, `conformance --child ...`: each
 * opens a host of its own from the same configuration, which is how the
 * cases that span processes (sandbox.persistence, named.race) work.
 */
#include <csdk/csdk.h>

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#if defined(__GNUC__) || defined(__clang__)
#define CONF_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CONF_PRINTF(a, b)
#endif

#define CONF_NAMESPACE "csdk-conformance"
/* Every sandbox the suite makes asks for this lifetime, so a provider
 * reaps what a crashed run leaves behind. */
#define CONF_SANDBOX_LIFETIME_MS 900000u
/* The whole-call deadline given to run_command/run_code when a case does
 * not choose one: a command that hangs becomes a TIMEOUT, not a hung run. */
#define CONF_RUN_DEADLINE_MS 60000u
/* Per-case wall-clock limit enforced by the watchdog (seconds). */
#ifndef CONF_CASE_LIMIT_S
#define CONF_CASE_LIMIT_S 150u
#endif
/* Where file cases put their files, relative to the sandbox's working
 * directory (the directory commands start in). */
#define CONF_DIR "csdk-conf"

#define MIB ((size_t)1 << 20)

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static int64_t wall_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000u,
                          .tv_nsec = (long)(ms % 1000u) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* ------------------------------------------------------------------ */
/* Suite and case state                                                */
/* ------------------------------------------------------------------ */

typedef struct suite {
    csdk_t *h;
    const char *config;   /* for the helper processes */
    const char *provider; /* the instance under test */
    uint64_t caps;        /* its CSDK_CAP() bits */
    char tag[48];         /* unique per run: names of named sandboxes */

    char *shared_id;      /* the sandbox most cases run in */
    int shared_tried;
    char shared_error[CSDK_ERROR_MAX + 64];

    char *named_id;       /* made by find_or_create (named.*) */
    char named_name[96];

    char **made;          /* every sandbox id this run created */
    size_t n_made;
} suite_t;

/* Resources a case owns; released when the case ends, pass or fail, so an
 * early return on a failed check leaks nothing (the suite runs under
 * AddressSanitizer too). */
#define OWN_PTR 0     /* free() */
#define OWN_RESULT 1  /* csdk_result_clear + free */
#define OWN_SANDBOX 2 /* csdk_sandbox_clear + free */
#define OWN_LIST 3    /* csdk_sandbox_list_free(p, n) */
#define OWN_DIRENTS 4 /* csdk_dirents_free(p, n) */
#define OWN_UNLINK 5  /* remove(p) + free: a file on this machine */

typedef struct owned {
    int kind;
    void *p;
    size_t n;
} owned_t;

typedef struct tcase {
    suite_t *s;
    const char *name;
    int failed;
    char reason[2048];
    owned_t *owned;
    size_t n_owned;
} tcase_t;

typedef struct case_def {
    const char *name;
    uint64_t needs;         /* CSDK_CAP() bits the case needs */
    void (*fn)(tcase_t *t);
    unsigned limit_s;       /* 0 = CONF_CASE_LIMIT_S */
    const char *what;       /* one line for --list */
} case_def_t;

/* This program, for helper processes: argv[0] when it is a path (under
 * valgrind /proc/self/exe would be valgrind), else /proc/self/exe. */
static const char *g_self = "/proc/self/exe";
static volatile sig_atomic_t g_interrupted;
static volatile sig_atomic_t g_sigpipes;

static void on_signal(int sig)
{
    if (sig == SIGPIPE)
        g_sigpipes++;
    else
        g_interrupted = 1;
}

/* Abort on allocation failure: the suite tests providers, not malloc. */
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (p == NULL) {
        fprintf(stdout, "Bail out! out of memory\n");
        exit(2);
    }
    return p;
}

static void *xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (p == NULL) {
        fprintf(stdout, "Bail out! out of memory\n");
        exit(2);
    }
    return p;
}

static char *xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;

    return memcpy(xmalloc(n), s, n);
}

static void *own(tcase_t *t, int kind, void *p, size_t n)
{
    owned_t *grown = realloc(t->owned, (t->n_owned + 1) * sizeof *grown);

    if (grown == NULL) {
        fprintf(stdout, "Bail out! out of memory\n");
        exit(2);
    }
    t->owned = grown;
    t->owned[t->n_owned++] = (owned_t){kind, p, n};
    return p;
}

static void release_all(tcase_t *t)
{
    while (t->n_owned > 0) {
        owned_t *o = &t->owned[--t->n_owned];

        switch (o->kind) {
        case OWN_RESULT:
            csdk_result_clear(o->p);
            break;
        case OWN_SANDBOX:
            csdk_sandbox_clear(o->p);
            break;
        case OWN_LIST:
            csdk_sandbox_list_free(o->p, o->n);
            continue; /* the list itself is freed by the call */
        case OWN_DIRENTS:
            csdk_dirents_free(o->p, o->n);
            continue;
        case OWN_UNLINK:
            remove(o->p);
            break;
        default:
            break;
        }
        free(o->p);
    }
    free(t->owned);
    t->owned = NULL;
}

static void *t_alloc(tcase_t *t, size_t n)
{
    return own(t, OWN_PTR, xcalloc(1, n), 0);
}

static csdk_result_t *new_result(tcase_t *t)
{
    return own(t, OWN_RESULT, xcalloc(1, sizeof(csdk_result_t)), 0);
}

static csdk_sandbox_t *new_sandbox(tcase_t *t)
{
    return own(t, OWN_SANDBOX, xcalloc(1, sizeof(csdk_sandbox_t)), 0);
}

/* ------------------------------------------------------------------ */
/* Failure messages                                                    */
/* ------------------------------------------------------------------ */

/* Record the case's first failure.  The message becomes the rest of the
 * "not ok" line, so it is kept on one line. */
static void failf(tcase_t *t, const char *fmt, ...) CONF_PRINTF(2, 3);

static void failf(tcase_t *t, const char *fmt, ...)
{
    va_list ap;

    if (t->failed)
        return;
    t->failed = 1;
    va_start(ap, fmt);
    vsnprintf(t->reason, sizeof t->reason, fmt, ap);
    va_end(ap);
    for (char *p = t->reason; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
}

/* A quoted, escaped, shortened rendering of bytes for messages.  Returns
 * one of a few rotating buffers of the calling thread. */
static const char *show(const void *data, size_t len)
{
    static _Thread_local char ring[8][420];
    static _Thread_local unsigned next;
    char *buf = ring[next++ % 8];
    const unsigned char *p = data;
    size_t o = 0, limit = 96, i;

    if (data == NULL)
        return "(null)";
    buf[o++] = '"';
    for (i = 0; i < len && i < limit; i++) {
        unsigned char c = p[i];

        if (c == '\n')
            o += (size_t)sprintf(buf + o, "\\n");
        else if (c == '\t')
            o += (size_t)sprintf(buf + o, "\\t");
        else if (c == '"' || c == '\\')
            o += (size_t)sprintf(buf + o, "\\%c", c);
        else if (c < 0x20 || c >= 0x7f)
            o += (size_t)sprintf(buf + o, "\\x%02x", c);
        else
            buf[o++] = (char)c;
    }
    buf[o++] = '"';
    buf[o] = '\0';
    if (i < len)
        sprintf(buf + o, "...(%zu bytes)", len);
    return buf;
}

static const char *show_str(const char *s)
{
    return s ? show(s, strlen(s)) : "(null)";
}

static const char *flag_names(uint32_t f)
{
    static _Thread_local char ring[4][64];
    static _Thread_local unsigned next;
    char *buf = ring[next++ % 4];

    buf[0] = '\0';
    if (f & CSDK_RESULT_TIMED_OUT)
        strcat(buf, "|timed_out");
    if (f & CSDK_RESULT_TRUNCATED)
        strcat(buf, "|truncated");
    if (f & CSDK_RESULT_SYNTAX)
        strcat(buf, "|syntax");
    if (f & ~(CSDK_RESULT_TIMED_OUT | CSDK_RESULT_TRUNCATED |
              CSDK_RESULT_SYNTAX))
        sprintf(buf + strlen(buf), "|0x%x", f);
    return buf[0] ? buf + 1 : "none";
}

/* "exit 1, flags none, stdout "...", stderr "..."" */
static const char *describe(const csdk_result_t *r)
{
    static _Thread_local char ring[4][1100];
    static _Thread_local unsigned next;
    char *buf = ring[next++ % 4];

    snprintf(buf, sizeof ring[0], "exit %" PRId32 ", flags %s, stdout %s, "
             "stderr %s", r->exit_code, flag_names(r->flags),
             show(r->out, r->out_len), show(r->err, r->err_len));
    return buf;
}

/* Status and message of a failed call. */
static const char *status_text(csdk_status_t rc, const csdk_error_t *e)
{
    static _Thread_local char ring[4][CSDK_ERROR_MAX + 64];
    static _Thread_local unsigned next;
    char *buf = ring[next++ % 4];

    if (rc == CSDK_OK)
        return "OK";
    snprintf(buf, sizeof ring[0], "%s (%s)", csdk_status_name(rc),
             e && e->message[0] ? e->message : "no message");
    return buf;
}

#define CHECK(t, cond, ...)                                               \
    do {                                                                  \
        if (!(cond)) {                                                    \
            failf((t), __VA_ARGS__);                                      \
            return;                                                       \
        }                                                                 \
    } while (0)

/* Fail the case unless `rc` is `want`. */
#define CHECK_STATUS(t, rc, want, e, what)                                \
    CHECK(t, (rc) == (want), "%s: got %s, expected %s", (what),           \
          status_text((rc), (e)), csdk_status_name(want))

#define TRY(x)                                                            \
    do {                                                                  \
        if ((x) != 0)                                                     \
            return;                                                       \
    } while (0)

static int has_caps(const suite_t *s, uint64_t bits)
{
    return (s->caps & bits) == bits;
}

/* ------------------------------------------------------------------ */
/* Sandboxes                                                           */
/* ------------------------------------------------------------------ */

static void remember(suite_t *s, const char *id)
{
    char **grown;

    for (size_t i = 0; i < s->n_made; i++)
        if (strcmp(s->made[i], id) == 0)
            return;
    grown = realloc(s->made, (s->n_made + 1) * sizeof *grown);
    if (grown == NULL) {
        fprintf(stdout, "Bail out! out of memory\n");
        exit(2);
    }
    s->made = grown;
    s->made[s->n_made++] = xstrdup(id);
}

static csdk_create_opts_t create_opts(void)
{
    csdk_create_opts_t o;

    memset(&o, 0, sizeof o);
    o.struct_size = (uint32_t)sizeof o;
    o.timeout_ms = CONF_SANDBOX_LIFETIME_MS;
    return o;
}

/* Create a sandbox of the provider under test and remember it for the
 * final cleanup.  `out` is owned by the case. */
static csdk_status_t make_sandbox(tcase_t *t, const csdk_create_opts_t *o,
                                  csdk_sandbox_t *out, csdk_error_t *e)
{
    csdk_create_opts_t def = create_opts();
    csdk_status_t rc = csdk_create(t->s->h, t->s->provider, o ? o : &def,
                                   NULL, out, e);

    if (rc == CSDK_OK && out->id != NULL)
        remember(t->s, out->id);
    return rc;
}

/* The sandbox most cases share, created on first use.  NULL (and the case
 * failed) when it could not be made. */
static const char *shared(tcase_t *t)
{
    suite_t *s = t->s;

    if (!s->shared_tried) {
        csdk_sandbox_t *sb = new_sandbox(t);
        csdk_error_t e;
        csdk_status_t rc;

        memset(&e, 0, sizeof e);
        s->shared_tried = 1;
        rc = make_sandbox(t, NULL, sb, &e);
        if (rc != CSDK_OK)
            snprintf(s->shared_error, sizeof s->shared_error, "create: %s",
                     status_text(rc, &e));
        else if (sb->id == NULL || sb->id[0] == '\0')
            snprintf(s->shared_error, sizeof s->shared_error,
                     "create returned OK without an id");
        else
            s->shared_id = xstrdup(sb->id);
    }
    if (s->shared_id == NULL)
        failf(t, "no sandbox to test in: %s", s->shared_error);
    return s->shared_id;
}

#define NEED_SANDBOX(t, var)                                              \
    const char *var = shared(t);                                          \
    if ((var) == NULL)                                                    \
    return

/* An id of this provider that names no sandbox: the shared sandbox's id
 * with its last (up to four) alphanumeric characters set to '0' (or '1'
 * when they already were), so the provider sees a well-formed id. */
static char *unknown_id(const char *id)
{
    char *u = xstrdup(id);
    size_t n = strlen(u), changed = 0;
    int same = 1;

    for (size_t i = n; i > 0 && changed < 4; i--) {
        char c = u[i - 1];

        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
              (c >= 'A' && c <= 'Z')))
            break;
        if (c != '0')
            same = 0;
        u[i - 1] = '0';
        changed++;
    }
    if (same && changed > 0)
        u[n - 1] = '1';
    return u;
}

static int list_has(const csdk_sandbox_t *sbs, size_t n, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (sbs[i].id && strcmp(sbs[i].id, id) == 0)
            return 1;
    return 0;
}

/* List the provider's sandboxes into case-owned memory.  -1 (and the case
 * failed) when list fails. */
static int list_sandboxes(tcase_t *t, csdk_sandbox_t **sbs, size_t *n)
{
    csdk_error_t e;
    csdk_status_t rc;

    memset(&e, 0, sizeof e);
    *sbs = NULL;
    *n = 0;
    rc = csdk_list(t->s->h, t->s->provider, NULL, sbs, n, &e);
    own(t, OWN_LIST, *sbs, *n);
    if (rc != CSDK_OK) {
        failf(t, "list: %s", status_text(rc, &e));
        return -1;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Running commands                                                    */
/* ------------------------------------------------------------------ */

static csdk_run_opts_t ro_shell(const char *cmd)
{
    csdk_run_opts_t o;

    memset(&o, 0, sizeof o);
    o.struct_size = (uint32_t)sizeof o;
    o.shell = cmd;
    return o;
}

static csdk_run_opts_t ro_argv(const char *const *argv)
{
    csdk_run_opts_t o = ro_shell(NULL);

    o.argv = argv;
    return o;
}

static csdk_call_opts_t call_opts(uint64_t deadline_ms)
{
    csdk_call_opts_t c;

    memset(&c, 0, sizeof c);
    c.struct_size = (uint32_t)sizeof c;
    c.deadline_ms = deadline_ms;
    return c;
}

/* Run a command; the result is owned by the case. */
static csdk_status_t run(tcase_t *t, const char *id, const csdk_run_opts_t *o,
                         csdk_result_t **rp, csdk_error_t *e)
{
    csdk_call_opts_t c = call_opts(CONF_RUN_DEADLINE_MS);

    memset(e, 0, sizeof *e);
    *rp = new_result(t);
    return csdk_run_command(t->s->h, id, o, &c, *rp, e);
}

static csdk_status_t run_code(tcase_t *t, const char *id, const char *lang,
                              const char *code, const csdk_run_opts_t *o,
                              csdk_result_t **rp, csdk_error_t *e)
{
    csdk_call_opts_t c = call_opts(CONF_RUN_DEADLINE_MS);

    memset(e, 0, sizeof *e);
    *rp = new_result(t);
    return csdk_run_code(t->s->h, id, code, strlen(code), lang, o, &c, *rp,
                         e);
}

/* Run and require status OK and exit code `want`; -1 (case failed)
 * otherwise.  `label` names the command in the message. */
static int run_expect(tcase_t *t, const char *id, const csdk_run_opts_t *o,
                      int32_t want, const char *label, csdk_result_t **rp)
{
    csdk_error_t e;
    csdk_status_t rc = run(t, id, o, rp, &e);

    if (rc != CSDK_OK) {
        failf(t, "%s: got %s, expected OK", label, status_text(rc, &e));
        return -1;
    }
    if ((*rp)->exit_code != want) {
        failf(t, "%s: exit %" PRId32 ", expected %" PRId32 " (%s)", label,
              (*rp)->exit_code, want, describe(*rp));
        return -1;
    }
    return 0;
}

/* A shell command that must succeed; its result in *rp. */
static int sh_ok(tcase_t *t, const char *id, const char *cmd,
                 csdk_result_t **rp)
{
    csdk_run_opts_t o = ro_shell(cmd);

    return run_expect(t, id, &o, 0, cmd, rp);
}

/* Require stdout to be exactly `want`. */
static int out_is(tcase_t *t, const char *label, const csdk_result_t *r,
                  const char *want)
{
    size_t n = strlen(want);

    if (r->out_len != n || (n > 0 && memcmp(r->out, want, n) != 0)) {
        failf(t, "%s: stdout %s, expected %s (%s)", label,
              show(r->out, r->out_len), show(want, n), describe(r));
        return -1;
    }
    return 0;
}

static int contains(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle);

    if (hay == NULL || n > len)
        return 0;
    for (size_t i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return 1;
    return 0;
}

/* Does `path` (relative to the working directory) exist, asked through a
 * command?  1, 0, or -1 with the case failed. */
static int exists_by_command(tcase_t *t, const char *id, const char *path)
{
    char cmd[512];
    csdk_result_t *r;
    csdk_error_t e;
    csdk_run_opts_t o;
    csdk_status_t rc;

    snprintf(cmd, sizeof cmd, "test -e '%s'", path);
    o = ro_shell(cmd);
    rc = run(t, id, &o, &r, &e);
    if (rc != CSDK_OK || (r->exit_code != 0 && r->exit_code != 1)) {
        failf(t, "%s: got %s, %s", cmd, status_text(rc, &e), describe(r));
        return -1;
    }
    return r->exit_code == 0;
}

/* ------------------------------------------------------------------ */
/* Output capture for streaming cases                                  */
/* ------------------------------------------------------------------ */

#define CAP_KEEP 65536

typedef struct capture {
    uint64_t t0;          /* mono_ms() when the call started */
    uint64_t first_ms;    /* ms after t0 of the first chunk; 0 = none yet */
    int got_first;
    int32_t first_stream;
    char first[64];
    size_t first_len;
    size_t chunks;
    size_t bad_stream;    /* chunks on a stream other than stdout/stderr */
    size_t total[3];      /* bytes per stream, all of them */
    char keep[3][CAP_KEEP]; /* the first CAP_KEEP bytes per stream */
} capture_t;

static int32_t capture_fn(void *ud, int32_t stream, const void *data,
                          size_t len)
{
    capture_t *c = ud;

    if (!c->got_first) {
        c->got_first = 1;
        c->first_ms = mono_ms() - c->t0;
        c->first_stream = stream;
        c->first_len = len < sizeof c->first ? len : sizeof c->first;
        memcpy(c->first, data, c->first_len);
    }
    c->chunks++;
    if (stream != CSDK_STREAM_STDOUT && stream != CSDK_STREAM_STDERR) {
        c->bad_stream++;
        return 0;
    }
    if (c->total[stream] < CAP_KEEP) {
        size_t room = CAP_KEEP - c->total[stream];

        memcpy(c->keep[stream] + c->total[stream], data,
               len < room ? len : room);
    }
    c->total[stream] += len;
    return 0;
}

static size_t cap_len(const capture_t *c, int stream)
{
    return c->total[stream] < CAP_KEEP ? c->total[stream] : CAP_KEEP;
}

/* Run with output streamed into a case-owned capture. */
static csdk_status_t run_streamed(tcase_t *t, const char *id,
                                  const csdk_run_opts_t *o,
                                  capture_t **cp, csdk_result_t **rp,
                                  csdk_error_t *e)
{
    csdk_call_opts_t c = call_opts(CONF_RUN_DEADLINE_MS);
    capture_t *cap = t_alloc(t, sizeof *cap);

    memset(e, 0, sizeof *e);
    c.on_output = capture_fn;
    c.output_ud = cap;
    *rp = new_result(t);
    *cp = cap;
    cap->t0 = mono_ms();
    return csdk_run_command(t->s->h, id, o, &c, *rp, e);
}

/* ------------------------------------------------------------------ */
/* Cases: sandboxes                                                    */
/* ------------------------------------------------------------------ */

static void case_create(tcase_t *t)
{
    suite_t *s = t->s;
    size_t plen = strlen(s->provider);
    uint64_t t0 = mono_ms();
    NEED_SANDBOX(t, id);

    CHECK(t, strncmp(id, s->provider, plen) == 0 && id[plen] == ':' &&
                 id[plen + 1] != '\0',
          "create returned id %s, expected the form %s:NATIVE", show_str(id),
          s->provider);
    printf("# sandbox %s (%" PRIu64 " ms)\n", id, mono_ms() - t0);
}

static void case_get(tcase_t *t)
{
    csdk_sandbox_t *sb = new_sandbox(t);
    csdk_error_t e;
    csdk_status_t rc;
    NEED_SANDBOX(t, id);

    rc = csdk_get(t->s->h, id, NULL, sb, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "get");
    CHECK(t, sb->id && strcmp(sb->id, id) == 0,
          "get returned id %s, expected %s", show_str(sb->id), id);
    CHECK(t, sb->provider && strcmp(sb->provider, t->s->provider) == 0,
          "get returned provider %s, expected %s", show_str(sb->provider),
          t->s->provider);
}

static void case_list(tcase_t *t)
{
    csdk_sandbox_t *sbs;
    size_t n;
    NEED_SANDBOX(t, id);

    TRY(list_sandboxes(t, &sbs, &n));
    CHECK(t, list_has(sbs, n, id),
          "list has %zu sandboxes but not %s", n, id);
    for (size_t i = 0; i < n; i++)
        CHECK(t, sbs[i].id && strncmp(sbs[i].id, t->s->provider,
                                      strlen(t->s->provider)) == 0,
              "list returned id %s, which is not of provider %s",
              show_str(sbs[i].id), t->s->provider);
}

static void case_info(tcase_t *t)
{
    csdk_sandbox_t *sb = new_sandbox(t);
    csdk_error_t e;
    csdk_status_t rc;
    NEED_SANDBOX(t, id);

    rc = csdk_info(t->s->h, id, NULL, sb, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "info");
    CHECK(t, sb->id && strcmp(sb->id, id) == 0,
          "info returned id %s, expected %s", show_str(sb->id), id);
    CHECK(t, sb->provider && strcmp(sb->provider, t->s->provider) == 0,
          "info returned provider %s, expected %s", show_str(sb->provider),
          t->s->provider);
    CHECK(t, sb->status && sb->status[0],
          "info reported no status (CSDK_F_STATUS)");
    printf("# status %s, runtime %s, created_ms %" PRId64
           ", timeout_ms %" PRId64 ", expires_ms %" PRId64 "\n",
           sb->status, sb->runtime ? sb->runtime : "-", sb->created_ms,
           sb->timeout_ms, sb->expires_ms);
}

static void case_get_unknown(tcase_t *t)
{
    csdk_sandbox_t *sb = new_sandbox(t);
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    csdk_run_opts_t o = ro_shell("echo hello");
    char *bad;
    NEED_SANDBOX(t, id);

    bad = own(t, OWN_PTR, unknown_id(id), 0);
    rc = csdk_get(t->s->h, bad, NULL, sb, &e);
    CHECK_STATUS(t, rc, CSDK_E_NOT_FOUND, &e, "get of an unknown id");
    rc = csdk_info(t->s->h, bad, NULL, sb, &e);
    CHECK_STATUS(t, rc, CSDK_E_NOT_FOUND, &e, "info of an unknown id");
    rc = run(t, bad, &o, &r, &e);
    CHECK_STATUS(t, rc, CSDK_E_NOT_FOUND, &e, "run_command in an unknown id");
    rc = csdk_destroy(t->s->h, bad, NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "destroy of an unknown id");
}

static void case_destroy(tcase_t *t)
{
    csdk_sandbox_t *sb = new_sandbox(t), *again = new_sandbox(t), *sbs;
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    csdk_run_opts_t o = ro_shell("echo hello");
    size_t n;

    rc = make_sandbox(t, NULL, sb, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "create");
    TRY(list_sandboxes(t, &sbs, &n));
    CHECK(t, list_has(sbs, n, sb->id), "list lacks the new sandbox %s",
          sb->id);
    rc = csdk_destroy(t->s->h, sb->id, NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "destroy");
    rc = csdk_get(t->s->h, sb->id, NULL, again, &e);
    CHECK_STATUS(t, rc, CSDK_E_NOT_FOUND, &e, "get after destroy");
    TRY(list_sandboxes(t, &sbs, &n));
    CHECK(t, !list_has(sbs, n, sb->id), "list still has %s after destroy",
          sb->id);
    rc = run(t, sb->id, &o, &r, &e);
    CHECK_STATUS(t, rc, CSDK_E_NOT_FOUND, &e, "run_command after destroy");
    rc = csdk_destroy(t->s->h, sb->id, NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "destroy again");
}

static void case_isolation(tcase_t *t)
{
    csdk_sandbox_t *b = new_sandbox(t);
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    int there;
    NEED_SANDBOX(t, id);

    TRY(sh_ok(t, id, "echo secret > csdk-conf-iso", &r));
    rc = make_sandbox(t, NULL, b, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "create a second sandbox");
    CHECK(t, strcmp(b->id, id) != 0,
          "create returned the id of an existing sandbox (%s)", id);
    there = exists_by_command(t, b->id, "csdk-conf-iso");
    if (there < 0)
        return;
    CHECK(t, there == 0,
          "a file written in sandbox %s is visible in sandbox %s", id, b->id);
    rc = csdk_destroy(t->s->h, b->id, NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "destroy the second sandbox");
    TRY(sh_ok(t, id, "cat csdk-conf-iso", &r));
    TRY(out_is(t, "the first sandbox's file after destroying the second", r,
               "secret\n"));
}

static const char *meta_get(const csdk_sandbox_t *sb, const char *key)
{
    for (size_t i = 0; i < sb->n_metadata; i++)
        if (sb->metadata[i].key && strcmp(sb->metadata[i].key, key) == 0)
            return sb->metadata[i].value;
    return NULL;
}

static void case_create_options(tcase_t *t)
{
    static const csdk_kv_t env[] = {{"CSDK_CONF_SB_ENV", "from create"}};
    static const csdk_kv_t meta[] = {{"csdk-conf-owner", "conformance"}};
    csdk_create_opts_t o = create_opts();
    csdk_sandbox_t *sb = new_sandbox(t), *got = new_sandbox(t), *sbs;
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    const char *v;
    size_t n;

    o.env = env;
    o.n_env = 1;
    o.metadata = meta;
    o.n_metadata = 1;
    rc = make_sandbox(t, &o, sb, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "create with env and metadata");
    TRY(sh_ok(t, sb->id, "printf %s \"$CSDK_CONF_SB_ENV\"", &r));
    TRY(out_is(t, "create's env in a command", r, "from create"));
    {
        static const csdk_kv_t over[] = {{"CSDK_CONF_SB_ENV", "from run"}};
        csdk_run_opts_t ro = ro_shell("printf %s \"$CSDK_CONF_SB_ENV\"");

        ro.env = over;
        ro.n_env = 1;
        TRY(run_expect(t, sb->id, &ro, 0, "run env over create env", &r));
        TRY(out_is(t, "a run's env over create's env", r, "from run"));
    }
    rc = csdk_get(t->s->h, sb->id, NULL, got, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "get");
    v = meta_get(got, "csdk-conf-owner");
    CHECK(t, v && strcmp(v, "conformance") == 0,
          "get reports metadata csdk-conf-owner=%s, expected \"conformance\" "
          "(create's metadata is kept with the sandbox)", show_str(v));
    TRY(list_sandboxes(t, &sbs, &n));
    for (size_t i = 0; i < n; i++) {
        if (sbs[i].id && strcmp(sbs[i].id, sb->id) == 0) {
            v = meta_get(&sbs[i], "csdk-conf-owner");
            CHECK(t, v && strcmp(v, "conformance") == 0,
                  "list reports metadata csdk-conf-owner=%s, expected "
                  "\"conformance\"", show_str(v));
        }
    }
    rc = csdk_destroy(t->s->h, sb->id, NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "destroy");
}

/* ------------------------------------------------------------------ */
/* Cases: commands                                                     */
/* ------------------------------------------------------------------ */

static void case_shell_echo(tcase_t *t)
{
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    TRY(sh_ok(t, id, "echo hello", &r));
    TRY(out_is(t, "echo hello", r, "hello\n"));
    CHECK(t, r->err_len == 0, "echo hello wrote to stderr: %s",
          show(r->err, r->err_len));
}

static void case_argv_echo(tcase_t *t)
{
    static const char *const argv[] = {"echo", "hello", "world", NULL};
    csdk_run_opts_t o = ro_argv(argv);
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    TRY(run_expect(t, id, &o, 0, "argv {echo, hello, world}", &r));
    TRY(out_is(t, "argv {echo, hello, world}", r, "hello world\n"));
}

static void case_unknown_command(tcase_t *t)
{
    static const char *const argv[] = {"csdk-conf-no-such-command", NULL};
    csdk_run_opts_t a = ro_argv(argv);
    csdk_run_opts_t sh = ro_shell("csdk-conf-no-such-command --flag");
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    TRY(run_expect(t, id, &a, 127, "argv {csdk-conf-no-such-command}", &r));
    CHECK(t, r->err_len > 0,
          "argv {csdk-conf-no-such-command}: exit 127 but nothing on stderr "
          "says why");
    TRY(run_expect(t, id, &sh, 127, "shell csdk-conf-no-such-command", &r));
    CHECK(t, r->err_len > 0,
          "shell csdk-conf-no-such-command: exit 127 but nothing on stderr");
}

static void case_exit_code(tcase_t *t)
{
    static const char *const argv7[] = {"sh", "-c", "exit 7", NULL};
    static const char *const argvf[] = {"false", NULL};
    csdk_run_opts_t o;
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    o = ro_argv(argv7);
    TRY(run_expect(t, id, &o, 7, "argv {sh, -c, exit 7}", &r));
    o = ro_shell("exit 7");
    TRY(run_expect(t, id, &o, 7, "shell exit 7", &r));
    o = ro_shell("exit 255");
    TRY(run_expect(t, id, &o, 255, "shell exit 255", &r));
    o = ro_argv(argvf);
    TRY(run_expect(t, id, &o, 1, "argv {false}", &r));
}

static void case_killed_by_signal(tcase_t *t)
{
    csdk_run_opts_t o = ro_shell("kill -KILL $$");
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    NEED_SANDBOX(t, id);

    rc = run(t, id, &o, &r, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "kill -KILL $$");
    CHECK(t, r->exit_code != 0,
          "a command killed by SIGKILL reported exit 0 (%s)", describe(r));
    CHECK(t, !(r->flags & CSDK_RESULT_TIMED_OUT),
          "a command killed by a signal is flagged timed out (%s)",
          describe(r));
}

static void case_quoting_argv(tcase_t *t)
{
    static const char *const a1[] = {"printf", "%s|", "a b", "c", NULL};
    static const char *const a2[] = {"printf", "%s|", "$HOME", "*", ";",
                                     "'q\"", "`x`", "", "\\n", NULL};
    csdk_run_opts_t o = ro_argv(a1);
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    TRY(run_expect(t, id, &o, 0, "argv {printf, %s|, a b, c}", &r));
    TRY(out_is(t, "argv {printf, %s|, a b, c}", r, "a b|c|"));
    o = ro_argv(a2);
    TRY(run_expect(t, id, &o, 0, "argv with shell metacharacters", &r));
    TRY(out_is(t, "argv with shell metacharacters (no shell may see them)", r,
               "$HOME|*|;|'q\"|`x`||\\n|"));
}

static void case_quoting_shell(tcase_t *t)
{
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    TRY(sh_ok(t, id, "echo \"a  b\"", &r));
    TRY(out_is(t, "echo \"a  b\"", r, "a  b\n"));
    TRY(sh_ok(t, id, "sh -c 'echo \"hello world\"'", &r));
    TRY(out_is(t, "sh -c 'echo \"hello world\"'", r, "hello world\n"));
    TRY(sh_ok(t, id, "printf '%s\\n' 'it'\"'\"'s' \"$((6 * 7))\"", &r));
    TRY(out_is(t, "shell quotes and arithmetic", r, "it's\n42\n"));
}

static void case_home(tcase_t *t)
{
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    TRY(sh_ok(t, id, "printf %s \"$HOME\"", &r));
    CHECK(t, r->out_len > 1 && r->out[0] == '/',
          "$HOME expands to %s, expected an absolute path",
          show(r->out, r->out_len));
    TRY(sh_ok(t, id, "test -d \"$HOME\"", &r));
}

static void case_redirect(tcase_t *t)
{
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    TRY(sh_ok(t, id, "echo x > csdk-conf-redirect && cat csdk-conf-redirect",
              &r));
    TRY(out_is(t, "echo x > f && cat f", r, "x\n"));
    TRY(sh_ok(t, id, "echo \"test content\" > /tmp/csdk-conf-quoting.txt && "
                     "cat /tmp/csdk-conf-quoting.txt",
              &r));
    TRY(out_is(t, "a file in /tmp", r, "test content\n"));
}

static void case_pipe(tcase_t *t)
{
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    TRY(sh_ok(t, id, "printf 'b\\na\\nc\\n' | sort | tr a-z A-Z", &r));
    TRY(out_is(t, "printf | sort | tr", r, "A\nB\nC\n"));
}

static void case_cwd(tcase_t *t)
{
    static const char *const pwd[] = {"pwd", NULL};
    csdk_run_opts_t o = ro_argv(pwd);
    csdk_result_t *r;
    char dir[1024], want[1100];
    NEED_SANDBOX(t, id);

    o.cwd = "/";
    TRY(run_expect(t, id, &o, 0, "pwd with cwd /", &r));
    TRY(out_is(t, "pwd with cwd /", r, "/\n"));
    o.cwd = "/tmp";
    TRY(run_expect(t, id, &o, 0, "pwd with cwd /tmp", &r));
    TRY(out_is(t, "pwd with cwd /tmp", r, "/tmp\n"));

    /* A directory made by a command, given as an absolute path. */
    TRY(sh_ok(t, id, "mkdir -p csdk-conf-cwd/sub && cd csdk-conf-cwd/sub && "
                     "pwd -P",
              &r));
    CHECK(t, r->out_len > 1 && r->out_len < sizeof dir && r->out[0] == '/',
          "pwd printed %s", show(r->out, r->out_len));
    memcpy(dir, r->out, r->out_len - 1);
    dir[r->out_len - 1] = '\0';
    o = ro_shell("pwd -P; echo x > here");
    o.cwd = dir;
    TRY(run_expect(t, id, &o, 0, "shell with cwd a new directory", &r));
    snprintf(want, sizeof want, "%s\n", dir);
    TRY(out_is(t, "pwd with cwd a new directory", r, want));
    TRY(sh_ok(t, id, "cat csdk-conf-cwd/sub/here", &r));
    TRY(out_is(t, "a file written relative to cwd", r, "x\n"));
}

static void case_env(tcase_t *t)
{
    static const csdk_kv_t env[] = {{"CSDK_CONF_A", "a b=c"},
                                    {"CSDK_CONF_B", ""},
                                    {"CSDK_CONF_C", "$HOME'\""}};
    static const char *const envv[] = {"env", NULL};
    csdk_run_opts_t o = ro_shell("printf '%s|%s|%s' \"$CSDK_CONF_A\" "
                                 "\"${CSDK_CONF_B-unset}\" \"$CSDK_CONF_C\"");
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    o.env = env;
    o.n_env = 3;
    TRY(run_expect(t, id, &o, 0, "shell with env", &r));
    TRY(out_is(t, "env option", r, "a b=c||$HOME'\""));
    o = ro_argv(envv);
    o.env = env;
    o.n_env = 1;
    TRY(run_expect(t, id, &o, 0, "argv {env} with env", &r));
    CHECK(t, contains(r->out, r->out_len, "CSDK_CONF_A=a b=c\n"),
          "env lacks CSDK_CONF_A=a b=c: %s", show(r->out, r->out_len));
    CHECK(t, contains(r->out, r->out_len, "PATH="),
          "with the env option the command lost PATH: %s",
          show(r->out, r->out_len));
    TRY(sh_ok(t, id, "printf %s \"${CSDK_CONF_A-unset}\"", &r));
    TRY(out_is(t, "a later command without the env option", r, "unset"));
}

static void case_stdin(tcase_t *t)
{
    static const char *const cat[] = {"cat", NULL};
    csdk_run_opts_t o = ro_argv(cat);
    unsigned char *in = t_alloc(t, 768);
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    for (size_t i = 0; i < 768; i++)
        in[i] = (unsigned char)(i * 7 + i / 256);
    o.stdin_data = in;
    o.stdin_len = 768;
    TRY(run_expect(t, id, &o, 0, "cat with 768 bytes of stdin", &r));
    CHECK(t, r->out_len == 768 && memcmp(r->out, in, 768) == 0,
          "cat gave back %zu bytes %s, not the 768 bytes given on stdin",
          r->out_len, show(r->out, r->out_len));
    o = ro_shell("read a; read b; echo \"$b-$a\"");
    o.stdin_data = "one\ntwo\n";
    o.stdin_len = 8;
    TRY(run_expect(t, id, &o, 0, "read from stdin", &r));
    TRY(out_is(t, "read a; read b", r, "two-one\n"));
}

static void case_stdin_none(tcase_t *t)
{
    static const char *const cat[] = {"cat", NULL};
    csdk_run_opts_t o = ro_argv(cat);
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    o.timeout_ms = 10000;
    TRY(run_expect(t, id, &o, 0, "cat without stdin (timeout 10 s)", &r));
    CHECK(t, !(r->flags & CSDK_RESULT_TIMED_OUT),
          "cat without stdin waited for input until its timeout: stdin must "
          "be empty when none is given");
    CHECK(t, r->out_len == 0, "cat without stdin printed %s",
          show(r->out, r->out_len));
}

static void case_stdin_large(tcase_t *t)
{
    static const char *const wc[] = {"wc", "-c", NULL};
    csdk_run_opts_t o = ro_argv(wc);
    char *in = t_alloc(t, MIB);
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    memset(in, 'z', MIB);
    o.stdin_data = in;
    o.stdin_len = MIB;
    o.timeout_ms = 30000;
    TRY(run_expect(t, id, &o, 0, "wc -c with 1 MiB of stdin", &r));
    CHECK(t, r->out_len > 0 && strtoul(r->out, NULL, 10) == MIB,
          "wc -c counted %s, expected 1048576", show(r->out, r->out_len));
}

static void case_stdin_unread(tcase_t *t)
{
    static const char *const tr[] = {"true", NULL};
    csdk_run_opts_t o = ro_argv(tr);
    char *in = t_alloc(t, MIB);
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    memset(in, 'u', MIB);
    o.stdin_data = in;
    o.stdin_len = MIB;
    o.timeout_ms = 30000;
    TRY(run_expect(t, id, &o, 0, "true with 1 MiB of stdin it never reads",
                   &r));
    CHECK(t, !(r->flags & CSDK_RESULT_TIMED_OUT),
          "true with unread stdin ran into its timeout (%s)", describe(r));
}

static void case_output_large(tcase_t *t)
{
    size_t n = 300000, len = 0;
    char *want = t_alloc(t, 2500000);
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    for (size_t i = 1; i <= n; i++)
        len += (size_t)sprintf(want + len, "%zu\n", i);
    TRY(sh_ok(t, id, "seq 1 300000", &r));
    CHECK(t, r->out_len == len && memcmp(r->out, want, len) == 0,
          "seq 1 300000 gave %zu bytes, expected %zu, not byte for byte "
          "(ends %s)", r->out_len, len,
          r->out_len > 20 ? show(r->out + r->out_len - 20, 20)
                          : show(r->out, r->out_len));
    CHECK(t, !(r->flags & CSDK_RESULT_TRUNCATED),
          "2 MB of output is flagged truncated with the default cap");
}

static int all_bytes(const char *p, size_t n, char c)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != c)
            return 0;
    return 1;
}

static void case_both_streams_large(tcase_t *t)
{
    csdk_run_opts_t o = ro_shell(
        "head -c 1000000 /dev/zero | tr '\\0' e >&2; "
        "head -c 1000000 /dev/zero | tr '\\0' o");
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    o.timeout_ms = 30000;
    TRY(run_expect(t, id, &o, 0, "1 MB to stderr, then 1 MB to stdout", &r));
    CHECK(t, !(r->flags & CSDK_RESULT_TIMED_OUT),
          "1 MB to stderr then 1 MB to stdout timed out: stderr is not "
          "drained while stdout is read");
    CHECK(t, r->err_len == 1000000 && all_bytes(r->err, r->err_len, 'e'),
          "stderr has %zu bytes, expected 1000000 'e'", r->err_len);
    CHECK(t, r->out_len == 1000000 && all_bytes(r->out, r->out_len, 'o'),
          "stdout has %zu bytes, expected 1000000 'o'", r->out_len);
}

static void case_background(tcase_t *t)
{
    csdk_run_opts_t o =
        ro_shell("sleep 2; echo done > csdk-conf-bg");
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    uint64_t t0, took;
    int seen = 0;
    NEED_SANDBOX(t, id);

    o.flags = CSDK_RUN_BACKGROUND;
    t0 = mono_ms();
    rc = run(t, id, &o, &r, &e);
    took = mono_ms() - t0;
    CHECK_STATUS(t, rc, CSDK_OK, &e, "background sleep 2; echo done > f");
    CHECK(t, took < 1500,
          "a background command took %" PRIu64 " ms to return (sleep 2 "
          "inside it): background must not wait", took);
    CHECK(t, r->pid > 0, "a background command reported pid %" PRId64
          ", expected > 0", r->pid);
    CHECK(t, r->exit_code == 0, "a background start reported exit %" PRId32,
          r->exit_code);
    /* It keeps running after the call: its file appears later. */
    while (mono_ms() - t0 < 15000) {
        csdk_run_opts_t c = ro_shell("cat csdk-conf-bg 2>/dev/null || true");
        csdk_result_t *cr;

        TRY(run_expect(t, id, &c, 0, "cat the background command's file",
                       &cr));
        if (cr->out_len == 5 && memcmp(cr->out, "done\n", 5) == 0) {
            seen = 1;
            break;
        }
        sleep_ms(250);
    }
    CHECK(t, seen,
          "the background command's file never appeared within 15 s: it "
          "did not keep running after the call returned");
    printf("# returned in %" PRIu64 " ms, pid %" PRId64 "\n", took, r->pid);
}

static void case_timeout(tcase_t *t)
{
    static const char *const argv[] = {"sleep", "60", NULL};
    csdk_run_opts_t o = ro_argv(argv);
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    uint64_t t0, took;
    NEED_SANDBOX(t, id);

    o.timeout_ms = 500;
    t0 = mono_ms();
    rc = run(t, id, &o, &r, &e);
    took = mono_ms() - t0;
    CHECK_STATUS(t, rc, CSDK_OK, &e, "sleep 60 with timeout_ms 500");
    CHECK(t, took < 5000, "sleep 60 with timeout_ms 500 took %" PRIu64 " ms",
          took);
    CHECK(t, took >= 400,
          "sleep 60 with timeout_ms 500 returned after %" PRIu64 " ms", took);
    CHECK(t, r->flags & CSDK_RESULT_TIMED_OUT,
          "sleep 60 with timeout_ms 500 is not flagged timed out (%s)",
          describe(r));
    printf("# ended after %" PRIu64 " ms, exit %" PRId32 "\n", took,
           r->exit_code);
    /* What the command wrote before it was killed is kept. */
    o = ro_shell("echo before; echo err-before >&2; sleep 60");
    o.timeout_ms = 500;
    rc = run(t, id, &o, &r, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "echo before; sleep 60 with timeout_ms "
                                     "500");
    CHECK(t, r->flags & CSDK_RESULT_TIMED_OUT, "not flagged timed out (%s)",
          describe(r));
    TRY(out_is(t, "the output of a command before its timeout", r,
               "before\n"));
    CHECK(t, r->err_len == 11 && memcmp(r->err, "err-before\n", 11) == 0,
          "stderr before the timeout is %s, expected \"err-before\\n\"",
          show(r->err, r->err_len));
}

static void case_timeout_kills_tree(tcase_t *t)
{
    csdk_run_opts_t o =
        ro_shell("(sleep 1; echo survived > csdk-conf-tree) & sleep 60");
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    int there;
    NEED_SANDBOX(t, id);

    o.timeout_ms = 300;
    rc = run(t, id, &o, &r, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "a command with a child, timeout 300");
    CHECK(t, r->flags & CSDK_RESULT_TIMED_OUT, "not flagged timed out (%s)",
          describe(r));
    sleep_ms(1700);
    there = exists_by_command(t, id, "csdk-conf-tree");
    if (there < 0)
        return;
    CHECK(t, there == 0,
          "a child of the timed-out command survived its timeout and wrote "
          "csdk-conf-tree a second later: the whole tree must be killed");
}

static void case_max_output(tcase_t *t)
{
    csdk_run_opts_t o = ro_shell("head -c 100000 /dev/zero");
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    capture_t *cap;
    NEED_SANDBOX(t, id);

    /* The exit code is not checked: a provider may let the command run on
     * with its output dropped, or end it once it passes the cap (as it
     * must for a command that never stops writing, cmd.max_output_endless). */
    o.max_output = 1000;
    rc = run(t, id, &o, &r, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e,
                 "head -c 100000 /dev/zero with max_output 1000");
    CHECK(t, r->flags & CSDK_RESULT_TRUNCATED,
          "head -c 100000 with max_output 1000 is not flagged truncated (%s)",
          describe(r));
    CHECK(t, r->out_len > 0 && r->out_len <= 1000,
          "%zu bytes delivered with max_output 1000", r->out_len);

    /* The same, streamed: the callback too gets at most the cap. */
    rc = run_streamed(t, id, &o, &cap, &r, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "streamed, with max_output 1000");
    CHECK(t, r->flags & CSDK_RESULT_TRUNCATED,
          "streamed: not flagged truncated");
    CHECK(t, cap->total[CSDK_STREAM_STDOUT] <= 1000,
          "streamed: %zu bytes reached the callback with max_output 1000",
          cap->total[CSDK_STREAM_STDOUT]);

    /* Under the cap: no flag. */
    o = ro_shell("echo hi");
    o.max_output = 1000;
    TRY(run_expect(t, id, &o, 0, "echo hi with max_output 1000", &r));
    TRY(out_is(t, "echo hi with max_output 1000", r, "hi\n"));
    CHECK(t, !(r->flags & CSDK_RESULT_TRUNCATED),
          "3 bytes with max_output 1000 are flagged truncated");
}

static void case_max_output_endless(tcase_t *t)
{
    static const char *const yes[] = {"yes", NULL};
    csdk_run_opts_t o = ro_argv(yes);
    csdk_call_opts_t c = call_opts(30000);
    csdk_result_t *r = new_result(t);
    csdk_error_t e;
    csdk_status_t rc;
    uint64_t t0, took;
    NEED_SANDBOX(t, id);

    o.max_output = 1000;
    t0 = mono_ms();
    rc = csdk_run_command(t->s->h, id, &o, &c, r, &e);
    took = mono_ms() - t0;
    CHECK(t, rc == CSDK_OK,
          "yes with max_output 1000 (call deadline 30 s): got %s after %" PRIu64
          " ms; a command whose output passes the cap must still let the "
          "call return", status_text(rc, &e), took);
    CHECK(t, r->flags & CSDK_RESULT_TRUNCATED,
          "yes with max_output 1000 is not flagged truncated (%s)",
          describe(r));
    CHECK(t, r->out_len <= 1000, "yes: %zu bytes delivered with max_output "
          "1000", r->out_len);
    printf("# returned after %" PRIu64 " ms, exit %" PRId32 "\n", took,
           r->exit_code);
}

/* ------------------------------------------------------------------ */
/* Cases: streaming                                                    */
/* ------------------------------------------------------------------ */

static void case_stream_first_chunk(tcase_t *t)
{
    csdk_run_opts_t o = ro_shell("echo first; sleep 2; echo second");
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    capture_t *cap;
    uint64_t took;
    NEED_SANDBOX(t, id);

    rc = run_streamed(t, id, &o, &cap, &r, &e);
    took = mono_ms() - cap->t0;
    CHECK_STATUS(t, rc, CSDK_OK, &e, "echo first; sleep 2; echo second");
    CHECK(t, r->exit_code == 0, "exit %" PRId32 ", streamed stderr %s",
          r->exit_code, show(cap->keep[2], cap_len(cap, 2)));
    CHECK(t, took >= 2000,
          "the call took %" PRIu64 " ms; sleep 2 did not run", took);
    CHECK(t, cap->got_first, "no output reached the on_output callback");
    CHECK(t, cap->first_ms < 1500,
          "the first chunk arrived %" PRIu64 " ms after the call started "
          "(the call took %" PRIu64 " ms): output is not streamed as it is "
          "written", cap->first_ms, took);
    CHECK(t, cap->first_stream == CSDK_STREAM_STDOUT &&
                 cap->first_len >= 5 && memcmp(cap->first, "first", 5) == 0,
          "the first chunk is %s on stream %" PRId32 ", expected \"first\" "
          "on stdout", show(cap->first, cap->first_len), cap->first_stream);
    CHECK(t, cap->total[CSDK_STREAM_STDOUT] == 13 &&
                 memcmp(cap->keep[CSDK_STREAM_STDOUT], "first\nsecond\n",
                        13) == 0,
          "streamed stdout is %s, expected \"first\\nsecond\\n\"",
          show(cap->keep[CSDK_STREAM_STDOUT], cap_len(cap, 1)));
    printf("# first chunk after %" PRIu64 " ms, call %" PRIu64 " ms, %zu "
           "chunks\n", cap->first_ms, took, cap->chunks);
}

static void case_stream_stderr(tcase_t *t)
{
    csdk_run_opts_t o = ro_shell("echo out; echo err >&2");
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    capture_t *cap;
    NEED_SANDBOX(t, id);

    TRY(run_expect(t, id, &o, 0, "echo out; echo err >&2", &r));
    TRY(out_is(t, "echo out; echo err >&2", r, "out\n"));
    CHECK(t, r->err_len == 4 && memcmp(r->err, "err\n", 4) == 0,
          "stderr is %s, expected \"err\\n\"", show(r->err, r->err_len));

    rc = run_streamed(t, id, &o, &cap, &r, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "streamed echo out; echo err >&2");
    CHECK(t, cap->bad_stream == 0,
          "%zu chunks arrived on a stream other than stdout/stderr",
          cap->bad_stream);
    CHECK(t, cap->total[1] == 4 && memcmp(cap->keep[1], "out\n", 4) == 0,
          "streamed stdout is %s, expected \"out\\n\"",
          show(cap->keep[1], cap_len(cap, 1)));
    CHECK(t, cap->total[2] == 4 && memcmp(cap->keep[2], "err\n", 4) == 0,
          "streamed stderr is %s, expected \"err\\n\"",
          show(cap->keep[2], cap_len(cap, 2)));
}

/* ------------------------------------------------------------------ */
/* Cases: code                                                         */
/* ------------------------------------------------------------------ */

static void code_ok(tcase_t *t, const char *lang, const char *code,
                    const char *want)
{
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    NEED_SANDBOX(t, id);

    rc = run_code(t, id, lang, code, NULL, &r, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, lang);
    CHECK(t, r->exit_code == 0, "%s: exit %" PRId32 " (%s)", lang,
          r->exit_code, describe(r));
    TRY(out_is(t, lang, r, want));
    CHECK(t, r->flags == 0, "%s: flags %s", lang, flag_names(r->flags));
}

static void code_runtime_error(tcase_t *t, const char *lang,
                               const char *code, const char *type,
                               const char *message)
{
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    NEED_SANDBOX(t, id);

    rc = run_code(t, id, lang, code, NULL, &r, &e);
    CHECK(t, rc == CSDK_OK,
          "%s code that throws at run time: got %s, expected OK with a "
          "non-zero exit (a run-time error is a result)", lang,
          status_text(rc, &e));
    CHECK(t, r->exit_code != 0, "%s: exit 0 after an uncaught error (%s)",
          lang, describe(r));
    CHECK(t, !(r->flags & CSDK_RESULT_SYNTAX),
          "%s: a run-time error is flagged as a syntax error", lang);
    CHECK(t, contains(r->out, r->out_len, "before"),
          "%s: the line before the error printed nothing (%s)", lang,
          describe(r));
    CHECK(t, contains(r->err, r->err_len, type) &&
                 contains(r->err, r->err_len, message),
          "%s: stderr lacks %s and %s (%s)", lang, type, message,
          describe(r));
}

static void code_syntax_error(tcase_t *t, const char *lang,
                              const char *code)
{
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    NEED_SANDBOX(t, id);

    rc = run_code(t, id, lang, code, NULL, &r, &e);
    CHECK_STATUS(t, rc, CSDK_E_SYNTAX, &e, "code that does not parse");
    CHECK(t, r->flags & CSDK_RESULT_SYNTAX,
          "%s: CSDK_E_SYNTAX without CSDK_RESULT_SYNTAX (%s)", lang,
          describe(r));
    CHECK(t, contains(r->err, r->err_len, "SyntaxError"),
          "%s: stderr lacks the interpreter's SyntaxError (%s)", lang,
          describe(r));
    CHECK(t, !contains(r->out, r->out_len, "ran"),
          "%s: a line before the syntax error ran (%s); code that does not "
          "parse must not run at all", lang, describe(r));
}

static void case_py_ok(tcase_t *t)
{
    code_ok(t, "python", "import sys\nprint('py' + str(6 * 7))\n", "py42\n");
}

static void case_py_runtime_error(tcase_t *t)
{
    code_runtime_error(t, "python",
                       "print('before', flush=True)\n"
                       "raise ValueError('boom-py')\n",
                       "ValueError", "boom-py");
}

static void case_py_syntax_error(tcase_t *t)
{
    code_syntax_error(t, "python", "print('ran')\ndef f(:\n    pass\n");
}

static void case_py_options(tcase_t *t)
{
    static const csdk_kv_t env[] = {{"CSDK_CONF_PY", "from env"}};
    csdk_run_opts_t o = ro_shell(NULL);
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    NEED_SANDBOX(t, id);

    o.env = env;
    o.n_env = 1;
    o.cwd = "/tmp";
    o.stdin_data = "from stdin";
    o.stdin_len = 10;
    rc = run_code(t, id, "python",
                  "import os, sys\n"
                  "print(os.environ.get('CSDK_CONF_PY'), os.getcwd(), "
                  "sys.stdin.read(), sep='|')\n",
                  &o, &r, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "python with env, cwd and stdin");
    CHECK(t, r->exit_code == 0, "exit %" PRId32 " (%s)", r->exit_code,
          describe(r));
    TRY(out_is(t, "python with env, cwd and stdin", r,
               "from env|/tmp|from stdin\n"));
}

static void case_py_timeout(tcase_t *t)
{
    csdk_run_opts_t o = ro_shell(NULL);
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    uint64_t t0, took;
    NEED_SANDBOX(t, id);

    o.timeout_ms = 500;
    t0 = mono_ms();
    rc = run_code(t, id, "python", "import time\ntime.sleep(60)\n", &o, &r,
                  &e);
    took = mono_ms() - t0;
    CHECK_STATUS(t, rc, CSDK_OK, &e, "time.sleep(60) with timeout_ms 500");
    CHECK(t, took < 5000, "time.sleep(60) with timeout_ms 500 took %" PRIu64
          " ms", took);
    CHECK(t, r->flags & CSDK_RESULT_TIMED_OUT,
          "time.sleep(60) with timeout_ms 500 is not flagged timed out (%s)",
          describe(r));
}

static void case_node_ok(tcase_t *t)
{
    code_ok(t, "node", "const n = 6 * 7;\nconsole.log('js' + n);\n",
            "js42\n");
}

static void case_node_runtime_error(tcase_t *t)
{
    code_runtime_error(t, "node",
                       "console.log('before');\n"
                       "throw new Error('boom-js');\n",
                       "Error", "boom-js");
}

static void case_node_syntax_error(tcase_t *t)
{
    code_syntax_error(t, "node", "console.log('ran');\nfunction (\n");
}

/* ------------------------------------------------------------------ */
/* Cases: url                                                          */
/* ------------------------------------------------------------------ */

static int url_scheme_ok(const char *u)
{
    static const char *const schemes[] = {"http://", "https://", "ws://",
                                          "wss://"};

    for (size_t i = 0; i < 4; i++) {
        size_t n = strlen(schemes[i]);

        if (strncmp(u, schemes[i], n) == 0 && u[n] != '\0')
            return 1;
    }
    return 0;
}

static void case_url(tcase_t *t)
{
    char *url = NULL;
    csdk_error_t e;
    csdk_status_t rc;
    NEED_SANDBOX(t, id);

    memset(&e, 0, sizeof e);
    rc = csdk_url(t->s->h, id, 8080, "http", NULL, &url, &e);
    own(t, OWN_PTR, url, 0);
    if (rc == CSDK_E_NOT_SUPPORTED) {
        CHECK(t, e.message[0] != '\0',
              "url answered NOT_SUPPORTED without saying why");
        printf("# not supported: %s\n", e.message);
        return;
    }
    CHECK(t, rc == CSDK_OK,
          "url of port 8080: got %s, expected OK with a URL or "
          "NOT_SUPPORTED with a reason", status_text(rc, &e));
    CHECK(t, url && url_scheme_ok(url),
          "url of port 8080 is %s, expected http(s):// or ws(s)://...",
          show_str(url));
    printf("# %s\n", url);
}

/* ------------------------------------------------------------------ */
/* Cases: filesystem                                                   */
/* ------------------------------------------------------------------ */

/* Read a file into case-owned memory. */
static csdk_status_t read_file(tcase_t *t, const char *id, const char *path,
                               char **data, size_t *len, csdk_error_t *e)
{
    void *p = NULL;
    csdk_status_t rc;

    memset(e, 0, sizeof *e);
    rc = csdk_read_file(t->s->h, id, path, NULL, &p, len, e);
    own(t, OWN_PTR, p, 0);
    *data = p;
    return rc;
}

static int write_ok(tcase_t *t, const char *id, const char *path,
                    const void *data, size_t len)
{
    csdk_error_t e;
    csdk_status_t rc;

    memset(&e, 0, sizeof e);
    rc = csdk_write_file(t->s->h, id, path, data, len, NULL, &e);
    if (rc != CSDK_OK) {
        failf(t, "write_file %s (%zu bytes): %s", path, len,
              status_text(rc, &e));
        return -1;
    }
    return 0;
}

/* Read `path` and require exactly `want` (`len` bytes). */
static int read_is(tcase_t *t, const char *id, const char *path,
                   const void *want, size_t len)
{
    csdk_error_t e;
    char *got;
    size_t n = 0;
    csdk_status_t rc = read_file(t, id, path, &got, &n, &e);

    if (rc != CSDK_OK) {
        failf(t, "read_file %s: %s", path, status_text(rc, &e));
        return -1;
    }
    if (n != len || (len > 0 && memcmp(got, want, len) != 0)) {
        size_t at = 0;

        while (at < n && at < len && got[at] == ((const char *)want)[at])
            at++;
        failf(t, "read_file %s: %zu bytes, expected %zu; they differ from "
              "byte %zu", path, n, len, at);
        return -1;
    }
    return 0;
}

/* Exists via the API: 1, 0, or -1 with the case failed. */
static int exists_api(tcase_t *t, const char *id, const char *path)
{
    csdk_error_t e;
    int32_t ex = -1;
    csdk_status_t rc;

    memset(&e, 0, sizeof e);
    rc = csdk_exists(t->s->h, id, path, NULL, &ex, &e);
    if (rc != CSDK_OK) {
        failf(t, "exists %s: %s", path, status_text(rc, &e));
        return -1;
    }
    if (ex != 0 && ex != 1) {
        failf(t, "exists %s reported %" PRId32 ", expected 1 or 0", path, ex);
        return -1;
    }
    return ex;
}

/* Exists through the API when the provider has it, else a command. */
static int exists_any(tcase_t *t, const char *id, const char *path)
{
    return has_caps(t->s, CSDK_CAP(CSDK_M_EXISTS)) ? exists_api(t, id, path)
                                                   : exists_by_command(t, id,
                                                                       path);
}

static void case_fs_write_read(tcase_t *t)
{
    static const char text[] = "Hello, ComputeSDK filesystem!";
    NEED_SANDBOX(t, id);

    TRY(write_ok(t, id, CONF_DIR "/test-file.txt", text, strlen(text)));
    TRY(read_is(t, id, CONF_DIR "/test-file.txt", text, strlen(text)));
    /* A shorter write replaces the file: nothing of the old one is left. */
    TRY(write_ok(t, id, CONF_DIR "/test-file.txt", "short", 5));
    TRY(read_is(t, id, CONF_DIR "/test-file.txt", "short", 5));
    /* write_file makes parent directories. */
    TRY(write_ok(t, id, CONF_DIR "/a/b/c/deep.txt", "deep\n", 5));
    TRY(read_is(t, id, CONF_DIR "/a/b/c/deep.txt", "deep\n", 5));
}

static void case_fs_exists(tcase_t *t)
{
    int ex;
    NEED_SANDBOX(t, id);

    TRY(write_ok(t, id, CONF_DIR "/exists.txt", "x", 1));
    ex = exists_api(t, id, CONF_DIR "/exists.txt");
    if (ex < 0)
        return;
    CHECK(t, ex == 1, "exists of a file just written is 0");
    ex = exists_api(t, id, CONF_DIR);
    if (ex < 0)
        return;
    CHECK(t, ex == 1, "exists of a directory is 0");
    ex = exists_api(t, id, CONF_DIR "/no-such-file");
    if (ex < 0)
        return;
    CHECK(t, ex == 0, "exists of a missing file is 1");
    ex = exists_api(t, id, "csdk-conf-no-such-dir/file.txt");
    if (ex < 0)
        return;
    CHECK(t, ex == 0, "exists of a file in a missing directory is 1");
}

static void case_fs_mkdir(tcase_t *t)
{
    csdk_error_t e;
    csdk_status_t rc;
    csdk_result_t *r;
    int ex;
    NEED_SANDBOX(t, id);

    memset(&e, 0, sizeof e);
    rc = csdk_mkdir(t->s->h, id, CONF_DIR "/made/d1/d2", NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "mkdir with missing parents");
    ex = exists_any(t, id, CONF_DIR "/made/d1/d2");
    if (ex < 0)
        return;
    CHECK(t, ex == 1, "the directory mkdir made does not exist");
    TRY(sh_ok(t, id, "test -d " CONF_DIR "/made/d1/d2", &r));
    rc = csdk_mkdir(t->s->h, id, CONF_DIR "/made/d1/d2", NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "mkdir of a directory that exists");
}

static const csdk_dirent_t *find_ent(const csdk_dirent_t *ents, size_t n,
                                     const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (ents[i].name && strcmp(ents[i].name, name) == 0)
            return &ents[i];
    return NULL;
}

static void case_fs_readdir(tcase_t *t)
{
    static const char *const names[] = {"file1.txt", "file2.txt", "sub"};
    csdk_dirent_t *ents = NULL;
    size_t n = 0;
    csdk_error_t e;
    csdk_status_t rc;
    int64_t now = wall_ms();
    NEED_SANDBOX(t, id);

    TRY(write_ok(t, id, CONF_DIR "/list/file1.txt", "content1", 8));
    TRY(write_ok(t, id, CONF_DIR "/list/file2.txt", "content22", 9));
    TRY(write_ok(t, id, CONF_DIR "/list/sub/inner.txt", "x", 1));
    memset(&e, 0, sizeof e);
    rc = csdk_readdir(t->s->h, id, CONF_DIR "/list", NULL, &ents, &n, &e);
    own(t, OWN_DIRENTS, ents, n);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "readdir");
    CHECK(t, n == 3, "readdir gave %zu entries, expected 3 (file1.txt, "
          "file2.txt, sub; no . or ..)", n);
    for (size_t i = 0; i < 3; i++)
        CHECK(t, find_ent(ents, n, names[i]),
              "readdir lacks %s (names are bare, without the directory)",
              names[i]);
    {
        const csdk_dirent_t *f1 = find_ent(ents, n, "file1.txt");
        const csdk_dirent_t *f2 = find_ent(ents, n, "file2.txt");
        const csdk_dirent_t *d = find_ent(ents, n, "sub");

        CHECK(t, f1->type == CSDK_FILE_REGULAR && d->type == CSDK_FILE_DIRECTORY,
              "readdir types: file1.txt %" PRId32 ", sub %" PRId32
              ", expected %d and %d", f1->type, d->type, CSDK_FILE_REGULAR,
              CSDK_FILE_DIRECTORY);
        CHECK(t, f1->size == 8 && f2->size == 9,
              "readdir sizes: file1.txt %" PRId64 ", file2.txt %" PRId64
              ", expected 8 and 9", f1->size, f2->size);
        CHECK(t, f1->mtime_ms > now - 86400000 && f1->mtime_ms < now + 86400000,
              "readdir mtime_ms of a file just written is %" PRId64
              ", now is %" PRId64 " (ms since the epoch)", f1->mtime_ms, now);
    }
    rc = csdk_readdir(t->s->h, id, "csdk-conf-no-such-dir", NULL, &ents, &n,
                      &e);
    own(t, OWN_DIRENTS, ents, n);
    CHECK_STATUS(t, rc, CSDK_E_NOT_FOUND, &e, "readdir of a missing directory");
}

static void case_fs_remove(tcase_t *t)
{
    csdk_error_t e;
    csdk_status_t rc;
    int ex;
    NEED_SANDBOX(t, id);

    memset(&e, 0, sizeof e);
    TRY(write_ok(t, id, CONF_DIR "/rm/file.txt", "x", 1));
    TRY(write_ok(t, id, CONF_DIR "/rm/tree/a/b.txt", "y", 1));
    rc = csdk_remove(t->s->h, id, CONF_DIR "/rm/file.txt", NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "remove a file");
    ex = exists_any(t, id, CONF_DIR "/rm/file.txt");
    if (ex < 0)
        return;
    CHECK(t, ex == 0, "a removed file still exists");
    rc = csdk_remove(t->s->h, id, CONF_DIR "/rm/tree", NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "remove a directory tree");
    ex = exists_any(t, id, CONF_DIR "/rm/tree");
    if (ex < 0)
        return;
    CHECK(t, ex == 0, "a removed directory tree still exists");
    rc = csdk_remove(t->s->h, id, CONF_DIR "/rm/no-such-file", NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "remove of a missing path");
}

static void case_fs_read_missing(tcase_t *t)
{
    csdk_error_t e;
    char *data;
    size_t n;
    csdk_status_t rc;
    NEED_SANDBOX(t, id);

    rc = read_file(t, id, CONF_DIR "/no-such-file", &data, &n, &e);
    CHECK_STATUS(t, rc, CSDK_E_NOT_FOUND, &e, "read_file of a missing file");
    CHECK(t, e.message[0] != '\0', "NOT_FOUND without a message");
    rc = read_file(t, id, "csdk-conf-no-such-dir/file.txt", &data, &n, &e);
    CHECK_STATUS(t, rc, CSDK_E_NOT_FOUND, &e,
                 "read_file in a missing directory");
}

/* Bytes that hold every value 0..255 (the first 256 in order, the rest
 * from xorshift so a shift or a dropped block shows). */
static void fill_binary(unsigned char *p, size_t n)
{
    uint32_t x = 2463534242u;

    for (size_t i = 0; i < n; i++) {
        if (i < 256) {
            p[i] = (unsigned char)i;
            continue;
        }
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        p[i] = (unsigned char)(x >> 11);
    }
}

static void binary_roundtrip(tcase_t *t, size_t size, const char *path)
{
    unsigned char *buf = t_alloc(t, size);
    uint64_t t0, tw;
    NEED_SANDBOX(t, id);

    fill_binary(buf, size);
    t0 = mono_ms();
    TRY(write_ok(t, id, path, buf, size));
    tw = mono_ms() - t0;
    TRY(read_is(t, id, path, buf, size));
    if (size >= MIB)
        printf("# write %" PRIu64 " ms, read %" PRIu64 " ms\n", tw,
               mono_ms() - t0 - tw);
}

static void case_fs_binary_0(tcase_t *t)
{
    binary_roundtrip(t, 0, CONF_DIR "/empty.bin");
}

static void case_fs_binary_1m(tcase_t *t)
{
    binary_roundtrip(t, MIB, CONF_DIR "/one.bin");
}

static void case_fs_binary_64m(tcase_t *t)
{
    binary_roundtrip(t, 64 * MIB, CONF_DIR "/sixtyfour.bin");
}

static void case_fs_commands(tcase_t *t)
{
    static const unsigned char bytes[] = {0x00, 0x01, 0x0a, 0x0d, 0xff};
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    /* API -> command: same working directory, same bytes. */
    TRY(write_ok(t, id, CONF_DIR "/api.txt", "from the api\n", 13));
    TRY(sh_ok(t, id, "cat " CONF_DIR "/api.txt", &r));
    TRY(out_is(t, "cat of a file written with write_file", r,
               "from the api\n"));
    TRY(write_ok(t, id, CONF_DIR "/api.bin", bytes, sizeof bytes));
    TRY(sh_ok(t, id, "od -An -tx1 " CONF_DIR "/api.bin | tr -d ' \\n'", &r));
    TRY(out_is(t, "od of binary written with write_file", r, "00010a0dff"));
    /* command -> API. */
    TRY(sh_ok(t, id, "printf 'from a command\\000\\377' > " CONF_DIR
                     "/cmd.bin",
              &r));
    TRY(read_is(t, id, CONF_DIR "/cmd.bin", "from a command\0\377", 16));
}

/* ------------------------------------------------------------------ */
/* Cases: named sandboxes and timeouts                                 */
/* ------------------------------------------------------------------ */

/* find_or_create NAME; the sandbox in *sb (case-owned). */
static csdk_status_t foc(tcase_t *t, const char *name, csdk_sandbox_t *sb,
                         csdk_error_t *e)
{
    csdk_create_opts_t o = create_opts();
    csdk_status_t rc;

    memset(e, 0, sizeof *e);
    rc = csdk_find_or_create(t->s->h, t->s->provider, CONF_NAMESPACE, name,
                             &o, NULL, sb, e);
    if (rc == CSDK_OK && sb->id)
        remember(t->s, sb->id);
    return rc;
}

static void case_find_or_create(tcase_t *t)
{
    suite_t *s = t->s;
    csdk_sandbox_t *a = new_sandbox(t), *b = new_sandbox(t);
    csdk_error_t e;
    csdk_status_t rc;

    rc = foc(t, s->named_name, a, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "find_or_create (first)");
    CHECK(t, a->id && a->id[0], "find_or_create returned no id");
    s->named_id = xstrdup(a->id);
    CHECK(t, a->created == 1, "the first find_or_create reported created %"
          PRId32 ", expected 1", a->created);
    rc = foc(t, s->named_name, b, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "find_or_create (second)");
    CHECK(t, b->id && strcmp(b->id, a->id) == 0,
          "the second find_or_create returned %s, the first %s",
          show_str(b->id), a->id);
    CHECK(t, b->created == 0, "the second find_or_create reported created %"
          PRId32 ", expected 0", b->created);
    CHECK(t, a->name == NULL || strcmp(a->name, s->named_name) == 0,
          "find_or_create reported name %s, expected %s", show_str(a->name),
          s->named_name);
}

/* The named sandbox, made now if named.find_or_create did not run. */
static const char *named(tcase_t *t)
{
    suite_t *s = t->s;

    if (s->named_id == NULL) {
        csdk_sandbox_t *sb = new_sandbox(t);
        csdk_error_t e;
        csdk_status_t rc = foc(t, s->named_name, sb, &e);

        if (rc != CSDK_OK || sb->id == NULL) {
            failf(t, "find_or_create: %s", status_text(rc, &e));
            return NULL;
        }
        s->named_id = xstrdup(sb->id);
    }
    return s->named_id;
}

static void case_find(tcase_t *t)
{
    csdk_sandbox_t *sb = new_sandbox(t);
    csdk_error_t e;
    csdk_status_t rc;
    const char *id = named(t);

    if (id == NULL)
        return;
    memset(&e, 0, sizeof e);
    rc = csdk_find(t->s->h, t->s->provider, CONF_NAMESPACE,
                   t->s->named_name, NULL, sb, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "find of a named sandbox");
    CHECK(t, sb->id && strcmp(sb->id, id) == 0,
          "find returned %s, find_or_create %s", show_str(sb->id), id);
}

static void case_find_unknown(tcase_t *t)
{
    csdk_sandbox_t *sb = new_sandbox(t);
    char name[160];
    csdk_error_t e;
    csdk_status_t rc;

    memset(&e, 0, sizeof e);
    snprintf(name, sizeof name, "%s-never-made", t->s->named_name);
    rc = csdk_find(t->s->h, t->s->provider, CONF_NAMESPACE, name, NULL, sb,
                   &e);
    CHECK_STATUS(t, rc, CSDK_E_NOT_FOUND, &e, "find of an unknown name");
    rc = csdk_find(t->s->h, t->s->provider, "csdk-conformance-other",
                   t->s->named_name, NULL, sb, &e);
    CHECK_STATUS(t, rc, CSDK_E_NOT_FOUND, &e,
                 "find of a known name in another namespace");
}

static void case_named_after_destroy(tcase_t *t)
{
    csdk_sandbox_t *a = new_sandbox(t), *b = new_sandbox(t),
                   *f = new_sandbox(t), *g = new_sandbox(t);
    char name[160];
    csdk_error_t e;
    csdk_status_t rc;

    snprintf(name, sizeof name, "%s-again", t->s->named_name);
    rc = foc(t, name, a, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "find_or_create");
    CHECK(t, a->created == 1, "find_or_create of a new name reported created "
          "%" PRId32, a->created);
    rc = csdk_destroy(t->s->h, a->id, NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "destroy the named sandbox");
    if (has_caps(t->s, CSDK_CAP(CSDK_M_FIND))) {
        rc = csdk_find(t->s->h, t->s->provider, CONF_NAMESPACE, name, NULL, f,
                       &e);
        CHECK_STATUS(t, rc, CSDK_E_NOT_FOUND, &e,
                     "find of a destroyed named sandbox");
    }
    rc = foc(t, name, b, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "find_or_create after destroy");
    CHECK(t, b->created == 1, "find_or_create after the sandbox was destroyed "
          "reported created %" PRId32 " (id %s, the destroyed one %s)",
          b->created, show_str(b->id), a->id);
    rc = csdk_get(t->s->h, b->id, NULL, g, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "get of the re-created named sandbox");
    rc = csdk_destroy(t->s->h, b->id, NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "destroy");
}

static void case_extend_timeout(tcase_t *t)
{
    csdk_sandbox_t *before = new_sandbox(t), *e1 = new_sandbox(t),
                   *e2 = new_sandbox(t), *after = new_sandbox(t);
    csdk_error_t e;
    csdk_status_t rc;
    int64_t was, now = wall_ms();
    NEED_SANDBOX(t, id);

    rc = csdk_get(t->s->h, id, NULL, before, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "get");
    was = before->expires_ms;
    if (was == 0 && before->created_ms > 0 && before->timeout_ms > 0)
        was = before->created_ms + before->timeout_ms;
    rc = csdk_extend_timeout(t->s->h, id, 60000, NULL, e1, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "extend_timeout by 60000 ms");
    CHECK(t, e1->expires_ms > now,
          "extend_timeout reported expires_ms %" PRId64 ", not after now (%"
          PRId64 ")", e1->expires_ms, now);
    CHECK(t, was == 0 || e1->expires_ms > was,
          "extend_timeout by 60 s reported expires_ms %" PRId64
          ", not later than before (%" PRId64 ")", e1->expires_ms, was);
    rc = csdk_extend_timeout(t->s->h, id, 60000, NULL, e2, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "extend_timeout again");
    CHECK(t, e2->expires_ms > e1->expires_ms,
          "a second extend_timeout by 60 s reported expires_ms %" PRId64
          ", not later than the first (%" PRId64 ")", e2->expires_ms,
          e1->expires_ms);
    rc = csdk_get(t->s->h, id, NULL, after, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "get after extend_timeout");
    CHECK(t, after->expires_ms == 0 || after->expires_ms >= e2->expires_ms - 1000,
          "get reports expires_ms %" PRId64 " after extend_timeout reported %"
          PRId64, after->expires_ms, e2->expires_ms);
    printf("# expires_ms before %" PRId64 ", after %" PRId64 ", %" PRId64 "\n",
           was, e1->expires_ms, e2->expires_ms);
}

/* ------------------------------------------------------------------ */
/* Cases: cancellation, call deadlines, odd input                      */
/* ------------------------------------------------------------------ */

typedef struct cancel_cap {
    uint64_t t0;
    uint64_t at_ms; /* when on_output first asked to stop */
    int fired;
} cancel_cap_t;

static int32_t cancel_fn(void *ud, int32_t stream, const void *data,
                         size_t len)
{
    cancel_cap_t *c = ud;

    (void)stream;
    (void)data;
    (void)len;
    if (!c->fired) {
        c->fired = 1;
        c->at_ms = mono_ms() - c->t0;
    }
    return 1;
}

/* Wait until `ms` after `t0` (mono_ms). */
static void sleep_until(uint64_t t0, uint64_t ms)
{
    uint64_t now = mono_ms();

    if (now < t0 + ms)
        sleep_ms((unsigned)(t0 + ms - now));
}

static void case_stream_cancel(tcase_t *t)
{
    csdk_run_opts_t o = ro_shell(
        "echo first; sleep 2; echo late > csdk-conf-cancel; sleep 30");
    csdk_call_opts_t c = call_opts(CONF_RUN_DEADLINE_MS);
    cancel_cap_t *cc = t_alloc(t, sizeof *cc);
    csdk_result_t *r = new_result(t);
    csdk_error_t e;
    csdk_status_t rc;
    uint64_t took;
    int there;
    NEED_SANDBOX(t, id);

    memset(&e, 0, sizeof e);
    c.on_output = cancel_fn;
    c.output_ud = cc;
    cc->t0 = mono_ms();
    rc = csdk_run_command(t->s->h, id, &o, &c, r, &e);
    took = mono_ms() - cc->t0;
    CHECK(t, cc->fired, "no output reached on_output (the call: %s)",
          status_text(rc, &e));
    CHECK_STATUS(t, rc, CSDK_E_CANCELLED, &e,
                 "a call whose on_output returned non-zero");
    CHECK(t, took < 1800,
          "the call returned %" PRIu64 " ms after it started, %" PRIu64
          " ms after on_output asked it to stop", took, took - cc->at_ms);
    sleep_until(cc->t0, 3000);
    there = exists_by_command(t, id, "csdk-conf-cancel");
    if (there < 0)
        return;
    CHECK(t, there == 0,
          "the command of a cancelled call kept running: it wrote "
          "csdk-conf-cancel 2 s in");
}

static void case_deadline(tcase_t *t)
{
    csdk_run_opts_t o = ro_shell(
        "sleep 2; echo late > csdk-conf-deadline; sleep 30");
    csdk_call_opts_t c = call_opts(1000);
    csdk_result_t *r = new_result(t);
    csdk_error_t e;
    csdk_status_t rc;
    uint64_t t0, took;
    int there;
    NEED_SANDBOX(t, id);

    memset(&e, 0, sizeof e);
    t0 = mono_ms();
    rc = csdk_run_command(t->s->h, id, &o, &c, r, &e);
    took = mono_ms() - t0;
    CHECK_STATUS(t, rc, CSDK_E_TIMEOUT, &e,
                 "a command running past the call's deadline_ms (1000)");
    CHECK(t, took < 1800,
          "the call with deadline_ms 1000 returned after %" PRIu64 " ms",
          took);
    sleep_until(t0, 3000);
    there = exists_by_command(t, id, "csdk-conf-deadline");
    if (there < 0)
        return;
    CHECK(t, there == 0,
          "the command kept running after its call's deadline: it wrote "
          "csdk-conf-deadline 2 s in");
}

static void case_utf8(tcase_t *t)
{
    static const char word[] =
        "h\xc3\xa9llo \xe2\x9c\x93 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82";
    static const char *const argv[] = {"printf", "%s", word, NULL};
    static const csdk_kv_t env[] = {{"CSDK_CONF_U", word}};
    csdk_run_opts_t o = ro_argv(argv);
    csdk_result_t *r;
    char cmd[128];
    NEED_SANDBOX(t, id);

    TRY(run_expect(t, id, &o, 0, "argv with UTF-8", &r));
    TRY(out_is(t, "argv with UTF-8", r, word));
    o = ro_shell("printf '%s' \"$CSDK_CONF_U\"");
    o.env = env;
    o.n_env = 1;
    TRY(run_expect(t, id, &o, 0, "an env value with UTF-8", &r));
    TRY(out_is(t, "an env value with UTF-8", r, word));
    snprintf(cmd, sizeof cmd, "printf '%%s' '%s'", word);
    TRY(sh_ok(t, id, cmd, &r));
    TRY(out_is(t, "a shell string with UTF-8", r, word));
}

static void case_long_command(tcase_t *t)
{
    size_t n = 100000;
    char *big = t_alloc(t, n + 1);
    char *cmd = t_alloc(t, n + 64);
    const char *argv[] = {"sh", "-c", "printf %s \"$1\" | wc -c", "sh", big,
                          NULL};
    csdk_run_opts_t o = ro_argv(argv);
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    memset(big, 'a', n);
    TRY(run_expect(t, id, &o, 0, "argv with a 100000-byte argument", &r));
    CHECK(t, r->out_len > 0 && strtoul(r->out, NULL, 10) == n,
          "a 100000-byte argument arrived as %s bytes",
          show(r->out, r->out_len));
    snprintf(cmd, n + 64, "printf %%s '%s' | wc -c", big);
    o = ro_shell(cmd);
    TRY(run_expect(t, id, &o, 0, "a 100000-byte shell string", &r));
    CHECK(t, r->out_len > 0 && strtoul(r->out, NULL, 10) == n,
          "a 100000-byte literal in a shell string arrived as %s bytes",
          show(r->out, r->out_len));
}

/* ------------------------------------------------------------------ */
/* Cases: more code                                                    */
/* ------------------------------------------------------------------ */

static void case_py_stream(tcase_t *t)
{
    static const char code[] = "import time\n"
                               "print('first', flush=True)\n"
                               "time.sleep(2)\n"
                               "print('second')\n";
    csdk_run_opts_t o = ro_shell(NULL);
    csdk_call_opts_t c = call_opts(CONF_RUN_DEADLINE_MS);
    capture_t *cap = t_alloc(t, sizeof *cap);
    csdk_result_t *r = new_result(t);
    csdk_error_t e;
    csdk_status_t rc;
    uint64_t took;
    NEED_SANDBOX(t, id);

    memset(&e, 0, sizeof e);
    c.on_output = capture_fn;
    c.output_ud = cap;
    cap->t0 = mono_ms();
    rc = csdk_run_code(t->s->h, id, code, strlen(code), "python", &o, &c, r,
                       &e);
    took = mono_ms() - cap->t0;
    CHECK_STATUS(t, rc, CSDK_OK, &e, "python that prints, sleeps 2 s, prints");
    CHECK(t, r->exit_code == 0, "exit %" PRId32 ", streamed stderr %s",
          r->exit_code, show(cap->keep[2], cap_len(cap, 2)));
    CHECK(t, took >= 2000, "the call took %" PRIu64 " ms; the sleep did not "
          "run", took);
    CHECK(t, cap->got_first && cap->first_ms < 1500,
          "the first chunk of python output arrived %" PRIu64 " ms after the "
          "call started (it took %" PRIu64 " ms): code output is not "
          "streamed", cap->first_ms, took);
    CHECK(t, cap->total[1] == 13 &&
                 memcmp(cap->keep[1], "first\nsecond\n", 13) == 0,
          "streamed stdout is %s", show(cap->keep[1], cap_len(cap, 1)));
}

static void case_code_runtime_default(tcase_t *t)
{
    static const char code[] = "const n = 6 * 7;\nconsole.log('js' + n);\n";
    csdk_create_opts_t o = create_opts();
    csdk_sandbox_t *sb = new_sandbox(t), *got = new_sandbox(t);
    csdk_call_opts_t c = call_opts(CONF_RUN_DEADLINE_MS);
    csdk_result_t *r = new_result(t);
    csdk_error_t e;
    csdk_status_t rc;

    o.runtime = "node";
    rc = make_sandbox(t, &o, sb, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "create with runtime node");
    CHECK(t, sb->runtime == NULL || strcmp(sb->runtime, "node") == 0,
          "create with runtime node reported runtime %s",
          show_str(sb->runtime));
    rc = csdk_get(t->s->h, sb->id, NULL, got, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "get");
    CHECK(t, got->runtime == NULL || strcmp(got->runtime, "node") == 0,
          "get of a sandbox created with runtime node reports runtime %s",
          show_str(got->runtime));
    rc = csdk_run_code(t->s->h, sb->id, code, strlen(code), NULL, NULL, &c, r,
                       &e);
    CHECK(t, rc == CSDK_OK && r->exit_code == 0 && r->out_len == 5 &&
                 memcmp(r->out, "js42\n", 5) == 0,
          "run_code without a language in a node sandbox: got %s, %s; the "
          "sandbox's runtime is the default language", status_text(rc, &e),
          describe(r));
    rc = csdk_destroy(t->s->h, sb->id, NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "destroy");
}

static void case_code_unknown_language(tcase_t *t)
{
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    NEED_SANDBOX(t, id);

    rc = run_code(t, id, "csdk-conf-no-such-language", "x = 1\n", NULL, &r,
                  &e);
    CHECK(t, rc == CSDK_E_INVALID_ARGUMENT || rc == CSDK_E_NOT_SUPPORTED,
          "run_code in an unknown language: got %s, expected INVALID_ARGUMENT "
          "or NOT_SUPPORTED", status_text(rc, &e));
    CHECK(t, e.message[0] != '\0', "%s without a message",
          csdk_status_name(rc));
}

/* ------------------------------------------------------------------ */
/* Cases: more files; confinement                                      */
/* ------------------------------------------------------------------ */

static void case_fs_odd_names(tcase_t *t)
{
    static const char p1[] =
        CONF_DIR "/odd dir/\xc3\xbc \xc3\xb1 \xe2\x82\xac.txt";
    static const char p2[] = CONF_DIR "/odd dir/-dash 'q' $x.txt";
    static const char *const cat[] = {"cat", "--", p1, p2, NULL};
    csdk_run_opts_t o = ro_argv(cat);
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    TRY(write_ok(t, id, p1, "one\n", 4));
    TRY(write_ok(t, id, p2, "two\n", 4));
    TRY(read_is(t, id, p1, "one\n", 4));
    TRY(read_is(t, id, p2, "two\n", 4));
    TRY(run_expect(t, id, &o, 0, "cat of files with odd names", &r));
    TRY(out_is(t, "cat of files with odd names", r, "one\ntwo\n"));
    if (has_caps(t->s, CSDK_CAP(CSDK_M_READDIR))) {
        csdk_dirent_t *ents = NULL;
        size_t n = 0;
        csdk_error_t e;
        csdk_status_t rc;

        memset(&e, 0, sizeof e);
        rc = csdk_readdir(t->s->h, id, CONF_DIR "/odd dir", NULL, &ents, &n,
                          &e);
        own(t, OWN_DIRENTS, ents, n);
        CHECK_STATUS(t, rc, CSDK_OK, &e, "readdir of a directory with a space");
        CHECK(t, find_ent(ents, n, strrchr(p1, '/') + 1) &&
                     find_ent(ents, n, strrchr(p2, '/') + 1),
              "readdir lacks the UTF-8 or the quoted name (%zu entries)", n);
    }
}

static void case_fs_read_directory(tcase_t *t)
{
    csdk_error_t e;
    char *data;
    size_t n = 0;
    csdk_status_t rc;
    NEED_SANDBOX(t, id);

    TRY(write_ok(t, id, CONF_DIR "/dir-probe/f", "x", 1));
    rc = read_file(t, id, CONF_DIR "/dir-probe", &data, &n, &e);
    CHECK(t, rc != CSDK_OK,
          "read_file of a directory returned OK (%zu bytes)", n);
    CHECK(t, e.message[0] != '\0', "%s without a message",
          csdk_status_name(rc));
}

/* Write a file on the machine running the suite; removed when the case
 * ends.  -1 (case failed) when it cannot be written. */
static int host_file(tcase_t *t, const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    if (f == NULL) {
        failf(t, "cannot write %s on this machine: %s", path,
              strerror(errno));
        return -1;
    }
    fputs(text, f);
    fclose(f);
    own(t, OWN_UNLINK, xstrdup(path), 0);
    return 0;
}

static int host_exists(const char *path)
{
    return access(path, F_OK) == 0;
}

static void case_fs_confined(tcase_t *t)
{
    static const char up[] = "../../../../../../../../../../..";
    const suite_t *s = t->s;
    char dir[128], secret[160], victim[160], esc[160], cmd[512];
    char rel[300], via[3][300];
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    /* Everything on this machine lives in one directory of its own, so a
     * provider that wrongly follows the links can only touch that. */
    snprintf(dir, sizeof dir, "/tmp/csdk-conf-host-%s", s->tag);
    snprintf(secret, sizeof secret, "%s/secret", dir);
    snprintf(victim, sizeof victim, "%s/victim", dir);
    snprintf(esc, sizeof esc, "%s/escape", dir);
    if (mkdir(dir, 0755) != 0) {
        failf(t, "cannot make %s on this machine: %s", dir, strerror(errno));
        return;
    }
    own(t, OWN_UNLINK, xstrdup(dir), 0); /* removed last */
    own(t, OWN_UNLINK, xstrdup(esc), 0); /* in case it gets made */
    TRY(host_file(t, secret, "host secret\n"));
    TRY(host_file(t, victim, "victim\n"));
    snprintf(cmd, sizeof cmd,
             "mkdir -p " CONF_DIR " && ln -sfn %s " CONF_DIR "/host-link && "
             "ln -sfn / " CONF_DIR "/root-link",
             dir);
    TRY(sh_ok(t, id, cmd, &r));

    /* Reads that would reach this machine's file. */
    snprintf(via[0], sizeof via[0], "%s%s", up, secret);
    snprintf(via[1], sizeof via[1], CONF_DIR "/host-link/secret");
    snprintf(via[2], sizeof via[2], CONF_DIR "/root-link%s", secret);
    for (int i = -1; i < 3; i++) {
        const char *p = i < 0 ? secret : via[i];
        csdk_error_t e;
        char *data = NULL;
        size_t n = 0;
        csdk_status_t rc = read_file(t, id, p, &data, &n, &e);

        CHECK(t, !(rc == CSDK_OK && contains(data, n, "host secret")),
              "read_file %s returned %s of the machine running the suite: "
              "the path left the sandbox", p, secret);
        if (has_caps(s, CSDK_CAP(CSDK_M_EXISTS))) {
            int32_t ex = 0;

            rc = csdk_exists(s->h, id, p, NULL, &ex, &e);
            CHECK(t, !(rc == CSDK_OK && ex == 1),
                  "exists %s says yes: it sees %s of the machine running the "
                  "suite", p, secret);
        }
    }
    if (has_caps(s, CSDK_CAP(CSDK_M_READDIR))) {
        csdk_dirent_t *ents = NULL;
        size_t n = 0;
        csdk_error_t e;
        csdk_status_t rc;

        memset(&e, 0, sizeof e);
        rc = csdk_readdir(s->h, id, CONF_DIR "/host-link", NULL, &ents, &n,
                          &e);
        own(t, OWN_DIRENTS, ents, n);
        CHECK(t, rc != CSDK_OK || !find_ent(ents, n, "secret"),
              "readdir " CONF_DIR "/host-link lists %s of the machine "
              "running the suite", dir);
    }

    /* Writes and mkdir that would reach it. */
    snprintf(via[0], sizeof via[0], "%s%s", up, esc);
    snprintf(via[1], sizeof via[1], CONF_DIR "/host-link/escape");
    snprintf(via[2], sizeof via[2], CONF_DIR "/root-link%s", esc);
    for (int i = 0; i < 3; i++) {
        csdk_error_t e;
        csdk_status_t rc;

        memset(&e, 0, sizeof e);
        rc = csdk_write_file(s->h, id, via[i], "escaped\n", 8, NULL, &e);
        CHECK(t, !host_exists(esc),
              "write_file %s (%s) created %s on the machine running the "
              "suite", via[i], csdk_status_name(rc), esc);
        if (has_caps(s, CSDK_CAP(CSDK_M_MKDIR))) {
            rc = csdk_mkdir(s->h, id, via[i], NULL, &e);
            CHECK(t, !host_exists(esc),
                  "mkdir %s (%s) created %s on the machine running the "
                  "suite", via[i], csdk_status_name(rc), esc);
        }
    }

    /* Removes that would reach it, and removing the link itself. */
    if (has_caps(s, CSDK_CAP(CSDK_M_REMOVE))) {
        csdk_error_t e;
        csdk_status_t rc;

        snprintf(rel, sizeof rel, "%s%s", up, victim);
        snprintf(via[0], sizeof via[0], CONF_DIR "/host-link/victim");
        snprintf(via[1], sizeof via[1], CONF_DIR "/root-link%s", victim);
        for (int i = -1; i < 2; i++) {
            const char *p = i < 0 ? rel : via[i];

            memset(&e, 0, sizeof e);
            rc = csdk_remove(s->h, id, p, NULL, &e);
            CHECK(t, host_exists(victim),
                  "remove %s (%s) deleted %s on the machine running the suite",
                  p, csdk_status_name(rc), victim);
        }
        memset(&e, 0, sizeof e);
        rc = csdk_remove(s->h, id, CONF_DIR "/host-link", NULL, &e);
        CHECK(t, host_exists(victim) && host_exists(secret),
              "remove of a symlink to %s (%s) deleted files there on the "
              "machine running the suite", dir, csdk_status_name(rc));
    }
}

static void case_host_isolation(tcase_t *t)
{
    char path[128], cmd[512];
    csdk_result_t *r;
    NEED_SANDBOX(t, id);

    snprintf(path, sizeof path, "/tmp/csdk-conf-hostfile-%s", t->s->tag);
    TRY(host_file(t, path, "host secret\n"));
    snprintf(cmd, sizeof cmd,
             "cat %s 2>/dev/null; "
             "tr '\\000' ' ' < /proc/%ld/cmdline 2>/dev/null; true",
             path, (long)getpid());
    TRY(sh_ok(t, id, cmd, &r));
    CHECK(t, !contains(r->out, r->out_len, "host secret"),
          "a command read %s of the machine running the suite", path);
    CHECK(t, !contains(r->out, r->out_len, "conformance"),
          "a command sees the suite's own process (/proc/%ld): %s",
          (long)getpid(), show(r->out, r->out_len));
}

/* ------------------------------------------------------------------ */
/* Cases: lifetime                                                     */
/* ------------------------------------------------------------------ */

static void case_lifetime(tcase_t *t)
{
    csdk_create_opts_t o = create_opts();
    csdk_sandbox_t *sb = new_sandbox(t), *sbs;
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc = CSDK_OK;
    csdk_run_opts_t echo = ro_shell("echo alive");
    uint64_t t0 = mono_ms();
    size_t n;
    int gone = 0;

    o.timeout_ms = 3000;
    rc = make_sandbox(t, &o, sb, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "create with timeout_ms 3000");
    TRY(sh_ok(t, sb->id, "echo alive", &r));
    sleep_until(t0, 3500);
    while (mono_ms() - t0 < 20000) {
        csdk_sandbox_t *g = new_sandbox(t);

        memset(&e, 0, sizeof e);
        rc = csdk_get(t->s->h, sb->id, NULL, g, &e);
        if (rc == CSDK_E_NOT_FOUND) {
            gone = 1;
            break;
        }
        CHECK_STATUS(t, rc, CSDK_OK, &e, "get of an expiring sandbox");
        sleep_ms(500);
    }
    CHECK(t, gone,
          "a sandbox created with timeout_ms 3000 is still there 20 s later "
          "(get OK)");
    rc = run(t, sb->id, &echo, &r, &e);
    CHECK_STATUS(t, rc, CSDK_E_NOT_FOUND, &e,
                 "run_command in a sandbox past its lifetime");
    TRY(list_sandboxes(t, &sbs, &n));
    CHECK(t, !list_has(sbs, n, sb->id),
          "list still has a sandbox past its lifetime");
    printf("# gone after %" PRIu64 " ms\n", mono_ms() - t0);
}

static void case_lifetime_extend(tcase_t *t)
{
    csdk_create_opts_t o = create_opts();
    csdk_sandbox_t *sb = new_sandbox(t), *x = new_sandbox(t);
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    uint64_t t0 = mono_ms();

    o.timeout_ms = 3000;
    rc = make_sandbox(t, &o, sb, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "create with timeout_ms 3000");
    rc = csdk_extend_timeout(t->s->h, sb->id, 6000, NULL, x, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "extend_timeout by 6000 ms");
    sleep_until(t0, 5000);
    TRY(sh_ok(t, sb->id, "echo alive", &r));
    TRY(out_is(t, "a sandbox 5 s into a 3 s lifetime extended by 6 s", r,
               "alive\n"));
    rc = csdk_destroy(t->s->h, sb->id, NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "destroy");
}

/* ------------------------------------------------------------------ */
/* Cases across processes                                              */
/* ------------------------------------------------------------------ */

/* A helper process: this program again, in --child mode, with its stdout
 * on a pipe. */
typedef struct child {
    pid_t pid;
    int fd;
    char out[2048];
    size_t len;
    int status;
} child_t;

static int child_start(tcase_t *t, child_t *c, const char *const *args)
{
    posix_spawn_file_actions_t fa;
    int fds[2], rc;

    memset(c, 0, sizeof *c);
    c->fd = -1;
    if (pipe2(fds, O_CLOEXEC) != 0) {
        if (t != NULL)
            failf(t, "pipe: %s", strerror(errno));
        return -1;
    }
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    rc = posix_spawn(&c->pid, g_self, &fa, NULL, (char *const *)args,
                     environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
        close(fds[0]);
        if (t != NULL)
            failf(t, "cannot start a helper process (%s): %s", g_self,
                  strerror(rc));
        return -1;
    }
    c->fd = fds[0];
    return 0;
}

/* Collect a helper's output and exit status; kill it after `limit_ms`.
 * -1 when it had to be killed. */
static int child_finish(child_t *c, uint64_t limit_ms)
{
    uint64_t t0 = mono_ms();
    int killed = 0;

    while (c->fd >= 0) {
        struct pollfd p = {.fd = c->fd, .events = POLLIN};
        uint64_t el = mono_ms() - t0;
        ssize_t n;

        if (el >= limit_ms) {
            kill(c->pid, SIGKILL);
            killed = 1;
            break;
        }
        if (poll(&p, 1, (int)(limit_ms - el)) <= 0)
            continue;
        n = read(c->fd, c->out + c->len, sizeof c->out - 1 - c->len);
        if (n <= 0)
            break;
        c->len += (size_t)n;
        if (c->len == sizeof c->out - 1)
            break;
    }
    c->out[c->len] = '\0';
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    while (waitpid(c->pid, &c->status, 0) < 0 && errno == EINTR)
        ;
    if (c->len == 0) {
        if (WIFEXITED(c->status))
            snprintf(c->out, sizeof c->out, "(no output; exit %d)",
                     WEXITSTATUS(c->status));
        else if (WIFSIGNALED(c->status))
            snprintf(c->out, sizeof c->out, "(no output; killed by signal "
                     "%d)", WTERMSIG(c->status));
        c->len = strlen(c->out);
    }
    return killed ? -1 : 0;
}

static void case_persistence(tcase_t *t)
{
    child_t c;
    NEED_SANDBOX(t, id);
    const char *args[] = {"conformance", "--child", t->s->config,
                          t->s->provider, "get", id, NULL};

    TRY(child_start(t, &c, args));
    CHECK(t, child_finish(&c, 60000) == 0,
          "the helper process did not finish within 60 s");
    CHECK(t, strcmp(c.out, "OK\n") == 0,
          "another process that opened the same configuration cannot use "
          "sandbox %s: %s", id, show(c.out, c.len));
}

static void case_named_race(tcase_t *t)
{
    enum { N = 4 };
    child_t c[N];
    char name[160], at[32], ids[N][256];
    int created = 0, started = 0;
    const char *args[] = {"conformance", "--child", t->s->config,
                          t->s->provider, "foc", CONF_NAMESPACE, name, at,
                          NULL};

    snprintf(name, sizeof name, "%s-race", t->s->named_name);
    /* Every helper opens its own host, then calls find_or_create at the
     * same wall-clock moment. */
    snprintf(at, sizeof at, "%" PRId64, wall_ms() + 1500);
    for (int i = 0; i < N; i++) {
        if (child_start(t, &c[i], args) != 0)
            break;
        started++;
    }
    for (int i = 0; i < started; i++)
        child_finish(&c[i], 60000);
    if (t->failed)
        return;
    for (int i = 0; i < N; i++) {
        int cr = -1;

        ids[i][0] = '\0';
        if (sscanf(c[i].out, "%255s %d", ids[i], &cr) == 2 &&
            strcmp(ids[i], "ERR") != 0)
            remember(t->s, ids[i]);
        CHECK(t, cr == 0 || cr == 1,
              "process %d of %d racing on find_or_create: %s", i + 1, N,
              show(c[i].out, c[i].len));
        created += cr;
    }
    for (int i = 1; i < N; i++)
        CHECK(t, strcmp(ids[i], ids[0]) == 0,
              "%d processes racing on find_or_create of one name got "
              "different sandboxes: %s and %s", N, ids[0], ids[i]);
    CHECK(t, created == 1,
          "%d processes racing on find_or_create: %d reported created, "
          "expected exactly 1", N, created);
}

/* --child CONFIG PROVIDER OP ARGS: what a helper process does.
 *   get ID                  get ID and run `echo persisted` in it; "OK"
 *   foc NS NAME AT_WALL_MS  at that moment, find_or_create; "ID CREATED"
 *   destroy ID...           destroy each; "OK", or "ERR ..." per failure
 * Anything else prints "ERR ...". */
static int child_main(int argc, char **argv)
{
    csdk_t *h = NULL;
    csdk_error_t e;
    csdk_status_t rc;
    csdk_sandbox_t sb;

    memset(&e, 0, sizeof e);
    memset(&sb, 0, sizeof sb);
    if (argc < 3) {
        printf("ERR usage\n");
        return 2;
    }
    if (csdk_open(argv[0], NULL, &h, &e) != CSDK_OK) {
        printf("ERR open %s: %s\n", argv[0], e.message);
        return 1;
    }
    if (strcmp(argv[2], "get") == 0 && argc == 4) {
        csdk_run_opts_t o = ro_shell("echo persisted");
        csdk_result_t r;

        memset(&r, 0, sizeof r);
        rc = csdk_get(h, argv[3], NULL, &sb, &e);
        if (rc != CSDK_OK) {
            printf("ERR get: %s\n", status_text(rc, &e));
        } else {
            rc = csdk_run_command(h, argv[3], &o, NULL, &r, &e);
            if (rc == CSDK_OK && r.exit_code == 0 && r.out_len == 10 &&
                memcmp(r.out, "persisted\n", 10) == 0)
                printf("OK\n");
            else
                printf("ERR run_command: %s, %s\n", status_text(rc, &e),
                       describe(&r));
            csdk_result_clear(&r);
        }
    } else if (strcmp(argv[2], "foc") == 0 && argc == 6) {
        csdk_create_opts_t o = create_opts();
        int64_t at = strtoll(argv[5], NULL, 10), now = wall_ms();

        if (at > now && at - now < 10000)
            sleep_ms((unsigned)(at - now));
        rc = csdk_find_or_create(h, argv[1], argv[3], argv[4], &o, NULL, &sb,
                                 &e);
        if (rc == CSDK_OK)
            printf("%s %" PRId32 "\n", sb.id, sb.created);
        else
            printf("ERR find_or_create: %s\n", status_text(rc, &e));
    } else if (strcmp(argv[2], "destroy") == 0) {
        int bad = 0;

        for (int i = 3; i < argc; i++) {
            rc = csdk_destroy(h, argv[i], NULL, &e);
            if (rc != CSDK_OK) {
                printf("ERR destroy %s: %s\n", argv[i], status_text(rc, &e));
                bad = 1;
            }
        }
        if (!bad)
            printf("OK\n");
    } else {
        printf("ERR unknown helper operation %s\n", argv[2]);
    }
    csdk_sandbox_clear(&sb);
    csdk_close(h);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Cases: a server reached through url; templates and snapshots        */
/* ------------------------------------------------------------------ */

/* GET an http:// URL with HTTP/1.0; the response (head and body) into
 * `out`.  0, or -1 with the reason in `why`. */
static int http_get(const char *url, char *out, size_t size, char *why,
                    size_t why_size)
{
    char host[256], port[16] = "80", path[512] = "/", req[1024];
    const char *p = url + 7, *end;
    struct addrinfo hints, *ai = NULL;
    struct timeval tv = {.tv_sec = 5};
    size_t len = 0, hl;
    int fd, rc;

    if (strncmp(url, "http://", 7) != 0) {
        snprintf(why, why_size, "not an http:// URL");
        return -1;
    }
    end = p + strcspn(p, ":/");
    hl = (size_t)(end - p);
    if (hl == 0 || hl >= sizeof host) {
        snprintf(why, why_size, "no host in the URL");
        return -1;
    }
    memcpy(host, p, hl);
    host[hl] = '\0';
    p = end;
    if (*p == ':') {
        size_t n = strcspn(++p, "/");

        if (n == 0 || n >= sizeof port) {
            snprintf(why, why_size, "bad port in the URL");
            return -1;
        }
        memcpy(port, p, n);
        port[n] = '\0';
        p += n;
    }
    if (*p == '/')
        snprintf(path, sizeof path, "%s", p);
    memset(&hints, 0, sizeof hints);
    hints.ai_socktype = SOCK_STREAM;
    rc = getaddrinfo(host, port, &hints, &ai);
    if (rc != 0) {
        snprintf(why, why_size, "%.100s: %s", host, gai_strerror(rc));
        return -1;
    }
    fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
                ai->ai_protocol);
    if (fd < 0) {
        snprintf(why, why_size, "socket: %s", strerror(errno));
        freeaddrinfo(ai);
        return -1;
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0) {
        snprintf(why, why_size, "connect %.100s:%s: %s", host, port,
                 strerror(errno));
        freeaddrinfo(ai);
        close(fd);
        return -1;
    }
    freeaddrinfo(ai);
    snprintf(req, sizeof req, "GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path,
             host);
    if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0) {
        snprintf(why, why_size, "send: %s", strerror(errno));
        close(fd);
        return -1;
    }
    for (;;) {
        ssize_t n = recv(fd, out + len, size - 1 - len, 0);

        if (n <= 0)
            break;
        len += (size_t)n;
        if (len == size - 1)
            break;
    }
    out[len] = '\0';
    close(fd);
    if (strncmp(out, "HTTP/1.", 7) != 0 || strncmp(out + 8, " 200", 4) != 0) {
        snprintf(why, why_size, "answer %s", show(out, len < 40 ? len : 40));
        return -1;
    }
    return 0;
}

static void case_url_serve(tcase_t *t)
{
    csdk_create_opts_t o = create_opts();
    csdk_sandbox_t *sb = new_sandbox(t);
    csdk_run_opts_t bg;
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    char marker[96], cmd[512], why[256] = "", *page = t_alloc(t, 65536);
    char *url = NULL;
    unsigned port = 20000u + (unsigned)(getpid() % 20000);
    uint64_t t0;
    int ok = 0;

    o.flags = CSDK_CREATE_NETWORK;
    rc = make_sandbox(t, &o, sb, &e);
    if (rc == CSDK_E_NOT_SUPPORTED) {
        printf("# no network: %s\n", e.message);
        return;
    }
    CHECK_STATUS(t, rc, CSDK_OK, &e, "create with CSDK_CREATE_NETWORK");
    memset(&e, 0, sizeof e);
    rc = csdk_url(t->s->h, sb->id, port, "http", NULL, &url, &e);
    own(t, OWN_PTR, url, 0);
    if (rc == CSDK_E_NOT_SUPPORTED) {
        CHECK(t, e.message[0] != '\0',
              "url answered NOT_SUPPORTED without saying why");
        printf("# not supported: %s\n", e.message);
        return;
    }
    CHECK_STATUS(t, rc, CSDK_OK, &e, "url of a networked sandbox");
    CHECK(t, url && url_scheme_ok(url), "url is %s", show_str(url));
    if (strncmp(url, "http://", 7) != 0) {
        printf("# %s not fetched (the suite speaks plain http only)\n", url);
        return;
    }
    snprintf(marker, sizeof marker, "csdk-conformance %s", t->s->tag);
    snprintf(cmd, sizeof cmd,
             "mkdir -p csdk-conf-www && printf '%%s\\n' '%s' > "
             "csdk-conf-www/index.html && cd csdk-conf-www && "
             "exec python3 -m http.server %u --bind 0.0.0.0 "
             ">/dev/null 2>&1",
             marker, port);
    bg = ro_shell(cmd);
    bg.flags = CSDK_RUN_BACKGROUND;
    rc = run(t, sb->id, &bg, &r, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "start python3 -m http.server in the "
                                     "background");
    t0 = mono_ms();
    while (!ok && mono_ms() - t0 < 15000) {
        if (http_get(url, page, 65536, why, sizeof why) == 0 &&
            strstr(page, marker) != NULL)
            ok = 1;
        else
            sleep_ms(300);
    }
    CHECK(t, ok, "a server on port %u in the sandbox is not reachable at %s "
          "within 15 s (last: %s)", port, url, why[0] ? why : "no marker");
    printf("# %s served the page after %" PRIu64 " ms\n", url,
           mono_ms() - t0);
    rc = csdk_destroy(t->s->h, sb->id, NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "destroy");
    /* Destroy ends everything the sandbox ran, servers included. */
    t0 = mono_ms();
    while (ok && mono_ms() - t0 < 5000) {
        if (http_get(url, page, 65536, why, sizeof why) != 0 ||
            strstr(page, marker) == NULL)
            ok = 0;
        else
            sleep_ms(200);
    }
    CHECK(t, !ok, "%s still serves the destroyed sandbox's page 5 s after "
          "destroy: its processes were not killed", url);
}

static const csdk_saved_t *find_saved(const csdk_saved_t *v, size_t n,
                                      const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].id && strcmp(v[i].id, id) == 0)
            return &v[i];
    return NULL;
}

/* Save the shared sandbox's files as a template or snapshot, create from
 * it, check the new sandbox starts with them and cannot change the saved
 * state, list and delete it. */
static void saved_roundtrip(tcase_t *t, int32_t kind)
{
    const char *what = kind == CSDK_SAVED_TEMPLATE ? "template" : "snapshot";
    csdk_create_opts_t o = create_opts();
    csdk_sandbox_t *a = new_sandbox(t), *b = new_sandbox(t);
    csdk_saved_t *items = NULL;
    const csdk_saved_t *it;
    csdk_result_t *r;
    csdk_error_t e;
    csdk_status_t rc;
    char name[128], *sid = NULL;
    size_t n = 0;
    NEED_SANDBOX(t, id);

    snprintf(name, sizeof name, "conf-%s-%s", what, t->s->tag);
    TRY(sh_ok(t, id, "mkdir -p csdk-conf-saved && echo original > "
                     "csdk-conf-saved/file",
              &r));
    memset(&e, 0, sizeof e);
    rc = csdk_saved_create(t->s->h, kind, id, name, NULL, &sid, &e);
    own(t, OWN_PTR, sid, 0);
    CHECK(t, rc == CSDK_OK, "%s_create: %s", what, status_text(rc, &e));
    CHECK(t, sid && strncmp(sid, t->s->provider, strlen(t->s->provider)) == 0 &&
                 sid[strlen(t->s->provider)] == ':',
          "%s_create returned id %s, expected %s:NATIVE", what, show_str(sid),
          t->s->provider);
    rc = csdk_saved_list(t->s->h, kind, t->s->provider, NULL, &items, &n, &e);
    CHECK(t, rc == CSDK_OK, "%s_list: %s", what, status_text(rc, &e));
    it = find_saved(items, n, sid);
    CHECK(t, it != NULL, "%s_list (%zu entries) lacks %s", what, n, sid);
    CHECK(t, it->name == NULL || strcmp(it->name, name) == 0,
          "%s_list reports name %s, expected %s", what, show_str(it->name),
          name);
    csdk_saved_free(items, n);
    items = NULL;

    /* A sandbox made from it starts with the files; changing them there
     * does not change the saved state. */
    o.template_id = sid;
    rc = make_sandbox(t, &o, a, &e);
    CHECK(t, rc == CSDK_OK, "create from %s %s: %s", what, sid,
          status_text(rc, &e));
    TRY(sh_ok(t, a->id, "cat csdk-conf-saved/file && echo changed > "
                        "csdk-conf-saved/file",
              &r));
    TRY(out_is(t, "a file of the sandbox the state was saved from", r,
               "original\n"));
    rc = make_sandbox(t, &o, b, &e);
    CHECK(t, rc == CSDK_OK, "create from %s %s again: %s", what, sid,
          status_text(rc, &e));
    TRY(sh_ok(t, b->id, "cat csdk-conf-saved/file", &r));
    TRY(out_is(t, "the file in a second sandbox made after the first one "
                  "changed it", r, "original\n"));
    rc = csdk_destroy(t->s->h, a->id, NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "destroy");
    rc = csdk_destroy(t->s->h, b->id, NULL, &e);
    CHECK_STATUS(t, rc, CSDK_OK, &e, "destroy");

    rc = csdk_saved_delete(t->s->h, kind, sid, NULL, &e);
    CHECK(t, rc == CSDK_OK, "%s_delete: %s", what, status_text(rc, &e));
    rc = csdk_saved_list(t->s->h, kind, t->s->provider, NULL, &items, &n, &e);
    it = rc == CSDK_OK ? find_saved(items, n, sid) : NULL;
    csdk_saved_free(items, n);
    CHECK(t, rc == CSDK_OK, "%s_list after delete: %s", what,
          status_text(rc, &e));
    CHECK(t, it == NULL, "%s_list still has %s after delete", what, sid);
    rc = csdk_saved_delete(t->s->h, kind, sid, NULL, &e);
    CHECK(t, rc == CSDK_E_NOT_FOUND,
          "%s_delete of a deleted id: got %s, expected NOT_FOUND", what,
          status_text(rc, &e));
}

static void case_template(tcase_t *t)
{
    saved_roundtrip(t, CSDK_SAVED_TEMPLATE);
}

static void case_snapshot(tcase_t *t)
{
    saved_roundtrip(t, CSDK_SAVED_SNAPSHOT);
}

/* ------------------------------------------------------------------ */
/* Cases: threads                                                      */
/* ------------------------------------------------------------------ */

typedef struct conc_arg {
    csdk_t *h;
    const char *id;
    int n;
    int fs; /* also write and read a file of its own */
    char why[512];
} conc_arg_t;

static void *conc_worker(void *p)
{
    conc_arg_t *a = p;

    for (int i = 0; i < 10 && a->why[0] == '\0'; i++) {
        char cmd[64], want[32], path[64];
        csdk_run_opts_t o;
        csdk_call_opts_t c = call_opts(CONF_RUN_DEADLINE_MS);
        csdk_result_t r;
        csdk_error_t e;
        csdk_status_t rc;

        snprintf(want, sizeof want, "t%d-%d", a->n, i);
        snprintf(cmd, sizeof cmd, "printf %%s %s", want);
        o = ro_shell(cmd);
        memset(&r, 0, sizeof r);
        memset(&e, 0, sizeof e);
        rc = csdk_run_command(a->h, a->id, &o, &c, &r, &e);
        if (rc != CSDK_OK || r.exit_code != 0 || r.out_len != strlen(want) ||
            memcmp(r.out, want, r.out_len) != 0)
            snprintf(a->why, sizeof a->why, "thread %d: %s: %s, %s", a->n,
                     cmd, status_text(rc, &e), describe(&r));
        csdk_result_clear(&r);
        if (a->why[0] != '\0' || !a->fs)
            continue;
        snprintf(path, sizeof path, CONF_DIR "/conc/%d.txt", a->n);
        rc = csdk_write_file(a->h, a->id, path, want, strlen(want), NULL, &e);
        if (rc == CSDK_OK) {
            void *data = NULL;
            size_t len = 0;

            rc = csdk_read_file(a->h, a->id, path, NULL, &data, &len, &e);
            if (rc == CSDK_OK &&
                (len != strlen(want) || memcmp(data, want, len) != 0))
                snprintf(a->why, sizeof a->why, "thread %d: read %s back as "
                         "%zu other bytes", a->n, path, len);
            free(data);
        }
        if (rc != CSDK_OK && a->why[0] == '\0')
            snprintf(a->why, sizeof a->why, "thread %d: %s: %s", a->n, path,
                     status_text(rc, &e));
    }
    return NULL;
}

static void case_concurrent(tcase_t *t)
{
    enum { N = 4 };
    conc_arg_t *a = t_alloc(t, N * sizeof *a);
    pthread_t th[N];
    int started = 0;
    NEED_SANDBOX(t, id);

    for (int i = 0; i < N; i++) {
        a[i].h = t->s->h;
        a[i].id = id;
        a[i].n = i;
        a[i].fs = has_caps(t->s, CSDK_CAP(CSDK_M_WRITE_FILE) |
                                     CSDK_CAP(CSDK_M_READ_FILE));
        if (pthread_create(&th[i], NULL, conc_worker, &a[i]) != 0)
            break;
        started++;
    }
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    CHECK(t, started == N, "could only start %d threads", started);
    for (int i = 0; i < N; i++)
        CHECK(t, a[i].why[0] == '\0', "%d threads at once: %s", N, a[i].why);
}

/* ------------------------------------------------------------------ */
/* The case table                                                      */
/* ------------------------------------------------------------------ */

#define C(m) CSDK_CAP(CSDK_M_##m)
#define RUN C(RUN_COMMAND)
#define CODE C(RUN_CODE)

static const case_def_t g_cases[] = {
    {"sandbox.create", C(CREATE), case_create, 0,
     "create returns an id of the form PROVIDER:NATIVE"},
    {"sandbox.get", C(GET), case_get, 0,
     "get returns the same id and the provider"},
    {"sandbox.list", C(LIST), case_list, 0,
     "list contains the sandbox; every id is the provider's"},
    {"sandbox.info", C(INFO), case_info, 0,
     "info returns the id, the provider and a status"},
    {"sandbox.get_unknown", C(GET) | C(INFO) | RUN | C(DESTROY),
     case_get_unknown, 0,
     "get/info/run_command of an unknown id: NOT_FOUND; destroy: OK"},

    {"cmd.shell_echo", RUN, case_shell_echo, 0,
     "shell `echo hello` -> \"hello\\n\", exit 0, empty stderr"},
    {"cmd.argv_echo", RUN, case_argv_echo, 0,
     "argv {echo, hello, world} -> \"hello world\\n\""},
    {"cmd.unknown_command", RUN, case_unknown_command, 0,
     "an unknown command (argv and shell) is OK with exit 127 and a reason "
     "on stderr, not an error"},
    {"cmd.exit_code", RUN, case_exit_code, 0,
     "exit codes pass through: sh -c 'exit 7' -> 7, exit 255, false -> 1"},
    {"cmd.killed_by_signal", RUN, case_killed_by_signal, 0,
     "a command killed by SIGKILL is OK with a non-zero exit"},
    {"cmd.quoting_argv", RUN, case_quoting_argv, 0,
     "argv {printf, %s|, a b, c} -> \"a b|c|\"; metacharacters stay literal"},
    {"cmd.quoting_shell", RUN, case_quoting_shell, 0,
     "shell `echo \"a  b\"` keeps both spaces; nested sh -c quoting"},
    {"cmd.home", RUN, case_home, 0,
     "$HOME expands in a shell command to an existing absolute directory"},
    {"cmd.redirect", RUN, case_redirect, 0,
     "`echo x > f && cat f` in the working directory and in /tmp"},
    {"cmd.pipe", RUN, case_pipe, 0, "a pipeline: printf | sort | tr"},
    {"cmd.cwd", RUN, case_cwd, 0,
     "the cwd option: /, /tmp, and a directory a command made"},
    {"cmd.env", RUN, case_env, 0,
     "the env option: values with spaces, = and quotes; PATH kept; not "
     "leaked into later commands"},
    {"cmd.stdin", RUN, case_stdin, 0,
     "stdin bytes (all values) reach the command exactly"},
    {"cmd.stdin_none", RUN, case_stdin_none, 0,
     "without stdin a command reading it sees end of file at once"},
    {"cmd.stdin_large", RUN, case_stdin_large, 0,
     "1 MiB of stdin reaches wc -c whole"},
    {"cmd.stdin_unread", RUN, case_stdin_unread, 0,
     "1 MiB of stdin a command never reads: exit 0, no hang, no SIGPIPE in "
     "the host"},
    {"cmd.output_large", RUN, case_output_large, 0,
     "seq 1 300000 (2 MB) arrives byte for byte"},
    {"cmd.both_streams_large", RUN, case_both_streams_large, 0,
     "1 MB on stderr then 1 MB on stdout: both whole, no deadlock"},
    {"cmd.background", RUN, case_background, 0,
     "a background command returns a pid at once and keeps running"},
    {"cmd.timeout", RUN, case_timeout, 0,
     "timeout_ms 500 ends `sleep 60` within 5 s, flagged TIMED_OUT"},
    {"cmd.timeout_kills_tree", RUN, case_timeout_kills_tree, 0,
     "a timeout kills the command's children too"},
    {"cmd.max_output", RUN, case_max_output, 0,
     "max_output 1000 on 100000 bytes: TRUNCATED, at most 1000 delivered "
     "(buffered and streamed); no flag under the cap"},
    {"cmd.max_output_endless", RUN, case_max_output_endless, 60,
     "max_output 1000 on `yes`: the call returns, TRUNCATED, at most 1000"},
    {"cmd.deadline", RUN, case_deadline, 0,
     "a call's deadline_ms (1000) ends a long command: TIMEOUT, and the "
     "command is killed"},
    {"cmd.utf8", RUN, case_utf8, 0,
     "UTF-8 in argv, env and a shell string arrives byte for byte"},
    {"cmd.long_command", RUN, case_long_command, 0,
     "a 100000-byte argument and a 100000-byte shell string"},

    {"cmd.threads", RUN, case_concurrent, 0,
     "4 threads run commands (and write and read files) in one sandbox at "
     "once; each gets its own output"},

    {"stream.first_chunk", RUN, case_stream_first_chunk, 0,
     "on_output gets \"first\" < 1.5 s into `echo first; sleep 2; echo "
     "second`"},
    {"stream.stderr_separate", RUN, case_stream_stderr, 0,
     "stdout and stderr stay separate, buffered and streamed"},
    {"stream.cancel", RUN, case_stream_cancel, 0,
     "on_output returning non-zero: CANCELLED at once, and the command is "
     "killed"},

    {"code.python.ok", CODE, case_py_ok, 0,
     "python: print -> stdout, exit 0"},
    {"code.python.runtime_error", CODE, case_py_runtime_error, 0,
     "python: raise -> OK, non-zero exit, traceback on stderr"},
    {"code.python.syntax_error", CODE, case_py_syntax_error, 0,
     "python: invalid syntax -> CSDK_E_SYNTAX, CSDK_RESULT_SYNTAX, "
     "SyntaxError on stderr, nothing ran"},
    {"code.python.options", CODE, case_py_options, 0,
     "python: run options env, cwd and stdin apply to code"},
    {"code.python.timeout", CODE, case_py_timeout, 0,
     "python: timeout_ms 500 ends time.sleep(60), TIMED_OUT"},
    {"code.node.ok", CODE, case_node_ok, 0,
     "node: console.log -> stdout, exit 0"},
    {"code.node.runtime_error", CODE, case_node_runtime_error, 0,
     "node: throw -> OK, non-zero exit, error on stderr"},
    {"code.node.syntax_error", CODE, case_node_syntax_error, 0,
     "node: invalid syntax -> CSDK_E_SYNTAX, CSDK_RESULT_SYNTAX, "
     "SyntaxError on stderr, nothing ran"},
    {"code.python.stream", CODE, case_py_stream, 0,
     "python output is streamed as it is printed"},
    {"code.runtime_default", C(CREATE) | C(GET) | CODE | C(DESTROY),
     case_code_runtime_default, 0,
     "a sandbox created with runtime node reports it and runs code without "
     "a language as node"},
    {"code.unknown_language", CODE, case_code_unknown_language, 0,
     "an unknown language -> INVALID_ARGUMENT or NOT_SUPPORTED, with a "
     "message"},

    {"url", C(URL), case_url, 0,
     "url of port 8080: an http(s)/ws(s) URL, or NOT_SUPPORTED with a "
     "reason"},
    {"url.serve", C(CREATE) | C(URL) | RUN | C(DESTROY), case_url_serve, 0,
     "in a sandbox created with network, a server started in the "
     "background answers at url(port)"},

    {"fs.write_read", C(WRITE_FILE) | C(READ_FILE), case_fs_write_read, 0,
     "write then read; a shorter rewrite replaces; parents are made"},
    {"fs.exists", C(WRITE_FILE) | C(EXISTS), case_fs_exists, 0,
     "exists: file 1, directory 1, missing 0 (not an error)"},
    {"fs.mkdir", C(MKDIR), case_fs_mkdir, 0,
     "mkdir makes parents; a command sees the directory; again is OK"},
    {"fs.readdir", C(WRITE_FILE) | C(READDIR), case_fs_readdir, 0,
     "readdir: bare names, types, sizes, mtime; missing dir NOT_FOUND"},
    {"fs.remove", C(WRITE_FILE) | C(REMOVE), case_fs_remove, 0,
     "remove a file and a tree; a missing path is OK"},
    {"fs.read_missing", C(READ_FILE), case_fs_read_missing, 0,
     "read_file of a missing file -> NOT_FOUND"},
    {"fs.binary_0b", C(WRITE_FILE) | C(READ_FILE), case_fs_binary_0, 0,
     "an empty file round-trips (read gives 0 bytes, not NOT_FOUND)"},
    {"fs.binary_1mib", C(WRITE_FILE) | C(READ_FILE), case_fs_binary_1m, 0,
     "1 MiB of all byte values round-trips exactly"},
    {"fs.binary_64mib", C(WRITE_FILE) | C(READ_FILE), case_fs_binary_64m, 300,
     "64 MiB of all byte values round-trips exactly"},
    {"fs.visible_to_commands", C(WRITE_FILE) | C(READ_FILE) | RUN,
     case_fs_commands, 0,
     "files written through the API are what commands see, and back"},
    {"fs.odd_names", C(WRITE_FILE) | C(READ_FILE) | RUN, case_fs_odd_names, 0,
     "names with spaces, UTF-8, quotes, $ and a leading dash"},
    {"fs.read_directory", C(WRITE_FILE) | C(READ_FILE),
     case_fs_read_directory, 0,
     "read_file of a directory is an error with a message"},
    {"fs.confined", C(WRITE_FILE) | C(READ_FILE) | RUN, case_fs_confined, 0,
     "file methods cannot reach this machine's files through .., absolute "
     "paths or symlinks"},

    {"sandbox.create_options", C(CREATE) | C(GET) | C(LIST) | RUN,
     case_create_options, 0,
     "create's env reaches commands; its metadata comes back from get and "
     "list"},
    {"sandbox.isolation", C(CREATE) | RUN, case_isolation, 0,
     "a file made in one sandbox is not visible in another"},
    {"sandbox.destroy", C(CREATE) | C(DESTROY) | C(GET) | C(LIST) | RUN,
     case_destroy, 0,
     "after destroy: get NOT_FOUND, list lacks it, run NOT_FOUND, destroy "
     "again OK"},
    {"sandbox.host_isolation", RUN, case_host_isolation, 0,
     "a command cannot read this machine's /tmp or see the suite's process"},
    {"sandbox.persistence", C(GET) | RUN, case_persistence, 0,
     "another process opening the same configuration can get and use the "
     "sandbox"},
    {"sandbox.lifetime", C(CREATE) | C(GET) | C(LIST) | RUN, case_lifetime,
     0, "a sandbox created with timeout_ms 3000 is gone (NOT_FOUND) soon "
     "after"},
    {"sandbox.lifetime_extend", C(CREATE) | C(EXTEND_TIMEOUT) | RUN,
     case_lifetime_extend, 0,
     "extend_timeout keeps a sandbox alive past its first lifetime"},

    {"named.find_or_create", C(FIND_OR_CREATE), case_find_or_create, 0,
     "find_or_create twice: same id, created 1 then 0"},
    {"named.find", C(FIND) | C(FIND_OR_CREATE), case_find, 0,
     "find of that name returns the same id"},
    {"named.find_unknown", C(FIND), case_find_unknown, 0,
     "find of an unknown name (or another namespace) -> NOT_FOUND"},
    {"named.race", C(FIND_OR_CREATE), case_named_race, 0,
     "4 processes racing on find_or_create of one name: one sandbox, "
     "created 1 exactly once"},
    {"named.after_destroy", C(FIND_OR_CREATE) | C(DESTROY) | C(GET),
     case_named_after_destroy, 0,
     "a destroyed named sandbox is gone: find NOT_FOUND, find_or_create "
     "creates anew"},

    {"sandbox.extend_timeout", C(EXTEND_TIMEOUT) | C(GET),
     case_extend_timeout, 0,
     "extend_timeout: OK, expires_ms later than before, and again"},

    {"saved.template",
     C(TEMPLATE_CREATE) | C(TEMPLATE_LIST) | C(TEMPLATE_DELETE) | C(CREATE) |
         C(DESTROY) | RUN,
     case_template, 0,
     "template: create (id PROVIDER:...), list, sandboxes made from it start "
     "with its files and cannot change it, delete, delete again NOT_FOUND"},
    {"saved.snapshot",
     C(SNAPSHOT_CREATE) | C(SNAPSHOT_LIST) | C(SNAPSHOT_DELETE) | C(CREATE) |
         C(DESTROY) | RUN,
     case_snapshot, 0, "snapshot: the same as saved.template"},
};

#define N_CASES (sizeof g_cases / sizeof g_cases[0])

/* ------------------------------------------------------------------ */
/* Watchdog                                                            */
/* ------------------------------------------------------------------ */

static pthread_mutex_t g_wd_mu = PTHREAD_MUTEX_INITIALIZER;
static uint64_t g_wd_deadline; /* mono_ms; 0 = idle */
static unsigned g_wd_limit;
static int g_wd_num;
static const char *g_wd_name;
static suite_t *g_wd_suite;
static int g_wd_stop;

static void watchdog_arm(int num, const char *name, unsigned limit_s)
{
    pthread_mutex_lock(&g_wd_mu);
    g_wd_num = num;
    g_wd_name = name;
    g_wd_limit = limit_s;
    g_wd_deadline = limit_s ? mono_ms() + (uint64_t)limit_s * 1000u : 0;
    pthread_mutex_unlock(&g_wd_mu);
}

/* The hung call holds this host's instance, so the sandboxes the run made
 * are destroyed by a helper process with a host of its own (given 60 s). */
static void watchdog_cleanup(const suite_t *s)
{
    const char **args;
    child_t c;
    size_t k = 0;

    if (s->n_made == 0)
        return;
    args = xcalloc(s->n_made + 6, sizeof *args);
    args[k++] = "conformance";
    args[k++] = "--child";
    args[k++] = s->config;
    args[k++] = s->provider;
    args[k++] = "destroy";
    for (size_t i = 0; i < s->n_made; i++)
        args[k++] = s->made[i];
    if (child_start(NULL, &c, args) != 0 || child_finish(&c, 60000) != 0 ||
        strcmp(c.out, "OK\n") != 0) {
        for (size_t i = 0; i < s->n_made; i++)
            printf("# left behind: %s\n", s->made[i]);
    } else {
        printf("# destroyed the %zu sandboxes of this run\n", s->n_made);
    }
    free(args);
}

/* A case that runs far past its limit means a call that never returns;
 * nothing can be called on that instance any more, so report it, destroy
 * what the run made, and end the run. */
static void *watchdog(void *arg)
{
    (void)arg;
    for (;;) {
        sleep_ms(200);
        pthread_mutex_lock(&g_wd_mu);
        if (g_wd_stop) {
            pthread_mutex_unlock(&g_wd_mu);
            return NULL;
        }
        if (g_wd_deadline && mono_ms() > g_wd_deadline) {
            printf("not ok %d - %s: still running after %u s: a call never "
                   "returned\n", g_wd_num, g_wd_name, g_wd_limit);
            if (g_wd_suite != NULL)
                watchdog_cleanup(g_wd_suite);
            printf("Bail out! %s hung\n", g_wd_name);
            fflush(stdout);
            _exit(1);
        }
        pthread_mutex_unlock(&g_wd_mu);
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Main                                                                */
/* ------------------------------------------------------------------ */

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: conformance --config FILE --provider NAME "
            "[--only PATTERN[,PATTERN...]]\n"
            "       conformance --list\n"
            "Run the csdk provider conformance suite against provider "
            "instance NAME\nof the configuration FILE and print TAP.  "
            "PATTERN is a case name, a group (fs,\ncode.python) or a glob "
            "(cmd.stdin*).  --list prints the cases, the methods\neach "
            "needs and what it checks.  Exit 0 if no case failed, 1 if one "
            "did, 2 on\na setup error.\n");
}

static int selected(const char *name, const char *only)
{
    char buf[256];
    const char *p = only;

    if (only == NULL)
        return 1;
    while (*p) {
        size_t n = strcspn(p, ",");

        if (n > 0 && n < sizeof buf) {
            memcpy(buf, p, n);
            buf[n] = '\0';
            /* A glob; a plain word also selects the group it names
             * ("fs" or "code.python" select every case under it). */
            if (fnmatch(buf, name, 0) == 0 ||
                (strncmp(name, buf, n) == 0 && name[n] == '.'))
                return 1;
        }
        p += n;
        if (*p == ',')
            p++;
    }
    return 0;
}

/* Names of the methods in `bits`, comma-separated, into buf. */
static const char *method_list(uint64_t bits, char *buf, size_t size)
{
    size_t o = 0;

    buf[0] = '\0';
    for (uint32_t m = 0; m < CSDK_M_COUNT && o < size; m++)
        if (bits & CSDK_CAP(m))
            o += (size_t)snprintf(buf + o, size - o, "%s%s", o ? ", " : "",
                                  csdk_method_name(m));
    return buf;
}

/* The last test point: destroy every sandbox the run made; none may be
 * left in list. */
static int cleanup(suite_t *s, int num)
{
    tcase_t t;
    csdk_sandbox_t *sbs;
    size_t n;

    memset(&t, 0, sizeof t);
    t.s = s;
    t.name = "cleanup";
    for (size_t i = 0; i < s->n_made; i++) {
        csdk_error_t e;
        csdk_status_t rc;

        memset(&e, 0, sizeof e);
        rc = csdk_destroy(s->h, s->made[i], NULL, &e);
        if (rc != CSDK_OK)
            failf(&t, "destroy %s: %s", s->made[i], status_text(rc, &e));
    }
    if (!t.failed && list_sandboxes(&t, &sbs, &n) == 0)
        for (size_t i = 0; i < s->n_made; i++)
            if (list_has(sbs, n, s->made[i]))
                failf(&t, "list still has %s after destroy", s->made[i]);
    release_all(&t);
    if (t.failed)
        printf("not ok %d - cleanup: %s\n", num, t.reason);
    else
        printf("ok %d - cleanup (sandboxes destroyed: %zu)\n", num,
               s->n_made);
    fflush(stdout);
    return t.failed;
}

int main(int argc, char **argv)
{
    const char *config = NULL, *provider = NULL, *only = NULL;
    int list = 0, failed = 0, num = 0, n_sel = 0;
    suite_t s;
    csdk_error_t e;
    csdk_open_opts_t oo;
    csdk_provider_info_t info;
    struct sigaction sa;
    pthread_t wd;
    char buf[1024];
    size_t i;
    int found = 0;

    if (argv[0] != NULL && strchr(argv[0], '/') != NULL)
        g_self = argv[0];
    if (argc > 1 && strcmp(argv[1], "--child") == 0)
        return child_main(argc - 2, argv + 2);
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--config") == 0 && a + 1 < argc)
            config = argv[++a];
        else if (strcmp(argv[a], "--provider") == 0 && a + 1 < argc)
            provider = argv[++a];
        else if (strcmp(argv[a], "--only") == 0 && a + 1 < argc)
            only = argv[++a];
        else if (strcmp(argv[a], "--list") == 0)
            list = 1;
        else if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "conformance: unknown argument '%s'\n", argv[a]);
            usage(stderr);
            return 2;
        }
    }
    if (list) {
        /* NAME<TAB>METHODS IT NEEDS<TAB>WHAT IT CHECKS */
        for (i = 0; i < N_CASES; i++)
            if (selected(g_cases[i].name, only))
                printf("%s\t%s\t%s\n", g_cases[i].name,
                       method_list(g_cases[i].needs, buf, sizeof buf),
                       g_cases[i].what);
        return 0;
    }
    if (config == NULL || provider == NULL) {
        usage(stderr);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);

    memset(&s, 0, sizeof s);
    memset(&e, 0, sizeof e);
    memset(&oo, 0, sizeof oo);
    oo.struct_size = (uint32_t)sizeof oo;
    oo.log_level = -1;
    if (csdk_open(config, &oo, &s.h, &e) != CSDK_OK) {
        printf("Bail out! cannot open %s: %s\n", config, e.message);
        return 2;
    }
    for (i = 0; csdk_provider_get(s.h, i, &info) == CSDK_OK; i++) {
        if (strcmp(info.name, provider) == 0) {
            found = 1;
            break;
        }
    }
    if (!found) {
        printf("Bail out! %s has no provider instance '%s' ([provider.%s] "
               "section)\n", csdk_config_origin(s.h), provider, provider);
        csdk_close(s.h);
        return 2;
    }
    if (!info.loaded) {
        printf("Bail out! provider '%s' did not load: %s\n", provider,
               info.error ? info.error : "no reason given");
        csdk_close(s.h);
        return 2;
    }
    s.config = config;
    s.provider = info.name;
    s.caps = info.caps;
    snprintf(s.tag, sizeof s.tag, "%ld-%" PRIu64, (long)getpid(), mono_ms());
    snprintf(s.named_name, sizeof s.named_name, "conf-%s", s.tag);

    /* SIGPIPE is caught, not ignored, so a provider that raises it in the
     * host process fails the case instead of killing the run unseen. */
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGPIPE, &sa, NULL);
    sa.sa_flags = SA_RESETHAND;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    for (i = 0; i < N_CASES; i++)
        if (selected(g_cases[i].name, only))
            n_sel++;
    printf("1..%d\n", n_sel + 1);
    printf("# csdk %s, config %s\n", csdk_version(), csdk_config_origin(s.h));
    printf("# provider %s: plugin %s %s (%s), ABI %u.%u\n", s.provider,
           info.plugin_name ? info.plugin_name : "?",
           info.version ? info.version : "?", info.plugin,
           CSDK_ABI_VERSION_MAJOR(info.abi_version),
           CSDK_ABI_VERSION_MINOR(info.abi_version));
    printf("# implements: %s\n", method_list(s.caps, buf, sizeof buf));
    printf("# lacks: %s\n",
           method_list(~s.caps & (CSDK_CAP(CSDK_M_COUNT) - 1), buf,
                       sizeof buf));

    g_wd_suite = &s;
    if (pthread_create(&wd, NULL, watchdog, NULL) != 0) {
        printf("Bail out! cannot start the watchdog thread\n");
        csdk_close(s.h);
        return 2;
    }

    for (i = 0; i < N_CASES; i++) {
        const case_def_t *c = &g_cases[i];
        uint64_t missing = c->needs & ~s.caps;
        tcase_t t;
        sig_atomic_t pipes;
        uint64_t t0;

        if (!selected(c->name, only))
            continue;
        num++;
        if (g_interrupted) {
            printf("not ok %d - %s: not run: interrupted\n", num, c->name);
            failed++;
            continue;
        }
        if (missing) {
            printf("ok %d - %s # SKIP provider lacks %s\n", num, c->name,
                   method_list(missing, buf, sizeof buf));
            continue;
        }
        memset(&t, 0, sizeof t);
        t.s = &s;
        t.name = c->name;
        pipes = g_sigpipes;
        watchdog_arm(num, c->name, c->limit_s ? c->limit_s
                                              : CONF_CASE_LIMIT_S);
        t0 = mono_ms();
        c->fn(&t);
        watchdog_arm(0, NULL, 0);
        release_all(&t);
        if (g_sigpipes != pipes)
            failf(&t, "SIGPIPE was raised in the host process: a provider "
                      "must not let writes to a closed pipe or socket signal "
                      "the application (use MSG_NOSIGNAL or block SIGPIPE)");
        if (t.failed) {
            printf("not ok %d - %s: %s\n", num, c->name, t.reason);
            failed++;
        } else {
            printf("ok %d - %s\n", num, c->name);
        }
        if (mono_ms() - t0 >= 3000)
            printf("# %s took %" PRIu64 " ms\n", c->name, mono_ms() - t0);
    }
    watchdog_arm(num + 1, "cleanup", CONF_CASE_LIMIT_S);
    failed += cleanup(&s, num + 1);
    watchdog_arm(0, NULL, 0);
    if (g_interrupted)
        printf("# interrupted\n");
    printf("# %d of %d failed\n", failed, n_sel + 1);

    pthread_mutex_lock(&g_wd_mu);
    g_wd_suite = NULL;
    g_wd_stop = 1;
    pthread_mutex_unlock(&g_wd_mu);
    pthread_join(wd, NULL);
    for (i = 0; i < s.n_made; i++)
        free(s.made[i]);
    free(s.made);
    free(s.shared_id);
    free(s.named_id);
    csdk_close(s.h);
    return failed ? 1 : 0;
}
