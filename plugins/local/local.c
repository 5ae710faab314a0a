/*
 * plugins/local/local.c - the local provider: sandboxes on this machine,
 * isolated with bubblewrap and entered through an in-sandbox agent.
 *
 * This file holds the ABI slots, the configuration keys and the create
 * options (the same keys); the work is in sandbox.c, spawn.c, limits.c,
 * client.c, fs.c and saved.c (see local.h and docs/local-provider.md).
 *
 * State lives on disk under ROOT, so every csdk process sees the same
 * sandboxes: one process creates, the next runs commands, a third
 * destroys.  The plugin keeps nothing in memory between calls except its
 * configuration and the pids of bwrap monitors it started (to reap them).
 *
 * Threads: not CSDK_PROVIDER_THREAD_SAFE; the host serialises calls.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "local.h"
#include "proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef CSDK_LOCAL_AGENT
#define CSDK_LOCAL_AGENT "/usr/local/libexec/csdk/csdk-local-agent"
#endif

#define LC_VERSION "1.0.0"
#define LC_CHECK_TIMEOUT_MS 30000u

static csdk_init_fn lc_init;
static csdk_fini_fn lc_fini;
static csdk_create_fn lc_create;
static csdk_get_fn lc_get;
static csdk_list_fn lc_list;
static csdk_destroy_fn lc_destroy;
static csdk_run_command_fn lc_run_command;
static csdk_run_code_fn lc_run_code;
static csdk_info_fn lc_info;
static csdk_url_fn lc_url;
static csdk_read_file_fn lc_read_file;
static csdk_write_file_fn lc_write_file;
static csdk_mkdir_fn lc_mkdir;
static csdk_readdir_fn lc_readdir;
static csdk_exists_fn lc_exists;
static csdk_remove_fn lc_remove;
static csdk_find_fn lc_find;
static csdk_find_or_create_fn lc_find_or_create;
static csdk_extend_timeout_fn lc_extend_timeout;
static csdk_template_create_fn lc_template_create;
static csdk_template_list_fn lc_template_list;
static csdk_template_delete_fn lc_template_delete;
static csdk_snapshot_create_fn lc_snapshot_create;
static csdk_snapshot_list_fn lc_snapshot_list;
static csdk_snapshot_delete_fn lc_snapshot_delete;

/* ------------------------------------------------------------------ */
/* Configuration and create options                                    */
/* ------------------------------------------------------------------ */

#define LC_KEYS                                                             \
    "root, bwrap, agent, runtime, network, python, node, memory_mb, pids, " \
    "cpus, file_size_mb, open_files, output_max_mb, sandbox_timeout_ms, "   \
    "run_as"

static void lc_conf_free(lc_conf_t *c)
{
    free(c->root);
    free(c->bwrap);
    free(c->agent);
    free(c->runtime);
    free(c->python);
    free(c->node);
    memset(c, 0, sizeof *c);
}

static int lc_conf_copy(lc_conf_t *dst, const lc_conf_t *src)
{
    *dst = *src;
    dst->root = lc_strdup(src->root);
    dst->bwrap = lc_strdup(src->bwrap);
    dst->agent = lc_strdup(src->agent);
    dst->runtime = lc_strdup(src->runtime);
    dst->python = lc_strdup(src->python);
    dst->node = lc_strdup(src->node);
    if (dst->root == NULL || dst->bwrap == NULL || dst->agent == NULL ||
        dst->python == NULL || dst->node == NULL ||
        (src->runtime != NULL && dst->runtime == NULL)) {
        lc_conf_free(dst);
        return -1;
    }
    return 0;
}

/* "python", "node", or NULL for a name we do not know. */
static const char *lc_runtime_name(const char *s)
{
    static const char *const py[] = {"python", "python3", "py"};
    static const char *const js[] = {"node", "nodejs", "javascript", "js"};

    for (size_t i = 0; i < sizeof py / sizeof py[0]; i++)
        if (strcmp(s, py[i]) == 0)
            return "python";
    for (size_t i = 0; i < sizeof js / sizeof js[0]; i++)
        if (strcmp(s, js[i]) == 0)
            return "node";
    return NULL;
}

/* Where a setting came from, for messages: a config key or a create
 * option, with the status each kind of mistake gets. */
typedef struct lc_where {
    const char *instance;
    int is_config;
} lc_where_t;

static csdk_status_t lc_bad(const csdk_host_t *h, csdk_call_t *call,
                            const lc_where_t *w, const char *key,
                            const char *value, const char *why)
{
    if (w->is_config)
        return h->error(call, CSDK_E_CONFIG, "[provider.%s] %s = '%s': %s",
                        w->instance, key, value, why);
    return h->error(call, CSDK_E_INVALID_ARGUMENT,
                    "create option %s=%s: %s", key, value, why);
}

/* A whole number in [lo, hi], or 0 when `zero_ok`. */
static int lc_number(const char *value, uint64_t lo, uint64_t hi, int zero_ok,
                     uint64_t *out)
{
    uint64_t v;

    if (lc_parse_u64(value, &v) != 0)
        return -1;
    if (!(v == 0 && zero_ok) && (v < lo || v > hi))
        return -1;
    *out = v;
    return 0;
}

/* "1", "1.5", "0.25", "2.125" -> thousandths. */
static int lc_parse_cpus(const char *s, uint64_t *milli)
{
    uint64_t whole = 0, frac = 0;
    int digits = 0, scale = 100;

    if (*s == '\0' || *s == '.')
        return -1;
    for (; *s >= '0' && *s <= '9'; s++) {
        whole = whole * 10 + (uint64_t)(*s - '0');
        if (whole > 4096)
            return -1;
    }
    if (*s == '.') {
        for (s++; *s >= '0' && *s <= '9'; s++, digits++) {
            if (digits >= 3)
                return -1;
            frac += (uint64_t)(*s - '0') * (uint64_t)scale;
            scale /= 10;
        }
        if (digits == 0)
            return -1;
    }
    if (*s != '\0')
        return -1;
    *milli = whole * 1000 + frac;
    return 0;
}

static int lc_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"1", "on", "yes", "true"};
    static const char *const no[] = {"0", "off", "no", "false"};

    for (size_t i = 0; i < 4; i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -1;
}

static int lc_replace(char **field, const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

/* The uid and gid of user `name`: 0, or -1 when there is no such user
 * (errno 0) or the lookup failed (errno set). */
static int lc_user_ids(const char *name, uid_t *uid, gid_t *gid)
{
    struct passwd pw, *found = NULL;
    size_t size = 1024;

    for (;;) {
        char *buf = malloc(size);
        int e;

        if (buf == NULL)
            return -1;
        e = getpwnam_r(name, &pw, buf, size, &found);
        if (e == ERANGE && size < (1u << 20)) {
            free(buf);
            size *= 4;
            continue;
        }
        if (found != NULL) {
            *uid = pw.pw_uid;
            *gid = pw.pw_gid;
        }
        free(buf);
        errno = e == ENOENT || e == ESRCH ? 0 : e;
        return found != NULL ? 0 : -1;
    }
}

/* run_as: a user name, or UID:GID.  Returns 0, or -1 with `why` set. */
static int lc_parse_run_as(const char *s, uid_t *uid, gid_t *gid, char *why,
                           size_t whylen)
{
    const char *colon = strchr(s, ':');

    if (colon != NULL) {
        char *u = strndup(s, (size_t)(colon - s));
        uint64_t uv = 0, gv = 0;
        int ok = u != NULL && lc_parse_u64(u, &uv) == 0 &&
                 lc_parse_u64(colon + 1, &gv) == 0 && uv < UINT32_MAX &&
                 gv < UINT32_MAX;

        free(u);
        if (!ok) {
            snprintf(why, whylen, "expected a user name or UID:GID (two "
                                  "decimal ids)");
            return -1;
        }
        *uid = (uid_t)uv;
        *gid = (gid_t)gv;
    } else if (*s == '\0') {
        snprintf(why, whylen, "expected a user name or UID:GID");
        return -1;
    } else if (lc_user_ids(s, uid, gid) != 0) {
        if (errno != 0)
            snprintf(why, whylen, "cannot look the user up: %s",
                     strerror(errno));
        else
            snprintf(why, whylen, "there is no such user on this machine; "
                                  "give a user name or UID:GID");
        return -1;
    }
    if (*uid == 0 || *gid == 0) {
        snprintf(why, whylen,
                 "that is %s 0 (root): the sandbox's user would be host root "
                 "and could change the host's kernel settings; give an "
                 "unprivileged user or UID:GID (the default is nobody)",
                 *uid == 0 ? "uid" : "gid");
        return -1;
    }
    return 0;
}

/* "~/x" -> "$HOME/x"; other paths unchanged.  NULL when $HOME is unset
 * (errno ENOENT) or out of memory. */
static char *lc_expand_home(const char *path)
{
    const char *home;

    if (strcmp(path, "~") != 0 && strncmp(path, "~/", 2) != 0)
        return strdup(path);
    home = getenv("HOME");
    if (home == NULL || *home == '\0') {
        errno = ENOENT;
        return NULL;
    }
    return lc_printf("%s%s", home, path + 1);
}

/* Apply one setting.  Returns CSDK_OK or the error (recorded). */
static csdk_status_t lc_conf_set(const csdk_host_t *h, csdk_call_t *call,
                                 const lc_where_t *w, lc_conf_t *c,
                                 const char *key, const char *value)
{
    uint64_t v;

    if (value == NULL)
        value = "";
    /* Which programs run on the host, as whom, and where state lives are
     * the operator's choice, never the sandbox creator's: a create option
     * naming bwrap or the agent would run that program as csdk's user
     * (root, before the drop). */
    if (!w->is_config &&
        (strcmp(key, "root") == 0 || strcmp(key, "bwrap") == 0 ||
         strcmp(key, "agent") == 0 || strcmp(key, "run_as") == 0))
        return h->error(call, CSDK_E_INVALID_ARGUMENT,
                        "create option %s: which programs run, as which "
                        "user, and where state lives are set per provider "
                        "instance, not per sandbox; set %s in "
                        "[provider.%s]",
                        key, key, w->instance);
#define LC_NUM(field, lo, hi, zero_ok, why)                                 \
    do {                                                                    \
        if (lc_number(value, lo, hi, zero_ok, &v) != 0)                     \
            return lc_bad(h, call, w, key, value, why);                     \
        c->field = v;                                                       \
        return CSDK_OK;                                                     \
    } while (0)
    if (strcmp(key, "memory_mb") == 0)
        LC_NUM(lim.memory_mb, 16, UINT64_C(16777216), 1,
               "expected a whole number of MiB from 16 to 16777216, or 0 "
               "for no limit");
    if (strcmp(key, "pids") == 0)
        LC_NUM(lim.pids, 16, 4194304, 1,
               "expected a whole number of processes from 16 to 4194304, "
               "or 0 for no limit");
    if (strcmp(key, "file_size_mb") == 0)
        LC_NUM(lim.file_size_mb, 1, UINT64_C(1) << 30, 1,
               "expected a whole number of MiB from 1 to 1073741824, or 0 "
               "for no limit");
    if (strcmp(key, "output_max_mb") == 0)
        LC_NUM(lim.output_max_mb, 1, UINT64_C(1) << 20, 1,
               "expected a whole number of MiB per stream from 1 to "
               "1048576, or 0 for no cap");
    if (strcmp(key, "sandbox_timeout_ms") == 0)
        LC_NUM(sandbox_timeout_ms, 1000, UINT64_C(315360000000), 1,
               "expected a lifetime in milliseconds of at least 1000, or 0 "
               "for sandboxes that never expire");
#undef LC_NUM
    if (strcmp(key, "open_files") == 0) {
        struct rlimit rl;
        uint64_t hard = 1u << 20;
        char why[160];

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_max != RLIM_INFINITY)
            hard = (uint64_t)rl.rlim_max;
        snprintf(why, sizeof why,
                 "expected a whole number of descriptors from 16 to %" PRIu64
                 " (this machine's hard limit), or 0 to inherit", hard);
        if (lc_number(value, 16, hard, 1, &v) != 0)
            return lc_bad(h, call, w, key, value, why);
        c->lim.open_files = v;
        return CSDK_OK;
    }
    if (strcmp(key, "cpus") == 0) {
        uint64_t milli;

        if (lc_parse_cpus(value, &milli) != 0 ||
            (milli != 0 && milli < 10))
            return lc_bad(h, call, w, key, value,
                          "expected a number of CPUs such as 1, 0.5 or 2.25 "
                          "(at least 0.01, at most 3 decimals), or 0 for no "
                          "limit");
        c->lim.millicpus = milli;
        return CSDK_OK;
    }
    if (strcmp(key, "run_as") == 0) {
        uid_t uid;
        gid_t gid;
        char why[256];

        if (lc_parse_run_as(value, &uid, &gid, why, sizeof why) != 0)
            return lc_bad(h, call, w, key, value, why);
        c->run_uid = uid;
        c->run_gid = gid;
        return CSDK_OK;
    }
    if (strcmp(key, "network") == 0) {
        if (lc_parse_bool(value, &c->network) != 0)
            return lc_bad(h, call, w, key, value,
                          "expected on or off (also yes/no, true/false, "
                          "1/0)");
        return CSDK_OK;
    }
    if (strcmp(key, "runtime") == 0) {
        const char *name = lc_runtime_name(value);

        if (*value == '\0' || strcmp(value, "auto") == 0) {
            free(c->runtime);
            c->runtime = NULL;
            return CSDK_OK;
        }
        if (name == NULL)
            return lc_bad(h, call, w, key, value,
                          "expected python or node (or auto: detect per "
                          "run)");
        return lc_replace(&c->runtime, name) == 0
                   ? CSDK_OK
                   : h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    if (strcmp(key, "python") == 0 || strcmp(key, "node") == 0 ||
        strcmp(key, "agent") == 0) {
        if (value[0] != '/')
            return lc_bad(h, call, w, key, value,
                          strcmp(key, "agent") == 0
                              ? "expected an absolute path to "
                                "csdk-local-agent"
                              : "expected the interpreter's absolute path "
                                "inside the sandbox, e.g. /usr/bin/python3");
        return lc_replace(strcmp(key, "python") == 0 ? &c->python
                          : strcmp(key, "node") == 0 ? &c->node
                                                     : &c->agent,
                          value) == 0
                   ? CSDK_OK
                   : h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    if (strcmp(key, "bwrap") == 0) {
        if (*value == '\0')
            return lc_bad(h, call, w, key, value,
                          "expected the bwrap program's path or name");
        return lc_replace(&c->bwrap, value) == 0
                   ? CSDK_OK
                   : h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    if (strcmp(key, "root") == 0) {
        char *root;

        if (!w->is_config)
            return h->error(call, CSDK_E_INVALID_ARGUMENT,
                            "create option root=%s: the state directory is "
                            "set per provider instance, not per sandbox; set "
                            "root in [provider.%s]", value, w->instance);
        root = lc_expand_home(value);
        if (root == NULL)
            return errno == ENOENT
                       ? lc_bad(h, call, w, key, value,
                                "starts with ~ but $HOME is not set; give an "
                                "absolute path")
                       : h->error(call, CSDK_E_NOMEM, "out of memory");
        if (root[0] != '/') {
            free(root);
            return lc_bad(h, call, w, key, value,
                          "expected an absolute path (or one starting "
                          "with ~/)");
        }
        while (strlen(root) > 1 && root[strlen(root) - 1] == '/')
            root[strlen(root) - 1] = '\0';
        free(c->root);
        c->root = root;
        return CSDK_OK;
    }
    if (w->is_config)
        return h->error(call, CSDK_E_CONFIG,
                        "[provider.%s] unknown key '%s' for the local "
                        "plugin (it accepts: %s)", w->instance, key, LC_KEYS);
    return h->error(call, CSDK_E_INVALID_ARGUMENT,
                    "unknown create option '%s' for the local provider "
                    "(it accepts: %s)", key, LC_KEYS);
}

static csdk_status_t lc_conf_defaults(const csdk_host_t *h, csdk_call_t *call,
                                      const char *instance, lc_conf_t *c)
{
    const char *state = getenv("XDG_STATE_HOME");

    memset(c, 0, sizeof *c);
    if (state != NULL && state[0] == '/')
        c->root = lc_printf("%s/csdk/local", state);
    else
        c->root = lc_expand_home("~/.local/state/csdk/local");
    c->bwrap = strdup("bwrap");
    c->agent = strdup(CSDK_LOCAL_AGENT);
    c->python = strdup("/usr/bin/python3");
    c->node = strdup("/usr/bin/node");
    c->lim.memory_mb = 512;
    c->lim.pids = 256;
    c->lim.millicpus = 1000;
    c->lim.file_size_mb = 1024;
    c->lim.open_files = 1024;
    c->lim.output_max_mb = 16;
    c->sandbox_timeout_ms = 1800000;
    if (c->root == NULL && errno == ENOENT) {
        lc_conf_free(c);
        return h->error(call, CSDK_E_CONFIG,
                        "[provider.%s] neither $HOME nor $XDG_STATE_HOME is "
                        "set, so the local provider has no default state "
                        "directory; set root = /some/dir", instance);
    }
    if (c->root == NULL || c->bwrap == NULL || c->agent == NULL ||
        c->python == NULL || c->node == NULL) {
        lc_conf_free(c);
        return h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    {
        /* The default open_files must fit under this machine's hard
         * limit, or every command would fail to set it. */
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
            rl.rlim_max != RLIM_INFINITY &&
            c->lim.open_files > (uint64_t)rl.rlim_max)
            c->lim.open_files = (uint64_t)rl.rlim_max;
    }
    /* run_as: nobody (only root uses it, so only root looks it up). */
    c->run_uid = 65534;
    c->run_gid = 65534;
    if (geteuid() == 0) {
        uid_t uid;
        gid_t gid;

        if (lc_user_ids("nobody", &uid, &gid) == 0 && uid != 0 && gid != 0) {
            c->run_uid = uid;
            c->run_gid = gid;
        }
    }
    return CSDK_OK;
}

/* Options, read through CSDK_HAS_FIELD into full-size zeroed copies. */
static void lc_create_opts_read(const csdk_create_opts_t *in,
                                csdk_create_opts_t *out)
{
    csdk_opts_read(out, sizeof *out, in);
    /* A count without its array is no entries. */
    if (out->env == NULL)
        out->n_env = 0;
    if (out->metadata == NULL)
        out->n_metadata = 0;
    if (out->extra == NULL)
        out->n_extra = 0;
}

static void lc_run_opts_read(const csdk_run_opts_t *in, csdk_run_opts_t *out)
{
    csdk_opts_read(out, sizeof *out, in);
    if (out->env == NULL)
        out->n_env = 0;
    if (out->stdin_data == NULL)
        out->stdin_len = 0;
}

/* The settings of one create: the instance's, then the create options. */
static csdk_status_t lc_create_conf(lc_state_t *st, csdk_call_t *call,
                                    const csdk_create_opts_t *o,
                                    lc_conf_t *c)
{
    lc_where_t w = {st->instance, 0};
    csdk_status_t rc;

    if (lc_conf_copy(c, &st->conf) != 0)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    for (size_t i = 0; i < o->n_extra; i++) {
        if (o->extra[i].key == NULL)
            continue;
        rc = lc_conf_set(st->host, call, &w, c, o->extra[i].key,
                         o->extra[i].value);
        if (rc != CSDK_OK) {
            lc_conf_free(c);
            return rc;
        }
    }
    if (o->runtime != NULL && *o->runtime != '\0') {
        rc = lc_conf_set(st->host, call, &w, c, "runtime", o->runtime);
        if (rc != CSDK_OK) {
            lc_conf_free(c);
            return rc;
        }
    }
    if (o->flags & CSDK_CREATE_NETWORK)
        c->network = 1;
    if (o->timeout_ms != 0) {
        if (o->timeout_ms < 1000) {
            lc_conf_free(c);
            return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                   "a sandbox lifetime of %" PRIu64 " ms is "
                                   "too short; give at least 1000 ms",
                                   o->timeout_ms);
        }
        c->sandbox_timeout_ms = o->timeout_ms;
    }
    return CSDK_OK;
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

static void lc_state_free(lc_state_t *st)
{
    lc_conf_free(&st->conf);
    free(st->bwrap_probed);
    free(st->instance);
    free(st->children);
    free(st);
}

static csdk_status_t lc_init(const csdk_host_t *host, csdk_instance_t *inst,
                             const char *instance_name,
                             const csdk_kv_t *config, size_t n_config,
                             csdk_call_t *call, void **state)
{
    lc_state_t *st;
    lc_where_t w = {instance_name, 1};
    csdk_status_t rc;

    *state = NULL;
    if (!CSDK_HAS_FIELD(csdk_host_t, host, monotonic_ms))
        return host->error(call, CSDK_E_ABI,
                           "the host's upcall table is too small");
    st = calloc(1, sizeof *st);
    if (st == NULL)
        return host->error(call, CSDK_E_NOMEM, "out of memory");
    st->host = host;
    st->inst = inst;
    /* As root, sandboxes run as the run_as user (spawn.c). */
    st->as_root = geteuid() == 0;
    st->instance = strdup(instance_name);
    if (st->instance == NULL) {
        free(st);
        return host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    rc = lc_conf_defaults(host, call, instance_name, &st->conf);
    if (rc != CSDK_OK) {
        free(st->instance);
        free(st);
        return rc;
    }
    for (size_t i = 0; i < n_config; i++) {
        rc = lc_conf_set(host, call, &w, &st->conf, config[i].key,
                         config[i].value);
        if (rc != CSDK_OK) {
            lc_state_free(st);
            return rc;
        }
    }
    if (lc_mkdir_p(st->conf.root, 0700) != 0) {
        rc = host->error(call, CSDK_E_CONFIG,
                         "[provider.%s] root = '%s': cannot create the "
                         "directory: %s", instance_name, st->conf.root,
                         strerror(errno));
        lc_state_free(st);
        return rc;
    }
    /* Sandboxes that expired or lost their agent since the last csdk
     * process ran are removed now, before anyone sees them. */
    lc_reap_all(st);
    *state = st;
    return CSDK_OK;
}

static void lc_fini(void *state)
{
    lc_state_t *st = state;

    if (st == NULL)
        return;
    lc_reap_children(st);
    lc_state_free(st);
}

/* Every slot starts here: zombies of our own bwrap monitors, and in a
 * long-lived host a periodic sweep of expired sandboxes. */
static void lc_enter(lc_state_t *st)
{
    lc_reap_children(st);
    if (st->host->monotonic_ms() - st->last_reap_ms > LC_REAP_INTERVAL_MS)
        lc_reap_all(st);
}

/* ------------------------------------------------------------------ */
/* Collection                                                          */
/* ------------------------------------------------------------------ */

static csdk_status_t lc_create(void *state, csdk_call_t *call,
                               const csdk_create_opts_t *opts)
{
    lc_state_t *st = state;
    csdk_create_opts_t o;
    lc_conf_t conf;
    lc_sandbox_t *sb;
    csdk_status_t rc;

    lc_enter(st);
    lc_create_opts_read(opts, &o);
    rc = lc_create_conf(st, call, &o, &conf);
    if (rc != CSDK_OK)
        return rc;
    rc = lc_sandbox_create(st, call, &conf, &o, NULL, NULL, &sb);
    lc_conf_free(&conf);
    if (rc != CSDK_OK)
        return rc;
    rc = lc_report(st, call, sb, 0, 0);
    lc_sandbox_free(sb);
    return rc;
}

static csdk_status_t lc_get(void *state, csdk_call_t *call, const char *id)
{
    lc_state_t *st = state;
    lc_sandbox_t *sb;
    csdk_status_t rc;

    lc_enter(st);
    rc = lc_lookup(st, call, id, &sb);
    if (rc != CSDK_OK)
        return rc;
    rc = lc_report(st, call, sb, 1, 0);
    lc_sandbox_free(sb);
    return rc;
}

static csdk_status_t lc_info(void *state, csdk_call_t *call, const char *id)
{
    lc_state_t *st = state;
    lc_sandbox_t *sb;
    csdk_status_t rc;

    lc_enter(st);
    rc = lc_lookup(st, call, id, &sb);
    if (rc != CSDK_OK)
        return rc;
    rc = lc_report(st, call, sb, 1, 1);
    lc_sandbox_free(sb);
    return rc;
}

static csdk_status_t lc_list(void *state, csdk_call_t *call)
{
    lc_state_t *st = state;
    char *dir;
    DIR *d;
    struct dirent *e;
    csdk_status_t rc = CSDK_OK;

    lc_enter(st);
    dir = lc_join(st->conf.root, "sandboxes");
    if (dir == NULL)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    d = opendir(dir);
    free(dir);
    if (d == NULL)
        return CSDK_OK; /* no sandbox was ever made */
    while (rc == CSDK_OK && (e = readdir(d)) != NULL) {
        lc_sandbox_t *sb;

        if (!lc_valid_id(e->d_name, LC_ID_PREFIX) ||
            lc_sandbox_load(st, call, e->d_name, &sb, 1) != CSDK_OK)
            continue;
        if (lc_sandbox_expired(st, sb)) {
            lc_sandbox_destroy(st, sb, 0);
        } else if (st->host->next_record(call) != 0) {
            rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
        } else {
            rc = lc_report(st, call, sb, 0, 0);
        }
        lc_sandbox_free(sb);
    }
    closedir(d);
    return rc;
}

static csdk_status_t lc_destroy(void *state, csdk_call_t *call,
                                const char *id)
{
    lc_state_t *st = state;
    lc_sandbox_t *sb;
    csdk_status_t rc;

    lc_enter(st);
    if (id == NULL || *id == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no sandbox id given");
    rc = lc_sandbox_load(st, call, lc_native_id(st, id), &sb, 1);
    if (rc == CSDK_E_NOT_FOUND)
        return CSDK_OK; /* already gone: destroy is idempotent */
    if (rc != CSDK_OK) {
        /* Unreadable meta: remove what is there anyway. */
        char *dir = lc_valid_id(lc_native_id(st, id), LC_ID_PREFIX)
                        ? lc_sandbox_dir(st, lc_native_id(st, id))
                        : NULL;

        if (dir != NULL)
            (void)lc_remove_tree(dir);
        free(dir);
        return CSDK_OK;
    }
    lc_sandbox_destroy(st, sb, 1);
    lc_sandbox_free(sb);
    return CSDK_OK;
}

/* ------------------------------------------------------------------ */
/* Commands and code                                                   */
/* ------------------------------------------------------------------ */

typedef struct lc_host_sink {
    lc_state_t *st;
    csdk_call_t *call;
} lc_host_sink_t;

static int lc_sink_host(void *ud, int stream, const void *data, size_t len)
{
    lc_host_sink_t *s = ud;

    return s->st->host->write(s->call, stream, data, len) != 0;
}

/* Collects stderr of a syntax check (bounded); drops stdout. */
static int lc_sink_buf(void *ud, int stream, const void *data, size_t len)
{
    lc_buf_t *b = ud;

    if (stream == CSDK_STREAM_STDERR && b->len < (256u << 10))
        lc_buf_add(b, data, len);
    return 0;
}

/* The cwd of a run: default /workspace; relative means under it. */
static char *lc_cwd(const char *cwd)
{
    if (cwd == NULL || *cwd == '\0')
        return strdup(LC_WORKSPACE);
    if (cwd[0] == '/')
        return strdup(cwd);
    return lc_printf("%s/%s", LC_WORKSPACE, cwd);
}

static csdk_status_t lc_report_result(lc_state_t *st, csdk_call_t *call,
                                      const lc_exec_result_t *r,
                                      int background)
{
    const csdk_host_t *h = st->host;
    int32_t failed = 0;

    if (background && r->pid > 0)
        failed |= h->set_int(call, CSDK_F_PID, r->pid);
    failed |= h->set_int(call, CSDK_F_EXIT_CODE, r->exit_code);
    failed |= h->set_int(call, CSDK_F_DURATION_MS, r->duration_ms);
    failed |= h->set_int(call, CSDK_F_RESULT_FLAGS, (int64_t)r->flags);
    return failed ? h->error(call, CSDK_E_NOMEM, "out of memory") : CSDK_OK;
}

/* A sandbox that is not (yet) able to run anything. */
static csdk_status_t lc_check_running(lc_state_t *st, csdk_call_t *call,
                                      const lc_sandbox_t *sb)
{
    if (strcmp(sb->state, "creating") == 0)
        return st->host->error(call, CSDK_E_CONFLICT,
                               "sandbox %s is still being created", sb->id);
    return CSDK_OK;
}

/* Run argv in sb with the caller's options (env, cwd, stdin...). */
static csdk_status_t lc_run(lc_state_t *st, csdk_call_t *call,
                            const lc_sandbox_t *sb, const char *const *argv,
                            const csdk_run_opts_t *o, const lc_pairs_t *env,
                            lc_exec_result_t *res)
{
    lc_host_sink_t sink = {st, call};
    lc_exec_t ex;
    char *cwd = lc_cwd(o->cwd);
    csdk_status_t rc;

    if (cwd == NULL)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    memset(&ex, 0, sizeof ex);
    ex.argv = argv;
    ex.env = env;
    ex.cwd = cwd;
    ex.stdin_data = o->stdin_data;
    ex.stdin_len = o->stdin_len;
    ex.timeout_ms = o->timeout_ms;
    ex.max_output = o->max_output ? o->max_output
                                  : sb->lim.output_max_mb * LC_MIB;
    ex.background = (o->flags & CSDK_RUN_BACKGROUND) != 0;
    ex.notice_truncation = 1;
    ex.sink = lc_sink_host;
    ex.sink_ud = &sink;
    if (ex.background && o->stdin_len > 0) {
        free(cwd);
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "a background command cannot be given "
                               "standard input; write it to a file and "
                               "redirect");
    }
    rc = lc_exec_run(st, call, sb, &ex, res);
    free(cwd);
    return rc;
}

static csdk_status_t lc_run_command(void *state, csdk_call_t *call,
                                    const char *id,
                                    const csdk_run_opts_t *opts)
{
    lc_state_t *st = state;
    csdk_run_opts_t o;
    lc_sandbox_t *sb;
    lc_pairs_t env;
    lc_exec_result_t res;
    const char *shell_argv[4] = {"/bin/sh", "-c", NULL, NULL};
    const char *const *argv;
    csdk_status_t rc;

    lc_enter(st);
    memset(&res, 0, sizeof res);
    lc_run_opts_read(opts, &o);
    if ((o.argv == NULL || o.argv[0] == NULL) && o.shell == NULL)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "give a command: an argument vector or a "
                               "shell string");
    if (o.argv != NULL && o.shell != NULL)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "give an argument vector or a shell string, "
                               "not both");
    shell_argv[2] = o.shell;
    argv = o.shell != NULL ? shell_argv : (const char *const *)o.argv;
    rc = lc_lookup(st, call, id, &sb);
    if (rc != CSDK_OK)
        return rc;
    rc = lc_check_running(st, call, sb);
    if (rc == CSDK_OK && lc_exec_env(sb, o.env, o.n_env, &env) != 0)
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
    if (rc == CSDK_OK) {
        rc = lc_run(st, call, sb, argv, &o, &env, &res);
        lc_pairs_free(&env);
        if (rc == CSDK_OK)
            rc = lc_report_result(st, call, &res,
                                  (o.flags & CSDK_RUN_BACKGROUND) != 0);
    }
    lc_sandbox_free(sb);
    return rc;
}

/* Guess the language of code given none: JavaScript has markers Python
 * code never holds outside strings. */
static const char *lc_detect_language(const char *code, size_t len)
{
    static const char *const js[] = {
        "console.log", "console.error", "require(", "=>", "module.exports",
        "process.stdout", "process.argv", "function ", "const ", "let ",
    };

    for (size_t i = 0; i < sizeof js / sizeof js[0]; i++)
        if (memmem(code, len, js[i], strlen(js[i])) != NULL)
            return "node";
    return "python";
}

/* Node treats a .js file as CommonJS; code with ES module syntax at the
 * start of a line gets .mjs. */
static int lc_looks_esm(const char *code, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        if (i > 0 && code[i - 1] != '\n')
            continue;
        if ((len - i > 7 && memcmp(code + i, "import ", 7) == 0) ||
            (len - i > 7 && memcmp(code + i, "export ", 7) == 0))
            return 1;
    }
    return 0;
}

/* The checker run before Python code: compile() reports every error the
 * interpreter would report before running a line.  Exit 3 = syntax. */
static const char lc_py_check[] =
    "import sys\n"
    "p = sys.argv[1]\n"
    "try:\n"
    "    compile(open(p, 'rb').read(), p, 'exec', dont_inherit=True)\n"
    "except SyntaxError as e:\n"
    "    import traceback\n"
    "    sys.stderr.write(''.join(traceback.format_exception_only(type(e), "
    "e)))\n"
    "    sys.exit(3)\n"
    "except ValueError as e:\n"
    "    sys.stderr.write('SyntaxError: %s\\n' % e)\n"
    "    sys.exit(3)\n";

/* The line of an interpreter's message naming the error, for our own
 * one-line message. */
static char *lc_error_line(const char *text)
{
    static const char *const names[] = {"SyntaxError", "IndentationError",
                                        "TabError"};

    for (const char *line = text; line != NULL && *line != '\0';) {
        const char *nl = strchr(line, '\n');
        size_t n = nl ? (size_t)(nl - line) : strlen(line);

        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
            if (strncmp(line, names[i], strlen(names[i])) == 0)
                return strndup(line, n > 300 ? 300 : n);
        line = nl ? nl + 1 : NULL;
    }
    return NULL;
}

/*
 * Check the code's syntax first, in the sandbox, with the interpreter
 * that will run it.  *syntax is set when it does not parse; the
 * interpreter's message is then in `msg`.  A check that fails for any
 * other reason is ignored: running the code reports what is wrong.
 */
static csdk_status_t lc_check_syntax(lc_state_t *st, csdk_call_t *call,
                                     const lc_sandbox_t *sb, int python,
                                     const char *file, const lc_pairs_t *env,
                                     const char *cwd, lc_buf_t *msg,
                                     int *syntax)
{
    const char *interp = python ? sb->python : sb->node;
    const char *py_argv[] = {interp, "-I", "-B", "-c", lc_py_check, file,
                             NULL};
    const char *js_argv[] = {interp, "--check", file, NULL};
    lc_exec_t ex;
    lc_exec_result_t res;
    uint64_t left = st->host->remaining_ms(call);
    csdk_status_t rc;

    *syntax = 0;
    memset(&ex, 0, sizeof ex);
    ex.argv = python ? py_argv : js_argv;
    ex.env = env;
    ex.cwd = cwd;
    ex.timeout_ms = left < LC_CHECK_TIMEOUT_MS ? (left ? left : 1)
                                               : LC_CHECK_TIMEOUT_MS;
    ex.max_output = 1u << 20;
    ex.sink = lc_sink_buf;
    ex.sink_ud = msg;
    rc = lc_exec_run(st, call, sb, &ex, &res);
    if (rc != CSDK_OK)
        return rc;
    if (msg->failed)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    if (python)
        *syntax = res.exit_code == 3 && msg->len > 0;
    else
        *syntax = res.exit_code != 0 && msg->data != NULL &&
                  strstr(msg->data, "SyntaxError") != NULL;
    return CSDK_OK;
}

/* env + "VAR=first[:old]" (PYTHONPATH, NODE_PATH). */
static int lc_env_prepend(lc_pairs_t *env, const char *key, const char *first)
{
    const char *old = lc_pairs_get(env, key);
    char *v = old != NULL && *old != '\0' ? lc_printf("%s:%s", first, old)
                                          : strdup(first);
    int rc;

    if (v == NULL)
        return -1;
    rc = lc_pairs_set(env, key, v);
    free(v);
    return rc;
}

static csdk_status_t lc_run_code(void *state, csdk_call_t *call,
                                 const char *id, const char *code,
                                 size_t code_len, const char *language,
                                 const csdk_run_opts_t *opts)
{
    lc_state_t *st = state;
    csdk_run_opts_t o;
    lc_sandbox_t *sb;
    lc_pairs_t env = {0};
    lc_exec_result_t res;
    lc_buf_t msg = {0};
    const char *lang, *argv[4];
    char *file = NULL, *cwd = NULL, *path_var = NULL;
    uint64_t t0 = st->host->monotonic_ms();
    int python, syntax = 0, background = 0;
    csdk_status_t rc;

    lc_enter(st);
    lc_run_opts_read(opts, &o);
    if (code == NULL)
        code_len = 0;
    rc = lc_lookup(st, call, id, &sb);
    if (rc != CSDK_OK)
        return rc;
    rc = lc_check_running(st, call, sb);
    if (rc != CSDK_OK)
        goto out;
    if (language != NULL && *language != '\0') {
        lang = lc_runtime_name(language);
        if (lang == NULL) {
            rc = st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                 "the local provider cannot run '%s' code; "
                                 "languages: python (python3, py), node "
                                 "(nodejs, javascript, js)", language);
            goto out;
        }
    } else if (sb->runtime != NULL) {
        lang = sb->runtime;
    } else {
        lang = lc_detect_language(code ? code : "", code_len);
    }
    python = strcmp(lang, "python") == 0;
    background = (o.flags & CSDK_RUN_BACKGROUND) != 0;
    cwd = lc_cwd(o.cwd);
    /* Modules next to the code's cwd import as they would from a file
     * there (the code itself lives in /tmp). */
    path_var = cwd == NULL ? NULL
               : python    ? strdup(cwd)
                           : lc_printf("%s/node_modules", cwd);
    if (path_var == NULL || lc_exec_env(sb, o.env, o.n_env, &env) != 0 ||
        lc_env_prepend(&env, python ? "PYTHONPATH" : "NODE_PATH",
                       path_var) != 0) {
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
        goto out;
    }
    rc = lc_fs_tmpfile(st, call, sb,
                       python ? ".py"
                       : lc_looks_esm(code ? code : "", code_len) ? ".mjs"
                                                                  : ".js",
                       code, code_len, &file);
    if (rc != CSDK_OK)
        goto out;

    rc = lc_check_syntax(st, call, sb, python, file, &env, cwd, &msg,
                         &syntax);
    if (rc != CSDK_OK)
        goto out;
    if (syntax) {
        char *line = lc_error_line(msg.data);
        lc_exec_result_t sres;

        memset(&sres, 0, sizeof sres);
        sres.exit_code = 1;
        sres.flags = CSDK_RESULT_SYNTAX;
        sres.duration_ms = (int64_t)(st->host->monotonic_ms() - t0);
        if (st->host->write(call, CSDK_STREAM_STDERR, msg.data, msg.len) !=
            0) {
            free(line);
            rc = st->host->error(call, CSDK_E_CANCELLED,
                                 "cancelled while reporting a syntax error");
            goto out;
        }
        rc = lc_report_result(st, call, &sres, 0);
        if (rc == CSDK_OK)
            rc = st->host->error(call, CSDK_E_SYNTAX,
                                 "the %s code does not parse: %s", lang,
                                 line ? line
                                      : "see the interpreter's message on "
                                        "standard error");
        free(line);
        goto out;
    }

    argv[0] = python ? sb->python : sb->node;
    argv[1] = python ? "-B" : file;
    argv[2] = python ? file : NULL;
    argv[3] = NULL;
    rc = lc_run(st, call, sb, argv, &o, &env, &res);
    if (rc == CSDK_OK)
        rc = lc_report_result(st, call, &res, background);
out:
    /* A background run still needs its file; /tmp is the sandbox's. */
    if (file != NULL && !(background && rc == CSDK_OK))
        lc_fs_tmpfile_remove(sb, file);
    free(file);
    free(cwd);
    free(path_var);
    lc_buf_free(&msg);
    lc_pairs_free(&env);
    lc_sandbox_free(sb);
    return rc;
}

static csdk_status_t lc_url(void *state, csdk_call_t *call, const char *id,
                            uint32_t port, const char *protocol)
{
    lc_state_t *st = state;
    lc_sandbox_t *sb;
    char url[96];
    csdk_status_t rc;

    lc_enter(st);
    rc = lc_lookup(st, call, id, &sb);
    if (rc != CSDK_OK)
        return rc;
    if (port == 0 || port > 65535) {
        rc = st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                             "port %" PRIu32 " is not a TCP port (1-65535)",
                             port);
    } else if (!sb->network) {
        rc = st->host->error(call, CSDK_E_NOT_SUPPORTED,
                             "sandbox %s was created without network; create "
                             "it with network on (csdk create --network) to "
                             "reach port %" PRIu32, sb->id, port);
    } else {
        if (protocol == NULL || *protocol == '\0')
            protocol = "http";
        if (strlen(protocol) > 16 || strspn(protocol,
                                            "abcdefghijklmnopqrstuvwxyz+") !=
                                         strlen(protocol))
            rc = st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                 "protocol '%s' is not a URL scheme such as "
                                 "http, https or ws", protocol);
        else {
            /* The sandbox shares the host's network namespace. */
            snprintf(url, sizeof url, "%s://127.0.0.1:%" PRIu32, protocol,
                     port);
            if (st->host->set_str(call, CSDK_F_URL, url) != 0)
                rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
        }
    }
    lc_sandbox_free(sb);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Filesystem                                                          */
/* ------------------------------------------------------------------ */

#define LC_FS_SLOT(slot, impl)                                              \
    static csdk_status_t slot(void *state, csdk_call_t *call,               \
                              const char *id, const char *path)             \
    {                                                                       \
        lc_state_t *st = state;                                             \
        lc_sandbox_t *sb;                                                   \
        csdk_status_t rc;                                                   \
                                                                            \
        lc_enter(st);                                                       \
        rc = lc_lookup(st, call, id, &sb);                                  \
        if (rc != CSDK_OK)                                                  \
            return rc;                                                      \
        rc = impl(st, call, sb, path);                                      \
        lc_sandbox_free(sb);                                                \
        return rc;                                                          \
    }

LC_FS_SLOT(lc_read_file, lc_fs_read)
LC_FS_SLOT(lc_mkdir, lc_fs_mkdir)
LC_FS_SLOT(lc_readdir, lc_fs_readdir)
LC_FS_SLOT(lc_exists, lc_fs_exists)
LC_FS_SLOT(lc_remove, lc_fs_remove)

static csdk_status_t lc_write_file(void *state, csdk_call_t *call,
                                   const char *id, const char *path,
                                   const void *data, size_t len)
{
    lc_state_t *st = state;
    lc_sandbox_t *sb;
    csdk_status_t rc;

    lc_enter(st);
    rc = lc_lookup(st, call, id, &sb);
    if (rc != CSDK_OK)
        return rc;
    rc = lc_fs_write(st, call, sb, path, data, len);
    lc_sandbox_free(sb);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Named sandboxes                                                     */
/* ------------------------------------------------------------------ */

static csdk_status_t lc_name_check(lc_state_t *st, csdk_call_t *call,
                                   const char *ns, const char *name)
{
    if (ns == NULL || name == NULL || *name == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "a named sandbox needs a namespace and a "
                               "non-empty name");
    if (strlen(ns) + strlen(name) > 120)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "namespace and name together are longer than "
                               "120 bytes");
    return CSDK_OK;
}

/* The live sandbox named (ns, name), or NULL.  A dead or expired one is
 * removed on the way. */
static lc_sandbox_t *lc_find_named(lc_state_t *st, const char *ns,
                                   const char *name)
{
    char *key = lc_name_key(ns, name), *link, target[LC_ID_LEN + 2];
    lc_sandbox_t *sb = NULL;
    ssize_t n;

    link = key ? lc_printf("%s/names/%s", st->conf.root, key) : NULL;
    free(key);
    if (link == NULL)
        return NULL;
    n = readlink(link, target, sizeof target - 1);
    if (n > 0) {
        target[n] = '\0';
        if (lc_sandbox_load(st, NULL, target, &sb, 1) != CSDK_OK)
            sb = NULL;
    }
    if (sb != NULL &&
        (sb->name == NULL || sb->namespace_ == NULL ||
         strcmp(sb->name, name) != 0 || strcmp(sb->namespace_, ns) != 0)) {
        lc_sandbox_free(sb);
        sb = NULL;
    } else if (sb != NULL && (lc_sandbox_expired(st, sb) ||
                              (strcmp(sb->state, "running") == 0 &&
                               !lc_sandbox_alive(st, sb)))) {
        lc_sandbox_destroy(st, sb, 0);
        lc_sandbox_free(sb);
        sb = NULL;
    }
    if (sb == NULL && n > 0)
        (void)unlink(link);
    free(link);
    return sb;
}

static csdk_status_t lc_find(void *state, csdk_call_t *call,
                             const char *namespace_, const char *name)
{
    lc_state_t *st = state;
    lc_sandbox_t *sb;
    csdk_status_t rc;

    lc_enter(st);
    rc = lc_name_check(st, call, namespace_, name);
    if (rc != CSDK_OK)
        return rc;
    sb = lc_find_named(st, namespace_, name);
    if (sb == NULL)
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "no live sandbox named '%s' in namespace '%s' "
                               "in provider '%s'", name, namespace_,
                               st->instance);
    rc = lc_report(st, call, sb, 1, 0);
    lc_sandbox_free(sb);
    return rc;
}

/* Point ROOT/names/KEY at `id`, replacing a stale link atomically. */
static int lc_name_link(lc_state_t *st, const char *ns, const char *name,
                        const char *id)
{
    char *key = lc_name_key(ns, name), *dir = lc_join(st->conf.root, "names");
    char *link = NULL, *tmp = NULL, hex[9];
    int rc = -1;

    lc_random_hex(hex, 8);
    if (key != NULL && dir != NULL) {
        link = lc_join(dir, key);
        tmp = lc_printf("%s/.tmp-%s", dir, hex);
    }
    if (link != NULL && tmp != NULL && lc_mkdir_p(dir, 0700) == 0 &&
        symlink(id, tmp) == 0) {
        rc = rename(tmp, link);
        if (rc != 0)
            (void)unlink(tmp);
    }
    free(key);
    free(dir);
    free(link);
    free(tmp);
    return rc;
}

static csdk_status_t lc_find_or_create(void *state, csdk_call_t *call,
                                       const char *namespace_,
                                       const char *name,
                                       const csdk_create_opts_t *opts)
{
    lc_state_t *st = state;
    csdk_create_opts_t o;
    lc_conf_t conf;
    lc_sandbox_t *sb;
    char *lockpath;
    int lock, created = 0;
    csdk_status_t rc;

    lc_enter(st);
    rc = lc_name_check(st, call, namespace_, name);
    if (rc != CSDK_OK)
        return rc;
    lc_create_opts_read(opts, &o);
    lockpath = lc_join(st->conf.root, "names.lock");
    if (lockpath == NULL)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    lock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
        rc = st->host->error(call, CSDK_E_IO, "cannot lock '%s': %s",
                             lockpath, strerror(errno));
        if (lock >= 0)
            close(lock);
        free(lockpath);
        return rc;
    }
    free(lockpath);
    /* Under the lock, concurrent callers in any process see one sandbox. */
    sb = lc_find_named(st, namespace_, name);
    if (sb == NULL) {
        rc = lc_create_conf(st, call, &o, &conf);
        if (rc == CSDK_OK) {
            rc = lc_sandbox_create(st, call, &conf, &o, namespace_, name,
                                   &sb);
            lc_conf_free(&conf);
        }
        if (rc == CSDK_OK &&
            lc_name_link(st, namespace_, name, sb->id) != 0) {
            rc = st->host->error(call, CSDK_E_IO,
                                 "cannot record the name of sandbox %s: %s",
                                 sb->id, strerror(errno));
            lc_sandbox_destroy(st, sb, 1);
            lc_sandbox_free(sb);
            sb = NULL;
        }
        created = 1;
    }
    close(lock);
    if (rc != CSDK_OK)
        return rc;
    rc = lc_report(st, call, sb, !created, 0);
    if (rc == CSDK_OK && st->host->set_int(call, CSDK_F_CREATED, created) != 0)
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
    lc_sandbox_free(sb);
    return rc;
}

static csdk_status_t lc_extend_timeout(void *state, csdk_call_t *call,
                                       const char *id, uint64_t ms)
{
    lc_state_t *st = state;
    lc_sandbox_t *sb, *fresh = NULL;
    uint64_t now = st->host->now_ms();
    int lock;
    csdk_status_t rc;

    lc_enter(st);
    rc = lc_lookup(st, call, id, &sb);
    if (rc != CSDK_OK)
        return rc;
    /* Read-modify-write of meta under a lock on the sandbox directory. */
    lock = open(sb->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (lock < 0 || flock(lock, LOCK_EX) != 0) {
        rc = st->host->error(call, CSDK_E_IO,
                             "cannot lock sandbox %s: %s", sb->id,
                             strerror(errno));
        goto out;
    }
    rc = lc_sandbox_load(st, call, sb->id, &fresh, 0);
    if (rc != CSDK_OK)
        goto out;
    if (fresh->expires_ms != 0) {
        uint64_t from = fresh->expires_ms > now ? fresh->expires_ms : now;

        fresh->expires_ms = ms > UINT64_MAX - from ? UINT64_MAX : from + ms;
        if (lc_meta_save(fresh) != 0) {
            rc = st->host->error(call, CSDK_E_IO,
                                 "cannot write the state of sandbox %s: %s",
                                 fresh->id, strerror(errno));
            goto out;
        }
        if (lc_agent_simple(fresh, PROTO_REQ_EXTEND, PROTO_F_EXPIRES_MS,
                            fresh->expires_ms, LC_PING_TIMEOUT_MS) != 0) {
            rc = st->host->error(call, CSDK_E_CONNECTION,
                                 "the agent of sandbox %s did not take the "
                                 "new expiry (the sandbox may have stopped)",
                                 fresh->id);
            goto out;
        }
    }
    rc = lc_report(st, call, fresh, 0, 0);
out:
    if (lock >= 0)
        close(lock);
    lc_sandbox_free(fresh);
    lc_sandbox_free(sb);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Templates and snapshots                                             */
/* ------------------------------------------------------------------ */

static csdk_status_t lc_template_create(void *state, csdk_call_t *call,
                                        const char *sandbox_id,
                                        const char *name)
{
    lc_enter(state);
    return lc_saved_create(state, call, LC_SAVED_TEMPLATE, sandbox_id, name);
}

static csdk_status_t lc_template_list(void *state, csdk_call_t *call)
{
    return lc_saved_list(state, call, LC_SAVED_TEMPLATE);
}

static csdk_status_t lc_template_delete(void *state, csdk_call_t *call,
                                        const char *id)
{
    return lc_saved_delete(state, call, LC_SAVED_TEMPLATE, id);
}

static csdk_status_t lc_snapshot_create(void *state, csdk_call_t *call,
                                        const char *sandbox_id,
                                        const char *name)
{
    lc_enter(state);
    return lc_saved_create(state, call, LC_SAVED_SNAPSHOT, sandbox_id, name);
}

static csdk_status_t lc_snapshot_list(void *state, csdk_call_t *call)
{
    return lc_saved_list(state, call, LC_SAVED_SNAPSHOT);
}

static csdk_status_t lc_snapshot_delete(void *state, csdk_call_t *call,
                                        const char *id)
{
    return lc_saved_delete(state, call, LC_SAVED_SNAPSHOT, id);
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

static const csdk_provider_def_t lc_def = {
    .abi_version = CSDK_ABI_VERSION,
    .struct_size = sizeof(csdk_provider_def_t),
    .name = LC_NAME,
    .version = LC_VERSION,
    .description = "Sandboxes on this machine, isolated with bubblewrap",
    .flags = 0,

    .init = lc_init,
    .fini = lc_fini,
    .create = lc_create,
    .get = lc_get,
    .list = lc_list,
    .destroy = lc_destroy,
    .run_command = lc_run_command,
    .run_code = lc_run_code,
    .info = lc_info,
    .url = lc_url,

    .read_file = lc_read_file,
    .write_file = lc_write_file,
    .mkdir = lc_mkdir,
    .readdir = lc_readdir,
    .exists = lc_exists,
    .remove = lc_remove,

    .find = lc_find,
    .find_or_create = lc_find_or_create,
    .extend_timeout = lc_extend_timeout,

    .template_create = lc_template_create,
    .template_list = lc_template_list,
    .template_delete = lc_template_delete,
    .snapshot_create = lc_snapshot_create,
    .snapshot_list = lc_snapshot_list,
    .snapshot_delete = lc_snapshot_delete,
};

CSDK_EXPORT csdk_provider_entry_fn csdk_provider_entry;

CSDK_EXPORT const csdk_provider_def_t *csdk_provider_entry(uint32_t host_abi)
{
    if (CSDK_ABI_VERSION_MAJOR(host_abi) != CSDK_ABI_MAJOR)
        return NULL;
    return &lc_def;
}
