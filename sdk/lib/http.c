/* HTTP/1.1 requests over libcurl (csdk/sdk/http.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "csdk/provider.h"
#include "csdk/sdk/http.h"

#define DEFAULT_MAX_BODY ((size_t)64 << 20)
/* Error replies are read for their message only. */
#define MAX_ERROR_BODY ((size_t)1 << 20)

struct csdk_http {
    CURL *curl;
    char *endpoint;   /* as given, for messages */
    char *base;       /* URL prefix requests' paths are appended to */
    char *unix_path;  /* or NULL */
    char *ca_file, *cert_file, *key_file;
    int tls, verify;
};

/* One request's state, shared by the callbacks. */
struct xfer {
    const csdk_http_req_t *req;
    csdk_http_resp_t *resp;
    CURL *curl;
    size_t cap;         /* body bytes allowed for a buffered body */
    size_t alloc;
    long status;        /* of the reply whose body is arriving, 0 before */
    int streaming;      /* this reply's body goes to req->on_body */
    int fail;           /* why a callback stopped the transfer, 0 if not */
    const unsigned char *mem; /* in-memory body left to send */
    size_t mem_left;
};

__attribute__((format(printf, 3, 4)))
static void say(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (!err || !errlen)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

csdk_http_t *csdk_http_new(const char *endpoint, const csdk_http_tls_t *tls,
                           char *err, size_t errlen)
{
    csdk_http_t *h;
    const char *rest;

    if (!endpoint || !*endpoint) {
        say(err, errlen, "no endpoint given");
        return NULL;
    }
    h = calloc(1, sizeof *h);
    if (!h || !(h->endpoint = strdup(endpoint)))
        goto nomem;
    if (tls) {
        h->tls = 1;
        h->verify = tls->verify;
        if ((tls->ca_file && !(h->ca_file = strdup(tls->ca_file))) ||
            (tls->cert_file && !(h->cert_file = strdup(tls->cert_file))) ||
            (tls->key_file && !(h->key_file = strdup(tls->key_file))))
            goto nomem;
    }
    if (!strncmp(endpoint, "unix://", 7)) {
        rest = endpoint + 7;
        if (*rest != '/') {
            say(err, errlen, "%s: a unix endpoint needs an absolute path "
                "(unix:///path/to.sock)", endpoint);
            goto fail;
        }
        if (!(h->unix_path = strdup(rest)) ||
            !(h->base = strdup("http://localhost")))
            goto nomem;
    } else if (!strncmp(endpoint, "tcp://", 6)) {
        rest = endpoint + 6;
        if (!*rest) {
            say(err, errlen, "%s: no host after tcp://", endpoint);
            goto fail;
        }
        if (asprintf(&h->base, "%s://%s", tls ? "https" : "http", rest) < 0) {
            h->base = NULL;
            goto nomem;
        }
    } else if (!strncmp(endpoint, "http://", 7) ||
               !strncmp(endpoint, "https://", 8)) {
        size_t n = strlen(endpoint);
        if (!(h->base = strdup(endpoint)))
            goto nomem;
        while (n > 8 && h->base[n - 1] == '/')
            h->base[--n] = '\0'; /* paths bring their own slash */
        if (!strncmp(endpoint, "https://", 8))
            h->tls = 1, h->verify = tls ? tls->verify : 1;
    } else {
        say(err, errlen, "%s: unknown endpoint scheme (use unix:///path, "
            "tcp://host:port, http:// or https://)", endpoint);
        goto fail;
    }
    if (!(h->curl = curl_easy_init()))
        goto nomem;
    return h;
nomem:
    say(err, errlen, "out of memory");
fail:
    csdk_http_free(h);
    return NULL;
}

void csdk_http_free(csdk_http_t *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    free(h->endpoint);
    free(h->base);
    free(h->unix_path);
    free(h->ca_file);
    free(h->cert_file);
    free(h->key_file);
    free(h);
}

const char *csdk_http_endpoint(const csdk_http_t *h)
{
    return h->endpoint;
}

void csdk_http_resp_clear(csdk_http_resp_t *resp)
{
    if (!resp)
        return;
    free(resp->body);
    free(resp->content_type);
    free(resp->captured);
    memset(resp, 0, sizeof *resp);
    resp->retry_after_ms = -1;
}

char *csdk_http_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(s);
    char *out, *o;

    if (n > (SIZE_MAX - 1) / 3 || !(out = malloc(n * 3 + 1)))
        return NULL;
    for (o = out; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
            (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
            c == '~') {
            *o++ = (char)c;
        } else {
            *o++ = '%';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    *o = '\0';
    return out;
}

/* ------------------------------------------------------------ callbacks */

static int append(struct xfer *x, const void *data, size_t n)
{
    csdk_http_resp_t *r = x->resp;

    if (n > x->cap - r->body_len) {
        x->fail = CSDK_E_PROTOCOL;
        return -1;
    }
    if (r->body_len + n + 1 > x->alloc) {
        size_t want = x->alloc ? x->alloc : 4096;
        char *p;
        while (want < r->body_len + n + 1)
            want *= 2;
        if (!(p = realloc(r->body, want))) {
            x->fail = CSDK_E_NOMEM;
            return -1;
        }
        r->body = p;
        x->alloc = want;
    }
    memcpy(r->body + r->body_len, data, n);
    r->body_len += n;
    r->body[r->body_len] = '\0';
    return 0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t n = size * nmemb;

    if (!x->status) {
        /* First body bytes of this reply: decide where they go. */
        curl_easy_getinfo(x->curl, CURLINFO_RESPONSE_CODE, &x->status);
        x->streaming = x->req->on_body && x->status >= 200 && x->status < 300;
        if (!x->streaming && (x->status < 200 || x->status >= 300))
            x->cap = MAX_ERROR_BODY;
    }
    if (x->streaming) {
        int rc = x->req->on_body(x->req->body_arg, data, n);
        if (rc) {
            x->fail = rc;
            return 0;
        }
        return n;
    }
    return append(x, data, n) ? 0 : n;
}

static char *header_value(const char *line, size_t n, const char *name)
{
    size_t k = strlen(name);
    const char *v, *end = line + n;

    if (n <= k || strncasecmp(line, name, k) || line[k] != ':')
        return NULL;
    for (v = line + k + 1; v < end && (*v == ' ' || *v == '\t'); v++)
        ;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
                       end[-1] == ' ' || end[-1] == '\t'))
        end--;
    return strndup(v, (size_t)(end - v));
}

static void set_retry_after(csdk_http_resp_t *r, const char *v)
{
    char *end;
    long long secs;
    time_t when;

    errno = 0;
    secs = strtoll(v, &end, 10);
    if (end != v && !*end && !errno && secs >= 0) {
        r->retry_after_ms = secs > 86400 ? 86400000 : secs * 1000;
        return;
    }
    when = curl_getdate(v, NULL);
    if (when != -1) {
        time_t now = time(NULL);
        r->retry_after_ms = when > now ? (int64_t)(when - now) * 1000 : 0;
    }
}

static size_t on_header(char *line, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    csdk_http_resp_t *r = x->resp;
    size_t n = size * nmemb;
    char *v;

    if (n >= 5 && !strncmp(line, "HTTP/", 5)) {
        /* A new reply (after 100 Continue or 101): forget the last one's. */
        free(r->content_type);
        free(r->captured);
        r->content_type = r->captured = NULL;
        r->retry_after_ms = -1;
        x->status = 0;
        return n;
    }
    if ((v = header_value(line, n, "Content-Type"))) {
        free(r->content_type);
        r->content_type = v;
    } else if ((v = header_value(line, n, "Retry-After"))) {
        set_retry_after(r, v);
        free(v);
    }
    if (x->req->capture_header &&
        (v = header_value(line, n, x->req->capture_header))) {
        free(r->captured);
        r->captured = v;
    }
    return n;
}

static size_t on_read(char *buf, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t cap = size * nmemb, n;

    if (!x->req->read_body) {
        n = cap < x->mem_left ? cap : x->mem_left;
        memcpy(buf, x->mem, n);
        x->mem += n;
        x->mem_left -= n;
        return n;
    }
    n = x->req->read_body(x->req->read_arg, buf, cap);
    if (n == CSDK_HTTP_ABORT) {
        x->fail = CSDK_E_CANCELLED;
        return CURL_READFUNC_ABORT;
    }
    return n;
}

static int on_progress(void *arg, curl_off_t a, curl_off_t b, curl_off_t c,
                       curl_off_t d)
{
    struct xfer *x = arg;

    (void)a, (void)b, (void)c, (void)d;
    if (x->req->should_stop(x->req->stop_arg)) {
        x->fail = CSDK_E_CANCELLED;
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------ requests */

static int set_body(csdk_http_t *h, const csdk_http_req_t *req,
                    struct xfer *x, struct curl_slist **hdrs)
{
    CURL *c = h->curl;
    int has_body = req->read_body || req->body;
    int64_t size = req->read_body ? req->body_size : (int64_t)req->body_len;
    const char *m = req->method ? req->method : "GET";

    if (!strcmp(m, "HEAD")) {
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
        return 0;
    }
    if (strcmp(m, "GET"))
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
    if (!has_body) {
        if (!strcmp(m, "POST") || !strcmp(m, "PUT")) {
            curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
            curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
        }
        return 0;
    }
    x->mem = req->body;
    x->mem_left = req->body_len;
    /* Every body goes through on_read, so POST and PUT behave alike. */
    curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, x);
    if (size >= 0) {
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
    } else {
        struct curl_slist *t = curl_slist_append(*hdrs,
                                                 "Transfer-Encoding: chunked");
        if (!t)
            return CSDK_E_NOMEM;
        *hdrs = t;
    }
    return 0;
}

static int map_error(csdk_http_t *h, CURLcode cc, const struct xfer *x,
                     const char *curl_msg, char *err, size_t errlen)
{
    long oserr = 0;
    const char *why = *curl_msg ? curl_msg : curl_easy_strerror(cc);

    curl_easy_getinfo(h->curl, CURLINFO_OS_ERRNO, &oserr);
    if (x->fail == CSDK_E_PROTOCOL) {
        snprintf(err, errlen, "%s: the reply is larger than %zu bytes",
                 h->endpoint, x->cap);
        return CSDK_E_PROTOCOL;
    }
    if (x->fail) {
        if (x->fail == CSDK_E_CANCELLED)
            snprintf(err, errlen, "%s: request cancelled", h->endpoint);
        else if (x->fail == CSDK_E_NOMEM)
            snprintf(err, errlen, "out of memory reading a reply from %s",
                     h->endpoint);
        return x->fail;
    }
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        snprintf(err, errlen, "%s: no complete reply within %ld ms",
                 h->endpoint, x->req->timeout_ms);
        return CSDK_E_TIMEOUT;
    case CURLE_OUT_OF_MEMORY:
        snprintf(err, errlen, "out of memory talking to %s", h->endpoint);
        return CSDK_E_NOMEM;
    case CURLE_COULDNT_CONNECT:
        if (h->unix_path && oserr == ENOENT) {
            snprintf(err, errlen, "cannot connect to %s: no such socket "
                     "(is the daemon running? is the path right?)",
                     h->endpoint);
            return CSDK_E_CONNECTION;
        }
        if (h->unix_path && (oserr == EACCES || oserr == EPERM)) {
            snprintf(err, errlen, "cannot connect to %s: permission denied "
                     "(run as a user who may open the socket, e.g. a member "
                     "of its group)", h->endpoint);
            return CSDK_E_PERMISSION;
        }
        if (oserr == ECONNREFUSED) {
            snprintf(err, errlen, "cannot connect to %s: connection refused "
                     "(is the daemon running?)", h->endpoint);
            return CSDK_E_CONNECTION;
        }
        snprintf(err, errlen, "cannot connect to %s: %s", h->endpoint,
                 oserr ? strerror((int)oserr) : why);
        return CSDK_E_CONNECTION;
    case CURLE_PARTIAL_FILE:
        snprintf(err, errlen, "%s: the reply was cut short (%s)",
                 h->endpoint, why);
        return CSDK_E_CONNECTION;
    default:
        snprintf(err, errlen, "%s: %s", h->endpoint, why);
        return CSDK_E_CONNECTION;
    }
}

static int set_transport(csdk_http_t *h)
{
    CURL *c = h->curl;

    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, h->tls ? "https" : "http");
    if (h->unix_path)
        curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, h->unix_path);
    if (h->tls) {
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, h->verify ? 1L : 0L);
        curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, h->verify ? 2L : 0L);
        if (h->ca_file)
            curl_easy_setopt(c, CURLOPT_CAINFO, h->ca_file);
        if (h->cert_file)
            curl_easy_setopt(c, CURLOPT_SSLCERT, h->cert_file);
        if (h->key_file)
            curl_easy_setopt(c, CURLOPT_SSLKEY, h->key_file);
    }
    return 0;
}

int csdk_http_do(csdk_http_t *h, const csdk_http_req_t *req,
                 csdk_http_resp_t *resp, char *err, size_t errlen)
{
    CURL *c = h->curl;
    struct xfer x;
    struct curl_slist *hdrs = NULL, *t;
    char curl_msg[CURL_ERROR_SIZE] = "";
    char *url = NULL;
    CURLcode cc;
    int rc = 0;

    memset(resp, 0, sizeof *resp);
    resp->retry_after_ms = -1;
    if (err && errlen)
        *err = '\0';
    memset(&x, 0, sizeof x);
    x.req = req;
    x.resp = resp;
    x.curl = c;
    x.cap = req->max_body ? req->max_body : DEFAULT_MAX_BODY;

    curl_easy_reset(c); /* keeps the connection cache */
    if (asprintf(&url, "%s%s", h->base, req->path ? req->path : "/") < 0) {
        url = NULL;
        rc = CSDK_E_NOMEM;
        goto out;
    }
    set_transport(h);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_msg);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
    if (req->timeout_ms > 0)
        curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->timeout_ms);
    if (req->should_stop) {
        curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(c, CURLOPT_XFERINFODATA, &x);
    }
    /* No "Expect: 100-continue" round trip before bodies. */
    if (!(hdrs = curl_slist_append(NULL, "Expect:"))) {
        rc = CSDK_E_NOMEM;
        goto out;
    }
    for (const char *const *p = req->headers; p && *p; p++) {
        if (!(t = curl_slist_append(hdrs, *p))) {
            rc = CSDK_E_NOMEM;
            goto out;
        }
        hdrs = t;
    }
    if ((rc = set_body(h, req, &x, &hdrs)))
        goto out;
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);

    cc = curl_easy_perform(c);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
    if (cc != CURLE_OK) {
        rc = map_error(h, cc, &x, curl_msg, err, errlen);
        goto out;
    }
    if (!resp->body && !(resp->body = calloc(1, 1)))
        rc = CSDK_E_NOMEM;
out:
    if (rc == CSDK_E_NOMEM && err && errlen && !*err)
        snprintf(err, errlen, "out of memory talking to %s", h->endpoint);
    curl_slist_free_all(hdrs);
    /* The easy handle must not keep pointers into this call's memory. */
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
    free(url);
    return rc;
}
