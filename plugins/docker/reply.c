/* Pure readers of the Engine API's JSON replies (reply.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker.h"
#include "reply.h"

static int64_t label_int(json_t *labels, const char *key)
{
    const char *s = json_string_value(json_object_get(labels, key));
    long long v = s ? strtoll(s, NULL, 10) : 0;

    return v > 0 ? v : 0;
}

int dk_parse_record(json_t *j, int list_entry, dk_record_t *r)
{
    json_t *labels, *state;
    const char *id = json_string_value(json_object_get(j, "Id"));
    size_t n;

    memset(r, 0, sizeof *r);
    if (!id || (n = strlen(id)) < 12 ||
        strspn(id, "0123456789abcdef") < 12)
        return -1;
    memcpy(r->id, id, 12);
    labels = list_entry ? json_object_get(j, "Labels")
                        : json_object_get(json_object_get(j, "Config"),
                                          "Labels");
    if (!json_is_object(labels) ||
        !json_is_string(json_object_get(labels, DK_LABEL)))
        return -1;
    r->labels = labels;
    state = list_entry ? json_object_get(j, "State")
                       : json_object_get(json_object_get(j, "State"),
                                         "Status");
    r->state = json_string_value(state);
    r->runtime = json_string_value(json_object_get(labels, DK_LABEL_RUNTIME));
    r->ns = json_string_value(json_object_get(labels, DK_LABEL_NS));
    r->name = json_string_value(json_object_get(labels, DK_LABEL_NAME));
    /* A template keeps the labels of the container it was made from, and
     * labels cannot be removed: saving blanks them, so "" means absent. */
    if (!r->ns || !r->name || !*r->name)
        r->ns = r->name = NULL;
    r->created_ms = label_int(labels, DK_LABEL_CREATED);
    r->timeout_ms = label_int(labels, DK_LABEL_TIMEOUT);
    return 0;
}

const char *dk_status_word(const char *s)
{
    if (!s)
        return "unknown";
    if (!strcmp(s, "running") || !strcmp(s, "restarting"))
        return "running";
    if (!strcmp(s, "created") || !strcmp(s, "configured") ||
        !strcmp(s, "initialized"))
        return "creating";
    if (!strcmp(s, "paused"))
        return "paused";
    return "stopped";
}

int dk_record_expired(const dk_record_t *r, uint64_t now_ms)
{
    return r->state && strcmp(r->state, "running") && r->timeout_ms > 0 &&
           (uint64_t)(r->created_ms + r->timeout_ms) <= now_ms;
}

void dk_parse_message(const char *body, size_t n, char *out, size_t outlen)
{
    json_t *j = body && n ? json_loadb(body, n, 0, NULL) : NULL;
    const char *s = json_string_value(json_object_get(j, "message"));
    size_t len, i;

    if (!outlen)
        return;
    if (s) {
        len = strlen(s);
    } else {
        s = body ? body : "";
        len = body ? strnlen(body, n) : 0;
    }
    if (!len) {
        s = "(no message)";
        len = strlen(s);
    }
    if (len >= outlen)
        len = outlen - 1;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = c < 32 || c == 127 ? ' ' : (char)c;
    }
    while (i > 0 && out[i - 1] == ' ')
        i--;
    out[i] = '\0';
    json_decref(j);
}

int dk_parse_exec_state(json_t *j, int *running, int64_t *exit_code)
{
    json_t *r = json_object_get(j, "Running");
    json_t *ec = json_object_get(j, "ExitCode");

    if (!json_is_boolean(r))
        return -1;
    *running = json_is_true(r);
    *exit_code = json_is_integer(ec) ? (int64_t)json_integer_value(ec) : -1;
    return 0;
}

int dk_parse_pull_line(const char *line, size_t n, json_t **hold,
                       const char **error, const char **status,
                       const char **id)
{
    json_t *j = json_loadb(line, n, 0, NULL);

    *hold = j;
    *error = *status = *id = NULL;
    if (!json_is_object(j))
        return -1;
    *error = json_string_value(json_object_get(j, "error"));
    *status = json_string_value(json_object_get(j, "status"));
    *id = json_string_value(json_object_get(j, "id"));
    return 0;
}

void dk_parse_port(json_t *inspect, unsigned port, const char **host_ip,
                   const char **host_port, const char **ip)
{
    json_t *ns = json_object_get(inspect, "NetworkSettings"), *b, *net;
    char key[24];
    const char *k;

    *host_ip = *host_port = *ip = NULL;
    snprintf(key, sizeof key, "%u/tcp", port);
    b = json_array_get(json_object_get(json_object_get(ns, "Ports"), key), 0);
    *host_port = json_string_value(json_object_get(b, "HostPort"));
    if (*host_port && **host_port) {
        *host_ip = json_string_value(json_object_get(b, "HostIp"));
        return;
    }
    *host_port = NULL;
    json_object_foreach(json_object_get(ns, "Networks"), k, net) {
        const char *a = json_string_value(json_object_get(net, "IPAddress"));
        if (a && *a) {
            *ip = a;
            return;
        }
    }
}
