/* The docker provider's private interface (docs/docker-provider.md).
 *
 * One dk_state_t per configured instance.  The provider does not declare
 * itself thread-safe, so the host runs one slot at a time per instance:
 * the state, its HTTP connection and its buffers need no locks. */
#ifndef CSDK_DOCKER_H
#define CSDK_DOCKER_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "csdk/provider.h"
#include "csdk/sdk/http.h"

/* Labels that mark and describe csdk's containers and images. */
#define DK_LABEL "io.csdk.sandbox"            /* "1" on every container */
#define DK_LABEL_INSTANCE "io.csdk.instance"  /* the instance that made it */
#define DK_LABEL_RUNTIME "io.csdk.runtime"
#define DK_LABEL_CREATED "io.csdk.created_ms"
#define DK_LABEL_TIMEOUT "io.csdk.timeout_ms"
#define DK_LABEL_NS "io.csdk.namespace"
#define DK_LABEL_NAME "io.csdk.name"
#define DK_LABEL_META "io.csdk.meta."         /* + the user's key */
#define DK_LABEL_SAVED "io.csdk.saved"        /* images: template|snapshot */
#define DK_LABEL_SAVED_NAME "io.csdk.saved_name"

#define DK_PULL_IF_NOT_PRESENT 0
#define DK_PULL_ALWAYS 1
#define DK_PULL_NEVER 2

#define DK_CLEANUP_ALWAYS 0     /* destroy removes; failed creates removed */
#define DK_CLEANUP_ON_SUCCESS 1 /* failed creates are kept for inspection */
#define DK_CLEANUP_NEVER 2      /* destroy stops but keeps the container */

typedef struct dk_strs {
    char **v;
    size_t n;
} dk_strs_t;

/* Configuration: the INI keys, overridable per create (docs). */
typedef struct dk_conf {
    char *host;              /* endpoint; DOCKER_HOST; the default socket */
    int tls_verify;          /* DOCKER_TLS_VERIFY */
    char *cert_path;         /* DOCKER_CERT_PATH: ca.pem cert.pem key.pem */
    char *api_version;       /* pinned "1.41", or NULL: negotiate */
    char *image;             /* for every runtime, or NULL */
    char *image_python;      /* per runtime; defaults below */
    char *image_node;
    char *runtime;           /* default language runtime: "python" */
    int pull_policy;         /* DK_PULL_* */
    char *registry_auth;     /* X-Registry-Auth value (base64 JSON), or NULL;
                                a secret: never logged */
    char *user;
    char *workdir;
    dk_strs_t env;           /* "K=V" */
    dk_strs_t binds;
    dk_strs_t ports;         /* "[ip:][host:]container[/proto]" */
    char *network_mode;      /* "none" */
    char *network;           /* joined when create asks for network */
    int privileged;
    dk_strs_t cap_add;
    dk_strs_t cap_drop;
    char *gpus;              /* "all", a count, or device ids; NULL */
    uint64_t memory_mb;
    uint64_t memory_swap_mb; /* 0: same as memory (no swap) */
    uint64_t nano_cpus;
    uint64_t cpu_shares;
    int64_t pids_limit;
    char *log_driver;
    dk_strs_t log_opts;      /* "k=v" */
    int auto_remove;
    int tty;
    char *oci_runtime;       /* HostConfig.Runtime: "runsc" */
    int cleanup;             /* DK_CLEANUP_* */
    int no_new_privileges;
    uint64_t sandbox_timeout_ms; /* lifetime; 0: none */
    uint64_t stop_grace_s;
    uint64_t request_timeout_ms; /* one API request; the call's deadline
                                    shortens it */
} dk_conf_t;

typedef struct dk_state {
    const csdk_host_t *host;
    csdk_instance_t *inst;
    char *name;          /* instance name, recorded in a label */
    dk_conf_t conf;
    csdk_http_t *http;
    char api[16];        /* "/v1.41": the prefix of every path */
    int podman;          /* the engine is Podman (its quirks differ) */
} dk_state_t;

/* A growable byte buffer.  On allocation failure `failed` is set and
 * further appends are dropped. */
typedef struct dk_buf {
    char *data;
    size_t len, cap;
    int failed;
} dk_buf_t;

void dk_buf_add(dk_buf_t *b, const void *data, size_t len);
void dk_buf_free(dk_buf_t *b);

/* ---- config (docker.c) */
/* Apply one key; an unknown key or bad value is CSDK_E_CONFIG (from the
 * INI) or CSDK_E_INVALID_ARGUMENT (from create options) naming the key. */
csdk_status_t dk_conf_set(dk_state_t *st, csdk_call_t *call, dk_conf_t *c,
                          const char *key, const char *value, int from_create);
void dk_conf_defaults(dk_conf_t *c);
/* Deep copy; -1 (dst freed) when out of memory. */
int dk_conf_copy(dk_conf_t *dst, const dk_conf_t *src);
void dk_conf_free(dk_conf_t *c);

/* ---- the engine API (engine.c) */

/* Connects and negotiates the API version (/_ping): the daemon's version,
 * capped at the newest this code speaks (1.47), refused when older than
 * 1.40; also tells Podman from Docker.  Called by the first request. */
csdk_status_t dk_connect(dk_state_t *st, csdk_call_t *call);

/* One JSON request.  path is versionless ("/containers/json"); body may be
 * NULL (borrowed); on a 2xx reply *reply (if reply != NULL) is the parsed
 * body or NULL when empty.  Any other reply or failure is reported with
 * host->error naming `what` (e.g. "container 3f2a...") and the engine's
 * message; *status_out (if non-NULL) gets the HTTP status (0 when none
 * arrived) so callers can treat 404/409 specially before that: when
 * `quiet` lists a status ("404", "404,409"), such replies return
 * CSDK_E_NOT_FOUND / CSDK_E_CONFLICT without recording an error. */
csdk_status_t dk_json(dk_state_t *st, csdk_call_t *call, const char *method,
                      const char *path, json_t *body, json_t **reply,
                      const char *what, const char *quiet, long *status_out);

/* A raw request with the call's deadline and cancellation applied (the
 * versioned prefix is added to req->path, which must be versionless).
 * Returns 0 with resp filled for any HTTP status (clear it), else a status
 * already recorded with host->error. */
csdk_status_t dk_send(dk_state_t *st, csdk_call_t *call,
                      csdk_http_req_t *req, csdk_http_resp_t *resp,
                      const char *what);

/* As dk_send, but records no error: returns 0 or the csdk_http_do status
 * (or a callback's value) with its text in err.  A timeout_ms the caller
 * set in req replaces request_timeout_ms (still capped by the call's
 * deadline).  The caller must have connected (st->api set). */
int dk_send_raw(dk_state_t *st, csdk_call_t *call, csdk_http_req_t *req,
                csdk_http_resp_t *resp, char *err, size_t errlen);

/* Maps a non-2xx reply to a status and records the engine's message. */
csdk_status_t dk_reply_error(dk_state_t *st, csdk_call_t *call,
                             const csdk_http_resp_t *resp, const char *what);

/* Inspects a container of this provider: NOT_FOUND (recorded) when it is
 * missing or not csdk's.  *out is the inspect JSON (json_decref it). */
csdk_status_t dk_inspect(dk_state_t *st, csdk_call_t *call, const char *id,
                         json_t **out);

/* Removes a container (force, with its volumes); failures are logged, not
 * reported: used for cleanup on the way to another result. */
void dk_remove_container(dk_state_t *st, csdk_call_t *call, const char *id);

/* A container id as given, checked: [0-9a-f]{12,64} or a csdk name;
 * otherwise NOT_FOUND is recorded (nothing odd reaches a URL path). */
csdk_status_t dk_check_id(dk_state_t *st, csdk_call_t *call, const char *id);

/* ---- exec (exec.c) */

/* Runs argv in the container and collects its output (for file helpers
 * and syntax checks).  out/err may be NULL (discarded); output past
 * max_bytes per stream is dropped.  stdin_data may be NULL. */
csdk_status_t dk_exec_collect(dk_state_t *st, csdk_call_t *call,
                              const char *id, const char *const *argv,
                              const void *stdin_data, size_t stdin_len,
                              dk_buf_t *out, dk_buf_t *err, size_t max_bytes,
                              int *exit_code);

csdk_run_command_fn dk_run_command;
csdk_run_code_fn dk_run_code;

/* ---- files (files.c): the six filesystem slots */
csdk_read_file_fn dk_read_file;
csdk_write_file_fn dk_write_file;
csdk_mkdir_fn dk_mkdir;
csdk_readdir_fn dk_readdir;
csdk_exists_fn dk_exists;
csdk_remove_fn dk_remove;

/* ---- templates and snapshots (saved.c) */
csdk_template_create_fn dk_template_create;
csdk_template_list_fn dk_template_list;
csdk_template_delete_fn dk_template_delete;
csdk_snapshot_create_fn dk_snapshot_create;
csdk_snapshot_list_fn dk_snapshot_list;
csdk_snapshot_delete_fn dk_snapshot_delete;


/* Uploads one regular file (mode 0644, or 0600 when private) to the
 * absolute path `path` in the container, making missing parent
 * directories.  Binary-safe; streams from memory. */
csdk_status_t dk_put_file(dk_state_t *st, csdk_call_t *call, const char *id,
                          const char *path, const void *data, size_t len,
                          int private_);

/* ---- util (util.c) */
char *dk_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void dk_random_hex(char *out, size_t nhex); /* nhex digits + NUL */

#endif
