/*
 * plugins/namespace/config.c - the namespace provider's configuration
 * keys, its create options (the same keys), and the API token.
 *
 * Names and defaults follow ComputeSDK's namespace provider (in
 * snake_case): virtual_cpu 2, memory_megabytes 4096, machine_arch amd64,
 * os linux, a one-hour instance deadline, target_container_name
 * main-container, base_url https://us.compute.namespaceapis.com.
 *
 * The token never leaves this file except into the state's Authorization
 * header: no message quotes it, no log line prints it.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "ns.h"

#include <jansson.h>

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* What a user is told when there is no usable token. */
#define NS_TOKEN_STEPS                                                      \
    "create an API token for your Namespace workspace (the nsc CLI or the " \
    "dashboard) and give it as token = ... in [provider.%s], or in the "    \
    "environment variable NSC_TOKEN, or set NSC_TOKEN_FILE (or token_file "  \
    "= ...) to a JSON file holding {\"bearer_token\": \"...\"}"

/* Every key, for "unknown key" messages. */
#define NS_KEYS                                                             \
    "token, token_env, token_file, base_url, ca_file, virtual_cpu, "        \
    "memory_megabytes, machine_arch, os, documented_purpose, "              \
    "destroy_reason, sandbox_timeout_ms, runtime, image, python_image, "    \
    "node_image, python, node, ports, target_container_name, "              \
    "request_timeout_ms, max_output_mb, stream_interval_ms, "               \
    "write_chunk_kib"

void ns_conf_free(ns_conf_t *c)
{
    free(c->base_url);
    free(c->ca_file);
    free(c->purpose);
    free(c->destroy_reason);
    free(c->machine_arch);
    free(c->os);
    free(c->container);
    free(c->image);
    free(c->python_image);
    free(c->node_image);
    free(c->runtime);
    free(c->python);
    free(c->node);
    free(c->ports);
    memset(c, 0, sizeof *c);
}

/* strdup that keeps NULL; sets *failed on a failed copy. */
static char *ns_dup(const char *s, int *failed)
{
    char *d;

    if (s == NULL)
        return NULL;
    d = strdup(s);
    if (d == NULL)
        *failed = 1;
    return d;
}

int ns_conf_copy(ns_conf_t *dst, const ns_conf_t *src)
{
    int failed = 0;

    *dst = *src;
    dst->base_url = ns_dup(src->base_url, &failed);
    dst->ca_file = ns_dup(src->ca_file, &failed);
    dst->purpose = ns_dup(src->purpose, &failed);
    dst->destroy_reason = ns_dup(src->destroy_reason, &failed);
    dst->machine_arch = ns_dup(src->machine_arch, &failed);
    dst->os = ns_dup(src->os, &failed);
    dst->container = ns_dup(src->container, &failed);
    dst->image = ns_dup(src->image, &failed);
    dst->python_image = ns_dup(src->python_image, &failed);
    dst->node_image = ns_dup(src->node_image, &failed);
    dst->runtime = ns_dup(src->runtime, &failed);
    dst->python = ns_dup(src->python, &failed);
    dst->node = ns_dup(src->node, &failed);
    dst->ports = ns_dup(src->ports, &failed);
    if (failed) {
        ns_conf_free(dst);
        return -1;
    }
    return 0;
}

csdk_status_t ns_conf_defaults(const csdk_host_t *h, csdk_call_t *call,
                               ns_conf_t *c)
{
    int failed = 0;

    memset(c, 0, sizeof *c);
    c->base_url = ns_dup(NS_DEFAULT_BASE_URL, &failed);
    c->purpose = ns_dup("csdk sandbox", &failed);
    c->destroy_reason = ns_dup("csdk destroy", &failed);
    c->machine_arch = ns_dup("amd64", &failed);
    c->os = ns_dup("linux", &failed);
    c->container = ns_dup("main-container", &failed);
    c->python_image = ns_dup("python:3.12", &failed);
    c->node_image = ns_dup("node:22", &failed);
    c->python = ns_dup("python3", &failed);
    c->node = ns_dup("node", &failed);
    c->vcpu = 2;
    c->memory_mb = 4096;
    c->sandbox_timeout_ms = 3600000;
    c->request_timeout_ms = 30000;
    c->max_output = 16 * NS_MIB;
    c->stream_interval_ms = 250;
    c->write_chunk = 512 * 1024;
    if (failed) {
        ns_conf_free(c);
        return h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    return CSDK_OK;
}

const char *ns_runtime_name(const char *s)
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

static csdk_status_t ns_bad(const csdk_host_t *h, csdk_call_t *call,
                            const ns_where_t *w, const char *key,
                            const char *value, const char *why)
{
    if (w->is_config)
        return h->error(call, CSDK_E_CONFIG, "[provider.%s] %s = '%.100s': %s",
                        w->instance, key, value, why);
    return h->error(call, CSDK_E_INVALID_ARGUMENT,
                    "create option %s=%.100s: %s", key, value, why);
}

/* A whole decimal number in [lo, hi]. */
static int ns_number(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '\0' || strlen(s) > 19)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    if (v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int ns_replace(char **field, const char *value)
{
    char *copy = strdup(value);

    if (copy == NULL)
        return -1;
    free(*field);
    *field = copy;
    return 0;
}

/* Printable ASCII without spaces: image references, names. */
static int ns_plain(const char *s, size_t max)
{
    size_t n = strlen(s);

    if (n == 0 || n > max)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

/* "8080,3000" -> valid ports, at most 16. */
static int ns_ports_valid(const char *s)
{
    int n = 0;

    while (*s) {
        uint64_t port = 0;
        const char *p = s;

        for (; *p >= '0' && *p <= '9'; p++) {
            port = port * 10 + (uint64_t)(*p - '0');
            if (port > 65535)
                return 0;
        }
        if (p == s || port == 0 || ++n > 16)
            return 0;
        if (*p == ',')
            p++;
        else if (*p != '\0')
            return 0;
        s = p;
    }
    return n > 0;
}

/* Keys only the operator sets, per provider instance. */
static int ns_instance_only(const char *key)
{
    static const char *const keys[] = {
        "base_url", "ca_file", "destroy_reason", "target_container_name",
        "request_timeout_ms", "max_output_mb", "stream_interval_ms",
        "write_chunk_kib"};

    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        if (strcmp(key, keys[i]) == 0)
            return 1;
    return 0;
}

/* A string key with its check: 0 set, 1 not this key, or a status. */
static csdk_status_t ns_conf_str(const csdk_host_t *h, csdk_call_t *call,
                                 const ns_where_t *w, ns_conf_t *c,
                                 const char *key, const char *value,
                                 int *handled)
{
    static const struct {
        const char *key;
        size_t off;
        size_t max;
        const char *why;
    } strs[] = {
        {"image", offsetof(ns_conf_t, image), 512,
         "expected an image reference such as python:3.12 (or builtin:base)"},
        {"python_image", offsetof(ns_conf_t, python_image), 512,
         "expected an image reference such as python:3.12"},
        {"node_image", offsetof(ns_conf_t, node_image), 512,
         "expected an image reference such as node:22"},
        {"python", offsetof(ns_conf_t, python), 256,
         "expected the Python interpreter's name or path in the image"},
        {"node", offsetof(ns_conf_t, node), 256,
         "expected the Node.js interpreter's name or path in the image"},
        {"target_container_name", offsetof(ns_conf_t, container), 63,
         "expected a container name (letters, digits, '-')"},
        {"ca_file", offsetof(ns_conf_t, ca_file), 4096,
         "expected the path of a PEM file of CA certificates"},
    };

    *handled = 0;
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        char **field;

        if (strcmp(key, strs[i].key) != 0)
            continue;
        *handled = 1;
        field = (char **)(void *)((char *)c + strs[i].off);
        if (!ns_plain(value, strs[i].max))
            return ns_bad(h, call, w, key, value, strs[i].why);
        if (strcmp(key, "ca_file") == 0 && access(value, R_OK) != 0)
            return ns_bad(h, call, w, key, value, strerror(errno));
        return ns_replace(field, value) == 0
                   ? CSDK_OK
                   : h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    return CSDK_OK;
}

csdk_status_t ns_conf_set(const csdk_host_t *h, csdk_call_t *call,
                          const ns_where_t *w, ns_conf_t *c, const char *key,
                          const char *value)
{
    uint64_t v;
    int handled;
    csdk_status_t rc;

    if (value == NULL)
        value = "";
    if (!w->is_config && ns_instance_only(key))
        return h->error(call, CSDK_E_INVALID_ARGUMENT,
                        "create option %s: it is set per provider instance, "
                        "not per sandbox; set %s in [provider.%s]",
                        key, key, w->instance);
#define NS_NUM(field, lo, hi, scale, why)                                   \
    do {                                                                    \
        if (ns_number(value, lo, hi, &v) != 0)                              \
            return ns_bad(h, call, w, key, value, why);                     \
        c->field = v * (scale);                                             \
        return CSDK_OK;                                                     \
    } while (0)
    if (strcmp(key, "virtual_cpu") == 0) {
        if (ns_number(value, 1, 256, &v) != 0)
            return ns_bad(h, call, w, key, value,
                          "expected a whole number of virtual CPUs from 1 "
                          "to 256");
        c->vcpu = (int32_t)v;
        return CSDK_OK;
    }
    if (strcmp(key, "memory_megabytes") == 0) {
        if (ns_number(value, 128, 1048576, &v) != 0)
            return ns_bad(h, call, w, key, value,
                          "expected a whole number of MB from 128 to "
                          "1048576");
        c->memory_mb = (int32_t)v;
        return CSDK_OK;
    }
    if (strcmp(key, "sandbox_timeout_ms") == 0)
        NS_NUM(sandbox_timeout_ms, 1000, UINT64_C(31536000000), 1,
               "expected the instance's lifetime in milliseconds, at least "
               "1000 (Namespace destroys it at this deadline)");
    if (strcmp(key, "request_timeout_ms") == 0)
        NS_NUM(request_timeout_ms, 1000, 600000, 1,
               "expected milliseconds from 1000 to 600000");
    if (strcmp(key, "max_output_mb") == 0)
        NS_NUM(max_output, 1, 32, NS_MIB,
               "expected a whole number of MiB per stream from 1 to 32");
    if (strcmp(key, "stream_interval_ms") == 0) {
        if (ns_number(value, 0, 10000, &v) != 0 || (v != 0 && v < 50))
            return ns_bad(h, call, w, key, value,
                          "expected milliseconds from 50 to 10000, or 0 to "
                          "deliver output when a command ends");
        c->stream_interval_ms = v;
        return CSDK_OK;
    }
    if (strcmp(key, "write_chunk_kib") == 0)
        NS_NUM(write_chunk, 4, 1024, 1024,
               "expected KiB of base64 file data per command, from 4 to "
               "1024");
#undef NS_NUM
    if (strcmp(key, "machine_arch") == 0) {
        if (strcmp(value, "amd64") != 0 && strcmp(value, "arm64") != 0)
            return ns_bad(h, call, w, key, value, "expected amd64 or arm64");
        return ns_replace(&c->machine_arch, value) == 0
                   ? CSDK_OK
                   : h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    if (strcmp(key, "os") == 0) {
        if (strcmp(value, "linux") != 0 && strcmp(value, "macos") != 0)
            return ns_bad(h, call, w, key, value, "expected linux or macos");
        return ns_replace(&c->os, value) == 0
                   ? CSDK_OK
                   : h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    if (strcmp(key, "documented_purpose") == 0 ||
        strcmp(key, "destroy_reason") == 0) {
        if (*value == '\0' || strlen(value) > 256)
            return ns_bad(h, call, w, key, value,
                          "expected a short text (1 to 256 bytes)");
        return ns_replace(strcmp(key, "documented_purpose") == 0
                              ? &c->purpose
                              : &c->destroy_reason,
                          value) == 0
                   ? CSDK_OK
                   : h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    if (strcmp(key, "runtime") == 0) {
        const char *name = ns_runtime_name(value);

        if (*value == '\0' || strcmp(value, "auto") == 0) {
            free(c->runtime);
            c->runtime = NULL;
            return CSDK_OK;
        }
        if (name == NULL)
            return ns_bad(h, call, w, key, value,
                          "expected python or node (or auto: detect per "
                          "run)");
        return ns_replace(&c->runtime, name) == 0
                   ? CSDK_OK
                   : h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    if (strcmp(key, "ports") == 0) {
        if (!ns_ports_valid(value))
            return ns_bad(h, call, w, key, value,
                          "expected up to 16 TCP ports separated by commas, "
                          "e.g. 8080,3000");
        return ns_replace(&c->ports, value) == 0
                   ? CSDK_OK
                   : h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    if (strcmp(key, "base_url") == 0) {
        size_t n = strlen(value);

        if ((strncmp(value, "https://", 8) != 0 &&
             strncmp(value, "http://", 7) != 0) ||
            !ns_plain(value, 1024) || strchr(value, '?') != NULL ||
            strchr(value, '#') != NULL)
            return ns_bad(h, call, w, key, value,
                          "expected the API's URL, such as "
                          NS_DEFAULT_BASE_URL);
        if (ns_replace(&c->base_url, value) != 0)
            return h->error(call, CSDK_E_NOMEM, "out of memory");
        while (n > 8 && c->base_url[n - 1] == '/')
            c->base_url[--n] = '\0';
        return CSDK_OK;
    }
    rc = ns_conf_str(h, call, w, c, key, value, &handled);
    if (handled)
        return rc;
    if (w->is_config)
        return h->error(call, CSDK_E_CONFIG,
                        "[provider.%s] unknown key '%s' for the namespace "
                        "plugin (it accepts: %s)", w->instance, key, NS_KEYS);
    return h->error(call, CSDK_E_INVALID_ARGUMENT,
                    "unknown create option '%s' for the namespace provider "
                    "(it accepts: %s)", key, NS_KEYS);
}

/* ------------------------------------------------------------------ */
/* The token                                                           */
/* ------------------------------------------------------------------ */

int ns_token_valid(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 8192)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s <= 0x20 || (unsigned char)*s >= 0x7f)
            return 0;
    return 1;
}

/* Read bearer_token from a token file (as nsc writes them).  The file's
 * contents never reach a message. */
static csdk_status_t ns_token_file(const csdk_host_t *h, csdk_call_t *call,
                                   const char *instance, const char *path,
                                   const char *from, char **out)
{
    json_error_t je;
    json_t *o, *t;
    FILE *f = fopen(path, "re");
    char *buf;
    size_t n;

    if (f == NULL)
        return h->error(call, CSDK_E_CONFIG,
                        "[provider.%s] the token file '%s' (from %s) cannot "
                        "be read: %s; " NS_TOKEN_STEPS,
                        instance, path, from, strerror(errno), instance);
    buf = malloc(65537);
    n = buf != NULL ? fread(buf, 1, 65537, f) : 0;
    fclose(f);
    if (buf == NULL)
        return h->error(call, CSDK_E_NOMEM, "out of memory");
    if (n > 65536) {
        free(buf);
        return h->error(call, CSDK_E_CONFIG,
                        "[provider.%s] the token file '%s' (from %s) is "
                        "larger than 64 KiB; it should hold {\"bearer_token\""
                        ": \"...\"}", instance, path, from);
    }
    o = json_loadb(buf, n, 0, &je);
    /* The buffer held the secret: clear it before it is freed. */
    memset(buf, 0, n);
    free(buf);
    t = json_object_get(o, "bearer_token");
    if (!json_is_string(t) || !ns_token_valid(json_string_value(t))) {
        csdk_status_t rc = h->error(
            call, CSDK_E_CONFIG,
            "[provider.%s] the token file '%s' (from %s) %s; it should hold "
            "{\"bearer_token\": \"...\"}: " NS_TOKEN_STEPS,
            instance, path, from,
            o == NULL ? "is not JSON"
            : t == NULL ? "has no bearer_token"
                        : "has a bearer_token that is not a token (empty, "
                          "or with spaces or control characters)",
            instance);
        json_decref(o);
        return rc;
    }
    *out = strdup(json_string_value(t));
    json_decref(o);
    return *out != NULL ? CSDK_OK
                        : h->error(call, CSDK_E_NOMEM, "out of memory");
}

csdk_status_t ns_token_resolve(const csdk_host_t *h, csdk_call_t *call,
                               const char *instance, const char *token,
                               const char *token_env, const char *token_file,
                               char **out)
{
    const char *env = token_env != NULL ? token_env : "NSC_TOKEN";
    const char *v;

    *out = NULL;
    if (token != NULL) {
        if (!ns_token_valid(token))
            return h->error(call, CSDK_E_CONFIG,
                            "[provider.%s] token: the value is not an API "
                            "token (empty, or with spaces or control "
                            "characters); " NS_TOKEN_STEPS,
                            instance, instance);
        *out = strdup(token);
        return *out != NULL ? CSDK_OK
                            : h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    v = getenv(env);
    if (v != NULL && *v != '\0') {
        if (!ns_token_valid(v))
            return h->error(call, CSDK_E_CONFIG,
                            "[provider.%s] the environment variable %s does "
                            "not hold an API token (spaces or control "
                            "characters); " NS_TOKEN_STEPS,
                            instance, env, instance);
        *out = strdup(v);
        return *out != NULL ? CSDK_OK
                            : h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    if (token_file != NULL)
        return ns_token_file(h, call, instance, token_file, "token_file", out);
    v = getenv("NSC_TOKEN_FILE");
    if (v != NULL && *v != '\0')
        return ns_token_file(h, call, instance, v, "NSC_TOKEN_FILE", out);
    return h->error(call, CSDK_E_AUTH,
                    "[provider.%s] no Namespace API token: there is no token "
                    "key, %s is not set and neither is NSC_TOKEN_FILE; "
                    NS_TOKEN_STEPS, instance, env, instance);
}
