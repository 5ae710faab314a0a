/*
 * example.h - what the example provider's three files share.
 *
 *     example.c        the ABI side: the slots, the table, the entry point
 *                      (start reading there)
 *     example_state.c  the in-memory store, and the state_file that keeps
 *                      it from one process to the next
 *     example_shell.c  the toy command interpreter and the toy
 *                      python / node behind run_command and run_code
 *
 * Nothing declared here is exported: the plugin's only public symbol is
 * csdk_provider_entry (see the visibility pragma below).
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#ifndef EX_EXAMPLE_H
#define EX_EXAMPLE_H

#include <csdk/provider.h>

#include <stddef.h>
#include <stdint.h>

#define EX_MAX_SANDBOXES 1000
#define EX_WORKDIR "/workspace"
#define EX_DEFAULT_RUNTIME "python"
#define EX_FIRST_PID 100

/* The internal functions are shared between the files, so they cannot be
 * static; hide them even when the build forgets -fvisibility=hidden. */
#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility push(hidden)
#endif

/* ------------------------------------------------------------------ */
/* The instance's state                                                */
/* ------------------------------------------------------------------ */

/* An owned key/value pair (csdk_kv_t is borrowed, so we copy into this). */
typedef struct ex_pair {
    char *key;
    char *value;
} ex_pair_t;

/* A file: a normalised absolute path and counted bytes.  File contents are
 * never NUL-terminated strings: a file may hold any bytes. */
typedef struct ex_file {
    char *path;
    unsigned char *data;
    size_t len;
} ex_file_t;

typedef struct ex_sandbox {
    char *id;         /* "ex-<N>" */
    char *runtime;    /* "python", "node", ... */
    char *name;       /* set (with namespace_) by find_or_create, else NULL */
    char *namespace_;
    uint64_t created_ms;
    uint64_t timeout_ms;
    ex_pair_t *env;   /* the environment every command sees */
    size_t n_env;
    ex_pair_t *meta;  /* user metadata, reported with the record */
    size_t n_meta;
    ex_file_t *files;
    size_t n_files;
    int64_t next_pid; /* handles for background commands */
} ex_sandbox_t;

/*
 * What init hands the host as `*state`; the host passes it back to every
 * slot.  `host` and `inst` stay valid until fini returns, so keeping them
 * here is allowed (and is the only way fini can log).
 */
typedef struct ex_state {
    const csdk_host_t *host;
    csdk_instance_t *inst;
    char *instance;   /* the INI section's NAME, for messages */
    char *state_file; /* NULL: the sandboxes live only as long as the host */
    int dirty;        /* something changed since the state was loaded */
    uint64_t next_id;
    ex_sandbox_t **sbs;
    size_t n_sbs;
} ex_state_t;

/* Command and code output on its way to host->write(), with the caller's
 * cap applied (see ex_out_write). */
typedef struct ex_out {
    const csdk_host_t *host;
    csdk_call_t *call;
    uint64_t max;     /* cap per stream in bytes; 0 = no cap */
    uint64_t used[3]; /* bytes written per CSDK_STREAM_* */
    uint32_t flags;   /* CSDK_RESULT_* to report */
} ex_out_t;

/* One run_command or run_code call, as the interpreters see it. */
typedef struct ex_run {
    ex_state_t *st;
    ex_sandbox_t *sb;
    csdk_call_t *call;
    csdk_run_opts_t opts; /* the caller's options, normalised */
    char *cwd;            /* normalised working directory (run_command) */
    ex_out_t out;
    int exit_code;
} ex_run_t;

/* ------------------------------------------------------------------ */
/* example.c                                                           */
/* ------------------------------------------------------------------ */

/* host->error(call, CSDK_E_NOMEM, ...): for every failed allocation. */
csdk_status_t ex_nomem(const ex_state_t *st, csdk_call_t *call);

/* CSDK_E_CANCELLED, for when host->write() asked us to stop. */
csdk_status_t ex_stopped(const ex_state_t *st, csdk_call_t *call);

/* The sandbox with this id, or NULL. */
ex_sandbox_t *ex_sandbox_find(const ex_state_t *st, const char *id);

/* Write to a CSDK_STREAM_*, up to the cap.  Returns 0, or -1 when the host
 * asked us to stop. */
int ex_out_write(ex_out_t *o, int32_t stream, const void *data, size_t len);

/* ------------------------------------------------------------------ */
/* example_state.c: the in-memory store                                */
/* ------------------------------------------------------------------ */

/* Free the instance's state and every sandbox in it. */
void ex_state_free(ex_state_t *st);

/*
 * A new sandbox added to the instance: the next id, the runtime of `o`
 * (or the default), its timeout, and copies of its env and metadata (the
 * caller's are borrowed); named if `name` is not NULL.  NULL when out of
 * memory.
 */
ex_sandbox_t *ex_sandbox_new(ex_state_t *st, const csdk_create_opts_t *o,
                             const char *namespace_, const char *name);

/* The sandbox named (namespace_, name), or NULL. */
ex_sandbox_t *ex_sandbox_find_named(const ex_state_t *st,
                                   const char *namespace_, const char *name);

/* Remove and free the sandbox with this id.  Returns 1 if there was one,
 * else 0. */
int ex_sandbox_remove(ex_state_t *st, const char *id);

#define EX_PATH_OK 0
#define EX_PATH_DOTDOT (-1) /* a ".." component: refused */
#define EX_PATH_NOMEM (-2)

/*
 * Normalise `path` into a new string in *out: absolute (a relative path is
 * taken relative to `base`, itself normalised), no empty or "." parts, no
 * trailing slash; "/" for the root.  ".." is refused rather than resolved
 * so that a path can never mean something other than what it spells.
 * Returns EX_PATH_*.
 */
int ex_path_norm(const char *base, const char *path, char **out);

/* Normalise a path the caller gave (`what` names it: "path", "cwd") into
 * *out, relative to EX_WORKDIR.  Bad input is CSDK_E_INVALID_ARGUMENT,
 * reported on `call`. */
csdk_status_t ex_path_arg(ex_state_t *st, csdk_call_t *call, const char *what,
                          const char *path, char **out);

/* The file at normalised `path`, or NULL. */
ex_file_t *ex_file_find(const ex_sandbox_t *sb, const char *path);

/* Directories exist implicitly: the root, the working directory, and every
 * parent of a stored file.  There are no empty directories (no mkdir). */
int ex_is_dir(const ex_sandbox_t *sb, const char *path);

/* Store a copy of `data` (len bytes) as the file at normalised `path`,
 * replacing its contents or adding the file.  Takes ownership of `path`.
 * Returns 0, or -1 when out of memory. */
int ex_file_put(ex_sandbox_t *sb, char *path, const void *data, size_t len);

/* The path of a file that would be a parent directory of `path` (so
 * nothing can be written there), or NULL. */
const char *ex_file_parent(const ex_sandbox_t *sb, const char *path);

/* Remove the file at normalised `path`, or every file under directory
 * `path`.  Returns how many files went. */
size_t ex_files_remove(ex_sandbox_t *sb, const char *path);

/* A decimal number without sign or blanks.  Returns 0, or -1 if `s` is not
 * one or it does not fit. */
int ex_parse_u64(const char *s, uint64_t *out);

/* ------------------------------------------------------------------ */
/* example_state.c: the state_file                                     */
/* ------------------------------------------------------------------ */

/*
 * Set st->state_file from the configured `path` ("~/" means $HOME) and
 * load the sandboxes an earlier process saved there.  A missing file is
 * an empty state (the first run); a corrupt one is CSDK_E_CONFIG naming
 * the file and line, so init fails rather than silently dropping
 * sandboxes someone still pays for.
 */
csdk_status_t ex_state_open(ex_state_t *st, csdk_call_t *call,
                            const char *path);

/*
 * Save atomically (write a temporary file, then rename it over the state
 * file).  fini cannot fail, so a failure is logged, without the contents.
 */
void ex_state_save(ex_state_t *st);

/* ------------------------------------------------------------------ */
/* example_shell.c: the interpreters                                   */
/* ------------------------------------------------------------------ */

/*
 * Interpret r->opts.argv or r->opts.shell (exactly one is set) in r->cwd,
 * writing the output through r->out and setting r->exit_code.  Returns
 * CSDK_OK, or the status that ends the call (CSDK_E_CANCELLED,
 * CSDK_E_NOMEM).
 */
csdk_status_t ex_shell_run(ex_run_t *r);

#define EX_LANG_PYTHON 1
#define EX_LANG_NODE 2

/* EX_LANG_* for a language name, or 0 if the toy interpreter has none. */
int ex_code_lang(const char *name);

/*
 * Run `code` (len bytes) as EX_LANG_* code, writing its output through
 * r->out.  First every line is checked: if one does not parse, nothing
 * runs, its message is written to stderr as the language's interpreter
 * words it, and *bad_line is its number (else 0).  An uncaught exception
 * ends the run with r->exit_code 1.  Returns CSDK_OK, or the status that
 * ends the call (CSDK_E_CANCELLED, CSDK_E_NOMEM).
 */
csdk_status_t ex_code_run(ex_run_t *r, int lang, const char *code,
                          size_t len, size_t *bad_line);

#if defined(__GNUC__) || defined(__clang__)
#pragma GCC visibility pop
#endif

#endif /* EX_EXAMPLE_H */
