/*
 * plugins/namespace/rpc.c - one Connect unary call over csdk_http.
 *
 * Every request of the plugin goes through ns_rpc_raw: it adds the
 * headers (the bearer token among them), bounds the request, maps a
 * transport failure or an error reply to a status with one line of text,
 * and logs the call at debug level without its body or headers (no
 * secret reaches a log).  HTTP handles are kept per origin so connections
 * are reused; the slot thread and each worker thread have their own.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "ns.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <unistd.h>

void ns_random_hex(char out[33])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char b[16];
    size_t got = 0;

    while (got < sizeof b) {
        ssize_t n = getrandom(b + got, sizeof b - got, 0);

        if (n > 0) {
            got += (size_t)n;
        } else if (n < 0 && errno != EINTR) {
            /* No entropy source: still unique enough per process. */
            for (size_t i = got; i < sizeof b; i++)
                b[i] = (unsigned char)(rand() ^ (getpid() >> (i % 8)));
            break;
        }
    }
    for (size_t i = 0; i < sizeof b; i++) {
        out[2 * i] = hex[b[i] >> 4];
        out[2 * i + 1] = hex[b[i] & 15];
    }
    out[32] = '\0';
}

int ns_split_url(const char *url, char **origin, char **prefix)
{
    const char *host = strstr(url, "://"), *slash;
    size_t n;

    *origin = *prefix = NULL;
    if (host == NULL || host == url || host[3] == '\0' || host[3] == '/')
        return -1;
    slash = strchr(host + 3, '/');
    n = slash != NULL ? (size_t)(slash - url) : strlen(url);
    *origin = strndup(url, n);
    *prefix = strdup(slash != NULL ? slash : "");
    if (*origin == NULL || *prefix == NULL) {
        free(*origin);
        free(*prefix);
        *origin = *prefix = NULL;
        return -1;
    }
    n = strlen(*prefix);
    while (n > 0 && (*prefix)[n - 1] == '/')
        (*prefix)[--n] = '\0';
    return 0;
}

csdk_http_t *ns_conn_get(ns_state_t *st, ns_conn_t *slots, unsigned *next,
                         const char *origin, ns_err_t *e)
{
    csdk_http_tls_t tls = {st->conf.ca_file, NULL, NULL, 1};
    ns_conn_t *c;
    char err[256];

    for (unsigned i = 0; i < NS_CONN_SLOTS; i++)
        if (slots[i].origin != NULL && strcmp(slots[i].origin, origin) == 0)
            return slots[i].http;
    c = &slots[*next % NS_CONN_SLOTS];
    (*next)++;
    csdk_http_free(c->http);
    free(c->origin);
    c->http = NULL;
    c->origin = strdup(origin);
    if (c->origin == NULL) {
        ns_err_set(e, "out of memory");
        return NULL;
    }
    c->http = csdk_http_new(origin,
                            strncmp(origin, "https://", 8) == 0 ? &tls : NULL,
                            err, sizeof err);
    if (c->http == NULL) {
        ns_err_set(e, "cannot talk to %s: %s", origin, err);
        free(c->origin);
        c->origin = NULL;
    }
    return c->http;
}

void ns_conns_free(ns_conn_t *slots)
{
    for (unsigned i = 0; i < NS_CONN_SLOTS; i++) {
        csdk_http_free(slots[i].http);
        free(slots[i].origin);
        slots[i].http = NULL;
        slots[i].origin = NULL;
    }
}

/* A 200 reply must be JSON: anything else is PROTOCOL with an excerpt. */
static csdk_status_t ns_check_type(ns_state_t *st, const ns_rpc_t *r,
                                   const csdk_http_resp_t *resp, ns_err_t *e)
{
    const char *ct = resp->content_type;
    char ex[400];

    if (ct != NULL && strncasecmp(ct, "application/json", 16) == 0)
        return CSDK_OK;
    ns_excerpt(ex, sizeof ex, resp->body, resp->body_len, 80, st->token);
    ns_err_set(e, "Namespace %s: malformed reply (%s instead of "
               "application/json; %zu bytes: \"%s\"); is base_url the "
               "compute API?",
               r->method, ct != NULL ? ct : "no content type",
               resp->body_len, ex);
    return CSDK_E_PROTOCOL;
}

csdk_status_t ns_rpc_raw(ns_state_t *st, ns_conn_t *slots, unsigned *next,
                         const ns_rpc_t *r, csdk_http_resp_t *resp,
                         ns_err_t *e)
{
    const char *url = r->endpoint != NULL ? r->endpoint : st->conf.base_url;
    const char *service = r->endpoint != NULL ? NS_COMMAND : NS_COMPUTE;
    const char *headers[5];
    char deadline[48], err[512], *origin = NULL, *prefix = NULL, *path = NULL;
    csdk_http_req_t req;
    csdk_http_t *h;
    uint64_t t0 = st->host->monotonic_ms();
    int rc;

    memset(resp, 0, sizeof *resp);
    resp->retry_after_ms = -1;
    e->retry_after_ms = -1;
    e->msg[0] = '\0';
    if (ns_split_url(url, &origin, &prefix) != 0) {
        ns_err_set(e, "Namespace %s: '%.200s' is not a URL", r->method, url);
        return CSDK_E_CONFIG;
    }
    h = ns_conn_get(st, slots, next, origin, e);
    if (h == NULL || asprintf(&path, "%s%s%s", prefix, service, r->method) < 0) {
        free(origin);
        free(prefix);
        if (h != NULL)
            ns_err_set(e, "out of memory");
        return h != NULL ? CSDK_E_NOMEM : CSDK_E_CONFIG;
    }
    headers[0] = "Content-Type: application/json";
    headers[1] = "Connect-Protocol-Version: 1";
    headers[2] = st->auth_header;
    headers[3] = NULL;
    if (r->server_ms > 0) {
        snprintf(deadline, sizeof deadline, "Connect-Timeout-Ms: %" PRIu64,
                 r->server_ms > UINT64_C(9999999999) ? UINT64_C(9999999999)
                                                     : r->server_ms);
        headers[3] = deadline;
    }
    headers[4] = NULL;
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.path = path;
    req.headers = headers;
    req.body = r->body;
    req.body_len = r->body_len;
    req.should_stop = r->should_stop;
    req.stop_arg = r->stop_arg;
    req.timeout_ms = r->timeout_ms > (uint64_t)INT32_MAX ? INT32_MAX
                                                          : (long)r->timeout_ms;
    req.max_body = r->max_body ? r->max_body : NS_MAX_REPLY;
    rc = csdk_http_do(h, &req, resp, err, sizeof err);
    st->host->log(st->inst, CSDK_LOG_DEBUG,
                  "POST %s%s: %s%ld in %" PRIu64 " ms (%zu bytes sent, %zu "
                  "received)",
                  origin, path, rc ? "failed, " : "", rc ? 0L : resp->status,
                  st->host->monotonic_ms() - t0, r->body_len, resp->body_len);
    free(origin);
    free(prefix);
    free(path);
    if (rc != 0) {
        /* err names the endpoint and the cause, never a header. */
        ns_err_set(e, "Namespace %s: %s%s", r->method, err,
                   rc == CSDK_E_CONNECTION
                       ? " (check base_url and this machine's network)"
                       : "");
        csdk_http_resp_clear(resp);
        return rc;
    }
    if (resp->status != 200) {
        rc = ns_map_error(resp->status, resp->body, resp->body_len,
                          resp->content_type, resp->retry_after_ms,
                          r->method, st->token, e);
        csdk_http_resp_clear(resp);
        return rc;
    }
    rc = ns_check_type(st, r, resp, e);
    if (rc != CSDK_OK)
        csdk_http_resp_clear(resp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* On the slot thread                                                  */
/* ------------------------------------------------------------------ */

typedef struct ns_stop_arg {
    ns_state_t *st;
    csdk_call_t *call;
} ns_stop_arg_t;

static int ns_call_stopped(void *arg)
{
    ns_stop_arg_t *a = arg;

    return a->st->host->cancelled(a->call) != 0;
}

csdk_status_t ns_nomem(ns_state_t *st, csdk_call_t *call)
{
    return st->host->error(call, CSDK_E_NOMEM, "out of memory");
}

csdk_status_t ns_stopped(ns_state_t *st, csdk_call_t *call, const char *what)
{
    if (st->host->remaining_ms(call) == 0)
        return st->host->error(call, CSDK_E_TIMEOUT,
                               "the call's deadline passed while %s", what);
    return st->host->error(call, CSDK_E_CANCELLED, "cancelled while %s",
                           what);
}

uint64_t ns_budget(ns_state_t *st, csdk_call_t *call)
{
    uint64_t left = st->host->remaining_ms(call);

    return left < st->conf.request_timeout_ms ? left
                                              : st->conf.request_timeout_ms;
}

csdk_status_t ns_fail(ns_state_t *st, csdk_call_t *call, csdk_status_t rc,
                      const ns_err_t *e)
{
    if (e->retry_after_ms >= 0 &&
        (rc == CSDK_E_RATE_LIMITED || rc == CSDK_E_UNAVAILABLE ||
         rc == CSDK_E_CONNECTION))
        st->host->retry_after(call, (uint64_t)e->retry_after_ms);
    return st->host->error(call, rc, "%s", e->msg);
}

csdk_status_t ns_rpc(ns_state_t *st, csdk_call_t *call, ns_rpc_t *r,
                     csdk_http_resp_t *resp)
{
    ns_stop_arg_t arg = {st, call};
    uint64_t left = st->host->remaining_ms(call);
    ns_err_t e;
    csdk_status_t rc;

    memset(resp, 0, sizeof *resp);
    resp->retry_after_ms = -1;
    if (left == 0 || st->host->cancelled(call)) {
        char what[64];

        snprintf(what, sizeof what, "calling %s", r->method);
        return ns_stopped(st, call, what);
    }
    if (r->timeout_ms == 0)
        r->timeout_ms = ns_budget(st, call);
    else if (r->timeout_ms > left)
        r->timeout_ms = left;
    if (r->should_stop == NULL) {
        r->should_stop = ns_call_stopped;
        r->stop_arg = &arg;
    }
    rc = ns_rpc_raw(st, st->conns, &st->conn_next, r, resp, &e);
    if (r->stop_arg == &arg) {
        r->should_stop = NULL;
        r->stop_arg = NULL;
    }
    if (rc == CSDK_OK)
        return CSDK_OK;
    if ((rc == CSDK_E_CANCELLED || rc == CSDK_E_TIMEOUT) &&
        (st->host->cancelled(call) || st->host->remaining_ms(call) == 0)) {
        char what[64];

        snprintf(what, sizeof what, "waiting for %s", r->method);
        return ns_stopped(st, call, what);
    }
    return ns_fail(st, call, rc, &e);
}
