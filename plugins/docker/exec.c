/* Commands and code in a container through the exec API.
 *
 * The Engine API has no "kill exec", so every exec carries a random
 * marker in its environment (CSDK_EXEC_ID); a timeout, a deadline, a
 * cancellation or an output cap runs a second exec, a fixed script that
 * finds the marked processes through /proc and kills them with all their
 * descendants.  The caller's argv runs under a fixed wrapper script that
 * redirects standard input (a file uploaded first) and removes run_code's
 * file, then execs it.  Nothing of the caller's is ever spliced into
 * shell text: argv, paths and files are separate arguments.  The kill
 * script, the wrapper and the keep-alive need /bin/sh in the image. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "demux.h"
#include "docker.h"
#include "reply.h"

/* $1 a file to read standard input from (then removed) or "", $2 a file
 * to remove at the end or "", $3 the command's timeout in seconds or "",
 * $4 kill_script, then the command.  Without a timeout it execs the
 * command (a missing program: 127 with the reason on stderr).  With one,
 * a watchdog inside the container kills the command's tree when the time
 * is up, counted from when the command really starts (a loaded engine
 * can take longer than a short timeout just to start an exec), and the
 * wrapper exits 124.  (A fork bomb can take the process slot the
 * watchdog needs: then the plugin's own kill, 10 s later, is all there
 * is, and it cannot start an exec in a sandbox at its process limit
 * either; such a bomb ends with the sandbox.)  Standard input is passed on through fd 3 (an
 * asynchronous command's own stdin would be /dev/null) and standard error
 * through fd 4, so that the shell's own job notices ("Killed") go
 * nowhere. */
static const char wrap_script[] =
    "if [ -n \"$1\" ]; then exec <\"$1\"; rm -f \"$1\"; fi; "
    "c=$2 t=$3 k=$4; shift 4; "
    "if [ -z \"$t\" ]; then [ -n \"$c\" ] || exec \"$@\"; "
    "\"$@\"; s=$?; rm -f \"$c\"; exit $s; fi; "
    "f=/tmp/.csdk-timeout-$$; exec 3<&0 4>&2 2>/dev/null; "
    "\"$@\" <&3 2>&4 3<&- 4>&- & p=$!; exec 3<&- 4>&-; "
    "(sleep \"$t\"; : >\"$f\"; set -- '' \"$p\" $$; eval \"$k\") "
    "</dev/null >/dev/null 2>&1 & w=$!; "
    "wait \"$p\"; s=$?; "
    "if [ -e \"$f\" ]; then wait \"$w\"; rm -f \"$f\"; s=124; "
    "else kill \"$w\" 2>/dev/null; fi; "
    "[ -z \"$c\" ] || rm -f \"$c\"; exit $s";

/* Background: $1 log file, then the command; prints the pid. */
static const char bg_script[] =
    "l=$1; shift; \"$@\" </dev/null >\"$l\" 2>&1 & echo $!";

/* $1 the marker, or $2 the command's pid and $3 the wrapper's.  First
 * pass: stops every process whose environment holds CSDK_EXEC_ID=$1 (or
 * the command $2), then every process whose parent, group or session is
 * one already found (with $3, or is the wrapper: each exec is its own
 * session, led by the wrapper, so children that double-forked away from
 * the command are found too), until no new one turns up, and kills them
 * all; then walks again from everything killed so far, in rounds, until
 * a round finds no one (a process forked while the last walk ran, by one
 * not stopped yet, is caught by the next).  Second pass, the same
 * from the orphans (parent: the keep-alive, pid 1) that carry no exec's
 * marker: the remains of a command that double-forked into a new session
 * with an empty environment (other commands' and background commands'
 * processes keep their markers); the watchdog ($3) leaves that pass to
 * the plugin's own run of the script afterwards.  The first pass uses
 * shell built-ins only, and the watchdog evaluates the script in a
 * process that already exists, so a sandbox at its process limit is still
 * cleaned.  The script never kills itself or the wrapper. */
static const char kill_script[] =
    "m=CSDK_EXEC_ID=$1 r=$2 w=$3; read -r l </proc/self/stat; "
    "me=${l%% *}; all=' '; "
    "if [ -n \"$w\" ]; then kill -STOP \"$r\" 2>/dev/null; all=\" $r \"; "
    "link=\" $r $w \"; "
    "else for e in /proc/[0-9]*/environ; do "
    "q=${e#/proc/}; q=${q%/environ}; [ \"$q\" = \"$me\" ] && continue; "
    "if grep -q \"$m\" \"$e\" 2>/dev/null; then "
    "kill -STOP \"$q\" 2>/dev/null; all=\"$all$q \"; fi; done; link=$all; fi; "
    "for pass in 1 2; do "
    "[ $pass = 2 ] && [ -n \"$w\" ] && break; "
    "if [ $pass = 2 ]; then all=' '; "
    "for s in /proc/[0-9]*/stat; do "
    "read -r l <\"$s\" 2>/dev/null || continue; q=${l%% *}; "
    "[ \"$q\" = \"$me\" ] || [ \"$q\" = \"$w\" ] && continue; "
    "c=${l#* (}; c=${c%%)*}; set -- ${l##*) }; "
    "[ \"$2\" = 1 ] && [ \"$c\" != sleep ] || continue; "
    "grep -q CSDK_EXEC_ID= /proc/$q/environ 2>/dev/null; "
    "[ $? = 1 ] || continue; "
    "kill -STOP \"$q\" 2>/dev/null; all=\"$all$q \"; done; link=$all; fi; "
    "[ \"$link\" = ' ' ] && continue; round=0; "
    "while [ $round -lt 50 ]; do round=$((round + 1)); more=1; "
    "while [ $more = 1 ]; do more=0; "
    "for s in /proc/[0-9]*/stat; do "
    "read -r l <\"$s\" 2>/dev/null || continue; "
    "q=${l%% *}; [ \"$q\" = \"$me\" ] || [ \"$q\" = \"$w\" ] && continue; "
    "set -- ${l##*) }; [ \"$1\" = Z ] || [ \"$1\" = X ] && continue; "
    "case \"$all\" in *\" $q \"*) continue;; esac; "
    "case \"$link\" in *\" $2 \"*|*\" $3 \"*|*\" $4 \"*) "
    "all=\"$all$q \"; link=\"$link$q \"; kill -STOP \"$q\" 2>/dev/null; "
    "more=1;; esac; "
    "done; done; [ \"$all\" = ' ' ] && break; "
    "kill -KILL $all 2>/dev/null; all=' '; done; done; exit 0";

/* The body of POST /exec/{id}/start: attached, no TTY. */
static const char exec_start_body[] = "{\"Detach\":false,\"Tty\":false}";

/* How long after a command's timeout the client stops waiting for the
 * watchdog inside the container and kills the tree itself. */
#define DK_WATCHDOG_GRACE_MS 10000

/* How one exec is run and where its output goes. */
typedef struct dk_exec {
    const char *const *argv;
    const csdk_kv_t *env;
    size_t n_env;
    const char *cwd;
    const void *stdin_data;
    size_t stdin_len;
    uint64_t timeout_ms;      /* 0: none */
    uint64_t max_output;      /* per stream; 0: none */
    const char *remove_after; /* a file the wrapper removes, or NULL */
    dk_buf_t *out, *err;      /* collect here instead of host->write */
} dk_exec_t;

typedef struct dk_exec_result {
    int64_t exit_code;
    int64_t duration_ms;
    uint32_t flags;
} dk_exec_result_t;

/* The body callback's state during exec start. */
typedef struct sink {
    dk_state_t *st;
    csdk_call_t *call;
    const dk_exec_t *ex;
    dk_demux_t demux;
    uint64_t sent[3];
    int truncated;
    int cancelled; /* host->write asked to stop */
    int bad_frame;
} sink_t;

#define SINK_STOP 1000 /* not a csdk status: "stop reading" */

static uint64_t mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int on_frame(void *arg, int stream, const void *data, size_t n)
{
    sink_t *s = arg;
    const dk_exec_t *ex = s->ex;
    uint64_t cap = ex->max_output;

    if (cap && s->sent[stream] + n > cap) {
        n = (size_t)(cap - s->sent[stream]);
        s->truncated = 1;
    }
    if (n) {
        s->sent[stream] += n;
        if (ex->out || ex->err) {
            dk_buf_t *b = stream == 2 ? ex->err : ex->out;
            if (b)
                dk_buf_add(b, data, n);
        } else if (s->st->host->write(s->call, stream == 2
                                                   ? CSDK_STREAM_STDERR
                                                   : CSDK_STREAM_STDOUT,
                                      data, n)) {
            s->cancelled = 1;
            return SINK_STOP;
        }
    }
    return s->truncated ? SINK_STOP : 0;
}

static int on_body(void *arg, const void *data, size_t n)
{
    sink_t *s = arg;
    int rc = dk_demux_feed(&s->demux, data, n, on_frame, s);

    if (rc == -1) {
        s->bad_frame = 1;
        return SINK_STOP;
    }
    return rc;
}

static json_t *env_array(const dk_exec_t *ex, const char *marker)
{
    json_t *a = json_array();

    if (a && marker) {
        char *kv = dk_printf("CSDK_EXEC_ID=%s", marker);
        if (!kv || json_array_append_new(a, json_string(kv))) {
            free(kv);
            json_decref(a);
            return NULL;
        }
        free(kv);
    }
    for (size_t i = 0; a && i < ex->n_env; i++) {
        char *kv = dk_printf("%s=%s", ex->env[i].key, ex->env[i].value);
        if (!kv || json_array_append_new(a, json_string(kv))) {
            free(kv);
            json_decref(a);
            return NULL;
        }
        free(kv);
    }
    return a;
}

static csdk_status_t exec_create(dk_state_t *st, csdk_call_t *call,
                                 const char *id, json_t *cmd,
                                 const dk_exec_t *ex, const char *marker,
                                 char **exec_id)
{
    json_t *body, *reply = NULL;
    char *path, what[96];
    const char *eid;
    csdk_status_t rc;

    *exec_id = NULL;
    body = json_pack("{s:b,s:b,s:b,s:o,s:o}", "AttachStdout", 1,
                     "AttachStderr", 1, "Tty", 0, "Cmd", cmd,
                     "Env", env_array(ex, marker));
    if (!body)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    if (ex->cwd && json_object_set_new(body, "WorkingDir",
                                       json_string(ex->cwd))) {
        json_decref(body);
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "cwd is not valid UTF-8");
    }
    if (!(path = dk_printf("/containers/%s/exec", id))) {
        json_decref(body);
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    snprintf(what, sizeof what, "sandbox %.64s", id);
    rc = dk_json(st, call, "POST", path, body, &reply, what, "404,409",
                 NULL);
    free(path);
    json_decref(body);
    if (rc == CSDK_E_NOT_FOUND)
        return st->host->error(call, rc, "no sandbox %s", id);
    if (rc == CSDK_E_CONFLICT) {
        json_t *j = NULL;
        /* dk_inspect reports an expired sandbox as gone (and removes it). */
        if ((rc = dk_inspect(st, call, id, &j)) != CSDK_OK)
            return rc;
        json_decref(j);
        return st->host->error(call, CSDK_E_CONFLICT, "sandbox %s is not "
                               "running; create a new one", id);
    }
    if (rc != CSDK_OK)
        return rc;
    eid = json_string_value(json_object_get(reply, "Id"));
    if (!eid || strspn(eid, "0123456789abcdef") != strlen(eid) || !*eid) {
        json_decref(reply);
        return st->host->error(call, CSDK_E_PROTOCOL, "%s: exec create "
                               "answered without an exec id", what);
    }
    *exec_id = strdup(eid);
    json_decref(reply);
    return *exec_id ? CSDK_OK
                    : st->host->error(call, CSDK_E_NOMEM, "out of memory");
}

/* Exit code of a finished exec; waits briefly for the engine to notice
 * the process ended after its output closed. */
static csdk_status_t exec_exit(dk_state_t *st, csdk_call_t *call,
                               const char *eid, int64_t *code)
{
    char *path = dk_printf("/exec/%s/json", eid);
    csdk_status_t rc = CSDK_OK;

    if (!path)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    for (int i = 0; i < 50; i++) {
        json_t *j = NULL;
        int running = 0;
        rc = dk_json(st, call, "GET", path, NULL, &j, "exec inspect", NULL,
                     NULL);
        if (rc != CSDK_OK)
            break;
        if (dk_parse_exec_state(j, &running, code)) {
            json_decref(j);
            rc = st->host->error(call, CSDK_E_PROTOCOL, "exec inspect "
                                 "answered without a Running field");
            break;
        }
        if (!running && *code >= 0) {
            json_decref(j);
            break;
        }
        json_decref(j);
        usleep(i < 10 ? 2000 : 20000);
        if (i == 49)
            *code = -1;
    }
    free(path);
    return rc;
}

/* One POST of a JSON body with its own budget: the kill must run even
 * when the call's deadline has passed or the caller cancelled.  Returns
 * the HTTP status (0 when none arrived); *reply gets a 2xx body's JSON
 * when reply is not NULL. */
static long post_own_budget(dk_state_t *st, const char *path,
                            const char *body, json_t **reply)
{
    static const char *const hdr[] = {"Content-Type: application/json",
                                      NULL};
    csdk_http_req_t req;
    csdk_http_resp_t resp;
    char *url = dk_printf("%s%s", st->api, path), err[256];
    long status = 0;

    if (!url)
        return 0;
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.path = url;
    req.headers = hdr;
    req.body = body;
    req.body_len = strlen(body);
    req.timeout_ms = 10000;
    if (csdk_http_do(st->http, &req, &resp, err, sizeof err) == 0) {
        status = resp.status;
        if (reply && status / 100 == 2)
            *reply = json_loadb(resp.body, resp.body_len, 0, NULL);
    }
    csdk_http_resp_clear(&resp);
    free(url);
    return status;
}

/* Kills the command's tree (after a timeout, deadline, cancel, cap or
 * death by a signal): kill_script on the marker, as an exec of its own.
 * A command must not outlive its call, so this runs with its own budget
 * whatever is left of the call's. */
static void kill_tree(dk_state_t *st, const char *id,
                      const char *marker)
{
    json_t *b, *r = NULL;
    char *path = NULL, *body = NULL;
    const char *eid;

    b = json_pack("{s:b,s:b,s:[s,s,s,s,s,s,s]}", "AttachStdout", 1,
                  "AttachStderr", 1, "Cmd", "/bin/sh", "-c", kill_script,
                  "csdk-kill", marker, "", "");
    if (b && (body = json_dumps(b, JSON_COMPACT)) &&
        (path = dk_printf("/containers/%s/exec", id)))
        post_own_budget(st, path, body, &r);
    free(path);
    path = NULL;
    eid = json_string_value(json_object_get(r, "Id"));
    if (eid && *eid && strspn(eid, "0123456789abcdef") == strlen(eid) &&
        (path = dk_printf("/exec/%s/start", eid)))
        post_own_budget(st, path, exec_start_body, NULL);
    else
        st->host->log(st->inst, CSDK_LOG_WARN, "sandbox %s: could not start "
                      "the command killer; the command may still run", id);
    free(path);
    free(body);
    json_decref(b);
    json_decref(r);
}

static json_t *argv_array(const char *const *argv)
{
    json_t *a = json_array();

    for (; a && *argv; argv++)
        if (json_array_append_new(a, json_string(*argv))) {
            json_decref(a);
            return NULL; /* not UTF-8: json_string refused it */
        }
    return a;
}

/* Builds the command: the wrapper around argv.  Without standard input or
 * a file to remove it only execs argv, which costs one shell start (about
 * a millisecond) and buys what a shell gives: a missing program is exit
 * 127 with the reason on stderr, on every engine and runtime (runc itself
 * answers 126 with its message on stdout). */
static json_t *command(const dk_exec_t *ex, const char *stdin_file)
{
    json_t *a, *rest = argv_array(ex->argv);
    char t[32] = "";

    if (!rest)
        return NULL;
    if (ex->timeout_ms)
        snprintf(t, sizeof t, "%llu.%03llu",
                 (unsigned long long)(ex->timeout_ms / 1000),
                 (unsigned long long)(ex->timeout_ms % 1000));
    a = json_pack("[s,s,s,s,s,s,s,s]", "/bin/sh", "-c", wrap_script,
                  "csdk-run", stdin_file ? stdin_file : "",
                  ex->remove_after ? ex->remove_after : "", t,
                  ex->timeout_ms ? kill_script : "");
    if (!a || json_array_extend(a, rest)) {
        json_decref(a);
        json_decref(rest);
        return NULL;
    }
    json_decref(rest);
    return a;
}

static csdk_status_t exec_run(dk_state_t *st, csdk_call_t *call,
                              const char *id, const dk_exec_t *ex,
                              dk_exec_result_t *res)
{
    static const char *const hdr[] = {"Content-Type: application/json",
                                      NULL};
    char rnd[17], stdin_file[48], *eid = NULL, *path = NULL;
    char err[512];
    json_t *cmd;
    csdk_http_req_t req;
    csdk_http_resp_t resp;
    sink_t sink;
    uint64_t t0 = mono_ms();
    csdk_status_t rc;
    int hrc;

    memset(res, 0, sizeof *res);
    dk_random_hex(rnd, 16);
    snprintf(stdin_file, sizeof stdin_file, "/tmp/.csdk-in-%s", rnd);
    if (ex->stdin_len > 0 &&
        (rc = dk_put_file(st, call, id, stdin_file, ex->stdin_data,
                          ex->stdin_len, 1)) != CSDK_OK)
        return rc;
    cmd = command(ex, ex->stdin_len ? stdin_file : NULL);
    if (!cmd)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "the command is not valid UTF-8 (the Engine "
                               "API carries JSON strings)");
    if ((rc = exec_create(st, call, id, cmd, ex, rnd, &eid)) != CSDK_OK)
        return rc;

    memset(&sink, 0, sizeof sink);
    sink.st = st;
    sink.call = call;
    sink.ex = ex;
    memset(&req, 0, sizeof req);
    if (!(path = dk_printf("/exec/%s/start", eid))) {
        free(eid);
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    req.method = "POST";
    req.path = path;
    req.headers = hdr;
    req.body = exec_start_body;
    req.body_len = sizeof exec_start_body - 1;
    req.on_body = on_body;
    req.body_arg = &sink;
    /* The watchdog in the container enforces the command's timeout; this
     * is the backstop should it not (request_timeout_ms is for API calls,
     * not for how long a command may run). */
    req.timeout_ms = ex->timeout_ms &&
                             ex->timeout_ms < 0x7fffffff - DK_WATCHDOG_GRACE_MS
                         ? (long)(ex->timeout_ms + DK_WATCHDOG_GRACE_MS)
                         : 0x7fffffffL;
    hrc = dk_send_raw(st, call, &req, &resp, err, sizeof err);
    free(path);
    if (hrc == 0 && (resp.status < 200 || resp.status >= 300)) {
        rc = dk_reply_error(st, call, &resp, "exec start");
        csdk_http_resp_clear(&resp);
        free(eid);
        return rc;
    }
    csdk_http_resp_clear(&resp);

    if (hrc == 0 && !sink.bad_frame) {
        rc = exec_exit(st, call, eid, &res->exit_code);
        /* 124 from the wrapper: its watchdog killed the command. */
        if (rc == CSDK_OK && ex->timeout_ms && res->exit_code == 124 &&
            mono_ms() - t0 >= ex->timeout_ms) {
            res->flags |= CSDK_RESULT_TIMED_OUT;
            res->exit_code = 137;
            /* The watchdog cleaned the command's session; the orphans
             * it may have left are found by marker (second pass). */
            kill_tree(st, id, rnd);
        } else if (rc == CSDK_OK && res->exit_code > 128) {
            /* Killed by a signal (perhaps its own doing): what it left
             * behind in its session goes with it. */
            kill_tree(st, id, rnd);
        }
    } else if (hrc == SINK_STOP && (sink.truncated || sink.cancelled)) {
        kill_tree(st, id, rnd);
        res->flags |= sink.truncated ? CSDK_RESULT_TRUNCATED : 0;
        rc = sink.cancelled
                 ? st->host->error(call, CSDK_E_CANCELLED,
                                   "sandbox %s: the caller stopped the "
                                   "command; it was killed", id)
                 : exec_exit(st, call, eid, &res->exit_code);
    } else if (hrc == SINK_STOP) {
        kill_tree(st, id, rnd);
        rc = st->host->error(call, CSDK_E_PROTOCOL, "sandbox %s: the exec "
                             "stream is not multiplexed as expected (bad "
                             "frame at byte %llu)", id,
                             (unsigned long long)sink.demux.offset);
    } else if (hrc == CSDK_E_TIMEOUT && st->host->remaining_ms(call) > 0) {
        /* The command's own timeout: a result, not an error. */
        kill_tree(st, id, rnd);
        res->flags |= CSDK_RESULT_TIMED_OUT;
        rc = exec_exit(st, call, eid, &res->exit_code);
    } else if (hrc == CSDK_E_TIMEOUT || hrc == CSDK_E_CANCELLED) {
        kill_tree(st, id, rnd);
        rc = st->host->remaining_ms(call) == 0
                 ? st->host->error(call, CSDK_E_TIMEOUT, "sandbox %s: the "
                                   "call's deadline passed; the command was "
                                   "killed", id)
                 : st->host->error(call, CSDK_E_CANCELLED, "sandbox %s: "
                                   "cancelled; the command was killed", id);
    } else {
        kill_tree(st, id, rnd);
        rc = st->host->error(call, hrc, "sandbox %s: %s", id, err);
    }
    free(eid);
    res->duration_ms = (int64_t)(mono_ms() - t0);
    if (rc == CSDK_OK && (ex->out || ex->err) &&
        ((ex->out && ex->out->failed) || (ex->err && ex->err->failed)))
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
    return rc;
}

csdk_status_t dk_exec_collect(dk_state_t *st, csdk_call_t *call,
                              const char *id, const char *const *argv,
                              const void *stdin_data, size_t stdin_len,
                              dk_buf_t *out, dk_buf_t *err, size_t max_bytes,
                              int *exit_code)
{
    dk_buf_t sink_out = {0}, sink_err = {0};
    dk_exec_t ex;
    dk_exec_result_t res;
    csdk_status_t rc;

    memset(&ex, 0, sizeof ex);
    ex.argv = argv;
    ex.stdin_data = stdin_data;
    ex.stdin_len = stdin_len;
    ex.max_output = max_bytes;
    ex.out = out ? out : &sink_out;
    ex.err = err ? err : &sink_err;
    rc = exec_run(st, call, id, &ex, &res);
    dk_buf_free(&sink_out);
    dk_buf_free(&sink_err);
    if (rc == CSDK_OK && exit_code)
        *exit_code = (int)res.exit_code;
    return rc;
}

static csdk_status_t report(dk_state_t *st, csdk_call_t *call,
                            const dk_exec_result_t *r)
{
    const csdk_host_t *h = st->host;
    int32_t failed = 0;

    failed |= h->set_int(call, CSDK_F_EXIT_CODE, r->exit_code);
    failed |= h->set_int(call, CSDK_F_DURATION_MS, r->duration_ms);
    failed |= h->set_int(call, CSDK_F_RESULT_FLAGS, (int64_t)r->flags);
    return failed ? h->error(call, CSDK_E_NOMEM, "out of memory") : CSDK_OK;
}

/* Starts argv in the background: output to a log file in /tmp, the pid
 * (inside the container) reported. */
static csdk_status_t run_background(dk_state_t *st, csdk_call_t *call,
                                    const char *id, dk_exec_t *ex)
{
    char rnd[17], log[48], *end;
    const char **argv;
    size_t n = 0;
    dk_buf_t out = {0};
    int code = 0;
    long pid;
    csdk_status_t rc;

    if (ex->stdin_len)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "a background command cannot be given "
                               "standard input; write it to a file and "
                               "redirect");
    while (ex->argv[n])
        n++;
    if (!(argv = calloc(n + 6, sizeof *argv)))
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    dk_random_hex(rnd, 16);
    snprintf(log, sizeof log, "/tmp/.csdk-bg-%s.log", rnd);
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = bg_script;
    argv[3] = "csdk-bg"; /* $0 */
    argv[4] = log;
    memcpy(argv + 5, ex->argv, n * sizeof *argv);
    ex->argv = argv;
    ex->out = &out;
    ex->max_output = 64;
    {
        dk_exec_result_t res;
        rc = exec_run(st, call, id, ex, &res);
        code = (int)res.exit_code;
    }
    free(argv);
    if (rc == CSDK_OK) {
        pid = out.data ? strtol(out.data, &end, 10) : 0;
        if (code != 0 || pid <= 0)
            rc = st->host->error(call, CSDK_E_PROTOCOL, "sandbox %s: the "
                                 "background command did not start (exit "
                                 "%d)", id, code);
        else if (st->host->set_int(call, CSDK_F_PID, pid) ||
                 st->host->set_int(call, CSDK_F_EXIT_CODE, 0))
            rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    dk_buf_free(&out);
    return rc;
}

static void exec_from_opts(dk_exec_t *ex, const csdk_run_opts_t *o)
{
    memset(ex, 0, sizeof *ex);
    ex->env = o->env;
    ex->n_env = o->n_env;
    ex->cwd = o->cwd;
    ex->stdin_data = o->stdin_data;
    ex->stdin_len = o->stdin_len;
    ex->timeout_ms = o->timeout_ms;
    ex->max_output = o->max_output;
}

/* Commands run only in csdk's own containers: dk_inspect refuses others
 * (NOT_FOUND) and expired ones. */
static csdk_status_t check_ours(dk_state_t *st, csdk_call_t *call,
                                const char *id)
{
    json_t *j = NULL;
    csdk_status_t rc = dk_inspect(st, call, id, &j);

    json_decref(j);
    return rc;
}

csdk_status_t dk_run_command(void *state, csdk_call_t *call, const char *id,
                             const csdk_run_opts_t *opts)
{
    dk_state_t *st = state;
    csdk_run_opts_t o;
    dk_exec_t ex;
    dk_exec_result_t res;
    const char *sh_argv[] = {"/bin/sh", "-c", NULL, NULL};
    csdk_status_t rc;

    csdk_opts_read(&o, sizeof o, opts);
    if ((rc = check_ours(st, call, id)) != CSDK_OK)
        return rc;
    exec_from_opts(&ex, &o);
    if (o.shell) {
        sh_argv[2] = o.shell;
        ex.argv = sh_argv;
    } else if (o.argv && o.argv[0]) {
        ex.argv = o.argv;
    } else {
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no command given (argv or a shell string)");
    }
    if (o.flags & CSDK_RUN_BACKGROUND)
        return run_background(st, call, id, &ex);
    if ((rc = exec_run(st, call, id, &ex, &res)) != CSDK_OK)
        return rc;
    return report(st, call, &res);
}

/* ------------------------------------------------------------ run_code */

/* Exit 3 with the message on stderr when the file does not compile. */
static const char py_check[] =
    "import sys\n"
    "p = sys.argv[1]\n"
    "try:\n"
    "    compile(open(p, 'rb').read(), p, 'exec', dont_inherit=True)\n"
    "except (SyntaxError, ValueError) as e:\n"
    "    import traceback\n"
    "    traceback.print_exception(type(e), e, None, file=sys.stderr)\n"
    "    sys.exit(3)\n";

static const char *detect_language(const char *code, size_t len)
{
    static const char *const js_marks[] = {
        "console.log", "require(", "=>", "const ", "let ", "function ",
        "import ", "export ", NULL};

    for (const char *const *m = js_marks; *m; m++)
        if (memmem(code, len, *m, strlen(*m)))
            return "node";
    return "python";
}

/* The sandbox's runtime label (its default language), or NULL. */
static char *sandbox_runtime(dk_state_t *st, csdk_call_t *call,
                             const char *id, csdk_status_t *rc)
{
    json_t *j = NULL;
    dk_record_t r;
    const char *rt;
    char *out = NULL;

    if ((*rc = dk_inspect(st, call, id, &j)) != CSDK_OK)
        return NULL;
    rt = dk_parse_record(j, 0, &r) ? NULL : r.runtime;
    if (rt && !(out = strdup(rt)))
        *rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
    json_decref(j);
    return out;
}

csdk_status_t dk_run_code(void *state, csdk_call_t *call, const char *id,
                          const char *code, size_t code_len,
                          const char *language, const csdk_run_opts_t *opts)
{
    dk_state_t *st = state;
    csdk_run_opts_t o;
    dk_exec_t ex;
    dk_exec_result_t res;
    dk_buf_t msg = {0};
    char rnd[17], file[64], *rt = NULL;
    int python, check_exit = 0;
    csdk_status_t rc;

    csdk_opts_read(&o, sizeof o, opts);
    if (language && (rc = check_ours(st, call, id)) != CSDK_OK)
        return rc;
    if (!language) { /* sandbox_runtime inspects (and checks) it */
        rt = sandbox_runtime(st, call, id, &rc);
        if (rc != CSDK_OK)
            return rc;
        language = rt ? rt : detect_language(code, code_len);
    }
    if (!strcmp(language, "python") || !strcmp(language, "python3"))
        python = 1;
    else if (!strcmp(language, "node") || !strcmp(language, "javascript") ||
             !strcmp(language, "js"))
        python = 0;
    else {
        rc = st->host->error(call, CSDK_E_NOT_SUPPORTED, "language '%s' is "
                             "not supported by the docker provider (python "
                             "or node)", language);
        free(rt);
        return rc;
    }
    free(rt);
    dk_random_hex(rnd, 16);
    snprintf(file, sizeof file, "/tmp/.csdk-code-%s.%s", rnd,
             python ? "py" : "js");
    if ((rc = dk_put_file(st, call, id, file, code, code_len, 0)) != CSDK_OK)
        return rc;

    /* A syntax check first: code that does not parse is CSDK_E_SYNTAX,
     * distinct from a program that fails while running. */
    {
        const char *py_argv[] = {"python3", "-I", "-B", "-c", py_check, file,
                                 NULL};
        const char *js_argv[] = {"node", "--check", file, NULL};
        rc = dk_exec_collect(st, call, id, python ? py_argv : js_argv, NULL,
                             0, NULL, &msg, 1 << 20, &check_exit);
    }
    if (rc == CSDK_OK && check_exit != 0 &&
        (python ? check_exit == 3
                : (msg.data && strstr(msg.data, "SyntaxError")))) {
        if (msg.len)
            st->host->write(call, CSDK_STREAM_STDERR, msg.data, msg.len);
        st->host->set_int(call, CSDK_F_EXIT_CODE, 1);
        st->host->set_int(call, CSDK_F_RESULT_FLAGS, CSDK_RESULT_SYNTAX);
        rc = st->host->error(call, CSDK_E_SYNTAX, "the %s code does not "
                             "parse", python ? "python" : "node");
    } else if (rc == CSDK_OK && check_exit == 127) {
        rc = st->host->error(call, CSDK_E_NOT_SUPPORTED, "sandbox %s has no "
                             "%s interpreter on its PATH (use an image with "
                             "it: image_%s = ...)", id,
                             python ? "python3" : "node",
                             python ? "python" : "node");
    }
    dk_buf_free(&msg);
    if (rc != CSDK_OK)
        return rc;

    exec_from_opts(&ex, &o);
    {
        const char *py_argv[] = {"python3", "-u", file, NULL};
        const char *js_argv[] = {"node", file, NULL};
        ex.argv = python ? py_argv : js_argv;
        ex.remove_after = file;
        if (o.flags & CSDK_RUN_BACKGROUND)
            return run_background(st, call, id, &ex);
        if ((rc = exec_run(st, call, id, &ex, &res)) != CSDK_OK)
            return rc;
    }
    return report(st, call, &res);
}
