/* The SDK tar writer and reader: round trips fed at every split, archives
 * made by GNU tar in its three formats, the writer's output extracted by
 * GNU tar, and a named error for each kind of damage. */
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "csdk/sdk/tar.h"

#define assert_contains(hay, needle)                                          \
    do {                                                                      \
        const char *h_ = (hay), *n_ = (needle);                               \
        if (!h_ || !strstr(h_, n_))                                           \
            fail_msg("expected \"%s\" to contain \"%s\"", h_ ? h_ : "(null)", \
                     n_);                                                     \
    } while (0)

/* Whether GNU tar runs here; the tests that need it skip otherwise. */
static bool have_gnu_tar;

/* --- helpers: a growable byte buffer, archives, a collecting reader ---- */

typedef struct buf {
    unsigned char *p;
    size_t len, cap;
} buf_t;

static void buf_add(buf_t *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        b->cap = (b->len + n) * 2 + 1024;
        b->p = realloc(b->p, b->cap);
        assert_non_null(b->p);
    }
    if (n)
        memcpy(b->p + b->len, p, n);
    b->len += n;
}

static void buf_zeros(buf_t *b, size_t n)
{
    static const unsigned char z[4096];
    while (n) {
        size_t k = n < sizeof z ? n : sizeof z;
        buf_add(b, z, k);
        n -= k;
    }
}

/* Appends e's header(s), its data and the padding; returns the header
 * bytes written. */
static size_t add_entry(buf_t *b, const csdk_tar_entry_t *e, const void *data)
{
    size_t max = csdk_tar_header_max(strlen(e->name),
                                     e->linkname ? strlen(e->linkname) : 0);
    unsigned char *h = malloc(max);
    size_t n;

    assert_non_null(h);
    n = csdk_tar_header(h, max, e);
    assert_true(n > 0);
    assert_int_equal(n % CSDK_TAR_BLOCK, 0);
    buf_add(b, h, n);
    free(h);
    buf_add(b, data, (size_t)e->size);
    buf_zeros(b, csdk_tar_padding(e->size));
    return n;
}

/* A header block as an old or foreign tar would write it: octal fields,
 * POSIX magic, correct unsigned checksum. */
static void seal(unsigned char *b)
{
    unsigned sum = 0;
    memset(b + 148, ' ', 8);
    for (int i = 0; i < 512; i++)
        sum += b[i];
    snprintf((char *)b + 148, 8, "%06o", sum);
    b[155] = ' ';
}

static void raw_header(unsigned char *b, const char *name, char type,
                       uint64_t size)
{
    memset(b, 0, 512);
    memcpy(b, name, strlen(name));
    snprintf((char *)b + 100, 8, "%07o", 0644);
    snprintf((char *)b + 108, 8, "%07o", 0);
    snprintf((char *)b + 116, 8, "%07o", 0);
    snprintf((char *)b + 124, 12, "%011llo", (unsigned long long)size);
    snprintf((char *)b + 136, 12, "%011o", 1000);
    b[156] = (unsigned char)type;
    memcpy(b + 257, "ustar\0" "00", 8);
    seal(b);
}

/* Appends a raw header and its payload, padded. */
static void add_raw(buf_t *b, const char *name, char type, const void *data,
                    size_t n)
{
    unsigned char h[512];
    raw_header(h, name, type, n);
    buf_add(b, h, sizeof h);
    buf_add(b, data, n);
    buf_zeros(b, csdk_tar_padding(n));
}

typedef struct got {
    char *name, *linkname;
    uint64_t size;
    int64_t mtime;
    uint32_t mode;
    char type;
    buf_t data;
} got_t;

typedef struct collect {
    got_t e[64];
    size_t n;
    int entry_stop_at, entry_stop_rc; /* stop at entry number (1-based) */
    int data_stop_rc;                 /* stop at the first data call */
    size_t data_calls, dir_data_calls;
    char err[256];
} collect_t;

static int on_entry(void *arg, const csdk_tar_entry_t *e)
{
    collect_t *c = arg;
    got_t *g;

    assert_true(c->n < 64);
    g = &c->e[c->n++];
    memset(g, 0, sizeof *g);
    g->name = strdup(e->name);
    g->linkname = e->linkname ? strdup(e->linkname) : NULL;
    g->size = e->size;
    g->mtime = e->mtime;
    g->mode = e->mode;
    g->type = e->type;
    if (c->entry_stop_at && (int)c->n == c->entry_stop_at)
        return c->entry_stop_rc;
    return 0;
}

static int on_data(void *arg, const void *data, size_t n)
{
    collect_t *c = arg;
    got_t *g = &c->e[c->n - 1];

    assert_true(c->n > 0);
    assert_true(n > 0);
    c->data_calls++;
    if (g->type == CSDK_TAR_DIR)
        c->dir_data_calls++;
    buf_add(&g->data, data, n);
    assert_true(g->data.len <= g->size);
    return c->data_stop_rc;
}

static void collect_reset(collect_t *c)
{
    for (size_t i = 0; i < c->n; i++) {
        free(c->e[i].name);
        free(c->e[i].linkname);
        free(c->e[i].data.p);
    }
    c->n = 0;
    c->data_calls = c->dir_data_calls = 0;
    c->err[0] = '\0';
}

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

enum feed_mode { WHOLE, BYTES, CHUNKS };

/* Runs an archive through a new reader: whole, one byte at a time, or in
 * random chunks of 1..700 bytes.  Returns the first nonzero feed result,
 * else finish's; c->err gets the reader's error. */
static int read_archive(collect_t *c, const void *p, size_t n,
                        enum feed_mode mode, uint32_t seed)
{
    csdk_tar_reader_t *r = csdk_tar_reader_new(on_entry, on_data, c);
    const unsigned char *b = p;
    int rc = 0;

    assert_non_null(r);
    collect_reset(c);
    seed |= 1;
    while (n && !rc) {
        size_t k = mode == WHOLE ? n : mode == BYTES ? 1 : 1 + xorshift(&seed) % 700;
        if (k > n)
            k = n;
        rc = csdk_tar_reader_feed(r, b, k);
        b += k;
        n -= k;
    }
    if (!rc)
        rc = csdk_tar_reader_finish(r);
    snprintf(c->err, sizeof c->err, "%s", csdk_tar_reader_error(r));
    assert_null(strchr(c->err, '\n'));
    csdk_tar_reader_free(r);
    return rc;
}

/* Every way of splitting the input: whole, bytewise and three chunkings. */
static void read_all_ways(collect_t *c, const buf_t *a,
                          void (*check)(const collect_t *, const void *),
                          const void *want)
{
    static const enum feed_mode modes[] = {WHOLE, BYTES, CHUNKS, CHUNKS, CHUNKS};
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        assert_int_equal(read_archive(c, a->p, a->len, modes[i], (uint32_t)i * 7919), 0);
        assert_string_equal(c->err, "");
        check(c, want);
    }
}

static void fill_pattern(unsigned char *p, size_t n, uint32_t seed)
{
    seed |= 1;
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)xorshift(&seed);
}

static char *repeat(char c, size_t n)
{
    char *s = malloc(n + 1);
    assert_non_null(s);
    memset(s, c, n);
    s[n] = '\0';
    return s;
}

/* --- writer ----------------------------------------------------------- */

static void test_padding(void **s)
{
    assert_int_equal(csdk_tar_padding(0), 0);
    assert_int_equal(csdk_tar_padding(1), 511);
    assert_int_equal(csdk_tar_padding(511), 1);
    assert_int_equal(csdk_tar_padding(512), 0);
    assert_int_equal(csdk_tar_padding(513), 511);
    assert_int_equal(csdk_tar_padding(UINT64_MAX), 1);
}

static void test_header_is_ustar(void **s)
{
    csdk_tar_entry_t e = {"dir/file.txt", NULL, 1234, 1700000000, 0640, CSDK_TAR_FILE};
    unsigned char h[1536];
    unsigned sum = 0;

    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 512);
    assert_string_equal((char *)h, "dir/file.txt");
    assert_memory_equal(h + 100, "0000640", 8);
    assert_memory_equal(h + 124, "00000002322", 12);
    assert_memory_equal(h + 136, "14524770400", 12);
    assert_int_equal(h[156], '0');
    assert_memory_equal(h + 257, "ustar\0" "00", 8);
    for (int i = 0; i < 512; i++)
        sum += (i >= 148 && i < 156) ? ' ' : h[i];
    assert_int_equal(strtoul((char *)h + 148, NULL, 8), sum);
    assert_int_equal(h[154], '\0');
    assert_int_equal(h[155], ' ');
}

static void test_header_refusals(void **s)
{
    unsigned char h[16384];
    char *big = repeat('n', 4097);
    csdk_tar_entry_t e = {"f", NULL, 0, 0, 0644, CSDK_TAR_FILE};

    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 512);
    assert_int_equal(csdk_tar_header(h, 511, &e), 0);
    assert_int_equal(csdk_tar_header(NULL, sizeof h, &e), 0);
    assert_int_equal(csdk_tar_header(h, sizeof h, NULL), 0);
    e.name = "";
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 0);
    e.name = NULL;
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 0);
    e.name = big;
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 0);
    big[4096] = '\0'; /* 4096 is the longest accepted */
    assert_true(csdk_tar_header(h, sizeof h, &e) > 512);
    e.name = "f";
    e.type = 'x';
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 0);
    e.type = '\0';
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 0);
    e.type = '7';
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 0);
    e.type = CSDK_TAR_SYMLINK; /* a link needs a target */
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 0);
    e.linkname = "";
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 0);
    e.linkname = "t";
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 512);
    e.size = 1; /* only regular files carry data */
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 0);
    e.type = CSDK_TAR_DIR;
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 0);
    e.type = CSDK_TAR_FILE;
    e.size = (uint64_t)INT64_MAX + 1;
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 0);
    free(big);
}

/* The bound holds for the worst entry: every pax record at full length. */
static void test_header_max(void **s)
{
    char *name = repeat('a', 4096), *link = repeat('b', 4096);
    csdk_tar_entry_t e = {name, link, 0, INT64_MIN, 0777, CSDK_TAR_SYMLINK};
    size_t max = csdk_tar_header_max(4096, 4096);
    unsigned char *h = malloc(max);
    size_t n;

    assert_non_null(h);
    n = csdk_tar_header(h, max, &e);
    assert_true(n > 0 && n <= max);
    assert_int_equal(csdk_tar_header(h, n - 1, &e), 0);
    e.type = CSDK_TAR_FILE;
    e.size = INT64_MAX;
    n = csdk_tar_header(h, max, &e);
    assert_true(n > 0 && n <= max);
    assert_true(csdk_tar_header_max(0, 0) >= 512);
    assert_true(csdk_tar_header_max(SIZE_MAX, SIZE_MAX) >= max);
    free(h);
    free(name);
    free(link);
}

/* 200 bytes split over prefix and name stay plain ustar; a name with no
 * usable '/' needs pax. */
static void test_header_name_split(void **s)
{
    char name[301];
    csdk_tar_entry_t e = {name, NULL, 0, 0, 0644, CSDK_TAR_FILE};
    unsigned char h[4096];

    memset(name, 'a', 200);
    name[120] = '/';
    name[200] = '\0';
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 512);
    assert_int_equal(strnlen((char *)h + 345, 155), 120);
    assert_int_equal(strnlen((char *)h, 100), 79);
    name[120] = 'a';
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 1536);
    assert_int_equal(h[156], 'x');
    assert_int_equal(h[1024 + 156], '0');
    assert_memory_equal(h + 512, "210 path=aaaa", 13);
    memset(name, 'a', 300);
    name[150] = '/';
    name[300] = '\0';
    assert_int_equal(csdk_tar_header(h, sizeof h, &e), 1536);
}

/* --- round trips ------------------------------------------------------ */

typedef struct rt_entry {
    csdk_tar_entry_t e;
    const unsigned char *data;
} rt_entry_t;

typedef struct rt_set {
    rt_entry_t *v;
    size_t n;
} rt_set_t;

static void check_round_trip(const collect_t *c, const void *arg)
{
    const rt_set_t *want = arg;

    assert_int_equal(c->n, want->n);
    assert_int_equal(c->dir_data_calls, 0);
    for (size_t i = 0; i < want->n; i++) {
        const csdk_tar_entry_t *w = &want->v[i].e;
        const got_t *g = &c->e[i];
        assert_string_equal(g->name, w->name);
        if (w->type == CSDK_TAR_SYMLINK || w->type == CSDK_TAR_HARDLINK)
            assert_string_equal(g->linkname, w->linkname);
        else
            assert_null(g->linkname);
        assert_int_equal(g->size, w->size);
        assert_int_equal(g->mtime, w->mtime);
        assert_int_equal(g->mode, w->mode & 07777);
        assert_int_equal(g->type, w->type);
        assert_int_equal(g->data.len, w->size);
        if (w->size)
            assert_memory_equal(g->data.p, want->v[i].data, (size_t)w->size);
    }
}

static void test_round_trip(void **s)
{
    static unsigned char bin[1500];
    char *p200 = repeat('b', 200), *p350 = repeat('c', 350);
    char *flat200 = repeat('f', 200), *n100 = repeat('h', 100);
    char *t300 = repeat('t', 300);
    collect_t c = {0};
    buf_t a = {0};

    for (size_t i = 0; i < sizeof bin; i++)
        bin[i] = (unsigned char)(i * 7 ^ i >> 3);
    p200[60] = p200[130] = '/';
    for (size_t i = 40; i < 350; i += 41)
        p350[i] = '/';
    rt_entry_t v[] = {
        {{"empty", NULL, 0, 1, 0644, CSDK_TAR_FILE}, NULL},
        {{"small.txt", NULL, 6, 1700000000, 0600, CSDK_TAR_FILE}, (const unsigned char *)"hello\n"},
        {{"bin", NULL, sizeof bin, 1234567890, 04755, CSDK_TAR_FILE}, bin},
        {{"dir/", NULL, 0, 42, 0755, CSDK_TAR_DIR}, NULL},
        {{"dir/link", "../small.txt", 0, 43, 0777, CSDK_TAR_SYMLINK}, NULL},
        {{"hard", "small.txt", 0, 44, 0600, CSDK_TAR_HARDLINK}, NULL},
        {{p200, NULL, 3, 45, 0644, CSDK_TAR_FILE}, (const unsigned char *)"abc"},
        {{p350, NULL, 512, 46, 0644, CSDK_TAR_FILE}, bin},
        {{flat200, NULL, 0, 47, 0644, CSDK_TAR_FILE}, NULL},
        {{n100, NULL, 0, 48, 0644, CSDK_TAR_FILE}, NULL},
        {{"longlink", t300, 0, 49, 0777, CSDK_TAR_SYMLINK}, NULL},
        {{"old", NULL, 1, -86400 * 365, 0644, CSDK_TAR_FILE}, (const unsigned char *)"o"},
        {{"future", NULL, 0, (int64_t)1 << 40, 0644, CSDK_TAR_FILE}, NULL},
        {{"fifo", NULL, 0, 50, 0600, CSDK_TAR_FIFO}, NULL},
        {{"mode-bits", NULL, 0, 51, 0100644, CSDK_TAR_FILE}, NULL},
        {{"min-time", NULL, 0, INT64_MIN, 0644, CSDK_TAR_FILE}, NULL},
        {{"max-time", NULL, 0, INT64_MAX, 0644, CSDK_TAR_FILE}, NULL},
    };
    rt_set_t set = {v, sizeof v / sizeof v[0]};

    for (size_t i = 0; i < set.n; i++) {
        size_t h = add_entry(&a, &v[i].e, v[i].data);
        bool plain = i != 7 && i != 8 && (i < 10 || i > 12) && i < 15;
        assert_int_equal(h, plain ? 512 : 1536); /* pax only when needed */
    }
    buf_zeros(&a, CSDK_TAR_TRAILER);
    read_all_ways(&c, &a, check_round_trip, &set);

    /* Without the trailer the input still ends on an entry boundary. */
    a.len -= CSDK_TAR_TRAILER;
    assert_int_equal(read_archive(&c, a.p, a.len, BYTES, 0), 0);
    check_round_trip(&c, &set);

    collect_reset(&c);
    free(a.p);
    free(p200);
    free(p350);
    free(flat200);
    free(n100);
    free(t300);
}

static void check_one_binary(const collect_t *c, const void *arg)
{
    const buf_t *data = arg;
    assert_int_equal(c->n, 1);
    assert_int_equal(c->e[0].data.len, data->len);
    if (data->len)
        assert_memory_equal(c->e[0].data.p, data->p, data->len);
}

/* Files of every size around the block boundaries. */
static void test_round_trip_sizes(void **s)
{
    static const size_t sizes[] = {0, 1, 511, 512, 513, 1023, 1024, 5000};
    collect_t c = {0};

    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        buf_t a = {0}, data = {0};
        csdk_tar_entry_t e = {"f", NULL, sizes[i], 0, 0644, CSDK_TAR_FILE};
        buf_zeros(&data, sizes[i]);
        fill_pattern(data.p, data.len, (uint32_t)i + 1);
        add_entry(&a, &e, data.p);
        buf_zeros(&a, CSDK_TAR_TRAILER);
        assert_int_equal(a.len, 512 + sizes[i] + csdk_tar_padding(sizes[i]) + 1024);
        read_all_ways(&c, &a, check_one_binary, &data);
        free(a.p);
        free(data.p);
    }
    collect_reset(&c);
}

/* Sizes from 8^11 go in a pax record; the reader reports them. */
static void test_big_size(void **s)
{
    static const uint64_t sizes[] = {((uint64_t)1 << 33) - 1, (uint64_t)1 << 33,
                                     (uint64_t)1 << 40, INT64_MAX};
    collect_t c = {0};
    unsigned char h[2048];

    c.entry_stop_at = 1;
    c.entry_stop_rc = 5;
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        csdk_tar_entry_t e = {"huge.img", NULL, sizes[i], 0, 0644, CSDK_TAR_FILE};
        size_t n = csdk_tar_header(h, sizeof h, &e);
        assert_int_equal(n, i == 0 ? 512 : 1536);
        if (read_archive(&c, h, n, BYTES, 0) != 5)
            fail_msg("size %" PRIu64 ": %s", sizes[i], c.err);
        assert_int_equal(c.e[0].size, sizes[i]);
        assert_string_equal(c.e[0].name, "huge.img");
    }
    collect_reset(&c);
}

/* --- reader: forms other writers produce ------------------------------- */

static void test_signed_checksum(void **s)
{
    unsigned char h[512];
    collect_t c = {0};
    int ssum = 0;
    unsigned usum = 0;

    raw_header(h, "caf\xc3\xa9-\xff\xfe", '0', 0);
    for (int i = 0; i < 512; i++) {
        unsigned char b = (i >= 148 && i < 156) ? ' ' : h[i];
        ssum += (signed char)b;
        usum += b;
    }
    assert_true((unsigned)ssum != usum);
    snprintf((char *)h + 148, 8, "%06o", (unsigned)ssum);
    assert_int_equal(read_archive(&c, h, sizeof h, BYTES, 0), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.e[0].name, "caf\xc3\xa9-\xff\xfe");
    h[0] ^= 1; /* now neither sum matches */
    assert_int_equal(read_archive(&c, h, sizeof h, WHOLE, 0), -1);
    assert_contains(c.err, "bad header checksum at offset 0");
    collect_reset(&c);
}

/* GNU writes out-of-range numbers in base-256: the high bit set, then a
 * big-endian two's complement value. */
static void test_base256(void **s)
{
    buf_t a = {0};
    unsigned char h[512], data[1000];
    collect_t c = {0};

    fill_pattern(data, sizeof data, 3);
    raw_header(h, "b256", '0', 0);
    memset(h + 124, 0, 12);
    h[124] = 0x80;
    h[134] = 0x03;
    h[135] = 0xe8; /* 1000 */
    memset(h + 136, 0xff, 12);
    h[147] = 0xfb; /* -5 */
    seal(h);
    buf_add(&a, h, sizeof h);
    buf_add(&a, data, sizeof data);
    buf_zeros(&a, csdk_tar_padding(sizeof data) + CSDK_TAR_TRAILER);
    assert_int_equal(read_archive(&c, a.p, a.len, BYTES, 0), 0);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.e[0].size, 1000);
    assert_int_equal(c.e[0].mtime, -5);
    assert_memory_equal(c.e[0].data.p, data, sizeof data);

    /* A negative size is damage. */
    memset(a.p + 124, 0xff, 12);
    seal(a.p);
    assert_int_equal(read_archive(&c, a.p, a.len, WHOLE, 0), -1);
    assert_contains(c.err, "bad size field in the header at offset 0");
    /* So is a value past int64. */
    memset(a.p + 124, 0xff, 12);
    a.p[124] = 0x80;
    seal(a.p);
    assert_int_equal(read_archive(&c, a.p, a.len, WHOLE, 0), -1);
    assert_contains(c.err, "bad size field");
    collect_reset(&c);
    free(a.p);
}

/* Pre-POSIX '\0' types, '7', unknown types with data, global headers,
 * directories whose size field is not zero. */
static void test_types(void **s)
{
    buf_t a = {0};
    unsigned char h[512];
    collect_t c = {0};

    add_raw(&a, "v7file", '\0', "0123456789", 10);
    add_raw(&a, "v7dir/", '\0', NULL, 0);
    add_raw(&a, "global", 'g', "19 comment=ignored\n", 19);
    add_raw(&a, "cont", '7', "ab", 2);
    add_raw(&a, "unknown", 'Z', "zzz", 3);
    /* A directory claiming 1024 bytes: none follow (as Go reads it). */
    raw_header(h, "d/", CSDK_TAR_DIR, 1024);
    buf_add(&a, h, sizeof h);
    add_raw(&a, "after-dir", '0', "x", 1);
    buf_zeros(&a, CSDK_TAR_TRAILER);

    assert_int_equal(read_archive(&c, a.p, a.len, BYTES, 0), 0);
    assert_int_equal(c.n, 6);
    assert_string_equal(c.e[0].name, "v7file");
    assert_int_equal(c.e[0].type, CSDK_TAR_FILE);
    assert_memory_equal(c.e[0].data.p, "0123456789", 10);
    assert_int_equal(c.e[0].mode, 0644);
    assert_int_equal(c.e[0].mtime, 1000);
    assert_int_equal(c.e[1].type, CSDK_TAR_DIR);
    assert_string_equal(c.e[2].name, "cont");
    assert_int_equal(c.e[2].type, CSDK_TAR_FILE);
    assert_int_equal(c.e[3].type, 'Z');
    assert_int_equal(c.e[3].size, 3);
    assert_memory_equal(c.e[3].data.p, "zzz", 3);
    assert_int_equal(c.e[4].type, CSDK_TAR_DIR);
    assert_int_equal(c.e[4].size, 0);
    assert_string_equal(c.e[5].name, "after-dir");
    assert_int_equal(c.e[5].data.len, 1);
    assert_int_equal(c.dir_data_calls, 0);
    collect_reset(&c);
    free(a.p);
}

/* Formats "key=value" strings (NULL-terminated list) as pax records. */
static size_t pax_records(char *dst, size_t cap, ...)
{
    va_list ap;
    size_t len = 0;
    const char *kv;

    va_start(ap, cap);
    while ((kv = va_arg(ap, const char *))) {
        size_t base = strlen(kv) + 2, n = base + 1;
        while ((size_t)snprintf(NULL, 0, "%zu", n) + base != n)
            n++;
        len += (size_t)snprintf(dst + len, cap - len, "%zu %s\n", n, kv);
        assert_true(len < cap);
    }
    va_end(ap);
    return len;
}

/* Hand-made pax and GNU long-name headers, as other writers make them. */
static void test_pax_and_gnu_records(void **s)
{
    buf_t a = {0};
    collect_t c = {0};
    char *longname = repeat('L', 1000), *longlink = repeat('K', 500);
    char rec[2048];
    size_t n;

    n = pax_records(rec, sizeof rec, "mtime=1600000000.123456789",
                    "path=pax/override", "size=0003", "atime=1600000001",
                    "SCHILY.xattr.a=b=c", "linkpath=target1", NULL);
    add_raw(&a, "PaxHeaders/x", 'x', rec, n);
    add_raw(&a, "ustar-name", '2', NULL, 0); /* size field 0, pax says 3... */
    /* ...but a symlink carries no data, so the next header follows. */
    n = pax_records(rec, sizeof rec, "mtime=-1.5", "path=", NULL);
    add_raw(&a, "PaxHeaders/y", 'x', rec, n);
    add_raw(&a, "kept-name", '0', "12", 2);
    add_raw(&a, "././@LongLink", 'L', longname, 1001);
    add_raw(&a, "././@LongLink", 'K', longlink, 501);
    add_raw(&a, "trunc-name", '1', NULL, 0);
    buf_zeros(&a, CSDK_TAR_TRAILER);

    assert_int_equal(read_archive(&c, a.p, a.len, BYTES, 0), 0);
    assert_int_equal(c.n, 3);
    assert_string_equal(c.e[0].name, "pax/override");
    assert_string_equal(c.e[0].linkname, "target1");
    assert_int_equal(c.e[0].mtime, 1600000000);
    assert_int_equal(c.e[0].size, 0);
    assert_int_equal(c.e[0].type, CSDK_TAR_SYMLINK);
    assert_string_equal(c.e[1].name, "kept-name"); /* empty path: no override */
    assert_int_equal(c.e[1].mtime, -2);
    assert_int_equal(c.e[1].size, 2);
    assert_string_equal(c.e[2].name, longname);
    assert_string_equal(c.e[2].linkname, longlink);
    assert_int_equal(c.e[2].type, CSDK_TAR_HARDLINK);
    collect_reset(&c);
    free(a.p);
    free(longname);
    free(longlink);
}

/* --- reader: damage --------------------------------------------------- */

/* Reads a damaged archive every way; each must fail with -1 and the same
 * one-line error naming the problem. */
static void expect_damage(const buf_t *a, const char *what, const char *where)
{
    collect_t c = {0};
    char first[256];

    assert_int_equal(read_archive(&c, a->p, a->len, WHOLE, 0), -1);
    assert_true(c.err[0] != '\0');
    assert_contains(c.err, what);
    assert_contains(c.err, where);
    snprintf(first, sizeof first, "%s", c.err);
    assert_int_equal(read_archive(&c, a->p, a->len, BYTES, 0), -1);
    assert_string_equal(c.err, first);
    assert_int_equal(read_archive(&c, a->p, a->len, CHUNKS, 99), -1);
    assert_string_equal(c.err, first);
    collect_reset(&c);
}

/* A two-file archive made by the writer: headers at 0 and 1024. */
static void two_files(buf_t *a)
{
    csdk_tar_entry_t e1 = {"one", NULL, 3, 0, 0644, CSDK_TAR_FILE};
    csdk_tar_entry_t e2 = {"two", NULL, 3, 0, 0644, CSDK_TAR_FILE};
    memset(a, 0, sizeof *a);
    add_entry(a, &e1, "111");
    add_entry(a, &e2, "222");
    buf_zeros(a, CSDK_TAR_TRAILER);
}

static void test_damage_checksum_and_fields(void **s)
{
    buf_t a;

    two_files(&a);
    a.p[1024] = 'T';
    expect_damage(&a, "bad header checksum", "offset 1024");
    free(a.p);

    two_files(&a);
    memcpy(a.p + 124, "0000000009x", 12);
    seal(a.p);
    expect_damage(&a, "bad size field", "offset 0");
    memcpy(a.p + 124, "000 0000003", 12); /* digits after a gap */
    seal(a.p);
    expect_damage(&a, "bad size field", "offset 0");
    free(a.p);

    two_files(&a);
    memcpy(a.p + 1024 + 100, "06x4\0\0\0", 8);
    seal(a.p + 1024);
    expect_damage(&a, "bad mode field", "offset 1024");
    free(a.p);

    two_files(&a);
    memcpy(a.p + 136, "nope", 4);
    seal(a.p);
    expect_damage(&a, "bad mtime field", "offset 0");
    free(a.p);

    two_files(&a);
    memcpy(a.p + 148, "abcdef\0 ", 8);
    expect_damage(&a, "bad header checksum", "offset 0");
    free(a.p);

    /* A header with no name. */
    two_files(&a);
    memset(a.p, 0, 100);
    seal(a.p);
    expect_damage(&a, "empty name", "offset 0");
    free(a.p);
}

static void test_damage_truncation(void **s)
{
    buf_t a;

    two_files(&a);
    a.len = 300;
    expect_damage(&a, "truncated at offset 300", "header that starts at 0");
    a.len = 512 + 2;
    expect_damage(&a, "truncated at offset 514", "entry whose header is at 0");
    a.len = 512 + 3; /* data complete, padding missing */
    expect_damage(&a, "truncated at offset 515", "entry whose header is at 0");
    a.len = 1024 + 511;
    expect_damage(&a, "truncated at offset 1535", "header that starts at 1024");
    free(a.p);

    memset(&a, 0, sizeof a);
    add_raw(&a, "x", 'x', "11 path=ab\n", 11);
    a.len = 512 + 5;
    expect_damage(&a, "truncated at offset 517", "pax header that starts at 0");
    a.len = 1024; /* records complete, no entry follows */
    expect_damage(&a, "ends at offset 1024", "without its entry");
    buf_zeros(&a, CSDK_TAR_TRAILER);
    expect_damage(&a, "zero block at offset 1024", "where an entry should follow");
    free(a.p);
}

static void pax_damage(const char *records, size_t len, const char *what,
                       const char *where)
{
    buf_t a = {0};
    add_raw(&a, "PaxHeaders/f", 'x', records, len);
    add_raw(&a, "f", '0', "data", 4);
    buf_zeros(&a, CSDK_TAR_TRAILER);
    expect_damage(&a, what, where);
    free(a.p);
}

#define PAX_DAMAGE(lit, what, where) pax_damage(lit, sizeof(lit) - 1, what, where)

static void test_damage_pax(void **s)
{
    char *rec = malloc(6000), *p5000 = repeat('p', 5000);

    /* The payload starts at 512; a second record at 512 + 12. */
    PAX_DAMAGE("12 path=abc\n99 path=abc\n", "claims more bytes", "offset 524");
    PAX_DAMAGE("99999999999999999999999 path=abc\n", "claims more bytes", "offset 512");
    PAX_DAMAGE("5 path=abc\n", "does not end with a newline", "offset 512");
    PAX_DAMAGE("12 path=abc\n11 path=abc\n", "does not end with a newline", "offset 524");
    PAX_DAMAGE("1 \n", "does not end with a newline", "offset 512");
    PAX_DAMAGE("x path=a\n", "bad pax record length", "offset 512");
    PAX_DAMAGE("12path=abc\n", "bad pax record length", "offset 512");
    PAX_DAMAGE("123", "bad pax record length", "offset 512");
    PAX_DAMAGE("11 pathabc\n", "is not key=value", "offset 512");
    PAX_DAMAGE("8 =abcd\n", "is not key=value", "offset 512");
    PAX_DAMAGE("3 \n", "is not key=value", "offset 512");
    PAX_DAMAGE("11 size=1a\n", "bad pax size", "offset 512");
    PAX_DAMAGE("12 size=-10\n", "bad pax size", "offset 512");
    PAX_DAMAGE("29 size=99999999999999999999\n", "bad pax size", "offset 512");
    PAX_DAMAGE("14 mtime=1.2.\n", "bad pax mtime", "offset 512");
    PAX_DAMAGE("13 mtime=-.5\n", "bad pax mtime", "offset 512");
    PAX_DAMAGE("32 mtime=-9223372036854775808.5\n", "bad pax mtime", "offset 512");
    PAX_DAMAGE("31 mtime=9223372036854775808.0\n", "bad pax mtime", "offset 512");
    PAX_DAMAGE("13 path=a\0bc\n", "pax path in the header at offset 0 contains a NUL", "");
    PAX_DAMAGE("22 GNU.sparse.size=10\n", "sparse entries are not supported", "offset 512");

    assert_non_null(rec);
    snprintf(rec, 6000, "5011 path=%s\n", p5000);
    pax_damage(rec, strlen(rec), "pax path in the header at offset 0 is 5000 bytes",
               "over the 4096-byte limit");
    snprintf(rec, 6000, "5015 linkpath=%s\n", p5000);
    pax_damage(rec, strlen(rec), "pax linkpath", "over the 4096-byte limit");
    free(rec);
    free(p5000);
}

/* Payloads the reader would have to buffer are capped. */
static void test_damage_limits(void **s)
{
    buf_t a = {0};
    unsigned char h[512];
    char *p5000 = repeat('q', 5000);

    raw_header(h, "PaxHeaders/big", 'x', 70000);
    buf_add(&a, h, sizeof h);
    buf_zeros(&a, 70000);
    expect_damage(&a, "pax header at offset 0 is 70000 bytes", "over the 65536-byte limit");
    a.p[156] = 'L';
    seal(a.p);
    expect_damage(&a, "GNU long name at offset 0", "over the 65536-byte limit");
    free(a.p);

    memset(&a, 0, sizeof a);
    add_raw(&a, "././@LongLink", 'K', p5000, 5001);
    add_raw(&a, "f", '1', NULL, 0);
    expect_damage(&a, "GNU long link name in the header at offset 0 is 5000 bytes",
                  "over the 4096-byte limit");
    free(a.p);

    memset(&a, 0, sizeof a);
    add_raw(&a, "././@LongLink", 'L', "\0\0", 2);
    add_raw(&a, "f", '0', NULL, 0);
    expect_damage(&a, "empty GNU long name", "offset 0");
    free(a.p);

    memset(&a, 0, sizeof a);
    add_raw(&a, "sparse", 'S', "x", 1);
    expect_damage(&a, "GNU sparse entry at offset 0", "not supported");
    free(a.p);

    /* One zero block is an end only when nothing follows it. */
    memset(&a, 0, sizeof a);
    add_raw(&a, "a", '0', "1", 1);
    buf_zeros(&a, 512);
    add_raw(&a, "b", '0', "2", 1);
    expect_damage(&a, "lone zero block", "offset 1536");
    free(a.p);
    free(p5000);
}

/* After -1 the reader refuses more input, and calls nothing. */
static void test_error_is_sticky(void **s)
{
    buf_t a;
    collect_t c = {0};
    csdk_tar_reader_t *r = csdk_tar_reader_new(on_entry, on_data, &c);

    assert_non_null(r);
    assert_string_equal(csdk_tar_reader_error(r), "");
    two_files(&a);
    a.p[1024] ^= 1;
    assert_int_equal(csdk_tar_reader_feed(r, a.p, a.len), -1);
    assert_int_equal(c.n, 1);
    assert_int_equal(csdk_tar_reader_feed(r, a.p, 512), -1);
    assert_int_equal(csdk_tar_reader_finish(r), -1);
    assert_int_equal(c.n, 1);
    assert_contains(csdk_tar_reader_error(r), "offset 1024");
    csdk_tar_reader_free(r);
    collect_reset(&c);
    free(a.p);
}

/* --- reader: callbacks, ends, trailing bytes --------------------------- */

static void test_entry_stop(void **s)
{
    buf_t a;
    collect_t c = {0};
    csdk_tar_reader_t *r;

    two_files(&a);
    c.entry_stop_at = 2;
    c.entry_stop_rc = 42;
    r = csdk_tar_reader_new(on_entry, on_data, &c);
    assert_non_null(r);
    for (size_t i = 0; i < 1024; i++)
        assert_int_equal(csdk_tar_reader_feed(r, a.p + i, 1), 0);
    for (size_t i = 1024; i < 1535; i++)
        assert_int_equal(csdk_tar_reader_feed(r, a.p + i, 1), 0);
    assert_int_equal(csdk_tar_reader_feed(r, a.p + 1535, 1), 42);
    assert_int_equal(c.n, 2);
    assert_int_equal(c.e[1].data.len, 0);
    assert_int_equal(csdk_tar_reader_feed(r, a.p + 1536, a.len - 1536), 42);
    assert_int_equal(csdk_tar_reader_finish(r), 42);
    assert_string_equal(csdk_tar_reader_error(r), "");
    assert_int_equal(c.e[1].data.len, 0); /* nothing delivered after the stop */
    csdk_tar_reader_free(r);

    c.entry_stop_rc = -1; /* a callback may return -1 too */
    assert_int_equal(read_archive(&c, a.p, a.len, CHUNKS, 5), -1);
    assert_string_equal(c.err, "");
    collect_reset(&c);
    free(a.p);
}

static void test_data_stop(void **s)
{
    buf_t a;
    collect_t c = {0};

    two_files(&a);
    c.data_stop_rc = 9;
    assert_int_equal(read_archive(&c, a.p, a.len, BYTES, 0), 9);
    assert_int_equal(c.n, 1);
    assert_int_equal(c.data_calls, 1);
    assert_int_equal(read_archive(&c, a.p, a.len, WHOLE, 0), 9);
    assert_int_equal(c.data_calls, 1);
    assert_memory_equal(c.e[0].data.p, "111", 3);
    collect_reset(&c);
    free(a.p);
}

static int count_entry(void *arg, const csdk_tar_entry_t *e)
{
    (*(int *)arg)++;
    return 0;
}

/* Without a data callback the data is skipped, and the entries after it
 * still found. */
static void test_no_callbacks(void **s)
{
    buf_t a;
    int n = 0;
    csdk_tar_reader_t *r = csdk_tar_reader_new(count_entry, NULL, &n);

    two_files(&a);
    assert_non_null(r);
    for (size_t i = 0; i < a.len; i++)
        assert_int_equal(csdk_tar_reader_feed(r, a.p + i, 1), 0);
    assert_int_equal(csdk_tar_reader_finish(r), 0);
    assert_int_equal(n, 2);
    csdk_tar_reader_free(r);

    r = csdk_tar_reader_new(NULL, NULL, NULL);
    assert_non_null(r);
    assert_int_equal(csdk_tar_reader_feed(r, a.p, a.len), 0);
    assert_int_equal(csdk_tar_reader_finish(r), 0);
    csdk_tar_reader_free(r);
    csdk_tar_reader_free(NULL);
    free(a.p);
}

static void test_ends(void **s)
{
    buf_t a;
    collect_t c = {0};
    size_t full;

    two_files(&a);
    full = a.len;
    /* Anything after the trailer is ignored, damage included. */
    buf_add(&a, "garbage that is not a tar header", 32);
    buf_zeros(&a, 2000);
    a.p[a.len - 1] = 0xff;
    assert_int_equal(read_archive(&c, a.p, a.len, BYTES, 0), 0);
    assert_int_equal(c.n, 2);
    assert_int_equal(read_archive(&c, a.p, a.len, CHUNKS, 3), 0);
    assert_int_equal(c.n, 2);
    /* One zero block, or none, at the end is an end too. */
    assert_int_equal(read_archive(&c, a.p, full - 512, BYTES, 0), 0);
    assert_int_equal(read_archive(&c, a.p, full - 1024, BYTES, 0), 0);
    assert_int_equal(c.n, 2);
    /* ...but part of one is a truncated header. */
    assert_int_equal(read_archive(&c, a.p, full - 100, WHOLE, 0), -1);
    assert_contains(c.err, "header that starts at 2560");
    /* No input at all is an empty archive. */
    assert_int_equal(read_archive(&c, a.p, 0, WHOLE, 0), 0);
    assert_int_equal(c.n, 0);
    collect_reset(&c);
    free(a.p);
}

/* --- interoperability with GNU tar ------------------------------------ */

static void run_ok(const char *fmt, ...)
{
    char cmd[4096];
    va_list ap;
    int rc;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    rc = system(cmd);
    if (rc != 0)
        fail_msg("command failed (%d): %s", rc, cmd);
}

static char *make_temp_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = malloc(4096);

    assert_non_null(dir);
    snprintf(dir, 4096, "%s/csdk-tar-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    assert_non_null(mkdtemp(dir));
    return dir;
}

static void remove_temp_dir(char *dir)
{
    run_ok("rm -rf '%s'", dir);
    free(dir);
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    buf_t b = {0};
    unsigned char chunk[8192];
    size_t n;

    if (!f)
        fail_msg("cannot open %s", path);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        buf_add(&b, chunk, n);
    fclose(f);
    *len = b.len;
    return b.p ? b.p : calloc(1, 1);
}

static void write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f)
        fail_msg("cannot create %s", path);
    assert_int_equal(fwrite(data, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* What one item of a tree looks like in an archive. */
typedef struct item {
    char name[600];
    char type;
    char link[400];
    const unsigned char *data;
    size_t size;
    int64_t mtime;
    uint32_t mode;
} item_t;

typedef struct tree {
    item_t v[32];
    size_t n;
    char root[4096]; /* the directory holding "top" */
} tree_t;

static item_t *tree_add(tree_t *t, const char *name, char type)
{
    item_t *it = &t->v[t->n++];
    assert_true(t->n <= 32);
    memset(it, 0, sizeof *it);
    snprintf(it->name, sizeof it->name, "%s", name);
    it->type = type;
    return it;
}

static void tree_mkdir(tree_t *t, const char *name)
{
    char path[8192];
    tree_add(t, name, CSDK_TAR_DIR);
    snprintf(path, sizeof path, "%s/%s", t->root, name);
    assert_int_equal(mkdir(path, 0755), 0);
}

static void tree_file(tree_t *t, const char *name, const void *data, size_t n)
{
    char path[8192];
    item_t *it = tree_add(t, name, CSDK_TAR_FILE);
    it->data = data;
    it->size = n;
    snprintf(path, sizeof path, "%s/%s", t->root, name);
    write_file(path, data, n);
}

static void tree_symlink(tree_t *t, const char *name, const char *target)
{
    char path[8192];
    item_t *it = tree_add(t, name, CSDK_TAR_SYMLINK);
    snprintf(it->link, sizeof it->link, "%s", target);
    snprintf(path, sizeof path, "%s/%s", t->root, name);
    assert_int_equal(symlink(target, path), 0);
}

static void tree_set_mtime(tree_t *t, const char *name, time_t sec, long nsec)
{
    char path[8192];
    struct timespec ts[2] = {{sec, nsec}, {sec, nsec}};
    snprintf(path, sizeof path, "%s/%s", t->root, name);
    assert_int_equal(utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW), 0);
}

/* Reads back modes and times from the filesystem, as tar will see them. */
static void tree_stat(tree_t *t)
{
    for (size_t i = 0; i < t->n; i++) {
        char path[8192];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", t->root, t->v[i].name);
        assert_int_equal(lstat(path, &st), 0);
        t->v[i].mtime = st.st_mtim.tv_sec;
        t->v[i].mode = st.st_mode & 07777;
    }
}

static void check_tree(const collect_t *c, const void *arg)
{
    const tree_t *t = arg;

    assert_int_equal(c->n, t->n);
    assert_int_equal(c->dir_data_calls, 0);
    for (size_t i = 0; i < t->n; i++) {
        const item_t *it = NULL;
        const got_t *g = &c->e[i];
        for (size_t j = 0; j < t->n && !it; j++)
            if (!strcmp(t->v[j].name, g->name))
                it = &t->v[j];
        if (!it)
            fail_msg("unexpected entry %s", g->name);
        assert_int_equal(g->type, it->type);
        assert_int_equal(g->mtime, it->mtime);
        assert_int_equal(g->mode, it->mode);
        assert_int_equal(g->size, it->size);
        assert_int_equal(g->data.len, it->size);
        if (it->size)
            assert_memory_equal(g->data.p, it->data, it->size);
        if (it->link[0])
            assert_string_equal(g->linkname, it->link);
        else
            assert_null(g->linkname);
    }
}

/* A tree in t->root/top: plain, empty and binary files, a hard link,
 * sub-second and (when not ustar) negative times, and names and link
 * targets past ustar's limits where the format allows them. */
static void build_tree(tree_t *t, bool ustar)
{
    static unsigned char bin[3000];
    char a[80], b[80], c[80], d[80], name[600], target[200];
    char from[8192], to[8192];
    item_t *hard;

    fill_pattern(bin, sizeof bin, 11);
    memset(a, 'a', 70), a[70] = '\0';
    memset(b, 'b', 70), b[70] = '\0';
    memset(c, 'c', 50), c[50] = '\0';
    memset(d, 'd', 70), d[70] = '\0';

    tree_mkdir(t, "top/");
    tree_file(t, "top/small.txt", "hello\n", 6);
    tree_file(t, "top/empty", "", 0);
    tree_file(t, "top/bin", bin, sizeof bin);
    tree_set_mtime(t, "top/small.txt", 1600000000, 500000000);
    /* With --sort=name, "top/hard" is archived first and small.txt
     * becomes the link. */
    snprintf(from, sizeof from, "%s/top/small.txt", t->root);
    snprintf(to, sizeof to, "%s/top/hard", t->root);
    assert_int_equal(link(from, to), 0);
    hard = tree_add(t, "top/hard", CSDK_TAR_FILE);
    hard->data = (const unsigned char *)"hello\n";
    hard->size = 6;
    t->v[1].type = CSDK_TAR_HARDLINK;
    t->v[1].size = 0;
    snprintf(t->v[1].link, sizeof t->v[1].link, "top/hard");
    /* 200 bytes that ustar splits over prefix and name. */
    snprintf(name, sizeof name, "top/%s/", a);
    tree_mkdir(t, name);
    snprintf(name, sizeof name, "top/%s/%s/", a, b);
    tree_mkdir(t, name);
    snprintf(name, sizeof name, "top/%s/%s/%s.txt", a, b, c);
    tree_file(t, name, "split", 5);
    if (ustar) {
        tree_symlink(t, "top/sym", "small.txt");
        return;
    }
    snprintf(name, sizeof name, "top/%s/%s/%s/", a, b, d);
    tree_mkdir(t, name);
    snprintf(name, sizeof name, "top/%s/%s/%s/%s-long-file-name.txt", a, b, d, d);
    assert_true(strlen(name) > 300);
    tree_file(t, name, "long", 4);
    memset(target, 'x', 150);
    memcpy(target, "../", 3);
    target[150] = '\0';
    tree_symlink(t, "top/sym", target);
    tree_file(t, "top/old", "old", 3);
    tree_set_mtime(t, "top/old", -1000000, 250000000);
}

static void check_gnu_tar_format(const char *format, const char *extra)
{
    tree_t *t = calloc(1, sizeof *t);
    char *dir = make_temp_dir(), path[8192];
    collect_t c = {0};
    buf_t a = {0};

    assert_non_null(t);
    snprintf(t->root, sizeof t->root, "%s", dir);
    build_tree(t, !strcmp(format, "ustar"));
    tree_stat(t);
    run_ok("cd '%s' && tar --format=%s %s --sort=name -cf out.tar top", dir,
           format, extra);
    snprintf(path, sizeof path, "%s/out.tar", dir);
    a.p = slurp(path, &a.len);
    read_all_ways(&c, &a, check_tree, t);
    collect_reset(&c);
    free(a.p);
    free(t);
    remove_temp_dir(dir);
}

static void test_gnu_tar_gnu_format(void **s)
{
    if (!have_gnu_tar)
        skip();
    check_gnu_tar_format("gnu", ""); /* 'L', 'K', base-256 mtime */
}

static void test_gnu_tar_pax_format(void **s)
{
    if (!have_gnu_tar)
        skip();
    /* A global header ('g') first, per-file 'x' headers with atime,
     * ctime and fractional mtimes. */
    check_gnu_tar_format("pax", "--pax-option=comment=made-by-the-test");
}

static void test_gnu_tar_ustar_format(void **s)
{
    if (!have_gnu_tar)
        skip();
    check_gnu_tar_format("ustar", "");
}

/* 100 bytes of c, for "%.*s". */
static const char *run(char c)
{
    static char runs[256][101];
    unsigned char i = (unsigned char)c;
    memset(runs[i], c, 100);
    return runs[i];
}

/* Archives from the writer list and extract cleanly with GNU tar. */
static void test_gnu_tar_reads_writer(void **s)
{
    static unsigned char bin[1000];
    char *dir, path[8192], p315[400], p198[200], t150[151], *listing;
    struct stat st, st2;
    buf_t a = {0}, want = {0};
    size_t n;

    if (!have_gnu_tar)
        skip();
    dir = make_temp_dir();
    fill_pattern(bin, sizeof bin, 5);
    /* Components of 90: a 315-byte path only pax holds; 97 + 98: a
     * 198-byte one ustar splits. */
    snprintf(p315, sizeof p315, "w/%.90s/%.90s/%.90s/%.40s", run('p'), run('q'),
             run('r'), run('s'));
    snprintf(p198, sizeof p198, "w/%.97s/%.98s", run('a'), run('b'));
    memset(t150, 'T', 150);
    t150[150] = '\0';
    csdk_tar_entry_t v[] = {
        {"w/", NULL, 0, 1500000000, 0755, CSDK_TAR_DIR},
        {"w/hello.txt", NULL, 12, 1234567890, 0640, CSDK_TAR_FILE},
        {"w/bin", NULL, sizeof bin, 1234567891, 0600, CSDK_TAR_FILE},
        {"w/empty", NULL, 0, 1234567892, 0644, CSDK_TAR_FILE},
        {p315, NULL, 4, 1234567893, 0644, CSDK_TAR_FILE},
        {p198, NULL, 5, 1234567894, 0644, CSDK_TAR_FILE},
        {"w/sym", "hello.txt", 0, 1234567895, 0777, CSDK_TAR_SYMLINK},
        {"w/longsym", t150, 0, 1234567896, 0777, CSDK_TAR_SYMLINK},
        {"w/hard", "w/hello.txt", 0, 1234567897, 0640, CSDK_TAR_HARDLINK},
        {"w/old", NULL, 3, -86400, 0644, CSDK_TAR_FILE},
    };
    const void *data[] = {NULL, "hello world\n", bin, NULL, "long", "split",
                          NULL, NULL, NULL, "old"};
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        add_entry(&a, &v[i], data[i]);
        buf_add(&want, v[i].name, strlen(v[i].name));
        buf_add(&want, "\n", 1);
    }
    buf_zeros(&a, CSDK_TAR_TRAILER);
    snprintf(path, sizeof path, "%s/w.tar", dir);
    write_file(path, a.p, a.len);

    run_ok("cd '%s' && tar -tvf w.tar > verbose.txt 2>&1 && tar -tf w.tar > list.txt",
           dir);
    snprintf(path, sizeof path, "%s/list.txt", dir);
    listing = (char *)slurp(path, &n);
    assert_int_equal(n, want.len);
    assert_memory_equal(listing, want.p, n);
    free(listing);

    /* (GNU tar warns about the 1969 time stamp on stderr; not an error.) */
    run_ok("cd '%s' && mkdir x && tar -xpf w.tar -C x 2> extract.log", dir);
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        snprintf(path, sizeof path, "%s/x/%s", dir, v[i].name);
        assert_int_equal(lstat(path, &st), 0);
        if (v[i].type == CSDK_TAR_SYMLINK) {
            char got[400];
            ssize_t len = readlink(path, got, sizeof got - 1);
            assert_true(len > 0);
            got[len] = '\0';
            assert_string_equal(got, v[i].linkname);
            continue;
        }
        assert_int_equal(st.st_mode & 07777, v[i].mode);
        if (v[i].type == CSDK_TAR_FILE) {
            unsigned char *body = slurp(path, &n);
            assert_int_equal(st.st_mtim.tv_sec, v[i].mtime);
            assert_int_equal(n, v[i].size);
            if (n)
                assert_memory_equal(body, data[i], n);
            free(body);
        }
    }
    snprintf(path, sizeof path, "%s/x/w/hard", dir);
    assert_int_equal(stat(path, &st), 0);
    snprintf(path, sizeof path, "%s/x/w/hello.txt", dir);
    assert_int_equal(stat(path, &st2), 0);
    assert_int_equal(st.st_ino, st2.st_ino);
    free(a.p);
    free(want.p);
    remove_temp_dir(dir);
}

static bool gnu_tar_available(void)
{
    char line[256] = "";
    FILE *p = popen("tar --version 2>/dev/null", "r");

    if (!p)
        return false;
    if (!fgets(line, sizeof line, p))
        line[0] = '\0';
    pclose(p);
    return strstr(line, "GNU tar") != NULL;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_padding),
        cmocka_unit_test(test_header_is_ustar),
        cmocka_unit_test(test_header_refusals),
        cmocka_unit_test(test_header_max),
        cmocka_unit_test(test_header_name_split),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_round_trip_sizes),
        cmocka_unit_test(test_big_size),
        cmocka_unit_test(test_signed_checksum),
        cmocka_unit_test(test_base256),
        cmocka_unit_test(test_types),
        cmocka_unit_test(test_pax_and_gnu_records),
        cmocka_unit_test(test_damage_checksum_and_fields),
        cmocka_unit_test(test_damage_truncation),
        cmocka_unit_test(test_damage_pax),
        cmocka_unit_test(test_damage_limits),
        cmocka_unit_test(test_error_is_sticky),
        cmocka_unit_test(test_entry_stop),
        cmocka_unit_test(test_data_stop),
        cmocka_unit_test(test_no_callbacks),
        cmocka_unit_test(test_ends),
        cmocka_unit_test(test_gnu_tar_gnu_format),
        cmocka_unit_test(test_gnu_tar_pax_format),
        cmocka_unit_test(test_gnu_tar_ustar_format),
        cmocka_unit_test(test_gnu_tar_reads_writer),
    };
    int failed;

    have_gnu_tar = gnu_tar_available();
    failed = cmocka_run_group_tests(tests, NULL, NULL);
    if (failed)
        return 1;
    if (!have_gnu_tar) {
        fprintf(stderr, "SKIP: GNU tar not found; the interoperability tests "
                        "did not run (apt-get install tar)\n");
        return 77;
    }
    return 0;
}
