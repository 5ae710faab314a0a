/*
 * plugins/local/proto.h - the wire protocol between the local provider
 * (in the host process) and its in-sandbox agent (the sandbox's init).
 *
 * Transport: a SOCK_STREAM unix socket.  The plugin creates, binds and
 * listens on STATE/ctl.sock before it starts bubblewrap and hands the
 * listening fd to the agent (it is never bound inside the sandbox, so
 * sandboxed code cannot reach it).  Each request is one connection:
 *
 *   plugin -> agent   one request frame, with file descriptors attached
 *                     (SCM_RIGHTS) on the frame's first byte
 *   agent  -> plugin  one or more reply frames; the last is EXITED, OK or
 *                     ERROR (STARTED for a background command); then the
 *                     agent closes the connection
 *
 * Closing the connection early (the plugin's caller cancelled) makes the
 * agent kill a foreground command's whole process tree.  Only a full close
 * counts: shutdown(SHUT_WR) after the request cancels nothing.
 *
 * Frame: a fixed header then `nfields` fields, all little-endian:
 *   uint32 magic (PROTO_MAGIC)  uint16 version (PROTO_VERSION)
 *   uint16 type (PROTO_REQ_* / PROTO_REP_*)  uint32 nfields
 *   field: uint16 key (PROTO_F_*)  uint16 reserved (0)  uint32 len  bytes
 * Limits: at most PROTO_MAX_FIELDS fields and PROTO_MAX_FRAME bytes per
 * frame; a receiver rejects anything else as a protocol error.  Integers
 * in fields are decimal ASCII; strings are not NUL-terminated on the wire.
 * Unknown field keys are ignored (forward compatibility).
 *
 * Requests:
 *   PROTO_REQ_PING       -> OK.  Liveness.
 *   PROTO_REQ_EXEC       fields ARGV (one per argument, >= 1), ENV
 *                        ("K=V", repeated), CWD, TIMEOUT_MS, FLAGS
 *                        (PROTO_EXEC_*), LIMIT_* (optional per-command
 *                        rlimits); fds: [stdin-read, stdout-write,
 *                        stderr-write] for a foreground command, none for a
 *                        background one (the agent writes its output to
 *                        /run/csdk/logs/<pid>.out and .err).
 *                        -> STARTED (PID) then, for a foreground command,
 *                        EXITED (EXIT_CODE, SIGNAL, FLAGS, DURATION_MS).
 *                        A command that cannot start is EXITED as a shell
 *                        reports it, the reason written to its stderr:
 *                        127 not found, 126 not executable, 1 bad CWD.
 *                        One that cannot even be forked is ERROR QUOTA
 *                        naming the process limit (PIDS_LIMIT, optional,
 *                        is only for that message).  A command that kills
 *                        its shepherd is EXITED 137 (SIGNAL 9), its tree
 *                        killed.
 *   PROTO_REQ_KILL       fields PID, SIGNAL (optional, default SIGKILL)
 *                        -> OK or ERROR.  Kills that command's whole tree
 *                        (background commands too).
 *   PROTO_REQ_SHUTDOWN   -> OK, then the agent kills every process of the
 *                        sandbox and exits (the namespace goes with it).
 *   PROTO_REQ_EXTEND     field EXPIRES_MS (absolute, wall clock) -> OK.
 *                        The agent shuts the sandbox down at its expiry.
 *
 * Replies: PROTO_REP_OK, PROTO_REP_STARTED (PID), PROTO_REP_EXITED,
 * PROTO_REP_ERROR (STATUS: a csdk_status_t, MESSAGE).
 */
#ifndef CSDK_LOCAL_PROTO_H
#define CSDK_LOCAL_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define PROTO_MAGIC 0x6b647363u /* "csdk" */
#define PROTO_VERSION 1
#define PROTO_MAX_FIELDS 4096
#define PROTO_MAX_FRAME (16u << 20)
#define PROTO_MAX_FDS 3

#define PROTO_REQ_PING 1
#define PROTO_REQ_EXEC 2
#define PROTO_REQ_KILL 3
#define PROTO_REQ_SHUTDOWN 4
#define PROTO_REQ_EXTEND 5

#define PROTO_REP_OK 100
#define PROTO_REP_STARTED 101
#define PROTO_REP_EXITED 102
#define PROTO_REP_ERROR 103

#define PROTO_F_ARGV 1
#define PROTO_F_ENV 2
#define PROTO_F_CWD 3
#define PROTO_F_TIMEOUT_MS 4
#define PROTO_F_FLAGS 5
#define PROTO_F_PID 6
#define PROTO_F_SIGNAL 7
#define PROTO_F_EXIT_CODE 8
#define PROTO_F_DURATION_MS 9
#define PROTO_F_STATUS 10
#define PROTO_F_MESSAGE 11
#define PROTO_F_EXPIRES_MS 12
#define PROTO_F_LIMIT_FSIZE 13  /* bytes */
#define PROTO_F_LIMIT_NOFILE 14
#define PROTO_F_LIMIT_CPU_S 15  /* RLIMIT_CPU seconds */
#define PROTO_F_LIMIT_AS 16     /* bytes; used when no memory cgroup */
#define PROTO_F_PIDS_LIMIT 17   /* the sandbox's process limit, for messages */

/* PROTO_F_FLAGS bits of EXEC. */
#define PROTO_EXEC_BACKGROUND 0x1u
/* PROTO_F_FLAGS bits of EXITED. */
#define PROTO_EXITED_TIMED_OUT 0x1u

/* A decoded frame.  Field values point into the frame's buffer. */
typedef struct proto_field {
    uint16_t key;
    uint32_t len;
    const char *val;
} proto_field_t;

typedef struct proto_frame {
    uint16_t type;
    uint32_t nfields;
    proto_field_t *fields; /* owned by the frame */
    char *buf;             /* owned by the frame */
    int fds[PROTO_MAX_FDS];
    int nfds;
} proto_frame_t;

/* Building a frame to send: append fields, then proto_send. */
typedef struct proto_builder {
    char *buf;
    size_t len, cap;
    uint32_t nfields;
    int failed; /* out of memory or too big */
} proto_builder_t;

void proto_begin(proto_builder_t *b, uint16_t type);
void proto_add(proto_builder_t *b, uint16_t key, const void *val, size_t len);
void proto_add_str(proto_builder_t *b, uint16_t key, const char *s);
void proto_add_u64(proto_builder_t *b, uint16_t key, uint64_t v);
void proto_add_i64(proto_builder_t *b, uint16_t key, int64_t v);
void proto_builder_free(proto_builder_t *b);

/* Send the built frame with `nfds` descriptors attached.  Returns 0 or -1
 * with errno set (EMSGSIZE when the frame is too big, ENOMEM). */
int proto_send(int sock, proto_builder_t *b, const int *fds, int nfds);

/*
 * Receive one frame (blocking; EINTR retried).  Returns 1 with *f filled,
 * 0 on a clean EOF before any byte, -1 on error with errno set (EPROTO for
 * a malformed frame).  Received fds are O_CLOEXEC.  Free with
 * proto_frame_free (which closes fds still in f->fds).
 */
int proto_recv(int sock, proto_frame_t *f);
void proto_frame_free(proto_frame_t *f);

/* Parse a frame already read into memory (no fds): the fuzz target's
 * entry.  Takes ownership of `buf` (malloc'd, `len` bytes).  Returns 0 or
 * -1 (EPROTO). */
int proto_parse(char *buf, size_t len, proto_frame_t *f);

/* Field lookups. */
const proto_field_t *proto_get(const proto_frame_t *f, uint16_t key);
/* Copy a field into a malloc'd NUL-terminated string; NULL if absent or
 * if it holds a NUL byte. */
char *proto_strdup(const proto_field_t *fld);
/* Parse a decimal field; returns 0, or -1 if absent or malformed. */
int proto_u64(const proto_frame_t *f, uint16_t key, uint64_t *out);
int proto_i64(const proto_frame_t *f, uint16_t key, int64_t *out);

#endif
