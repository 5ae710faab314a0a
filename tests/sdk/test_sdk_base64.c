/* The SDK base64 codec: RFC 4648 vectors both ways, whitespace, every
 * refusal the header promises, and random round trips. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csdk/sdk/base64.h"

/* RFC 4648, section 10. */
static const struct {
    const char *plain, *encoded;
} vectors[] = {
    {"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
    {"foo", "Zm9v"},  {"foob", "Zm9vYg=="},  {"fooba", "Zm9vYmE="},
    {"foobar", "Zm9vYmFy"},
};

/* Decodes src; returns -1 or the decoded length, the bytes in out. */
static long decode(const char *src, unsigned char *out, size_t cap)
{
    size_t n = strlen(src), len = (size_t)-1;
    assert_true(csdk_b64_decoded_max(n) <= cap);
    if (csdk_b64_decode(out, &len, src, n) != 0)
        return -1;
    assert_true(len <= csdk_b64_decoded_max(n));
    return (long)len;
}

static void expect_decoded(const char *src, const char *plain)
{
    unsigned char out[256];
    long n = decode(src, out, sizeof out);
    if (n < 0)
        fail_msg("\"%s\" was refused", src);
    assert_int_equal(n, strlen(plain));
    assert_memory_equal(out, plain, (size_t)n);
}

static void expect_refused(const char *src)
{
    unsigned char out[256];
    if (decode(src, out, sizeof out) != -1)
        fail_msg("\"%s\" was accepted", src);
}

static void test_encode_vectors(void **s)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        size_t n = strlen(vectors[i].plain);
        char out[32];
        memset(out, '#', sizeof out);
        assert_int_equal(csdk_b64_encoded_len(n), strlen(vectors[i].encoded));
        assert_int_equal(csdk_b64_encode(out, vectors[i].plain, n),
                         strlen(vectors[i].encoded));
        assert_string_equal(out, vectors[i].encoded);
    }
}

static void test_decode_vectors(void **s)
{
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        char unpadded[32];
        size_t n = strcspn(vectors[i].encoded, "=");
        expect_decoded(vectors[i].encoded, vectors[i].plain);
        memcpy(unpadded, vectors[i].encoded, n);
        unpadded[n] = '\0';
        expect_decoded(unpadded, vectors[i].plain);
    }
}

static void test_full_alphabet(void **s)
{
    const unsigned char bytes[] = {0x00, 0x10, 0x83, 0x10, 0x51, 0x87, 0x20, 0x92,
                                   0x8b, 0x30, 0xd3, 0x8f, 0x41, 0x14, 0x93, 0x51,
                                   0x55, 0x97, 0x61, 0x96, 0x9b, 0x71, 0xd7, 0x9f,
                                   0x82, 0x18, 0xa3, 0x92, 0x59, 0xa7, 0xa2, 0x9a,
                                   0xab, 0xb2, 0xdb, 0xaf, 0xc3, 0x1c, 0xb3, 0xd3,
                                   0x5d, 0xb7, 0xe3, 0x9e, 0xbb, 0xf3, 0xdf, 0xbf};
    const char *all = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char out[80];
    unsigned char back[64];
    size_t len;

    assert_int_equal(csdk_b64_encode(out, bytes, sizeof bytes), 64);
    assert_string_equal(out, all);
    assert_int_equal(csdk_b64_decode(back, &len, all, 64), 0);
    assert_int_equal(len, sizeof bytes);
    assert_memory_equal(back, bytes, sizeof bytes);
}

static void test_whitespace(void **s)
{
    expect_decoded("Zm9v\r\nYmFy", "foobar");
    expect_decoded(" Z m 9 v Y g = = ", "foob");
    expect_decoded("\tZm8\n=\n", "fo");
    expect_decoded("Zm9vYmE=\r\n", "fooba");
    expect_decoded(" \n\t\r", "");
}

static void test_refusals(void **s)
{
    expect_refused("Zm9v!");       /* not in the alphabet */
    expect_refused("Zm9v-_");      /* the URL-safe alphabet is another one */
    expect_refused("Zm\x80v");
    expect_refused("Zm9\vv");      /* vertical tab is not skipped */
    expect_refused("Z");           /* a dangling character */
    expect_refused("Zm9vY");
    expect_refused("Zm9vY===");
    expect_refused("=Zg");         /* misplaced padding */
    expect_refused("Z=g=");
    expect_refused("Zg=a");
    expect_refused("Zg==Zm9v");    /* data after padding */
    expect_refused("Zg===");       /* too much padding */
    expect_refused("Zm8==");
    expect_refused("Zg=");         /* padding left incomplete */
    expect_refused("Zm9v=");       /* padding after a full quantum */
    expect_refused("====");
}

/* A NUL inside the counted length is a bad byte, not an end. */
static void test_counted_length(void **s)
{
    unsigned char out[16];
    size_t len;

    assert_int_equal(csdk_b64_decode(out, &len, "Zm9v\0Zm9v", 9), -1);
    assert_int_equal(csdk_b64_decode(out, &len, "Zm9vZm9v", 4), 0);
    assert_int_equal(len, 3);
}

static void test_lengths(void **s)
{
    assert_int_equal(csdk_b64_encoded_len(0), 0);
    assert_int_equal(csdk_b64_encoded_len(1), 4);
    assert_int_equal(csdk_b64_encoded_len(3), 4);
    assert_int_equal(csdk_b64_encoded_len(4), 8);
    assert_int_equal(csdk_b64_encoded_len(SIZE_MAX), (size_t)-1);
    assert_int_equal(csdk_b64_encoded_len(SIZE_MAX / 4 * 3), (size_t)-1);
    /* The largest accepted input still gets a length with room for the NUL. */
    size_t big = SIZE_MAX / 4 * 3 - 6;
    size_t enc = csdk_b64_encoded_len(big);
    assert_true(enc != (size_t)-1 && enc < SIZE_MAX);
    assert_int_equal(csdk_b64_decoded_max(0), 3);
    assert_true(csdk_b64_decoded_max(8) >= 6);
    assert_true(csdk_b64_decoded_max(7) >= 5);
}

static void test_random_round_trips(void **s)
{
    uint32_t seed = 12345;
    unsigned char in[300], back[400];
    char enc[401];

    for (size_t n = 0; n <= sizeof in; n++) {
        size_t len = (size_t)-1;
        for (size_t i = 0; i < n; i++) {
            seed ^= seed << 13;
            seed ^= seed >> 17;
            seed ^= seed << 5;
            in[i] = (unsigned char)seed;
        }
        assert_int_equal(csdk_b64_encode(enc, in, n), csdk_b64_encoded_len(n));
        assert_int_equal(strlen(enc), csdk_b64_encoded_len(n));
        assert_true(csdk_b64_decoded_max(strlen(enc)) <= sizeof back);
        assert_int_equal(csdk_b64_decode(back, &len, enc, strlen(enc)), 0);
        assert_int_equal(len, n);
        assert_memory_equal(back, in, n);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_encode_vectors),
        cmocka_unit_test(test_decode_vectors),
        cmocka_unit_test(test_full_alphabet),
        cmocka_unit_test(test_whitespace),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_counted_length),
        cmocka_unit_test(test_lengths),
        cmocka_unit_test(test_random_round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
