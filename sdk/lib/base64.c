/* RFC 4648 base64 (csdk/sdk/base64.h). */
#include <stdint.h>
#include <string.h>

#include "csdk/sdk/base64.h"

static const char enc_tab[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

size_t csdk_b64_encoded_len(size_t n)
{
    if (n / 3 >= SIZE_MAX / 4 - 1)
        return (size_t)-1;
    return (n + 2) / 3 * 4;
}

size_t csdk_b64_encode(char *dst, const void *src, size_t n)
{
    const unsigned char *s = src;
    char *d = dst;

    for (; n >= 3; n -= 3, s += 3) {
        uint32_t v = (uint32_t)s[0] << 16 | (uint32_t)s[1] << 8 | s[2];
        *d++ = enc_tab[v >> 18];
        *d++ = enc_tab[(v >> 12) & 63];
        *d++ = enc_tab[(v >> 6) & 63];
        *d++ = enc_tab[v & 63];
    }
    if (n) {
        uint32_t v = (uint32_t)s[0] << 16 | (n == 2 ? (uint32_t)s[1] << 8 : 0);
        *d++ = enc_tab[v >> 18];
        *d++ = enc_tab[(v >> 12) & 63];
        *d++ = n == 2 ? enc_tab[(v >> 6) & 63] : '=';
        *d++ = '=';
    }
    *d = '\0';
    return (size_t)(d - dst);
}

size_t csdk_b64_decoded_max(size_t n)
{
    return n / 4 * 3 + 3;
}

/* 0-63 for alphabet characters, 64 for whitespace, 65 for '=', 255 bad. */
static unsigned char dec(unsigned char c)
{
    if (c >= 'A' && c <= 'Z') return (unsigned char)(c - 'A');
    if (c >= 'a' && c <= 'z') return (unsigned char)(c - 'a' + 26);
    if (c >= '0' && c <= '9') return (unsigned char)(c - '0' + 52);
    if (c == '+') return 62;
    if (c == '/') return 63;
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t') return 64;
    if (c == '=') return 65;
    return 255;
}

int csdk_b64_decode(void *dst, size_t *out_len, const char *src, size_t n)
{
    unsigned char *d = dst;
    uint32_t acc = 0;
    unsigned have = 0; /* sextets in acc */
    unsigned pad = 0;  /* '=' seen */

    for (size_t i = 0; i < n; i++) {
        unsigned char v = dec((unsigned char)src[i]);
        if (v == 64)
            continue;
        if (v == 255)
            return -1;
        if (v == 65) {
            /* Padding completes a quantum of 2 or 3 characters only. */
            if (have + pad < 2)
                return -1;
            pad++;
            if (have + pad > 4)
                return -1;
            continue;
        }
        if (pad)
            return -1; /* data after padding */
        acc = acc << 6 | v;
        if (++have == 4) {
            *d++ = (unsigned char)(acc >> 16);
            *d++ = (unsigned char)(acc >> 8);
            *d++ = (unsigned char)acc;
            acc = 0;
            have = 0;
        }
    }
    if (pad && have + pad != 4)
        return -1;
    switch (have) {
    case 0:
        break;
    case 1:
        return -1; /* a dangling character encodes no whole byte */
    case 2:
        *d++ = (unsigned char)(acc >> 4);
        break;
    case 3:
        *d++ = (unsigned char)(acc >> 10);
        *d++ = (unsigned char)(acc >> 2);
        break;
    }
    *out_len = (size_t)(d - (unsigned char *)dst);
    return 0;
}
