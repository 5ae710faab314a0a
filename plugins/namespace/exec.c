/*
 * plugins/namespace/exec.c - run_command and run_code through the command
 * service's RunCommandSync.
 *
 * RunCommandSync runs an argument vector and answers once it has exited,
 * with all of its output; it has no standard input, no time limit and no
 * streaming.  csdk's run options are built on it with a fixed runner
 * script (ns_runner below) that the command service starts as
 * `sh -c RUNNER csdk-run ARGS... -- ARGV...`; user data only ever travels
 * as arguments, never inside a script:
 *  - standard input: written to a file first (inline as a base64
 *    argument when small, else uploaded like write_file) and redirected;
 *  - timeout_ms: GNU timeout, which kills the command's process group;
 *  - max_output: each stream passes `head -c CAP+1` into a file, its
 *    output unbuffered with stdbuf so polls see it at once (without
 *    stdbuf, output is correct but arrives in 4 KiB steps);
 *  - streaming: output goes to files in /tmp/.csdk-run-NONCE that the
 *    slot reads with short RunCommandSync polls while the runner's call is
 *    in flight on a worker thread; the runner's reply carries the whole
 *    files at the end, so a missed poll loses nothing;
 *  - cancellation and the call's deadline: a short call creates
 *    DIR/cancel, which a watcher in the runner turns into SIGTERM for the
 *    command's process group; the runner's call also carries
 *    Connect-Timeout-Ms a little past the deadline, so the server ends it
 *    if the slot cannot;
 *  - background: the runner starts the command (nohup, its own process
 *    group), writes its pid, and waits for it, so a service that ends a
 *    call's processes with the call still runs it; the slot returns once
 *    the pid is there and the worker thread keeps the call open.
 * The runner ends its standard error with a trailer "NONCE EXIT FLAG\n"
 * (FLAG S: the code did not parse), which is how its own result is told
 * from the command's output.  A reply without the trailer is the command
 * service's own answer (e.g. exit 126 for a cwd that does not exist) and
 * is passed on as it is.
 *
 * Threads: one worker thread per run, holding the runner's call.  A worker
 * touches no csdk_call_t (it may outlive the slot): it fills its own
 * struct, and the slot thread reads it under st->lock.  fini stops and
 * joins every worker.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "ns.h"

#include <csdk/sdk/base64.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Bytes per stream one output poll fetches. */
#define NS_POLL_MAX ((uint64_t)1 << 20)
/* The first poll, for prompt first output. */
#define NS_FIRST_POLL_MS 100u
/* How long a cancel or a poll may take. */
#define NS_SIDE_CALL_MS 3000u

/* The runner: see the comment at the top.  $1 nonce, $2 work directory,
 * $3 timeout in seconds (0: none), $4 cap + 1 in bytes per stream (not 0), $5
 * mode (fg, bg, python, node), $6 "1" when stdin is in $2.in, $7 stdin
 * as base64 to write there first, $8 the Python syntax checker, then --
 * and the command. */
static const char ns_runner[] =
    "n=$1 d=$2 t=$3 c=$4 m=$5 hin=$6 inb=$7 chk=$8\n"
    "shift 8\n"
    "[ \"$1\" = -- ] && shift\n"
    "command -v timeout >/dev/null 2>&1 || { printf 'csdk: the sandbox has "
    "no timeout command; csdk needs GNU coreutils in the image\\n' >&2; "
    "exit 125; }\n"
    "umask 077\n"
    "mkdir -p \"$d\" || exit 125\n"
    "in=/dev/null\n"
    "if [ -n \"$hin\" ]; then\n"
    "  in=$d.in\n"
    "  if [ -n \"$inb\" ]; then printf %s \"$inb\" | base64 -d >\"$in\" || "
    "exit 125; fi\n"
    "fi\n"
    "umask 022\n"
    "if [ \"$m\" = bg ]; then\n"
    "  nohup timeout -k 2 \"$t\" \"$@\" <\"$in\" >/dev/null 2>&1 &\n"
    "  p=$!\n"
    "  echo \"$p\" >\"$d/pid\"\n"
    "  wait \"$p\"\n"
    "  r=$?\n"
    "  rm -rf \"$d\" \"$d\".*\n"
    "  echo \"$p\"\n"
    "  exit $r\n"
    "fi\n"
    ": >\"$d/out\"; : >\"$d/err\"\n"
    "s=-\n"
    "if [ \"$m\" = python ] || [ \"$m\" = node ]; then\n"
    "  for f; do :; done\n"
    "  if [ \"$m\" = python ]; then\n"
    "    \"$1\" -I -B -c \"$chk\" \"$f\" </dev/null >/dev/null 2>\"$d/chk\"\n"
    "    [ $? = 3 ] && s=S\n"
    "  elif ! \"$1\" --check \"$f\" </dev/null >/dev/null 2>\"$d/chk\" && "
    "grep -q SyntaxError \"$d/chk\"; then\n"
    "    s=S\n"
    "  fi\n"
    "fi\n"
    "if [ $s = S ]; then\n"
    "  cat \"$d/chk\" >&2\n"
    "  printf '%s 1 S\\n' \"$n\" >&2\n"
    "  rm -rf \"$d\" \"$d\".*\n"
    "  exit 0\n"
    "fi\n"
    "(\n"
    "  while [ ! -e \"$d/rc\" ]; do\n"
    "    if [ -e \"$d/cancel\" ] && [ -s \"$d/tpid\" ]; then kill -TERM "
    "\"$(cat \"$d/tpid\")\"; break; fi\n"
    "    sleep 0.1\n"
    "  done\n"
    ") </dev/null >/dev/null 2>&1 &\n"
    "w=$!\n"
    "if command -v stdbuf >/dev/null 2>&1; then\n"
    "  lim() { stdbuf -o0 head -c \"$c\"; }\n"
    "else\n"
    "  lim() { head -c \"$c\"; }\n"
    "fi\n"
    "{ { timeout -k 2 \"$t\" \"$@\" <\"$in\" 2>&1 >&3 3>&- & echo $! "
    ">\"$d/tpid\"; wait $! 2>/dev/null; echo $? >\"$d/rc\"; } | lim "
    ">\"$d/err\"; } 3>&1 | lim >\"$d/out\"\n"
    "kill \"$w\" 2>/dev/null\n"
    "r=$(cat \"$d/rc\" 2>/dev/null)\n"
    "cat \"$d/out\"\n"
    "cat \"$d/err\" >&2\n"
    "printf '%s %s %s\\n' \"$n\" \"${r:-125}\" \"$s\" >&2\n"
    "rm -rf \"$d\" \"$d\".*\n"
    "exit 0\n";

/* Output poll: $1 dir, $2 and $3 offsets into out and err, $4 bytes. */
static const char ns_poll_script[] =
    "d=$1\n"
    "[ -d \"$d\" ] || exit 3\n"
    "tail -c +$(($2 + 1)) \"$d/out\" 2>/dev/null | head -c \"$4\"\n"
    "tail -c +$(($3 + 1)) \"$d/err\" 2>/dev/null | head -c \"$4\" >&2\n"
    "exit 0\n";

static const char ns_pid_script[] = "cat \"$1/pid\" 2>/dev/null; exit 0\n";

static const char ns_cancel_script[] =
    "[ -d \"$1\" ] && : >\"$1/cancel\"; exit 0\n";

/* Compiles the code without running it: exit 3 and the interpreter's
 * message when it does not parse. */
static const char ns_py_check[] =
    "import sys\n"
    "p = sys.argv[1]\n"
    "try:\n"
    "    compile(open(p, 'rb').read(), p, 'exec', dont_inherit=True)\n"
    "except SyntaxError as e:\n"
    "    import traceback\n"
    "    sys.stderr.write(''.join(traceback.format_exception_only(type(e), "
    "e)))\n"
    "    sys.exit(3)\n"
    "except ValueError as e:\n"
    "    sys.stderr.write('SyntaxError: %s\\n' % e)\n"
    "    sys.exit(3)\n";

/* ------------------------------------------------------------------ */
/* Workers                                                             */
/* ------------------------------------------------------------------ */

typedef struct ns_worker {
    struct ns_worker *next;
    ns_state_t *st;
    pthread_t thread;
    ns_rpc_t rpc;
    char *body;
    char *endpoint;
    ns_conn_t conns[NS_CONN_SLOTS];
    unsigned conn_next;
    /* Guarded by st->lock. */
    int stop;      /* abort the request */
    int done;      /* rc, err and resp are set */
    int abandoned; /* nobody waits: reaped by the next run or fini */
    csdk_status_t rc;
    ns_err_t err;
    csdk_http_resp_t resp;
} ns_worker_t;

static int ns_worker_should_stop(void *arg)
{
    ns_worker_t *w = arg;
    int stop;

    pthread_mutex_lock(&w->st->lock);
    stop = w->stop || w->st->stopping;
    pthread_mutex_unlock(&w->st->lock);
    return stop;
}

/* Under st->lock: lend an idle handle for `origin`, or give one back. */
static void ns_idle_take(ns_state_t *st, const char *origin, ns_conn_t *dst)
{
    for (unsigned i = 0; i < NS_CONN_SLOTS; i++) {
        if (st->idle[i].origin != NULL &&
            strcmp(st->idle[i].origin, origin) == 0) {
            *dst = st->idle[i];
            memset(&st->idle[i], 0, sizeof st->idle[i]);
            return;
        }
    }
}

static void ns_idle_give(ns_state_t *st, ns_conn_t *src)
{
    for (unsigned k = 0; k < NS_CONN_SLOTS; k++) {
        if (src[k].http == NULL)
            continue;
        for (unsigned i = 0; i < NS_CONN_SLOTS; i++) {
            if (st->idle[i].http == NULL) {
                st->idle[i] = src[k];
                memset(&src[k], 0, sizeof src[k]);
                break;
            }
        }
    }
}

static void *ns_worker_main(void *arg)
{
    ns_worker_t *w = arg;
    ns_state_t *st = w->st;

    w->rc = ns_rpc_raw(st, w->conns, &w->conn_next, &w->rpc, &w->resp,
                       &w->err);
    pthread_mutex_lock(&st->lock);
    ns_idle_give(st, w->conns); /* curl reconnects if it must */
    w->done = 1;
    pthread_cond_broadcast(&st->cond);
    pthread_mutex_unlock(&st->lock);
    return NULL;
}

static void ns_worker_free(ns_worker_t *w)
{
    ns_conns_free(w->conns);
    csdk_http_resp_clear(&w->resp);
    free(w->body);
    free(w->endpoint);
    free(w);
}

/* Join and free every abandoned worker that has finished. */
static void ns_workers_reap(ns_state_t *st)
{
    for (;;) {
        ns_worker_t **pp, *w = NULL;

        pthread_mutex_lock(&st->lock);
        for (pp = &st->workers; *pp != NULL; pp = &(*pp)->next) {
            if ((*pp)->abandoned && (*pp)->done) {
                w = *pp;
                *pp = w->next;
                break;
            }
        }
        pthread_mutex_unlock(&st->lock);
        if (w == NULL)
            return;
        pthread_join(w->thread, NULL);
        ns_worker_free(w);
    }
}

void ns_workers_stop(ns_state_t *st)
{
    pthread_mutex_lock(&st->lock);
    st->stopping = 1;
    for (ns_worker_t *w = st->workers; w != NULL; w = w->next)
        w->abandoned = 1;
    pthread_mutex_unlock(&st->lock);
    for (;;) {
        ns_worker_t *w;

        pthread_mutex_lock(&st->lock);
        w = st->workers;
        if (w != NULL)
            st->workers = w->next;
        pthread_mutex_unlock(&st->lock);
        if (w == NULL)
            break;
        pthread_join(w->thread, NULL);
        ns_worker_free(w);
    }
    ns_conns_free(st->idle);
}

/* Start a worker for `body` (taken) at `endpoint`. */
static csdk_status_t ns_worker_start(ns_state_t *st, csdk_call_t *call,
                                     const char *endpoint, char *body,
                                     uint64_t server_ms, uint64_t timeout_ms,
                                     size_t max_body, ns_worker_t **out)
{
    ns_worker_t *w = calloc(1, sizeof *w);
    char *origin = NULL, *prefix = NULL;
    int e;

    *out = NULL;
    if (w == NULL || (w->endpoint = strdup(endpoint)) == NULL) {
        free(w);
        free(body);
        return ns_nomem(st, call);
    }
    w->st = st;
    w->body = body;
    w->rpc.method = "RunCommandSync";
    w->rpc.endpoint = w->endpoint;
    w->rpc.body = body;
    w->rpc.body_len = strlen(body);
    w->rpc.server_ms = server_ms;
    w->rpc.timeout_ms = timeout_ms;
    w->rpc.max_body = max_body;
    w->rpc.should_stop = ns_worker_should_stop;
    w->rpc.stop_arg = w;
    pthread_mutex_lock(&st->lock);
    if (ns_split_url(endpoint, &origin, &prefix) == 0)
        ns_idle_take(st, origin, &w->conns[0]);
    w->next = st->workers;
    st->workers = w;
    e = pthread_create(&w->thread, NULL, ns_worker_main, w);
    if (e != 0)
        st->workers = w->next;
    pthread_mutex_unlock(&st->lock);
    free(origin);
    free(prefix);
    if (e != 0) {
        ns_worker_free(w);
        return st->host->error(call, CSDK_E_INTERNAL,
                               "cannot start a thread for the command: %s",
                               strerror(e));
    }
    *out = w;
    return CSDK_OK;
}

/* Wait up to `ms` for w to finish; non-zero when it has. */
static int ns_worker_wait(ns_state_t *st, ns_worker_t *w, uint64_t ms)
{
    struct timespec ts;
    int done;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)(ms / 1000);
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&st->lock);
    while (!w->done)
        if (pthread_cond_timedwait(&st->cond, &st->lock, &ts) == ETIMEDOUT)
            break;
    done = w->done;
    pthread_mutex_unlock(&st->lock);
    return done;
}

/* The slot no longer waits for w: it aborts its request and is reaped. */
static void ns_worker_abandon(ns_state_t *st, ns_worker_t *w, int stop)
{
    pthread_mutex_lock(&st->lock);
    w->abandoned = 1;
    if (stop)
        w->stop = 1;
    pthread_mutex_unlock(&st->lock);
}

/* Take a finished worker off the list, join it; the caller frees it. */
static void ns_worker_finish(ns_state_t *st, ns_worker_t *w)
{
    pthread_mutex_lock(&st->lock);
    for (ns_worker_t **pp = &st->workers; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == w) {
            *pp = w->next;
            break;
        }
    }
    pthread_mutex_unlock(&st->lock);
    pthread_join(w->thread, NULL);
}

/* ------------------------------------------------------------------ */
/* Simple commands (slot thread)                                       */
/* ------------------------------------------------------------------ */

/* RunCommandSync of argv, without recording anything on a call. */
static csdk_status_t ns_exec_raw(ns_state_t *st, const char *endpoint,
                                 const char *id, const char *const *argv,
                                 size_t argc, uint64_t timeout_ms,
                                 size_t max_body, ns_run_reply_t *out,
                                 ns_err_t *e)
{
    char *body = ns_req_run(id, st->conf.container, argv, argc, NULL, 0,
                            NULL);
    csdk_http_resp_t resp;
    ns_rpc_t r;
    csdk_status_t rc;

    memset(out, 0, sizeof *out);
    if (body == NULL) {
        ns_err_set(e, "out of memory (or a path that is not UTF-8)");
        return CSDK_E_NOMEM;
    }
    memset(&r, 0, sizeof r);
    r.method = "RunCommandSync";
    r.endpoint = endpoint;
    r.body = body;
    r.body_len = strlen(body);
    r.timeout_ms = timeout_ms;
    r.server_ms = timeout_ms;
    r.max_body = max_body;
    rc = ns_rpc_raw(st, st->conns, &st->conn_next, &r, &resp, e);
    free(body);
    if (rc != CSDK_OK)
        return rc;
    rc = ns_parse_run(resp.body, resp.body_len, st->token, out, e);
    csdk_http_resp_clear(&resp);
    return rc;
}

csdk_status_t ns_exec_failed(ns_state_t *st, csdk_call_t *call,
                             const char *id, csdk_status_t rc,
                             const ns_err_t *e)
{
    if ((rc == CSDK_E_TIMEOUT || rc == CSDK_E_CANCELLED) &&
        (st->host->remaining_ms(call) == 0 || st->host->cancelled(call)))
        return ns_stopped(st, call, "working in the sandbox");
    if (rc == CSDK_E_NOT_FOUND || rc == CSDK_E_CONFLICT) {
        ns_instance_t in;
        csdk_status_t d;

        ns_cache_drop(st, id);
        d = ns_describe_live(st, call, id, 1, &in);
        if (d != CSDK_OK)
            return d;
        ns_instance_free(&in);
    }
    return ns_fail(st, call, rc, e);
}

csdk_status_t ns_exec_try(ns_state_t *st, csdk_call_t *call,
                          const ns_cached_t *sb, const char *const *argv,
                          size_t max_reply, ns_run_reply_t *out, ns_err_t *e)
{
    uint64_t budget = ns_budget(st, call);
    size_t argc = 0;

    memset(out, 0, sizeof *out);
    if (budget == 0 || st->host->cancelled(call)) {
        ns_err_set(e, "the call was cancelled or its deadline passed");
        e->retry_after_ms = -1;
        return st->host->cancelled(call) ? CSDK_E_CANCELLED : CSDK_E_TIMEOUT;
    }
    while (argv[argc] != NULL)
        argc++;
    return ns_exec_raw(st, sb->endpoint, sb->id, argv, argc, budget,
                       max_reply, out, e);
}

csdk_status_t ns_exec_simple(ns_state_t *st, csdk_call_t *call,
                             const ns_cached_t *sb, const char *const *argv,
                             size_t max_reply, ns_run_reply_t *out)
{
    ns_err_t e;
    char *id;
    csdk_status_t rc = ns_exec_try(st, call, sb, argv, max_reply, out, &e);

    if (rc == CSDK_OK)
        return CSDK_OK;
    /* sb may point into the cache, which ns_exec_failed changes. */
    id = strdup(sb->id);
    if (id == NULL)
        return ns_nomem(st, call);
    rc = ns_exec_failed(st, call, id, rc, &e);
    free(id);
    return rc;
}

/* ------------------------------------------------------------------ */
/* A run                                                               */
/* ------------------------------------------------------------------ */

typedef struct ns_job {
    char *id, *endpoint;  /* copies: the cache may change meanwhile */
    char nonce[33];
    char dir[64];         /* /tmp/.csdk-run-NONCE */
    const char *mode;     /* fg, bg, python, node */
    const char *const *argv;
    const csdk_run_opts_t *o;
    uint64_t cap;         /* bytes per stream */
    uint64_t got[3];      /* file bytes seen per stream (1, 2) */
    int stopped;          /* the caller's sink asked to stop */
    uint64_t t0;
} ns_job_t;

/* Deliver file bytes [at, at + len) of a stream: what lies past what was
 * delivered and within the cap. */
static void ns_deliver(ns_state_t *st, csdk_call_t *call, ns_job_t *job,
                       int stream, const char *data, size_t len, uint64_t at)
{
    uint64_t from = job->got[stream], end = at + len;

    if (end <= from || at > from)
        return; /* nothing new, or a gap (cannot happen: polls follow) */
    if (from < job->cap && !job->stopped) {
        uint64_t upto = end < job->cap ? end : job->cap;

        if (upto > from &&
            st->host->write(call, stream, data + (from - at),
                            (size_t)(upto - from)) != 0)
            job->stopped = 1;
    }
    job->got[stream] = end;
}

/* One poll of the running command's output files. */
static void ns_job_poll(ns_state_t *st, csdk_call_t *call, ns_job_t *job)
{
    char o1[24], o2[24], max[24];
    const char *argv[] = {"sh", "-c", ns_poll_script, "csdk-poll", job->dir,
                          o1, o2, max, NULL};
    uint64_t left = st->host->remaining_ms(call);
    ns_run_reply_t r;
    ns_err_t e;
    csdk_status_t rc;

    snprintf(o1, sizeof o1, "%" PRIu64, job->got[CSDK_STREAM_STDOUT]);
    snprintf(o2, sizeof o2, "%" PRIu64, job->got[CSDK_STREAM_STDERR]);
    snprintf(max, sizeof max, "%" PRIu64, NS_POLL_MAX);
    rc = ns_exec_raw(st, job->endpoint, job->id, argv, 8,
                     left < NS_SIDE_CALL_MS ? left : NS_SIDE_CALL_MS,
                     (size_t)(NS_POLL_MAX * 3 + 65536), &r, &e);
    if (rc != CSDK_OK) {
        st->host->log(st->inst, CSDK_LOG_DEBUG, "output poll failed: %s",
                      e.msg);
        return;
    }
    if (r.exit_code == 0) {
        uint64_t a = job->got[CSDK_STREAM_STDOUT];
        uint64_t b = job->got[CSDK_STREAM_STDERR];

        ns_deliver(st, call, job, CSDK_STREAM_STDOUT, r.out, r.out_len, a);
        ns_deliver(st, call, job, CSDK_STREAM_STDERR, r.err, r.err_len, b);
    }
    ns_run_reply_free(&r);
}

/* Ask the runner to kill the command (best effort, bounded). */
static void ns_job_cancel(ns_state_t *st, ns_job_t *job)
{
    const char *argv[] = {"sh", "-c", ns_cancel_script, "csdk-cancel",
                          job->dir, NULL};
    ns_run_reply_t r;
    ns_err_t e;

    if (ns_exec_raw(st, job->endpoint, job->id, argv, 5, NS_SIDE_CALL_MS,
                    65536, &r, &e) != CSDK_OK)
        st->host->log(st->inst, CSDK_LOG_WARN,
                      "could not stop a command in sandbox %s: %s", job->id,
                      e.msg);
    ns_run_reply_free(&r);
}

/* Find and strip the runner's trailer "NONCE EXIT FLAG\n" at the end of
 * stderr (glued to the command's last line when that has no newline).
 * Returns 1 with *exit_code and *syntax set, or 0 when absent. */
static int ns_trailer(ns_run_reply_t *r, const char *nonce, int32_t *exit_code,
                      int *syntax)
{
    size_t nl = strlen(nonce), lo;

    if (r->err_len < nl + 5 || r->err[r->err_len - 1] != '\n')
        return 0;
    lo = r->err_len > nl + 24 ? r->err_len - (nl + 24) : 0;
    for (size_t i = r->err_len - (nl + 5) + 1; i-- > lo;) {
        const char *p = r->err + i + nl;
        char *end;
        long v;

        if (memcmp(r->err + i, nonce, nl) != 0)
            continue;
        if (*p != ' ')
            return 0;
        v = strtol(p + 1, &end, 10);
        if (end == p + 1 || *end != ' ' || (end[1] != 'S' && end[1] != '-') ||
            end[2] != '\n' || end + 3 != r->err + r->err_len)
            return 0;
        *exit_code = (int32_t)v;
        *syntax = end[1] == 'S';
        r->err_len = i;
        r->err[i] = '\0';
        return 1;
    }
    return 0;
}

/* The runner's argument list for job (strings in `nums` and `inb`). */
static char **ns_job_argv(const ns_job_t *job, char nums[2][32],
                          const char *hin, const char *inb, size_t *argc)
{
    size_t n = 0, user = 0;
    char **v;

    while (job->argv[user] != NULL)
        user++;
    v = calloc(user + 14, sizeof *v);
    if (v == NULL)
        return NULL;
    v[n++] = (char *)"sh";
    v[n++] = (char *)"-c";
    v[n++] = (char *)ns_runner;
    v[n++] = (char *)"csdk-run";
    v[n++] = (char *)job->nonce;
    v[n++] = (char *)job->dir;
    v[n++] = nums[0];
    v[n++] = nums[1];
    v[n++] = (char *)job->mode;
    v[n++] = (char *)hin;
    v[n++] = (char *)inb;
    v[n++] = (char *)(strcmp(job->mode, "python") == 0 ? ns_py_check : "");
    v[n++] = (char *)"--";
    for (size_t i = 0; i < user; i++)
        v[n++] = (char *)job->argv[i];
    *argc = n;
    return v;
}

/* Standard input: inline (base64 argument) when small, else uploaded to
 * DIR.in.  *inb is malloc'd ("" when not inline). */
static csdk_status_t ns_job_stdin(ns_state_t *st, csdk_call_t *call,
                                  const ns_job_t *job, char **inb)
{
    const csdk_run_opts_t *o = job->o;
    size_t n = csdk_b64_encoded_len(o->stdin_len);
    ns_cached_t to = {job->id, job->endpoint, NULL};
    char path[80];

    *inb = NULL;
    if (o->stdin_len == 0 || n <= st->conf.write_chunk) {
        *inb = malloc(n + 1);
        if (*inb == NULL)
            return ns_nomem(st, call);
        csdk_b64_encode(*inb, o->stdin_data, o->stdin_len);
        return CSDK_OK;
    }
    if ((*inb = strdup("")) == NULL)
        return ns_nomem(st, call);
    snprintf(path, sizeof path, "%s.in", job->dir);
    return ns_upload(st, call, &to, path, o->stdin_data, o->stdin_len);
}

/* Report a finished run. */
static csdk_status_t ns_job_report(ns_state_t *st, csdk_call_t *call,
                                   ns_job_t *job, ns_run_reply_t *r,
                                   int is_code)
{
    const csdk_host_t *h = st->host;
    uint64_t dur = h->monotonic_ms() - job->t0;
    int32_t code = r->exit_code, failed = 0;
    int syntax = 0, ours = ns_trailer(r, job->nonce, &code, &syntax);
    uint32_t flags = 0;

    ns_deliver(st, call, job, CSDK_STREAM_STDOUT, r->out, r->out_len, 0);
    ns_deliver(st, call, job, CSDK_STREAM_STDERR, r->err, r->err_len, 0);
    if (job->stopped)
        return ns_stopped(st, call, "delivering the command's output");
    if (ours && (job->got[1] > job->cap || job->got[2] > job->cap))
        flags |= CSDK_RESULT_TRUNCATED;
    if (ours && job->o->timeout_ms > 0 && (code == 124 || code == 137) &&
        dur >= job->o->timeout_ms)
        flags |= CSDK_RESULT_TIMED_OUT;
    if (syntax)
        flags |= CSDK_RESULT_SYNTAX;
    failed |= h->set_int(call, CSDK_F_EXIT_CODE, code);
    failed |= h->set_int(call, CSDK_F_DURATION_MS, (int64_t)dur);
    failed |= h->set_int(call, CSDK_F_RESULT_FLAGS, flags);
    if (failed)
        return ns_nomem(st, call);
    if (syntax && is_code) {
        /* The interpreter's line naming the error, for the message. */
        const char *line = r->err, *hit = NULL;

        for (; line != NULL && *line; line = strchr(line, '\n')) {
            line += *line == '\n';
            if (strncmp(line, "SyntaxError", 11) == 0 ||
                strncmp(line, "IndentationError", 16) == 0 ||
                strncmp(line, "TabError", 8) == 0) {
                hit = line;
                break;
            }
        }
        return h->error(call, CSDK_E_SYNTAX, "the code does not parse: %.*s",
                        hit ? (int)strcspn(hit, "\n") : 40,
                        hit ? hit : "see standard error");
    }
    return CSDK_OK;
}

/* A background run: wait for the pid, then leave the worker running. */
static csdk_status_t ns_job_background(ns_state_t *st, csdk_call_t *call,
                                       ns_job_t *job, ns_worker_t *w)
{
    const char *argv[] = {"sh", "-c", ns_pid_script, "csdk-pid", job->dir,
                          NULL};
    long pid = 0;

    while (pid <= 0) {
        ns_run_reply_t r;
        ns_err_t e;
        uint64_t left;

        if (ns_worker_wait(st, w, NS_FIRST_POLL_MS)) {
            /* Ended already (or failed to start). */
            csdk_status_t rc;

            ns_worker_finish(st, w);
            rc = w->rc;
            if (rc == CSDK_OK) {
                rc = ns_parse_run(w->resp.body, w->resp.body_len, st->token,
                                  &r, &e);
                if (rc == CSDK_OK) {
                    pid = strtol(r.out, NULL, 10);
                    ns_run_reply_free(&r);
                }
            } else {
                e = w->err;
            }
            ns_worker_free(w);
            if (rc != CSDK_OK)
                return ns_exec_failed(st, call, job->id, rc, &e);
            if (pid <= 0)
                return st->host->error(call, CSDK_E_PROTOCOL,
                                       "the background command in sandbox "
                                       "%s ended without reporting its pid",
                                       job->id);
            break;
        }
        left = st->host->remaining_ms(call);
        if (left == 0 || st->host->cancelled(call)) {
            ns_worker_abandon(st, w, 0);
            return ns_stopped(st, call, "starting a background command");
        }
        if (ns_exec_raw(st, job->endpoint, job->id, argv, 5,
                        left < NS_SIDE_CALL_MS ? left : NS_SIDE_CALL_MS,
                        65536, &r, &e) == CSDK_OK) {
            pid = r.out != NULL ? strtol(r.out, NULL, 10) : 0;
            ns_run_reply_free(&r);
        }
        if (pid > 0)
            ns_worker_abandon(st, w, 0); /* keeps the call open */
    }
    if (st->host->set_int(call, CSDK_F_PID, pid) != 0 ||
        st->host->set_int(call, CSDK_F_EXIT_CODE, 0) != 0 ||
        st->host->set_int(call, CSDK_F_DURATION_MS,
                          (int64_t)(st->host->monotonic_ms() - job->t0)) !=
            0 ||
        st->host->set_int(call, CSDK_F_RESULT_FLAGS, 0) != 0)
        return ns_nomem(st, call);
    return CSDK_OK;
}

/* A foreground run: poll output until the worker is done. */
static csdk_status_t ns_job_foreground(ns_state_t *st, csdk_call_t *call,
                                       ns_job_t *job, ns_worker_t *w,
                                       int is_code)
{
    uint64_t interval = st->conf.stream_interval_ms;
    uint64_t next = job->t0 + NS_FIRST_POLL_MS;
    ns_run_reply_t r;
    ns_err_t e;
    csdk_status_t rc;

    for (;;) {
        uint64_t now = st->host->monotonic_ms(), wait = 100;

        if (interval > 0 && next > now && next - now < wait)
            wait = next - now;
        if (ns_worker_wait(st, w, interval > 0 && next <= now ? 0 : wait))
            break;
        if (st->host->cancelled(call) || st->host->remaining_ms(call) == 0 ||
            job->stopped) {
            ns_job_cancel(st, job);
            ns_worker_abandon(st, w, 1);
            return ns_stopped(st, call, "running the command");
        }
        now = st->host->monotonic_ms();
        if (interval > 0 && now >= next) {
            ns_job_poll(st, call, job);
            next = st->host->monotonic_ms() + interval;
        }
    }
    ns_worker_finish(st, w);
    rc = w->rc;
    e = w->err;
    if (rc == CSDK_OK) {
        rc = ns_parse_run(w->resp.body, w->resp.body_len, st->token, &r, &e);
        if (rc == CSDK_OK) {
            ns_worker_free(w);
            rc = ns_job_report(st, call, job, &r, is_code);
            ns_run_reply_free(&r);
            return rc;
        }
    }
    ns_worker_free(w);
    if (rc == CSDK_E_TIMEOUT && st->host->remaining_ms(call) == 0)
        return ns_stopped(st, call, "running the command");
    if (rc == CSDK_E_TIMEOUT)
        return st->host->error(call, CSDK_E_TIMEOUT,
                               "%s (the command service ends a command that "
                               "runs longer than it allows: run it in the "
                               "background, or give the call more time)",
                               e.msg);
    return ns_exec_failed(st, call, job->id, rc, &e);
}

/* Run job->argv through the runner in the job's sandbox. */
static csdk_status_t ns_job_run(ns_state_t *st, csdk_call_t *call,
                                ns_job_t *job, int is_code)
{
    const csdk_run_opts_t *o = job->o;
    int bg = strcmp(job->mode, "bg") == 0;
    uint64_t left, server_ms = 0, timeout_ms = 0;
    size_t argc = 0, max_body;
    char nums[2][32], *inb = NULL, *body, **argv;
    ns_worker_t *w;
    csdk_status_t rc;

    rc = ns_job_stdin(st, call, job, &inb);
    if (rc != CSDK_OK) {
        free(inb);
        return rc;
    }
    snprintf(nums[0], sizeof nums[0], "%" PRIu64 ".%03" PRIu64,
             o->timeout_ms / 1000, o->timeout_ms % 1000);
    snprintf(nums[1], sizeof nums[1], "%" PRIu64, job->cap + 1);
    argv = ns_job_argv(job, nums, o->stdin_len > 0 ? "1" : "", inb, &argc);
    body = argv != NULL ? ns_req_run(job->id, st->conf.container,
                                     (const char *const *)argv, argc, o->env,
                                     o->n_env, o->cwd)
                        : NULL;
    free(argv);
    free(inb);
    if (body == NULL)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "the command cannot be sent: out of memory, "
                               "or an argument, environment value or cwd "
                               "that is not UTF-8 (the API speaks JSON)");
    left = st->host->remaining_ms(call);
    if (bg) {
        /* Bounded by its own timeout, not by this call. */
        if (o->timeout_ms > 0)
            server_ms = o->timeout_ms + 5000;
    } else if (left != UINT64_MAX) {
        /* At the deadline the slot has the runner kill the command (its
         * process group: a server ending the call may only end the
         * runner); the server's own limit, a little later, is the
         * backstop. */
        server_ms = left + 3000;
        timeout_ms = left + 10000;
    }
    /* The runner's reply: both files (cap + 1 each) in base64. */
    max_body = (size_t)((2 * (job->cap + 1) + 4096) / 3 * 4 + 65536);
    job->t0 = st->host->monotonic_ms();
    rc = ns_worker_start(st, call, job->endpoint, body, server_ms, timeout_ms,
                         max_body, &w);
    if (rc != CSDK_OK)
        return rc;
    return bg ? ns_job_background(st, call, job, w)
              : ns_job_foreground(st, call, job, w, is_code);
}

/* Common set-up of a run in sandbox `id`. */
static csdk_status_t ns_job_init(ns_state_t *st, csdk_call_t *call,
                                 ns_job_t *job, const ns_cached_t *sb,
                                 const csdk_run_opts_t *o)
{
    memset(job, 0, sizeof *job);
    job->id = strdup(sb->id);
    job->endpoint = strdup(sb->endpoint);
    if (job->id == NULL || job->endpoint == NULL) {
        free(job->id);
        free(job->endpoint);
        return ns_nomem(st, call);
    }
    ns_random_hex(job->nonce);
    snprintf(job->dir, sizeof job->dir, "/tmp/.csdk-run-%s", job->nonce);
    job->o = o;
    job->cap = o->max_output ? o->max_output : st->conf.max_output;
    if (job->cap > 32 * NS_MIB)
        job->cap = 32 * NS_MIB; /* what one reply can carry */
    job->mode = (o->flags & CSDK_RUN_BACKGROUND) ? "bg" : "fg";
    return CSDK_OK;
}

static void ns_job_free(ns_job_t *job)
{
    free(job->id);
    free(job->endpoint);
}

static void ns_run_opts_read(const csdk_run_opts_t *in, csdk_run_opts_t *out)
{
    csdk_opts_read(out, sizeof *out, in);
    if (out->env == NULL)
        out->n_env = 0;
    if (out->stdin_data == NULL)
        out->stdin_len = 0;
}

csdk_status_t ns_run_command(ns_state_t *st, csdk_call_t *call,
                             const char *id, const csdk_run_opts_t *opts)
{
    const char *shell_argv[] = {"sh", "-c", NULL, NULL};
    const ns_cached_t *sb;
    csdk_run_opts_t o;
    ns_job_t job;
    csdk_status_t rc;

    ns_workers_reap(st);
    ns_run_opts_read(opts, &o);
    if ((o.argv == NULL || o.argv[0] == NULL) && o.shell == NULL)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "give a command: an argument vector or a "
                               "shell string");
    if (o.argv != NULL && o.shell != NULL)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "give an argument vector or a shell string, "
                               "not both");
    if (o.argv != NULL && o.argv[0][0] == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "the command's name (argv[0]) is empty");
    rc = ns_lookup(st, call, id, &sb);
    if (rc != CSDK_OK)
        return rc;
    rc = ns_job_init(st, call, &job, sb, &o);
    if (rc != CSDK_OK)
        return rc;
    shell_argv[2] = o.shell;
    job.argv = o.shell != NULL ? shell_argv : o.argv;
    rc = ns_job_run(st, call, &job, 0);
    ns_job_free(&job);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Code                                                                */
/* ------------------------------------------------------------------ */

/* Guess the language of code given none: JavaScript has markers Python
 * code never holds outside strings. */
static const char *ns_detect_language(const char *code, size_t len)
{
    static const char *const js[] = {
        "console.log", "console.error", "require(", "=>", "module.exports",
        "process.stdout", "process.argv", "function ", "const ", "let ",
    };

    for (size_t i = 0; i < sizeof js / sizeof js[0]; i++)
        if (memmem(code, len, js[i], strlen(js[i])) != NULL)
            return "node";
    return "python";
}

/* Node treats a .js file as CommonJS; code with ES module syntax at the
 * start of a line gets .mjs. */
static int ns_looks_esm(const char *code, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && code[i - 1] != '\n')
            continue;
        if (len - i > 7 && (memcmp(code + i, "import ", 7) == 0 ||
                            memcmp(code + i, "export ", 7) == 0))
            return 1;
    }
    return 0;
}

csdk_status_t ns_run_code(ns_state_t *st, csdk_call_t *call, const char *id,
                          const char *code, size_t code_len,
                          const char *language, const csdk_run_opts_t *opts)
{
    const ns_cached_t *sb;
    const char *lang = NULL, *argv[4];
    csdk_run_opts_t o;
    ns_job_t job;
    char file[96];
    csdk_status_t rc;

    ns_workers_reap(st);
    ns_run_opts_read(opts, &o);
    if (code == NULL)
        code_len = 0;
    if (language != NULL && *language != '\0') {
        lang = ns_runtime_name(language);
        if (lang == NULL)
            return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                   "the namespace provider cannot run '%.40s' "
                                   "code; languages: python (python3, py), "
                                   "node (nodejs, javascript, js)",
                                   language);
    }
    rc = ns_lookup(st, call, id, &sb);
    if (rc != CSDK_OK)
        return rc;
    if (language == NULL || *language == '\0')
        lang = sb->runtime != NULL ? sb->runtime
                                   : ns_detect_language(code, code_len);
    rc = ns_job_init(st, call, &job, sb, &o);
    if (rc != CSDK_OK)
        return rc;
    snprintf(file, sizeof file, "%s.%s", job.dir,
             strcmp(lang, "python") == 0 ? "py"
             : ns_looks_esm(code, code_len) ? "mjs"
                                            : "js");
    if (strcmp(job.mode, "bg") != 0)
        job.mode = lang;
    argv[0] = strcmp(lang, "python") == 0 ? st->conf.python : st->conf.node;
    argv[1] = strcmp(lang, "python") == 0 ? "-B" : file;
    argv[2] = strcmp(lang, "python") == 0 ? file : NULL;
    argv[3] = NULL;
    job.argv = argv;
    /* The runner removes the file (DIR.*) when the run ends.  Upload
     * through the job's copies: sb points into the cache. */
    {
        ns_cached_t to = {job.id, job.endpoint, NULL};

        rc = ns_upload(st, call, &to, file, code, code_len);
    }
    if (rc == CSDK_OK)
        rc = ns_job_run(st, call, &job, 1);
    ns_job_free(&job);
    return rc;
}
