/*
 * plugins/local/agent/shepherd.c - one supervising process per command.
 *
 * agent --fork--> shepherd (child subreaper) --fork--> command (own session)
 *
 * The shepherd exists so that the command's whole tree, including
 * double-forked children that left its session, stays below one process
 * that can find and kill it (tree.c), and so that the agent's event loop
 * never blocks on a command: the shepherd does the waiting and reports
 * over a pipe.  Forking is cheap here: the agent is small and
 * single-threaded, so the children may call anything, malloc included.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "agent.h"
#include "proto.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void agent_close_fds_except(const int *keep, int n)
{
    int k[8], nk = 0;
    unsigned lo = 3;

    for (int i = 0; i < n && nk < 8; i++)
        if (keep[i] >= 3)
            k[nk++] = keep[i];
    for (int i = 1; i < nk; i++) /* insertion sort, tiny */
        for (int j = i; j > 0 && k[j - 1] > k[j]; j--) {
            int t = k[j];
            k[j] = k[j - 1];
            k[j - 1] = t;
        }
    for (int i = 0; i < nk; i++) {
        unsigned fd = (unsigned)k[i];
        if (fd > lo && close_range(lo, fd - 1, 0) < 0)
            for (unsigned x = lo; x < fd; x++)
                close((int)x);
        if (fd + 1 > lo)
            lo = fd + 1;
    }
    if (close_range(lo, ~0u, 0) < 0) {
        long max = sysconf(_SC_OPEN_MAX);
        for (long x = lo; x < (max > 0 ? max : 65536); x++)
            close((int)x);
    }
}

/* ------------------------------------------------------------------ */
/* The command (runs in the grandchild, never returns)                  */
/* ------------------------------------------------------------------ */

static const char *env_get(char *const *envp, const char *name)
{
    size_t n = strlen(name);
    for (; *envp; envp++)
        if (!strncmp(*envp, name, n) && (*envp)[n] == '=')
            return *envp + n + 1;
    return NULL;
}

/* execve, and for a file the kernel will not run (no #!), run it with
 * /bin/sh as execvpe and shells do.  Returns only on failure, errno set
 * by the first execve. */
static void try_exec(const char *path, char *const *argv, char *const *envp)
{
    size_t argc = 0;
    char **sh;

    execve(path, argv, envp);
    if (errno != ENOEXEC)
        return;
    while (argv[argc])
        argc++;
    sh = calloc(argc + 2, sizeof *sh);
    if (!sh) {
        errno = ENOEXEC;
        return;
    }
    sh[0] = (char *)"sh";
    sh[1] = (char *)path;
    for (size_t i = 1; i < argc; i++)
        sh[i + 1] = argv[i];
    execve("/bin/sh", sh, envp);
    free(sh);
    errno = ENOEXEC;
}

/* Run argv[0] the way a shell would: a name with a slash as is, else each
 * directory of the request's own PATH in turn.  The exit codes and
 * messages are the shell's, so callers can tell the cases apart. */
static void exec_command(char *const *argv, char *const *envp)
{
    const char *file = argv[0], *path, *p;
    char buf[4096];
    int eacces = 0;

    if (!*file) {
        dprintf(2, "%s: command not found\n", file);
        _exit(127);
    }
    if (strchr(file, '/')) {
        int e;
        try_exec(file, argv, envp);
        e = errno;
        dprintf(2, "%s: %s\n", file, strerror(e));
        _exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
    }
    path = env_get(envp, "PATH");
    if (!path)
        path = AGENT_DEFAULT_PATH;
    for (p = path;; p++) {
        const char *end = strchrnul(p, ':');
        size_t dl = (size_t)(end - p), fl = strlen(file);
        if (dl + 1 + fl < sizeof buf) {
            if (dl) {
                memcpy(buf, p, dl);
                buf[dl] = '/';
                memcpy(buf + dl + 1, file, fl + 1);
            } else {
                memcpy(buf, file, fl + 1); /* empty entry: the cwd */
            }
            try_exec(buf, argv, envp);
            switch (errno) {
            case EACCES:
                eacces = 1;
                break;
            case ENOENT:
            case ENOTDIR:
            case ENAMETOOLONG:
            case ELOOP:
            case ESTALE:
            case ENODEV:
            case ETIMEDOUT:
                break;
            default: {
                int e = errno;
                dprintf(2, "%s: %s\n", file, strerror(e));
                _exit(126);
            }
            }
        }
        if (!*end)
            break;
        p = end;
    }
    if (eacces) {
        dprintf(2, "%s: %s\n", file, strerror(EACCES));
        _exit(126);
    }
    dprintf(2, "%s: command not found\n", file);
    _exit(127);
}

/* Lower a limit to `v` (soft and hard).  It can never be raised: without
 * CAP_SYS_RESOURCE the current hard limit is the ceiling. */
static void apply_limit(int resource, uint64_t v)
{
    struct rlimit rl;
    if (getrlimit(resource, &rl) < 0)
        return;
    if (rl.rlim_max != RLIM_INFINITY && v > rl.rlim_max)
        v = rl.rlim_max;
    rl.rlim_cur = rl.rlim_max = (rlim_t)v;
    setrlimit(resource, &rl);
}

static int open_log(const char *ext)
{
    char path[128];
    int fd;
    snprintf(path, sizeof path, "%s/%ld.%s", AGENT_LOG_DIR, (long)getpid(), ext);
    /* Truncated: pids are reused, and an older command's log must not run
     * into this one's.  Appending: the command and its children share
     * the file. */
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) {
        dprintf(2, "csdk-local-agent: %s: %s\n", path, strerror(errno));
        _exit(126);
    }
    return fd;
}

static void run_command(const exec_req_t *req)
{
    static const int res[AGENT_NLIMITS] = {
        [AGENT_LIMIT_FSIZE] = RLIMIT_FSIZE,
        [AGENT_LIMIT_NOFILE] = RLIMIT_NOFILE,
        [AGENT_LIMIT_CPU] = RLIMIT_CPU,
        [AGENT_LIMIT_AS] = RLIMIT_AS,
    };
    int fds[3];
    sigset_t none;

    /* Its own session and process group, so a timeout can kill the group
     * without touching the shepherd. */
    setsid();

    if (req->background) {
        fds[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        fds[1] = open_log("out");
        fds[2] = open_log("err");
        if (fds[0] < 0)
            _exit(126);
    } else {
        memcpy(fds, req->fds, sizeof fds);
    }
    /* Every fd here is >= 3 (the agent keeps 0-2 open), so these dup2s
     * never clobber a source still needed. */
    for (int i = 0; i < 3; i++)
        if (dup2(fds[i], i) < 0)
            _exit(126);
    agent_close_fds_except(NULL, 0);

    for (int i = 0; i < AGENT_NLIMITS; i++)
        if (req->has_limit[i])
            apply_limit(res[i], req->limit[i]);

    /* Defaults for the command: an ignored signal or a blocked mask
     * survives execve, and the agent may have inherited ignored signals
     * from whoever started the sandbox.  The raw system call, because
     * libc refuses to touch the signals it reserves for itself (32, 33),
     * which can arrive ignored all the same.  An all-zero kernel
     * sigaction is SIG_DFL with no flags and an empty mask on every
     * architecture. */
    for (int s = 1; s < NSIG; s++) {
        unsigned long ksa[8] = {0};
        if (s != SIGKILL && s != SIGSTOP)
            syscall(SYS_rt_sigaction, s, ksa, NULL, (size_t)(NSIG - 1) / 8);
    }
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);

    if (req->cwd && chdir(req->cwd) < 0) {
        dprintf(2, "cd: %s: %s\n", req->cwd, strerror(errno));
        _exit(1);
    }
    exec_command(req->argv, req->envp);
}

/* ------------------------------------------------------------------ */
/* The shepherd                                                         */
/* ------------------------------------------------------------------ */

static void report(int fd, const shep_msg_t *m)
{
    ssize_t n;
    do
        n = write(fd, m, sizeof *m);
    while (n < 0 && errno == EINTR);
}

static void wait_sigchld(const sigset_t *set, uint64_t timeout_ms)
{
    if (timeout_ms == UINT64_MAX) {
        sigwaitinfo(set, NULL);
    } else {
        struct timespec ts = {(time_t)(timeout_ms / 1000),
                              (long)(timeout_ms % 1000) * 1000000L};
        sigtimedwait(set, NULL, &ts);
    }
}

static void shepherd_main(const exec_req_t *req, int wfd)
{
    int keep[4] = {wfd, req->fds[0], req->fds[1], req->fds[2]};
    shep_msg_t m = {0};
    sigset_t chld;
    uint64_t start, deadline, end = 0;
    pid_t cmd;
    int main_done = 0, reported = 0, timed_out = 0, status = 0;

    agent_close_fds_except(keep, 4);
    /* Orphans of the command's tree reparent here rather than to init. */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL); /* already, from the agent */

    start = mono_ms();
    cmd = fork();
    if (cmd < 0) {
        /* Usually the sandbox's process limit: the agent says so. */
        m.kind = SHEP_FORK_FAILED;
        m.error = errno;
        report(wfd, &m);
        _exit(126);
    }
    if (cmd == 0)
        run_command(req);
    for (int i = 0; i < 3; i++)
        if (req->fds[i] >= 0)
            close(req->fds[i]);
    m.kind = SHEP_STARTED;
    m.pid = (int32_t)cmd;
    report(wfd, &m);

    deadline = !req->timeout_ms ? 0
               : req->timeout_ms > UINT64_MAX - start ? UINT64_MAX
                                                      : start + req->timeout_ms;
    for (;;) {
        pid_t p;
        int st, none_left;

        while ((p = waitpid(-1, &st, WNOHANG)) > 0)
            if (p == cmd) {
                main_done = 1;
                status = st;
                end = mono_ms();
            }
        none_left = p < 0 && errno == ECHILD;
        /* A timed-out command is reported once its whole tree is reaped,
         * so its processes are gone when the caller hears of it. */
        if (main_done && !reported && (!timed_out || none_left)) {
            memset(&m, 0, sizeof m);
            m.kind = SHEP_EXITED;
            m.pid = (int32_t)cmd;
            if (WIFSIGNALED(status)) {
                m.signal = WTERMSIG(status);
                m.exit_code = 128 + m.signal;
            } else {
                m.exit_code = WEXITSTATUS(status);
            }
            m.flags = timed_out ? PROTO_EXITED_TIMED_OUT : 0;
            m.duration_ms = end - start;
            report(wfd, &m);
            reported = 1;
        }
        if (none_left)
            break;
        if (!main_done && deadline) {
            uint64_t now = mono_ms();
            if (now >= deadline) {
                tree_kill(getpid(), cmd, SIGKILL);
                timed_out = 1;
                deadline = 0;
                continue;
            }
            wait_sigchld(&chld, deadline - now);
        } else {
            wait_sigchld(&chld, UINT64_MAX);
        }
    }
    _exit(0);
}

pid_t shepherd_start(const exec_req_t *req, int *report_fd)
{
    int p[2];
    pid_t pid;

    if (pipe2(p, O_CLOEXEC) < 0)
        return -1;
    pid = fork();
    if (pid < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        errno = e;
        return -1;
    }
    if (pid == 0)
        shepherd_main(req, p[1]);
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    *report_fd = p[0];
    return pid;
}
