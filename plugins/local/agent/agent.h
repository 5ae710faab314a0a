/*
 * plugins/local/agent/agent.h - internals shared by the pieces of
 * csdk-local-agent, the init of a local sandbox (docs/local-provider.md).
 *
 *   agent.c     arguments, the event loop, requests and replies
 *   shepherd.c  one supervising process per command: exec, timeout, reaping
 *   tree.c      finding and killing a command's whole process tree in /proc,
 *               and the orphans of dead shepherds
 *   execas.c    --exec-as: the trampoline that starts bwrap as an
 *               unprivileged user when the plugin runs as root
 *
 * The agent is single-threaded; every function here may assume it.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#ifndef CSDK_LOCAL_AGENT_H
#define CSDK_LOCAL_AGENT_H

#include <stdint.h>
#include <sys/types.h>

/* Where background commands' output goes: PID.out and PID.err. */
#define AGENT_LOG_DIR "/run/csdk/logs"

/* PATH used to find a command when its environment has none (execvpe's
 * choice, plus /usr/local/bin). */
#define AGENT_DEFAULT_PATH "/usr/local/bin:/usr/bin:/bin"

enum {
    AGENT_LIMIT_FSIZE,
    AGENT_LIMIT_NOFILE,
    AGENT_LIMIT_CPU,
    AGENT_LIMIT_AS,
    AGENT_NLIMITS
};

/* One command to run, decoded from an EXEC request.  Owned by the agent;
 * the shepherd and the command read their forked copy. */
typedef struct exec_req {
    char **argv;         /* NULL-terminated, argv[0] non-NULL */
    char **envp;         /* NULL-terminated: exactly the request's ENV */
    char *cwd;           /* NULL: the agent's cwd (/workspace) */
    uint64_t timeout_ms; /* 0: none */
    int background;
    int fds[3];          /* foreground: stdin, stdout, stderr; else -1 */
    int has_limit[AGENT_NLIMITS];
    uint64_t limit[AGENT_NLIMITS];
    uint64_t pids_limit; /* the sandbox's process limit, for messages; 0: unknown */
} exec_req_t;

/* What a shepherd tells the agent, one fixed-size record per write (well
 * under PIPE_BUF, so each write is atomic and each read whole). */
#define SHEP_STARTED 1
#define SHEP_EXITED 2
#define SHEP_FORK_FAILED 3 /* the command could not be forked; then exit */
typedef struct shep_msg {
    uint32_t kind;
    int32_t pid;       /* STARTED: the command's pid in the sandbox */
    int32_t exit_code; /* EXITED: 0-255, 128+signal when killed */
    int32_t signal;    /* EXITED: the killing signal, or 0 */
    uint32_t flags;    /* EXITED: PROTO_EXITED_* */
    int32_t error;     /* FORK_FAILED: fork's errno */
    uint64_t duration_ms;
} shep_msg_t;

/*
 * Fork a shepherd for `req`.  Returns its pid and the read end of its
 * report pipe in *report_fd (O_CLOEXEC | O_NONBLOCK), or -1 with errno.
 * The shepherd writes SHEP_STARTED as soon as the command is forked, then
 * SHEP_EXITED when it has ended, keeps reaping leftover descendants until
 * none is left, and exits 0.  The caller still owns req->fds and should
 * close them once this returns.
 */
pid_t shepherd_start(const exec_req_t *req, int *report_fd);

/*
 * Signal a command's whole tree: the process group `pgid` (when > 0) and
 * every live process whose parent chain in /proc leads to `root` (the
 * shepherd, which is a subreaper, so double-forked orphans still count).
 * With SIGKILL the walk is repeated until no live descendant remains (each
 * pass also catches children forked during the previous one), bounded so
 * a process stuck in the kernel cannot hang the caller.  Returns the
 * number of processes signalled.
 */
int tree_kill(pid_t root, pid_t pgid, int sig);

/*
 * For the agent as pid 1: SIGKILL every orphan of a dead shepherd with
 * its descendants.  Every process the agent starts is a shepherd, and a
 * shepherd is a subreaper, so a process whose parent is pid 1 and which
 * is not one of the live shepherds `keep[0..n)` has lost its shepherd
 * (the command killed it): it and everything below it go.  Repeated until
 * a pass finds none, bounded like tree_kill.  Returns the number of
 * processes signalled.
 */
int tree_kill_orphans(const pid_t *keep, size_t n);

/* Close every fd >= 3 except those in keep[0..n) (which may hold -1). */
void agent_close_fds_except(const int *keep, int n);

/* csdk-local-agent --exec-as UID:GID ... -- PROGRAM ARGS (execas.c);
 * never returns. */
int execas_main(int argc, char **argv) __attribute__((noreturn));

#endif
