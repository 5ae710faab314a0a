#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <strings.h>

#include "call.h"
#include "loader.h"
#include "registry.h"

/* Keys the host keeps for itself in a [provider.NAME] section; the rest
 * go to the plugin's init. */
static const char *const reserved_keys[] = {
    "plugin", "entry", "enabled", "retries", "rate_limit", "timeout_ms", NULL,
};

static int is_reserved(const char *key)
{
    for (size_t i = 0; reserved_keys[i]; i++)
        if (strcmp(reserved_keys[i], key) == 0)
            return 1;
    return 0;
}

/* "~/x" -> "$HOME/x"; a relative path -> relative to `base` (the config's
 * directory) when given.  Returns malloc'd, or NULL when out of memory. */
static char *path_resolve(const char *p, const char *base)
{
    char *out;
    if (p[0] == '~' && p[1] == '/') {
        const char *home = getenv("HOME");
        if (home && *home) {
            if (asprintf(&out, "%s%s", home, p + 1) < 0)
                return NULL;
            return out;
        }
    }
    if (p[0] != '/' && base) {
        if (asprintf(&out, "%s%s", base, p) < 0)
            return NULL;
        return out;
    }
    return strdup(p);
}

static csdk_status_t bad_value(const config_t *cfg, const config_entry_t *e,
                               const char *section, const char *want,
                               csdk_error_t *err)
{
    /* The value is not echoed: it might be a secret in the wrong key. */
    return error_set(err, CSDK_E_CONFIG, "%s:%d: [%s] %s: invalid value; %s",
                     cfg->origin, e->line, section, e->key, want);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long v;
    if (!*s || *s == '-' || *s == '+')
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return -1;
    *out = v;
    return 0;
}

static int parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on", NULL};
    static const char *const no[] = {"0", "false", "no", "off", NULL};
    for (size_t i = 0; yes[i]; i++) {
        if (strcasecmp(s, yes[i]) == 0)
            return *out = 1, 0;
        if (strcasecmp(s, no[i]) == 0)
            return *out = 0, 0;
    }
    return -1;
}

/* Settings that [host] gives every instance and a section may override. */
typedef struct call_policy {
    uint64_t retries, timeout_ms;
    double rate, burst;
} call_policy_t;

static csdk_status_t policy_read(const config_t *cfg,
                                 const config_section_t *sec,
                                 const char *label, call_policy_t *p,
                                 csdk_error_t *err)
{
    const config_entry_t *e;
    if ((e = config_find(sec, "retries")) &&
        parse_u64(e->value, 10, &p->retries) != 0)
        return bad_value(cfg, e, label, "use a whole number from 0 to 10", err);
    if ((e = config_find(sec, "timeout_ms")) &&
        parse_u64(e->value, UINT32_MAX, &p->timeout_ms) != 0)
        return bad_value(cfg, e, label,
                         "use milliseconds as a whole number (0 = none)", err);
    if ((e = config_find(sec, "rate_limit"))) {
        if (strcmp(e->value, "0") == 0 || strcasecmp(e->value, "none") == 0)
            p->rate = 0;
        else if (ratelimit_parse(e->value, &p->rate, &p->burst) != 0)
            return bad_value(cfg, e, label,
                             "use calls per second, minute or hour, e.g. "
                             "'10/s', '600/m burst 20', or 'none'",
                             err);
    }
    return CSDK_OK;
}

static void instance_fail(struct csdk *h, struct csdk_instance *in,
                          const char *msg)
{
    free(in->error);
    in->error = strdup(msg);
    log_msg(&h->log, CSDK_LOG_WARN, in->who, "not loaded: %s", msg);
}

/* Steps 1-6 for one instance.  Only configuration errors fail; a plugin
 * that cannot load or init leaves the instance not loaded. */
static csdk_status_t instance_build(struct csdk *h,
                                    const config_section_t *sec,
                                    const char *plugin_dir,
                                    const call_policy_t *host_policy,
                                    struct csdk_instance *in,
                                    csdk_error_t *err)
{
    const config_t *cfg = h->cfg;
    const config_entry_t *e;
    call_policy_t pol = *host_policy;
    csdk_error_t lerr;
    csdk_kv_t *kv = NULL;
    size_t nkv = 0;
    char label[80];
    const char *plugin, *entry;
    csdk_status_t rc;

    snprintf(label, sizeof label, "provider.%s", sec->name);
    in->host = h;
    in->name = strdup(sec->name);
    if (!in->name || asprintf(&in->who, "provider '%s'", sec->name) < 0) {
        in->who = NULL;
        return error_set(err, CSDK_E_NOMEM, "out of memory");
    }
    pthread_mutex_init(&in->lock, NULL);
    pthread_mutex_init(&in->rl_lock, NULL);
    if ((rc = policy_read(cfg, sec, label, &pol, err)) != CSDK_OK)
        return rc;
    in->retries = (uint32_t)pol.retries;
    in->timeout_ms = pol.timeout_ms;
    ratelimit_init(&in->rl, pol.rate, pol.burst, clock_mono_ns());

    e = config_find(sec, "plugin");
    plugin = e ? e->value : sec->name;
    if (!*plugin)
        return bad_value(cfg, e, label,
                         "name a plugin ('example') or a .so path", err);
    in->plugin_path = strchr(plugin, '/')
                          ? path_resolve(plugin, cfg->dir)
                          : (asprintf(&in->plugin_path, "%s/%s.so",
                                      plugin_dir, plugin) < 0
                                 ? NULL
                                 : in->plugin_path);
    if (!in->plugin_path)
        return error_set(err, CSDK_E_NOMEM, "out of memory");
    e = config_find(sec, "entry");
    entry = e ? e->value : NULL;

    if (loader_open(in->plugin_path, entry, &in->dl, &in->def, &in->caps,
                    &lerr) != CSDK_OK) {
        instance_fail(h, in, lerr.message);
        return CSDK_OK;
    }
    in->thread_safe = (in->def.flags & CSDK_PROVIDER_THREAD_SAFE) != 0;

    /* Step 6: init with the keys that are the plugin's. */
    kv = calloc(sec->n_entries + 1, sizeof *kv);
    if (!kv)
        return error_set(err, CSDK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < sec->n_entries; i++) {
        if (is_reserved(sec->entries[i].key))
            continue;
        kv[nkv].key = sec->entries[i].key;
        kv[nkv].value = sec->entries[i].value;
        nkv++;
    }
    {
        csdk_call_t call;
        call_begin(&call, in, CALL_INIT, NULL);
        rc = in->def.init(&call_host_table, in, in->name, kv, nkv, &call,
                          &in->state);
        if (rc != CSDK_OK) {
            char msg[CSDK_ERROR_MAX + 64];
            snprintf(msg, sizeof msg, "init failed (%s): %s",
                     csdk_status_name(rc),
                     call.msg[0] ? call.msg : "the plugin gave no reason");
            instance_fail(h, in, msg);
            dlclose(in->dl);
            in->dl = NULL;
        } else {
            in->loaded = 1;
            log_msg(&h->log, CSDK_LOG_DEBUG, in->who,
                    "loaded %s (plugin %s %s, ABI %u.%u)", in->plugin_path,
                    in->def.name, in->def.version ? in->def.version : "?",
                    CSDK_ABI_VERSION_MAJOR(in->def.abi_version),
                    CSDK_ABI_VERSION_MINOR(in->def.abi_version));
        }
        call_end(&call);
    }
    free(kv);
    return CSDK_OK;
}

csdk_status_t registry_build(struct csdk *h, config_t *cfg,
                             const char *plugin_dir_override,
                             csdk_error_t *err)
{
    const config_section_t *hs;
    const config_entry_t *e;
    call_policy_t pol = {REGISTRY_DEFAULT_RETRIES, REGISTRY_DEFAULT_TIMEOUT_MS,
                         0, 1};
    char *plugin_dir = NULL;
    size_t n_prov = 0;
    csdk_status_t rc = CSDK_OK;

    h->cfg = cfg;
    hs = config_host(cfg);
    if ((e = config_find(hs, "log_level"))) {
        int32_t lvl = log_level_parse(e->value);
        if (lvl < 0)
            return bad_value(cfg, e, "host",
                             "use error, warn, info or debug", err);
        if (h->log.level < 0)
            h->log.level = lvl;
    }
    if (h->log.level < 0)
        h->log.level = CSDK_LOG_WARN;
    if ((rc = policy_read(cfg, hs, "host", &pol, err)) != CSDK_OK)
        return rc;

    /* plugin_dir: the caller's override, [host] plugin_dir, the
     * environment, then where `make install` put the plugins. */
    if (plugin_dir_override)
        plugin_dir = strdup(plugin_dir_override);
    else if ((e = config_find(hs, "plugin_dir")))
        plugin_dir = path_resolve(e->value, cfg->dir);
    else if (getenv("CSDK_PLUGIN_DIR") && *getenv("CSDK_PLUGIN_DIR"))
        plugin_dir = strdup(getenv("CSDK_PLUGIN_DIR"));
    else
        plugin_dir = strdup(CSDK_PKGLIBDIR);
    if (!plugin_dir)
        return error_set(err, CSDK_E_NOMEM, "out of memory");

    for (size_t i = 0; i < cfg->n_sections; i++)
        n_prov += cfg->sections[i].is_provider;
    h->inst = calloc(n_prov ? n_prov : 1, sizeof *h->inst);
    if (!h->inst) {
        free(plugin_dir);
        return error_set(err, CSDK_E_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < cfg->n_sections && rc == CSDK_OK; i++) {
        const config_section_t *sec = &cfg->sections[i];
        int enabled = 1;
        if (!sec->is_provider)
            continue;
        if ((e = config_find(sec, "enabled")) &&
            parse_bool(e->value, &enabled) != 0) {
            char label[80];
            snprintf(label, sizeof label, "provider.%s", sec->name);
            rc = bad_value(cfg, e, label, "use true or false", err);
            break;
        }
        if (!enabled) {
            /* Still check what the host would read, so a typo does not
             * wait until the day the section is enabled. */
            call_policy_t unused = pol;
            char label[80];
            snprintf(label, sizeof label, "provider.%s", sec->name);
            rc = policy_read(cfg, sec, label, &unused, err);
            continue;
        }
        rc = instance_build(h, sec, plugin_dir, &pol, &h->inst[h->n_inst],
                            err);
        h->n_inst++;
    }
    free(plugin_dir);
    if (rc != CSDK_OK)
        return rc;

    if ((e = config_find(hs, "default_provider"))) {
        int found = 0;
        for (size_t i = 0; i < h->n_inst; i++)
            found |= strcmp(h->inst[i].name, e->value) == 0;
        if (!found)
            return error_set(err, CSDK_E_CONFIG,
                             "%s:%d: default_provider '%s' names no enabled "
                             "[provider.%s] section; add one or change it",
                             cfg->origin, e->line, e->value, e->value);
        h->default_provider = strdup(e->value);
    } else {
        /* The first instance that loaded, so a broken first section does
         * not take the default down with it. */
        for (size_t i = 0; i < h->n_inst && !h->default_provider; i++)
            if (h->inst[i].loaded)
                h->default_provider = strdup(h->inst[i].name);
    }
    return CSDK_OK;
}

void registry_teardown(struct csdk *h)
{
    for (size_t i = h->n_inst; i-- > 0;) {
        struct csdk_instance *in = &h->inst[i];
        if (in->loaded) {
            in->def.fini(in->state);
            in->loaded = 0;
        }
        if (in->dl)
            dlclose(in->dl);
        if (in->name) {
            pthread_mutex_destroy(&in->lock);
            pthread_mutex_destroy(&in->rl_lock);
        }
        free(in->name);
        free(in->who);
        free(in->plugin_path);
        free(in->error);
    }
    free(h->inst);
    h->inst = NULL;
    h->n_inst = 0;
    free(h->default_provider);
    h->default_provider = NULL;
    config_free(h->cfg);
    h->cfg = NULL;
}

/* Find the instance named by the first `len` bytes of `name`. */
static csdk_status_t lookup_n(struct csdk *h, const char *name, size_t len,
                              struct csdk_instance **out, csdk_error_t *err)
{
    *out = NULL;
    for (size_t i = 0; i < h->n_inst; i++) {
        struct csdk_instance *in = &h->inst[i];
        if (strlen(in->name) != len || strncmp(in->name, name, len) != 0)
            continue;
        if (!in->loaded)
            return error_set(err, CSDK_E_CONFIG,
                             "provider '%s' is not available: %s", in->name,
                             in->error ? in->error : "not loaded");
        *out = in;
        return CSDK_OK;
    }
    return error_set(err, CSDK_E_NOT_FOUND,
                     "no provider '%.*s' in %s; see 'csdk providers'",
                     (int)(len > 64 ? 64 : len), name, h->cfg->origin);
}

csdk_status_t registry_lookup(struct csdk *h, const char *name,
                              struct csdk_instance **out, csdk_error_t *err)
{
    *out = NULL;
    if (!name) {
        name = h->default_provider;
        if (!name)
            return error_set(err, CSDK_E_CONFIG,
                             "%s configures no provider that loaded; add a "
                             "[provider.NAME] section or fix the ones "
                             "listed by 'csdk providers'",
                             h->cfg->origin);
    }
    return lookup_n(h, name, strlen(name), out, err);
}

csdk_status_t registry_resolve_id(struct csdk *h, const char *id,
                                  struct csdk_instance **out,
                                  const char **native, csdk_error_t *err)
{
    const char *colon;
    *out = NULL;
    if (!id || !(colon = strchr(id, ':')) || colon == id || !colon[1])
        return error_set(err, CSDK_E_INVALID_ARGUMENT,
                         "'%.80s' is not a csdk id; use the id that create "
                         "printed (PROVIDER:ID)",
                         id ? id : "(null)");
    *native = colon + 1;
    return lookup_n(h, id, (size_t)(colon - id), out, err);
}
