/* The loader refuses every kind of bad plugin with a message naming the
 * file, the check and the fix, and a bad plugin never stops the others
 * from loading. */
#include "testutil.h"

#include <sys/stat.h>
#include <unistd.h>

/* Open a host with a good instance "good" and a bad one "bad" loaded from
 * `bad_path`; assert that "bad" is refused with `why` and that "good"
 * loaded and works anyway. */
static void expect_refused(const char *bad_path, const char *extra,
                           const char *why)
{
    log_capture_t cap = {0};
    csdk_t *h = open_ini(&cap, CSDK_LOG_WARN,
                         "[host]\nplugin_dir = %s\ndefault_provider = good\n"
                         "[provider.bad]\nplugin = %s\n%s"
                         "[provider.good]\nplugin = fake\n",
                         test_plugin_dir(), bad_path, extra ? extra : "");
    csdk_provider_info_t bad = provider_named(h, "bad");
    csdk_provider_info_t good = provider_named(h, "good");
    csdk_sandbox_t sb;
    csdk_error_t err;

    assert_int_equal(bad.loaded, 0);
    assert_int_equal(bad.caps, 0);
    assert_contains(bad.error, why);
    assert_null(strchr(bad.error, '\n'));
    /* The refusal is logged as a warning naming the instance. */
    assert_contains(cap.text, "provider 'bad'");
    assert_contains(cap.text, why);

    assert_int_equal(good.loaded, 1);
    assert_string_equal(good.plugin_name, "fake");
    assert_int_equal(csdk_create(h, NULL, NULL, NULL, &sb, &err), CSDK_OK);
    assert_string_equal(sb.provider, "good");
    csdk_sandbox_clear(&sb);

    /* Using the refused instance says why it is unavailable. */
    assert_int_equal(csdk_create(h, "bad", NULL, NULL, &sb, &err),
                     CSDK_E_CONFIG);
    assert_contains(err.message, "provider 'bad' is not available");
    csdk_close(h);
}

static char *plugin(const char *name)
{
    static char buf[4][512];
    static int i;
    char *p = buf[i++ % 4];
    snprintf(p, 512, "%s/%s.so", test_plugin_dir(), name);
    return p;
}

static void test_wrong_major(void **s)
{
    expect_refused(plugin("bad_major"), NULL,
                   "built for plugin ABI 2.0, this host speaks 1.x");
}

static void test_small_struct(void **s)
{
    expect_refused(plugin("bad_size"), NULL,
                   "is smaller than the 120 bytes of ABI 1.0's required slots");
}

static void test_missing_slot(void **s)
{
    expect_refused(plugin("bad_missing"), NULL,
                   "lacks required slot(s): run_code");
}

static void test_no_entry(void **s)
{
    expect_refused(plugin("bad_noentry"), NULL,
                   "no symbol 'csdk_provider_entry'");
}

static void test_entry_override(void **s)
{
    /* entry= names another symbol: the same file then loads. */
    log_capture_t cap = {0};
    csdk_t *h = open_ini(&cap, CSDK_LOG_WARN,
                         "[provider.alt]\nplugin = %s\nentry = csdk_provider_entri\n",
                         plugin("bad_noentry"));
    csdk_provider_info_t pi = provider_named(h, "alt");
    assert_int_equal(pi.loaded, 1);
    csdk_close(h);
}

static void test_entry_null(void **s)
{
    expect_refused(plugin("bad_null"), NULL,
                   "csdk_provider_entry() returned NULL for host ABI 1.0");
}

static void test_bad_name(void **s)
{
    expect_refused(plugin("bad_name"), NULL, "invalid plugin name 'Bad Name!'");
}

static void test_missing_file(void **s)
{
    expect_refused("nonexistent", NULL, "nonexistent.so: cannot load plugin");
}

static void test_init_fails(void **s)
{
    expect_refused(plugin("fake"), "init_fail = 1\n",
                   "init failed (CONFIG): fake: init_fail is set");
}

static void test_unknown_key(void **s)
{
    expect_refused(plugin("fake"), "colour = blue\n", "colour");
}

static void test_not_elf(void **s)
{
    char dir[] = "/tmp/csdk-test-XXXXXX", path[128];
    FILE *f;
    assert_non_null(mkdtemp(dir));
    chmod(dir, 0755);
    snprintf(path, sizeof path, "%s/text.so", dir);
    f = fopen(path, "w");
    fputs("#!/bin/sh\necho not a plugin\n", f);
    fclose(f);
    chmod(path, 0644);
    expect_refused(path, NULL, "not an ELF shared object");
    unlink(path);
    rmdir(dir);
}

/* Copy fake.so into a fresh directory with the given modes. */
static void copy_plugin(const char *dir, char *path, size_t n)
{
    char cmd[1024];
    snprintf(path, n, "%s/fake.so", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", plugin("fake"), path);
    assert_int_equal(system(cmd), 0);
}

static void test_writable_dir(void **s)
{
    char dir[] = "/tmp/csdk-test-XXXXXX", path[256];
    assert_non_null(mkdtemp(dir));
    copy_plugin(dir, path, sizeof path);
    chmod(path, 0755);
    chmod(dir, 0777);
    expect_refused(path, NULL, "is writable by everyone (mode 0777)");
    chmod(dir, 0775);
    expect_refused(path, NULL, "is writable by its group");
    chmod(dir, 0755);
    chmod(path, 0666);
    expect_refused(path, NULL, "the file is writable by everyone");
    chmod(path, 0755);
    {
        /* With safe modes the same file loads. */
        csdk_t *h = open_ini(NULL, CSDK_LOG_ERROR, "[provider.ok]\nplugin = %s\n",
                             path);
        assert_int_equal(provider_named(h, "ok").loaded, 1);
        csdk_close(h);
    }
    unlink(path);
    rmdir(dir);
}

/* A plugin built for a newer minor with a bigger table still loads: the
 * host copies the part it knows. */
static void test_newer_minor(void **s)
{
    csdk_t *h = open_ini(NULL, CSDK_LOG_ERROR, "[provider.n]\nplugin = %s\n",
                         plugin("fake_newer"));
    csdk_provider_info_t pi = provider_named(h, "n");
    assert_int_equal(pi.loaded, 1);
    assert_int_equal(pi.abi_version, (1u << 16) | 7u);
    csdk_close(h);
}

/* Several sections may share one .so; each is its own instance. */
static void test_shared_object(void **s)
{
    csdk_sandbox_t a, b;
    csdk_error_t err;
    csdk_t *h = open_ini(NULL, CSDK_LOG_ERROR,
                         "[host]\nplugin_dir = %s\n[provider.one]\nplugin = fake\n"
                         "[provider.two]\nplugin = fake\n",
                         test_plugin_dir());
    assert_int_equal(csdk_create(h, "one", NULL, NULL, &a, &err), CSDK_OK);
    assert_int_equal(csdk_create(h, "two", NULL, NULL, &b, &err), CSDK_OK);
    assert_string_equal(a.id, "one:fake-1");
    assert_string_equal(b.id, "two:fake-1");
    csdk_sandbox_clear(&a);
    csdk_sandbox_clear(&b);
    csdk_close(h);
}

static void test_disabled(void **s)
{
    csdk_t *h = open_ini(NULL, CSDK_LOG_ERROR,
                         "[host]\nplugin_dir = %s\n[provider.off]\nplugin = fake\n"
                         "enabled = false\n[provider.on]\nplugin = fake\n",
                         test_plugin_dir());
    assert_int_equal(csdk_provider_count(h), 1);
    assert_string_equal(csdk_default_provider(h), "on");
    csdk_close(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrong_major),   cmocka_unit_test(test_small_struct),
        cmocka_unit_test(test_missing_slot),  cmocka_unit_test(test_no_entry),
        cmocka_unit_test(test_entry_override), cmocka_unit_test(test_entry_null),
        cmocka_unit_test(test_bad_name),      cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_init_fails),    cmocka_unit_test(test_unknown_key),
        cmocka_unit_test(test_not_elf),       cmocka_unit_test(test_writable_dir),
        cmocka_unit_test(test_newer_minor),   cmocka_unit_test(test_shared_object),
        cmocka_unit_test(test_disabled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
