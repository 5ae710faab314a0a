/*
 * tests/local/agent_test.c - csdk-local-agent under a real bubblewrap.
 *
 * The sandbox is started as the local plugin starts it (docs/local-
 * provider.md, without cgroups): the test creates and listens on
 * ctl.sock, posix_spawns bwrap with the listening socket on fd 3, reads
 * the agent's pid from --info-fd 4, releases it through --block-fd 5, and
 * then speaks proto.h to it, passing its own pipes for stdin, stdout and
 * stderr.  Nothing is faked: every assertion is about processes, files and
 * descriptors inside a real sandbox.
 *
 *   agent_test              run the tests (TAP-like output; 77 = skipped)
 *   agent_test --bench [N]  median round trip of `exec true` (N runs,
 *                           default 200) against bare `bwrap ... true`
 *   agent_test --serve      start one sandbox, print its ctl.sock path and
 *                           keep it until the agent exits (for debugging)
 *
 * The agent is $CSDK_AGENT, else $top_builddir/plugins/local/agent/
 * csdk-local-agent, else the one next to this program's build directory.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "proto.h"

#include <csdk/provider.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* ------------------------------------------------------------------ */
/* Reporting                                                            */
/* ------------------------------------------------------------------ */

static int n_tests, n_failed;

#define CHECK(cond, ...) check_((cond), #cond, __FILE__, __LINE__, __VA_ARGS__)

static int check_(int ok, const char *expr, const char *file, int line,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

static int check_(int ok, const char *expr, const char *file, int line,
                  const char *fmt, ...)
{
    va_list ap;
    n_tests++;
    printf("%s %d - ", ok ? "ok" : "not ok", n_tests);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    if (!ok) {
        n_failed++;
        printf("#   failed: %s (%s:%d)\n", expr, file, line);
    }
    fflush(stdout);
    return ok;
}

/* `s` quoted for one line of test output: newlines and other control
 * bytes escaped, long text cut.  Rotating buffers, so a message may hold
 * several. */
static const char *q(const char *s)
{
    static char bufs[4][200];
    static int next;
    char *b = bufs[next++ % 4];
    size_t n = 0;

    for (; s && *s && n < sizeof bufs[0] - 8; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '\n') {
            b[n++] = '\\';
            b[n++] = 'n';
        } else if (c < 0x20 || c == 0x7f) {
            n += (size_t)snprintf(b + n, 5, "\\x%02x", c);
        } else {
            b[n++] = (char)c;
        }
    }
    if (s && *s) {
        memcpy(b + n, "...", 3);
        n += 3;
    }
    b[n] = '\0';
    return b;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

static void die(const char *fmt, ...)
{
    va_list ap;
    printf("Bail out! ");
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    printf("\n");
    exit(99);
}

static uint64_t mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ------------------------------------------------------------------ */
/* Files                                                                */
/* ------------------------------------------------------------------ */

static char tmpdir[256];
static const char *agent_path;

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        die("cannot write %s: %s", path, strerror(errno));
    close(fd);
}

/* Read a whole small file; "" if missing. Caller frees. */
static char *read_file(const char *path)
{
    char *buf = calloc(1, 65536);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (!buf)
        die("out of memory");
    if (fd >= 0) {
        ssize_t n = read(fd, buf, 65535);
        if (n > 0)
            buf[n] = '\0';
        close(fd);
    }
    return buf;
}

static void rm_rf(const char *path)
{
    pid_t pid;
    char *argv[] = {(char *)"rm", (char *)"-rf", (char *)path, NULL};
    int st;
    if (posix_spawnp(&pid, "rm", NULL, NULL, argv, environ) == 0)
        waitpid(pid, &st, 0);
}

/* ------------------------------------------------------------------ */
/* A sandbox                                                            */
/* ------------------------------------------------------------------ */

typedef struct sandbox {
    char state[512]; /* STATE: etc ws home tmp logs ctl.sock agent.log */
    char sock[600];
    pid_t bwrap;          /* the bwrap monitor, our child */
    pid_t agent_host_pid; /* from --info-fd */
    int exited;
    int status;
} sandbox_t;

/* The bwrap command line of docs/local-provider.md (no --unshare-net
 * removal, no cgroups), with the agent as pid 1 (--as-pid-1). */
static int bwrap_argv(const sandbox_t *sb, const char **argv, int max,
                      const char *cmd, uint64_t expires_ms)
{
    static char paths[6][600], exp[32];
    static const char *names[6] = {"etc", "ws", "home", "tmp", "logs", NULL};
    int n = 0;

    for (int i = 0; i < 5; i++)
        snprintf(paths[i], sizeof paths[i], "%s/%s", sb->state, names[i]);
    snprintf(exp, sizeof exp, "%" PRIu64, expires_ms);
#define A(x) (argv[n++] = (x))
    A("bwrap");
    A("--unshare-user"); A("--unshare-pid"); A("--unshare-ipc");
    A("--unshare-uts"); A("--unshare-cgroup-try"); A("--unshare-net");
    A("--new-session"); A("--as-pid-1");
    A("--hostname"); A("sandbox"); A("--uid"); A("1000"); A("--gid"); A("1000");
    A("--ro-bind"); A("/usr"); A("/usr");
    A("--symlink"); A("usr/bin"); A("/bin");
    A("--symlink"); A("usr/lib"); A("/lib");
    A("--symlink"); A("usr/lib64"); A("/lib64");
    A("--symlink"); A("usr/sbin"); A("/sbin");
    A("--ro-bind"); A(paths[0]); A("/etc");
    A("--proc"); A("/proc"); A("--dev"); A("/dev");
    A("--bind"); A(paths[1]); A("/workspace");
    A("--bind"); A(paths[2]); A("/home/sandbox");
    A("--bind"); A(paths[3]); A("/tmp");
    A("--bind"); A(paths[4]); A("/run/csdk/logs");
    if (cmd) {
        A("--chdir"); A("/workspace"); A("--clearenv");
        A("--setenv"); A("PATH"); A("/usr/bin:/bin");
        A("--setenv"); A("HOME"); A("/home/sandbox");
        A("--"); A(cmd);
    } else {
        A("--ro-bind"); A(agent_path); A("/run/csdk/agent");
        A("--chdir"); A("/workspace"); A("--clearenv");
        A("--setenv"); A("PATH"); A("/usr/bin:/bin");
        A("--setenv"); A("HOME"); A("/home/sandbox");
        A("--info-fd"); A("4"); A("--block-fd"); A("5");
        A("--"); A("/run/csdk/agent"); A("--listen-fd"); A("3");
        A("--expires-ms"); A(exp);
    }
    A(NULL);
#undef A
    if (n > max)
        die("bwrap argv overflow");
    return n;
}

static void sandbox_dirs(sandbox_t *sb, const char *name)
{
    static const char *dirs[] = {"", "/etc", "/ws", "/home", "/tmp", "/logs"};
    char p[PATH_MAX + 32];

    snprintf(sb->state, sizeof sb->state, "%s/%s", tmpdir, name);
    for (size_t i = 0; i < sizeof dirs / sizeof *dirs; i++) {
        snprintf(p, sizeof p, "%s%s", sb->state, dirs[i]);
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            die("mkdir %s: %s", p, strerror(errno));
    }
    snprintf(p, sizeof p, "%s/etc/passwd", sb->state);
    write_file(p, "sandbox:x:1000:1000::/home/sandbox:/bin/sh\n", 0644);
    snprintf(p, sizeof p, "%s/etc/group", sb->state);
    write_file(p, "sandbox:x:1000:\n", 0644);
    snprintf(p, sizeof p, "%s/etc/hosts", sb->state);
    write_file(p, "127.0.0.1 localhost sandbox\n", 0644);
}

/* Start a sandbox the way the plugin does.  Returns after a PING works. */
static void sandbox_start(sandbox_t *sb, const char *name, uint64_t expires_ms)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    const char *argv[128];
    char logp[PATH_MAX + 16], info[256] = "";
    int lfd, info_p[2], block_p[2], hi[3];
    size_t got = 0;
    char *cp;

    memset(sb, 0, sizeof *sb);
    sandbox_dirs(sb, name);
    snprintf(sb->sock, sizeof sb->sock, "%s/ctl.sock", sb->state);
    if (strlen(sb->sock) >= sizeof sa.sun_path)
        die("socket path too long: %s", sb->sock);
    strcpy(sa.sun_path, sb->sock);
    lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) < 0 ||
        listen(lfd, 64) < 0)
        die("ctl.sock: %s", strerror(errno));
    if (pipe2(info_p, O_CLOEXEC) < 0 || pipe2(block_p, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    /* Move the three to high numbers so the dup2s below cannot clobber
     * each other. */
    hi[0] = fcntl(lfd, F_DUPFD_CLOEXEC, 20);
    hi[1] = fcntl(info_p[1], F_DUPFD_CLOEXEC, 20);
    hi[2] = fcntl(block_p[0], F_DUPFD_CLOEXEC, 20);
    snprintf(logp, sizeof logp, "%s/agent.log", sb->state);

    bwrap_argv(sb, argv, 128, NULL, expires_ms);
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, logp, O_WRONLY | O_CREAT | O_APPEND, 0600);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    posix_spawn_file_actions_adddup2(&fa, hi[0], 3);
    posix_spawn_file_actions_adddup2(&fa, hi[1], 4);
    posix_spawn_file_actions_adddup2(&fa, hi[2], 5);
    posix_spawn_file_actions_addclosefrom_np(&fa, 6);
    posix_spawnattr_init(&at);
    posix_spawnattr_setflags(&at, POSIX_SPAWN_SETSID);
    if (posix_spawnp(&sb->bwrap, "bwrap", &fa, &at, (char **)argv, environ))
        die("posix_spawn bwrap failed");
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    close(lfd);
    close(info_p[1]);
    close(block_p[0]);
    for (int i = 0; i < 3; i++)
        close(hi[i]);

    /* bwrap writes {"child-pid": N} and then waits on the block fd: here
     * the plugin would move N into the sandbox's cgroups. */
    while (!strchr(info, '}') && got < sizeof info - 1) {
        ssize_t n = read(info_p[0], info + got, sizeof info - 1 - got);
        if (n <= 0)
            break;
        got += (size_t)n;
        info[got] = '\0';
    }
    info[got] = '\0';
    close(info_p[0]);
    cp = strstr(info, "\"child-pid\"");
    if (!cp || !(cp = strchr(cp, ':')))
        die("no child-pid on bwrap's info fd (agent.log: %s)", read_file(logp));
    sb->agent_host_pid = (pid_t)strtol(cp + 1, NULL, 10);
    if (write(block_p[1], "x", 1) != 1)
        die("block fd: %s", strerror(errno));
    close(block_p[1]);
}

static int sandbox_wait_exit(sandbox_t *sb, unsigned ms)
{
    uint64_t end = mono_us() + (uint64_t)ms * 1000;
    while (!sb->exited) {
        pid_t p = waitpid(sb->bwrap, &sb->status, WNOHANG);
        if (p == sb->bwrap) {
            sb->exited = 1;
            break;
        }
        if (mono_us() > end)
            return 0;
        sleep_ms(5);
    }
    return 1;
}

static void sandbox_kill(sandbox_t *sb)
{
    if (!sb->exited) {
        kill(sb->bwrap, SIGKILL);
        sandbox_wait_exit(sb, 5000);
    }
}

/* ------------------------------------------------------------------ */
/* Talking to the agent                                                 */
/* ------------------------------------------------------------------ */

static int sb_connect(const sandbox_t *sb)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    strcpy(sa.sun_path, sb->sock);
    if (fd < 0)
        die("socket: %s", strerror(errno));
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* One request without fds; returns the reply type (first frame) or -1.
 * *status / msg get an ERROR's fields. */
static int simple_request(const sandbox_t *sb, proto_builder_t *b, int32_t *status,
                          char *msg, size_t msglen)
{
    proto_frame_t f;
    int fd = sb_connect(sb), type = -1;

    if (status)
        *status = 0;
    if (msg && msglen)
        msg[0] = '\0';
    if (fd < 0) {
        proto_builder_free(b);
        return -1;
    }
    if (proto_send(fd, b, NULL, 0) == 0 && proto_recv(fd, &f) == 1) {
        type = f.type;
        if (type == PROTO_REP_ERROR) {
            int64_t st = 0;
            const proto_field_t *m = proto_get(&f, PROTO_F_MESSAGE);
            proto_i64(&f, PROTO_F_STATUS, &st);
            if (status)
                *status = (int32_t)st;
            if (msg && m)
                snprintf(msg, msglen, "%.*s", (int)m->len, m->val);
        }
        proto_frame_free(&f);
    }
    proto_builder_free(b);
    close(fd);
    return type;
}

static int ping(const sandbox_t *sb)
{
    proto_builder_t b;
    proto_begin(&b, PROTO_REQ_PING);
    return simple_request(sb, &b, NULL, NULL, 0) == PROTO_REP_OK;
}

typedef struct execopt {
    const char *const *argv;
    const char *const *env; /* NULL: PATH and HOME */
    const char *cwd;
    uint64_t timeout_ms;
    int background;
    const char *input;
    int64_t nofile, fsize; /* 0: not sent */
} execopt_t;

typedef struct result {
    int started, exited, replies;
    long pid;
    int64_t exit_code, signal;
    uint64_t flags, duration_ms;
    int32_t err_status;
    char err_msg[256];
    char *out, *err;
    size_t out_len, err_len;
    int hung; /* the deadline passed before everything ended */
} result_t;

typedef struct running {
    int sock, out, err;
} running_t;

static const char *const default_env[] = {"PATH=/usr/bin:/bin",
                                          "HOME=/home/sandbox", NULL};

/* Send an EXEC; for a foreground command the caller's pipe ends go along
 * and only our read ends (and the socket) are kept. */
static int exec_start(const sandbox_t *sb, const execopt_t *o, running_t *r)
{
    proto_builder_t b;
    int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
    int fds[3], rc;
    const char *const *env = o->env ? o->env : default_env;

    r->sock = r->out = r->err = -1;
    proto_begin(&b, PROTO_REQ_EXEC);
    for (const char *const *a = o->argv; *a; a++)
        proto_add_str(&b, PROTO_F_ARGV, *a);
    for (const char *const *e = env; *e; e++)
        proto_add_str(&b, PROTO_F_ENV, *e);
    if (o->cwd)
        proto_add_str(&b, PROTO_F_CWD, o->cwd);
    if (o->timeout_ms)
        proto_add_u64(&b, PROTO_F_TIMEOUT_MS, o->timeout_ms);
    proto_add_u64(&b, PROTO_F_FLAGS, o->background ? PROTO_EXEC_BACKGROUND : 0);
    if (o->nofile)
        proto_add_i64(&b, PROTO_F_LIMIT_NOFILE, o->nofile);
    if (o->fsize)
        proto_add_i64(&b, PROTO_F_LIMIT_FSIZE, o->fsize);
    r->sock = sb_connect(sb);
    if (r->sock < 0) {
        proto_builder_free(&b);
        return -1;
    }
    if (o->background) {
        rc = proto_send(r->sock, &b, NULL, 0);
    } else {
        if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 ||
            pipe2(err, O_CLOEXEC) < 0)
            die("pipe: %s", strerror(errno));
        fds[0] = in[0];
        fds[1] = out[1];
        fds[2] = err[1];
        rc = proto_send(r->sock, &b, fds, 3);
        close(in[0]);
        close(out[1]);
        close(err[1]);
        if (o->input && *o->input &&
            write(in[1], o->input, strlen(o->input)) < 0)
            rc = -1;
        close(in[1]);
        r->out = out[0];
        r->err = err[0];
    }
    proto_builder_free(&b);
    return rc;
}

static void append(char **buf, size_t *len, const char *p, size_t n)
{
    char *nb = realloc(*buf, *len + n + 1);
    if (!nb)
        die("out of memory");
    memcpy(nb + *len, p, n);
    *len += n;
    nb[*len] = '\0';
    *buf = nb;
}

static void handle_frame(result_t *res, proto_frame_t *f)
{
    res->replies++;
    if (f->type == PROTO_REP_STARTED) {
        int64_t pid = 0;
        res->started = 1;
        proto_i64(f, PROTO_F_PID, &pid);
        res->pid = (long)pid;
    } else if (f->type == PROTO_REP_EXITED) {
        res->exited = 1;
        proto_i64(f, PROTO_F_EXIT_CODE, &res->exit_code);
        proto_i64(f, PROTO_F_SIGNAL, &res->signal);
        proto_u64(f, PROTO_F_FLAGS, &res->flags);
        proto_u64(f, PROTO_F_DURATION_MS, &res->duration_ms);
    } else if (f->type == PROTO_REP_ERROR) {
        int64_t st = 0;
        const proto_field_t *m = proto_get(f, PROTO_F_MESSAGE);
        proto_i64(f, PROTO_F_STATUS, &st);
        res->err_status = (int32_t)st;
        if (m)
            snprintf(res->err_msg, sizeof res->err_msg, "%.*s", (int)m->len, m->val);
    }
}

/* Read replies and output until the agent closes the connection and both
 * pipes reach EOF, or `ms` pass.  Closes everything in r. */
static void exec_finish(running_t *r, result_t *res, unsigned ms)
{
    uint64_t end = mono_us() + (uint64_t)ms * 1000;
    int *fdp[3] = {&r->sock, &r->out, &r->err};

    while (r->sock >= 0 || r->out >= 0 || r->err >= 0) {
        struct pollfd p[3];
        int64_t left = (int64_t)(end - mono_us()) / 1000;
        if ((int64_t)(end - mono_us()) <= 0) {
            res->hung = 1;
            break;
        }
        for (int i = 0; i < 3; i++)
            p[i] = (struct pollfd){.fd = *fdp[i], .events = POLLIN};
        if (poll(p, 3, (int)left + 1) < 0 && errno != EINTR)
            die("poll: %s", strerror(errno));
        if (p[0].revents) {
            proto_frame_t f;
            int rc = proto_recv(r->sock, &f);
            if (rc == 1) {
                handle_frame(res, &f);
                proto_frame_free(&f);
            } else {
                close(r->sock);
                r->sock = -1;
            }
        }
        for (int i = 1; i < 3; i++) {
            char buf[65536];
            ssize_t n;
            if (!p[i].revents)
                continue;
            n = read(*fdp[i], buf, sizeof buf);
            if (n > 0) {
                if (i == 1)
                    append(&res->out, &res->out_len, buf, (size_t)n);
                else
                    append(&res->err, &res->err_len, buf, (size_t)n);
            } else if (n == 0 || errno != EINTR) {
                close(*fdp[i]);
                *fdp[i] = -1;
            }
        }
    }
    for (int i = 0; i < 3; i++)
        if (*fdp[i] >= 0) {
            close(*fdp[i]);
            *fdp[i] = -1;
        }
    if (!res->out)
        append(&res->out, &res->out_len, "", 0);
    if (!res->err)
        append(&res->err, &res->err_len, "", 0);
}

static void run(const sandbox_t *sb, const execopt_t *o, result_t *res)
{
    running_t r;
    memset(res, 0, sizeof *res);
    res->exit_code = -1;
    if (exec_start(sb, o, &r) < 0) {
        snprintf(res->err_msg, sizeof res->err_msg, "exec_start: %s", strerror(errno));
        if (r.sock >= 0)
            close(r.sock);
        append(&res->out, &res->out_len, "", 0);
        append(&res->err, &res->err_len, "", 0);
        return;
    }
    exec_finish(&r, res, 10000);
}

static void result_free(result_t *res)
{
    free(res->out);
    free(res->err);
    memset(res, 0, sizeof *res);
}

#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* Run `sh -c SCRIPT` and return its exit code (-1 if it did not exit). */
static int sh_code(const sandbox_t *sb, const char *script)
{
    result_t r;
    execopt_t o = {.argv = ARGV("sh", "-c", script)};
    int code;
    run(sb, &o, &r);
    code = r.exited ? (int)r.exit_code : -1;
    result_free(&r);
    return code;
}

static int kill_req(const sandbox_t *sb, long pid, int sig, int32_t *status)
{
    proto_builder_t b;
    proto_begin(&b, PROTO_REQ_KILL);
    proto_add_i64(&b, PROTO_F_PID, pid);
    if (sig)
        proto_add_i64(&b, PROTO_F_SIGNAL, sig);
    return simple_request(sb, &b, status, NULL, 0);
}

/* Wait until `kill -0 PID` inside the sandbox fails (the process is gone
 * and reaped). */
static int wait_gone(const sandbox_t *sb, long pid, unsigned ms)
{
    char script[64];
    uint64_t end = mono_us() + (uint64_t)ms * 1000;
    snprintf(script, sizeof script, "kill -0 %ld 2>/dev/null", pid);
    do {
        if (sh_code(sb, script) == 1)
            return 1;
        sleep_ms(20);
    } while (mono_us() < end);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Tests                                                                */
/* ------------------------------------------------------------------ */

static void test_basics(const sandbox_t *sb)
{
    result_t r;
    execopt_t o = {0};

    CHECK(ping(sb), "PING answers OK");

    o.argv = ARGV("echo", "hello", "world");
    run(sb, &o, &r);
    CHECK(r.started && r.pid > 1, "EXEC echo: STARTED with the command's pid (%ld)", r.pid);
    CHECK(r.exited && r.exit_code == 0 && r.signal == 0 && r.flags == 0,
          "EXEC echo: EXITED 0 (code %" PRId64 ")", r.exit_code);
    CHECK(!strcmp(r.out, "hello world\n"), "EXEC echo: stdout through the passed pipe ('%s')", q(r.out));
    CHECK(r.replies == 2, "EXEC: exactly STARTED and EXITED (%d replies)", r.replies);
    result_free(&r);

    static const struct {
        const char *script;
        int code;
    } codes[] = {{"exit 0", 0}, {"exit 1", 1}, {"exit 7", 7}, {"exit 255", 255}};
    for (size_t i = 0; i < sizeof codes / sizeof *codes; i++)
        CHECK(sh_code(sb, codes[i].script) == codes[i].code, "sh -c '%s' reports %d",
              codes[i].script, codes[i].code);

    o.argv = ARGV("no-such-command-here", "x");
    run(sb, &o, &r);
    CHECK(r.exited && r.exit_code == 127, "missing command: exit 127 (%" PRId64 ")", r.exit_code);
    CHECK(!strcmp(r.err, "no-such-command-here: command not found\n"),
          "missing command: 'command not found' on its stderr ('%s')", q(r.err));
    result_free(&r);

    o.argv = ARGV("/workspace/nope");
    run(sb, &o, &r);
    CHECK(r.exited && r.exit_code == 127 && strstr(r.err, "No such file"),
          "missing path: exit 127, 'No such file' (%" PRId64 ", '%s')", r.exit_code, q(r.err));
    result_free(&r);

    {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/ws/noexec.sh", sb->state);
        write_file(p, "echo should-not-run\n", 0644);
    }
    o.argv = ARGV("./noexec.sh");
    run(sb, &o, &r);
    CHECK(r.exited && r.exit_code == 126 && strstr(r.err, "Permission denied"),
          "not executable: exit 126, 'Permission denied' (%" PRId64 ", '%s')",
          r.exit_code, q(r.err));
    result_free(&r);

    {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/ws/noshebang", sb->state);
        write_file(p, "echo via-sh \"$1\"\n", 0755);
    }
    o.argv = ARGV("./noshebang", "arg1");
    run(sb, &o, &r);
    CHECK(r.exited && r.exit_code == 0 && !strcmp(r.out, "via-sh arg1\n"),
          "a script without #! runs with /bin/sh ('%s')", q(r.out));
    result_free(&r);

    o.argv = ARGV("sh", "-c", "kill -TERM $$");
    run(sb, &o, &r);
    CHECK(r.exited && r.exit_code == 143 && r.signal == SIGTERM,
          "killed by SIGTERM: exit 143, SIGNAL 15 (%" PRId64 ", %" PRId64 ")",
          r.exit_code, r.signal);
    result_free(&r);
}

static void test_cwd_env_stdin(const sandbox_t *sb)
{
    result_t r;
    execopt_t o = {0};

    o.argv = ARGV("pwd");
    run(sb, &o, &r);
    CHECK(!strcmp(r.out, "/workspace\n"), "default cwd is /workspace ('%s')", q(r.out));
    result_free(&r);

    o.cwd = "/tmp";
    run(sb, &o, &r);
    CHECK(!strcmp(r.out, "/tmp\n"), "CWD honoured ('%s')", q(r.out));
    result_free(&r);

    o.cwd = "/no/such/dir";
    run(sb, &o, &r);
    CHECK(r.exited && r.exit_code == 1 &&
              !strcmp(r.err, "cd: /no/such/dir: No such file or directory\n"),
          "bad CWD: exit 1 and the shell's message (%" PRId64 ", '%s')", r.exit_code, q(r.err));
    result_free(&r);
    o.cwd = NULL;

    o.argv = ARGV("env");
    o.env = ARGV("PATH=/usr/bin:/bin", "FOO=bar baz", "EMPTY=");
    run(sb, &o, &r);
    CHECK(!strcmp(r.out, "PATH=/usr/bin:/bin\nFOO=bar baz\nEMPTY=\n"),
          "ENV is exactly the request's ('%s')", q(r.out));
    result_free(&r);

    o.argv = ARGV("env");
    o.env = ARGV("A=1");
    run(sb, &o, &r);
    CHECK(r.exited && r.exit_code == 0 && !strcmp(r.out, "A=1\n"),
          "no PATH in ENV: found on the default PATH, env still exact ('%s')", q(r.out));
    result_free(&r);

    o.argv = ARGV("mytool");
    o.env = ARGV("PATH=/workspace/bin");
    {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/ws/bin", sb->state);
        mkdir(p, 0755);
        snprintf(p, sizeof p, "%s/ws/bin/mytool", sb->state);
        write_file(p, "#!/bin/sh\necho mytool ran\n", 0755);
    }
    run(sb, &o, &r);
    CHECK(!strcmp(r.out, "mytool ran\n"), "argv[0] resolved through the ENV's PATH ('%s')", q(r.out));
    result_free(&r);
    o.env = NULL;

    o.argv = ARGV("cat");
    o.input = "line one\nline two\n";
    run(sb, &o, &r);
    CHECK(!strcmp(r.out, "line one\nline two\n"), "stdin passed ('%s')", q(r.out));
    result_free(&r);
    o.input = NULL;

    o.argv = ARGV("sh", "-c", "echo out; echo err >&2; exit 3");
    run(sb, &o, &r);
    CHECK(!strcmp(r.out, "out\n") && !strcmp(r.err, "err\n") && r.exit_code == 3,
          "stdout and stderr apart ('%s' / '%s')", q(r.out), q(r.err));
    result_free(&r);

    o.argv = ARGV("head", "-c", "3000000", "/dev/zero");
    run(sb, &o, &r);
    CHECK(r.out_len == 3000000 && r.exit_code == 0, "3 MB of output (%zu bytes)", r.out_len);
    result_free(&r);

    o.argv = ARGV("sh", "-c", "ulimit -n; ulimit -f");
    o.nofile = 64;
    o.fsize = 1048576;
    run(sb, &o, &r);
    CHECK(!strcmp(r.out, "64\n2048\n"), "LIMIT_NOFILE and LIMIT_FSIZE applied ('%s')", q(r.out));
    result_free(&r);
}

static void test_fds_and_proc(const sandbox_t *sb)
{
    result_t r;
    execopt_t o = {0};

    o.argv = ARGV("ls", "/proc/self/fd");
    run(sb, &o, &r);
    CHECK(!strcmp(r.out, "0\n1\n2\n3\n"),
          "a command has only 0-2 open (3 is ls's own): no listening socket ('%s')",
          q(r.out));
    result_free(&r);

    o.argv = ARGV("cat", "/proc/1/comm");
    run(sb, &o, &r);
    CHECK(!strcmp(r.out, "agent\n"), "the agent is pid 1 ('%s')", q(r.out));
    result_free(&r);

    /* The agent is not dumpable, so nothing below it may follow its fds.
     * (Only their numbers can be listed, and only when the sandbox's
     * user is host root: the fd directory then belongs to it.) */
    o.argv = ARGV("ls", "/proc/1/fd");
    run(sb, &o, &r);
    if (getuid() != 0)
        CHECK(r.exited && r.exit_code != 0 && strstr(r.err, "Permission denied"),
              "ls /proc/1/fd fails (%" PRId64 ", '%s')", r.exit_code, q(r.err));
    else
        printf("# as host root the sandbox user owns /proc/1/fd: names listed "
               "(exit %" PRId64 "), their targets checked below\n", r.exit_code);
    result_free(&r);

    o.argv = ARGV("sh", "-c", "ls -l /proc/1/fd/ >/dev/null 2>&1 || exit 3; "
                              "exec 9</proc/1/fd/0");
    run(sb, &o, &r);
    CHECK(r.exited && r.exit_code != 0, "/proc/1/fd/N can neither be read nor opened (%" PRId64 ", '%s')",
          r.exit_code, q(r.err));
    result_free(&r);

    o.argv = ARGV("sh", "-c", "exec 9</proc/1/fd/0");
    run(sb, &o, &r);
    CHECK(r.exited && r.exit_code != 0 && strstr(r.err, "ermission denied"),
          "opening /proc/1/fd/0 is refused (%" PRId64 ", '%s')", r.exit_code, q(r.err));
    result_free(&r);

    o.argv = ARGV("cat", "/proc/1/environ");
    run(sb, &o, &r);
    CHECK(r.exited && r.exit_code != 0, "/proc/1/environ is unreadable (%" PRId64 ")",
          r.exit_code);
    result_free(&r);

    o.argv = ARGV("sh", "-c", "grep -E '^(SigBlk|SigIgn):' /proc/self/status");
    run(sb, &o, &r);
    CHECK(!strcmp(r.out, "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"),
          "no blocked or ignored signals leak into commands ('%s')", q(r.out));
    result_free(&r);

    o.argv = ARGV("sh", "-c", "ps -o pid= -o sid= -p $$ 2>/dev/null || "
                              "awk '{print $1, $6}' /proc/$$/stat");
    run(sb, &o, &r);
    {
        long pid = 0, sid = -1;
        sscanf(r.out, "%ld %ld", &pid, &sid);
        CHECK(pid > 1 && pid == sid, "a command leads its own session ('%s')", q(r.out));
    }
    result_free(&r);
}

static void test_timeout(const sandbox_t *sb)
{
    result_t r;
    execopt_t o = {0};
    uint64_t t0;
    char *gc;
    char p[PATH_MAX + 32];
    long gpid;

    snprintf(p, sizeof p, "%s/tmp/gc.pid", sb->state);
    unlink(p);
    /* Ignores SIGTERM, and leaves a grandchild in its own session whose
     * parent has exited: only the subreaper walk can find it. */
    o.argv = ARGV("sh", "-c",
                  "trap '' TERM; "
                  "sh -c 'setsid sleep 60 & echo $! > /tmp/gc.pid'; "
                  "sleep 60");
    o.timeout_ms = 200;
    t0 = mono_us();
    run(sb, &o, &r);
    t0 = (mono_us() - t0) / 1000;
    CHECK(r.exited && (r.flags & PROTO_EXITED_TIMED_OUT),
          "TIMEOUT_MS 200: EXITED with the timed-out flag (flags %" PRIu64 ")", r.flags);
    CHECK(r.exit_code == 137 && r.signal == SIGKILL,
          "timed out: 128+9 and SIGNAL 9 (%" PRId64 ", %" PRId64 ")", r.exit_code, r.signal);
    CHECK(!r.hung && t0 < 2000 && r.duration_ms >= 200 && r.duration_ms < 2000,
          "ends early, output pipes closed (%" PRIu64 " ms, DURATION_MS %" PRIu64 ")",
          t0, r.duration_ms);
    result_free(&r);
    gc = read_file(p);
    gpid = strtol(gc, NULL, 10);
    free(gc);
    CHECK(gpid > 1, "the double-forked grandchild ran (pid %ld)", gpid);
    if (gpid > 1) {
        char script[64];
        snprintf(script, sizeof script, "kill -0 %ld", gpid);
        CHECK(sh_code(sb, script) == 1, "the setsid'd grandchild %ld is gone", gpid);
    }
}

static void test_background(const sandbox_t *sb)
{
    result_t r;
    execopt_t o = {0};
    char path[PATH_MAX + 64], script[128];
    char *text = NULL;
    long pid;
    int32_t status;
    int t;

    o.argv = ARGV("sh", "-c", "echo bg-out; echo bg-err >&2; exec sleep 60");
    o.background = 1;
    run(sb, &o, &r);
    pid = r.pid;
    CHECK(r.started && pid > 1 && !r.exited && r.replies == 1 && !r.hung,
          "background EXEC: STARTED (pid %ld), then the connection closes", pid);
    result_free(&r);

    snprintf(path, sizeof path, "%s/logs/%ld.out", sb->state, pid);
    for (int i = 0; i < 200; i++) {
        free(text);
        text = read_file(path);
        if (*text)
            break;
        sleep_ms(10);
    }
    CHECK(!strcmp(text, "bg-out\n"), "its stdout goes to /run/csdk/logs/%ld.out ('%s')", pid, q(text));
    free(text);
    snprintf(path, sizeof path, "%s/logs/%ld.err", sb->state, pid);
    text = read_file(path);
    CHECK(!strcmp(text, "bg-err\n"), "its stderr goes to %ld.err ('%s')", pid, q(text));
    free(text);
    text = NULL;

    snprintf(script, sizeof script, "kill -0 %ld && grep -q sleep /proc/%ld/cmdline", pid, pid);
    CHECK(sh_code(sb, script) == 0, "a later command sees it running");

    t = kill_req(sb, 999999, 0, &status);
    CHECK(t == PROTO_REP_ERROR && status == CSDK_E_NOT_FOUND,
          "KILL of an unknown pid: ERROR NOT_FOUND (%d)", status);
    CHECK(kill_req(sb, pid, SIGKILL, &status) == PROTO_REP_OK, "KILL of the background command: OK");
    CHECK(wait_gone(sb, pid, 3000), "after KILL it is gone");

    /* KILL with another signal: SIGTERM to the tree. */
    o.argv = ARGV("sh", "-c", "exec sleep 60");
    run(sb, &o, &r);
    pid = r.pid;
    result_free(&r);
    t = kill_req(sb, pid, SIGTERM, &status);
    CHECK(t == PROTO_REP_OK && wait_gone(sb, pid, 3000), "KILL with SIGNAL 15 ends a background command");

    /* A background tree with a setsid'd, re-parented grandchild: KILL
     * takes all of it. */
    {
        char p[PATH_MAX + 32];
        char *gc;
        long gpid;
        snprintf(p, sizeof p, "%s/tmp/bgc.pid", sb->state);
        unlink(p);
        o.argv = ARGV("sh", "-c",
                      "sh -c 'setsid sleep 61 >/dev/null 2>&1 & echo $! > /tmp/bgc.pid'; "
                      "exec sleep 60");
        run(sb, &o, &r);
        pid = r.pid;
        result_free(&r);
        gc = NULL;
        for (int i = 0; i < 200; i++) {
            free(gc);
            gc = read_file(p);
            if (strchr(gc, '\n'))
                break;
            sleep_ms(10);
        }
        gpid = strtol(gc, NULL, 10);
        free(gc);
        CHECK(gpid > 1 && kill_req(sb, pid, 0, NULL) == PROTO_REP_OK,
              "KILL (no SIGNAL: SIGKILL) of a background tree");
        CHECK(wait_gone(sb, pid, 3000) && wait_gone(sb, gpid, 3000),
              "its command %ld and setsid'd grandchild %ld are gone", pid, gpid);
    }

    /* A foreground command may leave a server running with '&'. */
    {
        char p[PATH_MAX + 32];
        char *s;
        long spid;
        snprintf(p, sizeof p, "%s/tmp/srv.pid", sb->state);
        unlink(p);
        o.background = 0;
        o.argv = ARGV("sh", "-c", "sleep 60 >/dev/null 2>&1 </dev/null & echo $! > /tmp/srv.pid");
        run(sb, &o, &r);
        CHECK(r.exited && r.exit_code == 0 && !r.hung, "foreground command returns, its '&' child stays");
        result_free(&r);
        s = read_file(p);
        spid = strtol(s, NULL, 10);
        free(s);
        snprintf(script, sizeof script, "kill -0 %ld", spid);
        CHECK(spid > 1 && sh_code(sb, script) == 0, "the '&' child %ld keeps running", spid);
    }
}

static void test_cancel(const sandbox_t *sb)
{
    execopt_t o = {0};
    running_t rn;
    result_t r, r2;
    char p[PATH_MAX + 32];
    long pid = 0;
    uint64_t t0;

    snprintf(p, sizeof p, "%s/tmp/fg.pid", sb->state);
    unlink(p);
    o.argv = ARGV("sh", "-c", "echo $$ > /tmp/fg.pid; sleep 60 & sleep 60");
    memset(&r, 0, sizeof r);
    if (exec_start(sb, &o, &rn) < 0) {
        CHECK(0, "exec_start for the cancel test: %s", strerror(errno));
        return;
    }
    {
        proto_frame_t f;
        if (proto_recv(rn.sock, &f) == 1) {
            handle_frame(&r, &f);
            proto_frame_free(&f);
        }
    }
    for (int i = 0; i < 200; i++) {
        char *s = read_file(p);
        pid = strtol(s, NULL, 10);
        free(s);
        if (pid > 1)
            break;
        sleep_ms(10);
    }
    CHECK(r.started && pid == r.pid, "a foreground command runs (pid %ld)", r.pid);

    /* Meanwhile another connection runs another command. */
    o.argv = ARGV("echo", "concurrent");
    t0 = mono_us();
    run(sb, &o, &r2);
    t0 = (mono_us() - t0) / 1000;
    CHECK(!strcmp(r2.out, "concurrent\n") && t0 < 1000,
          "a second command runs while the first one does (%" PRIu64 " ms)", t0);
    result_free(&r2);

    close(rn.sock);
    rn.sock = -1;
    t0 = mono_us();
    exec_finish(&rn, &r, 5000);
    t0 = (mono_us() - t0) / 1000;
    CHECK(!r.hung && t0 < 2000,
          "closing the connection early kills the tree: output pipes close (%" PRIu64 " ms)", t0);
    CHECK(wait_gone(sb, r.pid, 2000), "the cancelled command %ld is gone", r.pid);
    result_free(&r);
}

static void test_bad_requests(const sandbox_t *sb)
{
    proto_builder_t b;
    int32_t status;
    char msg[256];
    int fd, t;

    /* The request is made before CHECK: its arguments have no order. */
    proto_begin(&b, 77);
    t = simple_request(sb, &b, &status, msg, sizeof msg);
    CHECK(t == PROTO_REP_ERROR &&
              status == CSDK_E_NOT_SUPPORTED,
          "unknown request type: ERROR NOT_SUPPORTED ('%s')", q(msg));

    proto_begin(&b, PROTO_REQ_EXEC);
    proto_add_str(&b, PROTO_F_ARGV, "true");
    t = simple_request(sb, &b, &status, msg, sizeof msg);
    CHECK(t == PROTO_REP_ERROR &&
              status == CSDK_E_INVALID_ARGUMENT,
          "foreground EXEC without fds: ERROR INVALID_ARGUMENT ('%s')", q(msg));

    proto_begin(&b, PROTO_REQ_EXEC);
    proto_add_u64(&b, PROTO_F_FLAGS, PROTO_EXEC_BACKGROUND);
    t = simple_request(sb, &b, &status, msg, sizeof msg);
    CHECK(t == PROTO_REP_ERROR &&
              status == CSDK_E_INVALID_ARGUMENT,
          "EXEC without ARGV: ERROR INVALID_ARGUMENT ('%s')", q(msg));

    proto_begin(&b, PROTO_REQ_EXEC);
    proto_add_str(&b, PROTO_F_ARGV, "true");
    proto_add_str(&b, PROTO_F_ENV, "NOEQUALS");
    proto_add_u64(&b, PROTO_F_FLAGS, PROTO_EXEC_BACKGROUND);
    t = simple_request(sb, &b, &status, msg, sizeof msg);
    CHECK(t == PROTO_REP_ERROR &&
              status == CSDK_E_INVALID_ARGUMENT,
          "ENV entry without '=': ERROR INVALID_ARGUMENT ('%s')", q(msg));

    proto_begin(&b, PROTO_REQ_EXTEND);
    proto_add_str(&b, PROTO_F_EXPIRES_MS, "soon");
    t = simple_request(sb, &b, &status, msg, sizeof msg);
    CHECK(t == PROTO_REP_ERROR &&
              status == CSDK_E_INVALID_ARGUMENT,
          "EXTEND with a non-number: ERROR INVALID_ARGUMENT ('%s')", q(msg));

    fd = sb_connect(sb);
    if (fd >= 0) {
        proto_frame_t f;
        int rc = -1;
        if (write(fd, "GET / HTTP/1.0\r\n\r\n", 18) == 18)
            rc = proto_recv(fd, &f);
        CHECK(rc == 1 && f.type == PROTO_REP_ERROR, "garbage: ERROR reply");
        if (rc == 1)
            proto_frame_free(&f);
        close(fd);
    }
    fd = sb_connect(sb);
    if (fd >= 0) /* connect and hang up without a word */
        close(fd);
    CHECK(ping(sb), "the agent still serves after bad requests");
}

static void test_shutdown(sandbox_t *sb)
{
    proto_builder_t b;
    execopt_t o = {.argv = ARGV("sleep", "60"), .background = 1};
    result_t r;

    run(sb, &o, &r);
    result_free(&r);
    proto_begin(&b, PROTO_REQ_SHUTDOWN);
    CHECK(simple_request(sb, &b, NULL, NULL, 0) == PROTO_REP_OK, "SHUTDOWN answers OK");
    CHECK(sandbox_wait_exit(sb, 3000) && WIFEXITED(sb->status) &&
              WEXITSTATUS(sb->status) == 0,
          "then every process ends and bwrap exits 0 (status 0x%x)", sb->status);
    CHECK(sb_connect(sb) < 0, "the control socket no longer accepts");
}

static void test_expiry(void)
{
    sandbox_t sb;
    uint64_t t0 = mono_us();
    proto_builder_t b;

    int ok;

    sandbox_start(&sb, "expiry", wall_ms() + 700);
    CHECK(ping(&sb), "a sandbox with --expires-ms in 700 ms starts");
    ok = sandbox_wait_exit(&sb, 5000) && WIFEXITED(sb.status);
    t0 = (mono_us() - t0) / 1000;
    CHECK(ok && t0 >= 650, "it shuts itself down at its expiry (%" PRIu64 " ms)", t0);
    sandbox_kill(&sb);

    sandbox_start(&sb, "extend", wall_ms() + 60000);
    CHECK(ping(&sb), "a sandbox expiring in 60 s starts");
    t0 = mono_us();
    proto_begin(&b, PROTO_REQ_EXTEND);
    proto_add_u64(&b, PROTO_F_EXPIRES_MS, wall_ms() + 300);
    CHECK(simple_request(&sb, &b, NULL, NULL, 0) == PROTO_REP_OK, "EXTEND to 300 ms from now: OK");
    ok = sandbox_wait_exit(&sb, 5000);
    t0 = (mono_us() - t0) / 1000;
    CHECK(ok && t0 >= 250, "it shuts down at the new expiry (%" PRIu64 " ms)", t0);
    sandbox_kill(&sb);
}

static void test_parent_death(void)
{
    sandbox_t sb;
    int st, gone = 0;

    sandbox_start(&sb, "orphan", 0);
    CHECK(ping(&sb), "a sandbox for the parent-death test starts");
    /* We are a subreaper, so the agent, orphaned, becomes our child. */
    kill(sb.bwrap, SIGKILL);
    sandbox_wait_exit(&sb, 3000);
    for (int i = 0; i < 300 && !gone; i++) {
        pid_t p = waitpid(sb.agent_host_pid, &st, WNOHANG);
        if (p == sb.agent_host_pid || (p < 0 && errno == ECHILD && kill(sb.agent_host_pid, 0) < 0))
            gone = 1;
        else
            sleep_ms(10);
    }
    CHECK(gone, "killing the bwrap monitor takes the agent down (PDEATHSIG)");
}

/* ------------------------------------------------------------------ */
/* Bench                                                                */
/* ------------------------------------------------------------------ */

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static void bench(int n)
{
    sandbox_t sb;
    uint64_t *t = calloc((size_t)n, sizeof *t), agent_med, bwrap_med;
    execopt_t o = {.argv = ARGV("true")};
    const char *argv[128];

    sandbox_start(&sb, "bench", 0);
    if (!ping(&sb))
        die("the agent did not answer");
    for (int i = 0; i < n; i++) {
        result_t r;
        uint64_t t0 = mono_us();
        run(&sb, &o, &r);
        t[i] = mono_us() - t0;
        if (!r.exited || r.exit_code != 0)
            die("exec true failed");
        result_free(&r);
    }
    qsort(t, (size_t)n, sizeof *t, cmp_u64);
    agent_med = t[n / 2];
    printf("agent  exec true: median %" PRIu64 " us  (p10 %" PRIu64 ", p90 %" PRIu64 ", n=%d)\n",
           agent_med, t[n / 10], t[n * 9 / 10], n);
    sandbox_kill(&sb);

    bwrap_argv(&sb, argv, 128, "/bin/true", 0);
    for (int i = 0; i < n; i++) {
        pid_t pid;
        int st;
        uint64_t t0 = mono_us();
        if (posix_spawnp(&pid, "bwrap", NULL, NULL, (char **)argv, environ))
            die("posix_spawn bwrap");
        waitpid(pid, &st, 0);
        t[i] = mono_us() - t0;
        if (!WIFEXITED(st) || WEXITSTATUS(st))
            die("bwrap true failed");
    }
    qsort(t, (size_t)n, sizeof *t, cmp_u64);
    bwrap_med = t[n / 2];
    printf("bwrap  /bin/true: median %" PRIu64 " us  (p10 %" PRIu64 ", p90 %" PRIu64 ", n=%d)\n",
           bwrap_med, t[n / 10], t[n * 9 / 10], n);
    printf("ratio agent/bwrap: %.2f\n", (double)agent_med / (double)bwrap_med);
    free(t);
}

/* ------------------------------------------------------------------ */

static int can_sandbox(void)
{
    const char *argv[] = {"bwrap", "--unshare-user", "--unshare-pid", "--as-pid-1",
                          "--ro-bind", "/usr", "/usr", "--symlink", "usr/lib64", "/lib64",
                          "--symlink", "usr/lib", "/lib", "--proc", "/proc",
                          "/usr/bin/true", NULL};
    posix_spawn_file_actions_t fa;
    pid_t pid;
    int st = -1;

    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    if (posix_spawnp(&pid, "bwrap", &fa, NULL, (char **)argv, environ) != 0) {
        posix_spawn_file_actions_destroy(&fa);
        printf("1..0 # SKIP bwrap not found (apt-get install bubblewrap)\n");
        return 0;
    }
    posix_spawn_file_actions_destroy(&fa);
    waitpid(pid, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        printf("1..0 # SKIP bwrap cannot create user and pid namespaces here\n");
        return 0;
    }
    return 1;
}

static void find_agent(const char *argv0)
{
    static char buf[PATH_MAX + 64];
    const char *e = getenv("CSDK_AGENT"), *b = getenv("top_builddir");
    if (e && *e) {
        agent_path = e;
    } else if (b && *b) {
        snprintf(buf, sizeof buf, "%s/plugins/local/agent/csdk-local-agent", b);
        agent_path = buf;
    } else {
        /* tests/local/agent_test -> plugins/local/agent/csdk-local-agent */
        char *slash;
        snprintf(buf, sizeof buf, "%s", argv0);
        slash = strrchr(buf, '/');
        if (slash)
            *slash = '\0';
        else
            strcpy(buf, ".");
        strcat(buf, "/../../plugins/local/agent/csdk-local-agent");
        agent_path = buf;
    }
    if (access(agent_path, X_OK) < 0)
        die("no agent at %s (build it first: make plugins/local/agent/csdk-local-agent)",
            agent_path);
    /* bwrap needs an absolute source for --ro-bind. */
    agent_path = realpath(agent_path, NULL);
    if (!agent_path)
        die("realpath: %s", strerror(errno));
}

int main(int argc, char **argv)
{
    sandbox_t sb;

    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    if (!can_sandbox())
        return 77;
    find_agent(argv[0]);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    snprintf(tmpdir, sizeof tmpdir, "%s/csdk-agent-test.XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(tmpdir))
        die("mkdtemp: %s", strerror(errno));

    if (argc > 1 && !strcmp(argv[1], "--serve")) {
        /* For poking at an agent by hand: print the socket, keep it up. */
        sandbox_start(&sb, "serve", 0);
        printf("%s\n", sb.sock);
        sandbox_wait_exit(&sb, UINT_MAX);
        return 0;
    }
    if (argc > 1 && !strcmp(argv[1], "--bench")) {
        bench(argc > 2 ? atoi(argv[2]) : 200);
        rm_rf(tmpdir);
        return 0;
    }

    sandbox_start(&sb, "main", wall_ms() + 600000);
    if (!CHECK(ping(&sb), "the agent answers under bwrap (agent %s)", agent_path)) {
        char p[PATH_MAX + 32];
        snprintf(p, sizeof p, "%s/agent.log", sb.state);
        printf("# agent.log: %s\n", read_file(p));
        sandbox_kill(&sb);
        return 1;
    }
    test_basics(&sb);
    test_cwd_env_stdin(&sb);
    test_fds_and_proc(&sb);
    test_timeout(&sb);
    test_background(&sb);
    test_cancel(&sb);
    test_bad_requests(&sb);
    test_shutdown(&sb);
    {
        char p[PATH_MAX + 32];
        char *log;
        snprintf(p, sizeof p, "%s/agent.log", sb.state);
        log = read_file(p);
        if (*log)
            printf("# agent.log:\n%s", log);
        free(log);
    }
    sandbox_kill(&sb);
    test_expiry();
    test_parent_death();

    printf("1..%d\n", n_tests);
    if (!n_failed)
        rm_rf(tmpdir);
    else
        printf("# state kept in %s\n", tmpdir);
    return n_failed ? 1 : 0;
}
