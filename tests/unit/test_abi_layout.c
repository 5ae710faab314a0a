/* ABI 1.0 is frozen: these offsets and sizes may never change.  A failure
 * here means a change broke every plugin built against csdk 1.x: add new
 * fields and slots at the end instead.  Values are for LP64 (x86_64,
 * aarch64). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <csdk/csdk.h>
#include <csdk/provider.h>

#define OFF(type, field, want) assert_int_equal(offsetof(type, field), want)

static void test_provider_def(void **s)
{
    typedef csdk_provider_def_t T;
    OFF(T, abi_version, 0);
    OFF(T, struct_size, 4);
    OFF(T, name, 8);
    OFF(T, version, 16);
    OFF(T, description, 24);
    OFF(T, flags, 32);
    OFF(T, reserved, 36);
    OFF(T, init, 40);
    OFF(T, fini, 48);
    OFF(T, create, 56);
    OFF(T, get, 64);
    OFF(T, list, 72);
    OFF(T, destroy, 80);
    OFF(T, run_command, 88);
    OFF(T, run_code, 96);
    OFF(T, info, 104);
    OFF(T, url, 112);
    OFF(T, read_file, 120);
    OFF(T, write_file, 128);
    OFF(T, mkdir, 136);
    OFF(T, readdir, 144);
    OFF(T, exists, 152);
    OFF(T, remove, 160);
    OFF(T, find, 168);
    OFF(T, find_or_create, 176);
    OFF(T, extend_timeout, 184);
    OFF(T, template_create, 192);
    OFF(T, template_list, 200);
    OFF(T, template_delete, 208);
    OFF(T, snapshot_create, 216);
    OFF(T, snapshot_list, 224);
    OFF(T, snapshot_delete, 232);
    assert_int_equal(sizeof(T), 240);
}

static void test_host_table(void **s)
{
    typedef csdk_host_t T;
    OFF(T, abi_version, 0);
    OFF(T, struct_size, 4);
    OFF(T, error, 8);
    OFF(T, retry_after, 16);
    OFF(T, write, 24);
    OFF(T, set_int, 32);
    OFF(T, set_str, 40);
    OFF(T, set_meta, 48);
    OFF(T, next_record, 56);
    OFF(T, remaining_ms, 64);
    OFF(T, cancelled, 72);
    OFF(T, log, 80);
    OFF(T, now_ms, 88);
    OFF(T, monotonic_ms, 96);
    assert_int_equal(sizeof(T), 104);
}

static void test_options(void **s)
{
    OFF(csdk_create_opts_t, struct_size, 0);
    OFF(csdk_create_opts_t, flags, 4);
    OFF(csdk_create_opts_t, runtime, 8);
    OFF(csdk_create_opts_t, template_id, 16);
    OFF(csdk_create_opts_t, timeout_ms, 24);
    OFF(csdk_create_opts_t, env, 32);
    OFF(csdk_create_opts_t, n_env, 40);
    OFF(csdk_create_opts_t, metadata, 48);
    OFF(csdk_create_opts_t, n_metadata, 56);
    OFF(csdk_create_opts_t, extra, 64);
    OFF(csdk_create_opts_t, n_extra, 72);
    assert_int_equal(sizeof(csdk_create_opts_t), 80);

    OFF(csdk_run_opts_t, struct_size, 0);
    OFF(csdk_run_opts_t, flags, 4);
    OFF(csdk_run_opts_t, argv, 8);
    OFF(csdk_run_opts_t, shell, 16);
    OFF(csdk_run_opts_t, cwd, 24);
    OFF(csdk_run_opts_t, env, 32);
    OFF(csdk_run_opts_t, n_env, 40);
    OFF(csdk_run_opts_t, stdin_data, 48);
    OFF(csdk_run_opts_t, stdin_len, 56);
    OFF(csdk_run_opts_t, timeout_ms, 64);
    OFF(csdk_run_opts_t, max_output, 72);
    assert_int_equal(sizeof(csdk_run_opts_t), 80);

    OFF(csdk_kv_t, key, 0);
    OFF(csdk_kv_t, value, 8);
}

/* Status codes, field keys and flags are numbers plugins compile in. */
static void test_constants(void **s)
{
    assert_int_equal(CSDK_ABI_VERSION, 0x10000);
    assert_int_equal(CSDK_OK, 0);
    assert_int_equal(CSDK_E_NOT_SUPPORTED, 1);
    assert_int_equal(CSDK_E_NOT_FOUND, 3);
    assert_int_equal(CSDK_E_RATE_LIMITED, 6);
    assert_int_equal(CSDK_E_TIMEOUT, 8);
    assert_int_equal(CSDK_E_SYNTAX, 13);
    assert_int_equal(CSDK_E_CANCELLED, 17);
    assert_int_equal(CSDK_E_IO, 19);
    assert_int_equal(CSDK_F_ID, 1);
    assert_int_equal(CSDK_F_EXIT_CODE, 9);
    assert_int_equal(CSDK_F_EXPIRES_MS, 18);
    assert_int_equal(CSDK_STREAM_DATA, 0);
    assert_int_equal(CSDK_STREAM_STDOUT, 1);
    assert_int_equal(CSDK_STREAM_STDERR, 2);
    assert_int_equal(CSDK_RESULT_SYNTAX, 4);
    assert_int_equal(CSDK_FILE_DIRECTORY, 2);
    assert_string_equal(csdk_status_name(CSDK_E_SYNTAX), "SYNTAX");
    assert_string_equal(csdk_status_name(CSDK_E_IO), "IO");
    assert_string_equal(csdk_status_name(999), "UNKNOWN");
    assert_string_equal(csdk_method_name(CSDK_M_SNAPSHOT_DELETE),
                        "snapshot_delete");
    assert_null(csdk_method_name(CSDK_M_COUNT));
}

/* CSDK_HAS_FIELD lets a plugin read an options struct from an older
 * caller safely. */
static void test_has_field(void **s)
{
    csdk_run_opts_t o = {.struct_size = offsetof(csdk_run_opts_t, timeout_ms)};
    assert_true(CSDK_HAS_FIELD(csdk_run_opts_t, &o, stdin_len));
    assert_false(CSDK_HAS_FIELD(csdk_run_opts_t, &o, timeout_ms));
    assert_false(CSDK_HAS_FIELD(csdk_run_opts_t, &o, max_output));
    o.struct_size = sizeof o;
    assert_true(CSDK_HAS_FIELD(csdk_run_opts_t, &o, max_output));
}

/* csdk_opts_read: an older caller's missing fields read as zero, a newer
 * caller's extra fields are dropped, NULL is all zero. */
static void test_opts_read(void **s)
{
    struct newer {
        csdk_run_opts_t o;
        uint64_t future;
    } big;
    csdk_run_opts_t old, out;
    const char *argv[] = {"true", NULL};

    memset(&old, 0xff, sizeof old);
    old.struct_size = offsetof(csdk_run_opts_t, timeout_ms);
    old.argv = argv;
    csdk_opts_read(&out, sizeof out, &old);
    assert_int_equal(out.struct_size, sizeof out);
    assert_ptr_equal(out.argv, argv);
    assert_int_equal(out.timeout_ms, 0);
    assert_int_equal(out.max_output, 0);

    memset(&big, 0, sizeof big);
    big.o.struct_size = sizeof big;
    big.o.timeout_ms = 5;
    big.future = 7;
    csdk_opts_read(&out, sizeof out, &big);
    assert_int_equal(out.struct_size, sizeof out);
    assert_int_equal(out.timeout_ms, 5);

    csdk_opts_read(&out, sizeof out, NULL);
    assert_int_equal(out.struct_size, sizeof out);
    assert_null(out.argv);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_provider_def),
        cmocka_unit_test(test_host_table),
        cmocka_unit_test(test_options),
        cmocka_unit_test(test_constants),
        cmocka_unit_test(test_has_field),
        cmocka_unit_test(test_opts_read),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
