/*
 * plugins/local/client.c - the plugin's side of proto.h: reaching a
 * sandbox's agent over STATE/ctl.sock, and running commands with their
 * output streamed.
 *
 * A foreground command gets three pipes whose far ends travel to the
 * agent with SCM_RIGHTS; the command writes into them directly, and this
 * file polls them together with the control connection, forwarding each
 * chunk as it arrives.  Nothing here blocks without a bound: connects
 * retry a full backlog until a deadline, replies are awaited with poll,
 * and the caller's cancellation is checked at least every
 * LC_POLL_SLICE_MS.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "local.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define LC_SOCK "ctl.sock"
#define LC_POLL_SLICE_MS 100
#define LC_CHUNK 65536
/* How long past a command's own timeout we wait for the agent to report
 * it before killing it ourselves. */
#define LC_TIMEOUT_GRACE_MS 5000u
/* Bound on a blocked send or a half-received frame. */
#define LC_IO_TIMEOUT_S 10

/* ------------------------------------------------------------------ */
/* Addresses and connections                                           */
/* ------------------------------------------------------------------ */

static uint64_t lc_mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/*
 * The address of DIR/ctl.sock.  sun_path holds 107 bytes; for a longer
 * ROOT the path goes through /proc/self/fd/N of an O_PATH descriptor of
 * DIR, returned in *dirfd (-1 otherwise) for the caller to close after
 * bind() or connect().
 */
static int lc_ctl_addr(const char *dir, struct sockaddr_un *addr, int *dirfd)
{
    int n;

    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    *dirfd = -1;
    n = snprintf(addr->sun_path, sizeof addr->sun_path, "%s/%s", dir,
                 LC_SOCK);
    if (n > 0 && (size_t)n < sizeof addr->sun_path)
        return 0;
    *dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (*dirfd < 0)
        return -1;
    snprintf(addr->sun_path, sizeof addr->sun_path, "/proc/self/fd/%d/%s",
             *dirfd, LC_SOCK);
    return 0;
}

int lc_agent_listen(const char *dir)
{
    struct sockaddr_un addr;
    int fd, dirfd, e;

    if (lc_ctl_addr(dir, &addr, &dirfd) != 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(fd, 64) != 0) {
        e = errno;
        if (fd >= 0)
            close(fd);
        if (dirfd >= 0)
            close(dirfd);
        errno = e;
        return -1;
    }
    if (dirfd >= 0)
        close(dirfd);
    return fd;
}

static int lc_connect_dir(const char *dir, unsigned timeout_ms)
{
    struct sockaddr_un addr;
    struct timeval tv = {.tv_sec = LC_IO_TIMEOUT_S, .tv_usec = 0};
    uint64_t end = lc_mono_ms() + timeout_ms;
    int fd, dirfd, rc, e;

    if (lc_ctl_addr(dir, &addr, &dirfd) != 0)
        return -1;
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        e = errno;
        if (dirfd >= 0)
            close(dirfd);
        errno = e;
        return -1;
    }
    /* A full backlog is EAGAIN on a non-blocking unix socket and cannot
     * be waited for with poll: retry until the deadline. */
    while ((rc = connect(fd, (struct sockaddr *)&addr, sizeof addr)) != 0 &&
           (errno == EAGAIN || errno == EINTR) && lc_mono_ms() < end) {
        struct timespec ts = {.tv_sec = 0, .tv_nsec = 2000000L};

        nanosleep(&ts, NULL);
    }
    e = errno;
    if (dirfd >= 0)
        close(dirfd);
    if (rc != 0) {
        close(fd);
        errno = e == EAGAIN ? ETIMEDOUT : e;
        return -1;
    }
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    (void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

int lc_agent_connect(const lc_sandbox_t *sb, unsigned timeout_ms)
{
    return lc_connect_dir(sb->dir, timeout_ms);
}

/* Wait up to timeout_ms for `fd` to become readable: 1, 0 (timeout), -1. */
static int lc_wait_readable(int fd, unsigned timeout_ms)
{
    uint64_t end = lc_mono_ms() + timeout_ms;

    for (;;) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        uint64_t now = lc_mono_ms();
        int rc;

        if (now >= end)
            return 0;
        rc = poll(&p, 1, (int)(end - now));
        if (rc > 0)
            return 1;
        if (rc < 0 && errno != EINTR)
            return -1;
    }
}

/* One request, one reply.  Returns 0 with *reply filled, or -1. */
static int lc_request(const char *dir, proto_builder_t *b, unsigned timeout_ms,
                      proto_frame_t *reply)
{
    int fd = lc_connect_dir(dir, timeout_ms), rc = -1;

    memset(reply, 0, sizeof *reply);
    if (fd < 0)
        return -1;
    if (proto_send(fd, b, NULL, 0) == 0 &&
        lc_wait_readable(fd, timeout_ms) == 1 && proto_recv(fd, reply) == 1)
        rc = 0;
    close(fd);
    return rc;
}

int lc_agent_ping(const lc_sandbox_t *sb, unsigned timeout_ms)
{
    proto_builder_t b;
    proto_frame_t f;
    int rc;

    proto_begin(&b, PROTO_REQ_PING);
    rc = lc_request(sb->dir, &b, timeout_ms, &f);
    proto_builder_free(&b);
    if (rc == 0) {
        rc = f.type == PROTO_REP_OK ? 0 : -1;
        proto_frame_free(&f);
    }
    return rc;
}

int lc_agent_simple(const lc_sandbox_t *sb, uint16_t type, uint16_t key,
                    uint64_t value, unsigned timeout_ms)
{
    proto_builder_t b;
    proto_frame_t f;
    int rc;

    proto_begin(&b, type);
    if (key != 0)
        proto_add_u64(&b, key, value);
    rc = lc_request(sb->dir, &b, timeout_ms, &f);
    proto_builder_free(&b);
    if (rc == 0) {
        rc = f.type == PROTO_REP_OK ? 0 : -1;
        proto_frame_free(&f);
    }
    return rc;
}

static int lc_agent_kill(const lc_sandbox_t *sb, int64_t pid)
{
    proto_builder_t b;
    proto_frame_t f;
    int rc;

    proto_begin(&b, PROTO_REQ_KILL);
    proto_add_i64(&b, PROTO_F_PID, pid);
    proto_add_i64(&b, PROTO_F_SIGNAL, SIGKILL);
    rc = lc_request(sb->dir, &b, 2000, &f);
    proto_builder_free(&b);
    if (rc == 0) {
        rc = f.type == PROTO_REP_OK ? 0 : -1;
        proto_frame_free(&f);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Environment                                                         */
/* ------------------------------------------------------------------ */

int lc_exec_env(const lc_sandbox_t *sb, const csdk_kv_t *env, size_t n_env,
                lc_pairs_t *out)
{
    static const char *const base[][2] = {
        {"PATH", LC_BASE_PATH}, {"HOME", LC_HOME},    {"USER", LC_USER},
        {"LOGNAME", LC_USER},   {"LANG", "C.UTF-8"}, {"SHELL", "/bin/sh"},
    };

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < sizeof base / sizeof base[0]; i++)
        if (lc_pairs_set(out, base[i][0], base[i][1]) != 0)
            goto oom;
    for (size_t i = 0; i < sb->env.n; i++)
        if (lc_pairs_set(out, sb->env.v[i].key, sb->env.v[i].value) != 0)
            goto oom;
    for (size_t i = 0; i < n_env; i++)
        if (env[i].key != NULL &&
            lc_pairs_set(out, env[i].key, env[i].value) != 0)
            goto oom;
    return 0;
oom:
    lc_pairs_free(out);
    return -1;
}

/* ------------------------------------------------------------------ */
/* Writing stdin without SIGPIPE                                       */
/* ------------------------------------------------------------------ */

/*
 * write() to a pipe whose reader is gone raises SIGPIPE, which would kill
 * a host that did not ignore it.  Block it around the write and swallow
 * the one we caused (unless one was already pending).
 */
static ssize_t lc_write_nosigpipe(int fd, const void *data, size_t len)
{
    sigset_t pipe_set, old, pending;
    int was_pending, e;
    ssize_t n;

    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    was_pending = sigismember(&pending, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    n = write(fd, data, len);
    e = errno;
    if (n < 0 && e == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};

        (void)sigtimedwait(&pipe_set, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = e;
    return n;
}

/* ------------------------------------------------------------------ */
/* Exec                                                                */
/* ------------------------------------------------------------------ */

/* The running command's streams. */
typedef struct lc_run {
    lc_state_t *st;
    const lc_sandbox_t *sb;
    const lc_exec_t *ex;
    int ctl;         /* control connection, -1 once closed */
    int in, out, err;
    size_t in_off;
    uint64_t sent[3]; /* bytes forwarded per stream */
    int capped[3];
    char last_err;   /* the last byte forwarded on stderr, or 0 */
    int kill_sent;
    int cancelled;   /* the sink asked to stop */
    int64_t pid;
    uint32_t flags;
} lc_run_t;

static void lc_close(int *fd)
{
    if (*fd >= 0) {
        close(*fd);
        *fd = -1;
    }
}

/* The flood defence: once a stream passed its cap, kill the command (its
 * tree, through the agent) and drop the rest of its output. */
static void lc_run_cap(lc_run_t *r)
{
    r->flags |= CSDK_RESULT_TRUNCATED;
    if (r->kill_sent)
        return;
    r->kill_sent = 1;
    if (r->pid <= 0 || lc_agent_kill(r->sb, r->pid) != 0)
        lc_close(&r->ctl); /* closing kills a foreground command too */
}

/* Forward bytes of `stream`; returns -1 when the sink cancelled. */
static int lc_run_deliver(lc_run_t *r, int stream, const char *data,
                          size_t n)
{
    uint64_t cap = r->ex->max_output;

    if (r->capped[stream] || n == 0)
        return 0;
    if (cap != 0 && r->sent[stream] + n > cap) {
        n = (size_t)(cap - r->sent[stream]);
        r->capped[stream] = 1;
    }
    if (n > 0) {
        if (r->ex->sink(r->ex->sink_ud, stream, data, n) != 0) {
            r->cancelled = 1;
            return -1;
        }
        r->sent[stream] += n;
        if (stream == CSDK_STREAM_STDERR)
            r->last_err = data[n - 1];
    }
    if (r->capped[stream])
        lc_run_cap(r);
    return 0;
}

/* Read what is available on *fd (non-blocking).  `limit` bounds how much
 * (0: one chunk).  Closes *fd at EOF.  -1 when the sink cancelled. */
static int lc_run_pump(lc_run_t *r, int *fd, int stream, size_t limit)
{
    char buf[LC_CHUNK];
    size_t done = 0;

    while (*fd >= 0) {
        size_t want = sizeof buf;
        ssize_t n;

        if (limit != 0 && limit - done < want)
            want = limit - done;
        n = read(*fd, buf, want);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return 0; /* EAGAIN: nothing more now */
        if (n == 0) {
            lc_close(fd);
            return 0;
        }
        if (lc_run_deliver(r, stream, buf, (size_t)n) != 0)
            return -1;
        done += (size_t)n;
        if (limit == 0 || done >= limit)
            return 0;
    }
    return 0;
}

/* After EXITED: take what is already in the pipes, without waiting for
 * an EOF that a background child holding them may never send. */
static int lc_run_drain(lc_run_t *r)
{
    int *fds[2] = {&r->out, &r->err};

    for (int i = 0; i < 2; i++) {
        int avail = 0;

        if (*fds[i] < 0)
            continue;
        if (ioctl(*fds[i], FIONREAD, &avail) != 0 || avail <= 0)
            continue;
        if (lc_run_pump(r, fds[i], i + 1, (size_t)avail) != 0)
            return -1;
    }
    return 0;
}

static int lc_set_nonblock(int fd)
{
    int fl = fcntl(fd, F_GETFL);

    return fl < 0 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Build the EXEC request. */
static void lc_exec_frame(const lc_sandbox_t *sb, const lc_exec_t *ex,
                          uint64_t now_ms, proto_builder_t *b)
{
    proto_begin(b, PROTO_REQ_EXEC);
    for (size_t i = 0; ex->argv[i] != NULL; i++)
        proto_add_str(b, PROTO_F_ARGV, ex->argv[i]);
    for (size_t i = 0; i < ex->env->n; i++) {
        char *kv = lc_printf("%s=%s", ex->env->v[i].key,
                             ex->env->v[i].value);

        if (kv == NULL) {
            b->failed = 1;
            return;
        }
        proto_add_str(b, PROTO_F_ENV, kv);
        free(kv);
    }
    proto_add_str(b, PROTO_F_CWD, ex->cwd);
    if (ex->timeout_ms)
        proto_add_u64(b, PROTO_F_TIMEOUT_MS, ex->timeout_ms);
    if (ex->background)
        proto_add_u64(b, PROTO_F_FLAGS, PROTO_EXEC_BACKGROUND);
    if (sb->lim.file_size_mb)
        proto_add_u64(b, PROTO_F_LIMIT_FSIZE, sb->lim.file_size_mb * LC_MIB);
    if (sb->lim.open_files)
        proto_add_u64(b, PROTO_F_LIMIT_NOFILE, sb->lim.open_files);
    /* Only for the agent's message when a fork fails. */
    if (sb->lim.pids && sb->enf.pids != LC_ENF_NONE)
        proto_add_u64(b, PROTO_F_PIDS_LIMIT, sb->lim.pids);
    if (sb->enf.memory == LC_ENF_RLIMIT && sb->lim.memory_mb)
        proto_add_u64(b, PROTO_F_LIMIT_AS, sb->lim.memory_mb * LC_MIB);
    if (sb->enf.cpus == LC_ENF_RLIMIT && sb->lim.millicpus) {
        /* CPU seconds the command may use at `cpus` over its wall-clock
         * budget: its timeout, else what is left of the sandbox's life. */
        uint64_t wall = ex->timeout_ms;

        if (wall == 0 && sb->expires_ms > now_ms)
            wall = sb->expires_ms - now_ms;
        if (wall != 0)
            proto_add_u64(b, PROTO_F_LIMIT_CPU_S,
                          (sb->lim.millicpus * wall + 999999u) / 1000000u);
    }
}

/* Map an ERROR reply onto a status with its message. */
static csdk_status_t lc_reply_error(lc_state_t *st, csdk_call_t *call,
                                    const lc_sandbox_t *sb,
                                    const proto_frame_t *f)
{
    int64_t code = CSDK_E_INTERNAL;
    char *msg = proto_strdup(proto_get(f, PROTO_F_MESSAGE));
    csdk_status_t rc;

    if (f->type != PROTO_REP_ERROR) {
        free(msg);
        return st->host->error(call, CSDK_E_PROTOCOL,
                               "sandbox %s: the agent answered with frame "
                               "type %u", sb->id, (unsigned)f->type);
    }
    (void)proto_i64(f, PROTO_F_STATUS, &code);
    if (code <= CSDK_OK || code > INT32_MAX)
        code = CSDK_E_INTERNAL;
    rc = st->host->error(call, (csdk_status_t)code, "sandbox %s: %s", sb->id,
                         msg ? msg : "the agent reported an error");
    free(msg);
    return rc;
}

static csdk_status_t lc_agent_gone(lc_state_t *st, csdk_call_t *call,
                                   const lc_sandbox_t *sb, const char *when)
{
    return st->host->error(call, CSDK_E_CONNECTION,
                           "sandbox %s stopped %s (it was destroyed, "
                           "expired or its agent died); create a new one",
                           sb->id, when);
}

static csdk_status_t lc_exec_background(lc_state_t *st, csdk_call_t *call,
                                        const lc_sandbox_t *sb, int ctl,
                                        proto_builder_t *b,
                                        lc_exec_result_t *res)
{
    proto_frame_t f;
    csdk_status_t rc;

    if (proto_send(ctl, b, NULL, 0) != 0 ||
        lc_wait_readable(ctl, LC_START_TIMEOUT_MS) != 1 ||
        proto_recv(ctl, &f) != 1)
        return lc_agent_gone(st, call, sb, "before the command started");
    if (f.type == PROTO_REP_STARTED && proto_i64(&f, PROTO_F_PID,
                                                 &res->pid) == 0)
        rc = CSDK_OK;
    else if (f.type == PROTO_REP_EXITED) {
        /* It could not start: the agent says so with an exit code. */
        int64_t code = 127;

        (void)proto_i64(&f, PROTO_F_EXIT_CODE, &code);
        res->exit_code = (int32_t)code;
        rc = CSDK_OK;
    } else
        rc = lc_reply_error(st, call, sb, &f);
    proto_frame_free(&f);
    return rc;
}

/* Handle one reply frame of a foreground command.  Returns 1 when it
 * exited, 0 to go on, or a negative value with *rc set. */
static int lc_run_frame(lc_run_t *r, csdk_call_t *call,
                        lc_exec_result_t *res, csdk_status_t *rc)
{
    proto_frame_t f;
    int got = proto_recv(r->ctl, &f);

    if (got != 1) {
        *rc = lc_agent_gone(r->st, call, r->sb, "while the command ran");
        return -1;
    }
    if (f.type == PROTO_REP_STARTED) {
        (void)proto_i64(&f, PROTO_F_PID, &r->pid);
        res->pid = r->pid;
        proto_frame_free(&f);
        return 0;
    }
    if (f.type == PROTO_REP_EXITED) {
        int64_t code = -1, sig = 0, dur = -1;
        uint64_t flags = 0;
        int has_code = proto_i64(&f, PROTO_F_EXIT_CODE, &code) == 0;

        (void)proto_i64(&f, PROTO_F_SIGNAL, &sig);
        (void)proto_i64(&f, PROTO_F_DURATION_MS, &dur);
        (void)proto_u64(&f, PROTO_F_FLAGS, &flags);
        if (!has_code)
            code = sig > 0 ? 128 + sig : -1;
        res->exit_code = (int32_t)code;
        if (dur >= 0)
            res->duration_ms = dur;
        if (flags & PROTO_EXITED_TIMED_OUT)
            r->flags |= CSDK_RESULT_TIMED_OUT;
        proto_frame_free(&f);
        return 1;
    }
    *rc = lc_reply_error(r->st, call, r->sb, &f);
    proto_frame_free(&f);
    return -1;
}

csdk_status_t lc_exec_run(lc_state_t *st, csdk_call_t *call,
                          const lc_sandbox_t *sb, const lc_exec_t *ex,
                          lc_exec_result_t *res)
{
    const csdk_host_t *h = st->host;
    uint64_t t0 = h->monotonic_ms();
    proto_builder_t b;
    lc_run_t r;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    int fds[3], exited = 0;
    csdk_status_t rc = CSDK_OK;

    memset(res, 0, sizeof *res);
    memset(&r, 0, sizeof r);
    r.st = st;
    r.sb = sb;
    r.ex = ex;
    r.in = r.out = r.err = -1;
    r.ctl = lc_agent_connect(sb, 2000);
    if (r.ctl < 0)
        return h->error(call, CSDK_E_CONFLICT,
                        "sandbox %s is stopped (its agent is gone: %s); "
                        "destroy it and create a new one",
                        sb->id, strerror(errno));
    lc_exec_frame(sb, ex, h->now_ms(), &b);
    if (b.failed) {
        proto_builder_free(&b);
        close(r.ctl);
        return h->error(call, CSDK_E_NOMEM,
                        "out of memory (or the command's arguments and "
                        "environment exceed %u bytes)", PROTO_MAX_FRAME);
    }
    if (ex->background) {
        rc = lc_exec_background(st, call, sb, r.ctl, &b, res);
        proto_builder_free(&b);
        close(r.ctl);
        res->duration_ms = (int64_t)(h->monotonic_ms() - t0);
        return rc;
    }

    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
        pipe2(err, O_CLOEXEC) != 0) {
        rc = h->error(call, CSDK_E_IO, "cannot make pipes: %s",
                      strerror(errno));
        goto out;
    }
    fds[0] = in[0];
    fds[1] = out[1];
    fds[2] = err[1];
    if (proto_send(r.ctl, &b, fds, 3) != 0) {
        rc = errno == EMSGSIZE
                 ? h->error(call, CSDK_E_INVALID_ARGUMENT,
                            "the command's arguments and environment exceed "
                            "%u bytes", PROTO_MAX_FRAME)
                 : lc_agent_gone(st, call, sb, "before the command started");
        goto out;
    }
    lc_close(&in[0]);
    lc_close(&out[1]);
    lc_close(&err[1]);
    r.in = in[1];
    r.out = out[0];
    r.err = err[0];
    in[1] = out[0] = err[0] = -1;
    if (ex->stdin_len == 0)
        lc_close(&r.in);
    else
        (void)lc_set_nonblock(r.in);
    (void)lc_set_nonblock(r.out);
    (void)lc_set_nonblock(r.err);

    while (!exited) {
        struct pollfd p[4];
        int np = 0, ictl = -1, iout = -1, ierr = -1, iin = -1, n;
        uint64_t now = h->monotonic_ms();

        if (h->cancelled(call)) {
            lc_close(&r.ctl); /* the agent kills the command's tree */
            rc = h->remaining_ms(call) == 0
                     ? h->error(call, CSDK_E_TIMEOUT,
                                "the call's deadline passed after %" PRIu64
                                " ms; the command in sandbox %s was killed",
                                now - t0, sb->id)
                     : h->error(call, CSDK_E_CANCELLED,
                                "cancelled; the command in sandbox %s was "
                                "killed", sb->id);
            goto out;
        }
        if (r.pid <= 0 && r.ctl >= 0 && now > t0 + LC_START_TIMEOUT_MS) {
            /* A hung agent accepts (the backlog) but never starts it. */
            lc_close(&r.ctl);
            rc = h->error(call, CSDK_E_CONNECTION,
                          "the agent of sandbox %s did not start the command "
                          "within %u ms", sb->id, LC_START_TIMEOUT_MS);
            goto out;
        }
        if (ex->timeout_ms && now > t0 + ex->timeout_ms + LC_TIMEOUT_GRACE_MS) {
            /* The agent should have reported the timeout by now. */
            lc_close(&r.ctl);
            r.flags |= CSDK_RESULT_TIMED_OUT;
            res->exit_code = 128 + SIGKILL;
            break;
        }
        if (r.ctl >= 0) {
            ictl = np;
            p[np++] = (struct pollfd){.fd = r.ctl, .events = POLLIN};
        }
        if (r.out >= 0) {
            iout = np;
            p[np++] = (struct pollfd){.fd = r.out, .events = POLLIN};
        }
        if (r.err >= 0) {
            ierr = np;
            p[np++] = (struct pollfd){.fd = r.err, .events = POLLIN};
        }
        if (r.in >= 0) {
            iin = np;
            p[np++] = (struct pollfd){.fd = r.in, .events = POLLOUT};
        }
        if (r.ctl < 0 && r.out < 0 && r.err < 0) {
            /* Killed for flooding before its pid was known: the agent
             * dropped the connection, and the pipes are closed. */
            res->exit_code = 128 + SIGKILL;
            break;
        }
        n = poll(p, (nfds_t)np, LC_POLL_SLICE_MS);
        if (n < 0 && errno != EINTR) {
            rc = h->error(call, CSDK_E_IO, "poll: %s", strerror(errno));
            goto out;
        }
        if (n <= 0)
            continue;
        if (iout >= 0 && p[iout].revents &&
            lc_run_pump(&r, &r.out, CSDK_STREAM_STDOUT, 0) != 0)
            goto cancelled;
        if (ierr >= 0 && p[ierr].revents &&
            lc_run_pump(&r, &r.err, CSDK_STREAM_STDERR, 0) != 0)
            goto cancelled;
        if (iin >= 0 && p[iin].revents) {
            ssize_t w = p[iin].revents & POLLOUT
                            ? lc_write_nosigpipe(
                                  r.in, (const char *)ex->stdin_data + r.in_off,
                                  ex->stdin_len - r.in_off)
                            : -1;

            if (w > 0)
                r.in_off += (size_t)w;
            if ((w < 0 && errno != EAGAIN && errno != EINTR) ||
                r.in_off >= ex->stdin_len)
                lc_close(&r.in); /* done, or the command closed stdin */
        }
        if (ictl >= 0 && p[ictl].revents) {
            int got = lc_run_frame(&r, call, res, &rc);

            if (got < 0) {
                if (r.kill_sent && rc == CSDK_E_CONNECTION) {
                    /* We closed or the agent dropped a flooding command. */
                    rc = CSDK_OK;
                    res->exit_code = 128 + SIGKILL;
                    break;
                }
                goto out;
            }
            exited = got;
        }
    }
    if (lc_run_drain(&r) != 0)
        goto cancelled;
    if ((r.flags & CSDK_RESULT_TRUNCATED) && ex->notice_truncation) {
        /* Plain output shows no flag: say it where the user looks, on a
         * line of its own.  Past the cap, so never cut; a sink that stops
         * reading now changes nothing. */
        char note[160];
        int n = snprintf(note, sizeof note,
                         "%scsdk: output truncated at %" PRIu64
                         " bytes; the command was stopped\n",
                         r.last_err != 0 && r.last_err != '\n' ? "\n" : "",
                         ex->max_output);

        if (n > 0 && (size_t)n < sizeof note)
            (void)ex->sink(ex->sink_ud, CSDK_STREAM_STDERR, note, (size_t)n);
    }
    res->flags = r.flags;
    if (res->duration_ms <= 0)
        res->duration_ms = (int64_t)(h->monotonic_ms() - t0);
    rc = CSDK_OK;
    goto out;

cancelled:
    lc_close(&r.ctl);
    rc = h->error(call, CSDK_E_CANCELLED,
                  "the caller stopped reading the output; the command in "
                  "sandbox %s was killed", sb->id);
out:
    res->flags |= r.flags;
    proto_builder_free(&b);
    lc_close(&r.ctl);
    lc_close(&r.in);
    lc_close(&r.out);
    lc_close(&r.err);
    for (int i = 0; i < 2; i++) {
        lc_close(&in[i]);
        lc_close(&out[i]);
        lc_close(&err[i]);
    }
    return rc;
}
