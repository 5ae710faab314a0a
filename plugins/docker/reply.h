/* Pure readers of the Engine API's JSON replies: no I/O and no host, so
 * they are unit-tested on canned replies and fuzzed
 * (tests/docker/fuzz_docker_reply.c).  Every field is checked for its
 * type; a reply of the wrong shape yields defaults or -1, never a crash.
 * Strings in results are borrowed from the json_t they came from. */
#ifndef CSDK_DOCKER_REPLY_H
#define CSDK_DOCKER_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

/* A sandbox as a container describes it (inspect or list entry). */
typedef struct dk_record {
    char id[13];         /* the short id (12 hex digits) */
    const char *state;   /* the engine's state: "running", "exited"... */
    const char *runtime; /* label, or NULL */
    const char *ns, *name; /* named sandboxes' labels, or NULL */
    int64_t created_ms, timeout_ms;
    json_t *labels;      /* all labels (an object), or NULL */
} dk_record_t;

/* From GET /containers/{id}/json (list_entry = 0) or one element of GET
 * /containers/json (list_entry = 1).  Returns 0 for a csdk container, -1
 * for anything else (no id, not labelled csdk). */
int dk_parse_record(json_t *j, int list_entry, dk_record_t *r);

/* "running", "stopped", "creating", "paused" or "unknown". */
const char *dk_status_word(const char *engine_state);

/* Nonzero when r stopped after its lifetime, at now_ms. */
int dk_record_expired(const dk_record_t *r, uint64_t now_ms);

/* The message of an error body ({"message": ...} from Docker and Podman,
 * else the text), one line of at most outlen - 1 bytes. */
void dk_parse_message(const char *body, size_t n, char *out, size_t outlen);

/* GET /exec/{id}/json: 0 with *running and *exit_code (-1 when the engine
 * gave none), -1 when the reply has no Running field. */
int dk_parse_exec_state(json_t *j, int *running, int64_t *exit_code);

/* One line of an image pull's progress stream: its "error" (or NULL) and
 * "status" and "id" (or NULL).  Returns -1 when the line is not a JSON
 * object; the json_t to release is returned in *hold. */
int dk_parse_pull_line(const char *line, size_t n, json_t **hold,
                       const char **error, const char **status,
                       const char **id);

/* Where port/tcp of an inspected container is reachable: the published
 * host ip and port (*host_port non-NULL), else the container's first
 * network address (*ip non-NULL), else both NULL. */
void dk_parse_port(json_t *inspect, unsigned port, const char **host_ip,
                   const char **host_port, const char **ip);

#endif
