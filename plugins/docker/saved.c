/*
 * plugins/docker/saved.c - templates and snapshots as images.
 *
 * Saving is POST /commit of the sandbox's container (paused meanwhile, so
 * the files are consistent), tagged csdk-saved:KIND-<16 hex> so the image
 * is never dangling (an image prune does not take it), and labelled:
 *   io.csdk.saved       "template" or "snapshot"
 *   io.csdk.saved_name  the caller's name ("" when none), with '%', '"',
 *                       '\', '$' and control characters percent-encoded
 *                       (see below)
 *   io.csdk.instance    the provider instance that made it
 *   io.csdk.created_ms  when it was made
 * The id reported is the image id without "sha256:": 64 lowercase hex
 * digits, which create's template_id takes as the image to run.
 *
 * Labels.  An image keeps the container's labels, and a container made
 * from it inherits them; no Engine API call removes a label.  So every
 * other io.csdk.* label of the source (the sandbox marker, its name and
 * namespace, lifetime, metadata) is set to "" on the image, except the
 * runtime, which a sandbox made from it keeps (as with the local
 * provider).  create sets its own values over these; a label that is ""
 * means "none".  Docker takes labels from the commit body; Podman (4.3)
 * ignores the body's and needs a `changes` entry "LABEL key=value" per
 * label, which it does not unescape (Docker does), hence the encoding of
 * names and the keys it cannot carry: a metadata key holding '"', '=',
 * '\', '$' or a control character is left on a Podman image as it was.
 *
 * Deleting is DELETE /images/{id} without force.  An image that a sandbox
 * (running or stopped) or another saved image was made from cannot go:
 * that is CSDK_E_CONFLICT saying so, rather than forcing, which would
 * untag it and leave its layers to whoever still uses it, unlisted and
 * never freed.  Destroy the sandboxes made from it first.
 *
 * Threads: one call at a time per instance, as every slot here.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"

#define SV_REPO "csdk-saved"
#define SV_NAME_MAX 256

/* ------------------------------------------------------------------ */
/* Pure helpers                                                        */
/* ------------------------------------------------------------------ */

/* Whether a byte can stand inside a quoted LABEL value of both engines
 * (Docker unescapes '\\' and expands '$', Podman does neither). */
static int sv_quotable(unsigned char c)
{
    return c >= 0x20 && c != 0x7f && c != '"' && c != '\\' && c != '$';
}

/* Whether sv_encode encodes a byte: what is not quotable, and '%'. */
static int sv_unsafe(unsigned char c)
{
    return !sv_quotable(c) || c == '%';
}

/* The label value for a name: unsafe bytes as %XX.  malloc'd, or NULL. */
static char *sv_encode(const char *name)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = strlen(name);
    char *out = malloc(n * 3 + 1), *o = out;

    if (!out)
        return NULL;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
        if (sv_unsafe(*p)) {
            *o++ = '%';
            *o++ = hex[*p >> 4];
            *o++ = hex[*p & 15];
        } else {
            *o++ = (char)*p;
        }
    }
    *o = '\0';
    return out;
}

static int sv_hexval(char c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'A' && c <= 'F' ? c - 'A' + 10
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
}

/* Reverses sv_encode (a '%' not followed by two hex digits, or encoding
 * a NUL, is kept as it is).  malloc'd, or NULL. */
static char *sv_decode(const char *value)
{
    char *out = malloc(strlen(value) + 1), *o = out;

    if (!out)
        return NULL;
    for (const char *p = value; *p; p++) {
        int hi, lo;
        if (*p == '%' && (hi = sv_hexval(p[1])) >= 0 &&
            (lo = sv_hexval(p[2])) >= 0 && (hi || lo)) {
            *o++ = (char)(hi << 4 | lo);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return out;
}

/* An image id as the engines write it ("sha256:" + 64 hex, or the bare
 * 64 hex), as the 64 hex digits; NULL when it is not one. */
static const char *sv_image_hex(const char *id)
{
    if (id && !strncmp(id, "sha256:", 7))
        id += 7;
    if (!id || strlen(id) != 64 || strspn(id, "0123456789abcdef") != 64)
        return NULL;
    return id;
}

/* A label value that is a decimal integer, else -1. */
static int64_t sv_label_int(json_t *labels, const char *key)
{
    const char *s = json_string_value(json_object_get(labels, key));
    char *end;
    long long v;

    if (!s || !*s)
        return -1;
    v = strtoll(s, &end, 10);
    return *end || v < 0 ? -1 : (int64_t)v;
}

/* ------------------------------------------------------------------ */
/* Commit                                                              */
/* ------------------------------------------------------------------ */

/* The labels the image gets: the source's io.csdk.* blanked (but the
 * runtime), then ours. */
static json_t *sv_labels(dk_state_t *st, json_t *src, const char *kind,
                         const char *name_value, uint64_t now_ms)
{
    json_t *labels = json_object(), *v;
    const char *k;
    char created[24];

    if (!labels)
        return NULL;
    json_object_foreach(src, k, v) {
        if (!strncmp(k, "io.csdk.", 8) && strcmp(k, DK_LABEL_RUNTIME) &&
            json_object_set_new(labels, k, json_string("")))
            goto fail;
    }
    snprintf(created, sizeof created, "%llu", (unsigned long long)now_ms);
    if (json_object_set_new(labels, DK_LABEL_SAVED, json_string(kind)) ||
        json_object_set_new(labels, DK_LABEL_SAVED_NAME,
                            json_string(name_value)) ||
        json_object_set_new(labels, DK_LABEL_INSTANCE,
                            json_string(st->name ? st->name : "")) ||
        json_object_set_new(labels, DK_LABEL_CREATED, json_string(created)))
        goto fail;
    return labels;
fail:
    json_decref(labels);
    return NULL;
}

/* Whether a label key can travel in a Podman `changes` LABEL. */
static int sv_key_ok(const char *k)
{
    for (const unsigned char *p = (const unsigned char *)k; *p; p++)
        if (!sv_quotable(*p) || *p == '=' || *p == ' ')
            return 0;
    return *k != '\0';
}

/* The query of POST /commit: container, repo, tag, pause, and for Podman
 * one `changes` per label (values are safe: sv_encode'd or ours, and
 * quoted). */
static char *sv_commit_query(dk_state_t *st, const char *cid,
                             const char *tag, json_t *labels)
{
    char *q = dk_printf("/commit?container=%s&repo=" SV_REPO "&tag=%s"
                        "&pause=1&author=csdk", cid, tag);
    const char *k;
    json_t *v;

    if (!q || !st->podman)
        return q;
    json_object_foreach(labels, k, v) {
        char *change, *esc, *grown;
        const char *val = json_string_value(v);

        if (!val || !sv_key_ok(k))
            continue;
        for (const char *p = val; *p; p++)
            if (!sv_quotable((unsigned char)*p))
                val = ""; /* a source label we could not quote: blank */
        if (!(change = dk_printf("LABEL %s=\"%s\"", k, val)) ||
            !(esc = csdk_http_escape(change))) {
            free(change);
            free(q);
            return NULL;
        }
        grown = dk_printf("%s&changes=%s", q, esc);
        free(change);
        free(esc);
        free(q);
        if (!(q = grown))
            return NULL;
    }
    return q;
}

static const char *sv_kind_name(int snapshot)
{
    return snapshot ? "snapshot" : "template";
}

static csdk_status_t sv_check_name(dk_state_t *st, csdk_call_t *call,
                                   const char *kind, const char *name)
{
    if (name && strlen(name) > SV_NAME_MAX)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "a %s name is at most %d bytes", kind,
                               SV_NAME_MAX);
    return CSDK_OK;
}

static csdk_status_t sv_create(dk_state_t *st, csdk_call_t *call,
                               const char *sandbox_id, const char *name,
                               int snapshot)
{
    const char *kind = sv_kind_name(snapshot), *cid, *hex;
    json_t *inspect = NULL, *labels = NULL, *body = NULL, *reply = NULL;
    char tag[64], rnd[17], *enc = NULL, *path = NULL, *what = NULL;
    uint64_t now = st->host->now_ms();
    csdk_status_t rc;

    if ((rc = sv_check_name(st, call, kind, name)) != CSDK_OK)
        return rc;
    if ((rc = dk_inspect(st, call, sandbox_id, &inspect)) != CSDK_OK)
        return rc;
    cid = json_string_value(json_object_get(inspect, "Id"));
    if (!cid || strlen(cid) != 64 || strspn(cid, "0123456789abcdef") != 64) {
        rc = st->host->error(call, CSDK_E_PROTOCOL, "sandbox %s: the "
                             "engine's inspect has no container id",
                             sandbox_id);
        goto out;
    }
    dk_random_hex(rnd, 16);
    snprintf(tag, sizeof tag, "%s-%s", kind, rnd);
    if (!(enc = sv_encode(name ? name : "")) ||
        !(labels = sv_labels(st, json_object_get(json_object_get(inspect,
                                                                 "Config"),
                                                 "Labels"),
                             kind, enc, now)) ||
        !(body = json_pack("{s:O}", "Labels", labels)) ||
        !(path = sv_commit_query(st, cid, tag, labels)) ||
        !(what = dk_printf("%s of sandbox %s", kind, sandbox_id))) {
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
        goto out;
    }
    rc = dk_json(st, call, "POST", path, body, &reply, what, "404,409",
                 NULL);
    if (rc == CSDK_E_NOT_FOUND) {
        rc = st->host->error(call, rc, "no sandbox %s (removed meanwhile)",
                             sandbox_id);
        goto out;
    }
    if (rc == CSDK_E_CONFLICT) {
        rc = st->host->error(call, rc, "cannot save a %s of sandbox %s now "
                             "(it is being paused, removed or saved "
                             "already); retry", kind, sandbox_id);
        goto out;
    }
    if (rc != CSDK_OK)
        goto out;
    if (!(hex = sv_image_hex(json_string_value(json_object_get(reply,
                                                               "Id"))))) {
        rc = st->host->error(call, CSDK_E_PROTOCOL, "%s: the engine's "
                             "commit reply has no image id", what);
        goto out;
    }
    if (st->host->set_str(call, CSDK_F_ID, hex) ||
        (name && st->host->set_str(call, CSDK_F_NAME, name)) ||
        st->host->set_int(call, CSDK_F_CREATED_MS, (int64_t)now))
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
out:
    json_decref(inspect);
    json_decref(labels);
    json_decref(body);
    json_decref(reply);
    free(enc);
    free(path);
    free(what);
    return rc;
}

/* ------------------------------------------------------------------ */
/* List and delete                                                     */
/* ------------------------------------------------------------------ */

static csdk_status_t sv_report(dk_state_t *st, csdk_call_t *call,
                               json_t *img)
{
    const csdk_host_t *h = st->host;
    json_t *labels = json_object_get(img, "Labels");
    const char *hex = sv_image_hex(json_string_value(json_object_get(img,
                                                                     "Id")));
    const char *name = json_string_value(json_object_get(labels,
                                                         DK_LABEL_SAVED_NAME));
    json_t *created = json_object_get(img, "Created");
    int64_t ms = sv_label_int(labels, DK_LABEL_CREATED);
    const char *inst = json_string_value(json_object_get(labels,
                                                         DK_LABEL_INSTANCE));
    int32_t failed;
    char *plain = NULL;

    if (!hex || !inst || strcmp(inst, st->name ? st->name : ""))
        return CSDK_OK; /* not an image id, or another instance's */
    if (ms < 0 && json_is_integer(created) && json_integer_value(created) > 0)
        ms = json_integer_value(created) * 1000;
    failed = h->next_record(call);
    failed |= h->set_str(call, CSDK_F_ID, hex);
    if (name && *name) {
        if (!(plain = sv_decode(name)))
            failed = 1;
        else
            failed |= h->set_str(call, CSDK_F_NAME, plain);
    }
    if (ms >= 0)
        failed |= h->set_int(call, CSDK_F_CREATED_MS, ms);
    free(plain);
    return failed ? h->error(call, CSDK_E_NOMEM, "out of memory") : CSDK_OK;
}

static csdk_status_t sv_list(dk_state_t *st, csdk_call_t *call, int snapshot)
{
    const char *kind = sv_kind_name(snapshot);
    char *saved = dk_printf(DK_LABEL_SAVED "=%s", kind);
    json_t *filters = NULL, *reply = NULL, *img;
    char *text = NULL, *esc = NULL, *path = NULL;
    csdk_status_t rc = CSDK_OK;
    size_t i;

    /* One label filter: Podman 4.3 matches nothing given two.  The
     * instance is checked here (sv_report). */
    if (!saved || !(filters = json_pack("{s:[s]}", "label", saved)) ||
        !(text = json_dumps(filters, JSON_COMPACT)) ||
        !(esc = csdk_http_escape(text)) ||
        !(path = dk_printf("/images/json?filters=%s", esc))) {
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
        goto out;
    }
    rc = dk_json(st, call, "GET", path, NULL, &reply, "listing images",
                 NULL, NULL);
    if (rc == CSDK_OK && !json_is_array(reply))
        rc = st->host->error(call, CSDK_E_PROTOCOL, "listing %ss: the "
                             "engine's image list is not an array", kind);
    json_array_foreach(reply, i, img) {
        if (rc != CSDK_OK)
            break;
        if (json_is_object(img))
            rc = sv_report(st, call, img);
    }
out:
    free(saved);
    free(text);
    free(esc);
    free(path);
    json_decref(filters);
    json_decref(reply);
    return rc;
}

static csdk_status_t sv_delete(dk_state_t *st, csdk_call_t *call,
                               const char *id, int snapshot)
{
    const char *kind = sv_kind_name(snapshot), *hex, *lk, *li;
    json_t *img = NULL, *labels;
    char *path = NULL, *what = NULL;
    size_t n = id ? strlen(id) : 0;
    csdk_status_t rc;

    if (n < 12 || n > 64 || strspn(id, "0123456789abcdef") != n)
        return st->host->error(call, CSDK_E_NOT_FOUND, "no %s '%s' (ids are "
                               "12-64 lowercase hex digits)", kind,
                               id ? id : "");
    /* A full id goes as "sha256:HEX": Podman answers 500 (not 404) for
     * a bare 64-hex name it does not have. */
    if (!(path = dk_printf("/images/%s%s/json", n == 64 ? "sha256:" : "",
                           id)) ||
        !(what = dk_printf("%s %s", kind, id))) {
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
        goto out;
    }
    rc = dk_json(st, call, "GET", path, NULL, &img, what, "404", NULL);
    labels = json_object_get(json_object_get(img, "Config"), "Labels");
    lk = json_string_value(json_object_get(labels, DK_LABEL_SAVED));
    li = json_string_value(json_object_get(labels, DK_LABEL_INSTANCE));
    hex = sv_image_hex(json_string_value(json_object_get(img, "Id")));
    if (rc == CSDK_E_NOT_FOUND ||
        (rc == CSDK_OK && (!lk || strcmp(lk, kind) || !hex ||
                           (li && st->name && strcmp(li, st->name))))) {
        rc = st->host->error(call, CSDK_E_NOT_FOUND, "no %s %s", kind, id);
        goto out;
    }
    if (rc != CSDK_OK)
        goto out;
    free(path);
    if (!(path = dk_printf("/images/sha256:%s", hex))) {
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
        goto out;
    }
    rc = dk_json(st, call, "DELETE", path, NULL, NULL, what, "404,409", NULL);
    if (rc == CSDK_E_NOT_FOUND)
        rc = st->host->error(call, rc, "no %s %s", kind, id);
    else if (rc == CSDK_E_CONFLICT)
        rc = st->host->error(call, rc, "%s %s is in use: a sandbox (running "
                             "or stopped) or another template or snapshot "
                             "was made from it; destroy those first, then "
                             "delete it", kind, id);
out:
    json_decref(img);
    free(path);
    free(what);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The slots                                                           */
/* ------------------------------------------------------------------ */

csdk_status_t dk_template_create(void *state, csdk_call_t *call,
                                 const char *sandbox_id, const char *name)
{
    return sv_create(state, call, sandbox_id, name, 0);
}

csdk_status_t dk_template_list(void *state, csdk_call_t *call)
{
    return sv_list(state, call, 0);
}

csdk_status_t dk_template_delete(void *state, csdk_call_t *call,
                                 const char *id)
{
    return sv_delete(state, call, id, 0);
}

csdk_status_t dk_snapshot_create(void *state, csdk_call_t *call,
                                 const char *sandbox_id, const char *name)
{
    return sv_create(state, call, sandbox_id, name, 1);
}

csdk_status_t dk_snapshot_list(void *state, csdk_call_t *call)
{
    return sv_list(state, call, 1);
}

csdk_status_t dk_snapshot_delete(void *state, csdk_call_t *call,
                                 const char *id)
{
    return sv_delete(state, call, id, 1);
}
