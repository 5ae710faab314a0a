/*
 * plugins/namespace/ns.h - the namespace provider's internal declarations,
 * shared by its source files (never installed, never seen by the host).
 *
 *   namespace.c  the ABI table, init and fini, the slots' entry points
 *   config.c     configuration keys, create options, the token
 *   api.c        request bodies and reply parsing: pure functions on
 *                strings, no network, no host (unit-tested on canned
 *                bodies; fuzzed)
 *   rpc.c        one Connect call over csdk_http: headers, deadlines,
 *                statuses and messages; the HTTP handle cache
 *   instance.c   create (with readiness and lost-reply recovery), get,
 *                info, list, destroy, url, extend_timeout, and named
 *                sandboxes (find, find_or_create)
 *   exec.c       run_command and run_code through RunCommandSync: the
 *                in-sandbox runner, streaming by polling, background runs
 *   fs.c         the six filesystem methods, as fixed scripts over
 *                RunCommandSync with paths passed as arguments
 *
 * Conventions: functions that take (st, call) report failures through
 * st->host->error and return the csdk_status_t.  Functions of api.c never
 * see the host: they return a status and fill an ns_err_t.  Strings are
 * malloc'd and owned by the struct that points at them.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#ifndef CSDK_NS_H
#define CSDK_NS_H

#include <csdk/provider.h>
#include <csdk/sdk/http.h>

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#define NS_NAME "namespace"
#define NS_VERSION "1.0.0"

#define NS_DEFAULT_BASE_URL "https://us.compute.namespaceapis.com"
#define NS_COMPUTE "/namespace.cloud.compute.v1beta.ComputeService/"
#define NS_COMMAND "/namespace.cloud.compute.v1beta.CommandService/"

/* Labels the plugin sets on the instances it creates.  User metadata
 * (labels too) may not use these two names. */
#define NS_LABEL_CLIENT "csdk-client"   /* random id of the create call */
#define NS_LABEL_RUNTIME "csdk-runtime" /* python / node, when chosen */
/* Labels of a named sandbox (find_or_create): the [provider.NAME] NAME,
 * the namespace and the name, each through ns_label_value. */
#define NS_LABEL_PROVIDER "csdk-provider"
#define NS_LABEL_NAMESPACE "csdk-namespace"
#define NS_LABEL_NAME "csdk-name"
/* namespace.stdlib.Label: a value has at most 255 bytes.  The longest
 * value csdk sends is ns_label_value's. */
#define NS_LABEL_VALUE_MAX 255

#define NS_MIB ((uint64_t)1 << 20)

#if defined(__GNUC__) || defined(__clang__)
#define NS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define NS_PRINTF(f, a)
#endif

/* ------------------------------------------------------------------ */
/* Plain data                                                          */
/* ------------------------------------------------------------------ */

typedef struct ns_pair {
    char *key;
    char *value;
} ns_pair_t;

typedef struct ns_pairs {
    ns_pair_t *v;
    size_t n;
} ns_pairs_t;

int ns_pairs_set(ns_pairs_t *p, const char *key, const char *value);
const char *ns_pairs_get(const ns_pairs_t *p, const char *key);
void ns_pairs_free(ns_pairs_t *p);

/* An error from a function that does not see the host: a status's
 * one-line message (no secret) and, for transient failures, how long the
 * server asked to wait. */
typedef struct ns_err {
    char msg[480];
    int64_t retry_after_ms; /* -1: none */
} ns_err_t;

void ns_err_set(ns_err_t *e, const char *fmt, ...) NS_PRINTF(2, 3);

/* ------------------------------------------------------------------ */
/* Configuration (config.c)                                            */
/* ------------------------------------------------------------------ */

/* The settings of an instance, and of one create call (create options use
 * the same keys and override them). */
typedef struct ns_conf {
    char *base_url;       /* no trailing slash */
    char *ca_file;        /* or NULL: the system's CAs */
    char *purpose;        /* documented_purpose */
    char *destroy_reason;
    char *machine_arch;
    char *os;
    char *container;      /* target_container_name */
    char *image;          /* any image, or NULL: by runtime */
    char *python_image;
    char *node_image;
    char *runtime;        /* "python", "node" or NULL (detect per run) */
    char *python, *node;  /* interpreters inside the sandbox */
    char *ports;          /* "8080,3000": exported at create, or NULL */
    int32_t vcpu;
    int32_t memory_mb;
    uint64_t sandbox_timeout_ms; /* the instance deadline, from creation */
    uint64_t request_timeout_ms; /* one API request, unless the call's
                                    deadline is nearer */
    uint64_t max_output;         /* default cap per stream, bytes */
    uint64_t stream_interval_ms; /* output polls of a running command; 0 =
                                    output arrives when it ends */
    uint64_t write_chunk;        /* base64 bytes of file data per command */
} ns_conf_t;

/* Where a setting came from, for messages: a config key or a create
 * option, with the status each kind of mistake gets. */
typedef struct ns_where {
    const char *instance;
    int is_config;
} ns_where_t;

struct ns_state;

csdk_status_t ns_conf_defaults(const csdk_host_t *h, csdk_call_t *call,
                               ns_conf_t *c);
/* Apply one key.  Returns CSDK_OK or the error (recorded). */
csdk_status_t ns_conf_set(const csdk_host_t *h, csdk_call_t *call,
                          const ns_where_t *w, ns_conf_t *c, const char *key,
                          const char *value);
int ns_conf_copy(ns_conf_t *dst, const ns_conf_t *src);
void ns_conf_free(ns_conf_t *c);
/* The token: config `token`, else $NSC_TOKEN (or the variable named by
 * token_env), else the JSON file named by token_file or $NSC_TOKEN_FILE
 * holding "bearer_token".  A missing token is CSDK_E_AUTH, a malformed
 * one CSDK_E_CONFIG, both with the setup steps.  *out is malloc'd. */
csdk_status_t ns_token_resolve(const csdk_host_t *h, csdk_call_t *call,
                               const char *instance, const char *token,
                               const char *token_env, const char *token_file,
                               char **out);
/* Non-zero if s is a usable bearer token (printable, no spaces). */
int ns_token_valid(const char *s);
/* "python", "node" or NULL for a language name we do not know. */
const char *ns_runtime_name(const char *s);

/* ------------------------------------------------------------------ */
/* Requests and replies (api.c): pure                                  */
/* ------------------------------------------------------------------ */

/* What CreateInstance is asked for. */
typedef struct ns_create_req {
    int32_t vcpu, memory_mb;
    const char *machine_arch, *os;
    const char *container;
    const char *image;        /* "builtin:..." goes as knownImageId */
    const char *purpose;
    uint64_t deadline_ms;     /* ms since the epoch */
    const csdk_kv_t *env;     /* the container's environment */
    size_t n_env;
    const ns_pairs_t *labels;
    const uint32_t *ports;    /* exported container ports */
    size_t n_ports;
} ns_create_req_t;

/* An instance, from Create/Describe/Wait replies or a list entry. */
typedef struct ns_instance {
    char *id;
    char *status;       /* "RUNNING", "CREATING", ... ("" if absent) */
    int64_t created_ms, ready_ms, destroyed_ms, deadline_ms; /* 0: absent */
    char *purpose;
    int32_t vcpu, memory_mb;
    char *machine_arch, *os;
    ns_pairs_t labels;
    char *endpoint;     /* extendedMetadata.commandServiceEndpoint */
    char *instance_url;
} ns_instance_t;

void ns_instance_free(ns_instance_t *in);
void ns_instances_free(ns_instance_t *v, size_t n);

/* A RunCommandSync reply: output bytes (decoded, NUL-terminated for
 * convenience) and the exit code. */
typedef struct ns_run_reply {
    char *out, *err;
    size_t out_len, err_len;
    int32_t exit_code;
} ns_run_reply_t;

void ns_run_reply_free(ns_run_reply_t *r);

/* Request bodies: compact JSON, malloc'd; NULL when out of memory (or a
 * string is not UTF-8: jansson refuses it). */
char *ns_req_create(const ns_create_req_t *r);
char *ns_req_instance(const char *id);
char *ns_req_destroy(const char *id, const char *reason);
char *ns_req_list(const char *cursor);
/* ListInstances keeping only instances that carry every label of
 * `equal` with that value (labelFilter, op EQUAL); equal may be NULL. */
char *ns_req_list_labels(const char *cursor, const ns_pairs_t *equal);
/* ExtendInstance by `ms` (extendBy, a Duration: "90s", "1.5s"). */
char *ns_req_extend(const char *id, uint64_t ms);
char *ns_req_ingress(const char *id, uint32_t port);
char *ns_req_run(const char *id, const char *container,
                 const char *const *argv, size_t argc, const csdk_kv_t *env,
                 size_t n_env, const char *cwd);

/*
 * Reply parsers.  `what` names the call in messages ("DescribeInstance");
 * `secret` (may be NULL) never appears in a message: excerpts of a body
 * have it masked.  A body that is not the expected JSON is
 * CSDK_E_PROTOCOL with an excerpt.  On failure the outputs are empty.
 */
csdk_status_t ns_parse_describe(const char *body, size_t len,
                                const char *what, const char *secret,
                                ns_instance_t *out, ns_err_t *e);
csdk_status_t ns_parse_wait(const char *body, size_t len, const char *secret,
                            ns_instance_t *out, ns_err_t *e);
csdk_status_t ns_parse_list(const char *body, size_t len, const char *secret,
                            ns_instance_t **v, size_t *n, char **cursor,
                            ns_err_t *e);
csdk_status_t ns_parse_run(const char *body, size_t len, const char *secret,
                           ns_run_reply_t *out, ns_err_t *e);
csdk_status_t ns_parse_ingress(const char *body, size_t len,
                               const char *secret, char **fqdn, ns_err_t *e);
/* ExtendInstance's reply: newDeadline (required) in ms since the
 * epoch. */
csdk_status_t ns_parse_extend(const char *body, size_t len,
                              const char *secret, int64_t *deadline_ms,
                              ns_err_t *e);
/* An empty reply ({}), as DestroyInstance gives. */
csdk_status_t ns_parse_empty(const char *body, size_t len, const char *what,
                             const char *secret, ns_err_t *e);

/*
 * A non-200 reply to a status and message: the Connect error body
 * ({"code","message"}) when there is one, else the HTTP status.
 * retry_after_ms is the Retry-After header (-1: none).
 */
csdk_status_t ns_map_error(long http_status, const char *body, size_t len,
                           const char *content_type, int64_t retry_after_ms,
                           const char *what, const char *secret, ns_err_t *e);

/* A printable, bounded excerpt of a body for messages: control bytes
 * escaped, `secret` masked, at most `max` source bytes. */
void ns_excerpt(char *dst, size_t dstlen, const char *body, size_t len,
                size_t max, const char *secret);

/* A label value for any string: `s` itself when it is 1-255 bytes of
 * [A-Za-z0-9._-], else "~" and the SHA-256 of `s` in hex (66 bytes with
 * the NUL), so that any name fits Namespace's label limits and two
 * different strings never share a value. */
void ns_label_value(const char *s, char out[NS_LABEL_VALUE_MAX + 1]);
/* SHA-256 of data as 64 lowercase hex digits and a NUL. */
void ns_sha256_hex(const void *data, size_t len, char out[65]);

/* RFC 3339 timestamp -> ms since the epoch; -1 when malformed. */
int64_t ns_parse_time(const char *s);
/* ms since the epoch -> "2025-01-02T03:04:05.123Z" (24 bytes + NUL for years 0-9999). */
void ns_format_time(int64_t ms, char out[48]);

/* ------------------------------------------------------------------ */
/* State                                                               */
/* ------------------------------------------------------------------ */

/* An HTTP handle for one origin (scheme://host:port), kept so
 * connections are reused. */
typedef struct ns_conn {
    char *origin;
    csdk_http_t *http;
} ns_conn_t;

#define NS_CONN_SLOTS 4

/* What run_command needs of an instance, cached per process. */
typedef struct ns_cached {
    char *id;
    char *endpoint;
    char *runtime; /* may be NULL */
} ns_cached_t;

#define NS_CACHE_SLOTS 32

struct ns_worker;

typedef struct ns_state {
    const csdk_host_t *host;
    csdk_instance_t *inst;
    char *instance;     /* the [provider.NAME] NAME */
    ns_conf_t conf;
    char *token;        /* secret: only ever in auth_header */
    char *auth_header;  /* "Authorization: Bearer ..." */
    /* Slot-thread handles (the host serialises slots). */
    ns_conn_t conns[NS_CONN_SLOTS];
    unsigned conn_next;
    ns_cached_t cache[NS_CACHE_SLOTS];
    unsigned cache_next;
    /* Runs in flight on worker threads (exec.c), and idle handles they
     * may reuse.  Guarded by lock. */
    pthread_mutex_t lock;
    pthread_cond_t cond;
    struct ns_worker *workers;
    ns_conn_t idle[NS_CONN_SLOTS];
    int stopping;       /* fini: workers abort their requests */
} ns_state_t;

/* ------------------------------------------------------------------ */
/* Calls (rpc.c)                                                       */
/* ------------------------------------------------------------------ */

typedef struct ns_rpc {
    const char *method;       /* "DescribeInstance", "RunCommandSync" */
    const char *endpoint;     /* command endpoint, or NULL: base_url */
    const char *body;
    size_t body_len;
    uint64_t timeout_ms;      /* the whole request; 0: none */
    uint64_t server_ms;       /* Connect-Timeout-Ms; 0: not sent */
    size_t max_body;          /* 0: NS_MAX_REPLY */
    csdk_http_stop_fn should_stop;
    void *stop_arg;
} ns_rpc_t;

/* Cap on a reply of the compute service (a list of many instances is the
 * largest). */
#define NS_MAX_REPLY ((size_t)16 << 20)

/* One call over a handle from `slots` (see ns_conn_get): 0 with resp
 * holding a 200 JSON reply, or a status with e filled (transport failure,
 * a reply that is not JSON, or a non-200 reply mapped by ns_map_error).
 * Safe on any thread for slots that thread owns; touches no call. */
csdk_status_t ns_rpc_raw(ns_state_t *st, ns_conn_t *slots, unsigned *next,
                         const ns_rpc_t *r, csdk_http_resp_t *resp,
                         ns_err_t *e);
/* The same on the slot thread: picks the handle, bounds the request by
 * the call's deadline and the configured request timeout, and records a
 * failure on the call (with retry-after). */
csdk_status_t ns_rpc(ns_state_t *st, csdk_call_t *call, ns_rpc_t *r,
                     csdk_http_resp_t *resp);
/* Record e on the call with status rc; returns rc. */
csdk_status_t ns_fail(ns_state_t *st, csdk_call_t *call, csdk_status_t rc,
                      const ns_err_t *e);
/* Split "scheme://host[:port]/prefix" into the origin and the path prefix
 * (both malloc'd; prefix "" when none).  -1 on a malformed URL. */
int ns_split_url(const char *url, char **origin, char **prefix);
/* A handle for `origin`, from `slots` (made on first use).  NULL with e
 * filled when out of memory or the URL is refused. */
csdk_http_t *ns_conn_get(ns_state_t *st, ns_conn_t *slots, unsigned *next,
                         const char *origin, ns_err_t *e);
void ns_conns_free(ns_conn_t *slots);
/* How long a request may take: min(request_timeout, remaining). */
uint64_t ns_budget(ns_state_t *st, csdk_call_t *call);
csdk_status_t ns_nomem(ns_state_t *st, csdk_call_t *call);
/* The status for a passed deadline or a cancelled call. */
csdk_status_t ns_stopped(ns_state_t *st, csdk_call_t *call,
                         const char *what);
/* 16 random bytes as 32 hex digits. */
void ns_random_hex(char out[33]);

/* ------------------------------------------------------------------ */
/* Instances (instance.c)                                              */
/* ------------------------------------------------------------------ */

csdk_status_t ns_create(ns_state_t *st, csdk_call_t *call,
                        const csdk_create_opts_t *opts);
csdk_status_t ns_get(ns_state_t *st, csdk_call_t *call, const char *id,
                     int detail);
csdk_status_t ns_list(ns_state_t *st, csdk_call_t *call);
csdk_status_t ns_destroy(ns_state_t *st, csdk_call_t *call, const char *id);
csdk_status_t ns_url(ns_state_t *st, csdk_call_t *call, const char *id,
                     uint32_t port, const char *protocol);
/* ExtendInstance: the deadline moves `ms` later; reports CSDK_F_ID and
 * CSDK_F_EXPIRES_MS (the new deadline). */
csdk_status_t ns_extend(ns_state_t *st, csdk_call_t *call, const char *id,
                        uint64_t ms);
/* Named sandboxes (see instance.c for the rule that makes
 * find_or_create atomic). */
csdk_status_t ns_find(ns_state_t *st, csdk_call_t *call, const char *ns,
                      const char *name);
csdk_status_t ns_find_or_create(ns_state_t *st, csdk_call_t *call,
                                const char *ns, const char *name,
                                const csdk_create_opts_t *opts);
/* DescribeInstance of a live instance: NOT_FOUND for an unknown or
 * destroyed one.  With `need_running`, CONFLICT while it is not ready. */
csdk_status_t ns_describe_live(ns_state_t *st, csdk_call_t *call,
                               const char *id, int need_running,
                               ns_instance_t *out);
/* The command endpoint and runtime of a live instance, from the cache or
 * DescribeInstance.  The pointer is valid until the next cache change. */
csdk_status_t ns_lookup(ns_state_t *st, csdk_call_t *call, const char *id,
                        const ns_cached_t **out);
void ns_cache_drop(ns_state_t *st, const char *id);
void ns_cache_free(ns_state_t *st);

/* ------------------------------------------------------------------ */
/* Commands (exec.c)                                                   */
/* ------------------------------------------------------------------ */

csdk_status_t ns_run_command(ns_state_t *st, csdk_call_t *call,
                             const char *id, const csdk_run_opts_t *opts);
csdk_status_t ns_run_code(ns_state_t *st, csdk_call_t *call, const char *id,
                          const char *code, size_t code_len,
                          const char *language, const csdk_run_opts_t *opts);
/* Run argv to completion in a live instance (the slot thread, no runner,
 * no streaming): for the filesystem scripts.  The reply is the command's
 * whole output.  A failed call becomes NOT_FOUND when the instance is
 * gone. */
csdk_status_t ns_exec_simple(ns_state_t *st, csdk_call_t *call,
                             const ns_cached_t *sb, const char *const *argv,
                             size_t max_reply, ns_run_reply_t *out);
/* The same without recording a failure: the status and e, for a caller
 * that may try again (and then reports through ns_exec_failed). */
csdk_status_t ns_exec_try(ns_state_t *st, csdk_call_t *call,
                          const ns_cached_t *sb, const char *const *argv,
                          size_t max_reply, ns_run_reply_t *out, ns_err_t *e);
/* Record the failure rc/e of a call into instance `id`: TIMEOUT or
 * CANCELLED when the call is out of time, NOT_FOUND when the instance is
 * gone, else e. */
csdk_status_t ns_exec_failed(ns_state_t *st, csdk_call_t *call,
                             const char *id, csdk_status_t rc,
                             const ns_err_t *e);
/* Stop every worker and wait for it (fini). */
void ns_workers_stop(ns_state_t *st);

/* ------------------------------------------------------------------ */
/* Files (fs.c)                                                        */
/* ------------------------------------------------------------------ */

/* Write `len` bytes to `path` in the instance in chunks of at most
 * st->conf.write_chunk base64 bytes per command, through a temporary file
 * renamed into place by the last chunk. */
csdk_status_t ns_upload(ns_state_t *st, csdk_call_t *call,
                        const ns_cached_t *sb, const char *path,
                        const void *data, size_t len);
csdk_status_t ns_fs_read(ns_state_t *st, csdk_call_t *call, const char *id,
                         const char *path);
csdk_status_t ns_fs_write(ns_state_t *st, csdk_call_t *call, const char *id,
                          const char *path, const void *data, size_t len);
csdk_status_t ns_fs_mkdir(ns_state_t *st, csdk_call_t *call, const char *id,
                          const char *path);
csdk_status_t ns_fs_readdir(ns_state_t *st, csdk_call_t *call,
                            const char *id, const char *path);
csdk_status_t ns_fs_exists(ns_state_t *st, csdk_call_t *call, const char *id,
                           const char *path);
csdk_status_t ns_fs_remove(ns_state_t *st, csdk_call_t *call, const char *id,
                           const char *path);

#endif /* CSDK_NS_H */
