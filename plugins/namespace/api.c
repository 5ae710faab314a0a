/*
 * plugins/namespace/api.c - Namespace's Connect JSON API: request bodies
 * and reply parsing.
 *
 * Pure functions on strings: no network, no host, no global state, safe
 * from any thread.  Every reply is outside input: a body that is not what
 * the API documents (tests/namespace/API.md) is CSDK_E_PROTOCOL with a
 * short, printable excerpt, never a crash, and the token never appears in
 * a message (excerpts mask it).  Field names are read in the JSON
 * mapping's lowerCamelCase and, for robustness, in the proto's
 * snake_case.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "ns.h"

#include <csdk/sdk/base64.h>

#include <jansson.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* How much of a body a PROTOCOL message quotes. */
#define NS_EXCERPT 80

/* ------------------------------------------------------------------ */
/* Small things                                                        */
/* ------------------------------------------------------------------ */

void ns_err_set(ns_err_t *e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
}

int ns_pairs_set(ns_pairs_t *p, const char *key, const char *value)
{
    char *k, *v;
    ns_pair_t *nv;

    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].key, key) == 0) {
            if ((v = strdup(value)) == NULL)
                return -1;
            free(p->v[i].value);
            p->v[i].value = v;
            return 0;
        }
    }
    nv = realloc(p->v, (p->n + 1) * sizeof *nv);
    if (nv == NULL)
        return -1;
    p->v = nv;
    k = strdup(key);
    v = strdup(value);
    if (k == NULL || v == NULL) {
        free(k);
        free(v);
        return -1;
    }
    p->v[p->n].key = k;
    p->v[p->n].value = v;
    p->n++;
    return 0;
}

const char *ns_pairs_get(const ns_pairs_t *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].key, key) == 0)
            return p->v[i].value;
    return NULL;
}

void ns_pairs_free(ns_pairs_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].key);
        free(p->v[i].value);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

void ns_instance_free(ns_instance_t *in)
{
    if (in == NULL)
        return;
    free(in->id);
    free(in->status);
    free(in->purpose);
    free(in->machine_arch);
    free(in->os);
    free(in->endpoint);
    free(in->instance_url);
    ns_pairs_free(&in->labels);
    memset(in, 0, sizeof *in);
}

void ns_instances_free(ns_instance_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        ns_instance_free(&v[i]);
    free(v);
}

void ns_run_reply_free(ns_run_reply_t *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof *r);
}

void ns_excerpt(char *dst, size_t dstlen, const char *body, size_t len,
                size_t max, const char *secret)
{
    size_t slen = secret != NULL ? strlen(secret) : 0, o = 0;
    size_t scan = len < max ? len : max;

    if (dstlen == 0)
        return;
    for (size_t i = 0; i < scan && o + 5 < dstlen;) {
        unsigned char c = (unsigned char)body[i];

        /* Mask the secret wherever it starts inside the excerpt, even
         * when it runs past the excerpt's end. */
        if (slen > 0 && len - i >= slen && memcmp(body + i, secret, slen) == 0) {
            if (o + 4 >= dstlen)
                break;
            memcpy(dst + o, "***", 3);
            o += 3;
            i += slen;
            continue;
        }
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            dst[o++] = (char)c;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            dst[o++] = ' ';
        } else {
            o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", c);
        }
        i++;
    }
    dst[o < dstlen ? o : dstlen - 1] = '\0';
    if (len > max && o + 4 < dstlen)
        strcat(dst, "...");
}

/* A PROTOCOL failure quoting the body. */
static csdk_status_t ns_bad_reply(ns_err_t *e, const char *what,
                                  const char *why, const char *body,
                                  size_t len, const char *secret)
{
    char ex[NS_EXCERPT * 4 + 8];

    ns_excerpt(ex, sizeof ex, body, len, NS_EXCERPT, secret);
    ns_err_set(e, "Namespace %s: malformed reply (%s; %zu bytes: \"%s\")",
               what, why, len, ex);
    return CSDK_E_PROTOCOL;
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date. */
static int64_t ns_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int ns_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)(*p)[i]))
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

int64_t ns_parse_time(const char *s)
{
    int y, mo, d, h, mi, sec, ms = 0, oh = 0, om = 0, sign = 0;
    const char *p = s;
    int64_t t;

    if (s == NULL || ns_digits(&p, 4, &y) || *p++ != '-' ||
        ns_digits(&p, 2, &mo) || *p++ != '-' || ns_digits(&p, 2, &d) ||
        (*p != 'T' && *p != 't') || (p++, ns_digits(&p, 2, &h)) ||
        *p++ != ':' || ns_digits(&p, 2, &mi) || *p++ != ':' ||
        ns_digits(&p, 2, &sec))
        return -1;
    if (*p == '.') {
        int n = 0;

        for (p++; isdigit((unsigned char)*p); p++, n++)
            if (n < 3)
                ms = ms * 10 + (*p - '0');
        if (n == 0 || n > 9)
            return -1;
        for (; n < 3; n++)
            ms *= 10;
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        sign = *p++ == '-' ? -1 : 1;
        if (ns_digits(&p, 2, &oh) || *p++ != ':' || ns_digits(&p, 2, &om))
            return -1;
    } else {
        return -1;
    }
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60 || oh > 23 || om > 59)
        return -1;
    t = ns_days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 +
        h * 3600 + mi * 60 + sec - sign * (oh * 3600 + om * 60);
    return t * 1000 + ms;
}

void ns_format_time(int64_t ms, char out[48])
{
    int64_t secs = ms / 1000, days = secs / 86400, rem = secs % 86400;
    int64_t z, era, y;
    unsigned doe, yoe, doy, mp, d, m;

    if (rem < 0) {
        rem += 86400;
        days--;
    }
    /* civil_from_days */
    z = days + 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    y = (int64_t)yoe + era * 400;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    d = doy - (153 * mp + 2) / 5 + 1;
    m = mp < 10 ? mp + 3 : mp - 9;
    y += m <= 2;
    snprintf(out, 48, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d.%03dZ", y, m, d,
             (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60),
             (int)(ms % 1000 + (ms % 1000 < 0 ? 1000 : 0)));
}

/* ------------------------------------------------------------------ */
/* Label values                                                        */
/* ------------------------------------------------------------------ */

/* SHA-256 (FIPS 180-4) of a short string, for label values that cannot
 * be sent as they are.  Not for secrets: nothing here needs to be
 * constant-time. */
static const uint32_t ns_sha_k[64] = {
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1,
    0x923f82a4, 0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3,
    0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786,
    0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147,
    0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13,
    0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
    0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a,
    0x5b9cca4f, 0x682e6ff3, 0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208,
    0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2};

#define NS_ROR(x, n) (((x) >> (n)) | ((x) << (32 - (n))))

static void ns_sha256_block(uint32_t h[8], const unsigned char *p)
{
    uint32_t w[64], v[8];

    for (int i = 0; i < 16; i++)
        w[i] = (uint32_t)p[4 * i] << 24 | (uint32_t)p[4 * i + 1] << 16 |
               (uint32_t)p[4 * i + 2] << 8 | p[4 * i + 3];
    for (int i = 16; i < 64; i++)
        w[i] = w[i - 16] + w[i - 7] +
               (NS_ROR(w[i - 15], 7) ^ NS_ROR(w[i - 15], 18) ^
                (w[i - 15] >> 3)) +
               (NS_ROR(w[i - 2], 17) ^ NS_ROR(w[i - 2], 19) ^ (w[i - 2] >> 10));
    memcpy(v, h, sizeof v);
    for (int i = 0; i < 64; i++) {
        uint32_t t1 = v[7] + (NS_ROR(v[4], 6) ^ NS_ROR(v[4], 11) ^
                              NS_ROR(v[4], 25)) +
                      ((v[4] & v[5]) ^ (~v[4] & v[6])) + ns_sha_k[i] + w[i];
        uint32_t t2 = (NS_ROR(v[0], 2) ^ NS_ROR(v[0], 13) ^ NS_ROR(v[0], 22)) +
                      ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2]));

        memmove(v + 1, v, 7 * sizeof v[0]);
        v[4] += t1;
        v[0] = t1 + t2;
    }
    for (int i = 0; i < 8; i++)
        h[i] += v[i];
}

void ns_sha256_hex(const void *data, size_t len, char out[65])
{
    uint32_t h[8] = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                     0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
    const unsigned char *p = data;
    unsigned char tail[128];
    size_t rest = len % 64, n = rest < 56 ? 64 : 128;
    uint64_t bits = (uint64_t)len * 8;

    for (size_t i = 0; i + 64 <= len; i += 64)
        ns_sha256_block(h, p + i);
    memset(tail, 0, sizeof tail);
    memcpy(tail, p + len - rest, rest);
    tail[rest] = 0x80;
    for (int i = 0; i < 8; i++)
        tail[n - 1 - i] = (unsigned char)(bits >> (8 * i));
    ns_sha256_block(h, tail);
    if (n == 128)
        ns_sha256_block(h, tail + 64);
    for (int i = 0; i < 8; i++)
        snprintf(out + 8 * i, 9, "%08" PRIx32, h[i]);
}

void ns_label_value(const char *s, char out[NS_LABEL_VALUE_MAX + 1])
{
    size_t n = strlen(s);

    if (n > 0 && n <= NS_LABEL_VALUE_MAX &&
        strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                  "0123456789._-") == n) {
        memcpy(out, s, n + 1);
        return;
    }
    /* '~' never appears in a value sent as it is, so the two forms
     * cannot meet. */
    out[0] = '~';
    ns_sha256_hex(s, n, out + 1);
}

/* ------------------------------------------------------------------ */
/* Request bodies                                                      */
/* ------------------------------------------------------------------ */

/* Serialise and free `o`.  NULL when `o` is NULL or out of memory. */
static char *ns_dump(json_t *o)
{
    char *s;

    if (o == NULL)
        return NULL;
    s = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    return s;
}

/* Set o[key] = v, taking v; -1 (and v released) on failure. */
static int ns_set(json_t *o, const char *key, json_t *v)
{
    if (v == NULL)
        return -1;
    return json_object_set_new(o, key, v);
}

static int ns_set_str(json_t *o, const char *key, const char *s)
{
    return s != NULL ? ns_set(o, key, json_string(s)) : 0;
}

static json_t *ns_labels_json(const ns_pairs_t *labels)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && labels != NULL && i < labels->n; i++) {
        json_t *l = json_object();

        if (l == NULL || ns_set_str(l, "name", labels->v[i].key) ||
            ns_set_str(l, "value", labels->v[i].value) ||
            json_array_append_new(a, l)) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static json_t *ns_container_json(const ns_create_req_t *r)
{
    json_t *c = json_object(), *args = json_pack("[ss]", "sleep", "infinity");
    int bad = c == NULL;

    bad = bad || ns_set_str(c, "name", r->container);
    if (r->image != NULL && strncmp(r->image, "builtin:", 8) == 0)
        bad = bad || ns_set_str(c, "knownImageId", r->image);
    else
        bad = bad || ns_set_str(c, "imageRef", r->image);
    /* The container only has to stay up: commands run through the
     * command service, as in ComputeSDK. */
    bad = bad || ns_set(c, "args", args);
    args = NULL;
    if (!bad && r->n_env > 0) {
        json_t *env = json_object();

        bad = env == NULL;
        for (size_t i = 0; !bad && i < r->n_env; i++)
            if (r->env[i].key != NULL)
                bad = ns_set(env, r->env[i].key,
                             json_string(r->env[i].value ? r->env[i].value
                                                         : ""));
        bad = bad || ns_set(c, "environment", env);
    }
    if (!bad && r->n_ports > 0) {
        json_t *ports = json_array();

        bad = ports == NULL;
        for (size_t i = 0; !bad && i < r->n_ports; i++)
            bad = json_array_append_new(
                ports, json_pack("{s:i,s:s}", "containerPort",
                                 (int)r->ports[i], "proto", "TCP"));
        bad = bad || ns_set(c, "exportPorts", ports);
    }
    json_decref(args);
    if (bad) {
        json_decref(c);
        return NULL;
    }
    return c;
}

char *ns_req_create(const ns_create_req_t *r)
{
    json_t *o = json_object(), *shape, *containers;
    char deadline[48];
    int bad = o == NULL;

    shape = json_pack("{s:i,s:i,s:s,s:s}", "virtualCpu", (int)r->vcpu,
                      "memoryMegabytes", (int)r->memory_mb, "machineArch",
                      r->machine_arch ? r->machine_arch : "amd64", "os",
                      r->os ? r->os : "linux");
    bad = bad || ns_set(o, "shape", shape);
    containers = json_array();
    bad = bad || containers == NULL ||
          json_array_append_new(containers, ns_container_json(r)) ||
          ns_set(o, "containers", json_incref(containers));
    json_decref(containers);
    bad = bad || ns_set_str(o, "documentedPurpose", r->purpose);
    if (r->deadline_ms > 0) {
        ns_format_time((int64_t)r->deadline_ms, deadline);
        bad = bad || ns_set_str(o, "deadline", deadline);
    }
    if (r->labels != NULL && r->labels->n > 0)
        bad = bad || ns_set(o, "labels", ns_labels_json(r->labels));
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return ns_dump(o);
}

char *ns_req_instance(const char *id)
{
    return ns_dump(json_pack("{s:s}", "instanceId", id));
}

char *ns_req_destroy(const char *id, const char *reason)
{
    if (reason == NULL || *reason == '\0')
        return ns_req_instance(id);
    return ns_dump(json_pack("{s:s,s:s}", "instanceId", id, "reason", reason));
}

char *ns_req_list(const char *cursor)
{
    return ns_req_list_labels(cursor, NULL);
}

/* labelFilter: one EQUAL entry per label (the entries must all hold). */
static json_t *ns_filter_json(const ns_pairs_t *equal)
{
    json_t *a = json_array();

    for (size_t i = 0; a != NULL && i < equal->n; i++) {
        json_t *f = json_pack("{s:s,s:s,s:s}", "name", equal->v[i].key,
                              "value", equal->v[i].value, "op", "EQUAL");

        if (f == NULL || json_array_append_new(a, f) != 0) {
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

char *ns_req_list_labels(const char *cursor, const ns_pairs_t *equal)
{
    json_t *o = json_object();

    if (o != NULL && cursor != NULL && *cursor != '\0' &&
        ns_set_str(o, "paginationCursor", cursor) != 0) {
        json_decref(o);
        return NULL;
    }
    if (o != NULL && equal != NULL && equal->n > 0 &&
        ns_set(o, "labelFilter", ns_filter_json(equal)) != 0) {
        json_decref(o);
        return NULL;
    }
    return ns_dump(o);
}

char *ns_req_extend(const char *id, uint64_t ms)
{
    char by[40];

    /* google.protobuf.Duration in JSON: seconds, "s" suffix. */
    if (ms % 1000 == 0)
        snprintf(by, sizeof by, "%" PRIu64 "s", ms / 1000);
    else
        snprintf(by, sizeof by, "%" PRIu64 ".%03us", ms / 1000,
                 (unsigned)(ms % 1000));
    return ns_dump(json_pack("{s:s,s:s}", "instanceId", id, "extendBy", by));
}

char *ns_req_ingress(const char *id, uint32_t port)
{
    char name[32];

    snprintf(name, sizeof name, "port-%" PRIu32, port);
    return ns_dump(json_pack(
        "{s:s,s:[{s:s,s:{s:i},s:[{s:{},s:b}]}]}", "instanceId", id,
        "ingresses", "name", name, "exportedPortBackend", "port", (int)port,
        "httpMatchRule", "match", "doesNotRequireAuth", 1));
}

char *ns_req_run(const char *id, const char *container,
                 const char *const *argv, size_t argc, const csdk_kv_t *env,
                 size_t n_env, const char *cwd)
{
    json_t *o = json_object(), *cmd = json_object(), *a = json_array();
    int bad = o == NULL || cmd == NULL || a == NULL;

    for (size_t i = 0; !bad && i < argc; i++)
        bad = json_array_append_new(a, json_string(argv[i])) != 0;
    bad = bad || json_object_set(cmd, "command", a);
    if (!bad && n_env > 0) {
        json_t *vars = json_array();

        bad = vars == NULL;
        for (size_t i = 0; !bad && i < n_env; i++) {
            if (env[i].key == NULL)
                continue;
            bad = json_array_append_new(
                      vars, json_pack("{s:s,s:s}", "name", env[i].key,
                                      "value",
                                      env[i].value ? env[i].value : "")) != 0;
        }
        bad = bad || json_object_set(cmd, "envVars", vars);
        json_decref(vars);
    }
    if (!bad && cwd != NULL && *cwd != '\0')
        bad = ns_set_str(cmd, "cwd", cwd);
    bad = bad || ns_set_str(o, "instanceId", id) ||
          ns_set_str(o, "targetContainerName", container) ||
          json_object_set(o, "command", cmd);
    json_decref(a);
    json_decref(cmd);
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return ns_dump(o);
}

/* ------------------------------------------------------------------ */
/* Reading replies                                                     */
/* ------------------------------------------------------------------ */

/* o[camel] or o[snake]; NULL when absent or o is not an object. */
static json_t *ns_field(const json_t *o, const char *camel, const char *snake)
{
    json_t *v;

    if (!json_is_object(o))
        return NULL;
    v = json_object_get(o, camel);
    if (v == NULL && snake != NULL)
        v = json_object_get(o, snake);
    return v;
}

/* Why a field is unusable, for messages; NULL when it is fine. */
typedef struct ns_reader {
    const char *bad; /* the field that is wrong, or NULL */
} ns_reader_t;

/* A string field: NULL and no complaint when absent; a copy otherwise. */
static int ns_get_str(ns_reader_t *rd, const json_t *o, const char *camel,
                      const char *snake, char **out)
{
    json_t *v = ns_field(o, camel, snake);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        rd->bad = camel;
        return -1;
    }
    *out = strndup(json_string_value(v), json_string_length(v));
    return *out != NULL ? 0 : -2;
}

/* An int32/int64 field: a JSON number or a numeric string (proto3 JSON
 * writes 64-bit integers as strings).  0 when absent. */
static int ns_get_int(ns_reader_t *rd, const json_t *o, const char *camel,
                      const char *snake, int64_t lo, int64_t hi, int64_t *out)
{
    json_t *v = ns_field(o, camel, snake);
    long long n;
    char *end;

    *out = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (json_is_integer(v)) {
        n = (long long)json_integer_value(v);
    } else if (json_is_string(v) && json_string_length(v) > 0 &&
               json_string_length(v) < 24) {
        n = strtoll(json_string_value(v), &end, 10);
        if (*end != '\0') {
            rd->bad = camel;
            return -1;
        }
    } else {
        rd->bad = camel;
        return -1;
    }
    if (n < lo || n > hi) {
        rd->bad = camel;
        return -1;
    }
    *out = n;
    return 0;
}

static int ns_get_time(ns_reader_t *rd, const json_t *o, const char *camel,
                       const char *snake, int64_t *out)
{
    json_t *v = ns_field(o, camel, snake);

    *out = 0;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v) || (*out = ns_parse_time(json_string_value(v))) < 0) {
        *out = 0;
        rd->bad = camel;
        return -1;
    }
    return 0;
}

/* InstanceMetadata into `in` (fields other than the metadata's are left
 * alone).  0, -1 (rd->bad names the field) or -2 (out of memory). */
static int ns_read_metadata(ns_reader_t *rd, const json_t *m,
                            ns_instance_t *in)
{
    json_t *shape, *labels;
    int64_t v;
    int rc;

    if (!json_is_object(m)) {
        rd->bad = "metadata";
        return -1;
    }
    if ((rc = ns_get_str(rd, m, "instanceId", "instance_id", &in->id)) ||
        (!json_is_integer(ns_field(m, "status", NULL)) &&
         (rc = ns_get_str(rd, m, "status", NULL, &in->status))) ||
        (rc = ns_get_str(rd, m, "documentedPurpose", "documented_purpose",
                         &in->purpose)) ||
        (rc = ns_get_time(rd, m, "createdAt", "created_at", &in->created_ms)) ||
        (rc = ns_get_time(rd, m, "readyAt", "ready_at", &in->ready_ms)) ||
        (rc = ns_get_time(rd, m, "destroyedAt", "destroyed_at",
                          &in->destroyed_ms)) ||
        (rc = ns_get_time(rd, m, "deadline", NULL, &in->deadline_ms)))
        return rc;
    /* Enums may come as numbers (proto3 JSON allows both). */
    if (in->status == NULL && json_is_integer(ns_field(m, "status", NULL))) {
        static const char *const names[] = {
            "STATUS_UNKNOWN", "PENDING", "CREATING", "RUNNING", "DESTROYED",
            "DESTROYING", "SUSPENDING", "SUSPENDED", "ERROR"};
        json_int_t n = json_integer_value(ns_field(m, "status", NULL));

        in->status = strdup(n >= 0 && n < 9 ? names[n] : "STATUS_UNKNOWN");
        if (in->status == NULL)
            return -2;
    }
    if (in->status == NULL && (in->status = strdup("")) == NULL)
        return -2;
    shape = ns_field(m, "shape", NULL);
    if (shape != NULL && !json_is_null(shape)) {
        if (!json_is_object(shape)) {
            rd->bad = "shape";
            return -1;
        }
        if ((rc = ns_get_int(rd, shape, "virtualCpu", "virtual_cpu", 0,
                             INT32_MAX, &v)))
            return rc;
        in->vcpu = (int32_t)v;
        if ((rc = ns_get_int(rd, shape, "memoryMegabytes", "memory_megabytes",
                             0, INT32_MAX, &v)))
            return rc;
        in->memory_mb = (int32_t)v;
        if ((rc = ns_get_str(rd, shape, "machineArch", "machine_arch",
                             &in->machine_arch)) ||
            (rc = ns_get_str(rd, shape, "os", NULL, &in->os)))
            return rc;
    }
    labels = ns_field(m, "labels", NULL);
    if (labels != NULL && !json_is_null(labels)) {
        size_t i;
        json_t *l;

        if (!json_is_array(labels)) {
            rd->bad = "labels";
            return -1;
        }
        json_array_foreach(labels, i, l) {
            json_t *k = ns_field(l, "name", NULL), *val = ns_field(l, "value",
                                                                   NULL);

            if (!json_is_string(k) || (val != NULL && !json_is_string(val))) {
                rd->bad = "labels";
                return -1;
            }
            if (ns_pairs_set(&in->labels, json_string_value(k),
                             val ? json_string_value(val) : "") != 0)
                return -2;
        }
    }
    if (in->id == NULL || *in->id == '\0') {
        rd->bad = "metadata.instanceId";
        return -1;
    }
    return 0;
}

/* Parse `body` as a JSON object; PROTOCOL with an excerpt otherwise. */
static csdk_status_t ns_load(const char *body, size_t len, const char *what,
                             const char *secret, json_t **out, ns_err_t *e)
{
    json_error_t je;
    json_t *o;

    *out = NULL;
    if (body == NULL || len == 0)
        return ns_bad_reply(e, what, "an empty body", "", 0, secret);
    o = json_loadb(body, len, JSON_REJECT_DUPLICATES, &je);
    if (o == NULL) {
        char why[200], text[120];

        /* jansson's text quotes the offending input: make it one
         * printable line without the secret, like any excerpt. */
        ns_excerpt(text, sizeof text, je.text, strlen(je.text),
                   sizeof text - 8, secret);
        snprintf(why, sizeof why, "not JSON: %s at byte %d", text,
                 je.position);
        return ns_bad_reply(e, what, why, body, len, secret);
    }
    if (!json_is_object(o)) {
        json_decref(o);
        return ns_bad_reply(e, what, "not a JSON object", body, len, secret);
    }
    *out = o;
    return CSDK_OK;
}

/* The result of a reader: OK, PROTOCOL naming the field, or NOMEM. */
static csdk_status_t ns_read_result(int rc, const ns_reader_t *rd,
                                    const char *what, const char *body,
                                    size_t len, const char *secret,
                                    ns_err_t *e)
{
    char why[96];

    if (rc == 0)
        return CSDK_OK;
    if (rc == -2) {
        ns_err_set(e, "out of memory reading the reply of %s", what);
        return CSDK_E_NOMEM;
    }
    snprintf(why, sizeof why, "field %s is missing or of the wrong type",
             rd->bad ? rd->bad : "?");
    return ns_bad_reply(e, what, why, body, len, secret);
}

csdk_status_t ns_parse_describe(const char *body, size_t len,
                                const char *what, const char *secret,
                                ns_instance_t *out, ns_err_t *e)
{
    ns_reader_t rd = {NULL};
    json_t *o, *ext;
    csdk_status_t rc;
    int r;

    memset(out, 0, sizeof *out);
    if ((rc = ns_load(body, len, what, secret, &o, e)) != CSDK_OK)
        return rc;
    r = ns_read_metadata(&rd, ns_field(o, "metadata", NULL), out);
    ext = ns_field(o, "extendedMetadata", "extended_metadata");
    if (r == 0 && ext != NULL && !json_is_null(ext) && !json_is_object(ext)) {
        rd.bad = "extendedMetadata";
        r = -1;
    }
    if (r == 0)
        r = ns_get_str(&rd, ext, "commandServiceEndpoint",
                       "command_service_endpoint", &out->endpoint);
    if (r == 0)
        r = ns_get_str(&rd, o, "instanceUrl", "instance_url",
                       &out->instance_url);
    json_decref(o);
    rc = ns_read_result(r, &rd, what, body, len, secret, e);
    if (rc != CSDK_OK)
        ns_instance_free(out);
    return rc;
}

csdk_status_t ns_parse_wait(const char *body, size_t len, const char *secret,
                            ns_instance_t *out, ns_err_t *e)
{
    return ns_parse_describe(body, len, "WaitInstanceSync", secret, out, e);
}

csdk_status_t ns_parse_list(const char *body, size_t len, const char *secret,
                            ns_instance_t **v, size_t *n, char **cursor,
                            ns_err_t *e)
{
    ns_reader_t rd = {NULL};
    json_t *o, *list, *item;
    ns_instance_t *all = NULL;
    size_t i, count = 0;
    csdk_status_t rc;
    int r = 0;

    *v = NULL;
    *n = 0;
    *cursor = NULL;
    if ((rc = ns_load(body, len, "ListInstances", secret, &o, e)) != CSDK_OK)
        return rc;
    list = ns_field(o, "instances", NULL);
    if (list != NULL && !json_is_null(list) && !json_is_array(list)) {
        rd.bad = "instances";
        r = -1;
    }
    if (r == 0 && json_array_size(list) > 0) {
        all = calloc(json_array_size(list), sizeof *all);
        r = all != NULL ? 0 : -2;
    }
    json_array_foreach(list, i, item) {
        if (r != 0)
            break;
        /* Entries are bare InstanceMetadata; tolerate {metadata: ...}
         * as the reference client does. */
        if (json_is_object(item) && ns_field(item, "metadata", NULL) != NULL &&
            ns_field(item, "instanceId", "instance_id") == NULL)
            item = ns_field(item, "metadata", NULL);
        r = ns_read_metadata(&rd, item, &all[count]);
        count++;
    }
    if (r == 0)
        r = ns_get_str(&rd, o, "paginationCursor", "pagination_cursor",
                       cursor);
    json_decref(o);
    rc = ns_read_result(r, &rd, "ListInstances", body, len, secret, e);
    if (rc != CSDK_OK) {
        ns_instances_free(all, count);
        free(*cursor);
        *cursor = NULL;
        return rc;
    }
    *v = all;
    *n = count;
    return CSDK_OK;
}

/* A bytes field (base64) into a malloc'd, NUL-terminated buffer. */
static int ns_get_bytes(ns_reader_t *rd, const json_t *o, const char *name,
                        char **out, size_t *len)
{
    json_t *v = ns_field(o, name, NULL);
    const char *s;
    size_t n;

    *out = NULL;
    *len = 0;
    if (v != NULL && !json_is_null(v) && !json_is_string(v)) {
        rd->bad = name;
        return -1;
    }
    s = v != NULL && json_is_string(v) ? json_string_value(v) : "";
    n = v != NULL && json_is_string(v) ? json_string_length(v) : 0;
    *out = malloc(csdk_b64_decoded_max(n) + 1);
    if (*out == NULL)
        return -2;
    if (csdk_b64_decode(*out, len, s, n) != 0) {
        free(*out);
        *out = NULL;
        rd->bad = name;
        return -1;
    }
    (*out)[*len] = '\0';
    return 0;
}

csdk_status_t ns_parse_run(const char *body, size_t len, const char *secret,
                           ns_run_reply_t *out, ns_err_t *e)
{
    ns_reader_t rd = {NULL};
    json_t *o;
    int64_t code = 0;
    csdk_status_t rc;
    int r;

    memset(out, 0, sizeof *out);
    if ((rc = ns_load(body, len, "RunCommandSync", secret, &o, e)) != CSDK_OK)
        return rc;
    r = ns_get_bytes(&rd, o, "stdout", &out->out, &out->out_len);
    if (r == 0)
        r = ns_get_bytes(&rd, o, "stderr", &out->err, &out->err_len);
    if (r == 0)
        r = ns_get_int(&rd, o, "exitCode", "exit_code", INT32_MIN, INT32_MAX,
                       &code);
    out->exit_code = (int32_t)code;
    json_decref(o);
    rc = ns_read_result(r, &rd, "RunCommandSync", body, len, secret, e);
    if (rc != CSDK_OK)
        ns_run_reply_free(out);
    return rc;
}

csdk_status_t ns_parse_ingress(const char *body, size_t len,
                               const char *secret, char **fqdn, ns_err_t *e)
{
    ns_reader_t rd = {NULL};
    json_t *o, *list, *first;
    csdk_status_t rc;
    int r = 0;

    *fqdn = NULL;
    if ((rc = ns_load(body, len, "CreateIngress", secret, &o, e)) != CSDK_OK)
        return rc;
    list = ns_field(o, "allocatedIngresses", "allocated_ingresses");
    first = json_array_get(list, 0);
    if (!json_is_object(first)) {
        rd.bad = "allocatedIngresses";
        r = -1;
    }
    if (r == 0)
        r = ns_get_str(&rd, first, "fqdn", NULL, fqdn);
    if (r == 0 && (*fqdn == NULL || **fqdn == '\0' ||
                   strspn(*fqdn, "abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-:") !=
                       strlen(*fqdn))) {
        rd.bad = "allocatedIngresses[0].fqdn";
        r = -1;
    }
    json_decref(o);
    rc = ns_read_result(r, &rd, "CreateIngress", body, len, secret, e);
    if (rc != CSDK_OK) {
        free(*fqdn);
        *fqdn = NULL;
    }
    return rc;
}

csdk_status_t ns_parse_extend(const char *body, size_t len,
                              const char *secret, int64_t *deadline_ms,
                              ns_err_t *e)
{
    ns_reader_t rd = {NULL};
    json_t *o;
    csdk_status_t rc;
    int r;

    *deadline_ms = 0;
    if ((rc = ns_load(body, len, "ExtendInstance", secret, &o, e)) != CSDK_OK)
        return rc;
    r = ns_get_time(&rd, o, "newDeadline", "new_deadline", deadline_ms);
    if (r == 0 && *deadline_ms <= 0) {
        /* The reply's one field: without it the deadline is unknown. */
        rd.bad = "newDeadline";
        r = -1;
    }
    json_decref(o);
    rc = ns_read_result(r, &rd, "ExtendInstance", body, len, secret, e);
    if (rc != CSDK_OK)
        *deadline_ms = 0;
    return rc;
}

csdk_status_t ns_parse_empty(const char *body, size_t len, const char *what,
                             const char *secret, ns_err_t *e)
{
    json_t *o;
    csdk_status_t rc = ns_load(body, len, what, secret, &o, e);

    json_decref(o);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

/* A Connect code's status and the advice that goes with it. */
typedef struct ns_code {
    const char *code;
    csdk_status_t status;
    const char *fix;
} ns_code_t;

static const ns_code_t ns_codes[] = {
    {"unauthenticated", CSDK_E_AUTH,
     "the API token is missing, wrong or expired: set a valid one (token = "
     "... in the provider's section, or NSC_TOKEN, or NSC_TOKEN_FILE naming "
     "a JSON file with bearer_token)"},
    {"permission_denied", CSDK_E_AUTH,
     "the API token may not do this: use a token of the workspace that "
     "owns the instances, with a role that may manage compute instances"},
    {"not_found", CSDK_E_NOT_FOUND, NULL},
    {"invalid_argument", CSDK_E_INVALID_ARGUMENT, NULL},
    {"out_of_range", CSDK_E_INVALID_ARGUMENT, NULL},
    {"failed_precondition", CSDK_E_CONFLICT, NULL},
    {"already_exists", CSDK_E_CONFLICT, NULL},
    {"aborted", CSDK_E_CONFLICT, "try again"},
    {"deadline_exceeded", CSDK_E_TIMEOUT,
     "the server gave up at the deadline csdk sent; give the call more time"},
    {"canceled", CSDK_E_CANCELLED, NULL},
    {"unimplemented", CSDK_E_NOT_SUPPORTED,
     "this endpoint does not implement the call: check base_url"},
    {"unavailable", CSDK_E_UNAVAILABLE, "try again later"},
    {"internal", CSDK_E_UNAVAILABLE, "a failure on Namespace's side; try "
                                     "again later"},
    {"unknown", CSDK_E_UNAVAILABLE, "try again later"},
    {"data_loss", CSDK_E_UNAVAILABLE, "try again later"},
    {"resource_exhausted", CSDK_E_QUOTA, NULL}, /* or RATE_LIMITED */
};

/* The status an HTTP status means when the body says nothing (connect's
 * HTTP-to-code table for the rest). */
static csdk_status_t ns_http_status(long s)
{
    switch (s) {
    case 400: return CSDK_E_INVALID_ARGUMENT;
    case 401: case 403: return CSDK_E_AUTH;
    case 404: return CSDK_E_NOT_SUPPORTED;
    case 408: return CSDK_E_TIMEOUT;
    case 409: return CSDK_E_CONFLICT;
    case 429: return CSDK_E_RATE_LIMITED;
    case 499: return CSDK_E_CANCELLED;
    case 501: return CSDK_E_NOT_SUPPORTED;
    default: return s >= 500 ? CSDK_E_UNAVAILABLE : CSDK_E_PROTOCOL;
    }
}

static int ns_mentions(const char *s, const char *word)
{
    return s != NULL && strcasestr(s, word) != NULL;
}

csdk_status_t ns_map_error(long http_status, const char *body, size_t len,
                           const char *content_type, int64_t retry_after_ms,
                           const char *what, const char *secret, ns_err_t *e)
{
    const ns_code_t *c = NULL;
    char code[40] = "", msg[240] = "", after[64] = "";
    csdk_status_t rc;
    json_t *o = NULL;

    e->retry_after_ms = retry_after_ms;
    if (body != NULL && len > 0 && len < ((size_t)1 << 20))
        o = json_loadb(body, len, 0, NULL);
    if (json_is_object(o) && json_is_string(json_object_get(o, "code"))) {
        const char *s = json_string_value(json_object_get(o, "code"));
        json_t *m = json_object_get(o, "message");

        for (size_t i = 0; i < sizeof ns_codes / sizeof ns_codes[0]; i++)
            if (strcmp(s, ns_codes[i].code) == 0)
                c = &ns_codes[i];
        ns_excerpt(code, sizeof code, s, strlen(s), 24, secret);
        if (json_is_string(m))
            ns_excerpt(msg, sizeof msg, json_string_value(m),
                       json_string_length(m), 160, secret);
    }
    json_decref(o);
    rc = c != NULL ? c->status : ns_http_status(http_status);
    if (rc == CSDK_E_QUOTA &&
        (retry_after_ms >= 0 || ns_mentions(msg, "rate") ||
         ns_mentions(msg, "too many requests")))
        rc = CSDK_E_RATE_LIMITED;
    if (rc == CSDK_E_RATE_LIMITED && e->retry_after_ms < 0)
        e->retry_after_ms = 1000; /* the server did not say: a second */
    if (e->retry_after_ms >= 0 &&
        (rc == CSDK_E_RATE_LIMITED || rc == CSDK_E_UNAVAILABLE))
        snprintf(after, sizeof after, "; retry after %" PRId64 " ms",
                 e->retry_after_ms);
    if (code[0] == '\0') {
        /* No Connect error body: a proxy, or not the API at all. */
        char ex[NS_EXCERPT * 4 + 8];

        ns_excerpt(ex, sizeof ex, body ? body : "", len, NS_EXCERPT, secret);
        if (rc == CSDK_E_PROTOCOL || http_status == 404)
            rc = http_status == 404 || http_status == 405 ||
                         http_status == 415
                     ? CSDK_E_CONFIG
                     : CSDK_E_PROTOCOL;
        ns_err_set(e, "Namespace %s: HTTP %ld (%s%s%s)%s%s", what,
                   http_status,
                   content_type ? content_type : "no content type",
                   ex[0] ? ": " : "", ex, after,
                   rc == CSDK_E_CONFIG
                       ? "; this is not Namespace's compute API: check "
                         "base_url"
                   : rc == CSDK_E_AUTH ? "; check the API token"
                                       : "");
        return rc;
    }
    if (rc == CSDK_E_QUOTA)
        ns_err_set(e, "Namespace %s: an account limit was reached (HTTP %ld "
                   "%s: %s); destroy sandboxes you no longer need (csdk "
                   "list) or raise the workspace's limits",
                   what, http_status, code, msg);
    else if (rc == CSDK_E_RATE_LIMITED)
        ns_err_set(e, "Namespace %s: rate limited (HTTP %ld %s: %s)%s", what,
                   http_status, code, msg, after);
    else
        ns_err_set(e, "Namespace %s: HTTP %ld %s: %s%s%s%s", what,
                   http_status, code, msg[0] ? msg : "(no message)", after,
                   c != NULL && c->fix ? "; " : "",
                   c != NULL && c->fix ? c->fix : "");
    return rc;
}
