/*
 * plugins/namespace/instance.c - instances: create, get, info, list,
 * destroy, url, extend_timeout, find and find_or_create (named sandboxes:
 * see the section's comment for why find_or_create is atomic).
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

/* The labels csdk sets itself: never user metadata. */
static int ns_label_ours(const char *key)
{
    static const char *const ours[] = {NS_LABEL_CLIENT, NS_LABEL_RUNTIME,
                                       NS_LABEL_PROVIDER, NS_LABEL_NAMESPACE,
                                       NS_LABEL_NAME};

    for (size_t i = 0; i < sizeof ours / sizeof ours[0]; i++)
        if (strcmp(key, ours[i]) == 0)
            return 1;
    return 0;
}

/* A named sandbox's name and namespace, when its labels hold them as
 * they are (a hashed value, "~...", cannot be turned back). */
static int32_t ns_report_name(ns_state_t *st, csdk_call_t *call,
                              const ns_instance_t *in)
{
    const char *name = ns_pairs_get(&in->labels, NS_LABEL_NAME);
    const char *space = ns_pairs_get(&in->labels, NS_LABEL_NAMESPACE);
    int32_t failed = 0;

    if (name != NULL && *name != '\0' && *name != '~')
        failed |= st->host->set_str(call, CSDK_F_NAME, name);
    if (space != NULL && *space != '\0' && *space != '~')
        failed |= st->host->set_str(call, CSDK_F_NAMESPACE, space);
    return failed;
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
        if (!ns_label_ours(in->labels.v[i].key))
            failed |= h->set_meta(call, in->labels.v[i].key,
                                  in->labels.v[i].value);
    failed |= ns_report_name(st, call, in);
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
                                  const ns_pairs_t *filter, ns_each_fn *fn,
                                  void *arg, ns_err_t *e)
{
    char *cursor = NULL;
    csdk_status_t rc = CSDK_OK;

    for (int page = 0; page < 1000; page++) {
        csdk_http_resp_t resp;
        ns_instance_t *v = NULL;
        size_t n = 0;
        char *body = ns_req_list_labels(cursor, filter);
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
    rc = ns_list_each(st, call, NULL, ns_list_one, &a, &e);
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

/* Labels: the user's metadata, then ours (with a named sandbox's). */
static csdk_status_t ns_create_labels(ns_state_t *st, csdk_call_t *call,
                                      const csdk_create_opts_t *o,
                                      const ns_conf_t *c, const char *client,
                                      const ns_pairs_t *named,
                                      ns_pairs_t *labels)
{
    for (size_t i = 0; i < o->n_metadata; i++) {
        const char *k = o->metadata[i].key, *v = o->metadata[i].value;

        if (k == NULL || *k == '\0')
            return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                   "a metadata key is empty");
        if (ns_label_ours(k))
            return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                   "metadata key '%s' is the name of a label "
                                   "csdk sets itself; rename it", k);
        if (ns_pairs_set(labels, k, v ? v : "") != 0)
            return ns_nomem(st, call);
    }
    for (size_t i = 0; named != NULL && i < named->n; i++)
        if (ns_pairs_set(labels, named->v[i].key, named->v[i].value) != 0)
            return ns_nomem(st, call);
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
    rc = ns_list_each(st, NULL, NULL, ns_find_one, &a, &e);
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

/* CreateInstance and its reply, recovering a lost reply.  A recovered
 * instance the call has no time for is destroyed, unless it is `named`
 * (see ns_make). */
static csdk_status_t ns_create_call(ns_state_t *st, csdk_call_t *call,
                                    const char *body, const char *client,
                                    int named, ns_instance_t *in)
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
        if (!named)
            ns_destroy_quietly(st, in->id, "its create call ran out of time");
        ns_instance_free(in);
        return rc;
    }
    return CSDK_OK;
}

/* An instance that failed to start: no caller can ever use it. */
static int ns_failed(const ns_instance_t *in)
{
    return in->status != NULL &&
           (ns_is_gone(in->status) || strcmp(in->status, "ERROR") == 0);
}

/*
 * One create, up to a ready instance in *out (status RUNNING, cached),
 * without reporting it.  `named` (may be NULL) adds a named sandbox's
 * labels; then an instance made by this call is destroyed on failure
 * only when it failed to start: once made it carries the name, another
 * caller may already have found it and returned it, and find or
 * find_or_create return it later (its deadline still ends it).
 */
static csdk_status_t ns_make(ns_state_t *st, csdk_call_t *call,
                             const csdk_create_opts_t *opts,
                             const ns_pairs_t *named, ns_instance_t *out)
{
    csdk_create_opts_t o;
    ns_create_req_t req;
    ns_conf_t c;
    ns_pairs_t labels = {0};
    ns_instance_t in;
    uint32_t ports[16];
    char client[33], *body;
    csdk_status_t rc;

    memset(out, 0, sizeof *out);
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
    rc = ns_create_labels(st, call, &o, &c, client, named, &labels);
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
    rc = ns_create_call(st, call, body, client, named != NULL, &in);
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
        if (named == NULL || ns_failed(&in))
            ns_destroy_quietly(st, in.id, "its create call failed");
        else
            st->host->log(st->inst, CSDK_LOG_INFO, "named instance %s is "
                          "kept although its create call failed: another "
                          "call may use it", in.id);
        ns_instance_free(&in);
        goto out_labels;
    }
    /* The reply's metadata may predate readiness: report it as running. */
    free(in.status);
    in.status = strdup("RUNNING");
    if (in.status == NULL || ns_cache_put(st, &in) == NULL) {
        ns_instance_free(&in);
        rc = ns_nomem(st, call);
    } else {
        *out = in;
    }
out_labels:
    ns_pairs_free(&labels);
out_conf:
    ns_conf_free(&c);
    return rc;
}

csdk_status_t ns_create(ns_state_t *st, csdk_call_t *call,
                        const csdk_create_opts_t *opts)
{
    ns_instance_t in;
    csdk_status_t rc = ns_make(st, call, opts, NULL, &in);

    if (rc != CSDK_OK)
        return rc;
    rc = ns_report(st, call, &in, 0);
    ns_instance_free(&in);
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

/* ------------------------------------------------------------------ */
/* Extend                                                              */
/* ------------------------------------------------------------------ */

/* google.protobuf.Duration's range, in ms. */
#define NS_DURATION_MAX_MS ((uint64_t)315576000000 * 1000)

csdk_status_t ns_extend(ns_state_t *st, csdk_call_t *call, const char *id,
                        uint64_t ms)
{
    csdk_http_resp_t resp;
    ns_instance_t in;
    ns_rpc_t r;
    ns_err_t e;
    int64_t deadline;
    char *body;
    csdk_status_t rc;

    if (id == NULL || *id == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no sandbox id given");
    if (ms == 0 || ms > NS_DURATION_MAX_MS)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "extend_timeout by %" PRIu64 " ms: give a "
                               "positive number of ms, at most %" PRIu64,
                               ms, NS_DURATION_MAX_MS);
    if (!ns_id_plausible(id))
        return ns_not_found(st, call, id, "not a Namespace instance id");
    body = ns_req_extend(id, ms);
    if (body == NULL)
        return ns_nomem(st, call);
    memset(&r, 0, sizeof r);
    r.method = "ExtendInstance";
    r.body = body;
    r.body_len = strlen(body);
    rc = ns_rpc(st, call, &r, &resp);
    free(body);
    if (rc == CSDK_E_NOT_FOUND)
        return ns_not_found(st, call, id, "Namespace does not know it");
    if (rc == CSDK_E_CONFLICT) {
        /* Refused: a destroyed instance is NOT_FOUND, else say so. */
        rc = ns_describe_live(st, call, id, 0, &in);
        if (rc == CSDK_OK) {
            rc = st->host->error(call, CSDK_E_CONFLICT,
                                 "Namespace refused to extend sandbox %s, "
                                 "which is %s; try again once it is "
                                 "running", id, in.status);
            ns_instance_free(&in);
        }
        return rc;
    }
    if (rc != CSDK_OK)
        return rc;
    rc = ns_parse_extend(resp.body, resp.body_len, st->token, &deadline, &e);
    csdk_http_resp_clear(&resp);
    if (rc != CSDK_OK)
        return ns_fail(st, call, rc, &e);
    /* The new deadline is the service's: workspace policy may cap it. */
    if (st->host->set_str(call, CSDK_F_ID, id) != 0 ||
        st->host->set_int(call, CSDK_F_EXPIRES_MS, deadline) != 0)
        return ns_nomem(st, call);
    return CSDK_OK;
}

/* ------------------------------------------------------------------ */
/* Named sandboxes                                                     */
/* ------------------------------------------------------------------ */

/*
 * Namespace has no unique names, so a named sandbox is an instance
 * carrying three labels: csdk-provider (the [provider.NAME] NAME),
 * csdk-namespace and csdk-name (each through ns_label_value).  Several
 * live instances may carry one name for a while; the sandbox of that
 * name is always the OLDEST of them: the earliest createdAt, then the
 * smallest id.  Every caller applies the same order to what it lists,
 * so all agree on it.
 *
 * find_or_create:
 *  1. list the name's live instances; if there are any, the oldest is
 *     the answer (waited for until ready);
 *  2. else create one carrying the labels and wait until it is ready;
 *  3. list again.  If ours is the oldest, it is the answer (created 1).
 *     Otherwise destroy ours and return the oldest (created 0).
 *  4. If the instance chosen fails or is destroyed before it is ready,
 *     start again at 1 (a few times, within the call's deadline).
 *
 * Why two callers never return different sandboxes: Namespace stamps
 * createdAt when it makes an instance, and an instance is listed from
 * then on.  Say A returns `a` and B returns `b`, a older than b.  B
 * listed after b was made, so after a was made, so its list held a (an
 * instance is only destroyed by a caller who lost, which a is not), and
 * B would have chosen a.  The list in step 3 comes after our instance is
 * ready, so instances made at about the same moment are all listed by
 * then.
 *
 * Why no instance leaks: a caller destroys its own instance whenever it
 * is not the oldest, and an instance is only ever returned once it is
 * the oldest, so the destroyed ones were returned to nobody.  What a
 * crash, a lost reply or a timeout leaves behind carries the name: it is
 * the sandbox of that name (found by the next find_or_create) or a
 * younger duplicate nobody returns, and the deadline (sandbox_timeout_ms)
 * ends it either way.
 */

/* The labels naming (ns, name) in this provider instance. */
static csdk_status_t ns_name_labels(ns_state_t *st, csdk_call_t *call,
                                    const char *ns, const char *name,
                                    ns_pairs_t *out)
{
    char v[NS_LABEL_VALUE_MAX + 1];

    memset(out, 0, sizeof *out);
    if (ns == NULL || *ns == '\0' || name == NULL || *name == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "a named sandbox needs a namespace and a "
                               "name");
    ns_label_value(st->instance, v);
    if (ns_pairs_set(out, NS_LABEL_PROVIDER, v) != 0)
        goto oom;
    ns_label_value(ns, v);
    if (ns_pairs_set(out, NS_LABEL_NAMESPACE, v) != 0)
        goto oom;
    ns_label_value(name, v);
    if (ns_pairs_set(out, NS_LABEL_NAME, v) != 0)
        goto oom;
    return CSDK_OK;
oom:
    ns_pairs_free(out);
    return ns_nomem(st, call);
}

/* Non-zero if `a` comes before `b`: earlier createdAt, then smaller id. */
static int ns_older(const ns_instance_t *a, const ns_instance_t *b)
{
    if (a->created_ms != b->created_ms)
        return a->created_ms < b->created_ms;
    return strcmp(a->id, b->id) < 0;
}

/* What a named sandbox's record needs of a list entry. */
static int ns_instance_dup(ns_instance_t *dst, const ns_instance_t *src)
{
    memset(dst, 0, sizeof *dst);
    dst->id = strdup(src->id);
    dst->status = strdup(src->status);
    dst->created_ms = src->created_ms;
    dst->ready_ms = src->ready_ms;
    dst->deadline_ms = src->deadline_ms;
    for (size_t i = 0; i < src->labels.n; i++)
        if (ns_pairs_set(&dst->labels, src->labels.v[i].key,
                         src->labels.v[i].value) != 0) {
            ns_instance_free(dst);
            return -1;
        }
    if (dst->id == NULL || dst->status == NULL) {
        ns_instance_free(dst);
        return -1;
    }
    return 0;
}

typedef struct ns_oldest_arg {
    const ns_pairs_t *want;
    ns_instance_t best;
    int hit, oom;
} ns_oldest_arg_t;

static int ns_oldest_one(void *arg, const ns_instance_t *in)
{
    ns_oldest_arg_t *a = arg;

    /* The labels are checked here too: a service that ignored the
     * filter must not make any instance the named one. */
    for (size_t i = 0; i < a->want->n; i++) {
        const char *v = ns_pairs_get(&in->labels, a->want->v[i].key);

        if (v == NULL || strcmp(v, a->want->v[i].value) != 0)
            return 0;
    }
    if (in->id == NULL || strcmp(in->status, "ERROR") == 0 ||
        (a->hit && !ns_older(in, &a->best)))
        return 0;
    if (a->hit)
        ns_instance_free(&a->best);
    a->hit = 0;
    if (ns_instance_dup(&a->best, in) != 0) {
        a->oom = 1;
        return 1;
    }
    a->hit = 1;
    return 0;
}

/*
 * The oldest live instance carrying `want`: CSDK_OK with *out,
 * CSDK_E_NOT_FOUND (nothing recorded) when there is none, else the
 * failure, recorded on the call.  A failed list is tried once more
 * within the clean-up grace period (`retry`), for the list that decides
 * who keeps an instance just made.
 */
static csdk_status_t ns_named_oldest(ns_state_t *st, csdk_call_t *call,
                                     const ns_pairs_t *want, int retry,
                                     ns_instance_t *out)
{
    ns_oldest_arg_t a;
    ns_err_t e;
    csdk_status_t rc;

    memset(out, 0, sizeof *out);
    memset(&a, 0, sizeof a);
    a.want = want;
    e.msg[0] = '\0';
    e.retry_after_ms = -1;
    rc = ns_list_each(st, call, want, ns_oldest_one, &a, &e);
    if (rc != CSDK_OK && retry && !a.oom) {
        if (a.hit)
            ns_instance_free(&a.best);
        memset(&a, 0, sizeof a);
        a.want = want;
        rc = ns_list_each(st, NULL, want, ns_oldest_one, &a, &e);
        if (rc != CSDK_OK)
            (void)ns_fail(st, call, rc, &e);
    }
    if (a.oom) {
        rc = ns_nomem(st, call);
    } else if (rc == CSDK_OK && !a.hit) {
        rc = CSDK_E_NOT_FOUND;
    } else if (rc == CSDK_OK) {
        *out = a.best;
        return CSDK_OK;
    }
    if (a.hit)
        ns_instance_free(&a.best);
    return rc;
}

/* Report a named sandbox's record. */
static csdk_status_t ns_report_named(ns_state_t *st, csdk_call_t *call,
                                     const ns_instance_t *in, const char *ns,
                                     const char *name, int created)
{
    csdk_status_t rc = ns_report(st, call, in, 0);

    if (rc == CSDK_OK &&
        (st->host->set_str(call, CSDK_F_NAME, name) != 0 ||
         st->host->set_str(call, CSDK_F_NAMESPACE, ns) != 0 ||
         st->host->set_int(call, CSDK_F_CREATED, created) != 0))
        rc = ns_nomem(st, call);
    return rc;
}

/* The result of ns_named_take when the chosen instance is gone. */
#define NS_AGAIN 1000

/* Wait until the chosen instance `w` is ready and describe it into *out.
 * NS_AGAIN when it failed or was destroyed meanwhile (choose again). */
static csdk_status_t ns_named_take(ns_state_t *st, csdk_call_t *call,
                                   ns_instance_t *w, ns_instance_t *out)
{
    csdk_status_t rc = ns_wait_ready(st, call, w);

    memset(out, 0, sizeof *out);
    /* UNAVAILABLE: it failed or was destroyed (ns_wait_ready retries
     * transient failures itself). */
    if (rc != CSDK_OK)
        return rc == CSDK_E_UNAVAILABLE || ns_failed(w) ? NS_AGAIN : rc;
    rc = ns_describe_live(st, call, w->id, 1, out);
    if (rc == CSDK_E_NOT_FOUND)
        return NS_AGAIN;
    if (rc == CSDK_OK && ns_cache_put(st, out) == NULL) {
        ns_instance_free(out);
        return ns_nomem(st, call);
    }
    return rc;
}

csdk_status_t ns_find(ns_state_t *st, csdk_call_t *call, const char *ns,
                      const char *name)
{
    ns_pairs_t want;
    ns_instance_t in;
    csdk_status_t rc = ns_name_labels(st, call, ns, name, &want);

    if (rc != CSDK_OK)
        return rc;
    rc = ns_named_oldest(st, call, &want, 0, &in);
    ns_pairs_free(&want);
    if (rc == CSDK_E_NOT_FOUND)
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "no sandbox named '%.100s' in namespace "
                               "'%.100s' of provider '%s'; make it with "
                               "find_or_create", name, ns, st->instance);
    if (rc != CSDK_OK)
        return rc;
    rc = ns_report_named(st, call, &in, ns, name, 0);
    ns_instance_free(&in);
    return rc;
}

/* One round of find_or_create (steps 1-3 above): CSDK_OK with the
 * sandbox reported, NS_AGAIN, or a failure. */
static csdk_status_t ns_foc_round(ns_state_t *st, csdk_call_t *call,
                                  const char *ns, const char *name,
                                  const csdk_create_opts_t *opts,
                                  const ns_pairs_t *want)
{
    ns_instance_t w, mine, got;
    csdk_status_t rc = ns_named_oldest(st, call, want, 0, &w);

    if (rc != CSDK_OK && rc != CSDK_E_NOT_FOUND)
        return rc;
    if (rc == CSDK_E_NOT_FOUND) {
        rc = ns_make(st, call, opts, want, &mine);
        if (rc != CSDK_OK)
            return rc;
        rc = ns_named_oldest(st, call, want, 1, &w);
        if (rc == CSDK_E_NOT_FOUND || (rc == CSDK_OK && !ns_older(&w, &mine))) {
            /* Ours is the oldest (or the only one listed). */
            if (rc == CSDK_OK)
                ns_instance_free(&w);
            rc = ns_report_named(st, call, &mine, ns, name, 1);
            ns_instance_free(&mine);
            return rc;
        }
        if (rc != CSDK_OK) {
            /* Who keeps it is unknown: keep ours; it carries the name. */
            st->host->log(st->inst, CSDK_LOG_WARN, "named instance %s is "
                          "kept: the instances of its name could not be "
                          "listed", mine.id);
            ns_instance_free(&mine);
            return rc;
        }
        st->host->log(st->inst, CSDK_LOG_DEBUG, "instance %s of that name "
                      "is older than ours (%s)", w.id, mine.id);
        ns_destroy_quietly(st, mine.id, "an older instance has that name");
        ns_instance_free(&mine);
    }
    rc = ns_named_take(st, call, &w, &got);
    ns_instance_free(&w);
    if (rc != CSDK_OK)
        return rc;
    rc = ns_report_named(st, call, &got, ns, name, 0);
    ns_instance_free(&got);
    return rc;
}

csdk_status_t ns_find_or_create(ns_state_t *st, csdk_call_t *call,
                                const char *ns, const char *name,
                                const csdk_create_opts_t *opts)
{
    ns_pairs_t want;
    csdk_status_t rc = ns_name_labels(st, call, ns, name, &want);

    if (rc != CSDK_OK)
        return rc;
    for (int round = 0; round < 4; round++) {
        if (st->host->cancelled(call) || st->host->remaining_ms(call) == 0) {
            rc = ns_stopped(st, call, "finding or creating a named sandbox");
            break;
        }
        rc = ns_foc_round(st, call, ns, name, opts, &want);
        if (rc != NS_AGAIN)
            break;
        st->host->log(st->inst, CSDK_LOG_INFO, "the sandbox named '%.100s' "
                      "failed before it was ready; choosing again", name);
    }
    ns_pairs_free(&want);
    if (rc == NS_AGAIN)
        rc = st->host->error(call, CSDK_E_UNAVAILABLE,
                             "the sandbox named '%.100s' in namespace "
                             "'%.100s' failed to start four times; try "
                             "again (see its instances in Namespace's "
                             "dashboard)", name, ns);
    return rc;
}
