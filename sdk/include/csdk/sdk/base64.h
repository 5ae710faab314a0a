/* csdk/sdk/base64.h - RFC 4648 base64 for plugin authors.
 *
 * Part of the csdk SDK convenience library (sdk/lib), which plugins link
 * statically; nothing here crosses the plugin ABI.  Pure functions: no
 * allocation, no global state, safe from any thread. */
#ifndef CSDK_SDK_BASE64_H
#define CSDK_SDK_BASE64_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Length of the encoding of n bytes, without the terminating NUL.
 * Returns (size_t)-1 when that length would overflow size_t. */
size_t csdk_b64_encoded_len(size_t n);

/* Encodes n bytes of src (standard alphabet, '=' padding) into dst, which
 * must hold csdk_b64_encoded_len(n) + 1 bytes; writes a NUL and returns the
 * length written. */
size_t csdk_b64_encode(char *dst, const void *src, size_t n);

/* Upper bound of the bytes that n characters of base64 decode to. */
size_t csdk_b64_decoded_max(size_t n);

/* Decodes n characters of src into dst (csdk_b64_decoded_max(n) bytes).
 * Accepts the standard alphabet with or without '=' padding, and skips
 * ASCII whitespace (\r \n \t space) anywhere.  Refuses any other byte,
 * misplaced padding and a dangling single character.
 * Returns 0 and sets *out_len, or -1 (dst contents unspecified). */
int csdk_b64_decode(void *dst, size_t *out_len, const char *src, size_t n);

#ifdef __cplusplus
}
#endif
#endif
