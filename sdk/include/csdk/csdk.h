/*
 * csdk/csdk.h - embed the csdk host (libcsdk) in a program.
 *
 * A csdk_t is a host: a parsed configuration plus every provider instance
 * it loaded.  Every sandbox operation goes through one dispatch path that
 * adds a deadline, retries with backoff for idempotent calls, a per-
 * instance rate limit, metrics and logging.
 *
 * Sandbox ids returned by this API have the form "INSTANCE:NATIVE" (e.g.
 * "example:sb-1"): the provider instance is recoverable from the id alone.
 *
 * Memory: every output struct is owned by the caller and released with the
 * matching csdk_*_clear / csdk_*_free function.  Strings in
 * csdk_provider_info_t are owned by the host and valid until csdk_close.
 *
 * Errors: every function returns a csdk_status_t (CSDK_OK on success) and,
 * when `err` is not NULL, fills it with the status, a one-line message
 * naming the provider, method and cause, and any retry-after.
 *
 * Threads: a csdk_t may be used from several threads at once after
 * csdk_open returns; calls into one provider instance are serialised unless
 * the plugin declares itself thread-safe.  csdk_close must not race with
 * any other call.
 */
#ifndef CSDK_CSDK_H
#define CSDK_CSDK_H

#include <csdk/provider.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct csdk csdk_t;

/* The library's version string, e.g. "0.1.0". */
CSDK_EXPORT const char *csdk_version(void);

/* "OK", "NOT_SUPPORTED", ...; "UNKNOWN" for codes this build lacks. */
CSDK_EXPORT const char *csdk_status_name(csdk_status_t code);

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

#define CSDK_ERROR_MAX 512

/* Caller-owned error buffer (as curl's CURLOPT_ERRORBUFFER). */
typedef struct csdk_error {
    csdk_status_t code;
    uint32_t reserved;
    uint64_t retry_after_ms;       /* with RATE_LIMITED/UNAVAILABLE, or 0 */
    char message[CSDK_ERROR_MAX];  /* one line, NUL-terminated */
} csdk_error_t;

/* ------------------------------------------------------------------ */
/* Opening a host                                                      */
/* ------------------------------------------------------------------ */

/* Receives each log line (no trailing newline).  NULL = stderr. */
typedef void csdk_log_fn(void *ud, int32_t level, const char *line);

typedef struct csdk_open_opts {
    uint32_t struct_size;   /* sizeof(csdk_open_opts_t) */
    int32_t log_level;      /* CSDK_LOG_*, or -1: the config's log_level */
    csdk_log_fn *log_fn;
    void *log_ud;
    const char *plugin_dir; /* overrides [host] plugin_dir when set */
} csdk_open_opts_t;

/*
 * Open a host.  `config_path` NULL searches $CSDK_CONFIG, then
 * $XDG_CONFIG_HOME/csdk/csdk.ini (~/.config/csdk/csdk.ini), then
 * SYSCONFDIR/csdk/csdk.ini, and with none uses the built-in default.  A
 * configuration error fails the open; a plugin that fails to load does
 * not (it is listed as refused, with the reason, and logged).  `opts` may
 * be NULL.
 */
CSDK_EXPORT csdk_status_t csdk_open(const char *config_path,
                                    const csdk_open_opts_t *opts,
                                    csdk_t **out, csdk_error_t *err);

/* As csdk_open, from INI text in memory; `origin` names it in errors. */
CSDK_EXPORT csdk_status_t csdk_open_string(const char *ini_text,
                                           const char *origin,
                                           const csdk_open_opts_t *opts,
                                           csdk_t **out, csdk_error_t *err);

/* fini every instance, unload every plugin, free everything.  NULL ok. */
CSDK_EXPORT void csdk_close(csdk_t *h);

/* The configuration file in use, or "(built-in default)". */
CSDK_EXPORT const char *csdk_config_origin(const csdk_t *h);

/* ------------------------------------------------------------------ */
/* Providers and capabilities                                          */
/* ------------------------------------------------------------------ */

/* Method indices, in the order of csdk_provider_def_t's slots after
 * fini.  Capability bit i is (1 << i). */
#define CSDK_M_CREATE 0
#define CSDK_M_GET 1
#define CSDK_M_LIST 2
#define CSDK_M_DESTROY 3
#define CSDK_M_RUN_COMMAND 4
#define CSDK_M_RUN_CODE 5
#define CSDK_M_INFO 6
#define CSDK_M_URL 7
#define CSDK_M_READ_FILE 8
#define CSDK_M_WRITE_FILE 9
#define CSDK_M_MKDIR 10
#define CSDK_M_READDIR 11
#define CSDK_M_EXISTS 12
#define CSDK_M_REMOVE 13
#define CSDK_M_FIND 14
#define CSDK_M_FIND_OR_CREATE 15
#define CSDK_M_EXTEND_TIMEOUT 16
#define CSDK_M_TEMPLATE_CREATE 17
#define CSDK_M_TEMPLATE_LIST 18
#define CSDK_M_TEMPLATE_DELETE 19
#define CSDK_M_SNAPSHOT_CREATE 20
#define CSDK_M_SNAPSHOT_LIST 21
#define CSDK_M_SNAPSHOT_DELETE 22
#define CSDK_M_COUNT 23

#define CSDK_CAP(m) ((uint64_t)1 << (m))

/* "create", "run_command", ... or NULL past CSDK_M_COUNT. */
CSDK_EXPORT const char *csdk_method_name(uint32_t method);

typedef struct csdk_provider_info {
    const char *name;        /* instance name: the INI section's NAME */
    const char *plugin;      /* path of the shared object */
    const char *plugin_name; /* the plugin's own name (NULL if refused) */
    const char *version;     /* the plugin's version (NULL if refused) */
    const char *description; /* may be NULL */
    uint32_t abi_version;    /* the plugin's ABI (0 if unknown) */
    int32_t loaded;          /* 1 ready, 0 refused or failed init */
    uint64_t caps;           /* CSDK_CAP(CSDK_M_*) bits of real methods */
    const char *error;       /* why it is not loaded, else NULL */
} csdk_provider_info_t;

CSDK_EXPORT size_t csdk_provider_count(const csdk_t *h);
/* Fill `out` for provider i (config order).  CSDK_E_NOT_FOUND past the
 * end. */
CSDK_EXPORT csdk_status_t csdk_provider_get(const csdk_t *h, size_t i,
                                            csdk_provider_info_t *out);
/* The default provider's instance name, or NULL when none is loaded. */
CSDK_EXPORT const char *csdk_default_provider(const csdk_t *h);

/* ------------------------------------------------------------------ */
/* Per-call options                                                    */
/* ------------------------------------------------------------------ */

/* Receives output as it arrives; return non-zero to cancel the call. */
typedef int32_t csdk_output_fn(void *ud, int32_t stream, const void *data,
                               size_t len);

#define CSDK_CALL_NO_WAIT 0x1u /* fail RATE_LIMITED instead of waiting */

typedef struct csdk_call_opts {
    uint32_t struct_size;  /* sizeof(csdk_call_opts_t) */
    uint32_t flags;        /* CSDK_CALL_* */
    uint64_t deadline_ms;  /* whole call incl. retries; 0 = instance's
                              timeout_ms */
    csdk_output_fn *on_output; /* stream instead of buffering */
    void *output_ud;
    /* When not NULL and *cancel becomes non-zero (from a signal handler or
     * another thread), the plugin sees host->cancelled() and stops; the
     * call returns CSDK_E_CANCELLED. */
    const volatile int32_t *cancel;
} csdk_call_opts_t;

/* ------------------------------------------------------------------ */
/* Results                                                             */
/* ------------------------------------------------------------------ */

typedef struct csdk_meta {
    char *key;
    char *value;
} csdk_meta_t;

typedef struct csdk_sandbox {
    char *id;        /* "INSTANCE:NATIVE" */
    char *provider;  /* instance name */
    char *status;    /* may be NULL */
    char *runtime;   /* may be NULL */
    char *name;      /* named sandboxes, else NULL */
    char *namespace_;
    int64_t created_ms, timeout_ms, expires_ms; /* 0 when unknown */
    int32_t created; /* find_or_create: 1 if it was created now */
    csdk_meta_t *metadata;
    size_t n_metadata;
} csdk_sandbox_t;

CSDK_EXPORT void csdk_sandbox_clear(csdk_sandbox_t *sb);
CSDK_EXPORT void csdk_sandbox_list_free(csdk_sandbox_t *sbs, size_t n);

typedef struct csdk_result {
    int32_t exit_code;
    uint32_t flags;        /* CSDK_RESULT_* */
    int64_t pid;           /* background commands, else 0 */
    int64_t duration_ms;
    char *out;             /* stdout, NUL-terminated for convenience; */
    size_t out_len;        /* NULL when streamed through on_output */
    char *err;
    size_t err_len;
} csdk_result_t;
/* out and err belong to the result: release them only with
 * csdk_result_clear (never free() them: empty output may be shared). */

CSDK_EXPORT void csdk_result_clear(csdk_result_t *r);

typedef struct csdk_dirent {
    char *name;
    int32_t type;          /* CSDK_FILE_* */
    int64_t size;
    int64_t mtime_ms;
} csdk_dirent_t;

CSDK_EXPORT void csdk_dirents_free(csdk_dirent_t *ents, size_t n);

/* A template or snapshot. */
typedef struct csdk_saved {
    char *id;              /* "INSTANCE:NATIVE" */
    char *name;
    int64_t created_ms;
} csdk_saved_t;

CSDK_EXPORT void csdk_saved_free(csdk_saved_t *items, size_t n);

/* ------------------------------------------------------------------ */
/* Sandbox operations                                                  */
/* ------------------------------------------------------------------ */
/* `copts` and `opts` may be NULL everywhere.  `provider` NULL = default. */

CSDK_EXPORT csdk_status_t csdk_create(csdk_t *h, const char *provider,
                                      const csdk_create_opts_t *opts,
                                      const csdk_call_opts_t *copts,
                                      csdk_sandbox_t *out, csdk_error_t *err);
CSDK_EXPORT csdk_status_t csdk_get(csdk_t *h, const char *id,
                                   const csdk_call_opts_t *copts,
                                   csdk_sandbox_t *out, csdk_error_t *err);
CSDK_EXPORT csdk_status_t csdk_info(csdk_t *h, const char *id,
                                    const csdk_call_opts_t *copts,
                                    csdk_sandbox_t *out, csdk_error_t *err);
/* provider NULL lists every loaded instance's sandboxes. */
CSDK_EXPORT csdk_status_t csdk_list(csdk_t *h, const char *provider,
                                    const csdk_call_opts_t *copts,
                                    csdk_sandbox_t **out, size_t *n,
                                    csdk_error_t *err);
CSDK_EXPORT csdk_status_t csdk_destroy(csdk_t *h, const char *id,
                                       const csdk_call_opts_t *copts,
                                       csdk_error_t *err);

CSDK_EXPORT csdk_status_t csdk_run_command(csdk_t *h, const char *id,
                                           const csdk_run_opts_t *opts,
                                           const csdk_call_opts_t *copts,
                                           csdk_result_t *res,
                                           csdk_error_t *err);
CSDK_EXPORT csdk_status_t csdk_run_code(csdk_t *h, const char *id,
                                        const char *code, size_t code_len,
                                        const char *language,
                                        const csdk_run_opts_t *opts,
                                        const csdk_call_opts_t *copts,
                                        csdk_result_t *res, csdk_error_t *err);
/* *url is malloc'd; free() it. */
CSDK_EXPORT csdk_status_t csdk_url(csdk_t *h, const char *id, uint32_t port,
                                   const char *protocol,
                                   const csdk_call_opts_t *copts, char **url,
                                   csdk_error_t *err);

/* *data is malloc'd (one extra NUL byte after len); free() it.  With
 * copts->on_output the contents stream as CSDK_STREAM_DATA instead. */
CSDK_EXPORT csdk_status_t csdk_read_file(csdk_t *h, const char *id,
                                         const char *path,
                                         const csdk_call_opts_t *copts,
                                         void **data, size_t *len,
                                         csdk_error_t *err);
CSDK_EXPORT csdk_status_t csdk_write_file(csdk_t *h, const char *id,
                                          const char *path, const void *data,
                                          size_t len,
                                          const csdk_call_opts_t *copts,
                                          csdk_error_t *err);
CSDK_EXPORT csdk_status_t csdk_mkdir(csdk_t *h, const char *id,
                                     const char *path,
                                     const csdk_call_opts_t *copts,
                                     csdk_error_t *err);
CSDK_EXPORT csdk_status_t csdk_readdir(csdk_t *h, const char *id,
                                       const char *path,
                                       const csdk_call_opts_t *copts,
                                       csdk_dirent_t **ents, size_t *n,
                                       csdk_error_t *err);
CSDK_EXPORT csdk_status_t csdk_exists(csdk_t *h, const char *id,
                                      const char *path,
                                      const csdk_call_opts_t *copts,
                                      int32_t *exists, csdk_error_t *err);
CSDK_EXPORT csdk_status_t csdk_remove(csdk_t *h, const char *id,
                                      const char *path,
                                      const csdk_call_opts_t *copts,
                                      csdk_error_t *err);

CSDK_EXPORT csdk_status_t csdk_find(csdk_t *h, const char *provider,
                                    const char *namespace_, const char *name,
                                    const csdk_call_opts_t *copts,
                                    csdk_sandbox_t *out, csdk_error_t *err);
CSDK_EXPORT csdk_status_t csdk_find_or_create(
    csdk_t *h, const char *provider, const char *namespace_,
    const char *name, const csdk_create_opts_t *opts,
    const csdk_call_opts_t *copts, csdk_sandbox_t *out, csdk_error_t *err);
/* Fills out->expires_ms (and whatever else the provider reports). */
CSDK_EXPORT csdk_status_t csdk_extend_timeout(csdk_t *h, const char *id,
                                              uint64_t ms,
                                              const csdk_call_opts_t *copts,
                                              csdk_sandbox_t *out,
                                              csdk_error_t *err);

/* Templates (kind 0) and snapshots (kind 1). */
#define CSDK_SAVED_TEMPLATE 0
#define CSDK_SAVED_SNAPSHOT 1
/* *saved_id is malloc'd ("INSTANCE:NATIVE"); free() it. */
CSDK_EXPORT csdk_status_t csdk_saved_create(csdk_t *h, int32_t kind,
                                            const char *sandbox_id,
                                            const char *name,
                                            const csdk_call_opts_t *copts,
                                            char **saved_id,
                                            csdk_error_t *err);
CSDK_EXPORT csdk_status_t csdk_saved_list(csdk_t *h, int32_t kind,
                                          const char *provider,
                                          const csdk_call_opts_t *copts,
                                          csdk_saved_t **out, size_t *n,
                                          csdk_error_t *err);
CSDK_EXPORT csdk_status_t csdk_saved_delete(csdk_t *h, int32_t kind,
                                            const char *saved_id,
                                            const csdk_call_opts_t *copts,
                                            csdk_error_t *err);

/* ------------------------------------------------------------------ */
/* Metrics                                                             */
/* ------------------------------------------------------------------ */

/* Latency histogram: bucket i counts calls that took less than
 * csdk_latency_bucket_ns(i) (and at least bucket i-1's bound); the last
 * bucket is open-ended. */
#define CSDK_LATENCY_BUCKETS 24
CSDK_EXPORT uint64_t csdk_latency_bucket_ns(uint32_t bucket);

typedef struct csdk_metrics {
    uint64_t count;        /* calls made (each retry is not a call) */
    uint64_t errors;       /* calls that returned a status other than OK */
    uint64_t retries;      /* extra attempts made by the retry policy */
    uint64_t rate_limited; /* calls delayed or refused by the rate limit */
    uint64_t total_ns;     /* summed latency */
    uint64_t latency[CSDK_LATENCY_BUCKETS];
} csdk_metrics_t;

/* A snapshot of one instance's counters for `method` (CSDK_M_*). */
CSDK_EXPORT csdk_status_t csdk_metrics_get(const csdk_t *h,
                                           const char *provider,
                                           uint32_t method,
                                           csdk_metrics_t *out);

#ifdef __cplusplus
}
#endif
#endif /* CSDK_CSDK_H */
