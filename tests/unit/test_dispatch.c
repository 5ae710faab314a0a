/* Retries, backoff, rate limits and deadlines, on a fake clock so the
 * tests take no time and cannot be flaky. */
#include "testutil.h"

#include "backoff.h"
#include "clock.h"
#include "ratelimit.h"

/* ---- a fake clock: sleeping advances it and is recorded ---- */

typedef struct fake_clock {
    uint64_t now;
    uint64_t slept[64];
    size_t n_slept;
    uint32_t rnd;
} fake_clock_t;

static fake_clock_t fc;

static uint64_t fake_mono(void *ud) { return ((fake_clock_t *)ud)->now; }
static void fake_sleep(void *ud, uint64_t ns)
{
    fake_clock_t *c = ud;
    if (c->n_slept < 64)
        c->slept[c->n_slept++] = ns;
    c->now += ns;
}
static uint32_t fake_random(void *ud) { return ((fake_clock_t *)ud)->rnd; }

static int setup(void **s)
{
    clock_fake_t f = {fake_mono, fake_sleep, fake_random, &fc};
    memset(&fc, 0, sizeof fc);
    fc.now = 1000000000000ull;
    clock_set_fake(&f);
    return 0;
}

static int teardown(void **s)
{
    clock_set_fake(NULL);
    return 0;
}

#define MS 1000000ull

/* ---- pure functions ---- */

static void test_backoff(void **s)
{
    /* Equal jitter: in [ceiling/2, ceiling], ceiling doubling from 100 ms
     * to the 10 s cap. */
    assert_int_equal(backoff_delay_ms(0, 0, 0), 50);
    assert_int_equal(backoff_delay_ms(0, 0, 50), 100);
    assert_int_equal(backoff_delay_ms(0, 0, 51), 50);
    assert_int_equal(backoff_delay_ms(1, 0, 0), 100);
    assert_int_equal(backoff_delay_ms(3, 0, 0), 400);
    assert_int_equal(backoff_delay_ms(30, 0, 0), 5000);
    assert_int_equal(backoff_delay_ms(30, 0, 5000), 10000);
    for (uint32_t r = 0; r < 100000; r += 997) {
        uint64_t d = backoff_delay_ms(2, 0, r);
        assert_true(d >= 200 && d <= 400);
    }
    /* A server's retry-after wins. */
    assert_int_equal(backoff_delay_ms(0, 1500, 12345), 1500);
}

static void test_ratelimit_bucket(void **s)
{
    ratelimit_t rl;
    ratelimit_init(&rl, 2.0, 2.0, 0);
    assert_int_equal(ratelimit_take(&rl, 0), 0);
    assert_int_equal(ratelimit_take(&rl, 0), 0);
    /* Empty: one token takes 500 ms at 2/s. */
    {
        uint64_t w = ratelimit_take(&rl, 0);
        assert_int_equal(w, 500 * MS);
    }
    assert_int_equal(ratelimit_take(&rl, 250 * MS) > 0, 1);
    assert_int_equal(ratelimit_take(&rl, 500 * MS), 0);
    /* Refill is capped at the burst. */
    assert_int_equal(ratelimit_take(&rl, 100000 * MS), 0);
    assert_int_equal(ratelimit_take(&rl, 100000 * MS), 0);
    assert_true(ratelimit_take(&rl, 100000 * MS) > 0);
    /* Unlimited. */
    ratelimit_init(&rl, 0, 1, 0);
    for (int i = 0; i < 100; i++)
        assert_int_equal(ratelimit_take(&rl, 0), 0);
}

static void test_ratelimit_parse(void **s)
{
    double r, b;
    assert_int_equal(ratelimit_parse("10", &r, &b), 0);
    assert_true(r == 10 && b == 10);
    assert_int_equal(ratelimit_parse("10/s", &r, &b), 0);
    assert_true(r == 10 && b == 10);
    assert_int_equal(ratelimit_parse("600/m burst 20", &r, &b), 0);
    assert_true(r == 10 && b == 20);
    assert_int_equal(ratelimit_parse("36/h", &r, &b), 0);
    assert_true(r == 0.01 && b == 1);
    assert_int_equal(ratelimit_parse("", &r, &b), -1);
    assert_int_equal(ratelimit_parse("-1", &r, &b), -1);
    assert_int_equal(ratelimit_parse("5/d", &r, &b), -1);
    assert_int_equal(ratelimit_parse("5/s burst", &r, &b), -1);
    assert_int_equal(ratelimit_parse("5/s junk", &r, &b), -1);
    assert_int_equal(ratelimit_parse("0", &r, &b), -1);
}

/* ---- through the host, with the fake plugin ---- */

static csdk_t *fake_host(const char *extra)
{
    return open_ini(NULL, CSDK_LOG_ERROR,
                    "[host]\nplugin_dir = %s\n[provider.f]\nplugin = fake\n%s",
                    test_plugin_dir(), extra);
}

static const char *meta(const csdk_sandbox_t *sb, const char *key)
{
    for (size_t i = 0; i < sb->n_metadata; i++)
        if (strcmp(sb->metadata[i].key, key) == 0)
            return sb->metadata[i].value;
    return NULL;
}

static void test_retry_then_succeed(void **s)
{
    csdk_t *h = fake_host("fail_times = 2\nretries = 3\n");
    csdk_sandbox_t sb;
    csdk_error_t err;
    csdk_metrics_t m;

    fc.rnd = 0; /* shortest jitter: 50 ms, then 100 ms */
    assert_int_equal(csdk_get(h, "f:fake-9", NULL, &sb, &err), CSDK_OK);
    assert_string_equal(meta(&sb, "attempts"), "3");
    csdk_sandbox_clear(&sb);
    assert_int_equal(fc.n_slept, 2);
    assert_int_equal(fc.slept[0], 50 * MS);
    assert_int_equal(fc.slept[1], 100 * MS);
    assert_int_equal(csdk_metrics_get(h, "f", CSDK_M_GET, &m), CSDK_OK);
    assert_int_equal(m.count, 1);
    assert_int_equal(m.errors, 0);
    assert_int_equal(m.retries, 2);
    csdk_close(h);
}

static void test_retries_exhausted(void **s)
{
    csdk_t *h = fake_host("fail_times = 10\nretries = 2\n");
    csdk_sandbox_t sb;
    csdk_error_t err;
    csdk_metrics_t m;

    assert_int_equal(csdk_get(h, "f:fake-1", NULL, &sb, &err),
                     CSDK_E_CONNECTION);
    assert_int_equal(err.code, CSDK_E_CONNECTION);
    assert_contains(err.message, "provider 'f': get: ");
    assert_int_equal(fc.n_slept, 2);
    assert_int_equal(csdk_metrics_get(h, "f", CSDK_M_GET, &m), CSDK_OK);
    assert_int_equal(m.count, 1);
    assert_int_equal(m.errors, 1);
    assert_int_equal(m.retries, 2);
    csdk_close(h);
}

static void test_retry_after_honoured(void **s)
{
    csdk_t *h = fake_host("fail_times = 1\nfail_code = 6\nretry_after_ms = 1500\n");
    csdk_sandbox_t sb;
    csdk_error_t err;

    fc.rnd = 77;
    assert_int_equal(csdk_get(h, "f:fake-1", NULL, &sb, &err), CSDK_OK);
    csdk_sandbox_clear(&sb);
    assert_int_equal(fc.n_slept, 1);
    assert_int_equal(fc.slept[0], 1500 * MS);
    csdk_close(h);
}

static void test_not_transient_not_retried(void **s)
{
    /* AUTH will not get better by asking again. */
    csdk_t *h = fake_host("fail_times = 1\nfail_code = 4\n");
    csdk_sandbox_t sb;
    csdk_error_t err;
    assert_int_equal(csdk_get(h, "f:fake-1", NULL, &sb, &err), CSDK_E_AUTH);
    assert_int_equal(fc.n_slept, 0);
    csdk_close(h);
}

static void test_retries_zero(void **s)
{
    csdk_t *h = fake_host("fail_times = 1\nretries = 0\n");
    csdk_sandbox_t sb;
    csdk_error_t err;
    assert_int_equal(csdk_get(h, "f:fake-1", NULL, &sb, &err),
                     CSDK_E_CONNECTION);
    assert_int_equal(fc.n_slept, 0);
    csdk_close(h);
}

static void test_not_idempotent_not_retried(void **s)
{
    csdk_t *h = fake_host("fail_times = 1\nfail_method = create\n");
    csdk_sandbox_t sb;
    csdk_error_t err;
    assert_int_equal(csdk_create(h, NULL, NULL, NULL, &sb, &err),
                     CSDK_E_CONNECTION);
    assert_contains(err.message, "provider 'f': create: ");
    assert_int_equal(fc.n_slept, 0);
    /* The next create works: exactly one attempt was made before. */
    assert_int_equal(csdk_create(h, NULL, NULL, NULL, &sb, &err), CSDK_OK);
    csdk_sandbox_clear(&sb);
    csdk_close(h);
}

static void test_deadline_stops_retries(void **s)
{
    /* Each failure asks for 600 ms; a 1000 ms deadline leaves room for
     * one retry only. */
    csdk_t *h = fake_host("fail_times = 10\nretries = 5\nretry_after_ms = 600\n");
    csdk_call_opts_t co = {.struct_size = sizeof co, .deadline_ms = 1000};
    csdk_sandbox_t sb;
    csdk_error_t err;
    csdk_metrics_t m;
    assert_int_equal(csdk_get(h, "f:fake-1", &co, &sb, &err),
                     CSDK_E_CONNECTION);
    assert_int_equal(fc.n_slept, 1);
    assert_int_equal(csdk_metrics_get(h, "f", CSDK_M_GET, &m), CSDK_OK);
    assert_int_equal(m.retries, 1);
    assert_int_equal(err.retry_after_ms, 600);
    csdk_close(h);
}

static void test_rate_limit_waits(void **s)
{
    csdk_t *h = fake_host("rate_limit = 2/s burst 2\n");
    csdk_sandbox_t sb;
    csdk_error_t err;
    csdk_metrics_t m;
    for (int i = 0; i < 3; i++) {
        assert_int_equal(csdk_get(h, "f:fake-1", NULL, &sb, &err), CSDK_OK);
        csdk_sandbox_clear(&sb);
    }
    /* The third call waited for a token: 500 ms at 2/s. */
    assert_int_equal(fc.n_slept, 1);
    assert_int_equal(fc.slept[0], 500 * MS);
    assert_int_equal(csdk_metrics_get(h, "f", CSDK_M_GET, &m), CSDK_OK);
    assert_int_equal(m.rate_limited, 1);
    csdk_close(h);
}

static void test_rate_limit_no_wait(void **s)
{
    csdk_t *h = fake_host("rate_limit = 1/s burst 1\n");
    csdk_call_opts_t co = {.struct_size = sizeof co, .flags = CSDK_CALL_NO_WAIT};
    csdk_sandbox_t sb;
    csdk_error_t err;
    assert_int_equal(csdk_get(h, "f:fake-1", &co, &sb, &err), CSDK_OK);
    csdk_sandbox_clear(&sb);
    assert_int_equal(csdk_get(h, "f:fake-1", &co, &sb, &err),
                     CSDK_E_RATE_LIMITED);
    assert_int_equal(err.retry_after_ms, 1000);
    assert_contains(err.message, "rate limit");
    assert_contains(err.message, "[provider.f]");
    assert_int_equal(fc.n_slept, 0);
    /* A second later a token is there again. */
    fc.now += 1000 * MS;
    assert_int_equal(csdk_get(h, "f:fake-1", &co, &sb, &err), CSDK_OK);
    csdk_sandbox_clear(&sb);
    csdk_close(h);
}

static void test_rate_limit_deadline(void **s)
{
    /* Waiting 10 s for a token would pass a 1 s deadline: fail at once. */
    csdk_t *h = fake_host("rate_limit = 6/m burst 1\n");
    csdk_call_opts_t co = {.struct_size = sizeof co, .deadline_ms = 1000};
    csdk_sandbox_t sb;
    csdk_error_t err;
    assert_int_equal(csdk_get(h, "f:fake-1", &co, &sb, &err), CSDK_OK);
    csdk_sandbox_clear(&sb);
    assert_int_equal(csdk_get(h, "f:fake-1", &co, &sb, &err),
                     CSDK_E_RATE_LIMITED);
    assert_int_equal(err.retry_after_ms, 10000);
    assert_int_equal(fc.n_slept, 0);
    csdk_close(h);
}

static void test_histogram(void **s)
{
    csdk_t *h = fake_host("");
    csdk_sandbox_t sb;
    csdk_error_t err;
    csdk_metrics_t m;
    uint64_t total = 0;
    /* On the fake clock every call takes 0 ns: all in bucket 0. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(csdk_get(h, "f:fake-1", NULL, &sb, &err), CSDK_OK);
        csdk_sandbox_clear(&sb);
    }
    assert_int_equal(csdk_metrics_get(h, "f", CSDK_M_GET, &m), CSDK_OK);
    assert_int_equal(m.count, 5);
    assert_int_equal(m.latency[0], 5);
    for (int i = 0; i < CSDK_LATENCY_BUCKETS; i++)
        total += m.latency[i];
    assert_int_equal(total, 5);
    assert_int_equal(csdk_latency_bucket_ns(0), 256);
    assert_int_equal(csdk_latency_bucket_ns(1), 512);
    assert_true(csdk_latency_bucket_ns(CSDK_LATENCY_BUCKETS - 1) == UINT64_MAX);
    assert_int_equal(csdk_metrics_get(h, "nope", CSDK_M_GET, &m),
                     CSDK_E_NOT_FOUND);
    csdk_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_ratelimit_bucket),
        cmocka_unit_test(test_ratelimit_parse),
        cmocka_unit_test_setup_teardown(test_retry_then_succeed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_exhausted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retry_after_honoured, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_transient_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retries_zero, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_idempotent_not_retried, setup, teardown),
        cmocka_unit_test_setup_teardown(test_deadline_stops_retries, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_waits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_no_wait, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rate_limit_deadline, setup, teardown),
        cmocka_unit_test_setup_teardown(test_histogram, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
