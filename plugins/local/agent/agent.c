/*
 * plugins/local/agent/agent.c - csdk-local-agent, the init of a local
 * sandbox: it serves the plugin's requests (proto.h) on the inherited
 * listening socket, runs commands under shepherds, reaps orphans and takes
 * the sandbox down at its expiry or on SHUTDOWN.
 *
 *   csdk-local-agent --listen-fd N [--expires-ms MS]
 *   csdk-local-agent --exec-as UID:GID ... -- bwrap ARGS   (execas.c)
 *
 * MS is an absolute wall-clock time in milliseconds (0: never).  The agent
 * is meant to be pid 1 of the sandbox's pid namespace (bwrap --as-pid-1):
 * then exiting, or dying, takes every process of the sandbox with it.
 *
 * As init it inherits every process whose shepherd died -- a command can
 * kill its own shepherd, which runs as the same user -- so whenever a
 * shepherd dies, and once a second besides, it kills every such orphan
 * with its descendants (tree_kill_orphans).  It also holds each foreground
 * command to its timeout itself, a second after the shepherd should have:
 * a stopped or dead shepherd cannot keep a command running or its caller
 * waiting.
 *
 * One thread, one poll() loop.  Requests are read with blocking calls once
 * poll says bytes are there (the plugin writes each request in one go), and
 * a receive/send timeout on every connection bounds how long a broken
 * client can hold the loop.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "agent.h"
#include "proto.h"

#include <csdk/provider.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define AGENT_MAX_CONNS 1024
#define AGENT_IO_TIMEOUT_S 5
/* How often the agent looks for orphans of dead shepherds anyway. */
#define AGENT_ORPHAN_SCAN_MS 1000
/* How long past a command's timeout the agent waits for its shepherd to
 * report before killing the shepherd itself (a stopped shepherd never
 * will). */
#define AGENT_SHEPHERD_GRACE_MS 1000

typedef struct job job_t;

typedef struct conn {
    int fd;
    int rdhup; /* the peer shut its write side: wait for POLLHUP only */
    job_t *job; /* the command this connection waits on, or NULL */
} conn_t;

struct job {
    pid_t shepherd;
    pid_t pid;     /* the command's pid, once the shepherd said so */
    int report_fd; /* -1 after EOF */
    int background;
    int exited;    /* SHEP_EXITED received */
    int reaped;    /* the shepherd has been waited for */
    int cancelled; /* killed because the caller went away */
    int timed_out; /* the agent killed the shepherd at the timeout */
    int fork_errno; /* SHEP_FORK_FAILED: the command could not start */
    uint64_t pids_limit;  /* for the message when it could not start */
    uint64_t started_ms;  /* monotonic */
    uint64_t deadline_ms; /* monotonic; 0: no timeout (or handled) */
    conn_t *conn;  /* the connection to answer, or NULL */
};

static struct {
    int is_init; /* pid 1 of our pid namespace */
    int listen_fd;
    uint64_t accept_paused_until; /* monotonic ms; 0: accepting */
    int sig_fd;
    uint64_t expires_ms; /* wall clock; 0: never */
    uint64_t next_orphan_scan; /* monotonic ms */
    conn_t **conns;
    size_t nconns, cap_conns;
    job_t **jobs;
    size_t njobs, cap_jobs;
} ag;

static void logmsg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void logmsg(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof buf)
        n = sizeof buf - 1;
    dprintf(2, "csdk-local-agent: %.*s\n", n, buf);
}

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* ------------------------------------------------------------------ */
/* Replies                                                              */
/* ------------------------------------------------------------------ */

/* Send a built reply; a failure means the peer is gone, which the caller
 * handles like a hang-up.  Frees the builder. */
static int reply_send(conn_t *c, proto_builder_t *b)
{
    int rc = proto_send(c->fd, b, NULL, 0);
    proto_builder_free(b);
    return rc;
}

static int reply_ok(conn_t *c)
{
    proto_builder_t b;
    proto_begin(&b, PROTO_REP_OK);
    return reply_send(c, &b);
}

static int reply_error(conn_t *c, int32_t status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int reply_error(conn_t *c, int32_t status, const char *fmt, ...)
{
    proto_builder_t b;
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    proto_begin(&b, PROTO_REP_ERROR);
    proto_add_i64(&b, PROTO_F_STATUS, status);
    proto_add_str(&b, PROTO_F_MESSAGE, msg);
    return reply_send(c, &b);
}

/* ------------------------------------------------------------------ */
/* Bookkeeping                                                          */
/* ------------------------------------------------------------------ */

static int push(void ***v, size_t *n, size_t *cap, void *p)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        void **nv = realloc(*v, c * sizeof *nv);
        if (!nv)
            return -1;
        *v = nv;
        *cap = c;
    }
    (*v)[(*n)++] = p;
    return 0;
}

static void drop(void **v, size_t *n, const void *p)
{
    for (size_t i = 0; i < *n; i++)
        if (v[i] == p) {
            v[i] = v[--*n];
            return;
        }
}

static void conn_close(conn_t *c)
{
    if (c->job && c->job->conn == c)
        c->job->conn = NULL;
    close(c->fd);
    drop((void **)ag.conns, &ag.nconns, c);
    free(c);
}

/* The command could not be forked: say why, in the caller's terms. */
static void reply_fork_failed(conn_t *c, int e, uint64_t pids_limit)
{
    if (e == EAGAIN && pids_limit)
        reply_error(c, CSDK_E_QUOTA,
                    "cannot start the command: the sandbox's process limit "
                    "(pids=%llu) is reached", (unsigned long long)pids_limit);
    else if (e == EAGAIN)
        reply_error(c, CSDK_E_QUOTA,
                    "cannot start the command: the sandbox's process limit "
                    "is reached");
    else if (e == ENOMEM)
        reply_error(c, CSDK_E_QUOTA,
                    "cannot start the command: the sandbox is out of memory "
                    "(fork: %s)", strerror(e));
    else
        reply_error(c, CSDK_E_INTERNAL, "cannot start the command: fork: %s",
                    strerror(e));
}

/*
 * Free a job once its shepherd is reaped and its report pipe closed.  A
 * caller still waiting then gets its answer: the shepherd ended without
 * reporting the command's end, because the command could not be forked,
 * or because the shepherd was killed (by the command, or by us at the
 * timeout) -- its orphans are dead by now (reap() killed them), so the
 * command was killed.
 */
static void job_maybe_free(job_t *j)
{
    if (!j->reaped || j->report_fd >= 0)
        return;
    if (j->conn && !j->exited) {
        conn_t *c = j->conn;

        if (j->fork_errno) {
            reply_fork_failed(c, j->fork_errno, j->pids_limit);
        } else {
            proto_builder_t b;

            proto_begin(&b, PROTO_REP_EXITED);
            proto_add_i64(&b, PROTO_F_EXIT_CODE, 128 + SIGKILL);
            proto_add_i64(&b, PROTO_F_SIGNAL, SIGKILL);
            proto_add_u64(&b, PROTO_F_FLAGS,
                          j->timed_out ? PROTO_EXITED_TIMED_OUT : 0);
            proto_add_u64(&b, PROTO_F_DURATION_MS, mono_ms() - j->started_ms);
            reply_send(c, &b);
        }
        conn_close(c);
    }
    if (j->conn)
        j->conn->job = NULL;
    drop((void **)ag.jobs, &ag.njobs, j);
    free(j);
}

/* The job of a live (not yet reaped) shepherd: a reaped one's pid may
 * already be another child's. */
static job_t *job_by_shepherd(pid_t pid)
{
    for (size_t i = 0; i < ag.njobs; i++)
        if (ag.jobs[i]->shepherd == pid && !ag.jobs[i]->reaped)
            return ag.jobs[i];
    return NULL;
}

/* The live job whose command has `pid`.  After the pid counter wraps, an
 * old job that only waits for leftovers may carry the same number as a
 * new command: the one whose command still runs wins. */
static job_t *job_by_pid(pid_t pid)
{
    job_t *found = NULL;
    for (size_t i = 0; i < ag.njobs; i++) {
        job_t *j = ag.jobs[i];
        if (j->pid != pid || j->reaped)
            continue;
        if (!j->exited)
            return j;
        found = j;
    }
    return found;
}

/* ------------------------------------------------------------------ */
/* Shutdown                                                             */
/* ------------------------------------------------------------------ */

static void shutdown_sandbox(const char *why) __attribute__((noreturn));

static void shutdown_sandbox(const char *why)
{
    logmsg("shutting down: %s", why);
    if (ag.is_init) {
        /* From pid 1 this reaches every other process of the namespace;
         * the kernel would do the same when we exit, this just does it
         * first. */
        kill(-1, SIGKILL);
    } else {
        /* Not an init (run by hand, or under bwrap without --as-pid-1):
         * kill(-1) would reach every process this user may signal outside
         * any sandbox, so only our own commands' trees are killed. */
        for (size_t i = 0; i < ag.njobs; i++)
            if (!ag.jobs[i]->reaped)
                tree_kill(ag.jobs[i]->shepherd, ag.jobs[i]->pid, SIGKILL);
    }
    exit(0);
}

/* ------------------------------------------------------------------ */
/* Requests                                                             */
/* ------------------------------------------------------------------ */

static void exec_req_free(exec_req_t *r)
{
    if (r->argv)
        for (char **p = r->argv; *p; p++)
            free(*p);
    if (r->envp)
        for (char **p = r->envp; *p; p++)
            free(*p);
    free(r->argv);
    free(r->envp);
    free(r->cwd);
}

/* Decode an EXEC request.  Returns 0, or a csdk status with `err` set. */
static int exec_decode(const proto_frame_t *f, exec_req_t *r, char *err,
                       size_t errlen)
{
    static const uint16_t limit_keys[AGENT_NLIMITS] = {
        [AGENT_LIMIT_FSIZE] = PROTO_F_LIMIT_FSIZE,
        [AGENT_LIMIT_NOFILE] = PROTO_F_LIMIT_NOFILE,
        [AGENT_LIMIT_CPU] = PROTO_F_LIMIT_CPU_S,
        [AGENT_LIMIT_AS] = PROTO_F_LIMIT_AS,
    };
    size_t na = 0, ne = 0;
    uint64_t flags = 0;
    const proto_field_t *cwd;

    memset(r, 0, sizeof *r);
    for (int i = 0; i < 3; i++)
        r->fds[i] = -1;
    for (uint32_t i = 0; i < f->nfields; i++) {
        na += f->fields[i].key == PROTO_F_ARGV;
        ne += f->fields[i].key == PROTO_F_ENV;
    }
    if (na == 0) {
        snprintf(err, errlen, "EXEC without ARGV");
        return CSDK_E_INVALID_ARGUMENT;
    }
    r->argv = calloc(na + 1, sizeof *r->argv);
    r->envp = calloc(ne + 1, sizeof *r->envp);
    if (!r->argv || !r->envp)
        goto nomem;
    na = ne = 0;
    for (uint32_t i = 0; i < f->nfields; i++) {
        const proto_field_t *fld = &f->fields[i];
        char *s;
        if (fld->key != PROTO_F_ARGV && fld->key != PROTO_F_ENV)
            continue;
        if (memchr(fld->val, '\0', fld->len)) {
            snprintf(err, errlen, "EXEC %s field holds a NUL byte",
                     fld->key == PROTO_F_ARGV ? "ARGV" : "ENV");
            return CSDK_E_INVALID_ARGUMENT;
        }
        if (!(s = proto_strdup(fld)))
            goto nomem;
        if (fld->key == PROTO_F_ARGV) {
            r->argv[na++] = s;
        } else {
            r->envp[ne++] = s;
            if (!strchr(s, '=') || s[0] == '=') {
                snprintf(err, errlen, "EXEC environment entry '%.100s' is not NAME=VALUE", s);
                return CSDK_E_INVALID_ARGUMENT;
            }
        }
    }
    if ((cwd = proto_get(f, PROTO_F_CWD))) {
        if (cwd->len == 0 || !(r->cwd = proto_strdup(cwd))) {
            snprintf(err, errlen, "EXEC has an empty or malformed CWD");
            return CSDK_E_INVALID_ARGUMENT;
        }
    }
    if (proto_get(f, PROTO_F_TIMEOUT_MS) &&
        proto_u64(f, PROTO_F_TIMEOUT_MS, &r->timeout_ms) < 0) {
        snprintf(err, errlen, "EXEC TIMEOUT_MS is not a decimal number");
        return CSDK_E_INVALID_ARGUMENT;
    }
    if (proto_get(f, PROTO_F_FLAGS) && proto_u64(f, PROTO_F_FLAGS, &flags) < 0) {
        snprintf(err, errlen, "EXEC FLAGS is not a decimal number");
        return CSDK_E_INVALID_ARGUMENT;
    }
    r->background = (flags & PROTO_EXEC_BACKGROUND) != 0;
    if (proto_get(f, PROTO_F_PIDS_LIMIT))
        (void)proto_u64(f, PROTO_F_PIDS_LIMIT, &r->pids_limit);
    for (int i = 0; i < AGENT_NLIMITS; i++) {
        if (!proto_get(f, limit_keys[i]))
            continue;
        if (proto_u64(f, limit_keys[i], &r->limit[i]) < 0) {
            snprintf(err, errlen, "EXEC limit field %u is not a decimal number",
                     (unsigned)limit_keys[i]);
            return CSDK_E_INVALID_ARGUMENT;
        }
        r->has_limit[i] = 1;
    }
    if (r->background ? f->nfds != 0 : f->nfds != 3) {
        snprintf(err, errlen,
                 "EXEC needs 3 descriptors (stdin, stdout, stderr) for a "
                 "foreground command and none for a background one; got %d",
                 f->nfds);
        return CSDK_E_INVALID_ARGUMENT;
    }
    if (!r->background)
        memcpy(r->fds, f->fds, sizeof r->fds);
    return 0;

nomem:
    snprintf(err, errlen, "out of memory");
    return CSDK_E_NOMEM;
}

/* Returns 1 if the connection stays open (a command runs for it). */
static int handle_exec(conn_t *c, proto_frame_t *f)
{
    exec_req_t req;
    char err[256];
    job_t *j;
    int rc, rfd = -1;

    rc = exec_decode(f, &req, err, sizeof err);
    if (rc) {
        exec_req_free(&req);
        reply_error(c, rc, "%s", err);
        return 0;
    }
    j = calloc(1, sizeof *j);
    if (!j || push((void ***)&ag.jobs, &ag.njobs, &ag.cap_jobs, j) < 0) {
        free(j);
        exec_req_free(&req);
        reply_error(c, CSDK_E_NOMEM, "out of memory");
        return 0;
    }
    j->background = req.background;
    j->pids_limit = req.pids_limit;
    j->started_ms = mono_ms();
    if (req.timeout_ms && !req.background)
        j->deadline_ms = req.timeout_ms > UINT64_MAX - j->started_ms -
                                              AGENT_SHEPHERD_GRACE_MS
                             ? 0
                             : j->started_ms + req.timeout_ms +
                                   AGENT_SHEPHERD_GRACE_MS;
    j->shepherd = shepherd_start(&req, &rfd);
    exec_req_free(&req);
    if (j->shepherd < 0) {
        int e = errno;
        uint64_t pids = j->pids_limit;
        drop((void **)ag.jobs, &ag.njobs, j);
        free(j);
        reply_fork_failed(c, e, pids);
        return 0;
    }
    j->report_fd = rfd;
    j->conn = c;
    c->job = j;
    return 1;
}

static void handle_kill(conn_t *c, proto_frame_t *f)
{
    int64_t pid, sig = SIGKILL;
    job_t *j;

    if (proto_i64(f, PROTO_F_PID, &pid) < 0 || pid <= 1 || pid > INT_MAX) {
        reply_error(c, CSDK_E_INVALID_ARGUMENT, "KILL needs a PID field > 1");
        return;
    }
    if (proto_get(f, PROTO_F_SIGNAL) &&
        (proto_i64(f, PROTO_F_SIGNAL, &sig) < 0 || sig < 1 || sig >= NSIG)) {
        reply_error(c, CSDK_E_INVALID_ARGUMENT, "KILL SIGNAL must be 1-%d",
                    NSIG - 1);
        return;
    }
    j = job_by_pid((pid_t)pid);
    if (!j) {
        reply_error(c, CSDK_E_NOT_FOUND,
                    "no command with pid %lld is running in this sandbox",
                    (long long)pid);
        return;
    }
    /* Once the main command has ended its pid may be reused: then only
     * the shepherd's remaining descendants are signalled. */
    tree_kill(j->shepherd, j->exited ? 0 : j->pid, (int)sig);
    reply_ok(c);
}

static void handle_extend(conn_t *c, proto_frame_t *f)
{
    uint64_t ms;
    if (proto_u64(f, PROTO_F_EXPIRES_MS, &ms) < 0) {
        reply_error(c, CSDK_E_INVALID_ARGUMENT,
                    "EXTEND needs EXPIRES_MS (absolute wall-clock milliseconds)");
        return;
    }
    ag.expires_ms = ms;
    reply_ok(c);
}

/* A request has arrived on a fresh connection. */
static void conn_request(conn_t *c)
{
    proto_frame_t f;
    int rc = proto_recv(c->fd, &f);

    if (rc <= 0) {
        if (rc < 0 && errno == EPROTO)
            reply_error(c, CSDK_E_PROTOCOL,
                        "malformed request frame (protocol version %d)",
                        PROTO_VERSION);
        conn_close(c);
        return;
    }
    switch (f.type) {
    case PROTO_REQ_PING:
        reply_ok(c);
        break;
    case PROTO_REQ_EXEC:
        if (handle_exec(c, &f)) {
            proto_frame_free(&f); /* our copies of the fds: the shepherd has its own */
            return;
        }
        break;
    case PROTO_REQ_KILL:
        handle_kill(c, &f);
        break;
    case PROTO_REQ_SHUTDOWN:
        proto_frame_free(&f);
        reply_ok(c);
        close(c->fd);
        shutdown_sandbox("SHUTDOWN request");
    case PROTO_REQ_EXTEND:
        handle_extend(c, &f);
        break;
    default:
        reply_error(c, CSDK_E_NOT_SUPPORTED,
                    "unknown request type %u (agent protocol version %d)",
                    (unsigned)f.type, PROTO_VERSION);
        break;
    }
    proto_frame_free(&f);
    conn_close(c);
}

/* The caller went away while its foreground command runs: kill it. */
static void job_cancel(job_t *j)
{
    j->cancelled = 1;
    /* A reaped shepherd's pid may already belong to someone else. */
    if (!j->reaped)
        tree_kill(j->shepherd, j->pid, SIGKILL);
}

/* Something happened on a connection that waits for its command. */
static void conn_waiting_event(conn_t *c, short revents)
{
    job_t *j = c->job;
    char byte;
    ssize_t n;

    if (!(revents & (POLLHUP | POLLERR))) {
        n = recv(c->fd, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return;
        if (n == 0) {
            /* Half-closed: the caller may still read our replies. */
            c->rdhup = 1;
            return;
        }
        /* Bytes after the request are a protocol error; treat as gone. */
    }
    if (j && !j->background && !j->exited)
        job_cancel(j);
    conn_close(c);
}

/* ------------------------------------------------------------------ */
/* Shepherd reports and reaping                                         */
/* ------------------------------------------------------------------ */

static void job_report(job_t *j)
{
    for (;;) {
        shep_msg_t m;
        ssize_t n = read(j->report_fd, &m, sizeof m);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return;
        if (n != (ssize_t)sizeof m) { /* EOF: the shepherd is gone */
            close(j->report_fd);
            j->report_fd = -1;
            /* Its tree has lost its subreaper: the group is what can be
             * named at once; reap() kills the rest once the shepherd is
             * reaped, and job_maybe_free answers the caller. */
            if (!j->exited && j->pid > 0)
                kill(-j->pid, SIGKILL);
            job_maybe_free(j);
            return;
        }
        if (m.kind == SHEP_FORK_FAILED) {
            j->fork_errno = m.error ? m.error : EAGAIN;
        } else if (m.kind == SHEP_STARTED) {
            proto_builder_t b;
            j->pid = m.pid;
            if (j->cancelled) { /* cancelled before it was even forked */
                if (!j->reaped)
                    tree_kill(j->shepherd, j->pid, SIGKILL);
                continue;
            }
            if (!j->conn)
                continue;
            proto_begin(&b, PROTO_REP_STARTED);
            proto_add_i64(&b, PROTO_F_PID, m.pid);
            if (reply_send(j->conn, &b) < 0) {
                if (!j->background)
                    job_cancel(j);
                conn_close(j->conn);
            } else if (j->background) {
                conn_close(j->conn);
            }
        } else if (m.kind == SHEP_EXITED) {
            proto_builder_t b;
            j->exited = 1;
            if (!j->conn)
                continue;
            proto_begin(&b, PROTO_REP_EXITED);
            proto_add_i64(&b, PROTO_F_EXIT_CODE, m.exit_code);
            proto_add_i64(&b, PROTO_F_SIGNAL, m.signal);
            proto_add_u64(&b, PROTO_F_FLAGS, m.flags);
            proto_add_u64(&b, PROTO_F_DURATION_MS, m.duration_ms);
            reply_send(j->conn, &b);
            conn_close(j->conn);
        }
    }
}

/* Kill every orphan of a dead shepherd (see tree_kill_orphans). */
static void kill_orphans(void)
{
    pid_t keep[64] = {0}, *k = keep;
    size_t n = 0;

    if (!ag.is_init)
        return; /* orphans are not reparented to us */
    if (ag.njobs > sizeof keep / sizeof keep[0]) {
        k = malloc(ag.njobs * sizeof *k);
        if (!k)
            return; /* the next scan tries again */
    }
    for (size_t i = 0; i < ag.njobs; i++)
        if (!ag.jobs[i]->reaped)
            k[n++] = ag.jobs[i]->shepherd;
    tree_kill_orphans(k, n);
    if (k != keep)
        free(k);
    ag.next_orphan_scan = mono_ms() + AGENT_ORPHAN_SCAN_MS;
}

/* SIGCHLD: reap everything.  As init, we inherit every orphan of the
 * sandbox whose tree had no living shepherd: when a shepherd was killed,
 * its orphans are killed before its caller hears about it.  (A shepherd
 * that exits by itself has reaped its whole tree first.) */
static void reap(void)
{
    struct signalfd_siginfo si;
    pid_t p;
    int st, shepherds = 0, killed = 0;

    while (read(ag.sig_fd, &si, sizeof si) > 0)
        ;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
        job_t *j = job_by_shepherd(p);
        if (j) {
            j->reaped = 1;
            shepherds++;
            killed |= WIFSIGNALED(st);
        }
    }
    if (!shepherds)
        return;
    if (killed)
        kill_orphans();
    /* Backwards: job_maybe_free moves the last job into the freed slot. */
    for (size_t i = ag.njobs; i-- > 0;)
        if (i < ag.njobs)
            job_maybe_free(ag.jobs[i]);
}

/* A foreground command past its timeout whose shepherd has not reported
 * (stopped, or stuck): kill the shepherd; reap() does the rest. */
static void enforce_deadlines(uint64_t now)
{
    for (size_t i = 0; i < ag.njobs; i++) {
        job_t *j = ag.jobs[i];
        if (!j->deadline_ms || now < j->deadline_ms)
            continue;
        j->deadline_ms = 0;
        if (j->exited || j->reaped)
            continue;
        logmsg("the shepherd of pid %ld did not end it at its timeout; "
               "killing it", (long)j->pid);
        j->timed_out = 1;
        kill(j->shepherd, SIGKILL);
    }
}

/* ------------------------------------------------------------------ */
/* Start-up and the loop                                                */
/* ------------------------------------------------------------------ */

static void usage(void) __attribute__((noreturn));

static void usage(void)
{
    dprintf(2, "usage: csdk-local-agent --listen-fd N [--expires-ms MS]\n"
               "       csdk-local-agent --exec-as UID:GID [--stage DIR "
               "[--expose NAME PATH]...] -- PROGRAM ARGS...\n"
               "  the init of a csdk local sandbox, and the trampoline that "
               "starts bubblewrap as an unprivileged user; started by the "
               "local provider, not by hand\n");
    exit(2);
}

static int parse_num(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!s || *s < '0' || *s > '9')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static void setup(int argc, char **argv)
{
    uint64_t fd = UINT64_MAX, exp = 0;
    pid_t parent = getppid();
    sigset_t set;
    int on = 0;
    socklen_t len = sizeof on;

    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--listen-fd") && i + 1 < argc) {
            if (parse_num(argv[++i], INT_MAX, &fd) < 0)
                usage();
        } else if (!strcmp(argv[i], "--expires-ms") && i + 1 < argc) {
            if (parse_num(argv[++i], UINT64_MAX, &exp) < 0)
                usage();
        } else {
            usage();
        }
    }
    if (fd == UINT64_MAX)
        usage();

    /* If the sandbox's creator (bwrap's monitor) dies, so do we, and as
     * pid 1 we take the namespace with us.  Check it did not die before
     * the prctl (inside a pid namespace getppid() is 0 either way, so this
     * catches only the unnamespaced case; the plugin's reaper covers the
     * rest). */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) {
        logmsg("the parent process is gone; exiting");
        exit(1);
    }
    /* Sandboxed code runs as our uid: without this it could ptrace us or
     * read our fds through /proc/1/fd. */
    prctl(PR_SET_DUMPABLE, 0);

    /* Keep 0-2 open so no received or created fd ever lands there. */
    for (int i = 0; i < 3; i++)
        if (fcntl(i, F_GETFD) < 0 && open("/dev/null", O_RDWR) != i)
            exit(1);

    ag.listen_fd = (int)fd;
    if (getsockopt(ag.listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) < 0 || !on) {
        logmsg("--listen-fd %d is not a listening socket", ag.listen_fd);
        exit(2);
    }
    if (fcntl(ag.listen_fd, F_SETFD, FD_CLOEXEC) < 0) {
        logmsg("cannot mark the listening socket close-on-exec: %s", strerror(errno));
        exit(1);
    }
    ag.expires_ms = exp;
    ag.is_init = getpid() == 1;
    if (!ag.is_init)
        logmsg("not pid 1 of a pid namespace (pid %ld): orphans are not "
               "ours to reap and shutdown kills only our commands",
               (long)getpid());

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGCHLD);
    sigprocmask(SIG_BLOCK, &set, NULL);
    ag.sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    if (ag.sig_fd < 0) {
        logmsg("signalfd: %s", strerror(errno));
        exit(1);
    }
}

static void accept_conn(void)
{
    struct timeval tv = {AGENT_IO_TIMEOUT_S, 0};
    conn_t *c;
    int fd = accept4(ag.listen_fd, NULL, NULL, SOCK_CLOEXEC);

    if (fd < 0) {
        switch (errno) {
        case EINTR:
        case EAGAIN:
        case ECONNABORTED:
            return;
        case EMFILE:
        case ENFILE:
        case ENOBUFS:
        case ENOMEM:
            /* The connection stays queued: try again in a moment rather
             * than spinning on a listener that stays readable. */
            logmsg("accept: %s; pausing for 100 ms", strerror(errno));
            ag.accept_paused_until = mono_ms() + 100;
            return;
        default:
            /* The control socket itself is broken: nobody can manage
             * this sandbox any more. */
            logmsg("accept: %s", strerror(errno));
            shutdown_sandbox("the control socket failed");
        }
    }
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    c = calloc(1, sizeof *c);
    if (!c || push((void ***)&ag.conns, &ag.nconns, &ag.cap_conns, c) < 0) {
        free(c);
        close(fd);
        return;
    }
    c->fd = fd;
}

enum { EV_SIG, EV_LISTEN, EV_CONN, EV_JOB };

int main(int argc, char **argv)
{
    struct pollfd *pfd = NULL;
    struct { int kind; void *obj; } *ev = NULL;
    size_t cap = 0;

    if (argc > 1 && !strcmp(argv[1], "--exec-as"))
        execas_main(argc, argv);
    setup(argc, argv);
    ag.next_orphan_scan = mono_ms() + AGENT_ORPHAN_SCAN_MS;
    for (;;) {
        size_t n = 0, need = 2 + ag.nconns + ag.njobs;
        int timeout = -1, rc;
        uint64_t tick;

        if (need > cap) {
            void *np = realloc(pfd, need * sizeof *pfd);
            void *ne;
            if (!np)
                shutdown_sandbox("out of memory");
            pfd = np;
            ne = realloc(ev, need * sizeof *ev);
            if (!ne)
                shutdown_sandbox("out of memory");
            ev = ne;
            cap = need;
        }
        pfd[n] = (struct pollfd){.fd = ag.sig_fd, .events = POLLIN};
        ev[n++].kind = EV_SIG;
        if (ag.accept_paused_until && mono_ms() >= ag.accept_paused_until)
            ag.accept_paused_until = 0;
        if (ag.nconns < AGENT_MAX_CONNS && !ag.accept_paused_until) {
            pfd[n] = (struct pollfd){.fd = ag.listen_fd, .events = POLLIN};
            ev[n++].kind = EV_LISTEN;
        }
        for (size_t i = 0; i < ag.nconns; i++) {
            conn_t *c = ag.conns[i];
            pfd[n] = (struct pollfd){
                .fd = c->fd, .events = c->rdhup ? 0 : POLLIN | POLLRDHUP};
            ev[n].kind = EV_CONN;
            ev[n++].obj = c;
        }
        for (size_t i = 0; i < ag.njobs; i++) {
            if (ag.jobs[i]->report_fd < 0)
                continue;
            pfd[n] = (struct pollfd){.fd = ag.jobs[i]->report_fd, .events = POLLIN};
            ev[n].kind = EV_JOB;
            ev[n++].obj = ag.jobs[i];
        }
        if (ag.expires_ms) {
            uint64_t now = wall_ms();
            if (now >= ag.expires_ms)
                shutdown_sandbox("the sandbox's time is up");
            timeout = ag.expires_ms - now > INT_MAX ? INT_MAX
                                                    : (int)(ag.expires_ms - now);
        }
        if (ag.accept_paused_until) {
            uint64_t now = mono_ms(), left;
            left = ag.accept_paused_until > now ? ag.accept_paused_until - now : 0;
            if (timeout < 0 || left < (uint64_t)timeout)
                timeout = (int)left;
        }
        /* The periodic orphan scan and the commands' deadlines. */
        tick = mono_ms();
        if (ag.is_init && tick >= ag.next_orphan_scan)
            kill_orphans();
        enforce_deadlines(tick);
        {
            uint64_t wake = ag.is_init ? ag.next_orphan_scan : UINT64_MAX;
            for (size_t i = 0; i < ag.njobs; i++)
                if (ag.jobs[i]->deadline_ms && ag.jobs[i]->deadline_ms < wake)
                    wake = ag.jobs[i]->deadline_ms;
            if (wake != UINT64_MAX) {
                uint64_t left = wake > tick ? wake - tick : 0;
                if (left > INT_MAX)
                    left = INT_MAX;
                if (timeout < 0 || left < (uint64_t)timeout)
                    timeout = (int)left;
            }
        }

        rc = poll(pfd, n, timeout);
        if (rc < 0) {
            if (errno == EINTR)
                continue;
            logmsg("poll: %s", strerror(errno));
            shutdown_sandbox("internal error");
        }
        /* A handler may free a connection or job that has an entry later
         * in this round: each entry is checked to be still live (same
         * object, same fd) before it is used. */
        for (size_t i = 0; i < n; i++) {
            if (!pfd[i].revents)
                continue;
            switch (ev[i].kind) {
            case EV_SIG:
                reap();
                break;
            case EV_LISTEN:
                accept_conn();
                break;
            case EV_CONN: {
                conn_t *c = ev[i].obj;
                int live = 0;
                for (size_t k = 0; k < ag.nconns && !live; k++)
                    live = ag.conns[k] == c && c->fd == pfd[i].fd;
                if (!live)
                    break;
                if (c->job)
                    conn_waiting_event(c, pfd[i].revents);
                else
                    conn_request(c);
                break;
            }
            case EV_JOB: {
                job_t *j = ev[i].obj;
                int live = 0;
                for (size_t k = 0; k < ag.njobs && !live; k++)
                    live = ag.jobs[k] == j && j->report_fd == pfd[i].fd;
                if (live)
                    job_report(j);
                break;
            }
            }
        }
    }
}
