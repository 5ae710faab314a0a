/*
 * plugins/local/proto.c - the wire format between the local provider and
 * its in-sandbox agent (see proto.h for the contract).
 *
 * Three layers:
 *  - the builder appends fields to a buffer that already holds the header;
 *  - proto_parse turns bytes into a frame and is the single place where a
 *    frame is validated (proto_recv reads exactly one frame's bytes and
 *    hands them to proto_parse), so the fuzz target covers every check;
 *  - proto_send / proto_recv move one frame over a stream socket, with the
 *    file descriptors riding on the frame's first byte.
 *
 * This file is linked into both the plugin (a shared object inside a host
 * process) and the agent (pid 1 of a sandbox), so it has no global state,
 * never raises signals (MSG_NOSIGNAL) and never prints.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "proto.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#define HDR_LEN 12u   /* magic(4) version(2) type(2) nfields(4) */
#define FHDR_LEN 8u   /* key(2) reserved(2) len(4) */
#define INIT_CAP 512u

/* ------------------------------------------------------------------ */
/* Little-endian helpers (the wire is little-endian on every host).     */
/* ------------------------------------------------------------------ */

static void put16(char *p, uint16_t v)
{
    unsigned char *u = (unsigned char *)p;
    u[0] = (unsigned char)(v & 0xff);
    u[1] = (unsigned char)(v >> 8);
}

static void put32(char *p, uint32_t v)
{
    unsigned char *u = (unsigned char *)p;
    for (int i = 0; i < 4; i++)
        u[i] = (unsigned char)(v >> (8 * i));
}

static uint16_t get16(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint16_t)(u[0] | (u[1] << 8));
}

static uint32_t get32(const char *p)
{
    const unsigned char *u = (const unsigned char *)p;
    return (uint32_t)u[0] | (uint32_t)u[1] << 8 | (uint32_t)u[2] << 16 |
           (uint32_t)u[3] << 24;
}

static void frame_reset(proto_frame_t *f)
{
    memset(f, 0, sizeof *f);
    for (int i = 0; i < PROTO_MAX_FDS; i++)
        f->fds[i] = -1;
}

/* ------------------------------------------------------------------ */
/* Building                                                             */
/* ------------------------------------------------------------------ */

/* `b` is treated as uninitialised: proto_begin never frees a previous
 * buffer.  On allocation failure the builder is marked failed and every
 * later call is a no-op until proto_send reports ENOMEM. */
void proto_begin(proto_builder_t *b, uint16_t type)
{
    memset(b, 0, sizeof *b);
    b->buf = malloc(INIT_CAP);
    if (!b->buf) {
        b->failed = ENOMEM;
        return;
    }
    b->cap = INIT_CAP;
    put32(b->buf, PROTO_MAGIC);
    put16(b->buf + 4, PROTO_VERSION);
    put16(b->buf + 6, type);
    put32(b->buf + 8, 0);
    b->len = HDR_LEN;
}

/* `failed` holds the errno value proto_send will report. */
void proto_add(proto_builder_t *b, uint16_t key, const void *val, size_t len)
{
    size_t need;

    if (b->failed)
        return;
    if (b->nfields >= PROTO_MAX_FIELDS || len > PROTO_MAX_FRAME ||
        b->len + FHDR_LEN + len > PROTO_MAX_FRAME) {
        b->failed = EMSGSIZE;
        return;
    }
    need = b->len + FHDR_LEN + len;
    if (need > b->cap) {
        size_t cap = b->cap;
        char *nb;
        while (cap < need)
            cap *= 2;
        if (cap > PROTO_MAX_FRAME)
            cap = PROTO_MAX_FRAME;
        nb = realloc(b->buf, cap);
        if (!nb) {
            b->failed = ENOMEM;
            return;
        }
        b->buf = nb;
        b->cap = cap;
    }
    put16(b->buf + b->len, key);
    put16(b->buf + b->len + 2, 0);
    put32(b->buf + b->len + 4, (uint32_t)len);
    if (len)
        memcpy(b->buf + b->len + FHDR_LEN, val, len);
    b->len += FHDR_LEN + len;
    b->nfields++;
    put32(b->buf + 8, b->nfields);
}

void proto_add_str(proto_builder_t *b, uint16_t key, const char *s)
{
    proto_add(b, key, s, strlen(s));
}

void proto_add_u64(proto_builder_t *b, uint16_t key, uint64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRIu64, v);
    proto_add(b, key, tmp, (size_t)n);
}

void proto_add_i64(proto_builder_t *b, uint16_t key, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%" PRId64, v);
    proto_add(b, key, tmp, (size_t)n);
}

void proto_builder_free(proto_builder_t *b)
{
    free(b->buf);
    memset(b, 0, sizeof *b);
}

/* ------------------------------------------------------------------ */
/* Sending                                                              */
/* ------------------------------------------------------------------ */

/* The whole frame is written even if the kernel takes it in pieces; the
 * descriptors go with the first sendmsg only, so they arrive attached to
 * the frame's first byte.  MSG_NOSIGNAL: a vanished peer is EPIPE, never a
 * SIGPIPE that would kill the host or the agent. */
int proto_send(int sock, proto_builder_t *b, const int *fds, int nfds)
{
    union {
        struct cmsghdr hdr;
        char buf[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
    } ctl;
    size_t off = 0;

    if (b->failed || !b->buf) {
        errno = b->failed ? b->failed : EINVAL;
        return -1;
    }
    if (nfds < 0 || nfds > PROTO_MAX_FDS || (nfds > 0 && !fds)) {
        errno = EINVAL;
        return -1;
    }
    while (off < b->len) {
        struct iovec iov = {.iov_base = b->buf + off, .iov_len = b->len - off};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n;

        if (off == 0 && nfds > 0) {
            struct cmsghdr *c;
            memset(&ctl, 0, sizeof ctl);
            msg.msg_control = ctl.buf;
            msg.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)nfds);
            c = CMSG_FIRSTHDR(&msg);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)nfds);
            memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)nfds);
        }
        n = sendmsg(sock, &msg, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        off += (size_t)n;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Parsing                                                              */
/* ------------------------------------------------------------------ */

int proto_parse(char *buf, size_t len, proto_frame_t *f)
{
    uint32_t nfields;
    size_t off;

    frame_reset(f);
    if (!buf || len < HDR_LEN || len > PROTO_MAX_FRAME)
        goto bad;
    if (get32(buf) != PROTO_MAGIC || get16(buf + 4) != PROTO_VERSION)
        goto bad;
    nfields = get32(buf + 8);
    /* Each field takes at least FHDR_LEN bytes: reject impossible counts
     * before allocating for them. */
    if (nfields > PROTO_MAX_FIELDS || nfields > (len - HDR_LEN) / FHDR_LEN)
        goto bad;
    if (nfields) {
        f->fields = calloc(nfields, sizeof *f->fields);
        if (!f->fields) {
            free(buf);
            frame_reset(f);
            errno = ENOMEM;
            return -1;
        }
    }
    off = HDR_LEN;
    for (uint32_t i = 0; i < nfields; i++) {
        uint32_t flen;
        if (len - off < FHDR_LEN)
            goto bad;
        if (get16(buf + off + 2) != 0) /* reserved */
            goto bad;
        flen = get32(buf + off + 4);
        if (flen > len - off - FHDR_LEN)
            goto bad;
        f->fields[i].key = get16(buf + off);
        f->fields[i].len = flen;
        f->fields[i].val = buf + off + FHDR_LEN;
        off += FHDR_LEN + flen;
    }
    if (off != len) /* trailing bytes */
        goto bad;
    f->type = get16(buf + 6);
    f->nfields = nfields;
    f->buf = buf;
    return 0;

bad:
    free(f->fields);
    free(buf);
    frame_reset(f);
    errno = EPROTO;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Receiving                                                            */
/* ------------------------------------------------------------------ */

typedef struct rx {
    int sock;
    int fds[PROTO_MAX_FDS];
    int nfds;
    int bad_fds; /* descriptors arrived truncated, late or malformed */
    size_t got;  /* bytes of the frame read so far */
} rx_t;

static void close_fds(int *fds, int n)
{
    for (int i = 0; i < n; i++)
        if (fds[i] >= 0)
            close(fds[i]);
}

/* Take the descriptors out of a received control buffer.  Every fd the
 * kernel installed is either kept or closed: none can leak, whatever the
 * peer sent. */
static void rx_take_fds(rx_t *r, struct msghdr *msg, int first)
{
    for (struct cmsghdr *c = CMSG_FIRSTHDR(msg); c; c = CMSG_NXTHDR(msg, c)) {
        size_t n;
        int tmp[64];
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
            c->cmsg_len < CMSG_LEN(0))
            continue;
        n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        if (n > sizeof tmp / sizeof tmp[0])
            n = sizeof tmp / sizeof tmp[0];
        memcpy(tmp, CMSG_DATA(c), n * sizeof(int));
        for (size_t i = 0; i < n; i++) {
            if (first && r->nfds < PROTO_MAX_FDS)
                r->fds[r->nfds++] = tmp[i];
            else {
                close(tmp[i]);
                r->bad_fds = 1;
            }
        }
    }
    if (msg->msg_flags & MSG_CTRUNC)
        r->bad_fds = 1;
}

/* Read exactly `len` bytes into `p`.  Returns 1, 0 on EOF before the
 * frame's first byte, -1 with errno (EPROTO for EOF inside a frame). */
static int rx_read(rx_t *r, char *p, size_t len)
{
    union {
        struct cmsghdr hdr;
        /* Room for more than we accept, so a peer sending too many fds is
         * seen (and its fds closed) rather than silently truncated. */
        char buf[CMSG_SPACE(sizeof(int) * (PROTO_MAX_FDS + 8))];
    } ctl;
    size_t off = 0;

    while (off < len) {
        struct iovec iov = {.iov_base = p + off, .iov_len = len - off};
        struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
        ssize_t n;

        /* Always offer a control buffer: fds the peer attaches anywhere
         * must be received to be closed. */
        msg.msg_control = ctl.buf;
        msg.msg_controllen = sizeof ctl.buf;
        n = recvmsg(r->sock, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (msg.msg_controllen > 0)
            rx_take_fds(r, &msg, r->got == 0);
        if (n == 0) {
            if (r->got == 0)
                return 0;
            errno = EPROTO;
            return -1;
        }
        off += (size_t)n;
        r->got += (size_t)n;
    }
    return 1;
}

static int grow(char **buf, size_t *cap, size_t need)
{
    size_t c = *cap;
    char *nb;
    if (need <= c)
        return 0;
    while (c < need)
        c *= 2;
    if (c > PROTO_MAX_FRAME)
        c = PROTO_MAX_FRAME;
    nb = realloc(*buf, c);
    if (!nb) {
        errno = ENOMEM;
        return -1;
    }
    *buf = nb;
    *cap = c;
    return 0;
}

/* The header carries a field count but no total length, so the frame is
 * read field by field, exactly to its end: a reply that follows on the
 * same connection (STARTED then EXITED) is left in the socket for the next
 * call.  Sizes are checked as they arrive, so a hostile length never makes
 * us allocate more than PROTO_MAX_FRAME. */
int proto_recv(int sock, proto_frame_t *f)
{
    rx_t r = {.sock = sock, .nfds = 0, .bad_fds = 0, .got = 0};
    size_t cap = INIT_CAP, len = 0;
    char *buf;
    uint32_t nfields;
    int rc, err;

    frame_reset(f);
    for (int i = 0; i < PROTO_MAX_FDS; i++)
        r.fds[i] = -1;
    buf = malloc(cap);
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    rc = rx_read(&r, buf, HDR_LEN);
    if (rc <= 0)
        goto fail;
    len = HDR_LEN;
    nfields = get32(buf + 8);
    if (get32(buf) != PROTO_MAGIC || get16(buf + 4) != PROTO_VERSION ||
        nfields > PROTO_MAX_FIELDS) {
        errno = EPROTO;
        rc = -1;
        goto fail;
    }
    for (uint32_t i = 0; i < nfields; i++) {
        uint32_t flen;
        if (len + FHDR_LEN > PROTO_MAX_FRAME) {
            errno = EPROTO;
            rc = -1;
            goto fail;
        }
        if (grow(&buf, &cap, len + FHDR_LEN) < 0) {
            rc = -1;
            goto fail;
        }
        rc = rx_read(&r, buf + len, FHDR_LEN);
        if (rc <= 0)
            goto fail;
        flen = get32(buf + len + 4);
        len += FHDR_LEN;
        if (flen > PROTO_MAX_FRAME - len) {
            errno = EPROTO;
            rc = -1;
            goto fail;
        }
        if (flen) {
            if (grow(&buf, &cap, len + flen) < 0) {
                rc = -1;
                goto fail;
            }
            rc = rx_read(&r, buf + len, flen);
            if (rc <= 0)
                goto fail;
            len += flen;
        }
    }
    if (r.bad_fds) {
        errno = EPROTO;
        rc = -1;
        goto fail;
    }
    if (proto_parse(buf, len, f) < 0) { /* frees buf */
        err = errno;
        close_fds(r.fds, r.nfds);
        errno = err;
        return -1;
    }
    memcpy(f->fds, r.fds, sizeof r.fds);
    f->nfds = r.nfds;
    return 1;

fail:
    err = errno;
    if (rc == 0 && r.got > 0) /* cannot happen: rx_read reports it */
        err = EPROTO;
    free(buf);
    close_fds(r.fds, r.nfds);
    frame_reset(f);
    errno = err;
    return rc;
}

void proto_frame_free(proto_frame_t *f)
{
    if (!f)
        return;
    close_fds(f->fds, f->nfds > PROTO_MAX_FDS ? PROTO_MAX_FDS : f->nfds);
    free(f->fields);
    free(f->buf);
    frame_reset(f);
}

/* ------------------------------------------------------------------ */
/* Field helpers                                                        */
/* ------------------------------------------------------------------ */

const proto_field_t *proto_get(const proto_frame_t *f, uint16_t key)
{
    for (uint32_t i = 0; i < f->nfields; i++)
        if (f->fields[i].key == key)
            return &f->fields[i];
    return NULL;
}

char *proto_strdup(const proto_field_t *fld)
{
    char *s;
    if (!fld || (fld->len && memchr(fld->val, '\0', fld->len)))
        return NULL;
    s = malloc((size_t)fld->len + 1);
    if (!s)
        return NULL;
    if (fld->len)
        memcpy(s, fld->val, fld->len);
    s[fld->len] = '\0';
    return s;
}

/* Strict decimal: one or more digits, nothing else, no overflow. */
static int parse_u64(const char *p, uint32_t len, uint64_t *out)
{
    uint64_t v = 0;
    if (len == 0 || len > 20)
        return -1;
    for (uint32_t i = 0; i < len; i++) {
        unsigned d;
        if (p[i] < '0' || p[i] > '9')
            return -1;
        d = (unsigned)(p[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

int proto_u64(const proto_frame_t *f, uint16_t key, uint64_t *out)
{
    const proto_field_t *fld = proto_get(f, key);
    if (!fld)
        return -1;
    return parse_u64(fld->val, fld->len, out);
}

int proto_i64(const proto_frame_t *f, uint16_t key, int64_t *out)
{
    const proto_field_t *fld = proto_get(f, key);
    uint64_t mag;
    if (!fld || fld->len == 0)
        return -1;
    if (fld->val[0] == '-') {
        if (parse_u64(fld->val + 1, fld->len - 1, &mag) < 0 ||
            mag > (uint64_t)INT64_MAX + 1)
            return -1;
        *out = mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag;
        return 0;
    }
    if (parse_u64(fld->val, fld->len, &mag) < 0 || mag > (uint64_t)INT64_MAX)
        return -1;
    *out = (int64_t)mag;
    return 0;
}
