/* The public API end to end against real plugins: capability bits derived
 * from the table, per-method NOT_SUPPORTED stubs with ComputeSDK's
 * messages, ids that carry their provider, outputs, and secrets that never
 * reach a log. */
#include "testutil.h"

#include <pthread.h>

static const char *example_dir(void)
{
    const char *d = getenv("CSDK_TEST_PLUGIN_DIR");
    if (!d)
        exit(99);
    return d;
}

static void test_caps_minimal(void **s)
{
    csdk_t *h = open_ini(NULL, CSDK_LOG_ERROR,
                         "[host]\nplugin_dir = %s\n[provider.f]\nplugin = fake\n",
                         test_plugin_dir());
    csdk_provider_info_t pi = provider_named(h, "f");
    uint64_t required = 0;
    for (uint32_t m = 0; m <= CSDK_M_URL; m++)
        required |= CSDK_CAP(m);
    assert_int_equal(pi.loaded, 1);
    assert_true(pi.caps == required);
    assert_string_equal(pi.version, "1.0.0");
    csdk_close(h);
}

static void test_stub_messages(void **s)
{
    csdk_t *h = open_ini(NULL, CSDK_LOG_ERROR,
                         "[host]\nplugin_dir = %s\n[provider.f]\nplugin = fake\n",
                         test_plugin_dir());
    csdk_error_t err;
    csdk_sandbox_t sb;
    csdk_dirent_t *ents;
    size_t n;
    char *tid;

    assert_int_equal(csdk_readdir(h, "f:fake-1", "/", NULL, &ents, &n, &err),
                     CSDK_E_NOT_SUPPORTED);
    assert_string_equal(err.message,
                        "provider 'f': readdir: Filesystem operations are not "
                        "supported by f's sandbox environment.");
    assert_int_equal(csdk_write_file(h, "f:fake-1", "/x", "a", 1, NULL, &err),
                     CSDK_E_NOT_SUPPORTED);
    assert_contains(err.message, "Filesystem operations are not supported by f's");
    assert_int_equal(csdk_find_or_create(h, "f", "ns", "n", NULL, NULL, &sb, &err),
                     CSDK_E_NOT_SUPPORTED);
    assert_contains(err.message, "Provider 'f' does not support findOrCreate.");
    assert_int_equal(csdk_find(h, "f", "ns", "n", NULL, &sb, &err),
                     CSDK_E_NOT_SUPPORTED);
    assert_contains(err.message, "Provider 'f' does not support find.");
    assert_int_equal(csdk_extend_timeout(h, "f:fake-1", 10, NULL, NULL, &err),
                     CSDK_E_NOT_SUPPORTED);
    assert_contains(err.message, "does not support extendTimeout.");
    assert_int_equal(csdk_saved_create(h, CSDK_SAVED_SNAPSHOT, "f:fake-1", NULL,
                                       NULL, &tid, &err),
                     CSDK_E_NOT_SUPPORTED);
    assert_contains(err.message, "does not support snapshots.");
    assert_int_equal(csdk_saved_delete(h, CSDK_SAVED_TEMPLATE, "f:t", NULL, &err),
                     CSDK_E_NOT_SUPPORTED);
    assert_contains(err.message, "does not support templates.");
    csdk_close(h);
}

/* A plugin with some filesystem methods: bits for exactly those, stubs for
 * the rest. */
static void test_partial_fs(void **s)
{
    csdk_t *h = open_ini(NULL, CSDK_LOG_ERROR,
                         "[host]\nplugin_dir = %s\n[provider.p]\nplugin = bad_fs\n",
                         test_plugin_dir());
    csdk_provider_info_t pi = provider_named(h, "p");
    csdk_error_t err;
    assert_true(pi.caps & CSDK_CAP(CSDK_M_READ_FILE));
    assert_true(pi.caps & CSDK_CAP(CSDK_M_EXISTS));
    assert_false(pi.caps & CSDK_CAP(CSDK_M_WRITE_FILE));
    assert_false(pi.caps & CSDK_CAP(CSDK_M_MKDIR));
    assert_false(pi.caps & CSDK_CAP(CSDK_M_READDIR));
    assert_false(pi.caps & CSDK_CAP(CSDK_M_REMOVE));
    assert_int_equal(csdk_mkdir(h, "p:fake-1", "/d", NULL, &err),
                     CSDK_E_NOT_SUPPORTED);
    csdk_close(h);
}

static csdk_t *example_host(log_capture_t *cap, int32_t level)
{
    return open_ini(cap, level,
                    "[host]\nplugin_dir = %s\n[provider.ex]\nplugin = example\n",
                    example_dir());
}

static void test_example_roundtrip(void **s)
{
    csdk_t *h = example_host(NULL, CSDK_LOG_ERROR);
    csdk_provider_info_t pi = provider_named(h, "ex");
    csdk_create_opts_t co = {.struct_size = sizeof co, .runtime = "node"};
    const char *argv[] = {"echo", "hello", "world", NULL};
    csdk_run_opts_t ro = {.struct_size = sizeof ro, .argv = argv};
    csdk_sandbox_t sb, got;
    csdk_result_t res;
    csdk_error_t err;
    unsigned char bin[256];
    void *data;
    size_t len;
    int32_t ex;

    assert_true(pi.caps & CSDK_CAP(CSDK_M_READ_FILE));
    assert_false(pi.caps & CSDK_CAP(CSDK_M_READDIR));
    assert_true(pi.caps & CSDK_CAP(CSDK_M_FIND_OR_CREATE));
    assert_false(pi.caps & CSDK_CAP(CSDK_M_FIND));

    assert_int_equal(csdk_create(h, NULL, &co, NULL, &sb, &err), CSDK_OK);
    assert_true(strncmp(sb.id, "ex:", 3) == 0);
    assert_string_equal(sb.provider, "ex");
    assert_string_equal(sb.runtime, "node");

    assert_int_equal(csdk_get(h, sb.id, NULL, &got, &err), CSDK_OK);
    assert_string_equal(got.id, sb.id);
    csdk_sandbox_clear(&got);

    assert_int_equal(csdk_run_command(h, sb.id, &ro, NULL, &res, &err), CSDK_OK);
    assert_int_equal(res.exit_code, 0);
    assert_int_equal(res.out_len, 12);
    assert_string_equal(res.out, "hello world\n");
    csdk_result_clear(&res);

    for (int i = 0; i < 256; i++)
        bin[i] = (unsigned char)i;
    assert_int_equal(csdk_write_file(h, sb.id, "/workspace/b.bin", bin,
                                     sizeof bin, NULL, &err),
                     CSDK_OK);
    assert_int_equal(csdk_read_file(h, sb.id, "/workspace/b.bin", NULL, &data,
                                    &len, &err),
                     CSDK_OK);
    assert_int_equal(len, 256);
    assert_memory_equal(data, bin, 256);
    free(data);
    assert_int_equal(csdk_exists(h, sb.id, "/workspace/b.bin", NULL, &ex, &err),
                     CSDK_OK);
    assert_int_equal(ex, 1);
    assert_int_equal(csdk_read_file(h, sb.id, "/workspace/none", NULL, &data,
                                    &len, &err),
                     CSDK_E_NOT_FOUND);

    /* Syntax errors are a status, with the interpreter's words kept. */
    assert_int_equal(csdk_run_code(h, sb.id, "console.log((1)", 15, NULL, NULL,
                                   NULL, &res, &err),
                     CSDK_E_SYNTAX);
    assert_true(res.flags & CSDK_RESULT_SYNTAX);
    assert_true(res.err_len > 0);
    csdk_result_clear(&res);

    assert_int_equal(csdk_destroy(h, sb.id, NULL, &err), CSDK_OK);
    assert_int_equal(csdk_destroy(h, sb.id, NULL, &err), CSDK_OK);
    assert_int_equal(csdk_get(h, sb.id, NULL, &got, &err), CSDK_E_NOT_FOUND);
    assert_contains(err.message, "provider 'ex': get: ");
    csdk_sandbox_clear(&sb);
    csdk_close(h);
}

static void test_ids(void **s)
{
    csdk_t *h = example_host(NULL, CSDK_LOG_ERROR);
    csdk_sandbox_t sb;
    csdk_error_t err;
    assert_int_equal(csdk_get(h, "no-colon", NULL, &sb, &err),
                     CSDK_E_INVALID_ARGUMENT);
    assert_contains(err.message, "not a csdk id");
    assert_int_equal(csdk_get(h, "other:ex-1", NULL, &sb, &err),
                     CSDK_E_NOT_FOUND);
    assert_contains(err.message, "no provider 'other'");
    assert_int_equal(csdk_get(h, ":x", NULL, &sb, &err),
                     CSDK_E_INVALID_ARGUMENT);
    assert_int_equal(csdk_create(h, "nope", NULL, NULL, &sb, &err),
                     CSDK_E_NOT_FOUND);
    csdk_close(h);
}

static int32_t collect(void *ud, int32_t stream, const void *data, size_t len)
{
    char *buf = ud;
    strncat(buf, data, len);
    return 0;
}

static int32_t stop_at_once(void *ud, int32_t stream, const void *data,
                            size_t len)
{
    (*(int *)ud)++;
    return 1;
}

static void test_streaming(void **s)
{
    csdk_t *h = example_host(NULL, CSDK_LOG_ERROR);
    const char *argv[] = {"echo", "streamed", NULL};
    csdk_run_opts_t ro = {.struct_size = sizeof ro, .argv = argv};
    char buf[64] = "";
    int calls = 0;
    csdk_call_opts_t co = {.struct_size = sizeof co, .on_output = collect,
                           .output_ud = buf};
    csdk_sandbox_t sb;
    csdk_result_t res;
    csdk_error_t err;

    assert_int_equal(csdk_create(h, NULL, NULL, NULL, &sb, &err), CSDK_OK);
    assert_int_equal(csdk_run_command(h, sb.id, &ro, &co, &res, &err), CSDK_OK);
    assert_string_equal(buf, "streamed\n");
    assert_null(res.out); /* streamed, not buffered */
    csdk_result_clear(&res);

    /* A callback returning non-zero cancels the call. */
    co.on_output = stop_at_once;
    co.output_ud = &calls;
    assert_int_equal(csdk_run_command(h, sb.id, &ro, &co, &res, &err),
                     CSDK_E_CANCELLED);
    assert_int_equal(calls, 1);
    csdk_result_clear(&res);
    csdk_sandbox_clear(&sb);
    csdk_close(h);
}

/* Commands have no deadline unless they have a timeout; a call deadline
 * that passes is TIMEOUT, not CANCELLED. */
static void test_deadlines(void **s)
{
    csdk_t *h = open_ini(NULL, CSDK_LOG_ERROR,
                         "[host]\nplugin_dir = %s\n[provider.ex]\nplugin = example\n"
                         "timeout_ms = 100\n",
                         example_dir());
    const char *argv[] = {"sleep", "0.3", NULL};
    csdk_run_opts_t ro = {.struct_size = sizeof ro, .argv = argv};
    csdk_call_opts_t co = {.struct_size = sizeof co, .deadline_ms = 50};
    csdk_sandbox_t sb;
    csdk_result_t res;
    csdk_error_t err;

    assert_int_equal(csdk_create(h, NULL, NULL, NULL, &sb, &err), CSDK_OK);
    /* Longer than the instance's timeout_ms, but a command may run. */
    assert_int_equal(csdk_run_command(h, sb.id, &ro, NULL, &res, &err), CSDK_OK);
    assert_int_equal(res.exit_code, 0);
    csdk_result_clear(&res);
    /* The caller's own deadline does bind. */
    assert_int_equal(csdk_run_command(h, sb.id, &ro, &co, &res, &err),
                     CSDK_E_TIMEOUT);
    assert_contains(err.message, "deadline of 50 ms passed");
    csdk_result_clear(&res);
    csdk_sandbox_clear(&sb);
    csdk_close(h);
}

static void test_secrets_not_logged(void **s)
{
    log_capture_t cap = {0};
    csdk_t *h = open_ini(&cap, CSDK_LOG_DEBUG,
                         "[host]\nplugin_dir = %s\n[provider.f]\nplugin = fake\n"
                         "secret = hunter2-secret\nfail_times = 1\n"
                         "[provider.g]\nplugin = fake\nsecret = hunter2-secret\n"
                         "init_fail = 1\n",
                         test_plugin_dir());
    csdk_sandbox_t sb;
    csdk_error_t err;
    assert_int_equal(csdk_get(h, "f:fake-1", NULL, &sb, &err), CSDK_OK);
    csdk_sandbox_clear(&sb);
    csdk_close(h);
    assert_true(cap.len > 0); /* debug logging did happen */
    assert_contains(cap.text, "retry 1 of 2");
    assert_null(strstr(cap.text, "hunter2"));
}

static void *hammer(void *arg)
{
    csdk_t *h = arg;
    const char *argv[] = {"echo", "x", NULL};
    csdk_run_opts_t ro = {.struct_size = sizeof ro, .argv = argv};
    csdk_sandbox_t sb;
    csdk_result_t res;
    csdk_error_t err;
    if (csdk_create(h, NULL, NULL, NULL, &sb, &err) != CSDK_OK)
        return (void *)1;
    for (int i = 0; i < 2000; i++) {
        if (csdk_run_command(h, sb.id, &ro, NULL, &res, &err) != CSDK_OK ||
            strcmp(res.out, "x\n") != 0)
            return (void *)1;
        csdk_result_clear(&res);
    }
    csdk_destroy(h, sb.id, NULL, &err);
    csdk_sandbox_clear(&sb);
    return NULL;
}

/* A plugin that is not thread-safe is still safe to call from threads:
 * the host serialises its calls. */
static void test_threads(void **s)
{
    csdk_t *h = example_host(NULL, CSDK_LOG_ERROR);
    pthread_t t[4];
    void *rv;
    csdk_metrics_t m;
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, h), 0);
    for (int i = 0; i < 4; i++) {
        assert_int_equal(pthread_join(t[i], &rv), 0);
        assert_null(rv);
    }
    assert_int_equal(csdk_metrics_get(h, "ex", CSDK_M_RUN_COMMAND, &m), CSDK_OK);
    assert_int_equal(m.count, 8000);
    assert_int_equal(m.errors, 0);
    csdk_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_caps_minimal),
        cmocka_unit_test(test_stub_messages),
        cmocka_unit_test(test_partial_fs),
        cmocka_unit_test(test_example_roundtrip),
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_streaming),
        cmocka_unit_test(test_deadlines),
        cmocka_unit_test(test_secrets_not_logged),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
