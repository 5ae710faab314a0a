/*
 * plugins/local/local.h - the local provider's internal declarations,
 * shared by its source files (never installed, never seen by the host).
 *
 *   local.c    the ABI slots; configuration and create options
 *   sandbox.c  sandbox state on disk: meta, create, load, list, reap,
 *              destroy, names
 *   saved.c    templates and snapshots; cloning a directory tree
 *   spawn.c    the bwrap command line and starting it with posix_spawn
 *   limits.c   cgroup v2 / v1 / rlimit detection and setup
 *   client.c   talking to the agent: ping, exec with streaming, kill
 *   fs.c       the six filesystem methods, confined with openat2
 *   util.c     strings, files, escaping, processes
 *
 * Conventions: functions that take (st, call) report failures through
 * st->host->error and return the csdk_status_t; functions without a call
 * return 0 or -1 with errno set.  Strings are malloc'd and owned by the
 * struct that points at them.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#ifndef CSDK_LOCAL_H
#define CSDK_LOCAL_H

#include <csdk/provider.h>

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define LC_NAME "local"
#define LC_ID_PREFIX "lc-"
#define LC_TEMPLATE_PREFIX "lt-"
#define LC_SNAPSHOT_PREFIX "ls-"
#define LC_ID_HEX 16
#define LC_ID_LEN (3 + LC_ID_HEX) /* "lc-" + 16 hex digits */

/* Paths inside the sandbox. */
#define LC_WORKSPACE "/workspace"
#define LC_HOME "/home/sandbox"
#define LC_USER "sandbox"
#define LC_AGENT_PATH "/run/csdk/agent"
#define LC_LOGS_PATH "/run/csdk/logs"
#define LC_BASE_PATH "/usr/local/bin:/usr/bin:/bin:/usr/local/sbin:/usr/sbin:/sbin"

#define LC_MIB (1024u * 1024u)

/* How long get/info/list wait for an agent's answer before calling the
 * sandbox stopped, and how long create waits for a new agent. */
#define LC_PING_TIMEOUT_MS 1000u
#define LC_START_TIMEOUT_MS 15000u
/* A sandbox still "creating" after this long was abandoned by a process
 * that died half-way; the reaper removes it. */
#define LC_CREATING_GRACE_MS 120000u
/* A long-lived host (csdk serve) reaps at most this often. */
#define LC_REAP_INTERVAL_MS 30000u

#if defined(__GNUC__) || defined(__clang__)
#define LC_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define LC_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------ */
/* Plain data                                                          */
/* ------------------------------------------------------------------ */

typedef struct lc_pair {
    char *key;
    char *value;
} lc_pair_t;

typedef struct lc_pairs {
    lc_pair_t *v;
    size_t n;
} lc_pairs_t;

/* Resource limits of a sandbox (the config keys of the same names). */
typedef struct lc_limits {
    uint64_t memory_mb;     /* 0 = none */
    uint64_t pids;          /* 0 = none */
    uint64_t millicpus;     /* cpus * 1000; 0 = none */
    uint64_t file_size_mb;  /* 0 = none */
    uint64_t open_files;    /* 0 = inherit */
    uint64_t output_max_mb; /* per stream per command; 0 = no cap */
} lc_limits_t;

/* How each limit is enforced: LC_ENF_* per limit. */
#define LC_ENF_NONE 0
#define LC_ENF_CGROUP2 1
#define LC_ENF_CGROUP1 2
#define LC_ENF_RLIMIT 3

typedef struct lc_enforce {
    int memory, pids, cpus; /* LC_ENF_* */
} lc_enforce_t;

/* The instance's configuration, and the settings of one create call (the
 * same keys: a create option overrides the configured value). */
typedef struct lc_conf {
    char *root;    /* ROOT (absolute, ~ expanded) */
    char *bwrap;   /* bwrap program: a path, or a name looked up in PATH */
    char *agent;   /* the agent binary on the host */
    char *runtime; /* "python", "node" or NULL (detect per run_code) */
    char *python;  /* interpreter paths inside the sandbox */
    char *node;
    int network;
    lc_limits_t lim;
    uint64_t sandbox_timeout_ms; /* 0 = the sandbox never expires */
    /* run_as: the host user bwrap runs as when the plugin runs as root
     * (default nobody); ignored otherwise.  Never 0. */
    uid_t run_uid;
    gid_t run_gid;
} lc_conf_t;

/* One sandbox, as its meta file describes it. */
typedef struct lc_sandbox {
    char id[LC_ID_LEN + 1];
    char *dir;   /* ROOT/sandboxes/ID */
    char *state; /* "creating" or "running" */
    uint64_t created_ms;
    uint64_t expires_ms; /* 0 = never */
    char *runtime;       /* may be NULL */
    char *python, *node;
    int network;
    char *name, *namespace_; /* both or neither */
    char *source;            /* template/snapshot it came from, or NULL */
    lc_limits_t lim;
    lc_enforce_t enf;
    lc_pairs_t env;     /* the environment of every command */
    lc_pairs_t meta;    /* user metadata */
    lc_pairs_t cgroups; /* controller -> cgroup directory to remove */
    /* Not saved: the v1 cgroups were made before bwrap started and the
     * trampoline moves itself in (lc_limits_prepare). */
    int cg_v1_early;
    int64_t bwrap_pid;  /* the bwrap monitor, 0 before it started */
    uint64_t bwrap_start; /* its start time (/proc/PID/stat field 22) */
    char *boot_id;
    /* The sandbox runs as host user run_uid:run_gid (created by root):
     * its directories and every file the host writes into them belong to
     * that user.  Otherwise it runs as its creator and nothing is
     * chowned. */
    int run_as;
    uid_t run_uid;
    gid_t run_gid;
} lc_sandbox_t;

typedef struct lc_state {
    const csdk_host_t *host;
    csdk_instance_t *inst;
    char *instance; /* the [provider.NAME] NAME */
    lc_conf_t conf;
    char boot_id[64];
    pid_t *children; /* bwrap monitors this process started: reaped with
                        WNOHANG so a long-lived host keeps no zombies */
    size_t n_children;
    uint64_t last_reap_ms;
    int as_root;        /* effective uid 0 at init: sandboxes run as run_as */
    char *bwrap_probed; /* the bwrap whose --help was read, or NULL */
    int bwrap_features; /* LC_BW_* of bwrap_probed */
} lc_state_t;

/* Options of the installed bwrap, from its --help (read once). */
#define LC_BW_DISABLE_USERNS 0x1
#define LC_BW_SIZE 0x2
#define LC_BW_PERMS 0x4

/* ------------------------------------------------------------------ */
/* util.c                                                              */
/* ------------------------------------------------------------------ */

char *lc_strdup(const char *s); /* NULL stays NULL */
char *lc_printf(const char *fmt, ...) LC_PRINTF(1, 2);
char *lc_join(const char *dir, const char *name);

int lc_pairs_set(lc_pairs_t *p, const char *key, const char *value);
const char *lc_pairs_get(const lc_pairs_t *p, const char *key);
void lc_pairs_free(lc_pairs_t *p);

/* A growing byte buffer. */
typedef struct lc_buf {
    char *data;
    size_t len, cap;
    int failed;
} lc_buf_t;
void lc_buf_add(lc_buf_t *b, const void *data, size_t len);
void lc_buf_str(lc_buf_t *b, const char *s);
void lc_buf_printf(lc_buf_t *b, const char *fmt, ...) LC_PRINTF(2, 3);
void lc_buf_free(lc_buf_t *b);

/* %-escape '%', '\n', '\r' (and '=' when `is_key`) for the meta file. */
void lc_buf_escaped(lc_buf_t *b, const char *s, int is_key);
/* Undo lc_buf_escaped in place; -1 on a malformed escape. */
int lc_unescape(char *s);

int lc_parse_u64(const char *s, uint64_t *out);
void lc_random_hex(char *out, size_t nhex); /* writes nhex digits + NUL */

int lc_mkdir_p(const char *path, mode_t mode);
/* Remove `name` under `dirfd` (a file or a whole tree) without following
 * any symlink.  Missing is success.  Returns 0 or -1 (errno). */
int lc_remove_at(int dirfd, const char *name);
int lc_remove_tree(const char *path);
/* Write `len` bytes to `path` through path.tmp + rename. */
int lc_write_atomic(const char *path, const void *data, size_t len,
                    mode_t mode);
/* Read a whole (small) file; NUL-terminated.  -1 with errno. */
int lc_read_small(const char *path, char **out, size_t *len, size_t max);

/* Process start time from /proc/PID/stat and its state letter.  -1 when
 * the process does not exist. */
int lc_proc_stat(pid_t pid, uint64_t *start, char *state);
/* Non-zero if `pid` is alive (not a zombie) with start time `start`. */
int lc_proc_matches(pid_t pid, uint64_t start);

/* ------------------------------------------------------------------ */
/* sandbox.c                                                           */
/* ------------------------------------------------------------------ */

void lc_sandbox_free(lc_sandbox_t *sb);
int lc_valid_id(const char *id, const char *prefix);
char *lc_sandbox_dir(const lc_state_t *st, const char *id);
/* `id` without a leading "INSTANCE:" (users paste whole ids). */
const char *lc_native_id(const lc_state_t *st, const char *id);
/* Write sb's meta file (atomically). */
int lc_meta_save(const lc_sandbox_t *sb);
/* Load a sandbox by id: CSDK_E_NOT_FOUND for an unknown id (no error
 * recorded when `quiet`). */
csdk_status_t lc_sandbox_load(lc_state_t *st, csdk_call_t *call,
                              const char *id, lc_sandbox_t **out, int quiet);
/* Load for a per-sandbox slot: strips "INSTANCE:", reaps an expired or
 * dead sandbox and reports NOT_FOUND for it. */
csdk_status_t lc_lookup(lc_state_t *st, csdk_call_t *call, const char *id,
                        lc_sandbox_t **out);
int lc_sandbox_alive(const lc_state_t *st, const lc_sandbox_t *sb);
int lc_sandbox_expired(const lc_state_t *st, const lc_sandbox_t *sb);
/* Report the record of `sb` (status from a PING when `ping`, else from
 * the bwrap pid); with `detail` add the info metadata. */
csdk_status_t lc_report(lc_state_t *st, csdk_call_t *call,
                        const lc_sandbox_t *sb, int ping, int detail);
csdk_status_t lc_sandbox_create(lc_state_t *st, csdk_call_t *call,
                                const lc_conf_t *conf,
                                const csdk_create_opts_t *opts,
                                const char *ns, const char *name,
                                lc_sandbox_t **out);
/* Stop and remove a sandbox (idempotent). */
void lc_sandbox_destroy(lc_state_t *st, lc_sandbox_t *sb, int graceful);
void lc_reap_all(lc_state_t *st);
void lc_reap_children(lc_state_t *st);
int lc_track_child(lc_state_t *st, pid_t pid);
char *lc_name_key(const char *ns, const char *name);

/* ------------------------------------------------------------------ */
/* saved.c                                                             */
/* ------------------------------------------------------------------ */

#define LC_SAVED_TEMPLATE 0
#define LC_SAVED_SNAPSHOT 1

csdk_status_t lc_saved_create(lc_state_t *st, csdk_call_t *call, int kind,
                              const char *sandbox_id, const char *name);
csdk_status_t lc_saved_list(lc_state_t *st, csdk_call_t *call, int kind);
csdk_status_t lc_saved_delete(lc_state_t *st, csdk_call_t *call, int kind,
                              const char *id);
/* Fill a new sandbox's ws/ and home/ from saved state `id` (either kind);
 * `sb` gets its runtime and env where it has none. */
csdk_status_t lc_saved_apply(lc_state_t *st, csdk_call_t *call,
                             const char *id, lc_sandbox_t *sb,
                             int keep_runtime);
/* Copy the tree at srcfd into dstfd (both directories): regular files by
 * FICLONE, else copy_file_range, else read/write; symlinks as symlinks;
 * modes and mtimes kept; anything else skipped.  Every copy is owned by
 * uid:gid unless uid is (uid_t)-1 (then by the caller).  Never follows a
 * symlink.  Returns 0 or -1 (errno). */
int lc_clone_tree(int srcfd, int dstfd, uid_t uid, gid_t gid);

/* ------------------------------------------------------------------ */
/* spawn.c                                                             */
/* ------------------------------------------------------------------ */

/* Write STATE/etc, start bwrap with the agent, put it in its cgroups and
 * let it run.  Sets sb->bwrap_pid/bwrap_start and the enforcement. */
csdk_status_t lc_spawn_sandbox(lc_state_t *st, csdk_call_t *call,
                               lc_sandbox_t *sb, const lc_conf_t *conf);

/* ------------------------------------------------------------------ */
/* limits.c                                                            */
/* ------------------------------------------------------------------ */

/* Create cgroups for sb (recorded in sb->cgroups and sb->enf), move
 * `pid` into them.  What cannot be done by cgroups falls back to rlimits
 * (memory, cpus) or none (pids).  Never fails the create. */
void lc_limits_apply(lc_state_t *st, lc_sandbox_t *sb, pid_t pid);
/* As root (the trampoline starts bwrap), before it starts: when the
 * limits go to cgroup v1, make sb's cgroups with their limits (recorded
 * in sb->cgroups and sb->enf) for the trampoline to enter with
 * --cgroup-tasks; lc_limits_apply then moves nothing. */
void lc_limits_prepare(lc_state_t *st, lc_sandbox_t *sb);
/* Kill what is left in sb's cgroups and remove them. */
void lc_limits_remove(lc_state_t *st, const lc_sandbox_t *sb);
/* "cgroup1:512MiB" etc. for info; malloc'd. */
char *lc_limit_describe(const lc_sandbox_t *sb, const char *which);
const char *lc_enf_name(int enf);

/* ------------------------------------------------------------------ */
/* client.c                                                            */
/* ------------------------------------------------------------------ */

/* Create, bind and listen on STATE/ctl.sock (CLOEXEC); -1 with errno. */
int lc_agent_listen(const char *dir);
/* Connect to sb's agent; -1 with errno (ECONNREFUSED, ENOENT: gone). */
int lc_agent_connect(const lc_sandbox_t *sb, unsigned timeout_ms);
/* PING: 0 when the agent answered within timeout_ms, else -1. */
int lc_agent_ping(const lc_sandbox_t *sb, unsigned timeout_ms);
/* A request answered by OK (SHUTDOWN, EXTEND, KILL).  0, or -1. */
int lc_agent_simple(const lc_sandbox_t *sb, uint16_t type, uint16_t key,
                    uint64_t value, unsigned timeout_ms);

/* Where a command's output goes. */
typedef int lc_sink_fn(void *ud, int stream, const void *data, size_t len);

typedef struct lc_exec {
    const char *const *argv;
    const lc_pairs_t *env;     /* full environment */
    const char *cwd;           /* absolute, inside the sandbox */
    const void *stdin_data;
    size_t stdin_len;
    uint64_t timeout_ms;       /* 0 = none */
    uint64_t max_output;       /* per stream; 0 = no cap */
    int background;
    int notice_truncation;     /* say on stderr when the output was cut */
    lc_sink_fn *sink;          /* returns non-zero to cancel */
    void *sink_ud;
} lc_exec_t;

typedef struct lc_exec_result {
    int64_t pid;
    int32_t exit_code;
    uint32_t flags; /* CSDK_RESULT_* */
    int64_t duration_ms;
} lc_exec_result_t;

/* Run a command through the agent.  CSDK_OK with *res filled when it ran
 * (whatever its exit code); CSDK_E_CANCELLED when the sink asked to stop;
 * CSDK_E_TIMEOUT when the call's deadline passed. */
csdk_status_t lc_exec_run(lc_state_t *st, csdk_call_t *call,
                          const lc_sandbox_t *sb, const lc_exec_t *ex,
                          lc_exec_result_t *res);
/* The environment of a command: base, sandbox env, call env. */
int lc_exec_env(const lc_sandbox_t *sb, const csdk_kv_t *env, size_t n_env,
                lc_pairs_t *out);

/* ------------------------------------------------------------------ */
/* fs.c                                                                */
/* ------------------------------------------------------------------ */

csdk_status_t lc_fs_read(lc_state_t *st, csdk_call_t *call,
                         const lc_sandbox_t *sb, const char *path);
csdk_status_t lc_fs_write(lc_state_t *st, csdk_call_t *call,
                          const lc_sandbox_t *sb, const char *path,
                          const void *data, size_t len);
csdk_status_t lc_fs_mkdir(lc_state_t *st, csdk_call_t *call,
                          const lc_sandbox_t *sb, const char *path);
csdk_status_t lc_fs_readdir(lc_state_t *st, csdk_call_t *call,
                            const lc_sandbox_t *sb, const char *path);
csdk_status_t lc_fs_exists(lc_state_t *st, csdk_call_t *call,
                           const lc_sandbox_t *sb, const char *path);
csdk_status_t lc_fs_remove(lc_state_t *st, csdk_call_t *call,
                           const lc_sandbox_t *sb, const char *path);
/* Create a file in the sandbox's /tmp from the host side (O_EXCL, never
 * through a symlink); returns its path inside the sandbox (malloc'd). */
csdk_status_t lc_fs_tmpfile(lc_state_t *st, csdk_call_t *call,
                            const lc_sandbox_t *sb, const char *suffix,
                            const void *data, size_t len, char **inner);
void lc_fs_tmpfile_remove(const lc_sandbox_t *sb, const char *inner);

/* The owner of what the host creates in sb's directories: sb's run_as
 * user, or (uid_t)-1 / (gid_t)-1 for "leave it to the creator". */
uid_t lc_owner_uid(const lc_sandbox_t *sb);
gid_t lc_owner_gid(const lc_sandbox_t *sb);

#endif /* CSDK_LOCAL_H */
