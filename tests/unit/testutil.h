/* Helpers shared by the unit tests. */
#ifndef CSDK_TESTUTIL_H
#define CSDK_TESTUTIL_H
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <csdk/csdk.h>

/* The directory of the test plugins (fake.so, bad_*.so). */
static inline const char *test_plugin_dir(void)
{
    const char *d = getenv("CSDK_TEST_BAD_PLUGIN_DIR");
    if (!d) {
        fprintf(stderr, "CSDK_TEST_BAD_PLUGIN_DIR is not set: run through "
                        "make check\n");
        exit(99);
    }
    return d;
}

/* Every log line of a host, for asserting on messages. */
typedef struct log_capture {
    char text[65536];
    size_t len;
} log_capture_t;

static inline void capture_log(void *ud, int32_t level, const char *line)
{
    log_capture_t *c = ud;
    int n = snprintf(c->text + c->len, sizeof c->text - c->len, "%s\n", line);
    if (n > 0 && c->len + (size_t)n < sizeof c->text)
        c->len += (size_t)n;
}

/* Open a host from printf-style INI text; fails the test on error. */
static inline csdk_t *open_ini(log_capture_t *cap, int32_t level,
                               const char *fmt, ...)
{
    char text[8192];
    csdk_open_opts_t o = {.struct_size = sizeof o, .log_level = level,
                          .log_fn = cap ? capture_log : NULL, .log_ud = cap};
    csdk_error_t err = {0};
    csdk_t *h = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (csdk_open_string(text, "test.ini", &o, &h, &err) != CSDK_OK) {
        fprintf(stderr, "open failed: %s\n", err.message);
        fail();
    }
    return h;
}

/* The provider info of instance `name`. */
static inline csdk_provider_info_t provider_named(csdk_t *h, const char *name)
{
    csdk_provider_info_t pi;
    for (size_t i = 0; i < csdk_provider_count(h); i++) {
        assert_int_equal(csdk_provider_get(h, i, &pi), CSDK_OK);
        if (strcmp(pi.name, name) == 0)
            return pi;
    }
    fail_msg("no provider %s", name);
    memset(&pi, 0, sizeof pi);
    return pi;
}

#define assert_contains(hay, needle)                                       \
    do {                                                                   \
        const char *h_ = (hay), *n_ = (needle);                            \
        if (!h_ || !strstr(h_, n_))                                        \
            fail_msg("expected \"%s\" to contain \"%s\"", h_ ? h_ : "(null)", \
                     n_);                                                  \
    } while (0)

#endif
