/* Fuzz target for the SDK tar reader and writer.
 *
 * The first input byte steers the run; the rest is an archive.  The
 * reader must give the same callbacks and the same outcome whether the
 * archive arrives whole or in chunks (sized by a generator seeded from the
 * input), never call back with data it did not announce, and fail with
 * exactly one non-empty line.  A header built from the input bytes must
 * read back as the entry it was built from.
 *
 * With clang and -fsanitize=fuzzer this is a libFuzzer target (`make
 * fuzz-tar`).  Built with FUZZ_REPLAY it is a plain program that runs
 * every file named on its command line through the target, so `make
 * check` replays the corpus with any compiler (and under ASan with
 * --enable-asan). */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csdk/sdk/tar.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define STOP_VALUE 7

/* What one reader run saw. */
typedef struct run {
    uint64_t hash;      /* FNV-1a over every callback's arguments */
    int entries;
    int stop_at;        /* entry whose callback stops the reader; 0: none */
    bool in_dir;        /* the current entry is a directory */
    uint64_t data_left; /* data bytes the current entry still announces */
    int rc;             /* first nonzero feed result, else finish's */
    char err[256];
} run_t;

static void mix(uint64_t *h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        *h = (*h ^ b[i]) * 1099511628211u;
}

static void check_entry(const csdk_tar_entry_t *e)
{
    size_t n = strlen(e->name);
    if (n == 0 || n > CSDK_TAR_MAX_PATH || e->mode > 07777)
        abort();
    if (e->linkname && (!e->linkname[0] || strlen(e->linkname) > CSDK_TAR_MAX_PATH))
        abort();
    if (e->linkname && e->type != CSDK_TAR_SYMLINK && e->type != CSDK_TAR_HARDLINK)
        abort();
    if (e->type >= CSDK_TAR_HARDLINK && e->type <= CSDK_TAR_FIFO && e->size)
        abort(); /* header-only types announce no data */
    if (e->type == '\0' || e->type == 'x' || e->type == 'L' || e->type == 'K')
        abort(); /* mapped or consumed by the reader */
}

static int on_entry(void *arg, const csdk_tar_entry_t *e)
{
    run_t *r = arg;

    check_entry(e);
    if (r->data_left)
        abort(); /* the previous entry's data was cut short */
    mix(&r->hash, e->name, strlen(e->name) + 1);
    if (e->linkname)
        mix(&r->hash, e->linkname, strlen(e->linkname) + 1);
    mix(&r->hash, &e->size, sizeof e->size);
    mix(&r->hash, &e->mtime, sizeof e->mtime);
    mix(&r->hash, &e->mode, sizeof e->mode);
    mix(&r->hash, &e->type, 1);
    r->in_dir = e->type == CSDK_TAR_DIR;
    r->data_left = e->size;
    return ++r->entries == r->stop_at ? STOP_VALUE : 0;
}

static int on_data(void *arg, const void *data, size_t n)
{
    run_t *r = arg;

    if (n == 0 || r->in_dir || n > r->data_left)
        abort();
    r->data_left -= n;
    mix(&r->hash, data, n);
    return 0;
}

static uint32_t xorshift(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/* Reads the archive fed in chunks of at most max_chunk bytes (all of it
 * at once when max_chunk is 0). */
static void read_archive(run_t *out, const uint8_t *p, size_t n,
                         size_t max_chunk, uint32_t seed, int stop_at)
{
    csdk_tar_reader_t *r;

    memset(out, 0, sizeof *out);
    out->hash = 14695981039346656037u;
    out->stop_at = stop_at;
    r = csdk_tar_reader_new(on_entry, on_data, out);
    if (!r)
        abort();
    while (n && !out->rc) {
        size_t k = max_chunk ? 1 + xorshift(&seed) % max_chunk : n;
        if (k > n)
            k = n;
        out->rc = csdk_tar_reader_feed(r, p, k);
        p += k;
        n -= k;
    }
    if (out->rc && csdk_tar_reader_feed(r, "", 1) != out->rc)
        abort(); /* a stopped reader refuses input with the same value */
    if (!out->rc)
        out->rc = csdk_tar_reader_finish(r);
    snprintf(out->err, sizeof out->err, "%s", csdk_tar_reader_error(r));
    csdk_tar_reader_free(r);
    if (out->rc == -1 && (!out->err[0] || strchr(out->err, '\n')))
        abort(); /* an error is exactly one non-empty line */
    if (out->rc == STOP_VALUE && out->err[0])
        abort();
}

static void fuzz_reader(const uint8_t *data, size_t size)
{
    run_t whole, chunked;
    int stop_at = (data[0] >> 3) & 7;
    size_t max_chunk = (size_t)1 << (data[0] & 7); /* 1 .. 128 */

    read_archive(&whole, data + 1, size - 1, 0, 0, stop_at);
    read_archive(&chunked, data + 1, size - 1, max_chunk,
                 (uint32_t)size * 2654435761u | 1, stop_at);
    if (whole.rc != chunked.rc || whole.hash != chunked.hash ||
        whole.entries != chunked.entries || strcmp(whole.err, chunked.err))
        abort();
}

/* --- writer round trip ------------------------------------------------ */

typedef struct expect {
    const csdk_tar_entry_t *want;
    uint64_t data_seen;
    int entries;
} expect_t;

static int on_written_entry(void *arg, const csdk_tar_entry_t *e)
{
    expect_t *x = arg;
    const csdk_tar_entry_t *w = x->want;
    bool link = w->type == CSDK_TAR_SYMLINK || w->type == CSDK_TAR_HARDLINK;

    if (x->entries++ || strcmp(e->name, w->name) || e->size != w->size ||
        e->mtime != w->mtime || e->mode != (w->mode & 07777) ||
        e->type != w->type)
        abort();
    if (link ? !e->linkname || strcmp(e->linkname, w->linkname) : e->linkname != NULL)
        abort();
    /* Past a few KiB the data is not produced; stop here instead. */
    return e->size > 4096 ? STOP_VALUE : 0;
}

static int on_written_data(void *arg, const void *data, size_t n)
{
    expect_t *x = arg;
    x->data_seen += n;
    return 0;
}

static uint64_t take_u64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = v << 8 | p[i];
    return v;
}

/* A path of n bytes drawn from src; NULs become slashes so that the
 * ustar prefix split is exercised. */
static char *make_path(const uint8_t *src, size_t src_len, size_t n)
{
    char *s = malloc(n + 1);
    if (!s)
        abort();
    for (size_t i = 0; i < n; i++) {
        uint8_t c = src_len ? src[i % src_len] : (uint8_t)('a' + i % 26);
        s[i] = c ? (char)c : '/';
    }
    s[n] = '\0';
    return s;
}

static bool entry_expected_valid(const csdk_tar_entry_t *e, size_t nlen,
                                 size_t llen)
{
    bool link = e->type == CSDK_TAR_SYMLINK || e->type == CSDK_TAR_HARDLINK;
    if (nlen == 0 || nlen > CSDK_TAR_MAX_PATH || e->type < '0' || e->type > '6')
        return false;
    if (link && (llen == 0 || llen > CSDK_TAR_MAX_PATH))
        return false;
    return e->type == CSDK_TAR_FILE ? e->size <= INT64_MAX : e->size == 0;
}

static void check_written(const csdk_tar_entry_t *e, unsigned char *buf,
                          size_t hdr_len)
{
    expect_t x = {e, 0, 0};
    csdk_tar_reader_t *r = csdk_tar_reader_new(on_written_entry, on_written_data, &x);
    static const unsigned char zeros[CSDK_TAR_TRAILER];
    int rc;

    if (!r)
        abort();
    rc = csdk_tar_reader_feed(r, buf, hdr_len);
    if (e->size > 4096) {
        if (rc != STOP_VALUE)
            abort();
    } else {
        static const unsigned char payload[4096 + CSDK_TAR_BLOCK];
        size_t n = (size_t)e->size + csdk_tar_padding(e->size);
        if (rc || csdk_tar_reader_feed(r, payload, n) ||
            csdk_tar_reader_feed(r, zeros, sizeof zeros) ||
            csdk_tar_reader_finish(r) || x.data_seen != e->size)
            abort();
    }
    if (x.entries != 1)
        abort();
    csdk_tar_reader_free(r);
}

static void fuzz_writer(const uint8_t *data, size_t size)
{
    static const char types[] = "0123456x\0";
    const uint8_t *rest = data + 24;
    size_t rest_len = size - 24;
    size_t nlen = (size_t)(data[20] << 8 | data[21]) % 4200;
    size_t llen = (size_t)(data[22] << 8 | data[23]) % 4200;
    csdk_tar_entry_t e;
    unsigned char *buf;
    size_t max, n;

    e.size = take_u64(data + 1);
    if (data[19] & 0x80)
        e.size %= 5000; /* small enough to carry real data */
    if (data[19] & 0x40)
        e.size = 0;
    e.mtime = (int64_t)take_u64(data + 9);
    e.mode = (uint32_t)(data[17] << 8 | data[18]);
    e.type = types[(data[19] & 0x3f) % (sizeof types - 1)];
    e.name = make_path(rest, rest_len, nlen);
    e.linkname = make_path(rest + rest_len / 2, rest_len - rest_len / 2, llen);

    max = csdk_tar_header_max(nlen, llen);
    buf = malloc(max);
    if (!buf)
        abort();
    n = csdk_tar_header(buf, max, &e);
    if ((n != 0) != entry_expected_valid(&e, nlen, llen) || n > max ||
        n % CSDK_TAR_BLOCK)
        abort();
    if (n) {
        if (csdk_tar_header(buf, n - 1, &e) != 0)
            abort(); /* one byte short is refused */
        check_written(&e, buf, n);
    }
    free(buf);
    free((char *)e.name);
    free((char *)e.linkname);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    fuzz_reader(data, size);
    if (size >= 24)
        fuzz_writer(data, size);
    return 0;
}

#ifdef FUZZ_REPLAY
static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t cap = 0;

    *len = 0;
    if (!f)
        return NULL;
    for (;;) {
        if (*len == cap) {
            unsigned char *p = realloc(buf, cap ? cap * 2 : 65536);
            if (!p)
                break;
            buf = p;
            cap = cap ? cap * 2 : 65536;
        }
        size_t got = fread(buf + *len, 1, cap - *len, f);
        *len += got;
        if (got == 0)
            break;
    }
    fclose(f);
    return buf;
}

int main(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        size_t len;
        unsigned char *buf = slurp(argv[i], &len);
        if (!buf) {
            perror(argv[i]);
            return 1;
        }
        LLVMFuzzerTestOneInput(buf, len);
        free(buf);
        n++;
    }
    printf("replayed %d inputs\n", n);
    return n > 0 ? 0 : 1;
}
#endif
