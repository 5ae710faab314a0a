/*
 * plugins/namespace/instance.c - instances: create, get, info, list,
 * destroy, url.
 *
 * create is never retried by the host, and must not leak an instance:
 *  - every instance carries a label csdk-client=<random id of the call>;
 *  - when CreateInstance's reply is lost (the connection broke, the
 *    request timed out, the reply was cut or garbled, a gateway failed),
 *    ListInstances is searched for that label before the failure is
 *    reported, and an instance found there is used (or destroyed when the
 *    call has no time left);
 *  - an instance is returned only once it is ready (RUNNING), through
 *    WaitInstanceSync (or DescribeInstance polls where that is missing),
 *    bounded by the call's deadline; a create that fails or times out
 *    after the instance was made destroys it;
 *  - every instance has a deadline (sandbox_timeout_ms), after which
 *    Namespace destroys it whatever happened to this process: the safety
 *    net for the one case the above cannot cover (a reply lost while the
 *    server is still making the instance, so the search does not see it
 *    yet).
 * Clean-up requests after a deadline use a short grace period of their
 * own (NS_GRACE_MS).
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "ns.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Clean-up (destroy, the lost-reply search) may take this long even
 * after the call's deadline. */
#define NS_GRACE_MS 5000u
/* One WaitInstanceSync may block this long on the server. */
#define NS_WAIT_SLICE_MS 30000u
/* Between DescribeInstance polls when WaitInstanceSync is missing, and
 * after a transient failure while waiting. */
#define NS_POLL_MS 500u

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void ns_sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0)
        ;
}

/* Sleep up to `ms` in short steps, stopping early when the call is
 * cancelled or its deadline comes.  Returns non-zero if it stopped. */
static int ns_nap(ns_state_t *st, csdk_call_t *call, uint64_t ms)
{
    uint64_t end = st->host->monotonic_ms() + ms;

    for (;;) {
        uint64_t now = st->host->monotonic_ms();

        if (st->host->cancelled(call) || st->host->remaining_ms(call) == 0)
            return 1;
        if (now >= end)
            return 0;
        ns_sleep_ms(end - now < 50 ? end - now : 50);
    }
}

/* An instance id as Namespace makes them; anything else cannot exist and
 * is NOT_FOUND without a request. */
static int ns_id_plausible(const char *id)
{
    size_t n = strlen(id);

    if (n == 0 || n > 128)
        return 0;
    for (; *id; id++)
        if (!isalnum((unsigned char)*id) && *id != '-' && *id != '_' &&
            *id != '.')
            return 0;
    return 1;
}

static int ns_is_gone(const char *status)
{
    return strcmp(status, "DESTROYED") == 0 ||
           strcmp(status, "DESTROYING") == 0;
}

/* The csdk status word for Namespace's instance status. */
static const char *ns_status_word(const char *s)
{
    if (strcmp(s, "RUNNING") == 0)
        return "running";
    if (strcmp(s, "CREATING") == 0 || strcmp(s, "PENDING") == 0)
        return "creating";
    if (strcmp(s, "SUSPENDING") == 0 || strcmp(s, "SUSPENDED") == 0 ||
        ns_is_gone(s))
        return "stopped";
    if (strcmp(s, "ERROR") == 0)
        return "error";
    return "unknown";
}

/* Report the record of `in`.  With `detail` (info), Namespace's own view
 * goes into metadata under "namespace.". */
static csdk_status_t ns_report(ns_state_t *st, csdk_call_t *call,
                               const ns_instance_t *in, int detail)
{
    const csdk_host_t *h = st->host;
    const char *runtime = ns_pairs_get(&in->labels, NS_LABEL_RUNTIME);
    int32_t failed = 0;

    failed |= h->set_str(call, CSDK_F_ID, in->id);
    failed |= h->set_str(call, CSDK_F_STATUS, ns_status_word(in->status));
    if (runtime != NULL)
        failed |= h->set_str(call, CSDK_F_RUNTIME, runtime);
    if (in->created_ms > 0)
        failed |= h->set_int(call, CSDK_F_CREATED_MS, in->created_ms);
    if (in->deadline_ms > 0) {
        failed |= h->set_int(call, CSDK_F_EXPIRES_MS, in->deadline_ms);
        if (in->created_ms > 0 && in->deadline_ms > in->created_ms)
            failed |= h->set_int(call, CSDK_F_TIMEOUT_MS,
                                 in->deadline_ms - in->created_ms);
    }
    for (size_t i = 0; i < in->labels.n; i++)
        if (strcmp(in->labels.v[i].key, NS_LABEL_CLIENT) != 0 &&
            strcmp(in->labels.v[i].key, NS_LABEL_RUNTIME) != 0)
            failed |= h->set_meta(call, in->labels.v[i].key,
                                  in->labels.v[i].value);
    if (detail) {
        char shape[160];

        snprintf(shape, sizeof shape, "%" PRId32 " vCPU, %" PRId32 " MB, %s, %s",
                 in->vcpu, in->memory_mb,
                 in->machine_arch ? in->machine_arch : "?",
                 in->os ? in->os : "?");
        failed |= h->set_meta(call, "namespace.status", in->status);
        failed |= h->set_meta(call, "namespace.shape", shape);
        if (in->purpose != NULL)
            failed |= h->set_meta(call, "namespace.documented_purpose",
                                  in->purpose);
        if (in->instance_url != NULL)
            failed |= h->set_meta(call, "namespace.instance_url",
                                  in->instance_url);
        if (in->endpoint != NULL)
            failed |= h->set_meta(call, "namespace.command_endpoint",
                                  in->endpoint);
    }
    return failed ? ns_nomem(st, call) : CSDK_OK;
}

/* A request outside any call (clean-up): bounded by NS_GRACE_MS. */
static csdk_status_t ns_rpc_grace(ns_state_t *st, const char *method,
                                  char *body, csdk_http_resp_t *resp,
                                  ns_err_t *e)
{
    ns_rpc_t r;
    csdk_status_t rc;

    memset(&r, 0, sizeof r);
    r.method = method;
    r.body = body;
    r.body_len = body != NULL ? strlen(body) : 0;
    r.timeout_ms = NS_GRACE_MS;
    if (body == NULL) {
        ns_err_set(e, "out of memory");
        return CSDK_E_NOMEM;
    }
    rc = ns_rpc_raw(st, st->conns, &st->conn_next, &r, resp, e);
    free(body);
    return rc;
}

/* Destroy an instance this call made and cannot hand over.  Failures
 * are logged: the instance's deadline still ends it. */
static void ns_destroy_quietly(ns_state_t *st, const char *id, const char *why)
{
    csdk_http_resp_t resp;
    ns_err_t e;
    csdk_status_t rc;

    rc = ns_rpc_grace(st, "DestroyInstance",
                      ns_req_destroy(id, st->conf.destroy_reason), &resp, &e);
    csdk_http_resp_clear(&resp);
    ns_cache_drop(st, id);
    if (rc != CSDK_OK && rc != CSDK_E_NOT_FOUND)
        st->host->log(st->inst, CSDK_LOG_WARN,
                      "instance %s (%s) could not be destroyed: %s; "
                      "Namespace destroys it at its deadline",
                      id, why, e.msg);
    else
        st->host->log(st->inst, CSDK_LOG_INFO, "destroyed instance %s (%s)",
                      id, why);
}

/* ------------------------------------------------------------------ */
/* The per-process cache of command endpoints                          */
/* ------------------------------------------------------------------ */

static void ns_cached_clear(ns_cached_t *c)
{
    free(c->id);
    free(c->endpoint);
    free(c->runtime);
    memset(c, 0, sizeof *c);
}

void ns_cache_drop(ns_state_t *st, const char *id)
{
    for (unsigned i = 0; i < NS_CACHE_SLOTS; i++)
        if (st->cache[i].id != NULL && strcmp(st->cache[i].id, id) == 0)
            ns_cached_clear(&st->cache[i]);
}

void ns_cache_free(ns_state_t *st)
{
    for (unsigned i = 0; i < NS_CACHE_SLOTS; i++)
        ns_cached_clear(&st->cache[i]);
}

static const ns_cached_t *ns_cache_put(ns_state_t *st, const ns_instance_t *in)
{
    const char *rt = ns_pairs_get(&in->labels, NS_LABEL_RUNTIME);
    ns_cached_t *c;

    ns_cache_drop(st, in->id);
    c = &st->cache[st->cache_next++ % NS_CACHE_SLOTS];
    ns_cached_clear(c);
    c->id = strdup(in->id);
    c->endpoint = strdup(in->endpoint);
    c->runtime = rt != NULL ? strdup(rt) : NULL;
    if (c->id == NULL || c->endpoint == NULL || (rt != NULL && !c->runtime)) {
        ns_cached_clear(c);
        return NULL;
    }
    return c;
}

/* ------------------------------------------------------------------ */
/* Describe                                                            */
/* ------------------------------------------------------------------ */

static csdk_status_t ns_not_found(ns_state_t *st, csdk_call_t *call,
                                  const char *id, const char *why)
{
    ns_cache_drop(st, id);
    return st->host->error(call, CSDK_E_NOT_FOUND,
                           "no sandbox '%.140s' in provider '%s' (%s)", id,
                           st->instance, why);
}

csdk_status_t ns_describe_live(ns_state_t *st, csdk_call_t *call,
                               const char *id, int need_running,
                               ns_instance_t *out)
{
    csdk_http_resp_t resp;
    ns_rpc_t r;
    ns_err_t e;
    char *body;
    csdk_status_t rc;

    memset(out, 0, sizeof *out);
    if (id == NULL || *id == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no sandbox id given");
    if (!ns_id_plausible(id))
        return ns_not_found(st, call, id, "not a Namespace instance id");
    body = ns_req_instance(id);
    if (body == NULL)
        return ns_nomem(st, call);
    memset(&r, 0, sizeof r);
    r.method = "DescribeInstance";
    r.body = body;
    r.body_len = strlen(body);
    rc = ns_rpc(st, call, &r, &resp);
    free(body);
    if (rc == CSDK_E_NOT_FOUND)
        return ns_not_found(st, call, id, "Namespace does not know it");
    if (rc != CSDK_OK)
        return rc;
    rc = ns_parse_describe(resp.body, resp.body_len, "DescribeInstance",
                           st->token, out, &e);
    csdk_http_resp_clear(&resp);
    if (rc != CSDK_OK)
        return ns_fail(st, call, rc, &e);
    if (ns_is_gone(out->status)) {
        ns_instance_free(out);
        return ns_not_found(st, call, id, "it was destroyed");
    }
    if (need_running && strcmp(out->status, "RUNNING") != 0) {
        rc = st->host->error(call,
                             strcmp(out->status, "ERROR") == 0
                                 ? CSDK_E_UNAVAILABLE
                                 : CSDK_E_CONFLICT,
                             "sandbox %s is %s, not RUNNING; %s", id,
                             out->status[0] ? out->status : "in no status",
                             strcmp(out->status, "ERROR") == 0
                                 ? "destroy it and create another"
                                 : "wait until it is running");
        ns_instance_free(out);
        return rc;
    }
    if (need_running && (out->endpoint == NULL || *out->endpoint == '\0')) {
        ns_instance_free(out);
        return st->host->error(call, CSDK_E_PROTOCOL,
                               "Namespace gave no command service endpoint "
                               "for sandbox %s, so commands cannot run in "
                               "it", id);
    }
    return CSDK_OK;
}

csdk_status_t ns_lookup(ns_state_t *st, csdk_call_t *call, const char *id,
                        const ns_cached_t **out)
{
    ns_instance_t in;
    csdk_status_t rc;

    for (unsigned i = 0; id != NULL && i < NS_CACHE_SLOTS; i++) {
        if (st->cache[i].id != NULL && strcmp(st->cache[i].id, id) == 0) {
            *out = &st->cache[i];
            return CSDK_OK;
        }
    }
    rc = ns_describe_live(st, call, id, 1, &in);
    if (rc != CSDK_OK)
        return rc;
    *out = ns_cache_put(st, &in);
    ns_instance_free(&in);
    return *out != NULL ? CSDK_OK : ns_nomem(st, call);
}

csdk_status_t ns_get(ns_state_t *st, csdk_call_t *call, const char *id,
                     int detail)
{
    ns_instance_t in;
    csdk_status_t rc = ns_describe_live(st, call, id, 0, &in);

    if (rc != CSDK_OK)
        return rc;
    rc = ns_report(st, call, &in, detail);
    ns_instance_free(&in);
    return rc;
}

/* ------------------------------------------------------------------ */
/* List                                                                */
/* ------------------------------------------------------------------ */

/* Every live instance, page by page, to `fn`.  On the slot thread when
 * call != NULL; else (clean-up) within NS_GRACE_MS per page. */
typedef int ns_each_fn(void *arg, const ns_instance_t *in);

static csdk_status_t ns_list_each(ns_state_t *st, csdk_call_t *call,
                                  ns_each_fn *fn, void *arg, ns_err_t *e)
{
    char *cursor = NULL;
    csdk_status_t rc = CSDK_OK;

    for (int page = 0; page < 1000; page++) {
        csdk_http_resp_t resp;
        ns_instance_t *v = NULL;
        size_t n = 0;
        char *body = ns_req_list(cursor);
        int stop = 0;

        free(cursor);
        cursor = NULL;
        if (call != NULL) {
            ns_rpc_t r;

            memset(&r, 0, sizeof r);
            r.method = "ListInstances";
            r.body = body;
            r.body_len = body ? strlen(body) : 0;
            rc = body != NULL ? ns_rpc(st, call, &r, &resp) : ns_nomem(st, call);
            free(body);
            if (rc != CSDK_OK) {
                e->msg[0] = '\0'; /* already recorded on the call */
                return rc;
            }
        } else {
            rc = ns_rpc_grace(st, "ListInstances", body, &resp, e);
            if (rc != CSDK_OK)
                return rc;
        }
        rc = ns_parse_list(resp.body, resp.body_len, st->token, &v, &n,
                           &cursor, e);
        csdk_http_resp_clear(&resp);
        if (rc != CSDK_OK)
            return rc;
        for (size_t i = 0; i < n && !stop; i++)
            if (!ns_is_gone(v[i].status))
                stop = fn(arg, &v[i]);
        ns_instances_free(v, n);
        if (stop || cursor == NULL || *cursor == '\0')
            break;
    }
    free(cursor);
    return rc;
}

typedef struct ns_list_arg {
    ns_state_t *st;
    csdk_call_t *call;
    csdk_status_t rc;
} ns_list_arg_t;

static int ns_list_one(void *arg, const ns_instance_t *in)
{
    ns_list_arg_t *a = arg;

    /* Only what csdk made: a workspace also holds builders, CI runners
     * and other clients' instances. */
    if (ns_pairs_get(&in->labels, NS_LABEL_CLIENT) == NULL)
        return 0;
    if (a->st->host->next_record(a->call) != 0) {
        a->rc = ns_nomem(a->st, a->call);
        return 1;
    }
    a->rc = ns_report(a->st, a->call, in, 0);
    return a->rc != CSDK_OK;
}

csdk_status_t ns_list(ns_state_t *st, csdk_call_t *call)
{
    ns_list_arg_t a = {st, call, CSDK_OK};
    ns_err_t e;
    csdk_status_t rc;

    e.msg[0] = '\0';
    e.retry_after_ms = -1;
    rc = ns_list_each(st, call, ns_list_one, &a, &e);
    if (rc != CSDK_OK)
        return e.msg[0] ? ns_fail(st, call, rc, &e) : rc;
    return a.rc;
}

/* ------------------------------------------------------------------ */
/* Destroy                                                             */
/* ------------------------------------------------------------------ */

csdk_status_t ns_destroy(ns_state_t *st, csdk_call_t *call, const char *id)
{
    csdk_http_resp_t resp;
    ns_rpc_t r;
    ns_err_t e;
    char *body;
    csdk_status_t rc;

    if (id == NULL || *id == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no sandbox id given");
    ns_cache_drop(st, id);
    if (!ns_id_plausible(id))
        return CSDK_OK; /* cannot exist: already gone */
    body = ns_req_destroy(id, st->conf.destroy_reason);
    if (body == NULL)
        return ns_nomem(st, call);
    memset(&r, 0, sizeof r);
    r.method = "DestroyInstance";
    r.body = body;
    r.body_len = strlen(body);
    rc = ns_rpc(st, call, &r, &resp);
    free(body);
    if (rc == CSDK_E_NOT_FOUND)
        return CSDK_OK; /* never existed, or long gone: idempotent */
    if (rc != CSDK_OK)
        return rc;
    rc = ns_parse_empty(resp.body, resp.body_len, "DestroyInstance",
                        st->token, &e);
    csdk_http_resp_clear(&resp);
    return rc == CSDK_OK ? CSDK_OK : ns_fail(st, call, rc, &e);
}

/* ------------------------------------------------------------------ */
/* Create                                                              */
/* ------------------------------------------------------------------ */

/* The settings of one create: the instance's, then the options. */
static csdk_status_t ns_create_conf(ns_state_t *st, csdk_call_t *call,
                                    const csdk_create_opts_t *o,
                                    ns_conf_t *c)
{
    ns_where_t w = {st->instance, 0};
    csdk_status_t rc = CSDK_OK;

    if (ns_conf_copy(c, &st->conf) != 0)
        return ns_nomem(st, call);
    for (size_t i = 0; rc == CSDK_OK && i < o->n_extra; i++)
        if (o->extra[i].key != NULL)
            rc = ns_conf_set(st->host, call, &w, c, o->extra[i].key,
                             o->extra[i].value);
    if (rc == CSDK_OK && o->runtime != NULL && *o->runtime != '\0')
        rc = ns_conf_set(st->host, call, &w, c, "runtime", o->runtime);
    if (rc == CSDK_OK && o->timeout_ms != 0) {
        if (o->timeout_ms < 1000)
            rc = st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                 "a sandbox lifetime of %" PRIu64 " ms is too "
                                 "short; give at least 1000 ms",
                                 o->timeout_ms);
        c->sandbox_timeout_ms = o->timeout_ms;
    }
    if (rc != CSDK_OK)
        ns_conf_free(c);
    return rc;
}

/* Labels: the user's metadata, then ours. */
static csdk_status_t ns_create_labels(ns_state_t *st, csdk_call_t *call,
                                      const csdk_create_opts_t *o,
                                      const ns_conf_t *c, const char *client,
                                      ns_pairs_t *labels)
{
    for (size_t i = 0; i < o->n_metadata; i++) {
        const char *k = o->metadata[i].key, *v = o->metadata[i].value;

        if (k == NULL || *k == '\0')
            return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                   "a metadata key is empty");
        if (strcmp(k, NS_LABEL_CLIENT) == 0 || strcmp(k, NS_LABEL_RUNTIME) == 0)
            return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                   "metadata key '%s' is the name of a label "
                                   "csdk sets itself; rename it", k);
        if (ns_pairs_set(labels, k, v ? v : "") != 0)
            return ns_nomem(st, call);
    }
    if (ns_pairs_set(labels, NS_LABEL_CLIENT, client) != 0 ||
        (c->runtime != NULL &&
         ns_pairs_set(labels, NS_LABEL_RUNTIME, c->runtime) != 0))
        return ns_nomem(st, call);
    return CSDK_OK;
}

typedef struct ns_find_arg {
    const char *client;
    ns_instance_t *found;
    int hit;
} ns_find_arg_t;

static int ns_find_one(void *arg, const ns_instance_t *in)
{
    ns_find_arg_t *a = arg;
    const char *v = ns_pairs_get(&in->labels, NS_LABEL_CLIENT);

    if (v == NULL || strcmp(v, a->client) != 0)
        return 0;
    a->hit = 1;
    a->found->id = strdup(in->id);
    a->found->status = strdup(in->status);
    return 1;
}

/*
 * CreateInstance failed with `rc` in a way that may hide a created
 * instance (its reply was lost).  Look for our label; with a hit, return
 * CSDK_OK and its id in *out so create carries on with it.
 */
static csdk_status_t ns_recover(ns_state_t *st, const char *client,
                                ns_instance_t *out)
{
    ns_find_arg_t a = {client, out, 0};
    ns_err_t e;
    csdk_status_t rc;

    memset(out, 0, sizeof *out);
    rc = ns_list_each(st, NULL, ns_find_one, &a, &e);
    if (rc != CSDK_OK) {
        st->host->log(st->inst, CSDK_LOG_WARN,
                      "after a lost CreateInstance reply, the instance list "
                      "could not be searched (%s); an instance labelled "
                      NS_LABEL_CLIENT "=%s, if any, ends at its deadline",
                      e.msg, client);
        return rc;
    }
    if (!a.hit || out->id == NULL || out->status == NULL) {
        ns_instance_free(out);
        return CSDK_E_NOT_FOUND;
    }
    st->host->log(st->inst, CSDK_LOG_INFO,
                  "CreateInstance's reply was lost but instance %s was "
                  "made; using it", out->id);
    return CSDK_OK;
}

/* Statuses after which CreateInstance may have made an instance. */
static int ns_reply_lost(csdk_status_t rc)
{
    return rc == CSDK_E_CONNECTION || rc == CSDK_E_TIMEOUT ||
           rc == CSDK_E_PROTOCOL || rc == CSDK_E_UNAVAILABLE ||
           rc == CSDK_E_CANCELLED;
}

/* One WaitInstanceSync: CSDK_OK when RUNNING (in->status updated),
 * CSDK_E_TIMEOUT when the server's wait ran out, else the failure. */
static csdk_status_t ns_wait_once(ns_state_t *st, csdk_call_t *call,
                                  ns_instance_t *in, int *no_wait_rpc)
{
    uint64_t left = st->host->remaining_ms(call);
    uint64_t slice = left < NS_WAIT_SLICE_MS ? left : NS_WAIT_SLICE_MS;
    csdk_http_resp_t resp;
    ns_instance_t w;
    ns_rpc_t r;
    ns_err_t e;
    char *body = ns_req_instance(in->id);
    csdk_status_t rc;

    if (body == NULL)
        return ns_nomem(st, call);
    memset(&r, 0, sizeof r);
    r.method = *no_wait_rpc ? "DescribeInstance" : "WaitInstanceSync";
    r.body = body;
    r.body_len = strlen(body);
    if (!*no_wait_rpc) {
        r.server_ms = slice;
        r.timeout_ms = slice + 2000 < left ? slice + 2000 : left;
    }
    rc = ns_rpc(st, call, &r, &resp);
    free(body);
    if (rc == CSDK_E_NOT_SUPPORTED && !*no_wait_rpc) {
        /* No WaitInstanceSync here: poll DescribeInstance instead. */
        *no_wait_rpc = 1;
        return CSDK_E_TIMEOUT;
    }
    if (rc != CSDK_OK)
        return rc;
    rc = ns_parse_describe(resp.body, resp.body_len, r.method, st->token, &w,
                           &e);
    csdk_http_resp_clear(&resp);
    if (rc != CSDK_OK)
        return ns_fail(st, call, rc, &e);
    free(in->status);
    in->status = w.status;
    w.status = NULL;
    if (w.endpoint != NULL && in->endpoint == NULL) {
        in->endpoint = w.endpoint;
        w.endpoint = NULL;
    }
    ns_instance_free(&w);
    if (strcmp(in->status, "RUNNING") == 0)
        return CSDK_OK;
    if (ns_is_gone(in->status) || strcmp(in->status, "ERROR") == 0)
        return st->host->error(call, CSDK_E_UNAVAILABLE,
                               "instance %s became %s before it was ready; "
                               "try again (the account's limits or the "
                               "image may be at fault: see the instance in "
                               "Namespace's dashboard)", in->id, in->status);
    return CSDK_E_TIMEOUT; /* still starting */
}

/* Wait until `in` is RUNNING, within the call's deadline. */
static csdk_status_t ns_wait_ready(ns_state_t *st, csdk_call_t *call,
                                   ns_instance_t *in)
{
    int no_wait_rpc = 0;
    uint64_t t0 = st->host->monotonic_ms();

    while (strcmp(in->status, "RUNNING") != 0) {
        csdk_status_t rc;

        if (st->host->cancelled(call) || st->host->remaining_ms(call) == 0)
            return ns_stopped(st, call, "waiting for the new instance to "
                                        "become ready");
        rc = ns_wait_once(st, call, in, &no_wait_rpc);
        if (rc == CSDK_OK)
            break;
        if (rc == CSDK_E_TIMEOUT || rc == CSDK_E_UNAVAILABLE ||
            rc == CSDK_E_CONNECTION || rc == CSDK_E_RATE_LIMITED) {
            /* Not ready yet, or a transient failure: again, unless the
             * call is out of time (then the loop reports it).  A failed
             * instance (UNAVAILABLE from ns_wait_once) is final. */
            if (ns_is_gone(in->status) || strcmp(in->status, "ERROR") == 0)
                return rc;
            if (rc != CSDK_E_TIMEOUT || no_wait_rpc)
                (void)ns_nap(st, call, NS_POLL_MS);
            continue;
        }
        if (rc == CSDK_E_CONFLICT)
            return st->host->error(call, CSDK_E_UNAVAILABLE,
                                   "instance %s was destroyed before it was "
                                   "ready; try again", in->id);
        return rc;
    }
    st->host->log(st->inst, CSDK_LOG_DEBUG, "instance %s ready after %" PRIu64
                  " ms of waiting", in->id, st->host->monotonic_ms() - t0);
    return CSDK_OK;
}

/* "8080,3000" -> ports. */
static size_t ns_ports_parse(const char *s, uint32_t *out, size_t max)
{
    size_t n = 0;

    while (s != NULL && *s && n < max) {
        char *end;
        unsigned long p = strtoul(s, &end, 10);

        out[n++] = (uint32_t)p;
        s = *end == ',' ? end + 1 : end;
        if (*end != ',' )
            break;
    }
    return n;
}

static const char *ns_create_image(const ns_conf_t *c)
{
    if (c->image != NULL)
        return c->image;
    if (c->runtime != NULL && strcmp(c->runtime, "python") == 0)
        return c->python_image;
    if (c->runtime != NULL && strcmp(c->runtime, "node") == 0)
        return c->node_image;
    return "builtin:base"; /* ComputeSDK's default */
}

/* CreateInstance and its reply, recovering a lost reply. */
static csdk_status_t ns_create_call(ns_state_t *st, csdk_call_t *call,
                                    const char *body, const char *client,
                                    ns_instance_t *in)
{
    csdk_http_resp_t resp;
    ns_rpc_t r;
    ns_err_t e;
    csdk_status_t rc;

    memset(&r, 0, sizeof r);
    r.method = "CreateInstance";
    r.body = body;
    r.body_len = strlen(body);
    rc = ns_rpc(st, call, &r, &resp);
    if (rc == CSDK_OK) {
        rc = ns_parse_describe(resp.body, resp.body_len, "CreateInstance",
                               st->token, in, &e);
        csdk_http_resp_clear(&resp);
        if (rc == CSDK_OK)
            return CSDK_OK;
        (void)ns_fail(st, call, rc, &e);
    }
    if (!ns_reply_lost(rc))
        return rc;
    /* The instance may exist although the reply did not arrive. */
    if (ns_recover(st, client, in) != CSDK_OK) {
        st->host->log(st->inst, CSDK_LOG_DEBUG, "CreateInstance failed and "
                      "no instance labelled " NS_LABEL_CLIENT "=%s exists",
                      client);
        return rc; /* the failure recorded above stands */
    }
    if (st->host->cancelled(call) || st->host->remaining_ms(call) == 0) {
        ns_destroy_quietly(st, in->id, "its create call ran out of time");
        ns_instance_free(in);
        return rc;
    }
    return CSDK_OK;
}

csdk_status_t ns_create(ns_state_t *st, csdk_call_t *call,
                        const csdk_create_opts_t *opts)
{
    csdk_create_opts_t o;
    ns_create_req_t req;
    ns_conf_t c;
    ns_pairs_t labels = {0};
    ns_instance_t in;
    uint32_t ports[16];
    char client[33], *body;
    csdk_status_t rc;

    csdk_opts_read(&o, sizeof o, opts);
    if (o.env == NULL)
        o.n_env = 0;
    if (o.metadata == NULL)
        o.n_metadata = 0;
    if (o.extra == NULL)
        o.n_extra = 0;
    if (o.template_id != NULL && *o.template_id != '\0')
        return st->host->error(call, CSDK_E_NOT_SUPPORTED,
                               "the namespace provider has no templates or "
                               "snapshots; create with an image instead "
                               "(create option image=...)");
    rc = ns_create_conf(st, call, &o, &c);
    if (rc != CSDK_OK)
        return rc;
    ns_random_hex(client);
    rc = ns_create_labels(st, call, &o, &c, client, &labels);
    if (rc != CSDK_OK)
        goto out_conf;
    memset(&req, 0, sizeof req);
    req.vcpu = c.vcpu;
    req.memory_mb = c.memory_mb;
    req.machine_arch = c.machine_arch;
    req.os = c.os;
    req.container = c.container;
    req.image = ns_create_image(&c);
    req.purpose = c.purpose;
    req.deadline_ms = st->host->now_ms() + c.sandbox_timeout_ms;
    req.env = o.env;
    req.n_env = o.n_env;
    req.labels = &labels;
    req.ports = ports;
    req.n_ports = ns_ports_parse(c.ports, ports, 16);
    body = ns_req_create(&req);
    if (body == NULL) {
        rc = st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                             "the create request cannot be encoded (an "
                             "environment variable or metadata value that "
                             "is not UTF-8?)");
        goto out_labels;
    }
    rc = ns_create_call(st, call, body, client, &in);
    free(body);
    if (rc != CSDK_OK)
        goto out_labels;
    st->host->log(st->inst, CSDK_LOG_DEBUG, "created instance %s (%s)", in.id,
                  in.status);
    rc = ns_wait_ready(st, call, &in);
    if (rc == CSDK_OK && in.endpoint == NULL) {
        /* A recovered instance: its endpoint comes from a describe. */
        ns_instance_t full;

        rc = ns_describe_live(st, call, in.id, 1, &full);
        if (rc == CSDK_OK) {
            ns_instance_free(&in);
            in = full;
        }
    }
    if (rc != CSDK_OK) {
        ns_destroy_quietly(st, in.id, "its create call failed");
        ns_instance_free(&in);
        goto out_labels;
    }
    /* The reply's metadata may predate readiness: report it as running. */
    free(in.status);
    in.status = strdup("RUNNING");
    if (in.status == NULL || ns_cache_put(st, &in) == NULL)
        rc = ns_nomem(st, call);
    else
        rc = ns_report(st, call, &in, 0);
    ns_instance_free(&in);
out_labels:
    ns_pairs_free(&labels);
out_conf:
    ns_conf_free(&c);
    return rc;
}

/* ------------------------------------------------------------------ */
/* URL                                                                 */
/* ------------------------------------------------------------------ */

csdk_status_t ns_url(ns_state_t *st, csdk_call_t *call, const char *id,
                     uint32_t port, const char *protocol)
{
    csdk_http_resp_t resp;
    ns_instance_t in;
    ns_rpc_t r;
    ns_err_t e;
    char *body, *fqdn = NULL, url[320];
    const char *scheme;
    csdk_status_t rc;

    if (port == 0 || port > 65535)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "port %" PRIu32 " is not a TCP port (1-65535)",
                               port);
    if (protocol == NULL || *protocol == '\0' || strcmp(protocol, "http") == 0 ||
        strcmp(protocol, "https") == 0)
        scheme = "https"; /* ingresses terminate TLS */
    else if (strcmp(protocol, "ws") == 0 || strcmp(protocol, "wss") == 0)
        scheme = "wss";
    else
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "protocol '%.40s': a Namespace ingress speaks "
                               "http(s) and ws(s) only", protocol);
    if (id == NULL || *id == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no sandbox id given");
    if (!ns_id_plausible(id))
        return ns_not_found(st, call, id, "not a Namespace instance id");
    body = ns_req_ingress(id, port);
    if (body == NULL)
        return ns_nomem(st, call);
    memset(&r, 0, sizeof r);
    r.method = "CreateIngress";
    r.body = body;
    r.body_len = strlen(body);
    rc = ns_rpc(st, call, &r, &resp);
    free(body);
    if (rc == CSDK_E_NOT_FOUND)
        return ns_not_found(st, call, id, "Namespace does not know it");
    if (rc == CSDK_E_CONFLICT) {
        /* Not running: say why (destroyed = NOT_FOUND, or starting). */
        rc = ns_describe_live(st, call, id, 1, &in);
        if (rc == CSDK_OK) {
            ns_instance_free(&in);
            rc = st->host->error(call, CSDK_E_CONFLICT,
                                 "Namespace refused an ingress for port "
                                 "%" PRIu32 " of sandbox %s; try again",
                                 port, id);
        }
        return rc;
    }
    if (rc != CSDK_OK)
        return rc;
    rc = ns_parse_ingress(resp.body, resp.body_len, st->token, &fqdn, &e);
    csdk_http_resp_clear(&resp);
    if (rc != CSDK_OK)
        return ns_fail(st, call, rc, &e);
    snprintf(url, sizeof url, "%s://%s", scheme, fqdn);
    free(fqdn);
    return st->host->set_str(call, CSDK_F_URL, url) != 0 ? ns_nomem(st, call)
                                                         : CSDK_OK;
}
