/*
 * plugins/local/util.c - small helpers of the local provider: strings,
 * key/value lists, a byte buffer, the meta file's escaping, files and
 * directory trees, and /proc.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ------------------------------------------------------------------ */
/* Strings                                                             */
/* ------------------------------------------------------------------ */

char *lc_strdup(const char *s)
{
    return s != NULL ? strdup(s) : NULL;
}

char *lc_printf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&out, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : out;
}

char *lc_join(const char *dir, const char *name)
{
    return lc_printf("%s/%s", dir, name);
}

/* ------------------------------------------------------------------ */
/* Key/value lists (a later set of the same key replaces the value)    */
/* ------------------------------------------------------------------ */

int lc_pairs_set(lc_pairs_t *p, const char *key, const char *value)
{
    char *v = strdup(value != NULL ? value : "");
    lc_pair_t *grown;

    if (v == NULL)
        return -1;
    for (size_t i = 0; i < p->n; i++) {
        if (strcmp(p->v[i].key, key) == 0) {
            free(p->v[i].value);
            p->v[i].value = v;
            return 0;
        }
    }
    grown = realloc(p->v, (p->n + 1) * sizeof *grown);
    if (grown == NULL) {
        free(v);
        return -1;
    }
    p->v = grown;
    p->v[p->n].key = strdup(key);
    if (p->v[p->n].key == NULL) {
        free(v);
        return -1;
    }
    p->v[p->n++].value = v;
    return 0;
}

const char *lc_pairs_get(const lc_pairs_t *p, const char *key)
{
    for (size_t i = 0; i < p->n; i++)
        if (strcmp(p->v[i].key, key) == 0)
            return p->v[i].value;
    return NULL;
}

void lc_pairs_free(lc_pairs_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        free(p->v[i].key);
        free(p->v[i].value);
    }
    free(p->v);
    p->v = NULL;
    p->n = 0;
}

/* ------------------------------------------------------------------ */
/* Byte buffer                                                         */
/* ------------------------------------------------------------------ */

void lc_buf_add(lc_buf_t *b, const void *data, size_t len)
{
    if (b->failed)
        return;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        char *grown;

        while (cap < b->len + len + 1)
            cap *= 2;
        grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->failed = 1;
            return;
        }
        b->data = grown;
        b->cap = cap;
    }
    if (len > 0)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void lc_buf_str(lc_buf_t *b, const char *s)
{
    lc_buf_add(b, s, strlen(s));
}

void lc_buf_printf(lc_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    char *s = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    if (n < 0) {
        b->failed = 1;
        return;
    }
    lc_buf_add(b, s, (size_t)n);
    free(s);
}

void lc_buf_free(lc_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

void lc_buf_escaped(lc_buf_t *b, const char *s, int is_key)
{
    for (; *s != '\0'; s++) {
        if (*s == '%' || *s == '\n' || *s == '\r' || (is_key && *s == '='))
            lc_buf_printf(b, "%%%02X", (unsigned char)*s);
        else
            lc_buf_add(b, s, 1);
    }
}

static int lc_hexval(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int lc_unescape(char *s)
{
    char *o = s;

    for (char *p = s; *p != '\0'; p++) {
        if (*p == '%') {
            int hi = lc_hexval(p[1]), lo = hi < 0 ? -1 : lc_hexval(p[2]);

            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
                return -1;
            *o++ = (char)(hi << 4 | lo);
            p += 2;
        } else {
            *o++ = *p;
        }
    }
    *o = '\0';
    return 0;
}

int lc_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (s == NULL || *s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

void lc_random_hex(char *out, size_t nhex)
{
    static const char digits[] = "0123456789abcdef";
    unsigned char raw[64];
    size_t nbytes = (nhex + 1) / 2, got = 0;

    if (nbytes > sizeof raw)
        nbytes = sizeof raw;
    while (got < nbytes) {
        ssize_t n = getrandom(raw + got, nbytes - got, 0);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            /* No getrandom (very old kernels): time and pid are enough to
             * keep names apart; they are not secrets. */
            struct timespec ts;

            clock_gettime(CLOCK_REALTIME, &ts);
            for (size_t i = got; i < nbytes; i++)
                raw[i] = (unsigned char)((uint64_t)ts.tv_nsec >> (i % 8 * 8) ^
                                         (uint64_t)getpid() * (i + 1));
            break;
        }
        got += (size_t)n;
    }
    for (size_t i = 0; i < nhex && i / 2 < nbytes; i++)
        out[i] = digits[i % 2 ? raw[i / 2] & 15 : raw[i / 2] >> 4];
    out[nhex] = '\0';
}

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

int lc_mkdir_p(const char *path, mode_t mode)
{
    char *copy = strdup(path);
    int rc = 0;

    if (copy == NULL)
        return -1;
    for (char *p = copy + 1;; p++) {
        char c = *p;

        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (mkdir(copy, mode) != 0 && errno != EEXIST) {
            rc = -1;
            break;
        }
        if (c == '\0')
            break;
        *p = '/';
    }
    free(copy);
    if (rc == 0) {
        struct stat sb;

        if (stat(path, &sb) != 0)
            return -1;
        if (!S_ISDIR(sb.st_mode)) {
            errno = ENOTDIR;
            return -1;
        }
    }
    return rc;
}

/* Remove everything inside directory `fd` (consumed). */
static int lc_empty_dir(int fd)
{
    DIR *d = fdopendir(fd);
    struct dirent *e;
    int rc = 0;

    if (d == NULL) {
        close(fd);
        return -1;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (lc_remove_at(dirfd(d), e->d_name) != 0)
            rc = -1;
    }
    closedir(d);
    return rc;
}

int lc_remove_at(int dirfd, const char *name)
{
    int fd;

    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -1;
    fd = openat(dirfd, name,
                O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1;
    (void)lc_empty_dir(fd);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) != 0 && errno != ENOENT)
        return -1;
    return 0;
}

int lc_remove_tree(const char *path)
{
    return lc_remove_at(AT_FDCWD, path);
}

int lc_write_atomic(const char *path, const void *data, size_t len,
                    mode_t mode)
{
    char *tmp = lc_printf("%s.tmp.%ld", path, (long)getpid());
    const char *p = data;
    int fd, err = 0;

    if (tmp == NULL)
        return -1;
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
              mode);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? errno : EIO;
            break;
        }
        p += n;
        len -= (size_t)n;
    }
    if (close(fd) != 0 && err == 0)
        err = errno;
    if (err == 0 && rename(tmp, path) != 0)
        err = errno;
    if (err != 0)
        (void)unlink(tmp);
    free(tmp);
    errno = err;
    return err ? -1 : 0;
}

int lc_read_small(const char *path, char **out, size_t *len, size_t max)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    lc_buf_t b = {0};
    char chunk[4096];

    *out = NULL;
    if (len)
        *len = 0;
    if (fd < 0)
        return -1;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof chunk);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;

            close(fd);
            lc_buf_free(&b);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        if (b.len + (size_t)n > max) {
            close(fd);
            lc_buf_free(&b);
            errno = EFBIG;
            return -1;
        }
        lc_buf_add(&b, chunk, (size_t)n);
    }
    close(fd);
    lc_buf_add(&b, "", 0);
    if (b.failed) {
        lc_buf_free(&b);
        errno = ENOMEM;
        return -1;
    }
    *out = b.data;
    if (len)
        *len = b.len;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Processes                                                           */
/* ------------------------------------------------------------------ */

int lc_proc_stat(pid_t pid, uint64_t *start, char *state)
{
    char path[64], buf[1024], *p;
    int fd;
    ssize_t n;
    int field;

    if (pid <= 0) {
        errno = ESRCH;
        return -1;
    }
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    /* "pid (comm) S ppid ..."; comm may hold spaces and parentheses, so
     * start after the last ')'. */
    p = strrchr(buf, ')');
    if (p == NULL || p[1] != ' ')
        return -1;
    p += 2;
    if (state)
        *state = *p;
    for (field = 3; field < 22 && p != NULL; field++) {
        p = strchr(p, ' ');
        if (p != NULL)
            p++;
    }
    if (p == NULL)
        return -1;
    if (start)
        *start = strtoull(p, NULL, 10);
    return 0;
}

int lc_proc_matches(pid_t pid, uint64_t start)
{
    uint64_t s;
    char state;

    if (lc_proc_stat(pid, &s, &state) != 0)
        return 0;
    return s == start && state != 'Z' && state != 'X';
}
