/* csdk/sdk/http.h - HTTP/1.1 requests with libcurl, for plugin authors.
 *
 * Part of the csdk SDK convenience library (sdk/lib).  One csdk_http_t
 * wraps one libcurl easy handle, so connections are kept alive between
 * requests; it is used by one thread at a time (a plugin that is called
 * from several threads keeps one per thread or locks around it).  The host
 * calls curl_global_init before it loads any plugin; this code never does.
 *
 * Failures are csdk status codes (csdk/provider.h) plus one line of text
 * naming the endpoint and the cause.  Header values (tokens) never appear
 * in that text. */
#ifndef CSDK_SDK_HTTP_H
#define CSDK_SDK_HTTP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct csdk_http csdk_http_t;

/* TLS material for https:// and tcp:// endpoints.  Paths are copied. */
typedef struct csdk_http_tls {
    const char *ca_file;   /* CA bundle, or NULL for the system's */
    const char *cert_file; /* client certificate (PEM), or NULL */
    const char *key_file;  /* its key (PEM), or NULL */
    int verify;            /* 1: verify the peer and its name */
} csdk_http_tls_t;

/* endpoint is one of
 *   unix:///path/to.sock         HTTP over a unix socket
 *   tcp://host:port              plain HTTP, or HTTPS when tls != NULL
 *   http://host[:port][/prefix]  https://host[:port][/prefix]
 * Returns NULL with a message in err (e.g. an unknown scheme, no memory). */
csdk_http_t *csdk_http_new(const char *endpoint, const csdk_http_tls_t *tls,
                           char *err, size_t errlen);
void csdk_http_free(csdk_http_t *h);

/* The endpoint as given (for messages; never holds a secret). */
const char *csdk_http_endpoint(const csdk_http_t *h);

/* Streaming request body: fill buf with up to cap bytes, return how many;
 * 0 at the end; CSDK_HTTP_ABORT to fail the request (csdk_http_do then
 * returns CSDK_E_CANCELLED unless the callback set another status). */
#define CSDK_HTTP_ABORT ((size_t)-1)
typedef size_t (*csdk_http_read_fn)(void *arg, char *buf, size_t cap);

/* Streaming response body: called with each chunk of a 2xx reply as it
 * arrives.  Return 0 to go on, nonzero to abort: csdk_http_do returns that
 * value. */
typedef int (*csdk_http_write_fn)(void *arg, const void *data, size_t n);

/* Polled while a request runs (as data moves, and at least once a second
 * when it does not); nonzero aborts it with CSDK_E_CANCELLED. */
typedef int (*csdk_http_stop_fn)(void *arg);

typedef struct csdk_http_req {
    const char *method;          /* "GET", "POST", "PUT", "HEAD", "DELETE" */
    const char *path;            /* appended to the endpoint: "/_ping" */
    const char *const *headers;  /* NULL-terminated "Name: value", or NULL */
    const void *body;            /* a body in memory (body_len bytes)... */
    size_t body_len;
    csdk_http_read_fn read_body; /* ...or streamed (takes precedence) */
    void *read_arg;
    int64_t body_size;           /* streamed body's size; -1: chunked */
    csdk_http_write_fn on_body;  /* stream a 2xx body (NULL: buffer it) */
    void *body_arg;
    csdk_http_stop_fn should_stop;
    void *stop_arg;
    long timeout_ms;             /* whole request; 0: none */
    size_t max_body;             /* cap on a buffered body; 0: 64 MiB */
    const char *capture_header;  /* a reply header to keep, or NULL */
} csdk_http_req_t;

typedef struct csdk_http_resp {
    long status;          /* HTTP status */
    char *body;           /* buffered body, NUL-terminated (non-2xx replies
                             are always buffered, so errors can be read) */
    size_t body_len;
    char *content_type;   /* or NULL */
    char *captured;       /* value of req->capture_header, or NULL */
    int64_t retry_after_ms; /* Retry-After (seconds or HTTP date), -1: none */
} csdk_http_resp_t;

/* Performs one request.  Returns 0 when a reply arrived, whatever its
 * status (resp filled; release with csdk_http_resp_clear).  Otherwise a
 * CSDK_E_* status with one line in err:
 *   CSDK_E_CONNECTION  refused, no such socket, DNS, TLS, reset, or a reply
 *                      cut short (e.g. "cannot connect to unix:///x.sock:
 *                      No such file or directory")
 *   CSDK_E_PERMISSION  the unix socket exists but may not be opened
 *   CSDK_E_TIMEOUT     timeout_ms passed
 *   CSDK_E_CANCELLED   should_stop said so
 *   CSDK_E_PROTOCOL    a buffered body exceeded max_body
 *   CSDK_E_NOMEM
 * or the nonzero value an on_body callback returned.  resp is always safe
 * to clear. */
int csdk_http_do(csdk_http_t *h, const csdk_http_req_t *req,
                 csdk_http_resp_t *resp, char *err, size_t errlen);

void csdk_http_resp_clear(csdk_http_resp_t *resp);

/* Percent-encodes s for a URL query or path segment (RFC 3986 unreserved
 * characters are kept).  Returns a malloc'd string or NULL. */
char *csdk_http_escape(const char *s);

#ifdef __cplusplus
}
#endif
#endif
