/*
 * csdk/provider.h - the csdk provider plugin ABI, version 1.0.
 *
 * This is the only header a provider plugin needs.  A plugin is a shared
 * object that exports exactly one function:
 *
 *     const csdk_provider_def_t *csdk_provider_entry(uint32_t host_abi);
 *
 * and returns a pointer to a `static const` table of function pointers,
 * built with designated initialisers:
 *
 *     static csdk_create_fn my_create;       // the compiler checks the type
 *     static const csdk_provider_def_t def = {
 *         .abi_version = CSDK_ABI_VERSION,
 *         .struct_size = sizeof(csdk_provider_def_t),
 *         .name = "my", .version = "1.0.0",
 *         .create = my_create, ...
 *     };
 *
 * Stability rules (they are what lets a plugin built today load in a host
 * built years from now, and the other way round):
 *  - Every versioned struct starts with its ABI version and/or struct_size.
 *    The host refuses another major version, copies min(struct_size,
 *    sizeof) bytes of the plugin's table into a zeroed copy, and so accepts
 *    tables from older and newer minors alike.
 *  - Fields and slots are only ever appended, each marked "since 1.N".  A
 *    changed signature becomes a new slot with a _v2 suffix; the old slot
 *    stays.
 *  - Status codes and field keys are only ever appended, never renumbered.
 *  - Only <stdint.h>/<stddef.h> types and pointers cross the boundary: no
 *    enums in structs, no bool, no long, no third-party types.
 *  - The host owns all output memory.  Inputs are borrowed for the duration
 *    of the call; a plugin that needs one later copies it.  A plugin returns
 *    data only through the host's upcalls on the call context, never by
 *    returning heap pointers.
 *
 * Threads: init and fini are called from one thread with no other call in
 * flight on that instance.  Other slots are called from any thread, but
 * never concurrently on one instance unless the table sets
 * CSDK_PROVIDER_THREAD_SAFE.  Host upcalls may be called from any thread
 * while the call that received the csdk_call_t is in progress, and not
 * after it returns (log() is the exception: valid from init until fini).
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#ifndef CSDK_PROVIDER_H
#define CSDK_PROVIDER_H

#include <stddef.h>
#include <stdint.h>
#include <string.h> /* csdk_opts_read */

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Versions                                                            */
/* ------------------------------------------------------------------ */

#define CSDK_ABI_MAJOR 1
#define CSDK_ABI_MINOR 0
/* major << 16 | minor: what abi_version fields hold. */
#define CSDK_ABI_VERSION ((uint32_t)((CSDK_ABI_MAJOR << 16) | CSDK_ABI_MINOR))
#define CSDK_ABI_VERSION_MAJOR(v) ((uint32_t)(v) >> 16)
#define CSDK_ABI_VERSION_MINOR(v) ((uint32_t)(v) & 0xffffu)

/* The name of the entry symbol, and its type. */
#define CSDK_PROVIDER_ENTRY "csdk_provider_entry"

#if defined(__GNUC__) || defined(__clang__)
#define CSDK_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#define CSDK_EXPORT __attribute__((visibility("default")))
#else
#define CSDK_PRINTF(fmt, args)
#define CSDK_EXPORT
#endif

/* ------------------------------------------------------------------ */
/* Status codes (append-only; values are part of the ABI)              */
/* ------------------------------------------------------------------ */

/*
 * A command that runs and exits non-zero is NOT an error: it is a result
 * with an exit code.  Statuses describe failures of the operation itself.
 */
typedef int32_t csdk_status_t;

#define CSDK_OK 0
#define CSDK_E_NOT_SUPPORTED 1    /* the provider cannot do this */
#define CSDK_E_INVALID_ARGUMENT 2 /* the caller's input is wrong */
#define CSDK_E_NOT_FOUND 3        /* no such sandbox, file, template... */
#define CSDK_E_AUTH 4             /* credentials missing or refused */
#define CSDK_E_PERMISSION 5       /* authenticated but not allowed */
#define CSDK_E_RATE_LIMITED 6     /* try again after retry-after */
#define CSDK_E_QUOTA 7            /* an account limit was reached */
#define CSDK_E_TIMEOUT 8          /* the deadline passed */
#define CSDK_E_CONNECTION 9       /* the backend could not be reached */
#define CSDK_E_PROTOCOL 10        /* the backend answered nonsense */
#define CSDK_E_CONFLICT 11        /* already exists / state conflict */
#define CSDK_E_CONFIG 12          /* bad configuration */
#define CSDK_E_SYNTAX 13          /* run_code: the code does not parse */
#define CSDK_E_NOMEM 14           /* out of memory */
#define CSDK_E_ABI 15             /* plugin/host ABI mismatch */
#define CSDK_E_INTERNAL 16        /* a bug */
#define CSDK_E_CANCELLED 17       /* the caller asked to stop */
#define CSDK_E_UNAVAILABLE 18     /* transient backend failure (5xx) */
#define CSDK_E_IO 19              /* local I/O failed */
/* Next code: 20.  Never renumber. */

/* ------------------------------------------------------------------ */
/* Opaque host objects                                                 */
/* ------------------------------------------------------------------ */

/*
 * One csdk_call_t exists per call into a plugin slot.  It is the plugin's
 * only channel for output, errors and deadlines during that call.  It is
 * owned by the host and invalid once the slot returns.
 */
typedef struct csdk_call csdk_call_t;

/* One csdk_instance_t per configured provider instance; valid from init
 * until fini returns.  Used for logging outside a call. */
typedef struct csdk_instance csdk_instance_t;

/* ------------------------------------------------------------------ */
/* Plain data crossing the boundary                                    */
/* ------------------------------------------------------------------ */

/* A borrowed key/value pair: both NUL-terminated, valid for the call. */
typedef struct csdk_kv {
    const char *key;
    const char *value;
} csdk_kv_t;

/* Output streams for host->write(). */
#define CSDK_STREAM_DATA 0   /* file contents (read_file) */
#define CSDK_STREAM_STDOUT 1 /* command/code standard output */
#define CSDK_STREAM_STDERR 2 /* command/code standard error */

/* Log levels for host->log(). */
#define CSDK_LOG_ERROR 0
#define CSDK_LOG_WARN 1
#define CSDK_LOG_INFO 2
#define CSDK_LOG_DEBUG 3

/*
 * Field keys for host->set_int() and host->set_str().  Each method's
 * documentation lists the fields it reports.  Append-only.
 */
#define CSDK_F_ID 1          /* str: the provider's id of a sandbox,
                                template or snapshot */
#define CSDK_F_STATUS 2      /* str: "running", "stopped", "creating",
                                "error", or provider-specific */
#define CSDK_F_RUNTIME 3     /* str: "python", "node", ... */
#define CSDK_F_CREATED_MS 4  /* int: creation time, ms since the epoch */
#define CSDK_F_TIMEOUT_MS 5  /* int: sandbox lifetime in ms, 0 = none */
#define CSDK_F_NAME 6        /* str: a sandbox's or template's name */
#define CSDK_F_NAMESPACE 7   /* str: a named sandbox's namespace */
#define CSDK_F_URL 8         /* str: url(port) result */
#define CSDK_F_EXIT_CODE 9   /* int: a command's exit status */
#define CSDK_F_PID 10        /* int: a background command's pid/handle */
#define CSDK_F_RESULT_FLAGS 11 /* int: CSDK_RESULT_* bits */
#define CSDK_F_DURATION_MS 12  /* int: how long a command ran */
#define CSDK_F_FILE_TYPE 13  /* int: CSDK_FILE_* */
#define CSDK_F_SIZE 14       /* int: bytes */
#define CSDK_F_MTIME_MS 15   /* int: modification time, ms since epoch */
#define CSDK_F_EXISTS 16     /* int: 1 or 0 (exists) */
#define CSDK_F_CREATED 17    /* int: 1 if find_or_create created it */
#define CSDK_F_EXPIRES_MS 18 /* int: expiry, ms since the epoch */
/* Next field: 19. */

/* Bits of CSDK_F_RESULT_FLAGS. */
#define CSDK_RESULT_TIMED_OUT 0x1u /* killed at its timeout */
#define CSDK_RESULT_TRUNCATED 0x2u /* output exceeded max_output */
#define CSDK_RESULT_SYNTAX 0x4u    /* run_code: code did not parse */

/* Values of CSDK_F_FILE_TYPE. */
#define CSDK_FILE_REGULAR 1
#define CSDK_FILE_DIRECTORY 2
#define CSDK_FILE_SYMLINK 3
#define CSDK_FILE_OTHER 4

/* ------------------------------------------------------------------ */
/* Options structs (each begins with struct_size)                      */
/* ------------------------------------------------------------------ */

/*
 * Plugins must read a field only if struct_size shows the caller's struct
 * has it: CSDK_HAS_FIELD(csdk_run_opts_t, opts, max_output).  Fields the
 * caller's struct lacks count as zero.
 */
#define CSDK_HAS_FIELD(type, p, field)                                    \
    ((p)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/*
 * Read a caller's options struct into a full-size copy of this header's
 * version: fields the caller's (older, smaller) struct lacks become zero,
 * a newer caller's extra fields are dropped, and dst->struct_size is set
 * to dst_size.  Afterwards every field of *dst can be read without
 * CSDK_HAS_FIELD.  `src` may be NULL (all zero).  Both structs must start
 * with uint32_t struct_size, as every csdk options struct does.
 */
static inline void csdk_opts_read(void *dst, size_t dst_size, const void *src)
{
    uint32_t n = 0, size32 = (uint32_t)dst_size;

    memset(dst, 0, dst_size);
    if (src != NULL) {
        memcpy(&n, src, sizeof n);
        memcpy(dst, src, n < dst_size ? n : dst_size);
    }
    memcpy(dst, &size32, sizeof size32);
}

/* Bits of csdk_create_opts_t.flags. */
#define CSDK_CREATE_NETWORK 0x1u /* give the sandbox network access */

/* Options for create and find_or_create.  The host always passes a
 * struct (zeroed when the caller gave none); its pointer fields may be
 * NULL. */
typedef struct csdk_create_opts {
    uint32_t struct_size;     /* sizeof(csdk_create_opts_t) as the caller
                                 compiled it */
    uint32_t flags;           /* CSDK_CREATE_* */
    const char *runtime;      /* "python", "node", ...; NULL = default */
    const char *template_id;  /* create from this template or snapshot */
    uint64_t timeout_ms;      /* sandbox lifetime; 0 = provider default */
    const csdk_kv_t *env;     /* environment for every command */
    size_t n_env;
    const csdk_kv_t *metadata; /* user labels, kept with the sandbox */
    size_t n_metadata;
    const csdk_kv_t *extra;   /* provider-specific create options (the
                                 same keys as the plugin's config); a
                                 plugin rejects keys it does not know with
                                 CSDK_E_INVALID_ARGUMENT */
    size_t n_extra;
} csdk_create_opts_t;

/* Bits of csdk_run_opts_t.flags. */
#define CSDK_RUN_BACKGROUND 0x1u /* start and return at once with a pid */

/*
 * Options for run_command and run_code.  run_command takes exactly one of
 * argv (NULL-terminated, run without a shell) or shell (a string for
 * "sh -c").  run_code ignores argv and shell.  The host always passes a
 * struct to run_code (zeroed when the caller gave none).
 */
typedef struct csdk_run_opts {
    uint32_t struct_size;
    uint32_t flags;             /* CSDK_RUN_* */
    const char *const *argv;    /* NULL-terminated argument vector */
    const char *shell;          /* shell command string */
    const char *cwd;            /* working directory; NULL = default */
    const csdk_kv_t *env;       /* added to the sandbox's environment */
    size_t n_env;
    const void *stdin_data;     /* bytes for standard input */
    size_t stdin_len;
    uint64_t timeout_ms;        /* kill the command after this; 0 = none */
    uint64_t max_output;        /* cap per stream in bytes; 0 = the
                                   provider's default (its documented cap,
                                   or none); past it, drop the rest and set
                                   CSDK_RESULT_TRUNCATED */
} csdk_run_opts_t;

/* ------------------------------------------------------------------ */
/* The host upcall table                                               */
/* ------------------------------------------------------------------ */

/*
 * Passed to init; valid until fini returns.  Versioned by struct_size:
 * before using an upcall added after 1.0, check
 * CSDK_HAS_FIELD(csdk_host_t, host, x).
 */
typedef struct csdk_host {
    uint32_t abi_version; /* the host's CSDK_ABI_VERSION */
    uint32_t struct_size; /* sizeof(csdk_host_t) in the host */

    /*
     * Record an error on the call and return `code`, so a slot can write
     *     return host->error(call, CSDK_E_NOT_FOUND, "no sandbox '%s'", id);
     * The message is one line saying what failed and how to fix it, with
     * no secrets; the host prefixes the provider and method.  A later
     * call replaces an earlier message.
     */
    csdk_status_t (*error)(csdk_call_t *call, csdk_status_t code,
                           const char *fmt, ...) CSDK_PRINTF(3, 4);

    /* With a transient failure (CSDK_E_RATE_LIMITED, CSDK_E_UNAVAILABLE,
     * CSDK_E_CONNECTION): wait at least this long before retrying (a
     * server's Retry-After).  The host's retry policy honours it. */
    void (*retry_after)(csdk_call_t *call, uint64_t ms);

    /*
     * Append bytes to an output stream (CSDK_STREAM_*).  The host copies
     * them or hands them to the caller's callback at once (streaming).
     * Returns 0 to go on; non-zero means the caller wants the call to stop:
     * the plugin should end the operation and return CSDK_E_CANCELLED.
     */
    int32_t (*write)(csdk_call_t *call, int32_t stream, const void *data,
                     size_t len);

    /* Set a field (CSDK_F_*) of the current record.  Returns 0, or
     * non-zero when the host is out of memory. */
    int32_t (*set_int)(csdk_call_t *call, uint32_t field, int64_t value);
    int32_t (*set_str)(csdk_call_t *call, uint32_t field, const char *value);

    /* Add user metadata (key=value) to the current record. */
    int32_t (*set_meta)(csdk_call_t *call, const char *key,
                        const char *value);

    /*
     * Begin a new record for list-like results (list, readdir,
     * template_list, snapshot_list).  Fields set afterwards belong to it.
     * Single-record results (get, info, create...) do not call this.
     */
    int32_t (*next_record)(csdk_call_t *call);

    /* Milliseconds left before the call's deadline, or UINT64_MAX when it
     * has none.  Long operations pass it on to their backend. */
    uint64_t (*remaining_ms)(csdk_call_t *call);

    /* Non-zero once the caller has cancelled or the deadline has passed.
     * The plugin then stops and returns CSDK_E_TIMEOUT if remaining_ms()
     * is 0 (the deadline), else CSDK_E_CANCELLED. */
    int32_t (*cancelled)(csdk_call_t *call);

    /* Log a line at CSDK_LOG_*.  The host prefixes the instance name and
     * filters by level.  Never log secrets. */
    void (*log)(csdk_instance_t *inst, int32_t level, const char *fmt, ...)
        CSDK_PRINTF(3, 4);

    /* Wall-clock and monotonic time in ms (the host's clock, so tests can
     * control it). */
    uint64_t (*now_ms)(void);
    uint64_t (*monotonic_ms)(void);
} csdk_host_t;

/* ------------------------------------------------------------------ */
/* Slot types                                                          */
/* ------------------------------------------------------------------ */

/*
 * init: called once per configured instance ([provider.NAME] section),
 * before any other slot, single-threaded.  `config` holds the section's
 * keys that the host does not reserve, in file order; reject unknown keys
 * with CSDK_E_CONFIG naming the key.  Set *state to the instance's state
 * (may be NULL); it is passed to every other slot.  `host` and `inst` stay
 * valid until fini returns.  On failure, return the status through
 * host->error(call, ...); fini is not called.
 */
typedef csdk_status_t csdk_init_fn(const csdk_host_t *host,
                                   csdk_instance_t *inst,
                                   const char *instance_name,
                                   const csdk_kv_t *config, size_t n_config,
                                   csdk_call_t *call, void **state);

/* fini: release everything init made.  Called once, single-threaded, with
 * no call in flight.  Cannot fail: report trouble (a state file that could
 * not be saved) with host->log at CSDK_LOG_ERROR. */
typedef void csdk_fini_fn(void *state);

/*
 * create: make a sandbox and report its record: CSDK_F_ID (required),
 * CSDK_F_STATUS, CSDK_F_RUNTIME, CSDK_F_CREATED_MS, CSDK_F_TIMEOUT_MS,
 * metadata.  Never retried by the host.
 */
typedef csdk_status_t csdk_create_fn(void *state, csdk_call_t *call,
                                     const csdk_create_opts_t *opts);

/* get / info: report the sandbox's record (fields as create).  An unknown
 * id is CSDK_E_NOT_FOUND.  Idempotent.  info may add provider detail. */
typedef csdk_status_t csdk_get_fn(void *state, csdk_call_t *call,
                                  const char *id);
typedef csdk_get_fn csdk_info_fn;

/* list: one next_record() then fields per sandbox of this provider. */
typedef csdk_status_t csdk_list_fn(void *state, csdk_call_t *call);

/* destroy: stop and remove the sandbox.  Idempotent: an unknown or
 * already-destroyed id is CSDK_OK. */
typedef csdk_status_t csdk_destroy_fn(void *state, csdk_call_t *call,
                                      const char *id);

/*
 * run_command: run opts->argv or opts->shell in the sandbox.  Stream output
 * through host->write(CSDK_STREAM_STDOUT/STDERR) as it arrives; report
 * CSDK_F_EXIT_CODE, CSDK_F_DURATION_MS and CSDK_F_RESULT_FLAGS.  A non-zero
 * exit is CSDK_OK.  With CSDK_RUN_BACKGROUND, start the command, report
 * CSDK_F_PID, and return without waiting.  Not retried.
 */
typedef csdk_status_t csdk_run_command_fn(void *state, csdk_call_t *call,
                                          const char *id,
                                          const csdk_run_opts_t *opts);

/*
 * run_code: run `code` (len bytes) in `language` ("python", "node"; NULL =
 * the sandbox's runtime or detection).  As run_command; code that does not
 * parse returns CSDK_E_SYNTAX (with the interpreter's message written to
 * stderr and CSDK_RESULT_SYNTAX set), while a run-time error is CSDK_OK
 * with a non-zero exit code.  `code` is counted bytes, not NUL-terminated.
 * With CSDK_RUN_BACKGROUND, start it and report CSDK_F_PID, as
 * run_command.
 */
typedef csdk_status_t csdk_run_code_fn(void *state, csdk_call_t *call,
                                       const char *id, const char *code,
                                       size_t code_len, const char *language,
                                       const csdk_run_opts_t *opts);

/* url: report CSDK_F_URL for `port` ("http", "https", "ws"...; NULL =
 * "http").  CSDK_E_NOT_SUPPORTED with a reason when not reachable. */
typedef csdk_status_t csdk_url_fn(void *state, csdk_call_t *call,
                                  const char *id, uint32_t port,
                                  const char *protocol);

/* Filesystem.  Paths are NUL-terminated; contents are counted bytes.
 * read_file writes the contents to CSDK_STREAM_DATA (a missing file is
 * CSDK_E_NOT_FOUND).  write_file creates or replaces the file, making
 * parent directories.  mkdir makes parents as needed.  readdir gives one
 * record per entry: CSDK_F_NAME, CSDK_F_FILE_TYPE, CSDK_F_SIZE,
 * CSDK_F_MTIME_MS.  exists reports CSDK_F_EXISTS.  remove deletes a file
 * or a directory tree; a missing path is CSDK_OK. */
typedef csdk_status_t csdk_read_file_fn(void *state, csdk_call_t *call,
                                        const char *id, const char *path);
typedef csdk_status_t csdk_write_file_fn(void *state, csdk_call_t *call,
                                         const char *id, const char *path,
                                         const void *data, size_t len);
typedef csdk_read_file_fn csdk_mkdir_fn;
typedef csdk_read_file_fn csdk_readdir_fn;
typedef csdk_read_file_fn csdk_exists_fn;
typedef csdk_read_file_fn csdk_remove_fn;

/* Named sandboxes.  find reports the record of the live sandbox named
 * (namespace, name), or CSDK_E_NOT_FOUND.  find_or_create returns the
 * existing one or creates it, atomically with respect to concurrent
 * callers, and sets CSDK_F_CREATED.  extend_timeout adds ms to the
 * sandbox's remaining lifetime and reports CSDK_F_EXPIRES_MS. */
typedef csdk_status_t csdk_find_fn(void *state, csdk_call_t *call,
                                   const char *namespace_, const char *name);
typedef csdk_status_t csdk_find_or_create_fn(void *state, csdk_call_t *call,
                                             const char *namespace_,
                                             const char *name,
                                             const csdk_create_opts_t *opts);
typedef csdk_status_t csdk_extend_timeout_fn(void *state, csdk_call_t *call,
                                             const char *id, uint64_t ms);

/* Templates and snapshots: save a sandbox's state under `name` (may be
 * NULL) and report CSDK_F_ID; list one record each (CSDK_F_ID,
 * CSDK_F_NAME, CSDK_F_CREATED_MS); delete by id (unknown id: NOT_FOUND).
 * A template or snapshot id may be passed as create's template_id. */
typedef csdk_status_t csdk_save_fn(void *state, csdk_call_t *call,
                                   const char *sandbox_id, const char *name);
typedef csdk_list_fn csdk_saved_list_fn;
typedef csdk_destroy_fn csdk_saved_delete_fn;
typedef csdk_save_fn csdk_template_create_fn;
typedef csdk_saved_list_fn csdk_template_list_fn;
typedef csdk_saved_delete_fn csdk_template_delete_fn;
typedef csdk_save_fn csdk_snapshot_create_fn;
typedef csdk_saved_list_fn csdk_snapshot_list_fn;
typedef csdk_saved_delete_fn csdk_snapshot_delete_fn;

/* ------------------------------------------------------------------ */
/* The provider table                                                  */
/* ------------------------------------------------------------------ */

/* Bits of csdk_provider_def_t.flags. */
#define CSDK_PROVIDER_THREAD_SAFE 0x1u /* slots may run concurrently on one
                                          instance */

/*
 * What csdk_provider_entry returns.  Required slots: init, fini, create,
 * get, list, destroy, run_command, run_code, info, url (the last four may
 * answer CSDK_E_NOT_SUPPORTED with a reason).  Every other slot is
 * optional: leave it NULL and the host answers CSDK_E_NOT_SUPPORTED with
 * the standard message.  The table must stay valid until the plugin is
 * unloaded (make it static const).
 */
typedef struct csdk_provider_def {
    uint32_t abi_version; /* CSDK_ABI_VERSION the plugin was built with */
    uint32_t struct_size; /* sizeof(csdk_provider_def_t) in the plugin */
    const char *name;     /* [a-z0-9_-], 1..32 chars: "docker" */
    const char *version;  /* the plugin's own version: "1.2.0" */
    const char *description; /* one line, may be NULL */
    uint32_t flags;       /* CSDK_PROVIDER_* */
    uint32_t reserved;    /* zero */

    /* lifecycle (since 1.0) */
    csdk_init_fn *init;
    csdk_fini_fn *fini;
    /* collection (since 1.0) */
    csdk_create_fn *create;
    csdk_get_fn *get;
    csdk_list_fn *list;
    csdk_destroy_fn *destroy;
    /* instance (since 1.0) */
    csdk_run_command_fn *run_command;
    csdk_run_code_fn *run_code;
    csdk_info_fn *info;
    csdk_url_fn *url;
    /* filesystem, optional (since 1.0) */
    csdk_read_file_fn *read_file;
    csdk_write_file_fn *write_file;
    csdk_mkdir_fn *mkdir;
    csdk_readdir_fn *readdir;
    csdk_exists_fn *exists;
    csdk_remove_fn *remove;
    /* named sandboxes, optional (since 1.0) */
    csdk_find_fn *find;
    csdk_find_or_create_fn *find_or_create;
    csdk_extend_timeout_fn *extend_timeout;
    /* templates, optional (since 1.0) */
    csdk_template_create_fn *template_create;
    csdk_template_list_fn *template_list;
    csdk_template_delete_fn *template_delete;
    /* snapshots, optional (since 1.0) */
    csdk_snapshot_create_fn *snapshot_create;
    csdk_snapshot_list_fn *snapshot_list;
    csdk_snapshot_delete_fn *snapshot_delete;
    /* New slots go here, each marked "since 1.N". */
} csdk_provider_def_t;

/*
 * The entry point.  `host_abi` is the host's CSDK_ABI_VERSION; a plugin may
 * return NULL if it cannot work with that host (the host then refuses it
 * and says so).  Must not allocate, start threads or touch the network:
 * that belongs in init.
 */
typedef const csdk_provider_def_t *csdk_provider_entry_fn(uint32_t host_abi);

/* Declared here so a plugin's definition has a prototype; the host never
 * links against it (it looks the symbol up with dlsym). */
CSDK_EXPORT const csdk_provider_def_t *csdk_provider_entry(uint32_t host_abi);

#ifdef __cplusplus
}
#endif
#endif /* CSDK_PROVIDER_H */
