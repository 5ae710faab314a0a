/* The public API (csdk/csdk.h): opening a host, and one thin function per
 * sandbox operation that packs its arguments, routes the id to its
 * instance, runs the slot through dispatch_call and converts the plugin's
 * records into the caller's structs. */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "dispatch.h"
#include "loader.h"
#include "registry.h"

static const char *const method_names[CSDK_M_COUNT] = {
    "create",          "get",             "list",
    "destroy",         "run_command",     "run_code",
    "info",            "url",             "read_file",
    "write_file",      "mkdir",           "readdir",
    "exists",          "remove",          "find",
    "find_or_create",  "extend_timeout",  "template_create",
    "template_list",   "template_delete", "snapshot_create",
    "snapshot_list",   "snapshot_delete",
};

CSDK_EXPORT const char *csdk_method_name(uint32_t m)
{
    return m < CSDK_M_COUNT ? method_names[m] : NULL;
}

/* ------------------------------------------------------------------ */
/* Opening                                                             */
/* ------------------------------------------------------------------ */

/* Used when no configuration file exists anywhere. */
static const char builtin_config[] =
    "[host]\n"
    "default_provider = local\n"
    "[provider.local]\n"
    "plugin = local\n"
    "[provider.example]\n"
    "plugin = example\n";
#define BUILTIN_ORIGIN "(built-in default)"

static int file_exists(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0;
}

/* The search order of csdk_open(NULL, ...).  Returns a malloc'd path, or
 * NULL for the built-in default; *fail set when out of memory. */
static char *config_search(int *fail)
{
    const char *env = getenv("CSDK_CONFIG"), *xdg = getenv("XDG_CONFIG_HOME"),
               *home = getenv("HOME");
    char *p = NULL;

    *fail = 0;
    if (env && *env)
        return (p = strdup(env)) ? p : (*fail = 1, NULL);
    if (xdg && *xdg) {
        if (asprintf(&p, "%s/csdk/csdk.ini", xdg) < 0)
            return *fail = 1, NULL;
    } else if (home && *home) {
        if (asprintf(&p, "%s/.config/csdk/csdk.ini", home) < 0)
            return *fail = 1, NULL;
    }
    if (p && file_exists(p))
        return p;
    free(p);
    if (file_exists(CSDK_SYSCONFDIR "/csdk/csdk.ini"))
        return (p = strdup(CSDK_SYSCONFDIR "/csdk/csdk.ini"))
                   ? p : (*fail = 1, NULL);
    return NULL;
}

/* libcurl's global state must be set up once per process, before any
 * thread uses it and before a plugin that links libcurl is loaded (its
 * init is not thread-safe).  Plugins never call curl_global_init. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_OK;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static csdk_status_t open_common(const char *path, const char *text,
                                 const char *origin,
                                 const csdk_open_opts_t *opts, csdk_t **out,
                                 csdk_error_t *err)
{
    csdk_t *h;
    config_t *cfg = NULL;
    const char *plugin_dir = NULL;
    csdk_status_t rc;

    *out = NULL;
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return error_set(err, CSDK_E_INTERNAL, "libcurl failed to "
                         "initialise: %s", curl_easy_strerror(curl_init_rc));
    h = calloc(1, sizeof *h);
    if (!h)
        return error_set(err, CSDK_E_NOMEM, "out of memory");
    h->log.level = -1;
    if (opts && CSDK_HAS_FIELD(csdk_open_opts_t, opts, log_ud)) {
        h->log.level = opts->log_level;
        h->log.fn = opts->log_fn;
        h->log.ud = opts->log_ud;
    }
    if (opts && CSDK_HAS_FIELD(csdk_open_opts_t, opts, plugin_dir))
        plugin_dir = opts->plugin_dir;
    rc = path ? config_load_file(path, &cfg, err)
              : config_load_string(text, origin, &cfg, err);
    if (rc == CSDK_OK)
        rc = registry_build(h, cfg, plugin_dir, err);
    if (rc != CSDK_OK) {
        if (!h->cfg)
            config_free(cfg);
        registry_teardown(h);
        free(h);
        return rc;
    }
    *out = h;
    return CSDK_OK;
}

CSDK_EXPORT csdk_status_t csdk_open(const char *config_path,
                                    const csdk_open_opts_t *opts,
                                    csdk_t **out, csdk_error_t *err)
{
    char *found = NULL;
    csdk_status_t rc;
    int fail;

    if (!out)
        return error_set(err, CSDK_E_INVALID_ARGUMENT, "csdk_open: out is NULL");
    if (!config_path) {
        found = config_search(&fail);
        if (fail)
            return error_set(err, CSDK_E_NOMEM, "out of memory");
        if (!found)
            return open_common(NULL, builtin_config, BUILTIN_ORIGIN, opts,
                               out, err);
        config_path = found;
    }
    rc = open_common(config_path, NULL, NULL, opts, out, err);
    free(found);
    return rc;
}

CSDK_EXPORT csdk_status_t csdk_open_string(const char *ini_text,
                                           const char *origin,
                                           const csdk_open_opts_t *opts,
                                           csdk_t **out, csdk_error_t *err)
{
    if (!out || !ini_text)
        return error_set(err, CSDK_E_INVALID_ARGUMENT,
                         "csdk_open_string: NULL argument");
    return open_common(NULL, ini_text, origin ? origin : "(string)", opts,
                       out, err);
}

CSDK_EXPORT void csdk_close(csdk_t *h)
{
    if (!h)
        return;
    registry_teardown(h);
    free(h);
}

CSDK_EXPORT const char *csdk_config_origin(const csdk_t *h)
{
    return h && h->cfg ? h->cfg->origin : NULL;
}

/* ------------------------------------------------------------------ */
/* Providers                                                           */
/* ------------------------------------------------------------------ */

CSDK_EXPORT size_t csdk_provider_count(const csdk_t *h)
{
    return h ? h->n_inst : 0;
}

CSDK_EXPORT csdk_status_t csdk_provider_get(const csdk_t *h, size_t i,
                                            csdk_provider_info_t *out)
{
    const struct csdk_instance *in;
    if (!h || !out || i >= h->n_inst)
        return CSDK_E_NOT_FOUND;
    in = &h->inst[i];
    memset(out, 0, sizeof *out);
    out->name = in->name;
    out->plugin = in->plugin_path;
    out->loaded = in->loaded;
    out->error = in->loaded ? NULL : in->error;
    if (in->loaded) {
        out->plugin_name = in->def.name;
        out->version = in->def.version;
        out->description = in->def.description;
        out->abi_version = in->def.abi_version;
        out->caps = in->caps;
    }
    return CSDK_OK;
}

CSDK_EXPORT const char *csdk_default_provider(const csdk_t *h)
{
    return h ? h->default_provider : NULL;
}

CSDK_EXPORT csdk_status_t csdk_metrics_get(const csdk_t *h,
                                           const char *provider,
                                           uint32_t method,
                                           csdk_metrics_t *out)
{
    if (!h || !out || method >= CSDK_M_COUNT)
        return CSDK_E_INVALID_ARGUMENT;
    for (size_t i = 0; i < h->n_inst; i++) {
        if (strcmp(h->inst[i].name, provider ? provider
                                             : h->default_provider
                                                   ? h->default_provider
                                                   : "") == 0) {
            metrics_snapshot(&h->inst[i].metrics[method], out);
            return CSDK_OK;
        }
    }
    return CSDK_E_NOT_FOUND;
}

/* ------------------------------------------------------------------ */
/* Converting results                                                  */
/* ------------------------------------------------------------------ */

static char *dup_or_null(const char *s, int *oom)
{
    char *p;
    if (!s)
        return NULL;
    if (!(p = strdup(s)))
        *oom = 1;
    return p;
}

static char *make_id(const struct csdk_instance *in, const char *native,
                     int *oom)
{
    size_t a, b;
    char *p;
    if (!native)
        return NULL;
    a = strlen(in->name);
    b = strlen(native);
    if (!(p = malloc(a + b + 2))) {
        *oom = 1;
        return NULL;
    }
    memcpy(p, in->name, a);
    p[a] = ':';
    memcpy(p + a + 1, native, b + 1);
    return p;
}

CSDK_EXPORT void csdk_sandbox_clear(csdk_sandbox_t *sb)
{
    if (!sb)
        return;
    free(sb->id);
    free(sb->provider);
    free(sb->status);
    free(sb->runtime);
    free(sb->name);
    free(sb->namespace_);
    for (size_t i = 0; i < sb->n_metadata; i++) {
        free(sb->metadata[i].key);
        free(sb->metadata[i].value);
    }
    free(sb->metadata);
    memset(sb, 0, sizeof *sb);
}

CSDK_EXPORT void csdk_sandbox_list_free(csdk_sandbox_t *sbs, size_t n)
{
    for (size_t i = 0; sbs && i < n; i++)
        csdk_sandbox_clear(&sbs[i]);
    free(sbs);
}

/* Record -> sandbox.  `fallback_id` is used when the plugin reported no
 * id (get/info of a known id). */
static csdk_status_t sandbox_from(const struct csdk_instance *in,
                                  const call_record_t *r,
                                  const char *fallback_id, csdk_sandbox_t *sb,
                                  csdk_error_t *err)
{
    int oom = 0;
    const char *native = record_str(r, CSDK_F_ID);
    memset(sb, 0, sizeof *sb);
    if (!native)
        native = fallback_id;
    if (!native)
        return error_set(err, CSDK_E_PROTOCOL,
                         "%s: the plugin reported a sandbox without an id",
                         in->who);
    sb->id = make_id(in, native, &oom);
    sb->provider = dup_or_null(in->name, &oom);
    sb->status = dup_or_null(record_str(r, CSDK_F_STATUS), &oom);
    sb->runtime = dup_or_null(record_str(r, CSDK_F_RUNTIME), &oom);
    sb->name = dup_or_null(record_str(r, CSDK_F_NAME), &oom);
    sb->namespace_ = dup_or_null(record_str(r, CSDK_F_NAMESPACE), &oom);
    sb->created_ms = record_int(r, CSDK_F_CREATED_MS);
    sb->timeout_ms = record_int(r, CSDK_F_TIMEOUT_MS);
    sb->expires_ms = record_int(r, CSDK_F_EXPIRES_MS);
    sb->created = (int32_t)record_int(r, CSDK_F_CREATED);
    if (r && r->n_meta) {
        sb->metadata = calloc(r->n_meta, sizeof *sb->metadata);
        if (!sb->metadata)
            oom = 1;
        for (size_t i = 0; sb->metadata && i < r->n_meta; i++) {
            sb->metadata[i].key = dup_or_null(r->meta[i].key, &oom);
            sb->metadata[i].value = dup_or_null(r->meta[i].value, &oom);
            sb->n_metadata++;
        }
    }
    if (oom) {
        csdk_sandbox_clear(sb);
        return error_set(err, CSDK_E_NOMEM, "out of memory");
    }
    return CSDK_OK;
}

/* ------------------------------------------------------------------ */
/* Argument packs and slot invokers                                    */
/* ------------------------------------------------------------------ */

typedef struct args {
    const char *id;        /* native id */
    const char *path;      /* or namespace */
    const char *name;
    const char *str;       /* language, protocol */
    const void *data;
    size_t len;
    uint64_t u64;          /* port, ms */
    const csdk_create_opts_t *copts;
    const csdk_run_opts_t *ropts;
} args_t;

#define INVOKER(fn, expr)                                                  \
    static csdk_status_t fn(struct csdk_instance *in, csdk_call_t *call,  \
                            const void *argp)                              \
    {                                                                      \
        const args_t *a = argp;                                            \
        (void)a;                                                           \
        return expr;                                                       \
    }

/* Ids the API hands out carry their instance ("local:tpl-1"); a plugin
 * knows only its native ids, so a template id of this instance loses its
 * prefix.  Anything else passes unchanged (a native id may hold ':'). */
static const csdk_create_opts_t *native_template(const struct csdk_instance *in,
                                                 const csdk_create_opts_t *o,
                                                 csdk_create_opts_t *copy)
{
    size_t n = strlen(in->name);
    if (!CSDK_HAS_FIELD(csdk_create_opts_t, o, template_id) ||
        !o->template_id || strncmp(o->template_id, in->name, n) != 0 ||
        o->template_id[n] != ':')
        return o;
    csdk_opts_read(copy, sizeof *copy, o);
    copy->template_id = o->template_id + n + 1;
    return copy;
}

static csdk_status_t inv_create(struct csdk_instance *in, csdk_call_t *call,
                                const void *argp)
{
    const args_t *a = argp;
    csdk_create_opts_t copy;
    return in->def.create(in->state, call, native_template(in, a->copts, &copy));
}

static csdk_status_t inv_find_or_create(struct csdk_instance *in,
                                        csdk_call_t *call, const void *argp)
{
    const args_t *a = argp;
    csdk_create_opts_t copy;
    return in->def.find_or_create(in->state, call, a->path, a->name,
                                  native_template(in, a->copts, &copy));
}
INVOKER(inv_get, in->def.get(in->state, call, a->id))
INVOKER(inv_info, in->def.info(in->state, call, a->id))
INVOKER(inv_list, in->def.list(in->state, call))
INVOKER(inv_destroy, in->def.destroy(in->state, call, a->id))
INVOKER(inv_run_command, in->def.run_command(in->state, call, a->id, a->ropts))
INVOKER(inv_run_code, in->def.run_code(in->state, call, a->id, a->data,
                                       a->len, a->str, a->ropts))
INVOKER(inv_url, in->def.url(in->state, call, a->id, (uint32_t)a->u64, a->str))
INVOKER(inv_read_file, in->def.read_file(in->state, call, a->id, a->path))
INVOKER(inv_write_file, in->def.write_file(in->state, call, a->id, a->path,
                                           a->data, a->len))
INVOKER(inv_mkdir, in->def.mkdir(in->state, call, a->id, a->path))
INVOKER(inv_readdir, in->def.readdir(in->state, call, a->id, a->path))
INVOKER(inv_exists, in->def.exists(in->state, call, a->id, a->path))
INVOKER(inv_remove, in->def.remove(in->state, call, a->id, a->path))
INVOKER(inv_find, in->def.find(in->state, call, a->path, a->name))
INVOKER(inv_extend, in->def.extend_timeout(in->state, call, a->id, a->u64))
INVOKER(inv_template_create, in->def.template_create(in->state, call, a->id,
                                                     a->name))
INVOKER(inv_template_list, in->def.template_list(in->state, call))
INVOKER(inv_template_delete, in->def.template_delete(in->state, call, a->id))
INVOKER(inv_snapshot_create, in->def.snapshot_create(in->state, call, a->id,
                                                     a->name))
INVOKER(inv_snapshot_list, in->def.snapshot_list(in->state, call))
INVOKER(inv_snapshot_delete, in->def.snapshot_delete(in->state, call, a->id))

/*
 * The deadline of a call, in ms (0 = none): the caller's, else for
 * run_command/run_code (which may run as long as their own timeout allows)
 * that timeout plus the instance's timeout_ms for the provider's own work,
 * or none without a timeout; else the instance's timeout_ms.
 */
static uint64_t deadline_for(const struct csdk_instance *in, uint32_t m,
                             const args_t *a, const csdk_call_opts_t *copts)
{
    const csdk_run_opts_t *ro = a->ropts;
    if (copts && CSDK_HAS_FIELD(csdk_call_opts_t, copts, deadline_ms) &&
        copts->deadline_ms)
        return copts->deadline_ms;
    if (m == CSDK_M_RUN_COMMAND || m == CSDK_M_RUN_CODE) {
        if (!ro || !CSDK_HAS_FIELD(csdk_run_opts_t, ro, timeout_ms) ||
            !ro->timeout_ms || !in->timeout_ms)
            return 0;
        return ro->timeout_ms + in->timeout_ms;
    }
    return in->timeout_ms;
}

/* Resolve, dispatch, and leave the results in *call (call_end by the
 * caller, also on failure). */
static csdk_status_t run(csdk_t *h, const char *id_or_provider, int by_id,
                         uint32_t m, dispatch_invoke_fn *inv, args_t *a,
                         const csdk_call_opts_t *copts, csdk_call_t *call,
                         struct csdk_instance **inp, csdk_error_t *err)
{
    struct csdk_instance *in;
    csdk_status_t rc;

    call_begin(call, NULL, m, copts);
    if (!h)
        return error_set(err, CSDK_E_INVALID_ARGUMENT, "csdk_t is NULL");
    rc = by_id ? registry_resolve_id(h, id_or_provider, &in, &a->id, err)
               : registry_lookup(h, id_or_provider, &in, err);
    if (rc != CSDK_OK)
        return rc;
    call->inst = in;
    if (inp)
        *inp = in;
    return dispatch_call(in, m, deadline_for(in, m, a, copts),
                         copts ? copts->flags : 0, inv, a, call, err);
}

static csdk_status_t sandbox_call(csdk_t *h, const char *key, int by_id,
                                  uint32_t m, dispatch_invoke_fn *inv,
                                  args_t *a, const csdk_call_opts_t *copts,
                                  csdk_sandbox_t *out, csdk_error_t *err)
{
    struct csdk_instance *in = NULL;
    csdk_call_t call;
    csdk_status_t rc;

    if (out)
        memset(out, 0, sizeof *out);
    rc = run(h, key, by_id, m, inv, a, copts, &call, &in, err);
    if (rc == CSDK_OK && out)
        rc = sandbox_from(in, call_record(&call, 0), by_id ? a->id : NULL,
                          out, err);
    call_end(&call);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Collection                                                          */
/* ------------------------------------------------------------------ */

CSDK_EXPORT csdk_status_t csdk_create(csdk_t *h, const char *provider,
                                      const csdk_create_opts_t *opts,
                                      const csdk_call_opts_t *copts,
                                      csdk_sandbox_t *out, csdk_error_t *err)
{
    csdk_create_opts_t none = {.struct_size = sizeof none};
    args_t a = {.copts = opts ? opts : &none};
    return sandbox_call(h, provider, 0, CSDK_M_CREATE, inv_create, &a, copts,
                        out, err);
}

CSDK_EXPORT csdk_status_t csdk_get(csdk_t *h, const char *id,
                                   const csdk_call_opts_t *copts,
                                   csdk_sandbox_t *out, csdk_error_t *err)
{
    args_t a = {0};
    return sandbox_call(h, id, 1, CSDK_M_GET, inv_get, &a, copts, out, err);
}

CSDK_EXPORT csdk_status_t csdk_info(csdk_t *h, const char *id,
                                    const csdk_call_opts_t *copts,
                                    csdk_sandbox_t *out, csdk_error_t *err)
{
    args_t a = {0};
    return sandbox_call(h, id, 1, CSDK_M_INFO, inv_info, &a, copts, out, err);
}

CSDK_EXPORT csdk_status_t csdk_destroy(csdk_t *h, const char *id,
                                       const csdk_call_opts_t *copts,
                                       csdk_error_t *err)
{
    args_t a = {0};
    return sandbox_call(h, id, 1, CSDK_M_DESTROY, inv_destroy, &a, copts,
                        NULL, err);
}

/* Append instance `in`'s list to *out. */
static csdk_status_t list_one(csdk_t *h, const char *provider,
                              const csdk_call_opts_t *copts,
                              csdk_sandbox_t **out, size_t *n,
                              csdk_error_t *err)
{
    struct csdk_instance *in = NULL;
    csdk_call_t call;
    args_t a = {0};
    csdk_status_t rc;

    rc = run(h, provider, 0, CSDK_M_LIST, inv_list, &a, copts, &call, &in,
             err);
    if (rc == CSDK_OK && call.n_recs) {
        csdk_sandbox_t *grown = realloc(*out, (*n + call.n_recs) * sizeof **out);
        if (!grown) {
            rc = error_set(err, CSDK_E_NOMEM, "out of memory");
        } else {
            *out = grown;
            for (size_t i = 0; i < call.n_recs && rc == CSDK_OK; i++) {
                rc = sandbox_from(in, call_record(&call, i), NULL, &grown[*n],
                                 err);
                if (rc == CSDK_OK)
                    (*n)++;
            }
        }
    }
    call_end(&call);
    return rc;
}

CSDK_EXPORT csdk_status_t csdk_list(csdk_t *h, const char *provider,
                                    const csdk_call_opts_t *copts,
                                    csdk_sandbox_t **out, size_t *n,
                                    csdk_error_t *err)
{
    csdk_status_t rc = CSDK_OK;
    if (!out || !n)
        return error_set(err, CSDK_E_INVALID_ARGUMENT, "csdk_list: NULL out");
    *out = NULL;
    *n = 0;
    if (!h)
        return error_set(err, CSDK_E_INVALID_ARGUMENT, "csdk_t is NULL");
    if (provider)
        rc = list_one(h, provider, copts, out, n, err);
    else
        for (size_t i = 0; i < h->n_inst && rc == CSDK_OK; i++)
            if (h->inst[i].loaded)
                rc = list_one(h, h->inst[i].name, copts, out, n, err);
    if (rc != CSDK_OK) {
        csdk_sandbox_list_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* Instance                                                            */
/* ------------------------------------------------------------------ */

/* Empty output is this shared string, not an allocation: most commands
 * print nothing on stderr, and two mallocs are a fifth of a call. */
static char empty_output[1];

static char *take_output(strbuf_t *b, size_t *len)
{
    if (b->len == 0) {
        strbuf_free(b);
        *len = 0;
        return empty_output;
    }
    return strbuf_take(b, len);
}

static void free_output(char *p)
{
    if (p != empty_output)
        free(p);
}

CSDK_EXPORT void csdk_result_clear(csdk_result_t *r)
{
    if (!r)
        return;
    free_output(r->out);
    free_output(r->err);
    memset(r, 0, sizeof *r);
}

static void result_from(csdk_call_t *call, csdk_result_t *res)
{
    const call_record_t *r = call_record(call, 0);
    res->exit_code = (int32_t)record_int(r, CSDK_F_EXIT_CODE);
    res->flags = (uint32_t)record_int(r, CSDK_F_RESULT_FLAGS);
    res->pid = record_int(r, CSDK_F_PID);
    res->duration_ms = record_int(r, CSDK_F_DURATION_MS);
    if (!call->on_output) {
        res->out = take_output(&call->out[CSDK_STREAM_STDOUT], &res->out_len);
        res->err = take_output(&call->out[CSDK_STREAM_STDERR], &res->err_len);
    }
}

static csdk_status_t run_call(csdk_t *h, const char *id, uint32_t m,
                              dispatch_invoke_fn *inv, args_t *a,
                              const csdk_call_opts_t *copts,
                              csdk_result_t *res, csdk_error_t *err)
{
    csdk_call_t call;
    csdk_status_t rc;

    if (res)
        memset(res, 0, sizeof *res);
    rc = run(h, id, 1, m, inv, a, copts, &call,
             NULL, err);
    /* A command that ran has a result even when the call failed (SYNTAX
     * keeps the interpreter's message). */
    if (res && call.inst)
        result_from(&call, res);
    call_end(&call);
    return rc;
}

CSDK_EXPORT csdk_status_t csdk_run_command(csdk_t *h, const char *id,
                                           const csdk_run_opts_t *opts,
                                           const csdk_call_opts_t *copts,
                                           csdk_result_t *res,
                                           csdk_error_t *err)
{
    args_t a = {.ropts = opts};
    if (!opts || (!opts->argv && !opts->shell) ||
        (opts->argv && !opts->argv[0])) {
        if (res)
            memset(res, 0, sizeof *res);
        return error_set(err, CSDK_E_INVALID_ARGUMENT,
                         "run_command: give a command (argv or shell)");
    }
    return run_call(h, id, CSDK_M_RUN_COMMAND, inv_run_command, &a, copts,
                    res, err);
}

CSDK_EXPORT csdk_status_t csdk_run_code(csdk_t *h, const char *id,
                                        const char *code, size_t code_len,
                                        const char *language,
                                        const csdk_run_opts_t *opts,
                                        const csdk_call_opts_t *copts,
                                        csdk_result_t *res, csdk_error_t *err)
{
    csdk_run_opts_t none = {.struct_size = sizeof none};
    args_t a = {.data = code ? code : "", .len = code ? code_len : 0,
                .str = language, .ropts = opts ? opts : &none};
    return run_call(h, id, CSDK_M_RUN_CODE, inv_run_code, &a, copts, res,
                    err);
}

/* Calls whose only result is a string field or bytes. */
CSDK_EXPORT csdk_status_t csdk_url(csdk_t *h, const char *id, uint32_t port,
                                   const char *protocol,
                                   const csdk_call_opts_t *copts, char **url,
                                   csdk_error_t *err)
{
    args_t a = {.u64 = port, .str = protocol};
    csdk_call_t call;
    csdk_status_t rc;
    const char *s;

    if (url)
        *url = NULL;
    if (port == 0 || port > 65535)
        return error_set(err, CSDK_E_INVALID_ARGUMENT,
                         "url: port %u is not in 1-65535", port);
    rc = run(h, id, 1, CSDK_M_URL, inv_url, &a, copts, &call, NULL, err);
    if (rc == CSDK_OK) {
        s = record_str(call_record(&call, 0), CSDK_F_URL);
        if (!s)
            rc = error_set(err, CSDK_E_PROTOCOL,
                           "%s: url: the plugin reported no url",
                           call.inst->who);
        else if (url && !(*url = strdup(s)))
            rc = error_set(err, CSDK_E_NOMEM, "out of memory");
    }
    call_end(&call);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Filesystem                                                          */
/* ------------------------------------------------------------------ */

static csdk_status_t check_path(const char *path, csdk_error_t *err)
{
    if (!path || !*path)
        return error_set(err, CSDK_E_INVALID_ARGUMENT, "empty path");
    return CSDK_OK;
}

CSDK_EXPORT csdk_status_t csdk_read_file(csdk_t *h, const char *id,
                                         const char *path,
                                         const csdk_call_opts_t *copts,
                                         void **data, size_t *len,
                                         csdk_error_t *err)
{
    args_t a = {.path = path};
    csdk_call_t call;
    csdk_status_t rc;

    if (data)
        *data = NULL;
    if (len)
        *len = 0;
    if ((rc = check_path(path, err)) != CSDK_OK)
        return rc;
    rc = run(h, id, 1, CSDK_M_READ_FILE, inv_read_file, &a, copts, &call,
             NULL, err);
    if (rc == CSDK_OK && !call.on_output && data) {
        size_t n;
        *data = strbuf_take(&call.out[CSDK_STREAM_DATA], &n);
        if (!*data)
            rc = error_set(err, CSDK_E_NOMEM, "out of memory");
        else if (len)
            *len = n;
    }
    call_end(&call);
    return rc;
}

CSDK_EXPORT csdk_status_t csdk_write_file(csdk_t *h, const char *id,
                                          const char *path, const void *data,
                                          size_t len,
                                          const csdk_call_opts_t *copts,
                                          csdk_error_t *err)
{
    args_t a = {.path = path, .data = data ? data : "", .len = data ? len : 0};
    csdk_status_t rc = check_path(path, err);
    return rc != CSDK_OK ? rc
                         : sandbox_call(h, id, 1, CSDK_M_WRITE_FILE,
                                        inv_write_file, &a, copts, NULL, err);
}

CSDK_EXPORT csdk_status_t csdk_mkdir(csdk_t *h, const char *id,
                                     const char *path,
                                     const csdk_call_opts_t *copts,
                                     csdk_error_t *err)
{
    args_t a = {.path = path};
    csdk_status_t rc = check_path(path, err);
    return rc != CSDK_OK ? rc
                         : sandbox_call(h, id, 1, CSDK_M_MKDIR, inv_mkdir, &a,
                                        copts, NULL, err);
}

CSDK_EXPORT csdk_status_t csdk_remove(csdk_t *h, const char *id,
                                      const char *path,
                                      const csdk_call_opts_t *copts,
                                      csdk_error_t *err)
{
    args_t a = {.path = path};
    csdk_status_t rc = check_path(path, err);
    return rc != CSDK_OK ? rc
                         : sandbox_call(h, id, 1, CSDK_M_REMOVE, inv_remove,
                                        &a, copts, NULL, err);
}

CSDK_EXPORT csdk_status_t csdk_exists(csdk_t *h, const char *id,
                                      const char *path,
                                      const csdk_call_opts_t *copts,
                                      int32_t *exists, csdk_error_t *err)
{
    args_t a = {.path = path};
    csdk_call_t call;
    csdk_status_t rc;

    if (exists)
        *exists = 0;
    if ((rc = check_path(path, err)) != CSDK_OK)
        return rc;
    rc = run(h, id, 1, CSDK_M_EXISTS, inv_exists, &a, copts, &call, NULL,
             err);
    if (rc == CSDK_OK && exists)
        *exists = record_int(call_record(&call, 0), CSDK_F_EXISTS) != 0;
    call_end(&call);
    return rc;
}

CSDK_EXPORT void csdk_dirents_free(csdk_dirent_t *ents, size_t n)
{
    for (size_t i = 0; ents && i < n; i++)
        free(ents[i].name);
    free(ents);
}

CSDK_EXPORT csdk_status_t csdk_readdir(csdk_t *h, const char *id,
                                       const char *path,
                                       const csdk_call_opts_t *copts,
                                       csdk_dirent_t **ents, size_t *n,
                                       csdk_error_t *err)
{
    args_t a = {.path = path};
    csdk_call_t call;
    csdk_status_t rc;

    if (!ents || !n)
        return error_set(err, CSDK_E_INVALID_ARGUMENT, "readdir: NULL out");
    *ents = NULL;
    *n = 0;
    if ((rc = check_path(path, err)) != CSDK_OK)
        return rc;
    rc = run(h, id, 1, CSDK_M_READDIR, inv_readdir, &a, copts, &call, NULL,
             err);
    if (rc == CSDK_OK && call.n_recs) {
        *ents = calloc(call.n_recs, sizeof **ents);
        if (!*ents)
            rc = error_set(err, CSDK_E_NOMEM, "out of memory");
        for (size_t i = 0; *ents && i < call.n_recs; i++) {
            const call_record_t *r = call_record(&call, i);
            const char *name = record_str(r, CSDK_F_NAME);
            csdk_dirent_t *d = &(*ents)[*n];
            if (!name)
                continue; /* an entry without a name is no entry */
            if (!(d->name = strdup(name))) {
                rc = error_set(err, CSDK_E_NOMEM, "out of memory");
                break;
            }
            d->type = (int32_t)record_int(r, CSDK_F_FILE_TYPE);
            d->size = record_int(r, CSDK_F_SIZE);
            d->mtime_ms = record_int(r, CSDK_F_MTIME_MS);
            (*n)++;
        }
        if (rc != CSDK_OK) {
            csdk_dirents_free(*ents, *n);
            *ents = NULL;
            *n = 0;
        }
    }
    call_end(&call);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Named sandboxes                                                     */
/* ------------------------------------------------------------------ */

static csdk_status_t check_name(const char *what, const char *s,
                                csdk_error_t *err)
{
    if (!s || !*s)
        return error_set(err, CSDK_E_INVALID_ARGUMENT, "empty %s", what);
    if (strlen(s) > 256)
        return error_set(err, CSDK_E_INVALID_ARGUMENT,
                         "%s is longer than 256 bytes", what);
    return CSDK_OK;
}

CSDK_EXPORT csdk_status_t csdk_find(csdk_t *h, const char *provider,
                                    const char *namespace_, const char *name,
                                    const csdk_call_opts_t *copts,
                                    csdk_sandbox_t *out, csdk_error_t *err)
{
    args_t a = {.path = namespace_, .name = name};
    csdk_status_t rc;
    if ((rc = check_name("namespace", namespace_, err)) != CSDK_OK ||
        (rc = check_name("name", name, err)) != CSDK_OK)
        return rc;
    return sandbox_call(h, provider, 0, CSDK_M_FIND, inv_find, &a, copts, out,
                        err);
}

CSDK_EXPORT csdk_status_t csdk_find_or_create(
    csdk_t *h, const char *provider, const char *namespace_,
    const char *name, const csdk_create_opts_t *opts,
    const csdk_call_opts_t *copts, csdk_sandbox_t *out, csdk_error_t *err)
{
    csdk_create_opts_t none = {.struct_size = sizeof none};
    args_t a = {.path = namespace_, .name = name, .copts = opts ? opts : &none};
    csdk_status_t rc;
    if ((rc = check_name("namespace", namespace_, err)) != CSDK_OK ||
        (rc = check_name("name", name, err)) != CSDK_OK)
        return rc;
    return sandbox_call(h, provider, 0, CSDK_M_FIND_OR_CREATE,
                        inv_find_or_create, &a, copts, out, err);
}

CSDK_EXPORT csdk_status_t csdk_extend_timeout(csdk_t *h, const char *id,
                                              uint64_t ms,
                                              const csdk_call_opts_t *copts,
                                              csdk_sandbox_t *out,
                                              csdk_error_t *err)
{
    args_t a = {.u64 = ms};
    csdk_sandbox_t tmp;
    csdk_status_t rc = sandbox_call(h, id, 1, CSDK_M_EXTEND_TIMEOUT,
                                    inv_extend, &a, copts, out ? out : &tmp,
                                    err);
    if (!out && rc == CSDK_OK)
        csdk_sandbox_clear(&tmp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Templates and snapshots                                             */
/* ------------------------------------------------------------------ */

CSDK_EXPORT void csdk_saved_free(csdk_saved_t *items, size_t n)
{
    for (size_t i = 0; items && i < n; i++) {
        free(items[i].id);
        free(items[i].name);
    }
    free(items);
}

static int valid_kind(int32_t kind)
{
    return kind == CSDK_SAVED_TEMPLATE || kind == CSDK_SAVED_SNAPSHOT;
}

CSDK_EXPORT csdk_status_t csdk_saved_create(csdk_t *h, int32_t kind,
                                            const char *sandbox_id,
                                            const char *name,
                                            const csdk_call_opts_t *copts,
                                            char **saved_id,
                                            csdk_error_t *err)
{
    args_t a = {.name = name};
    csdk_call_t call;
    csdk_status_t rc;
    int oom = 0;

    if (saved_id)
        *saved_id = NULL;
    if (!valid_kind(kind))
        return error_set(err, CSDK_E_INVALID_ARGUMENT, "unknown saved kind %d",
                         kind);
    rc = kind == CSDK_SAVED_TEMPLATE
             ? run(h, sandbox_id, 1, CSDK_M_TEMPLATE_CREATE,
                   inv_template_create, &a, copts, &call, NULL, err)
             : run(h, sandbox_id, 1, CSDK_M_SNAPSHOT_CREATE,
                   inv_snapshot_create, &a, copts, &call, NULL, err);
    if (rc == CSDK_OK) {
        const char *native = record_str(call_record(&call, 0), CSDK_F_ID);
        if (!native)
            rc = error_set(err, CSDK_E_PROTOCOL,
                           "%s: the plugin reported no id for the saved state",
                           call.inst->who);
        else if (saved_id && !(*saved_id = make_id(call.inst, native, &oom)))
            rc = error_set(err, CSDK_E_NOMEM, "out of memory");
    }
    call_end(&call);
    return rc;
}

CSDK_EXPORT csdk_status_t csdk_saved_list(csdk_t *h, int32_t kind,
                                          const char *provider,
                                          const csdk_call_opts_t *copts,
                                          csdk_saved_t **out, size_t *n,
                                          csdk_error_t *err)
{
    args_t a = {0};
    csdk_call_t call;
    csdk_status_t rc;
    int oom = 0;

    if (!out || !n)
        return error_set(err, CSDK_E_INVALID_ARGUMENT, "saved_list: NULL out");
    *out = NULL;
    *n = 0;
    if (!valid_kind(kind))
        return error_set(err, CSDK_E_INVALID_ARGUMENT, "unknown saved kind %d",
                         kind);
    rc = kind == CSDK_SAVED_TEMPLATE
             ? run(h, provider, 0, CSDK_M_TEMPLATE_LIST, inv_template_list, &a,
                   copts, &call, NULL, err)
             : run(h, provider, 0, CSDK_M_SNAPSHOT_LIST, inv_snapshot_list, &a,
                   copts, &call, NULL, err);
    if (rc == CSDK_OK && call.n_recs) {
        *out = calloc(call.n_recs, sizeof **out);
        if (!*out)
            oom = 1;
        for (size_t i = 0; *out && i < call.n_recs && !oom; i++) {
            const call_record_t *r = call_record(&call, i);
            const char *native = record_str(r, CSDK_F_ID);
            if (!native)
                continue;
            (*out)[*n].id = make_id(call.inst, native, &oom);
            (*out)[*n].name = dup_or_null(record_str(r, CSDK_F_NAME), &oom);
            (*out)[*n].created_ms = record_int(r, CSDK_F_CREATED_MS);
            (*n)++;
        }
        if (oom) {
            csdk_saved_free(*out, *n);
            *out = NULL;
            *n = 0;
            rc = error_set(err, CSDK_E_NOMEM, "out of memory");
        }
    }
    call_end(&call);
    return rc;
}

CSDK_EXPORT csdk_status_t csdk_saved_delete(csdk_t *h, int32_t kind,
                                            const char *saved_id,
                                            const csdk_call_opts_t *copts,
                                            csdk_error_t *err)
{
    args_t a = {0};
    if (!valid_kind(kind))
        return error_set(err, CSDK_E_INVALID_ARGUMENT, "unknown saved kind %d",
                         kind);
    return kind == CSDK_SAVED_TEMPLATE
               ? sandbox_call(h, saved_id, 1, CSDK_M_TEMPLATE_DELETE,
                              inv_template_delete, &a, copts, NULL, err)
               : sandbox_call(h, saved_id, 1, CSDK_M_SNAPSHOT_DELETE,
                              inv_snapshot_delete, &a, copts, NULL, err);
}
