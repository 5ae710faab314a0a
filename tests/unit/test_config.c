/* Config file edge cases: each error names the file, the line and the
 * fix; nothing is accepted silently. */
#include "testutil.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "config_file.h"

static csdk_status_t parse(const char *text, config_t **cfg, csdk_error_t *err)
{
    memset(err, 0, sizeof *err);
    return config_load_string(text, "t.ini", cfg, err);
}

static void expect_error(const char *text, const char *where,
                         const char *what)
{
    config_t *cfg = (config_t *)1;
    csdk_error_t err;
    assert_int_equal(parse(text, &cfg, &err), CSDK_E_CONFIG);
    assert_null(cfg);
    assert_int_equal(err.code, CSDK_E_CONFIG);
    assert_contains(err.message, where);
    assert_contains(err.message, what);
    assert_null(strchr(err.message, '\n'));
}

static void test_valid(void **s)
{
    config_t *cfg;
    csdk_error_t err;
    const config_section_t *hs;
    const config_entry_t *e;

    assert_int_equal(parse("; comment\n[host]\nlog_level = debug ; why\n\n"
                           "[provider.a]\nplugin = x\nkey = v w\n"
                           "# another\n[provider.b-2]\nplugin=/p/y.so\n",
                           &cfg, &err),
                     CSDK_OK);
    assert_int_equal(cfg->n_sections, 3);
    hs = config_host(cfg);
    assert_non_null(hs);
    e = config_find(hs, "log_level");
    assert_string_equal(e->value, "debug");
    assert_int_equal(e->line, 3);
    assert_string_equal(cfg->sections[1].name, "a");
    assert_true(cfg->sections[1].is_provider);
    assert_int_equal(cfg->sections[1].line, 5);
    e = config_find(&cfg->sections[1], "key");
    assert_string_equal(e->value, "v w");
    assert_int_equal(e->line, 7);
    assert_string_equal(cfg->sections[2].name, "b-2");
    config_free(cfg);
}

static void test_empty(void **s)
{
    config_t *cfg;
    csdk_error_t err;
    assert_int_equal(parse("", &cfg, &err), CSDK_OK);
    assert_int_equal(cfg->n_sections, 0);
    assert_null(config_host(cfg));
    config_free(cfg);
}

/* A section without keys is still an instance (its plugin defaults to
 * its name). */
static void test_empty_section(void **s)
{
    config_t *cfg;
    csdk_error_t err;
    assert_int_equal(parse("[host]\n[provider.example]\n", &cfg, &err), CSDK_OK);
    assert_int_equal(cfg->n_sections, 2);
    assert_string_equal(cfg->sections[1].name, "example");
    assert_int_equal(cfg->sections[1].n_entries, 0);
    config_free(cfg);
}

static void test_duplicates(void **s)
{
    expect_error("[provider.a]\nplugin = x\n[host]\nlog_level=info\n"
                 "[provider.a]\nplugin = y\n",
                 "t.ini:5:", "duplicate section [provider.a] (first on line 1)");
    /* Back to back, the repeat is still a repeat. */
    expect_error("[provider.a]\nplugin = x\n[provider.a]\nplugin = y\n",
                 "t.ini:3:", "duplicate section");
    expect_error("[host]\nlog_level = info\nlog_level = debug\n", "t.ini:3:",
                 "duplicate key 'log_level' (first on line 2)");
    /* Empty sections count too. */
    expect_error("[provider.a]\n[provider.a]\n", "t.ini:2:",
                 "duplicate section [provider.a] (first on line 1)");
    expect_error("[provider.a]\nplugin = x\n  more\n", "t.ini:3:",
                 "multi-line values are not allowed");
}

static void test_unknown(void **s)
{
    expect_error("[host]\nplugin_dri = /x\n", "t.ini:2:",
                 "unknown key 'plugin_dri' in [host]");
    expect_error("[hots]\nx = 1\n", "t.ini:1:", "unknown section [hots]");
    expect_error("[host]\n[hots]\n", "t.ini:2:", "unknown section [hots]");
    expect_error("x = 1\n", "t.ini:1:", "outside any section");
    expect_error("[provider.a:b]\nplugin = x\n", "t.ini:1:",
                 "invalid provider instance name 'a:b'");
}

static void test_syntax(void **s)
{
    expect_error("[provider.a]\nk = 1\n= v\n", "t.ini:3:", "key name is missing");
    expect_error("[host]\nlog_level = info\nthis is not ini\n", "t.ini:3:",
                 "not a [section] header or 'key = value' line");
    expect_error("[host\nlog_level = info\n", "t.ini:1:", "without a closing ']'");
    expect_error("[host]\nplugin_dir = /x\n[provider.a\nplugin = b\n", "t.ini:3:",
                 "without a closing ']'");
}

static void test_long_line(void **s)
{
    char text[1024];
    char value[400];
    memset(value, 'x', sizeof value - 1);
    value[sizeof value - 1] = '\0';
    snprintf(text, sizeof text, "[provider.a]\nplugin = y\nroot = %s\n", value);
    expect_error(text, "t.ini:3:", "bytes long");
    /* A line just under the limit is fine. */
    value[150] = '\0';
    snprintf(text, sizeof text, "[provider.a]\nroot = %s\n", value);
    {
        config_t *cfg;
        csdk_error_t err;
        assert_int_equal(parse(text, &cfg, &err), CSDK_OK);
        config_free(cfg);
    }
}

static void test_files(void **s)
{
    char dir[] = "/tmp/csdk-test-XXXXXX", path[128];
    config_t *cfg;
    csdk_error_t err;
    FILE *f;

    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/missing.ini", dir);
    assert_int_equal(config_load_file(path, &cfg, &err), CSDK_E_CONFIG);
    assert_contains(err.message, path);
    assert_contains(err.message, "No such file");

    /* A directory is not a config file. */
    assert_int_equal(config_load_file(dir, &cfg, &err), CSDK_E_CONFIG);
    assert_contains(err.message, "not a regular file");

    /* A file with a NUL byte. */
    snprintf(path, sizeof path, "%s/nul.ini", dir);
    f = fopen(path, "w");
    fwrite("[host]\n\0x", 1, 9, f);
    fclose(f);
    assert_int_equal(config_load_file(path, &cfg, &err), CSDK_E_CONFIG);
    assert_contains(err.message, "NUL byte");

    /* An error in a file names the file. */
    snprintf(path, sizeof path, "%s/bad.ini", dir);
    f = fopen(path, "w");
    fputs("[host]\nnope = 1\n", f);
    fclose(f);
    assert_int_equal(config_load_file(path, &cfg, &err), CSDK_E_CONFIG);
    assert_contains(err.message, path);
    assert_contains(err.message, ":2:");

    /* Unreadable: as root permissions do not apply, so read it as nobody. */
    chmod(path, 0600);
    if (geteuid() == 0) {
        pid_t pid = fork();
        int st;
        if (pid == 0) {
            if (setgid(65534) != 0 || setuid(65534) != 0)
                _exit(3);
            _exit(config_load_file(path, &cfg, &err) == CSDK_E_CONFIG &&
                          strstr(err.message, "Permission denied") &&
                          strstr(err.message, "check its permissions")
                      ? 0 : 1);
        }
        assert_int_equal(waitpid(pid, &st, 0), pid);
        assert_true(WIFEXITED(st));
        assert_int_equal(WEXITSTATUS(st), 0);
    } else {
        assert_int_equal(config_load_file(path, &cfg, &err), CSDK_E_CONFIG);
        assert_contains(err.message, "Permission denied");
    }
    unlink(path);
    snprintf(path, sizeof path, "%s/nul.ini", dir);
    unlink(path);
    rmdir(dir);
}

/* Values the host interprets are checked when the host opens, and the
 * message never repeats the value (it could be a misplaced secret). */
static void open_expect(const char *text, const char *what)
{
    csdk_t *h = NULL;
    csdk_error_t err = {0};
    csdk_open_opts_t o = {.struct_size = sizeof o, .log_level = CSDK_LOG_ERROR};
    assert_int_equal(csdk_open_string(text, "v.ini", &o, &h, &err),
                     CSDK_E_CONFIG);
    assert_null(h);
    assert_contains(err.message, what);
    assert_null(strstr(err.message, "s3cret"));
}

static void test_values(void **s)
{
    open_expect("[host]\nretries = s3cret\n", "v.ini:2: [host] retries: invalid value");
    open_expect("[host]\nretries = 11\n", "0 to 10");
    open_expect("[host]\nlog_level = s3cret\n", "error, warn, info or debug");
    open_expect("[host]\ntimeout_ms = -1\n", "timeout_ms");
    open_expect("[host]\nrate_limit = 5/x\n", "rate_limit");
    open_expect("[provider.a]\nplugin = /nonexistent/a.so\nenabled = maybe\n",
                "v.ini:3: [provider.a] enabled");
    open_expect("[provider.a]\nplugin = /nonexistent/a.so\nrate_limit = s3cret\n",
                "[provider.a] rate_limit");
    open_expect("[host]\ndefault_provider = b\n[provider.a]\nplugin = /x/a.so\n",
                "default_provider 'b' names no enabled [provider.b]");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),     cmocka_unit_test(test_empty),
        cmocka_unit_test(test_empty_section),
        cmocka_unit_test(test_duplicates), cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_syntax),    cmocka_unit_test(test_long_line),
        cmocka_unit_test(test_files),     cmocka_unit_test(test_values),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
