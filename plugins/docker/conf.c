/* The docker provider's configuration: INI keys and create options
 * (docs/docker-provider.md lists each key, its default and why). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "docker.h"

#define DK_MIB ((uint64_t)1 << 20)

/* Keys that widen what a sandbox can reach on the host, or that hold
 * credentials, are read from the configuration only: a create option
 * naming them is refused. */
static const char *const config_only[] = {
    "host", "tls_verify", "cert_path", "api_version", "registry_auth",
    "privileged", "binds", "cap_add", "cap_drop", "network_mode", "gpus",
    "oci_runtime", "request_timeout_ms", "network", "no_new_privileges",
    "user", NULL};

static int is_config_only(const char *key)
{
    for (const char *const *k = config_only; *k; k++)
        if (!strcmp(*k, key))
            return 1;
    return 0;
}

static void strs_free(dk_strs_t *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    s->v = NULL;
    s->n = 0;
}

static int strs_add(dk_strs_t *s, const char *v, size_t len)
{
    char **p = realloc(s->v, (s->n + 1) * sizeof *p);

    if (!p)
        return -1;
    s->v = p;
    if (!(s->v[s->n] = strndup(v, len)))
        return -1;
    s->n++;
    return 0;
}

/* A list value: words separated by spaces, tabs or commas (log options
 * and capabilities), or by spaces only when `spaces_only` (binds, whose
 * own options use commas). */
static int strs_parse(dk_strs_t *s, const char *value, int spaces_only)
{
    const char *seps = spaces_only ? " \t" : " \t,";
    const char *p = value;

    strs_free(s);
    while (*p) {
        size_t n;
        p += strspn(p, seps);
        n = strcspn(p, seps);
        if (n && strs_add(s, p, n))
            return -1;
        p += n;
    }
    return 0;
}

static int strs_copy(dk_strs_t *dst, const dk_strs_t *src)
{
    memset(dst, 0, sizeof *dst);
    for (size_t i = 0; i < src->n; i++)
        if (strs_add(dst, src->v[i], strlen(src->v[i])))
            return -1;
    return 0;
}

static int set_str(char **field, const char *value)
{
    char *v = *value ? strdup(value) : NULL;

    if (*value && !v)
        return -1;
    free(*field);
    *field = v;
    return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

static int in_range(uint64_t u, uint64_t lo, uint64_t hi)
{
    return u >= lo && u <= hi;
}

static int parse_bool(const char *s, int *out)
{
    if (!strcasecmp(s, "true") || !strcasecmp(s, "yes") || !strcmp(s, "1") ||
        !strcasecmp(s, "on"))
        return *out = 1, 0;
    if (!strcasecmp(s, "false") || !strcasecmp(s, "no") || !strcmp(s, "0") ||
        !strcasecmp(s, "off"))
        return *out = 0, 0;
    return -1;
}

/* From a create option, a published port may only bind loopback: one
 * that names another address would open the sandbox to the network. */
static int loopback_ports_only(const dk_strs_t *ports)
{
    for (size_t i = 0; i < ports->n; i++) {
        const char *p = ports->v[i];
        const char *a = strchr(p, ':'), *b = a ? strchr(a + 1, ':') : NULL;
        if (b && (a - p != 9 || strncmp(p, "127.0.0.1", 9)))
            return -1;
    }
    return 0;
}

/* "1.5" CPUs -> 1500000000 nano-CPUs. */
static int parse_cpus(const char *s, uint64_t *nano)
{
    char *end;
    double v;

    errno = 0;
    v = strtod(s, &end);
    if (errno || end == s || *end || !(v > 0) || v > 1024)
        return -1;
    *nano = (uint64_t)(v * 1e9 + 0.5);
    return 0;
}

static int parse_enum(const char *s, const char *const *names, int *out)
{
    for (int i = 0; names[i]; i++)
        if (!strcmp(s, names[i]))
            return *out = i, 0;
    return -1;
}

csdk_status_t dk_conf_set(dk_state_t *st, csdk_call_t *call, dk_conf_t *c,
                          const char *key, const char *value, int from_create)
{
    static const char *const pulls[] = {"if-not-present", "always", "never",
                                        NULL};
    static const char *const pulls_cs[] = {"ifNotPresent", "always", "never",
                                           NULL};
    static const char *const cleanups[] = {"always", "on-success", "never",
                                           NULL};
    static const char *const cleanups_cs[] = {"always", "onSuccess", "never",
                                              NULL};
    csdk_status_t bad = from_create ? CSDK_E_INVALID_ARGUMENT : CSDK_E_CONFIG;
    const char *where = from_create ? "create option" : "key";
    const char *expect = NULL;
    uint64_t u = 0;
    int b = 0, rc = 0;

    if (from_create && is_config_only(key))
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "create option '%s' may only be set in the "
                               "configuration file ([provider.%s])", key,
                               st->name);
#define IS(k) (strcmp(key, (k)) == 0)
#define U64(field, lo, hi, what)                                          \
    do {                                                                  \
        if (parse_u64(value, &u) || !in_range(u, (lo), (hi))) {          \
            expect = what;                                                \
            goto invalid;                                                 \
        }                                                                 \
        (field) = u;                                                      \
    } while (0)
#define BOOL(field)                                                       \
    do {                                                                  \
        if (parse_bool(value, &b)) {                                      \
            expect = "true or false";                                     \
            goto invalid;                                                 \
        }                                                                 \
        (field) = b;                                                      \
    } while (0)

    if (IS("host")) rc = set_str(&c->host, value);
    else if (IS("tls_verify")) BOOL(c->tls_verify);
    else if (IS("cert_path")) rc = set_str(&c->cert_path, value);
    else if (IS("api_version")) {
        int maj, min;
        if (sscanf(value, "%d.%d", &maj, &min) != 2) {
            expect = "an API version such as 1.41";
            goto invalid;
        }
        rc = set_str(&c->api_version, value);
    } else if (IS("image")) rc = set_str(&c->image, value);
    else if (IS("image_python")) rc = set_str(&c->image_python, value);
    else if (IS("image_node")) rc = set_str(&c->image_node, value);
    else if (IS("runtime")) {
        if (strcmp(value, "python") && strcmp(value, "node")) {
            expect = "python or node";
            goto invalid;
        }
        rc = set_str(&c->runtime, value);
    } else if (IS("pull_policy")) {
        if (parse_enum(value, pulls, &c->pull_policy) &&
            parse_enum(value, pulls_cs, &c->pull_policy)) {
            expect = "always, if-not-present or never";
            goto invalid;
        }
    } else if (IS("registry_auth")) rc = set_str(&c->registry_auth, value);
    else if (IS("user")) rc = set_str(&c->user, value);
    else if (IS("workdir")) {
        if (value[0] != '/') {
            expect = "an absolute path";
            goto invalid;
        }
        rc = set_str(&c->workdir, value);
    } else if (!strncmp(key, "env.", 4) && key[4]) {
        char *kv = dk_printf("%s=%s", key + 4, value);
        rc = !kv || strs_add(&c->env, kv, strlen(kv));
        free(kv);
    } else if (IS("binds")) rc = strs_parse(&c->binds, value, 1);
    else if (IS("ports")) {
        rc = strs_parse(&c->ports, value, 0);
        if (!rc && from_create && loopback_ports_only(&c->ports)) {
            expect = "[127.0.0.1:][hostport:]port[/tcp|udp] (as a create "
                     "option, ports bind loopback only)";
            goto invalid;
        }
    }
    else if (IS("network_mode")) rc = set_str(&c->network_mode, value);
    else if (IS("privileged")) BOOL(c->privileged);
    else if (IS("cap_add")) rc = strs_parse(&c->cap_add, value, 0);
    else if (IS("cap_drop")) rc = strs_parse(&c->cap_drop, value, 0);
    else if (IS("gpus")) rc = set_str(&c->gpus, value);
    else if (IS("memory_mb")) U64(c->memory_mb, 0, 1u << 24, "megabytes (0: no limit)");
    else if (IS("memory_swap_mb")) U64(c->memory_swap_mb, 0, 1u << 24, "megabytes");
    else if (IS("cpus")) {
        if (parse_cpus(value, &c->nano_cpus)) {
            expect = "a number of CPUs such as 1 or 0.5";
            goto invalid;
        }
    } else if (IS("cpu_shares")) U64(c->cpu_shares, 0, 262144, "0-262144");
    else if (IS("pids_limit")) U64(c->pids_limit, 0, 4194304, "a process count (0: no limit)");
    else if (IS("log_driver")) rc = set_str(&c->log_driver, value);
    else if (IS("log_opts")) rc = strs_parse(&c->log_opts, value, 0);
    else if (IS("auto_remove")) BOOL(c->auto_remove);
    else if (IS("tty")) BOOL(c->tty);
    else if (IS("oci_runtime")) rc = set_str(&c->oci_runtime, value);
    else if (IS("cleanup")) {
        if (parse_enum(value, cleanups, &c->cleanup) &&
            parse_enum(value, cleanups_cs, &c->cleanup)) {
            expect = "always, on-success or never";
            goto invalid;
        }
    } else if (IS("no_new_privileges")) BOOL(c->no_new_privileges);
    else if (IS("sandbox_timeout_ms")) U64(c->sandbox_timeout_ms, 0, UINT64_MAX / 2, "milliseconds (0: none)");
    else if (IS("stop_grace_s")) U64(c->stop_grace_s, 0, 3600, "seconds (0-3600)");
    else if (IS("request_timeout_ms")) U64(c->request_timeout_ms, 100, 86400000, "milliseconds (100 or more)");
    else if (IS("network")) rc = set_str(&c->network, value);
    else
        return st->host->error(call, bad, "unknown %s '%s' for the docker "
                               "provider (see csdk.ini(5) or "
                               "docs/docker-provider.md)", where, key);
#undef IS
#undef U64
#undef BOOL
    if (rc)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    return CSDK_OK;
invalid:
    return st->host->error(call, bad, "%s '%s': '%s' is not valid; expected "
                           "%s", where, key,
                           strcmp(key, "registry_auth") ? value : "(hidden)",
                           expect);
}

void dk_conf_defaults(dk_conf_t *c)
{
    const char *e;

    memset(c, 0, sizeof *c);
    e = getenv("DOCKER_HOST");
    c->host = strdup(e && *e ? e : "unix:///var/run/docker.sock");
    e = getenv("DOCKER_TLS_VERIFY");
    c->tls_verify = e && *e && strcmp(e, "0") != 0;
    e = getenv("DOCKER_CERT_PATH");
    c->cert_path = e && *e ? strdup(e) : NULL;
    c->runtime = strdup("python");
    c->pull_policy = DK_PULL_IF_NOT_PRESENT;
    c->workdir = strdup("/workspace");
    c->network_mode = strdup("none");
    c->network = strdup("bridge");
    strs_parse(&c->cap_drop, "ALL", 0);
    strs_parse(&c->cap_add, "CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID "
               "SETUID", 0);
    c->memory_mb = 512;
    c->pids_limit = 256;
    c->no_new_privileges = 1;
    c->cleanup = DK_CLEANUP_ALWAYS;
    c->sandbox_timeout_ms = 1800000;
    c->stop_grace_s = 2;
    c->request_timeout_ms = 60000;
}

int dk_conf_copy(dk_conf_t *dst, const dk_conf_t *src)
{
    char **strs[] = {&dst->host, &dst->cert_path, &dst->api_version,
                     &dst->image, &dst->image_python, &dst->image_node,
                     &dst->runtime, &dst->registry_auth, &dst->user,
                     &dst->workdir, &dst->network_mode, &dst->gpus,
                     &dst->log_driver, &dst->oci_runtime, &dst->network};
    dk_strs_t *lists[] = {&dst->env, &dst->binds, &dst->ports, &dst->cap_add,
                          &dst->cap_drop, &dst->log_opts};
    int failed = 0;

    *dst = *src;
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        if (*strs[i] && !(*strs[i] = strdup(*strs[i])))
            failed = 1;
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++) {
        dk_strs_t s = *lists[i];
        if (strs_copy(lists[i], &s))
            failed = 1;
    }
    if (failed) {
        dk_conf_free(dst);
        return -1;
    }
    return 0;
}

void dk_conf_free(dk_conf_t *c)
{
    char *strs[] = {c->host, c->cert_path, c->api_version, c->image,
                    c->image_python, c->image_node, c->runtime,
                    c->registry_auth, c->user, c->workdir, c->network_mode,
                    c->gpus, c->log_driver, c->oci_runtime, c->network};
    dk_strs_t *lists[] = {&c->env, &c->binds, &c->ports, &c->cap_add,
                          &c->cap_drop, &c->log_opts};

    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++)
        free(strs[i]);
    for (size_t i = 0; i < sizeof lists / sizeof *lists; i++)
        strs_free(lists[i]);
    memset(c, 0, sizeof *c);
}
