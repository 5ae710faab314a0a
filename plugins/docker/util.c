/* Small helpers of the docker provider. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "docker.h"

void dk_buf_add(dk_buf_t *b, const void *data, size_t len)
{
    if (b->failed || len == 0)
        return;
    if (len + 1 > b->cap - b->len || !b->data) {
        size_t want = b->cap ? b->cap : 256;
        char *p;
        while (want < b->len + len + 1) {
            if (want > SIZE_MAX / 2) {
                b->failed = 1;
                return;
            }
            want *= 2;
        }
        if (!(p = realloc(b->data, want))) {
            b->failed = 1;
            return;
        }
        b->data = p;
        b->cap = want;
    }
    memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void dk_buf_free(dk_buf_t *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}

char *dk_printf(const char *fmt, ...)
{
    va_list ap;
    char *s;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&s, fmt, ap);
    va_end(ap);
    return n < 0 ? NULL : s;
}

void dk_random_hex(char *out, size_t nhex)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[64];
    size_t nbytes = (nhex + 1) / 2, i;

    if (nbytes > sizeof raw)
        nbytes = sizeof raw, nhex = 2 * sizeof raw;
    if (getrandom(raw, nbytes, 0) != (ssize_t)nbytes) {
        /* No entropy source: names only need to be unlikely to clash. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        for (i = 0; i < nbytes; i++)
            raw[i] = (unsigned char)((uint64_t)ts.tv_nsec >> (i % 8 * 8) ^
                                     (uint64_t)rand() ^ i);
    }
    for (i = 0; i < nhex; i++)
        out[i] = hex[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    out[nhex] = '\0';
}
