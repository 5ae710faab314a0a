/* The Docker Engine API: connection, version negotiation, requests and
 * the mapping of the engine's replies to csdk statuses. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "reply.h"

/* The API versions this code speaks.  It uses nothing newer than 1.41
 * (Engine 20.10); engines since 25.0 refuse clients older than 1.24 and
 * since 29 older than 1.44, so the daemon's own version is used, capped at
 * the newest tested here. */
#define DK_API_MIN_MAJOR 1
#define DK_API_MIN_MINOR 40
#define DK_API_MAX_MINOR 47

/* Longest engine message quoted in an error. */
#define DK_MSG_MAX 300

static int parse_version(const char *s, int *major, int *minor)
{
    char *end;
    long a, b;

    if (!s)
        return -1;
    if (*s == 'v')
        s++;
    a = strtol(s, &end, 10);
    if (end == s || *end != '.')
        return -1;
    s = end + 1;
    b = strtol(s, &end, 10);
    if (end == s || a < 0 || a > 99 || b < 0 || b > 999)
        return -1;
    *major = (int)a;
    *minor = (int)b;
    return 0;
}

/* How long one request may take: the configured cap, shortened to what
 * is left of the call's deadline.  0 when the deadline has passed. */
static long request_budget(dk_state_t *st, csdk_call_t *call)
{
    uint64_t left = st->host->remaining_ms(call);
    uint64_t cap = st->conf.request_timeout_ms;

    if (cap && cap < left)
        left = cap;
    if (left == UINT64_MAX || left > (uint64_t)LONG_MAX)
        return 0x7fffffffL;
    return (long)left;
}

static int stop_requested(void *arg)
{
    void **a = arg;
    const csdk_host_t *h = a[0];

    return h->cancelled(a[1]) != 0;
}

/* The status for a call that stopped because of its deadline or caller. */
static csdk_status_t stopped_status(dk_state_t *st, csdk_call_t *call,
                                    const char *what)
{
    if (st->host->remaining_ms(call) == 0)
        return st->host->error(call, CSDK_E_TIMEOUT,
                               "%s: the call's deadline passed", what);
    return st->host->error(call, CSDK_E_CANCELLED, "%s: cancelled", what);
}

int dk_send_raw(dk_state_t *st, csdk_call_t *call, csdk_http_req_t *req,
                csdk_http_resp_t *resp, char *err, size_t errlen)
{
    const char *path = req->path;
    char *full;
    void *stop_arg[2] = {(void *)st->host, call};
    uint64_t left = st->host->remaining_ms(call);
    uint64_t cap = req->timeout_ms > 0 ? (uint64_t)req->timeout_ms
                                       : st->conf.request_timeout_ms;
    long budget;
    int rc;

    memset(resp, 0, sizeof *resp);
    resp->retry_after_ms = -1;
    if (cap && cap < left)
        left = cap;
    budget = left > (uint64_t)LONG_MAX ? LONG_MAX : (long)left;
    if (budget == 0) {
        snprintf(err, errlen, "the call's deadline passed");
        return CSDK_E_TIMEOUT;
    }
    if (!(full = dk_printf("%s%s", st->api, path))) {
        snprintf(err, errlen, "out of memory");
        return CSDK_E_NOMEM;
    }
    req->path = full;
    req->timeout_ms = budget;
    req->should_stop = stop_requested;
    req->stop_arg = stop_arg;
    rc = csdk_http_do(st->http, req, resp, err, errlen);
    req->path = path;
    req->should_stop = NULL;
    req->stop_arg = NULL;
    free(full);
    if (rc)
        csdk_http_resp_clear(resp);
    return rc;
}

csdk_status_t dk_send(dk_state_t *st, csdk_call_t *call,
                      csdk_http_req_t *req, csdk_http_resp_t *resp,
                      const char *what)
{
    char err[512];
    int rc;

    if (!st->api[0] && (rc = dk_connect(st, call)) != CSDK_OK)
        return rc;
    req->timeout_ms = 0;
    rc = dk_send_raw(st, call, req, resp, err, sizeof err);
    if (rc == 0)
        return CSDK_OK;
    if (rc == CSDK_E_CANCELLED ||
        (rc == CSDK_E_TIMEOUT && st->host->remaining_ms(call) == 0))
        return stopped_status(st, call, what);
    if (rc == CSDK_E_TIMEOUT)
        return st->host->error(call, CSDK_E_TIMEOUT,
                               "%s: the engine did not answer within %llu "
                               "ms (request_timeout_ms)", what,
                               (unsigned long long)st->conf.request_timeout_ms);
    if (rc == CSDK_E_PERMISSION || rc == CSDK_E_CONNECTION ||
        rc == CSDK_E_PROTOCOL || rc == CSDK_E_NOMEM)
        return st->host->error(call, rc, "%s: %s", what, err);
    /* A callback's own status: it recorded its error already. */
    return rc;
}

csdk_status_t dk_reply_error(dk_state_t *st, csdk_call_t *call,
                             const csdk_http_resp_t *resp, const char *what)
{
    char msg[DK_MSG_MAX + 8];
    csdk_status_t code;

    dk_parse_message(resp->body, resp->body_len, msg, sizeof msg);
    switch (resp->status) {
    case 400: code = CSDK_E_INVALID_ARGUMENT; break;
    case 401: code = CSDK_E_AUTH; break;
    case 403: code = CSDK_E_PERMISSION; break;
    case 404: code = CSDK_E_NOT_FOUND; break;
    case 409: code = CSDK_E_CONFLICT; break;
    case 429: code = CSDK_E_RATE_LIMITED; break;
    case 500:
    case 502:
    case 503:
    case 504: code = CSDK_E_UNAVAILABLE; break;
    default: code = CSDK_E_PROTOCOL; break;
    }
    if (resp->retry_after_ms >= 0 &&
        (code == CSDK_E_RATE_LIMITED || code == CSDK_E_UNAVAILABLE))
        st->host->retry_after(call, (uint64_t)resp->retry_after_ms);
    return st->host->error(call, code, "%s: the engine answered %ld: %s",
                           what, resp->status, msg);
}

static int quiet_status(const char *quiet, long status)
{
    char buf[8];

    if (!quiet)
        return 0;
    snprintf(buf, sizeof buf, "%ld", status);
    for (const char *p = quiet; (p = strstr(p, buf)); p++)
        if ((p == quiet || p[-1] == ',') && (p[3] == '\0' || p[3] == ','))
            return 1;
    return 0;
}

csdk_status_t dk_json(dk_state_t *st, csdk_call_t *call, const char *method,
                      const char *path, json_t *body, json_t **reply,
                      const char *what, const char *quiet, long *status_out)
{
    static const char *const json_hdr[] = {
        "Content-Type: application/json", NULL};
    csdk_http_req_t req;
    csdk_http_resp_t resp;
    char *text = NULL;
    json_error_t jerr;
    csdk_status_t rc;

    if (reply)
        *reply = NULL;
    if (status_out)
        *status_out = 0;
    memset(&req, 0, sizeof req);
    req.method = method;
    req.path = path;
    if (body) {
        if (!(text = json_dumps(body, JSON_COMPACT)))
            return st->host->error(call, CSDK_E_NOMEM, "out of memory");
        req.headers = json_hdr;
        req.body = text;
        req.body_len = strlen(text);
    }
    rc = dk_send(st, call, &req, &resp, what);
    free(text);
    if (rc != CSDK_OK)
        return rc;
    if (status_out)
        *status_out = resp.status;
    if (resp.status < 200 || resp.status >= 300) {
        if (quiet_status(quiet, resp.status))
            rc = resp.status == 404 ? CSDK_E_NOT_FOUND
                 : resp.status == 409 ? CSDK_E_CONFLICT
                 : resp.status == 304 ? CSDK_OK
                                      : CSDK_E_PROTOCOL;
        else
            rc = dk_reply_error(st, call, &resp, what);
        csdk_http_resp_clear(&resp);
        return rc;
    }
    if (reply && resp.body_len > 0) {
        *reply = json_loadb(resp.body, resp.body_len, 0, &jerr);
        if (!*reply) {
            char excerpt[61];
            size_t i, n = resp.body_len < 60 ? resp.body_len : 60;
            for (i = 0; i < n; i++)
                excerpt[i] = (resp.body[i] >= 32 && resp.body[i] < 127)
                                 ? resp.body[i] : '.';
            excerpt[n] = '\0';
            rc = st->host->error(call, CSDK_E_PROTOCOL,
                                 "%s: the engine's reply is not JSON (%s) "
                                 "at: %s", what, jerr.text, excerpt);
        }
    }
    csdk_http_resp_clear(&resp);
    return rc;
}

/* Endpoint and TLS from the configuration and the environment, the way
 * the docker CLI reads them. */
static csdk_status_t open_http(dk_state_t *st, csdk_call_t *call)
{
    const dk_conf_t *c = &st->conf;
    csdk_http_tls_t tls;
    char *ca = NULL, *cert = NULL, *key = NULL, err[512];
    int use_tls = c->tls_verify || (c->cert_path && *c->cert_path);

    memset(&tls, 0, sizeof tls);
    if (use_tls) {
        if (c->cert_path && *c->cert_path) {
            ca = dk_printf("%s/ca.pem", c->cert_path);
            cert = dk_printf("%s/cert.pem", c->cert_path);
            key = dk_printf("%s/key.pem", c->cert_path);
            if (!ca || !cert || !key) {
                free(ca), free(cert), free(key);
                return st->host->error(call, CSDK_E_NOMEM, "out of memory");
            }
        }
        tls.ca_file = ca;
        tls.cert_file = cert;
        tls.key_file = key;
        tls.verify = c->tls_verify;
    }
    st->http = csdk_http_new(c->host, use_tls ? &tls : NULL, err, sizeof err);
    free(ca), free(cert), free(key);
    if (!st->http)
        return st->host->error(call, CSDK_E_CONFIG, "docker host: %s "
                               "(set host = unix:///var/run/docker.sock or "
                               "tcp://HOST:2376)", err);
    return CSDK_OK;
}

csdk_status_t dk_connect(dk_state_t *st, csdk_call_t *call)
{
    csdk_http_req_t req;
    csdk_http_resp_t resp;
    char err[512];
    const char *ver;
    int major = 0, minor = 0, rc;
    long budget = request_budget(st, call);

    if (!st->http && (rc = open_http(st, call)) != CSDK_OK)
        return rc;
    if (budget == 0)
        return stopped_status(st, call, "connecting to the engine");
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.path = "/_ping";
    req.timeout_ms = budget;
    req.capture_header = "API-Version";
    rc = csdk_http_do(st->http, &req, &resp, err, sizeof err);
    if (rc == 0 && resp.status == 200) {
        /* Podman adds its own version header to /_ping; asking /version
         * instead costs it most of a second. */
        csdk_http_resp_t lib;
        req.capture_header = "Libpod-Api-Version";
        if (csdk_http_do(st->http, &req, &lib, err, sizeof err) == 0)
            st->podman = lib.captured != NULL;
        csdk_http_resp_clear(&lib);
    }
    if (rc != 0) {
        csdk_http_resp_clear(&resp);
        if (rc == CSDK_E_TIMEOUT && st->host->remaining_ms(call) == 0)
            return stopped_status(st, call, "connecting to the engine");
        return st->host->error(call, rc == CSDK_E_PERMISSION
                                         ? CSDK_E_PERMISSION
                                         : CSDK_E_CONNECTION,
                               "docker engine: %s", err);
    }
    if (resp.status != 200) {
        rc = dk_reply_error(st, call, &resp, "docker engine /_ping");
        csdk_http_resp_clear(&resp);
        return rc;
    }
    ver = st->conf.api_version ? st->conf.api_version : resp.captured;
    if (parse_version(ver, &major, &minor) != 0) {
        csdk_http_resp_clear(&resp);
        return st->host->error(call, CSDK_E_PROTOCOL,
                               "docker engine at %s did not say its API "
                               "version (no API-Version header on /_ping); "
                               "set api_version = 1.41 to pin one",
                               csdk_http_endpoint(st->http));
    }
    csdk_http_resp_clear(&resp);
    if (major != DK_API_MIN_MAJOR || minor < DK_API_MIN_MINOR)
        return st->host->error(call, CSDK_E_NOT_SUPPORTED,
                               "docker engine at %s speaks API %d.%d; csdk "
                               "needs %d.%d or newer (Docker Engine 19.03+, "
                               "Podman 3+): upgrade the engine",
                               csdk_http_endpoint(st->http), major, minor,
                               DK_API_MIN_MAJOR, DK_API_MIN_MINOR);
    if (minor > DK_API_MAX_MINOR && !st->conf.api_version)
        minor = DK_API_MAX_MINOR;
    snprintf(st->api, sizeof st->api, "/v%d.%d", major, minor);
    st->host->log(st->inst, CSDK_LOG_DEBUG, "engine %s at %s, API %s",
                  st->podman ? "podman" : "docker",
                  csdk_http_endpoint(st->http), st->api + 2);
    return CSDK_OK;
}

csdk_status_t dk_check_id(dk_state_t *st, csdk_call_t *call, const char *id)
{
    size_t n = id ? strlen(id) : 0;

    if (n >= 12 && n <= 64 && strspn(id, "0123456789abcdef") == n)
        return CSDK_OK;
    return st->host->error(call, CSDK_E_NOT_FOUND,
                           "no sandbox '%s' (docker ids are 12-64 lowercase "
                           "hex digits)", id ? id : "");
}

csdk_status_t dk_inspect(dk_state_t *st, csdk_call_t *call, const char *id,
                         json_t **out)
{
    char *path, what[96];
    json_t *j = NULL;
    dk_record_t r;
    csdk_status_t rc;

    *out = NULL;
    if ((rc = dk_check_id(st, call, id)) != CSDK_OK)
        return rc;
    if (!(path = dk_printf("/containers/%s/json", id)))
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    snprintf(what, sizeof what, "sandbox %.64s", id);
    rc = dk_json(st, call, "GET", path, NULL, &j, what, "404", NULL);
    free(path);
    if (rc == CSDK_E_NOT_FOUND)
        return st->host->error(call, CSDK_E_NOT_FOUND, "no sandbox %s", id);
    if (rc != CSDK_OK)
        return rc;
    if (dk_parse_record(j, 0, &r)) {
        json_decref(j);
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "no sandbox %s (that container was not made "
                               "by csdk)", id);
    }
    if (dk_record_expired(&r, st->host->now_ms())) {
        const char *full = json_string_value(json_object_get(j, "Id"));
        if (full && st->conf.cleanup != DK_CLEANUP_NEVER)
            dk_remove_container(st, call, full);
        json_decref(j);
        return st->host->error(call, CSDK_E_NOT_FOUND, "no sandbox %s (it "
                               "expired)", id);
    }
    *out = j;
    return CSDK_OK;
}

void dk_remove_container(dk_state_t *st, csdk_call_t *call, const char *id)
{
    char *path = dk_printf("/containers/%s?force=1&v=1", id);
    long status = 0;

    if (path && dk_json(st, call, "DELETE", path, NULL, NULL,
                        "remove container", "404,409", &status) != CSDK_OK &&
        status != 404 && status != 409)
        st->host->log(st->inst, CSDK_LOG_WARN, "could not remove container "
                      "%.12s; remove it with docker rm -f", id);
    free(path);
}
