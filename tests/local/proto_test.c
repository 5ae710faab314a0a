/*
 * tests/local/proto_test.c - the local provider's wire format (proto.h):
 * frames survive a round trip over a real unix socket with descriptors
 * attached, arrive whole however the bytes are split, and every malformed
 * frame is refused with EPROTO without leaking a descriptor.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "proto.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static void sock_pair(int sv[2])
{
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
}

static int count_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;
    assert_non_null(d);
    while ((de = readdir(d)))
        if (de->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the DIR's own */
}

static void put16(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static void put32(unsigned char *p, uint32_t v)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

/* A raw frame header into `p` (12 bytes). */
static void raw_header(unsigned char *p, uint32_t magic, unsigned version,
                       unsigned type, uint32_t nfields)
{
    put32(p, magic);
    put16(p + 4, version);
    put16(p + 6, type);
    put32(p + 8, nfields);
}

static void raw_field(unsigned char *p, unsigned key, unsigned reserved, uint32_t len)
{
    put16(p, key);
    put16(p + 2, reserved);
    put32(p + 4, len);
}

/* A copy of a built frame's bytes, malloc'd, for proto_parse. */
static char *frame_bytes(const proto_builder_t *b)
{
    char *p = malloc(b->len ? b->len : 1);
    assert_non_null(p);
    memcpy(p, b->buf, b->len);
    return p;
}

static void build_exec(proto_builder_t *b)
{
    proto_begin(b, PROTO_REQ_EXEC);
    proto_add_str(b, PROTO_F_ARGV, "sh");
    proto_add_str(b, PROTO_F_ARGV, "-c");
    proto_add_str(b, PROTO_F_ARGV, "echo hi");
    proto_add_str(b, PROTO_F_ENV, "PATH=/usr/bin");
    proto_add(b, PROTO_F_MESSAGE, "a\0b", 3); /* binary-safe */
    proto_add(b, PROTO_F_CWD, "", 0);         /* empty */
    proto_add_u64(b, PROTO_F_TIMEOUT_MS, 1500);
    proto_add_i64(b, PROTO_F_EXIT_CODE, -3);
    assert_int_equal(b->failed, 0);
}

static void check_exec(const proto_frame_t *f)
{
    const proto_field_t *fl;
    uint64_t u;
    int64_t i;
    char *s;

    assert_int_equal(f->type, PROTO_REQ_EXEC);
    assert_int_equal(f->nfields, 8);
    assert_int_equal(f->fields[0].key, PROTO_F_ARGV);
    assert_memory_equal(f->fields[2].val, "echo hi", 7);
    assert_int_equal(f->fields[2].len, 7);
    fl = proto_get(f, PROTO_F_ARGV);
    assert_ptr_equal(fl, &f->fields[0]); /* the first of several */
    fl = proto_get(f, PROTO_F_MESSAGE);
    assert_non_null(fl);
    assert_int_equal(fl->len, 3);
    assert_memory_equal(fl->val, "a\0b", 3);
    assert_null(proto_strdup(fl)); /* holds a NUL */
    fl = proto_get(f, PROTO_F_CWD);
    assert_non_null(fl);
    s = proto_strdup(fl);
    assert_string_equal(s, "");
    free(s);
    s = proto_strdup(proto_get(f, PROTO_F_ENV));
    assert_string_equal(s, "PATH=/usr/bin");
    free(s);
    assert_int_equal(proto_u64(f, PROTO_F_TIMEOUT_MS, &u), 0);
    assert_int_equal(u, 1500);
    assert_int_equal(proto_i64(f, PROTO_F_EXIT_CODE, &i), 0);
    assert_int_equal(i, -3);
    assert_int_equal(proto_u64(f, PROTO_F_EXIT_CODE, &u), -1); /* negative */
    assert_null(proto_get(f, PROTO_F_PID));
    assert_int_equal(proto_u64(f, PROTO_F_PID, &u), -1);
    assert_null(proto_strdup(NULL));
}

/* ------------------------------------------------------------------ */
/* Round trips                                                          */
/* ------------------------------------------------------------------ */

static void test_parse_roundtrip(void **state)
{
    proto_builder_t b;
    proto_frame_t f;
    (void)state;

    build_exec(&b);
    assert_int_equal(proto_parse(frame_bytes(&b), b.len, &f), 0);
    check_exec(&f);
    assert_int_equal(f.nfds, 0);
    assert_int_equal(f.fds[0], -1);
    proto_frame_free(&f);
    proto_builder_free(&b);

    /* No fields at all. */
    proto_begin(&b, PROTO_REQ_PING);
    assert_int_equal(proto_parse(frame_bytes(&b), b.len, &f), 0);
    assert_int_equal(f.type, PROTO_REQ_PING);
    assert_int_equal(f.nfields, 0);
    assert_null(proto_get(&f, PROTO_F_ARGV));
    proto_frame_free(&f);
    proto_frame_free(&f); /* idempotent */
    proto_builder_free(&b);
}

static void test_socket_roundtrip_fds(void **state)
{
    proto_builder_t b;
    proto_frame_t f;
    int sv[2], p[2], fds[3];
    char buf[8];
    int before;
    (void)state;

    sock_pair(sv);
    assert_int_equal(pipe(p), 0);
    before = count_fds();
    build_exec(&b);
    fds[0] = p[1];
    fds[1] = p[1];
    fds[2] = p[1];
    assert_int_equal(proto_send(sv[0], &b, fds, 3), 0);
    proto_builder_free(&b);
    assert_int_equal(proto_recv(sv[1], &f), 1);
    check_exec(&f);
    assert_int_equal(f.nfds, 3);
    for (int i = 0; i < 3; i++) {
        assert_true(f.fds[i] > 2);
        assert_int_equal(fcntl(f.fds[i], F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    }
    /* The received descriptor is the pipe's write end. */
    assert_int_equal(write(f.fds[1], "xyz", 3), 3);
    assert_int_equal(read(p[0], buf, sizeof buf), 3);
    assert_memory_equal(buf, "xyz", 3);
    proto_frame_free(&f);
    assert_int_equal(count_fds(), before); /* freeing closed all three */
    close(p[0]);
    close(p[1]);
    close(sv[0]);
    close(sv[1]);
}

/* Replies follow each other on one connection: each proto_recv takes
 * exactly one frame and leaves the next in the socket. */
static void test_back_to_back(void **state)
{
    proto_builder_t b;
    proto_frame_t f;
    int sv[2];
    int64_t v;
    (void)state;

    sock_pair(sv);
    proto_begin(&b, PROTO_REP_STARTED);
    proto_add_i64(&b, PROTO_F_PID, 42);
    assert_int_equal(proto_send(sv[0], &b, NULL, 0), 0);
    proto_builder_free(&b);
    proto_begin(&b, PROTO_REP_EXITED);
    proto_add_i64(&b, PROTO_F_EXIT_CODE, 7);
    assert_int_equal(proto_send(sv[0], &b, NULL, 0), 0);
    proto_builder_free(&b);
    close(sv[0]);

    assert_int_equal(proto_recv(sv[1], &f), 1);
    assert_int_equal(f.type, PROTO_REP_STARTED);
    assert_int_equal(proto_i64(&f, PROTO_F_PID, &v), 0);
    assert_int_equal(v, 42);
    proto_frame_free(&f);
    assert_int_equal(proto_recv(sv[1], &f), 1);
    assert_int_equal(f.type, PROTO_REP_EXITED);
    assert_int_equal(proto_i64(&f, PROTO_F_EXIT_CODE, &v), 0);
    assert_int_equal(v, 7);
    proto_frame_free(&f);
    assert_int_equal(proto_recv(sv[1], &f), 0); /* clean EOF */
    close(sv[1]);
}

static void sleep_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

/* A writer that dribbles the frame a few bytes at a time, with pauses, so
 * the reader sees short reads at every boundary.  The fd rides on the
 * first chunk. */
static void test_short_reads(void **state)
{
    proto_builder_t b;
    proto_frame_t f;
    int sv[2], p[2];
    pid_t pid;
    int st;
    (void)state;

    sock_pair(sv);
    assert_int_equal(pipe(p), 0);
    build_exec(&b);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        size_t off = 0, step = 1;
        union {
            struct cmsghdr h;
            char c[CMSG_SPACE(sizeof(int))];
        } ctl;
        close(sv[1]);
        while (off < b.len) {
            size_t n = b.len - off < step ? b.len - off : step;
            struct iovec iov = {.iov_base = b.buf + off, .iov_len = n};
            struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
            if (off == 0) {
                struct cmsghdr *c;
                memset(&ctl, 0, sizeof ctl);
                m.msg_control = ctl.c;
                m.msg_controllen = sizeof ctl.c;
                c = CMSG_FIRSTHDR(&m);
                c->cmsg_level = SOL_SOCKET;
                c->cmsg_type = SCM_RIGHTS;
                c->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(c), &p[1], sizeof(int));
            }
            if (sendmsg(sv[0], &m, 0) != (ssize_t)n)
                _exit(1);
            off += n;
            step = step % 7 + 1;
            sleep_us(300);
        }
        _exit(0);
    }
    close(sv[0]);
    assert_int_equal(proto_recv(sv[1], &f), 1);
    check_exec(&f);
    assert_int_equal(f.nfds, 1);
    proto_frame_free(&f);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    proto_builder_free(&b);
    close(sv[1]);
    close(p[0]);
    close(p[1]);
}

static void on_alarm(int sig)
{
    (void)sig;
}

/* A signal without SA_RESTART interrupts the blocked recvmsg: the frame
 * must still arrive whole. */
static void test_eintr(void **state)
{
    struct sigaction sa, old;
    struct itimerval it = {{0, 5000}, {0, 5000}}, off = {{0, 0}, {0, 0}};
    proto_builder_t b;
    proto_frame_t f;
    int sv[2];
    pid_t pid;
    int st;
    (void)state;

    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm; /* no SA_RESTART */
    sigaction(SIGALRM, &sa, &old);
    sock_pair(sv);
    build_exec(&b);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        sleep_us(60000);
        if (write(sv[0], b.buf, 5) != 5)
            _exit(1);
        sleep_us(60000);
        if (write(sv[0], b.buf + 5, b.len - 5) != (ssize_t)(b.len - 5))
            _exit(1);
        _exit(0);
    }
    setitimer(ITIMER_REAL, &it, NULL);
    assert_int_equal(proto_recv(sv[1], &f), 1);
    setitimer(ITIMER_REAL, &off, NULL);
    sigaction(SIGALRM, &old, NULL);
    check_exec(&f);
    proto_frame_free(&f);
    waitpid(pid, &st, 0);
    proto_builder_free(&b);
    close(sv[0]);
    close(sv[1]);
}

/* ------------------------------------------------------------------ */
/* Malformed frames on the socket                                       */
/* ------------------------------------------------------------------ */

/* Write `len` raw bytes, close, and expect proto_recv to say `want` (and
 * EPROTO for -1). */
static void expect_recv(const void *bytes, size_t len, int want)
{
    proto_frame_t f;
    int sv[2], rc;

    sock_pair(sv);
    if (len)
        assert_int_equal(write(sv[0], bytes, len), (ssize_t)len);
    close(sv[0]);
    errno = 0;
    rc = proto_recv(sv[1], &f);
    assert_int_equal(rc, want);
    if (want < 0)
        assert_int_equal(errno, EPROTO);
    if (rc == 1) {
        proto_frame_free(&f);
    } else {
        assert_null(f.buf);
        assert_null(f.fields);
        assert_int_equal(f.nfds, 0);
    }
    close(sv[1]);
}

static void test_recv_malformed(void **state)
{
    unsigned char h[64];
    proto_builder_t b;
    (void)state;

    expect_recv(NULL, 0, 0); /* EOF before a byte: clean */

    raw_header(h, PROTO_MAGIC, PROTO_VERSION, 1, 0);
    expect_recv(h, 12, 1);    /* sanity: a valid empty frame */
    expect_recv(h, 5, -1);    /* EOF inside the header */

    raw_header(h, 0x12345678, PROTO_VERSION, 1, 0);
    expect_recv(h, 12, -1);   /* bad magic */
    raw_header(h, PROTO_MAGIC, PROTO_VERSION + 1, 1, 0);
    expect_recv(h, 12, -1);   /* other version */
    raw_header(h, PROTO_MAGIC, PROTO_VERSION, 1, PROTO_MAX_FIELDS + 1);
    expect_recv(h, 12, -1);   /* too many fields */

    raw_header(h, PROTO_MAGIC, PROTO_VERSION, 1, 2);
    raw_field(h + 12, PROTO_F_ARGV, 0, 2);
    memcpy(h + 20, "ab", 2);
    expect_recv(h, 22, -1);   /* EOF before the second field */
    expect_recv(h, 21, -1);   /* EOF inside a value */
    expect_recv(h, 15, -1);   /* EOF inside a field header */

    raw_header(h, PROTO_MAGIC, PROTO_VERSION, 1, 1);
    raw_field(h + 12, PROTO_F_ARGV, 0, PROTO_MAX_FRAME);
    expect_recv(h, 20, -1);   /* a field longer than any frame: no alloc */
    raw_field(h + 12, PROTO_F_ARGV, 0, 0xffffffffu);
    expect_recv(h, 20, -1);
    raw_field(h + 12, PROTO_F_ARGV, 1, 0);
    expect_recv(h, 20, -1);   /* reserved must be 0 */

    /* A frame whose fields add up to more than PROTO_MAX_FRAME. */
    {
        size_t big = PROTO_MAX_FRAME / 2, len = 12 + 3 * (8 + big);
        unsigned char *p = calloc(1, len);
        int sv[2];
        proto_frame_t f;
        pid_t pid;
        int st;
        assert_non_null(p);
        raw_header(p, PROTO_MAGIC, PROTO_VERSION, 1, 3);
        for (int i = 0; i < 3; i++)
            raw_field(p + 12 + (size_t)i * (8 + big), PROTO_F_ENV, 0, (uint32_t)big);
        sock_pair(sv);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            close(sv[1]);
            (void)!write(sv[0], p, len); /* fails once the reader hangs up */
            _exit(0);
        }
        close(sv[0]);
        errno = 0;
        assert_int_equal(proto_recv(sv[1], &f), -1);
        assert_int_equal(errno, EPROTO);
        close(sv[1]);
        waitpid(pid, &st, 0);
        free(p);
    }

    /* Builder limits: refused before anything is sent. */
    proto_begin(&b, PROTO_REQ_EXEC);
    for (int i = 0; i <= PROTO_MAX_FIELDS; i++)
        proto_add(&b, PROTO_F_ARGV, "", 0);
    assert_int_equal(b.failed, EMSGSIZE);
    {
        int sv[2];
        sock_pair(sv);
        errno = 0;
        assert_int_equal(proto_send(sv[0], &b, NULL, 0), -1);
        assert_int_equal(errno, EMSGSIZE);
        close(sv[0]);
        close(sv[1]);
    }
    proto_builder_free(&b);
    proto_begin(&b, PROTO_REQ_EXEC);
    proto_add(&b, PROTO_F_ARGV, NULL, PROTO_MAX_FRAME); /* never read */
    assert_int_equal(b.failed, EMSGSIZE);
    proto_builder_free(&b);
}

/* Descriptors: too many, or attached anywhere but the first byte, are a
 * protocol error, and every one of them is closed. */
static void send_with_fds(int sock, const void *p, size_t len, const int *fds, int n)
{
    union {
        struct cmsghdr h;
        char c[CMSG_SPACE(sizeof(int) * 8)];
    } ctl;
    struct iovec iov = {.iov_base = (void *)p, .iov_len = len};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    struct cmsghdr *c;

    memset(&ctl, 0, sizeof ctl);
    m.msg_control = ctl.c;
    m.msg_controllen = CMSG_SPACE(sizeof(int) * (size_t)n);
    c = CMSG_FIRSTHDR(&m);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * (size_t)n);
    memcpy(CMSG_DATA(c), fds, sizeof(int) * (size_t)n);
    assert_int_equal(sendmsg(sock, &m, 0), (ssize_t)len);
}

static void test_recv_bad_fds(void **state)
{
    proto_builder_t b;
    proto_frame_t f;
    int sv[2], fds[5], before;
    (void)state;

    for (int i = 0; i < 5; i++)
        fds[i] = 0; /* stdin, five times over */
    before = count_fds();
    build_exec(&b);

    /* Four descriptors where at most three are allowed. */
    sock_pair(sv);
    assert_int_equal(proto_send(sv[0], &b, fds, 3), 0); /* 3: fine */
    assert_int_equal(proto_recv(sv[1], &f), 1);
    proto_frame_free(&f);
    send_with_fds(sv[0], b.buf, b.len, fds, 4);
    errno = 0;
    assert_int_equal(proto_recv(sv[1], &f), -1);
    assert_int_equal(errno, EPROTO);
    close(sv[0]);
    close(sv[1]);
    assert_int_equal(count_fds(), before);

    /* Descriptors on a later byte of the frame (after the header, which
     * is read on its own, so the first read cannot reach them). */
    sock_pair(sv);
    assert_int_equal(write(sv[0], b.buf, 14), 14);
    send_with_fds(sv[0], b.buf + 14, b.len - 14, fds, 2);
    errno = 0;
    assert_int_equal(proto_recv(sv[1], &f), -1);
    assert_int_equal(errno, EPROTO);
    close(sv[0]);
    close(sv[1]);
    assert_int_equal(count_fds(), before);

    /* A valid frame with fds followed by a malformed one: no leak. */
    sock_pair(sv);
    raw_header((unsigned char *)b.buf, 0x0badf00d, PROTO_VERSION, 1, 0);
    send_with_fds(sv[0], b.buf, b.len, fds, 3);
    errno = 0;
    assert_int_equal(proto_recv(sv[1], &f), -1);
    assert_int_equal(errno, EPROTO);
    close(sv[0]);
    close(sv[1]);
    assert_int_equal(count_fds(), before);

    assert_int_equal(proto_send(-1, &b, fds, 4), -1); /* too many to send */
    assert_int_equal(errno, EINVAL);
    proto_builder_free(&b);
}

static void test_send_peer_gone(void **state)
{
    proto_builder_t b;
    int sv[2];
    (void)state;

    sock_pair(sv);
    close(sv[1]);
    proto_begin(&b, PROTO_REQ_PING);
    errno = 0;
    /* MSG_NOSIGNAL: EPIPE, and this test process is still alive. */
    assert_int_equal(proto_send(sv[0], &b, NULL, 0), -1);
    assert_int_equal(errno, EPIPE);
    proto_builder_free(&b);
    close(sv[0]);
}

/* ------------------------------------------------------------------ */
/* proto_parse on malformed bytes                                       */
/* ------------------------------------------------------------------ */

static int parse_copy(const void *p, size_t len, proto_frame_t *f)
{
    char *c = malloc(len ? len : 1);
    assert_non_null(c);
    if (len)
        memcpy(c, p, len);
    return proto_parse(c, len, f);
}

static void test_parse_malformed(void **state)
{
    proto_builder_t b;
    proto_frame_t f;
    unsigned char h[40];
    (void)state;

    /* Every proper prefix of a valid frame, and one byte more. */
    build_exec(&b);
    for (size_t n = 0; n < b.len; n++) {
        errno = 0;
        assert_int_equal(parse_copy(b.buf, n, &f), -1);
        assert_int_equal(errno, EPROTO);
        assert_null(f.buf);
    }
    {
        char *p = malloc(b.len + 1);
        memcpy(p, b.buf, b.len);
        p[b.len] = 'x';
        assert_int_equal(proto_parse(p, b.len + 1, &f), -1); /* trailing */
    }
    proto_builder_free(&b);

    raw_header(h, PROTO_MAGIC, PROTO_VERSION, 1, 1);
    raw_field(h + 12, 1, 0, 4);
    memcpy(h + 20, "abcd", 4);
    assert_int_equal(parse_copy(h, 24, &f), 0);
    proto_frame_free(&f);
    put32(h + 8, 2); /* claims a field that is not there */
    assert_int_equal(parse_copy(h, 24, &f), -1);
    put32(h + 8, 0); /* claims none: the field is trailing junk */
    assert_int_equal(parse_copy(h, 24, &f), -1);
    put32(h + 8, 0xffffffffu);
    assert_int_equal(parse_copy(h, 24, &f), -1);
    put32(h + 8, 1);
    raw_field(h + 12, 1, 0, 5); /* value runs past the end */
    assert_int_equal(parse_copy(h, 24, &f), -1);
    raw_field(h + 12, 1, 0, 0xfffffff0u); /* wraps if added carelessly */
    assert_int_equal(parse_copy(h, 24, &f), -1);
    raw_field(h + 12, 1, 0x8000, 4);
    assert_int_equal(parse_copy(h, 24, &f), -1);
    raw_field(h + 12, 1, 0, 4);
    h[0] ^= 1;
    assert_int_equal(parse_copy(h, 24, &f), -1);
    h[0] ^= 1;
    put16(h + 4, 0);
    assert_int_equal(parse_copy(h, 24, &f), -1);
    /* A NULL buffer or an absurd length. */
    assert_int_equal(proto_parse(NULL, 0, &f), -1);
    assert_int_equal(proto_parse(malloc(16), (size_t)PROTO_MAX_FRAME + 1, &f), -1);
}

static void test_numbers(void **state)
{
    static const struct {
        const char *s;
        int ok;
        uint64_t v;
    } u[] = {
        {"0", 1, 0},
        {"42", 1, 42},
        {"0042", 1, 42},
        {"18446744073709551615", 1, UINT64_MAX},
        {"18446744073709551616", 0, 0},
        {"99999999999999999999", 0, 0},
        {"000000000000000000001", 0, 0}, /* 21 digits: too long */
        {"", 0, 0},
        {"-1", 0, 0},
        {"+1", 0, 0},
        {" 1", 0, 0},
        {"1 ", 0, 0},
        {"12a", 0, 0},
        {"0x10", 0, 0},
    };
    static const struct {
        const char *s;
        int ok;
        int64_t v;
    } s[] = {
        {"0", 1, 0},
        {"-0", 1, 0},
        {"-1", 1, -1},
        {"9223372036854775807", 1, INT64_MAX},
        {"-9223372036854775808", 1, INT64_MIN},
        {"9223372036854775808", 0, 0},
        {"-9223372036854775809", 0, 0},
        {"-", 0, 0},
        {"--1", 0, 0},
        {"", 0, 0},
        {"1-", 0, 0},
    };
    (void)state;

    for (size_t i = 0; i < sizeof u / sizeof *u; i++) {
        proto_builder_t b;
        proto_frame_t f;
        uint64_t v = 12345;
        proto_begin(&b, 1);
        proto_add_str(&b, PROTO_F_PID, u[i].s);
        assert_int_equal(proto_parse(frame_bytes(&b), b.len, &f), 0);
        assert_int_equal(proto_u64(&f, PROTO_F_PID, &v), u[i].ok ? 0 : -1);
        if (u[i].ok)
            assert_true(v == u[i].v);
        proto_frame_free(&f);
        proto_builder_free(&b);
    }
    for (size_t i = 0; i < sizeof s / sizeof *s; i++) {
        proto_builder_t b;
        proto_frame_t f;
        int64_t v = 12345;
        proto_begin(&b, 1);
        proto_add_str(&b, PROTO_F_PID, s[i].s);
        assert_int_equal(proto_parse(frame_bytes(&b), b.len, &f), 0);
        assert_int_equal(proto_i64(&f, PROTO_F_PID, &v), s[i].ok ? 0 : -1);
        if (s[i].ok)
            assert_true(v == s[i].v);
        proto_frame_free(&f);
        proto_builder_free(&b);
    }
    {
        /* The builders' own output parses back. */
        proto_builder_t b;
        proto_frame_t f;
        uint64_t uv;
        int64_t sv;
        proto_begin(&b, 1);
        proto_add_u64(&b, PROTO_F_PID, UINT64_MAX);
        proto_add_i64(&b, PROTO_F_SIGNAL, INT64_MIN);
        assert_int_equal(proto_parse(frame_bytes(&b), b.len, &f), 0);
        assert_int_equal(proto_u64(&f, PROTO_F_PID, &uv), 0);
        assert_true(uv == UINT64_MAX);
        assert_int_equal(proto_i64(&f, PROTO_F_SIGNAL, &sv), 0);
        assert_true(sv == INT64_MIN);
        proto_frame_free(&f);
        proto_builder_free(&b);
    }
}

/* Frames up to the limit pass; the wire layout is what proto.h says. */
static void test_layout_and_big(void **state)
{
    proto_builder_t b;
    proto_frame_t f;
    const unsigned char *p;
    size_t big = PROTO_MAX_FRAME - 12 - 8;
    char *val;
    int sv[2];
    pid_t pid;
    int st;
    (void)state;

    proto_begin(&b, PROTO_REP_ERROR);
    proto_add(&b, 0x0102, "xy", 2);
    p = (const unsigned char *)b.buf;
    assert_int_equal(b.len, 22);
    assert_memory_equal(p, "csdk", 4); /* PROTO_MAGIC, little-endian */
    assert_int_equal(p[4] | p[5] << 8, PROTO_VERSION);
    assert_int_equal(p[6] | p[7] << 8, PROTO_REP_ERROR);
    assert_int_equal(p[8], 1);
    assert_int_equal(p[12], 0x02);
    assert_int_equal(p[13], 0x01);
    assert_int_equal(p[14] | p[15], 0);
    assert_int_equal(p[16], 2);
    assert_memory_equal(p + 20, "xy", 2);
    proto_builder_free(&b);

    /* One field filling the frame to exactly PROTO_MAX_FRAME. */
    val = malloc(big);
    assert_non_null(val);
    memset(val, 'v', big);
    proto_begin(&b, PROTO_REQ_EXEC);
    proto_add(&b, PROTO_F_ENV, val, big);
    assert_int_equal(b.failed, 0);
    assert_int_equal(b.len, PROTO_MAX_FRAME);
    sock_pair(sv);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(sv[1]);
        _exit(proto_send(sv[0], &b, NULL, 0) == 0 ? 0 : 1);
    }
    close(sv[0]);
    assert_int_equal(proto_recv(sv[1], &f), 1);
    assert_int_equal(f.fields[0].len, big);
    assert_memory_equal(f.fields[0].val, val, big);
    proto_frame_free(&f);
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    close(sv[1]);
    proto_add(&b, PROTO_F_ENV, "", 0); /* one byte... eight, too many */
    assert_int_equal(b.failed, EMSGSIZE);
    proto_builder_free(&b);
    free(val);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_roundtrip),
        cmocka_unit_test(test_socket_roundtrip_fds),
        cmocka_unit_test(test_back_to_back),
        cmocka_unit_test(test_short_reads),
        cmocka_unit_test(test_eintr),
        cmocka_unit_test(test_recv_malformed),
        cmocka_unit_test(test_recv_bad_fds),
        cmocka_unit_test(test_send_peer_gone),
        cmocka_unit_test(test_parse_malformed),
        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_layout_and_big),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
