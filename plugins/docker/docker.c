/* The docker provider: sandboxes are containers on a Docker Engine (or
 * Podman) reached through its HTTP API (docs/docker-provider.md).
 *
 * This file holds the entry point, init, and the container lifecycle:
 * create, get, info, list, destroy, url and named sandboxes.  Commands are
 * in exec.c, files in files.c, templates and snapshots in saved.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "docker.h"
#include "reply.h"

#define DK_VERSION "1.0.0"

/* The container's main process: it keeps the container alive for the
 * sandbox's lifetime ($1 seconds; 0 = until stopped) and exits at once on
 * SIGTERM, so a stop does not wait out its grace period. */
static const char keepalive_script[] =
    "trap 'exit 0' TERM; "
    "if [ \"$1\" = 0 ]; then while :; do sleep 86400 & wait $!; done; "
    "else sleep \"$1\" & wait $!; fi";

/* ------------------------------------------------------------ records */

/* Reports a sandbox record. */
static csdk_status_t put_record(dk_state_t *st, csdk_call_t *call,
                                const dk_record_t *r)
{
    const csdk_host_t *h = st->host;
    const char *k;
    json_t *v;
    int32_t failed = 0;
    size_t plen = strlen(DK_LABEL_META);

    /* Sandbox ids are the engine's short ids (12 hex digits): unique in
     * practice, accepted everywhere the API takes an id, and readable. */
    failed |= h->set_str(call, CSDK_F_ID, r->id);
    failed |= h->set_str(call, CSDK_F_STATUS, dk_status_word(r->state));
    if (r->runtime)
        failed |= h->set_str(call, CSDK_F_RUNTIME, r->runtime);
    failed |= h->set_int(call, CSDK_F_CREATED_MS, r->created_ms);
    failed |= h->set_int(call, CSDK_F_TIMEOUT_MS, r->timeout_ms);
    if (r->timeout_ms > 0)
        failed |= h->set_int(call, CSDK_F_EXPIRES_MS,
                             r->created_ms + r->timeout_ms);
    if (r->name) {
        failed |= h->set_str(call, CSDK_F_NAMESPACE, r->ns);
        failed |= h->set_str(call, CSDK_F_NAME, r->name);
    }
    json_object_foreach(r->labels, k, v) {
        if (!strncmp(k, DK_LABEL_META, plen) && json_is_string(v) &&
            *json_string_value(v)) /* "": blanked by a template */
            failed |= h->set_meta(call, k + plen, json_string_value(v));
    }
    return failed ? h->error(call, CSDK_E_NOMEM, "out of memory") : CSDK_OK;
}

/* The record of an inspected container dk_inspect vouched for. */
static csdk_status_t put_inspect(dk_state_t *st, csdk_call_t *call,
                                 json_t *inspect)
{
    dk_record_t r;

    if (dk_parse_record(inspect, 0, &r))
        return st->host->error(call, CSDK_E_PROTOCOL, "the engine's "
                               "container inspect lacks Id or labels");
    return put_record(st, call, &r);
}

/* ------------------------------------------------------------ images */

static const char *default_image(const dk_conf_t *c, int python)
{
    if (python && c->image_python)
        return c->image_python;
    if (!python && c->image_node)
        return c->image_node;
    if (c->image)
        return c->image;
    return python ? "python:3.11-slim" : "node:20-alpine";
}

/* Pulls `image`, logging progress; the pull reply is a stream of JSON
 * lines, and a failure arrives as {"error": ...} in a 200 reply. */
static int pull_line(void *arg, const void *data, size_t n);

typedef struct pull_state {
    dk_state_t *st;
    dk_buf_t line;
    char error[300];
    char last[120];
} pull_state_t;

static void pull_take_line(pull_state_t *p, const char *s, size_t n)
{
    json_t *j;
    const char *e, *status, *pid;

    if (dk_parse_pull_line(s, n, &j, &e, &status, &pid)) {
        json_decref(j);
        return;
    }
    if (e && !p->error[0])
        snprintf(p->error, sizeof p->error, "%s", e);
    if (status && strcmp(status, p->last) != 0) {
        snprintf(p->last, sizeof p->last, "%s", status);
        p->st->host->log(p->st->inst, CSDK_LOG_INFO, "pull: %s%s%s", status,
                         pid ? " " : "", pid ? pid : "");
    }
    json_decref(j);
}

static int pull_line(void *arg, const void *data, size_t n)
{
    pull_state_t *p = arg;
    const char *s = data, *nl;

    while (n > 0) {
        nl = memchr(s, '\n', n);
        size_t take = nl ? (size_t)(nl - s) : n;
        if (p->line.len + take > 65536)
            p->line.len = 0; /* an absurd line: drop it */
        dk_buf_add(&p->line, s, take);
        if (!nl)
            break;
        if (p->line.data)
            pull_take_line(p, p->line.data, p->line.len);
        p->line.len = 0;
        s = nl + 1;
        n -= take + 1;
    }
    return 0;
}

static csdk_status_t pull_image(dk_state_t *st, csdk_call_t *call,
                                const char *image)
{
    char *ref = csdk_http_escape(image), *path = NULL, *auth = NULL;
    const char *hdrs[2] = {NULL, NULL};
    csdk_http_req_t req;
    csdk_http_resp_t resp;
    pull_state_t p;
    csdk_status_t rc;

    memset(&p, 0, sizeof p);
    p.st = st;
    /* fromImage takes "name:tag" whole; the engine splits it. */
    if (!ref || !(path = dk_printf("/images/create?fromImage=%s", ref))) {
        free(ref);
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    free(ref);
    memset(&req, 0, sizeof req);
    req.method = "POST";
    req.path = path;
    if (st->conf.registry_auth) {
        if (!(auth = dk_printf("X-Registry-Auth: %s",
                               st->conf.registry_auth))) {
            free(path);
            return st->host->error(call, CSDK_E_NOMEM, "out of memory");
        }
        hdrs[0] = auth;
        req.headers = hdrs;
    }
    req.on_body = pull_line;
    req.body_arg = &p;
    st->host->log(st->inst, CSDK_LOG_INFO, "pulling image %s", image);
    rc = dk_send(st, call, &req, &resp, "image pull");
    free(path);
    free(auth);
    if (rc == CSDK_OK && (resp.status < 200 || resp.status >= 300)) {
        char what[300];
        snprintf(what, sizeof what, "pulling image %.200s", image);
        rc = dk_reply_error(st, call, &resp, what);
    } else if (rc == CSDK_OK && p.line.len && p.line.data) {
        pull_take_line(&p, p.line.data, p.line.len);
    }
    csdk_http_resp_clear(&resp);
    if (rc == CSDK_OK && p.error[0])
        rc = st->host->error(call, strstr(p.error, "denied") ||
                                           strstr(p.error, "unauthorized")
                                       ? CSDK_E_AUTH
                                       : CSDK_E_NOT_FOUND,
                             "pulling image %s failed: %s (check the name, "
                             "registry_auth, or use pull_policy = never with "
                             "a local image)", image, p.error);
    dk_buf_free(&p.line);
    return rc;
}

/* Makes sure `image` is there, per the pull policy. */
static csdk_status_t ensure_image(dk_state_t *st, csdk_call_t *call,
                                  const dk_conf_t *c, const char *image)
{
    char *ref, *path;
    csdk_status_t rc;

    if (c->pull_policy == DK_PULL_ALWAYS)
        return pull_image(st, call, image);
    if (!(ref = csdk_http_escape(image)))
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    path = dk_printf("/images/%s/json", ref);
    free(ref);
    if (!path)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    rc = dk_json(st, call, "GET", path, NULL, NULL, "image inspect", "404",
                 NULL);
    free(path);
    if (rc != CSDK_E_NOT_FOUND)
        return rc;
    if (c->pull_policy == DK_PULL_NEVER)
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "image %s is not on the engine and "
                               "pull_policy = never (pull or import it "
                               "first, or set pull_policy = if-not-present)",
                               image);
    return pull_image(st, call, image);
}

/* ------------------------------------------------------------ create */

static int add_label(json_t *labels, const char *k, const char *v)
{
    return json_object_set_new(labels, k, json_string(v ? v : ""));
}

static int add_label_int(json_t *labels, const char *k, int64_t v)
{
    char buf[32];

    snprintf(buf, sizeof buf, "%lld", (long long)v);
    return add_label(labels, k, buf);
}

static json_t *string_array(const dk_strs_t *s)
{
    json_t *a = json_array();

    for (size_t i = 0; a && i < s->n; i++)
        json_array_append_new(a, json_string(s->v[i]));
    return a;
}

/* "[ip:][hostport:]port[/proto]" into ExposedPorts and PortBindings.
 * Without an ip, ports are published on 127.0.0.1 only. */
static int add_port(json_t *exposed, json_t *bindings, const char *spec)
{
    char buf[128], *parts[3], *proto, key[48];
    int n = 0;
    const char *ip = "127.0.0.1", *host_port = "";

    if (strlen(spec) >= sizeof buf)
        return -1;
    strcpy(buf, spec);
    proto = strchr(buf, '/');
    if (proto)
        *proto++ = '\0';
    for (char *p = buf, *colon; n < 3; p = colon + 1) {
        parts[n++] = p;
        if (!(colon = strrchr(p, ':')) || n == 3)
            break;
        /* Split from the left: ip may be [::1]-free IPv4 only. */
        colon = strchr(p, ':');
        *colon = '\0';
    }
    if (n == 3)
        ip = parts[0], host_port = parts[1];
    else if (n == 2)
        host_port = parts[0];
    if (strspn(parts[n - 1], "0123456789") != strlen(parts[n - 1]) ||
        !*parts[n - 1] || strspn(host_port, "0123456789") != strlen(host_port))
        return -1;
    if (proto && strcmp(proto, "tcp") && strcmp(proto, "udp"))
        return -1;
    snprintf(key, sizeof key, "%s/%s", parts[n - 1], proto ? proto : "tcp");
    json_object_set_new(exposed, key, json_object());
    json_object_set_new(bindings, key,
                        json_pack("[{s:s,s:s}]", "HostIp", ip, "HostPort",
                                  host_port));
    return 0;
}

static json_t *device_requests(const char *gpus)
{
    json_t *req = json_pack("{s:s,s:[[s]]}", "Driver", "nvidia",
                            "Capabilities", "gpu");
    char *end;
    long n;

    if (!req)
        return NULL;
    if (!strcmp(gpus, "all")) {
        json_object_set_new(req, "Count", json_integer(-1));
    } else if ((n = strtol(gpus, &end, 10)) > 0 && !*end) {
        json_object_set_new(req, "Count", json_integer(n));
    } else {
        dk_strs_t ids = {0};
        json_t *a = json_array();
        const char *p = gpus;
        (void)ids;
        while (*p) {
            size_t k = strcspn(p, ",");
            if (k)
                json_array_append_new(a, json_stringn(p, k));
            p += k + (p[k] == ',');
        }
        json_object_set_new(req, "DeviceIDs", a);
    }
    return json_pack("[o]", req);
}

static json_t *host_config(const dk_conf_t *c, int network)
{
    json_t *hc = json_object(), *logcfg;
    const char *mode = network && !strcmp(c->network_mode, "none")
                           ? c->network : c->network_mode;

    if (!hc)
        return NULL;
    json_object_set_new(hc, "NetworkMode", json_string(mode));
    if (c->binds.n)
        json_object_set_new(hc, "Binds", string_array(&c->binds));
    json_object_set_new(hc, "Privileged", json_boolean(c->privileged));
    if (c->cap_add.n)
        json_object_set_new(hc, "CapAdd", string_array(&c->cap_add));
    if (c->cap_drop.n)
        json_object_set_new(hc, "CapDrop", string_array(&c->cap_drop));
    if (c->no_new_privileges)
        json_object_set_new(hc, "SecurityOpt",
                            json_pack("[s]", "no-new-privileges"));
    if (c->memory_mb) {
        int64_t mem = (int64_t)c->memory_mb << 20;
        json_object_set_new(hc, "Memory", json_integer(mem));
        json_object_set_new(hc, "MemorySwap",
                            json_integer(c->memory_swap_mb
                                             ? (int64_t)c->memory_swap_mb << 20
                                             : mem));
    }
    if (c->nano_cpus)
        json_object_set_new(hc, "NanoCpus", json_integer((json_int_t)c->nano_cpus));
    if (c->cpu_shares)
        json_object_set_new(hc, "CpuShares", json_integer((json_int_t)c->cpu_shares));
    if (c->pids_limit)
        json_object_set_new(hc, "PidsLimit", json_integer(c->pids_limit));
    if (c->log_driver) {
        json_t *opts = json_object();
        for (size_t i = 0; i < c->log_opts.n; i++) {
            const char *eq = strchr(c->log_opts.v[i], '=');
            if (eq) {
                char *k = strndup(c->log_opts.v[i],
                                  (size_t)(eq - c->log_opts.v[i]));
                if (k)
                    json_object_set_new(opts, k, json_string(eq + 1));
                free(k);
            }
        }
        logcfg = json_pack("{s:s,s:o}", "Type", c->log_driver, "Config",
                           opts);
        json_object_set_new(hc, "LogConfig", logcfg);
    }
    json_object_set_new(hc, "AutoRemove", json_boolean(c->auto_remove));
    if (c->oci_runtime)
        json_object_set_new(hc, "Runtime", json_string(c->oci_runtime));
    if (c->gpus)
        json_object_set_new(hc, "DeviceRequests", device_requests(c->gpus));
    return hc;
}

typedef struct create_req {
    const char *runtime;
    const char *image;
    const char *ns, *name;  /* named sandboxes, else NULL */
    uint64_t created_ms;
    const csdk_create_opts_t *opts;
    int network;
} create_req_t;

static json_t *container_body(dk_state_t *st, const dk_conf_t *c,
                              const create_req_t *r)
{
    json_t *body, *labels = json_object(), *env = json_array();
    json_t *exposed = json_object(), *bindings = json_object(), *hc;
    char secs[24];
    uint64_t t = c->sandbox_timeout_ms;
    const csdk_create_opts_t *o = r->opts;

    snprintf(secs, sizeof secs, "%llu",
             (unsigned long long)(t ? (t + 999) / 1000 : 0));
    add_label(labels, DK_LABEL, "1");
    add_label(labels, DK_LABEL_INSTANCE, st->name);
    add_label(labels, DK_LABEL_RUNTIME, r->runtime);
    add_label_int(labels, DK_LABEL_CREATED, (int64_t)r->created_ms);
    add_label_int(labels, DK_LABEL_TIMEOUT, (int64_t)t);
    if (r->name) {
        add_label(labels, DK_LABEL_NS, r->ns);
        add_label(labels, DK_LABEL_NAME, r->name);
    }
    for (size_t i = 0; i < o->n_metadata; i++) {
        char *k = dk_printf("%s%s", DK_LABEL_META, o->metadata[i].key);
        if (k)
            add_label(labels, k, o->metadata[i].value);
        free(k);
    }
    for (size_t i = 0; i < c->env.n; i++)
        json_array_append_new(env, json_string(c->env.v[i]));
    for (size_t i = 0; i < o->n_env; i++) {
        char *kv = dk_printf("%s=%s", o->env[i].key, o->env[i].value);
        if (kv)
            json_array_append_new(env, json_string(kv));
        free(kv);
    }
    for (size_t i = 0; i < c->ports.n; i++)
        if (add_port(exposed, bindings, c->ports.v[i])) {
            json_decref(labels), json_decref(env), json_decref(exposed);
            json_decref(bindings);
            return NULL;
        }
    hc = host_config(c, r->network);
    if (hc && json_object_size(bindings))
        json_object_set(hc, "PortBindings", bindings);
    json_decref(bindings);
    body = json_pack("{s:s,s:[s,s,s,s,s],s:o,s:o,s:s,s:b,s:b,s:o,s:o}",
                     "Image", r->image, "Cmd", "/bin/sh", "-c",
                     keepalive_script, "csdk-sandbox", secs, "Labels", labels,
                     "Env", env, "WorkingDir", c->workdir, "Tty", c->tty,
                     "OpenStdin", 0, "ExposedPorts", exposed, "HostConfig",
                     hc);
    if (body && c->user)
        json_object_set_new(body, "User", json_string(c->user));
    return body;
}

static csdk_status_t start_and_wait(dk_state_t *st, csdk_call_t *call,
                                    const char *id, json_t **inspect)
{
    char *path = dk_printf("/containers/%s/start", id);
    csdk_status_t rc;

    *inspect = NULL;
    if (!path)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    rc = dk_json(st, call, "POST", path, NULL, NULL, "starting the sandbox",
                 "304", NULL);
    free(path);
    if (rc != CSDK_OK)
        return rc;
    /* The engine answers once the process started; confirm it runs (an
     * image without /bin/sh exits at once). */
    for (int i = 0; i < 100; i++) {
        json_t *j = NULL;
        dk_record_t r;
        const char *s;
        if ((rc = dk_inspect(st, call, id, &j)) != CSDK_OK)
            return rc;
        s = dk_parse_record(j, 0, &r) ? NULL : r.state;
        if (s && !strcmp(s, "running")) {
            *inspect = j;
            return CSDK_OK;
        }
        if (s && (!strcmp(s, "exited") || !strcmp(s, "dead"))) {
            json_decref(j);
            return st->host->error(call, CSDK_E_CONFIG,
                                   "the sandbox's container exited at start "
                                   "(the image needs /bin/sh and sleep; see "
                                   "docker logs %.12s)", id);
        }
        json_decref(j);
        if (st->host->cancelled(call))
            return st->host->error(call, st->host->remaining_ms(call)
                                             ? CSDK_E_CANCELLED
                                             : CSDK_E_TIMEOUT,
                                   "sandbox %.12s did not start in time", id);
        usleep(20000);
    }
    return st->host->error(call, CSDK_E_TIMEOUT, "sandbox %.12s did not "
                           "reach running within 2 s", id);
}

/* The container name of a named sandbox: "csdk.INSTANCE.NS.NAME" with
 * every byte outside [A-Za-z0-9-] written as _XX, so the name is valid for
 * the engine and no two (ns, name) pairs share one. */
static char *container_name(const char *inst, const char *ns,
                            const char *name)
{
    const char *parts[3] = {inst, ns, name};
    dk_buf_t b = {0};

    dk_buf_add(&b, "csdk", 4);
    for (int i = 0; i < 3; i++) {
        dk_buf_add(&b, ".", 1);
        for (const unsigned char *p = (const unsigned char *)parts[i]; *p;
             p++) {
            if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                (*p >= '0' && *p <= '9') || *p == '-') {
                dk_buf_add(&b, p, 1);
            } else {
                char hex[4];
                snprintf(hex, sizeof hex, "_%02x", *p);
                dk_buf_add(&b, hex, 3);
            }
        }
    }
    if (b.failed) {
        dk_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static csdk_status_t resolve_runtime(dk_state_t *st, csdk_call_t *call,
                                     const dk_conf_t *c,
                                     const csdk_create_opts_t *o,
                                     const char **runtime)
{
    const char *rt = o->runtime ? o->runtime : c->runtime;

    if (!strcmp(rt, "python") || !strcmp(rt, "node")) {
        *runtime = rt;
        return CSDK_OK;
    }
    return st->host->error(call, CSDK_E_INVALID_ARGUMENT, "runtime '%s' is "
                           "not supported by the docker provider (python or "
                           "node)", rt);
}

/* A saved image to create from: csdk's, by id. */
static csdk_status_t template_image(dk_state_t *st, csdk_call_t *call,
                                    const char *tid, char **image)
{
    json_t *j = NULL;
    char *path;
    csdk_status_t rc;
    size_t n = strlen(tid);

    *image = NULL;
    if (n < 12 || n > 64 || strspn(tid, "0123456789abcdef") != n)
        return st->host->error(call, CSDK_E_NOT_FOUND, "no template or "
                               "snapshot '%s'", tid);
    /* "sha256:" for a full id: Podman answers 500, not 404, to a bare
     * 64-digit id it does not have. */
    if (!(path = dk_printf("/images/%s%s/json", n == 64 ? "sha256:" : "",
                           tid)))
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    rc = dk_json(st, call, "GET", path, NULL, &j, "template", "404", NULL);
    free(path);
    if (rc == CSDK_E_NOT_FOUND ||
        (rc == CSDK_OK &&
         !json_is_string(json_object_get(
             json_object_get(json_object_get(j, "Config"), "Labels"),
             DK_LABEL_SAVED)))) {
        json_decref(j);
        return st->host->error(call, CSDK_E_NOT_FOUND, "no template or "
                               "snapshot '%s'", tid);
    }
    json_decref(j);
    if (rc != CSDK_OK)
        return rc;
    if (!(*image = strdup(tid)))
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    return CSDK_OK;
}

static csdk_status_t do_create(dk_state_t *st, csdk_call_t *call,
                               const csdk_create_opts_t *opts, const char *ns,
                               const char *name)
{
    csdk_create_opts_t o;
    dk_conf_t c;
    create_req_t r;
    json_t *body = NULL, *reply = NULL, *inspect = NULL;
    char *path = NULL, *cname = NULL, *image = NULL, *id = NULL;
    csdk_status_t rc;

    csdk_opts_read(&o, sizeof o, opts);
    if (dk_conf_copy(&c, &st->conf))
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < o.n_extra; i++)
        if ((rc = dk_conf_set(st, call, &c, o.extra[i].key,
                              o.extra[i].value, 1)) != CSDK_OK)
            goto out;
    if (o.timeout_ms)
        c.sandbox_timeout_ms = o.timeout_ms;
    memset(&r, 0, sizeof r);
    r.opts = &o;
    r.ns = ns;
    r.name = name;
    r.network = (o.flags & CSDK_CREATE_NETWORK) != 0;
    if (r.network && !strcmp(c.network_mode, "none") &&
        (!c.network || !strcmp(c.network, "none"))) {
        rc = st->host->error(call, CSDK_E_NOT_SUPPORTED, "network access is "
                             "turned off for provider %s (network = none); "
                             "set network = bridge (or a network name) in "
                             "its configuration to allow it", st->name);
        goto out;
    }
    r.created_ms = st->host->now_ms();
    if ((rc = resolve_runtime(st, call, &c, &o, &r.runtime)) != CSDK_OK)
        goto out;
    if (!st->api[0] && (rc = dk_connect(st, call)) != CSDK_OK)
        goto out;
    if (o.template_id) {
        if ((rc = template_image(st, call, o.template_id, &image)) != CSDK_OK)
            goto out;
        r.image = image;
    } else {
        r.image = default_image(&c, !strcmp(r.runtime, "python"));
        if ((rc = ensure_image(st, call, &c, r.image)) != CSDK_OK)
            goto out;
    }
    if (!(body = container_body(st, &c, &r))) {
        rc = st->host->error(call, CSDK_E_INVALID_ARGUMENT, "a value is not "
                             "valid (ports must be [ip:][hostport:]port"
                             "[/tcp|udp]; strings must be UTF-8)");
        goto out;
    }
    if (name) {
        char *esc;
        if (!(cname = container_name(st->name, ns, name)) ||
            !(esc = csdk_http_escape(cname))) {
            rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
            goto out;
        }
        path = dk_printf("/containers/create?name=%s", esc);
        free(esc);
    } else {
        path = strdup("/containers/create");
    }
    if (!path) {
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
        goto out;
    }
    rc = dk_json(st, call, "POST", path, body, &reply, "creating a sandbox",
                 name ? "409" : NULL, NULL);
    /* A name already taken is 409 on Docker; Podman may answer 500
     * ("name is already in use") when creators race: the caller looks
     * again either way (find_or_create). */
    if (name && rc == CSDK_E_UNAVAILABLE)
        rc = CSDK_E_CONFLICT;
    if (rc == CSDK_E_CONFLICT)
        goto out;
    if (rc != CSDK_OK)
        goto out;
    if (!json_is_string(json_object_get(reply, "Id")) ||
        !(id = strdup(json_string_value(json_object_get(reply, "Id"))))) {
        rc = st->host->error(call, CSDK_E_PROTOCOL, "container create "
                             "answered without an Id");
        goto out;
    }
    for (json_t *w = json_object_get(reply, "Warnings");
         json_is_array(w) && json_array_size(w); w = NULL)
        st->host->log(st->inst, CSDK_LOG_WARN, "engine: %s",
                      json_string_value(json_array_get(w, 0))
                          ? json_string_value(json_array_get(w, 0)) : "?");
    rc = start_and_wait(st, call, id, &inspect);
    if (rc != CSDK_OK) {
        if (c.cleanup == DK_CLEANUP_ALWAYS)
            dk_remove_container(st, call, id);
        goto out;
    }
    rc = put_inspect(st, call, inspect);
out:
    json_decref(body);
    json_decref(reply);
    json_decref(inspect);
    free(path);
    free(cname);
    free(image);
    free(id);
    dk_conf_free(&c);
    return rc;
}

static csdk_status_t dk_create(void *state, csdk_call_t *call,
                               const csdk_create_opts_t *opts)
{
    return do_create(state, call, opts, NULL, NULL);
}

/* ------------------------------------------------------------ get, list */

static csdk_status_t dk_get(void *state, csdk_call_t *call, const char *id)
{
    dk_state_t *st = state;
    json_t *j = NULL;
    csdk_status_t rc = dk_inspect(st, call, id, &j);

    if (rc == CSDK_OK)
        rc = put_inspect(st, call, j);
    json_decref(j);
    return rc;
}

/* get, plus what the container really is: image, engine, limits. */
static csdk_status_t dk_info(void *state, csdk_call_t *call, const char *id)
{
    dk_state_t *st = state;
    const csdk_host_t *h = st->host;
    json_t *j = NULL, *hc;
    csdk_status_t rc = dk_inspect(st, call, id, &j);
    char buf[64];

    if (rc != CSDK_OK)
        return rc;
    rc = put_inspect(st, call, j);
    hc = json_object_get(j, "HostConfig");
    if (rc == CSDK_OK) {
        const char *img = json_string_value(
            json_object_get(json_object_get(j, "Config"), "Image"));
        const char *rt = json_string_value(json_object_get(hc, "Runtime"));
        const char *net = json_string_value(json_object_get(hc, "NetworkMode"));
        json_int_t mem = json_integer_value(json_object_get(hc, "Memory"));
        json_int_t pids = json_integer_value(json_object_get(hc, "PidsLimit"));
        json_int_t cpus = json_integer_value(json_object_get(hc, "NanoCpus"));
        h->set_meta(call, "engine", st->podman ? "podman" : "docker");
        if (img)
            h->set_meta(call, "image", img);
        if (rt)
            h->set_meta(call, "oci_runtime", rt);
        if (net)
            h->set_meta(call, "network", net);
        snprintf(buf, sizeof buf, "%lldMiB", (long long)(mem >> 20));
        h->set_meta(call, "limit.memory", mem ? buf : "none");
        snprintf(buf, sizeof buf, "%lld", (long long)pids);
        h->set_meta(call, "limit.pids", pids > 0 ? buf : "none");
        snprintf(buf, sizeof buf, "%.2f", (double)cpus / 1e9);
        h->set_meta(call, "limit.cpus", cpus ? buf : "none");
    }
    json_decref(j);
    return rc;
}

/* Removes this instance's containers that stopped after their lifetime
 * (the keep-alive exits at expiry). */
static void reap(dk_state_t *st, csdk_call_t *call, json_t *list)
{
    uint64_t now = st->host->now_ms();
    dk_record_t r;
    size_t i;
    json_t *c;

    if (st->conf.cleanup == DK_CLEANUP_NEVER)
        return;
    json_array_foreach(list, i, c) {
        if (!dk_parse_record(c, 1, &r) && dk_record_expired(&r, now))
            dk_remove_container(st, call,
                                json_string_value(json_object_get(c, "Id")));
    }
}

static csdk_status_t list_ours(dk_state_t *st, csdk_call_t *call,
                               json_t **out)
{
    /* One label filter only: Podman 4.3 matches nothing given two.  The
     * csdk label is checked on each entry (dk_parse_record). */
    json_t *filters = json_pack("{s:[]}", "label");
    char *f, *esc, *path, *inst = dk_printf(DK_LABEL_INSTANCE "=%s", st->name);
    csdk_status_t rc;

    *out = NULL;
    if (!filters || !inst) {
        json_decref(filters);
        free(inst);
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    json_array_append_new(json_object_get(filters, "label"),
                          json_string(inst));
    free(inst);
    f = json_dumps(filters, JSON_COMPACT);
    json_decref(filters);
    esc = f ? csdk_http_escape(f) : NULL;
    free(f);
    path = esc ? dk_printf("/containers/json?all=1&filters=%s", esc) : NULL;
    free(esc);
    if (!path)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    rc = dk_json(st, call, "GET", path, NULL, out, "listing sandboxes", NULL,
                 NULL);
    free(path);
    if (rc == CSDK_OK && !json_is_array(*out)) {
        json_decref(*out);
        *out = NULL;
        return st->host->error(call, CSDK_E_PROTOCOL, "the engine's "
                               "container list is not a JSON array");
    }
    return rc;
}

static csdk_status_t dk_list(void *state, csdk_call_t *call)
{
    dk_state_t *st = state;
    json_t *list = NULL, *c;
    csdk_status_t rc = list_ours(st, call, &list);
    size_t i;

    if (rc != CSDK_OK)
        return rc;
    reap(st, call, list);
    json_array_foreach(list, i, c) {
        dk_record_t r;
        if (dk_parse_record(c, 1, &r) ||
            dk_record_expired(&r, st->host->now_ms()))
            continue;
        if (st->host->next_record(call)) {
            rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
            break;
        }
        if ((rc = put_record(st, call, &r)) != CSDK_OK)
            break;
    }
    json_decref(list);
    return rc;
}

/* ------------------------------------------------------------ destroy */

static csdk_status_t dk_destroy(void *state, csdk_call_t *call,
                                const char *id)
{
    dk_state_t *st = state;
    json_t *j = NULL;
    char *path, what[96];
    csdk_status_t rc;
    size_t n = strlen(id);

    if (n < 12 || n > 64 || strspn(id, "0123456789abcdef") != n)
        return CSDK_OK; /* cannot name a container: nothing to destroy */
    if (!(path = dk_printf("/containers/%s/json", id)))
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    snprintf(what, sizeof what, "sandbox %.64s", id);
    rc = dk_json(st, call, "GET", path, NULL, &j, what, "404", NULL);
    free(path);
    if (rc == CSDK_E_NOT_FOUND)
        return CSDK_OK;
    if (rc != CSDK_OK)
        return rc;
    if (dk_parse_record(j, 0, &(dk_record_t){0})) {
        json_decref(j);
        return st->host->error(call, CSDK_E_PERMISSION, "container %s was "
                               "not made by csdk; not removing it", id);
    }
    json_decref(j);
    if (!(path = dk_printf("/containers/%s/stop?t=%llu", id,
                           (unsigned long long)st->conf.stop_grace_s)))
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    rc = dk_json(st, call, "POST", path, NULL, NULL, what, "304,404,409",
                 NULL);
    free(path);
    if (rc == CSDK_E_NOT_FOUND || rc == CSDK_E_CONFLICT)
        rc = CSDK_OK;
    if (rc != CSDK_OK || st->conf.cleanup == DK_CLEANUP_NEVER)
        return rc;
    if (!(path = dk_printf("/containers/%s?force=1&v=1", id)))
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    rc = dk_json(st, call, "DELETE", path, NULL, NULL, what, "404,409",
                 NULL);
    free(path);
    /* 409: removal already in progress (auto_remove after the stop). */
    return rc == CSDK_E_NOT_FOUND || rc == CSDK_E_CONFLICT ? CSDK_OK : rc;
}

/* ------------------------------------------------------------ url */

static csdk_status_t dk_url(void *state, csdk_call_t *call, const char *id,
                            uint32_t port, const char *protocol)
{
    dk_state_t *st = state;
    json_t *j = NULL;
    char host[256], portbuf[12], *url;
    const char *ip, *hport, *hip, *mode;
    csdk_status_t rc = dk_inspect(st, call, id, &j);

    if (rc != CSDK_OK)
        return rc;
    if (!protocol)
        protocol = "http";
    dk_parse_port(j, port, &hip, &hport, &ip);
    mode = json_string_value(json_object_get(
        json_object_get(j, "HostConfig"), "NetworkMode"));
    if (!hport && mode && !strcmp(mode, "host")) {
        /* The host's network: the port is the engine host's own. */
        hport = portbuf;
        snprintf(portbuf, sizeof portbuf, "%u", port);
    }
    if (hport) {
        const char *dh = st->conf.host;
        /* A remote engine's published ports are on that host. */
        if (!strncmp(dh, "tcp://", 6)) {
            size_t n = strcspn(dh + 6, ":/");
            snprintf(host, sizeof host, "%.*s", (int)n, dh + 6);
        } else if (hip && *hip && strcmp(hip, "0.0.0.0") && strcmp(hip, "::")) {
            snprintf(host, sizeof host, "%s", hip);
        } else {
            snprintf(host, sizeof host, "127.0.0.1");
        }
        url = dk_printf("%s://%s:%s", protocol, host, hport);
    } else if (ip) {
        url = dk_printf("%s://%s:%u", protocol, ip, port);
    } else {
        rc = st->host->error(call, CSDK_E_NOT_SUPPORTED, "sandbox %s has no "
                             "network (network_mode = %s) and port %u is "
                             "not published; create it with ports = %u and "
                             "a network_mode, or with the network option",
                             id, mode ? mode : "none", port, port);
        json_decref(j);
        return rc;
    }
    json_decref(j);
    if (!url)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    rc = st->host->set_str(call, CSDK_F_URL, url)
             ? st->host->error(call, CSDK_E_NOMEM, "out of memory")
             : CSDK_OK;
    free(url);
    return rc;
}

/* ------------------------------------------------------------ named */

static csdk_status_t name_check(dk_state_t *st, csdk_call_t *call,
                                const char *ns, const char *name)
{
    if (!ns || !name || !*name)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT, "a named "
                               "sandbox needs a namespace and a non-empty "
                               "name");
    if (strlen(ns) + strlen(name) > 120)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT, "namespace and "
                               "name together are longer than 120 bytes");
    return CSDK_OK;
}

/* The running sandbox named (ns, name): reports it and returns OK, or
 * NOT_FOUND without recording an error (a stopped one is removed). */
static csdk_status_t find_named(dk_state_t *st, csdk_call_t *call,
                                const char *ns, const char *name)
{
    char *cname = container_name(st->name, ns, name), *esc = NULL;
    char *path = NULL;
    json_t *j = NULL;
    dk_record_t r;
    csdk_status_t rc;
    uint64_t t0 = st->host->monotonic_ms();

    if (cname)
        esc = csdk_http_escape(cname);
    if (esc)
        path = dk_printf("/containers/%s/json", esc);
    free(cname);
    free(esc);
    if (!path)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    for (;;) {
        rc = dk_json(st, call, "GET", path, NULL, &j,
                     "finding a named sandbox", "404", NULL);
        if (rc != CSDK_OK)
            break;
        if (dk_parse_record(j, 0, &r)) {
            rc = st->host->error(call, CSDK_E_CONFLICT, "a container that "
                                 "csdk did not make holds the name of "
                                 "sandbox %s/%s; remove or rename it", ns,
                                 name);
            break;
        }
        /* Another caller is creating it: wait for its start (bounded by
         * the call's deadline and the usual start time). */
        if (!strcmp(dk_status_word(r.state), "creating") &&
            st->host->monotonic_ms() - t0 < 10000 &&
            !st->host->cancelled(call)) {
            json_decref(j);
            j = NULL;
            usleep(50000);
            continue;
        }
        if (strcmp(dk_status_word(r.state), "running")) {
            dk_remove_container(st, call, r.id);
            rc = CSDK_E_NOT_FOUND;
            break;
        }
        rc = put_record(st, call, &r);
        break;
    }
    free(path);
    json_decref(j);
    return rc;
}

static csdk_status_t dk_find(void *state, csdk_call_t *call, const char *ns,
                             const char *name)
{
    dk_state_t *st = state;
    csdk_status_t rc = name_check(st, call, ns, name);

    if (rc != CSDK_OK)
        return rc;
    rc = find_named(st, call, ns, name);
    if (rc == CSDK_E_NOT_FOUND)
        return st->host->error(call, rc, "no sandbox named %s/%s", ns, name);
    return rc;
}

/* Atomic through the engine: container names are unique, so of racing
 * creators one wins and the others get 409 and find the winner's. */
static csdk_status_t dk_find_or_create(void *state, csdk_call_t *call,
                                       const char *ns, const char *name,
                                       const csdk_create_opts_t *opts)
{
    dk_state_t *st = state;
    csdk_status_t rc = name_check(st, call, ns, name);

    if (rc != CSDK_OK)
        return rc;
    for (int attempt = 0; attempt < 5; attempt++) {
        rc = find_named(st, call, ns, name);
        if (rc != CSDK_E_NOT_FOUND)
            return rc == CSDK_OK && st->host->set_int(call, CSDK_F_CREATED, 0)
                       ? st->host->error(call, CSDK_E_NOMEM, "out of memory")
                       : rc;
        rc = do_create(st, call, opts, ns, name);
        if (rc == CSDK_OK)
            return st->host->set_int(call, CSDK_F_CREATED, 1)
                       ? st->host->error(call, CSDK_E_NOMEM, "out of memory")
                       : CSDK_OK;
        if (rc != CSDK_E_CONFLICT)
            return rc;
        /* Lost the race (or a stopped one was being removed): look again. */
        usleep(20000);
    }
    return st->host->error(call, CSDK_E_CONFLICT, "sandbox %s/%s is being "
                           "created and removed by others; try again", ns,
                           name);
}

/* ------------------------------------------------------------ init */

static csdk_status_t dk_init(const csdk_host_t *host, csdk_instance_t *inst,
                             const char *instance_name,
                             const csdk_kv_t *config, size_t n_config,
                             csdk_call_t *call, void **state)
{
    dk_state_t *st = calloc(1, sizeof *st);
    csdk_status_t rc;

    if (!st)
        return host->error(call, CSDK_E_NOMEM, "out of memory");
    st->host = host;
    st->inst = inst;
    if (!(st->name = strdup(instance_name))) {
        free(st);
        return host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    dk_conf_defaults(&st->conf);
    for (size_t i = 0; i < n_config; i++)
        if ((rc = dk_conf_set(st, call, &st->conf, config[i].key,
                              config[i].value, 0)) != CSDK_OK) {
            dk_conf_free(&st->conf);
            free(st->name);
            free(st);
            return rc;
        }
    /* The engine is reached on first use, so a daemon that is down does
     * not stop other providers from loading. */
    *state = st;
    return CSDK_OK;
}

static void dk_fini(void *state)
{
    dk_state_t *st = state;

    if (!st)
        return;
    csdk_http_free(st->http);
    dk_conf_free(&st->conf);
    free(st->name);
    free(st);
}

static const csdk_provider_def_t dk_def = {
    .abi_version = CSDK_ABI_VERSION,
    .struct_size = sizeof(csdk_provider_def_t),
    .name = "docker",
    .version = DK_VERSION,
    .description = "containers on a Docker Engine or Podman, through its API",
    .init = dk_init,
    .fini = dk_fini,
    .create = dk_create,
    .get = dk_get,
    .list = dk_list,
    .destroy = dk_destroy,
    .run_command = dk_run_command,
    .run_code = dk_run_code,
    .info = dk_info,
    .url = dk_url,
    .read_file = dk_read_file,
    .write_file = dk_write_file,
    .mkdir = dk_mkdir,
    .readdir = dk_readdir,
    .exists = dk_exists,
    .remove = dk_remove,
    .find = dk_find,
    .find_or_create = dk_find_or_create,
    .template_create = dk_template_create,
    .template_list = dk_template_list,
    .template_delete = dk_template_delete,
    .snapshot_create = dk_snapshot_create,
    .snapshot_list = dk_snapshot_list,
    .snapshot_delete = dk_snapshot_delete,
};

CSDK_EXPORT csdk_provider_entry_fn csdk_provider_entry;

CSDK_EXPORT const csdk_provider_def_t *csdk_provider_entry(uint32_t host_abi)
{
    if (CSDK_ABI_VERSION_MAJOR(host_abi) != CSDK_ABI_MAJOR)
        return NULL;
    return &dk_def;
}
