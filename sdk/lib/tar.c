/* Streaming tar: a ustar + pax writer and a push parser (csdk/sdk/tar.h).
 *
 * The writer emits what GNU tar and Go's archive/tar (hence the Docker
 * Engine) both read: POSIX ustar headers, preceded by a pax 'x' header
 * when a field does not fit.  The reader also takes GNU's long-name
 * entries and base-256 numbers, which those two tools write. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csdk/provider.h"
#include "csdk/sdk/tar.h"

/* Largest pax or GNU long-name payload the reader buffers. */
#define MAX_META ((size_t)64 << 10)
/* 8^11: the first value 11 octal digits cannot hold. */
#define OCTAL11_LIMIT ((uint64_t)1 << 33)
/* Name of the pax header entry itself; readers that know pax ignore it. */
#define PAX_HEADER_NAME "././@PaxHeader"

/* ustar header fields: offsets and widths (POSIX.1-2001 pax, "ustar"). */
enum {
    H_NAME = 0,
    L_NAME = 100,
    H_MODE = 100,
    L_MODE = 8,
    H_UID = 108,
    H_GID = 116,
    L_ID = 8,
    H_SIZE = 124,
    L_SIZE = 12,
    H_MTIME = 136,
    L_MTIME = 12,
    H_CHKSUM = 148,
    L_CHKSUM = 8,
    H_TYPE = 156,
    H_LINK = 157,
    L_LINK = 100,
    H_MAGIC = 257, /* "ustar\0" "00"; GNU writes "ustar  \0" */
    H_DEVMAJOR = 329,
    H_DEVMINOR = 337,
    L_DEV = 8,
    H_PREFIX = 345,
    L_PREFIX = 155,
};

/* Length of s up to its first NUL, at most max; reads nothing past the
 * NUL (strnlen is not C11). */
static size_t bounded_len(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

static bool type_is_link(char t)
{
    return t == CSDK_TAR_HARDLINK || t == CSDK_TAR_SYMLINK;
}

/* Types that never carry data, whatever their size field says (as in
 * Go's archive/tar, which the Docker Engine uses). */
static bool type_is_header_only(char t)
{
    return t >= CSDK_TAR_HARDLINK && t <= CSDK_TAR_FIFO;
}

size_t csdk_tar_padding(uint64_t size)
{
    return (size_t)((CSDK_TAR_BLOCK - size % CSDK_TAR_BLOCK) % CSDK_TAR_BLOCK);
}

/* --- writer ----------------------------------------------------------- */

static size_t round_block(size_t n)
{
    return (n + CSDK_TAR_BLOCK - 1) / CSDK_TAR_BLOCK * CSDK_TAR_BLOCK;
}

static size_t decimal_digits(size_t v)
{
    size_t d = 1;
    while (v >= 10) {
        v /= 10;
        d++;
    }
    return d;
}

/* Length of the pax record "<len> <key>=<value>\n", whose leading decimal
 * length counts its own digits. */
static size_t pax_record_len(size_t klen, size_t vlen)
{
    size_t base = klen + vlen + 3; /* ' ', '=', '\n' */
    size_t d = decimal_digits(base);
    if (decimal_digits(base + d) > d)
        d++;
    return base + d;
}

size_t csdk_tar_header_max(size_t name_len, size_t linkname_len)
{
    /* Longer names are refused by csdk_tar_header; clamping keeps the
     * sum from overflowing. */
    if (name_len > CSDK_TAR_MAX_PATH)
        name_len = CSDK_TAR_MAX_PATH;
    if (linkname_len > CSDK_TAR_MAX_PATH)
        linkname_len = CSDK_TAR_MAX_PATH;
    size_t pax = pax_record_len(4, name_len) + pax_record_len(8, linkname_len) +
                 pax_record_len(4, 20) + pax_record_len(5, 20);
    return 2 * CSDK_TAR_BLOCK + round_block(pax);
}

/* The pax records an entry needs; len is 0 when plain ustar suffices. */
typedef struct pax_plan {
    bool path, link;
    char size[24], mtime[24]; /* decimal values, "" when not needed */
    size_t len;               /* total bytes of the records */
} pax_plan_t;

/* Checks e against the contract of csdk_tar_header and measures it. */
static bool entry_valid(const csdk_tar_entry_t *e, size_t *nlen, size_t *llen)
{
    if (!e || !e->name || e->type < CSDK_TAR_FILE || e->type > CSDK_TAR_FIFO)
        return false;
    *nlen = bounded_len(e->name, CSDK_TAR_MAX_PATH + 1);
    if (*nlen == 0 || *nlen > CSDK_TAR_MAX_PATH)
        return false;
    *llen = 0;
    if (type_is_link(e->type)) {
        if (!e->linkname)
            return false;
        *llen = bounded_len(e->linkname, CSDK_TAR_MAX_PATH + 1);
        if (*llen == 0 || *llen > CSDK_TAR_MAX_PATH)
            return false;
    }
    if (e->type == CSDK_TAR_FILE)
        return e->size <= INT64_MAX; /* what pax and Go can express */
    return e->size == 0;
}

/* Where to split a name over ustar's prefix and name fields.  Sets
 * *prefix_len to 0 when the name field alone holds it, or to the index
 * of a '/' leaving a nonempty prefix of at most 155 bytes before it and a
 * nonempty name of at most 100 after it.  False when only pax can. */
static bool ustar_split(const char *name, size_t len, size_t *prefix_len)
{
    *prefix_len = 0;
    if (len <= L_NAME)
        return true;
    for (size_t i = len - L_NAME - 1; i + 1 < len && i <= L_PREFIX; i++) {
        if (i > 0 && name[i] == '/') {
            *prefix_len = i;
            return true;
        }
    }
    return false;
}

static void plan_pax(pax_plan_t *pax, const csdk_tar_entry_t *e, size_t nlen,
                     size_t llen, size_t *prefix_len)
{
    memset(pax, 0, sizeof *pax);
    pax->path = !ustar_split(e->name, nlen, prefix_len);
    pax->link = llen > L_LINK;
    if (e->size >= OCTAL11_LIMIT)
        snprintf(pax->size, sizeof pax->size, "%" PRIu64, e->size);
    if (e->mtime < 0 || (uint64_t)e->mtime >= OCTAL11_LIMIT)
        snprintf(pax->mtime, sizeof pax->mtime, "%" PRId64, e->mtime);
    if (pax->path)
        pax->len += pax_record_len(4, nlen);
    if (pax->link)
        pax->len += pax_record_len(8, llen);
    if (pax->size[0])
        pax->len += pax_record_len(4, strlen(pax->size));
    if (pax->mtime[0])
        pax->len += pax_record_len(5, strlen(pax->mtime));
}

/* Writes width-1 octal digits and a NUL; the caller has checked v fits. */
static void put_octal(unsigned char *f, size_t width, uint64_t v)
{
    char tmp[24];
    snprintf(tmp, sizeof tmp, "%0*" PRIo64, (int)(width - 1), v);
    memcpy(f, tmp, width);
}

/* A ustar block with every field but the name, link and checksum. */
static void ustar_block(unsigned char *b, uint32_t mode, uint64_t size,
                        int64_t mtime, char type)
{
    memset(b, 0, CSDK_TAR_BLOCK);
    put_octal(b + H_MODE, L_MODE, mode & 07777);
    put_octal(b + H_UID, L_ID, 0);
    put_octal(b + H_GID, L_ID, 0);
    put_octal(b + H_SIZE, L_SIZE, size);
    /* Out-of-range times are clamped here; a pax record carries them. */
    if (mtime < 0)
        mtime = 0;
    if ((uint64_t)mtime >= OCTAL11_LIMIT)
        mtime = (int64_t)(OCTAL11_LIMIT - 1);
    put_octal(b + H_MTIME, L_MTIME, (uint64_t)mtime);
    b[H_TYPE] = (unsigned char)type;
    memcpy(b + H_MAGIC, "ustar\0" "00", 8);
    put_octal(b + H_DEVMAJOR, L_DEV, 0);
    put_octal(b + H_DEVMINOR, L_DEV, 0);
}

/* Fills in the checksum: the sum of the block's bytes with the checksum
 * field counted as spaces, as six octal digits, a NUL and a space. */
static void ustar_seal(unsigned char *b)
{
    unsigned sum = 0;
    char tmp[8];

    memset(b + H_CHKSUM, ' ', L_CHKSUM);
    for (size_t i = 0; i < CSDK_TAR_BLOCK; i++)
        sum += b[i];
    snprintf(tmp, sizeof tmp, "%06o", sum);
    memcpy(b + H_CHKSUM, tmp, 7);
}

static unsigned char *put_pax_record(unsigned char *d, const char *key,
                                     const char *val, size_t vlen)
{
    size_t klen = strlen(key), len = pax_record_len(klen, vlen);
    char digits[24];
    int n = snprintf(digits, sizeof digits, "%zu ", len);

    memcpy(d, digits, (size_t)n);
    memcpy(d + n, key, klen);
    d[n + klen] = '=';
    memcpy(d + n + klen + 1, val, vlen);
    d[len - 1] = '\n';
    return d + len;
}

/* Writes the 'x' header and its records; returns where the entry's own
 * header goes. */
static unsigned char *write_pax(unsigned char *b, const pax_plan_t *pax,
                                const csdk_tar_entry_t *e, size_t nlen,
                                size_t llen)
{
    unsigned char *d = b + CSDK_TAR_BLOCK;

    ustar_block(b, 0644, pax->len, e->mtime, 'x');
    memcpy(b + H_NAME, PAX_HEADER_NAME, strlen(PAX_HEADER_NAME));
    ustar_seal(b);
    if (pax->path)
        d = put_pax_record(d, "path", e->name, nlen);
    if (pax->link)
        d = put_pax_record(d, "linkpath", e->linkname, llen);
    if (pax->size[0])
        d = put_pax_record(d, "size", pax->size, strlen(pax->size));
    if (pax->mtime[0])
        d = put_pax_record(d, "mtime", pax->mtime, strlen(pax->mtime));
    memset(d, 0, csdk_tar_padding(pax->len));
    return d + csdk_tar_padding(pax->len);
}

/* The entry's ustar header.  Fields that pax carries hold a truncated
 * copy, for readers that do not know pax. */
static void write_entry(unsigned char *b, const pax_plan_t *pax,
                        const csdk_tar_entry_t *e, size_t nlen, size_t llen,
                        size_t prefix_len)
{
    ustar_block(b, e->mode, pax->size[0] ? 0 : e->size, e->mtime, e->type);
    if (prefix_len) {
        memcpy(b + H_PREFIX, e->name, prefix_len);
        memcpy(b + H_NAME, e->name + prefix_len + 1, nlen - prefix_len - 1);
    } else {
        memcpy(b + H_NAME, e->name, nlen < L_NAME ? nlen : L_NAME);
    }
    if (llen)
        memcpy(b + H_LINK, e->linkname, llen < L_LINK ? llen : L_LINK);
    ustar_seal(b);
}

size_t csdk_tar_header(unsigned char *buf, size_t cap,
                       const csdk_tar_entry_t *e)
{
    size_t nlen, llen, prefix_len, total = CSDK_TAR_BLOCK;
    pax_plan_t pax;
    unsigned char *p = buf;

    if (!entry_valid(e, &nlen, &llen))
        return 0;
    plan_pax(&pax, e, nlen, llen, &prefix_len);
    if (pax.len)
        total += CSDK_TAR_BLOCK + round_block(pax.len);
    if (!buf || cap < total)
        return 0;
    if (pax.len)
        p = write_pax(p, &pax, e, nlen, llen);
    write_entry(p, &pax, e, nlen, llen, prefix_len);
    return total;
}

/* --- reader ----------------------------------------------------------- */

enum reader_state {
    R_HEADER, /* collecting a header block */
    R_META,   /* collecting a pax or GNU long-name payload */
    R_DATA,   /* delivering an entry's data */
    R_SKIP,   /* skipping padding or an ignored payload */
    R_END,    /* after the trailer: input is ignored */
};

struct csdk_tar_reader {
    csdk_tar_entry_cb entry_cb;
    csdk_tar_data_cb data_cb;
    void *arg;
    enum reader_state state;
    int status;        /* 0, -1 or a callback's stop value; sticky */
    uint64_t offset;   /* input bytes consumed so far */
    uint64_t hdr_off;  /* offset of the latest header block */
    uint64_t left;     /* bytes still to deliver (R_DATA) or skip (R_SKIP) */
    size_t pad;        /* padding after the data being delivered */
    unsigned char block[CSDK_TAR_BLOCK];
    size_t have;       /* bytes of block collected */
    bool zero_block;   /* the previous block was all zeros */
    /* The payload of a pax or GNU long-name header (R_META). */
    char meta_type;
    char *meta;
    size_t meta_len, meta_have;
    uint64_t meta_off;
    /* What pax and GNU headers say about the next entry. */
    bool pending; /* such a header was read */
    bool has_path, has_link, has_size, has_mtime;
    uint64_t size;
    int64_t mtime;
    char path[CSDK_TAR_MAX_PATH + 1];
    char link[CSDK_TAR_MAX_PATH + 1];
    char err[160];
};

/* Records a one-line error and makes the reader refuse further input. */
static int fail(csdk_tar_reader_t *r, const char *fmt, ...) CSDK_PRINTF(2, 3);
static int fail(csdk_tar_reader_t *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->status = -1;
    return -1;
}

static bool all_zero(const unsigned char *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* Octal digits, optionally led by spaces and ended by spaces or NULs; an
 * empty field reads as 0. */
static bool parse_octal(const unsigned char *f, size_t w, int64_t *out)
{
    size_t i = 0;
    int64_t v = 0;

    while (i < w && f[i] == ' ')
        i++;
    for (; i < w && f[i] >= '0' && f[i] <= '7'; i++)
        v = v * 8 + (f[i] - '0'); /* w <= 12: at most 36 bits */
    while (i < w && (f[i] == ' ' || f[i] == '\0'))
        i++;
    *out = v;
    return i == w;
}

/* GNU's base-256: the high bit of the first byte marks it, the next bit
 * is the sign of a big-endian two's complement number. */
static bool parse_base256(const unsigned char *f, size_t w, int64_t *out)
{
    unsigned char inv = (f[0] & 0x40) ? 0xff : 0;
    uint64_t x = 0;

    for (size_t i = 0; i < w; i++) {
        unsigned char c = (unsigned char)(f[i] ^ inv);
        if (i == 0)
            c &= 0x7f;
        if (x >> 56)
            return false;
        x = x << 8 | c;
    }
    if (x >> 63)
        return false;
    *out = inv ? ~(int64_t)x : (int64_t)x;
    return true;
}

static bool parse_number(const unsigned char *f, size_t w, int64_t *out)
{
    if (f[0] & 0x80)
        return parse_base256(f, w, out);
    return parse_octal(f, w, out);
}

/* Accepts both the unsigned sum POSIX specifies and the signed one some
 * old tars computed. */
static bool checksum_ok(const unsigned char *b)
{
    int64_t want, usum = 0, ssum = 0;

    if (!parse_octal(b + H_CHKSUM, L_CHKSUM, &want))
        return false;
    for (size_t i = 0; i < CSDK_TAR_BLOCK; i++) {
        bool in_field = i >= H_CHKSUM && i < H_CHKSUM + L_CHKSUM;
        unsigned char c = in_field ? ' ' : b[i];
        usum += c;
        ssum += (signed char)c;
    }
    return want == usum || want == ssum;
}

static const char *meta_what(char type)
{
    switch (type) {
    case 'x':
        return "pax header";
    case 'L':
        return "GNU long name";
    default:
        return "GNU long link name";
    }
}

static void clear_pending(csdk_tar_reader_t *r)
{
    r->pending = r->has_path = r->has_link = false;
    r->has_size = r->has_mtime = false;
}

/* Skips n bytes (padding, an ignored payload), then expects a header. */
static void skip_then_header(csdk_tar_reader_t *r, uint64_t n)
{
    r->left = n;
    r->state = n ? R_SKIP : R_HEADER;
}

/* Sets a path override from a pax record or GNU long name.  An empty
 * value removes the override (POSIX: the header field applies again). */
static void set_path(csdk_tar_reader_t *r, char *dst, bool *has,
                     const char *v, size_t n, const char *what)
{
    if (n == 0) {
        *has = false;
        return;
    }
    if (memchr(v, '\0', n)) {
        fail(r, "%s in the header at offset %" PRIu64 " contains a NUL byte",
             what, r->hdr_off);
        return;
    }
    if (n > CSDK_TAR_MAX_PATH) {
        fail(r, "%s in the header at offset %" PRIu64
                " is %zu bytes, over the %d-byte limit",
             what, r->hdr_off, n, CSDK_TAR_MAX_PATH);
        return;
    }
    memcpy(dst, v, n);
    dst[n] = '\0';
    *has = true;
}

/* Decimal digits for a value of at most max. */
static bool parse_decimal(const char *s, size_t n, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (s[i] < '0' || s[i] > '9' || v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* A pax time: [-]seconds[.fraction], within int64 once the fraction is
 * dropped, rounding toward the past as st_mtim.tv_sec does. */
static bool parse_pax_time(const char *s, size_t n, int64_t *out)
{
    bool neg = n > 0 && s[0] == '-', frac = false;
    const char *dot = memchr(s, '.', n);
    size_t int_len = (dot ? (size_t)(dot - s) : n) - neg;
    uint64_t limit = (uint64_t)INT64_MAX + neg, secs;

    if (!parse_decimal(s + neg, int_len, limit, &secs))
        return false;
    for (const char *f = dot ? dot + 1 : s + n; f < s + n; f++) {
        if (*f < '0' || *f > '9')
            return false;
        frac |= *f != '0';
    }
    if (!neg)
        *out = (int64_t)secs;
    else if (secs + frac > limit)
        return false;
    else /* -secs - frac, without forming 2^63 as an int64 */
        *out = secs ? -(int64_t)(secs - 1) - 1 - frac : -(int64_t)frac;
    return true;
}

static void apply_pax(csdk_tar_reader_t *r, const char *k, size_t klen,
                      const char *v, size_t vlen, uint64_t off)
{
#define KEY_IS(s) (klen == sizeof(s) - 1 && memcmp(k, s, klen) == 0)
    if (KEY_IS("path")) {
        set_path(r, r->path, &r->has_path, v, vlen, "pax path");
    } else if (KEY_IS("linkpath")) {
        set_path(r, r->link, &r->has_link, v, vlen, "pax linkpath");
    } else if (KEY_IS("size")) {
        r->has_size = vlen > 0;
        if (vlen && !parse_decimal(v, vlen, INT64_MAX, &r->size))
            fail(r, "bad pax size in the record at offset %" PRIu64, off);
    } else if (KEY_IS("mtime")) {
        r->has_mtime = vlen > 0;
        if (vlen && !parse_pax_time(v, vlen, &r->mtime))
            fail(r, "bad pax mtime in the record at offset %" PRIu64, off);
    } else if (klen > 11 && memcmp(k, "GNU.sparse.", 11) == 0) {
        fail(r, "GNU sparse file in the pax record at offset %" PRIu64
                ": sparse entries are not supported", off);
    }
#undef KEY_IS
}

/* Parses and applies the record at rec (avail bytes remain in the
 * payload); returns its length, or 0 after fail(). */
static size_t pax_record(csdk_tar_reader_t *r, const char *rec, size_t avail,
                         uint64_t off)
{
    size_t len = 0, i = 0;

    for (; i < avail && rec[i] >= '0' && rec[i] <= '9'; i++) {
        len = len * 10 + (size_t)(rec[i] - '0');
        if (len > avail)
            len = avail + 1; /* saturated: only "too long" matters */
    }
    if (i == 0 || i >= avail || rec[i] != ' ') {
        fail(r, "bad pax record length at offset %" PRIu64, off);
        return 0;
    }
    if (len > avail) {
        fail(r, "pax record at offset %" PRIu64
                " claims more bytes than its header holds (%zu left)",
             off, avail);
        return 0;
    }
    if (len < i + 2 || rec[len - 1] != '\n') {
        fail(r, "pax record at offset %" PRIu64
                " does not end with a newline where its length says",
             off);
        return 0;
    }
    const char *key = rec + i + 1, *end = rec + len - 1;
    const char *eq = memchr(key, '=', (size_t)(end - key));
    if (!eq || eq == key) {
        fail(r, "pax record at offset %" PRIu64 " is not key=value", off);
        return 0;
    }
    apply_pax(r, key, (size_t)(eq - key), eq + 1, (size_t)(end - eq - 1), off);
    return r->status ? 0 : len;
}

static void parse_pax(csdk_tar_reader_t *r)
{
    size_t pos = 0;

    while (pos < r->meta_len) {
        size_t len = pax_record(r, r->meta + pos, r->meta_len - pos,
                                r->meta_off + pos);
        if (!len)
            return;
        pos += len;
    }
}

/* A GNU long name: the payload up to its first NUL. */
static void parse_long_name(csdk_tar_reader_t *r)
{
    size_t n = bounded_len(r->meta, r->meta_len);
    bool is_link = r->meta_type == 'K';

    if (n == 0) {
        fail(r, "empty %s in the header at offset %" PRIu64,
             meta_what(r->meta_type), r->hdr_off);
        return;
    }
    if (is_link)
        set_path(r, r->link, &r->has_link, r->meta, n, "GNU long link name");
    else
        set_path(r, r->path, &r->has_path, r->meta, n, "GNU long name");
}

static void end_meta(csdk_tar_reader_t *r)
{
    skip_then_header(r, csdk_tar_padding(r->meta_len));
    r->pending = true;
    if (r->meta_type == 'x')
        parse_pax(r);
    else
        parse_long_name(r);
    free(r->meta);
    r->meta = NULL;
}

static void start_meta(csdk_tar_reader_t *r, char type, uint64_t size)
{
    if (size > MAX_META) {
        fail(r, "%s at offset %" PRIu64 " is %" PRIu64
                " bytes, over the %zu-byte limit",
             meta_what(type), r->hdr_off, size, MAX_META);
        return;
    }
    r->meta = malloc(size ? (size_t)size : 1);
    if (!r->meta) {
        fail(r, "out of memory for the %s at offset %" PRIu64,
             meta_what(type), r->hdr_off);
        return;
    }
    r->meta_type = type;
    r->meta_len = (size_t)size;
    r->meta_have = 0;
    r->meta_off = r->hdr_off + CSDK_TAR_BLOCK;
    r->state = R_META;
    if (size == 0)
        end_meta(r);
}

/* The ustar name: prefix "/" name when the header is POSIX ustar (GNU's
 * header keeps other data where the prefix would be). */
static void header_name(const unsigned char *b, char *out)
{
    size_t n = bounded_len((const char *)b + H_NAME, L_NAME), p = 0;

    if (memcmp(b + H_MAGIC, "ustar\0", 6) == 0)
        p = bounded_len((const char *)b + H_PREFIX, L_PREFIX);
    if (p) {
        memcpy(out, b + H_PREFIX, p);
        out[p++] = '/';
    }
    memcpy(out + p, b + H_NAME, n);
    out[p + n] = '\0';
}

static char entry_type(char raw, const char *name)
{
    size_t n = strlen(name);

    if (raw == '\0') /* pre-POSIX: a trailing slash marks a directory */
        return n && name[n - 1] == '/' ? CSDK_TAR_DIR : CSDK_TAR_FILE;
    if (raw == '7') /* contiguous file: a regular file everywhere */
        return CSDK_TAR_FILE;
    return raw;
}

static void emit_entry(csdk_tar_reader_t *r, uint64_t size)
{
    char name[L_PREFIX + 1 + L_NAME + 1], link[L_LINK + 1];
    int64_t mode, mtime;
    csdk_tar_entry_t e;

    if (!parse_number(r->block + H_MODE, L_MODE, &mode)) {
        fail(r, "bad mode field in the header at offset %" PRIu64, r->hdr_off);
        return;
    }
    if (!parse_number(r->block + H_MTIME, L_MTIME, &mtime)) {
        fail(r, "bad mtime field in the header at offset %" PRIu64, r->hdr_off);
        return;
    }
    header_name(r->block, name);
    e.name = r->has_path ? r->path : name;
    if (!e.name[0]) {
        fail(r, "empty name in the header at offset %" PRIu64, r->hdr_off);
        return;
    }
    e.type = entry_type((char)r->block[H_TYPE], e.name);
    memcpy(link, r->block + H_LINK, L_LINK);
    link[L_LINK] = '\0';
    e.linkname = r->has_link ? r->link : link;
    if (!type_is_link(e.type) || !e.linkname[0])
        e.linkname = NULL;
    e.size = r->has_size ? r->size : size;
    if (type_is_header_only(e.type))
        e.size = 0;
    e.mtime = r->has_mtime ? r->mtime : mtime;
    e.mode = (uint32_t)mode & 07777;

    clear_pending(r);
    r->left = e.size;
    r->pad = csdk_tar_padding(e.size);
    if (e.size)
        r->state = R_DATA;
    else
        skip_then_header(r, 0);
    if (r->entry_cb) {
        int rc = r->entry_cb(r->arg, &e);
        if (rc)
            r->status = rc;
    }
}

static void on_zero_block(csdk_tar_reader_t *r)
{
    if (r->pending) {
        fail(r, "zero block at offset %" PRIu64
                " where an entry should follow its pax or GNU long-name header",
             r->hdr_off);
        return;
    }
    if (r->zero_block)
        r->state = R_END;
    r->zero_block = true;
}

static void on_header(csdk_tar_reader_t *r)
{
    const unsigned char *b = r->block;
    int64_t size;

    if (all_zero(b, CSDK_TAR_BLOCK)) {
        on_zero_block(r);
        return;
    }
    if (r->zero_block) {
        fail(r, "lone zero block before the header at offset %" PRIu64,
             r->hdr_off);
        return;
    }
    if (!checksum_ok(b)) {
        fail(r, "bad header checksum at offset %" PRIu64, r->hdr_off);
        return;
    }
    if (!parse_number(b + H_SIZE, L_SIZE, &size) || size < 0) {
        fail(r, "bad size field in the header at offset %" PRIu64, r->hdr_off);
        return;
    }
    switch (b[H_TYPE]) {
    case 'x':
    case 'L':
    case 'K':
        start_meta(r, (char)b[H_TYPE], (uint64_t)size);
        break;
    case 'g': /* global pax records: nothing here depends on them */
        skip_then_header(r, (uint64_t)size + csdk_tar_padding((uint64_t)size));
        break;
    case 'S':
        fail(r, "GNU sparse entry at offset %" PRIu64 " is not supported",
             r->hdr_off);
        break;
    default:
        emit_entry(r, (uint64_t)size);
    }
}

static size_t take_header(csdk_tar_reader_t *r, const unsigned char *p,
                          size_t n)
{
    size_t k = CSDK_TAR_BLOCK - r->have;

    if (k > n)
        k = n;
    if (r->have == 0)
        r->hdr_off = r->offset;
    memcpy(r->block + r->have, p, k);
    r->have += k;
    if (r->have == CSDK_TAR_BLOCK) {
        r->have = 0;
        on_header(r);
    }
    return k;
}

static size_t take_meta(csdk_tar_reader_t *r, const unsigned char *p,
                        size_t n)
{
    size_t k = r->meta_len - r->meta_have;

    if (k > n)
        k = n;
    memcpy(r->meta + r->meta_have, p, k);
    r->meta_have += k;
    if (r->meta_have == r->meta_len)
        end_meta(r);
    return k;
}

static size_t take_data(csdk_tar_reader_t *r, const unsigned char *p,
                        size_t n)
{
    size_t k = r->left < n ? (size_t)r->left : n;

    r->left -= k;
    if (!r->left)
        skip_then_header(r, r->pad);
    if (r->data_cb) {
        int rc = r->data_cb(r->arg, p, k);
        if (rc)
            r->status = rc;
    }
    return k;
}

static size_t take_skip(csdk_tar_reader_t *r, size_t n)
{
    size_t k = r->left < n ? (size_t)r->left : n;

    r->left -= k;
    if (!r->left)
        r->state = R_HEADER;
    return k;
}

csdk_tar_reader_t *csdk_tar_reader_new(csdk_tar_entry_cb entry_cb,
                                       csdk_tar_data_cb data_cb, void *arg)
{
    csdk_tar_reader_t *r = calloc(1, sizeof *r);

    if (!r)
        return NULL;
    r->entry_cb = entry_cb;
    r->data_cb = data_cb;
    r->arg = arg;
    r->state = R_HEADER;
    return r;
}

int csdk_tar_reader_feed(csdk_tar_reader_t *r, const void *buf, size_t n)
{
    const unsigned char *p = buf;

    while (n && !r->status) {
        size_t used;
        switch (r->state) {
        case R_HEADER:
            used = take_header(r, p, n);
            break;
        case R_META:
            used = take_meta(r, p, n);
            break;
        case R_DATA:
            used = take_data(r, p, n);
            break;
        case R_SKIP:
            used = take_skip(r, n);
            break;
        default: /* R_END: trailing bytes after the trailer */
            used = n;
        }
        p += used;
        n -= used;
        r->offset += used;
    }
    return r->status;
}

int csdk_tar_reader_finish(csdk_tar_reader_t *r)
{
    if (r->status)
        return r->status;
    switch (r->state) {
    case R_END:
        return 0;
    case R_HEADER:
        if (r->have)
            return fail(r, "archive truncated at offset %" PRIu64
                           " inside the header that starts at %" PRIu64,
                        r->offset, r->hdr_off);
        if (r->pending)
            return fail(r, "archive ends at offset %" PRIu64
                           " after a pax or GNU long-name header, without its entry",
                        r->offset);
        return 0;
    case R_META:
        return fail(r, "archive truncated at offset %" PRIu64
                       " inside the %s that starts at %" PRIu64,
                    r->offset, meta_what(r->meta_type), r->hdr_off);
    default:
        return fail(r, "archive truncated at offset %" PRIu64
                       " inside the entry whose header is at %" PRIu64,
                    r->offset, r->hdr_off);
    }
}

const char *csdk_tar_reader_error(const csdk_tar_reader_t *r)
{
    return r->err;
}

void csdk_tar_reader_free(csdk_tar_reader_t *r)
{
    if (!r)
        return;
    free(r->meta);
    free(r);
}
