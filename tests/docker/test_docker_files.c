/*
 * Unit tests of the docker provider's pure file and saved-image helpers:
 * the archive stat header, the container user, the upload plan and its
 * streamed tar (read back with the SDK's tar reader), the readdir
 * script's output, paths, and the label encoding of saved names.
 *
 * The two sources are included whole, so their static helpers are in
 * reach; the engine calls they make are stubbed to fail (no test here
 * talks to an engine: tests/docker/conformance-*.sh do).
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "files.c"
#include "saved.c"

/* ---- stubs of what the included files call on the engine */

csdk_status_t dk_inspect(dk_state_t *st, csdk_call_t *call, const char *id,
                         json_t **out)
{
    (void)st, (void)call, (void)id;
    *out = NULL;
    return CSDK_E_INTERNAL;
}

csdk_status_t dk_send(dk_state_t *st, csdk_call_t *call,
                      csdk_http_req_t *req, csdk_http_resp_t *resp,
                      const char *what)
{
    (void)st, (void)call, (void)req, (void)what;
    memset(resp, 0, sizeof *resp);
    return CSDK_E_INTERNAL;
}

csdk_status_t dk_reply_error(dk_state_t *st, csdk_call_t *call,
                             const csdk_http_resp_t *resp, const char *what)
{
    (void)st, (void)call, (void)resp, (void)what;
    return CSDK_E_INTERNAL;
}

csdk_status_t dk_json(dk_state_t *st, csdk_call_t *call, const char *method,
                      const char *path, json_t *body, json_t **reply,
                      const char *what, const char *quiet, long *status_out)
{
    (void)st, (void)call, (void)method, (void)path, (void)body;
    (void)what, (void)quiet, (void)status_out;
    if (reply)
        *reply = NULL;
    return CSDK_E_INTERNAL;
}

csdk_status_t dk_exec_collect(dk_state_t *st, csdk_call_t *call,
                              const char *id, const char *const *argv,
                              const void *stdin_data, size_t stdin_len,
                              dk_buf_t *out, dk_buf_t *err, size_t max_bytes,
                              int *exit_code)
{
    (void)st, (void)call, (void)id, (void)argv, (void)stdin_data;
    (void)stdin_len, (void)out, (void)err, (void)max_bytes, (void)exit_code;
    return CSDK_E_INTERNAL;
}

/* ---- the stat header */

static char *b64(const char *s)
{
    char *out = malloc(csdk_b64_encoded_len(strlen(s)) + 1);

    assert_non_null(out);
    csdk_b64_encode(out, s, strlen(s));
    return out;
}

static void test_stat_docker(void **state)
{
    /* A symlink as Docker 20.10 reports it. */
    char *h = b64("{\"name\":\"rel-link\",\"size\":6,\"mode\":134218239,"
                  "\"mtime\":\"2026-11-22T17:18:32.506475422Z\","
                  "\"linkTarget\":\"/workspace/real/f\"}");
    fs_stat_t st;

    (void)state;
    assert_int_equal(fs_stat_parse(h, &st), 0);
    assert_true(st.mode & GO_MODE_SYMLINK);
    assert_false(st.mode & GO_MODE_DIR);
    assert_int_equal(st.mode & 0777, 0777);
    assert_int_equal(st.size, 6);
    assert_int_equal(st.is_dir, -1);
    assert_string_equal(st.link, "/workspace/real/f");
    assert_int_equal(st.mtime_ms, fs_rfc3339_ms("2026-11-22T17:18:32Z") + 506);
    fs_stat_free(&st);
    free(h);
}

static void test_stat_podman(void **state)
{
    char *h = b64("{\"name\":\"real\",\"size\":4096,\"mode\":2147484141,"
                  "\"mtime\":\"2026-11-22T17:20:10Z\",\"isDir\":true,"
                  "\"linkTarget\":\"\"}");
    fs_stat_t st;

    (void)state;
    assert_int_equal(fs_stat_parse(h, &st), 0);
    assert_true(st.mode & GO_MODE_DIR);
    assert_int_equal(st.mode & 0777, 0755);
    assert_int_equal(st.is_dir, 1);
    assert_null(st.link); /* empty means none */
    fs_stat_free(&st);
    free(h);
}

static void test_stat_bad(void **state)
{
    static const char *const bad_json[] = {
        "{\"name\":\"x\"}",                  /* no mode */
        "{\"mode\":\"420\"}",                /* mode not a number */
        "{\"mode\":-1}",                     /* negative */
        "{\"mode\":4294967296}",             /* over 32 bits */
        "[420]",                             /* not an object */
        "{\"mode\":420",                     /* not JSON */
    };
    fs_stat_t st;

    (void)state;
    assert_int_equal(fs_stat_parse(NULL, &st), -1);
    assert_int_equal(fs_stat_parse("", &st), -1);
    assert_int_equal(fs_stat_parse("not base64!", &st), -1);
    for (size_t i = 0; i < sizeof bad_json / sizeof *bad_json; i++) {
        char *h = b64(bad_json[i]);
        assert_int_equal(fs_stat_parse(h, &st), -1);
        assert_null(st.link);
        free(h);
    }
    /* Odd optional fields are ignored, not fatal. */
    {
        char *h = b64("{\"mode\":420,\"size\":\"big\",\"mtime\":\"never\","
                      "\"linkTarget\":7,\"isDir\":\"yes\"}");
        assert_int_equal(fs_stat_parse(h, &st), 0);
        assert_int_equal(st.mode, 420);
        assert_int_equal(st.size, 0);
        assert_int_equal(st.mtime_ms, 0);
        assert_null(st.link);
        assert_int_equal(st.is_dir, -1);
        fs_stat_free(&st);
        free(h);
    }
}

static void test_rfc3339(void **state)
{
    (void)state;
    assert_int_equal(fs_rfc3339_ms("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(fs_rfc3339_ms("1970-01-01T00:00:01.5Z"), 1500);
    assert_int_equal(fs_rfc3339_ms("1970-01-01T01:00:00+01:00"), 0);
    assert_int_equal(fs_rfc3339_ms("1970-01-01T00:00:00.123456789-00:30"),
                     1800123);
    assert_int_equal(fs_rfc3339_ms("2023-11-14T22:13:20Z"), 1700000000000LL);
    assert_int_equal(fs_rfc3339_ms("2023-11-14 22:13:20Z"), -1);
    assert_int_equal(fs_rfc3339_ms("2023-13-14T22:13:20Z"), -1);
    assert_int_equal(fs_rfc3339_ms("2023-11-14T22:13:20"), -1);
    assert_int_equal(fs_rfc3339_ms(NULL), -1);
}

/* ---- the container's user */

static const char passwd[] =
    "root:x:0:0:root:/root:/bin/sh\n"
    "sandbox:x:1000:1001:sandbox:/home/sandbox:/bin/sh\n"
    "broken line\n"
    "app:x:2000:oops:app:/:/bin/sh\n";
static const char group[] = "root:x:0:\nstaff:x:50:sandbox\n";

static void test_user(void **state)
{
    uint32_t uid = 9, gid = 9;

    (void)state;
    assert_false(fs_user_needs_files(""));
    assert_false(fs_user_needs_files("1000:1000"));
    assert_true(fs_user_needs_files("1000"));
    assert_true(fs_user_needs_files("sandbox"));
    assert_true(fs_user_needs_files("1000:staff"));

    assert_int_equal(fs_user_resolve("", NULL, NULL, &uid, &gid), 0);
    assert_int_equal(uid, 0);
    assert_int_equal(gid, 0);
    assert_int_equal(fs_user_resolve("1000:1000", NULL, NULL, &uid, &gid), 0);
    assert_int_equal(uid, 1000);
    assert_int_equal(gid, 1000);
    /* A numeric uid takes its passwd entry's group, else 0. */
    assert_int_equal(fs_user_resolve("1000", passwd, NULL, &uid, &gid), 0);
    assert_int_equal(gid, 1001);
    assert_int_equal(fs_user_resolve("4242", passwd, NULL, &uid, &gid), 0);
    assert_int_equal(uid, 4242);
    assert_int_equal(gid, 0);
    /* Names. */
    assert_int_equal(fs_user_resolve("sandbox", passwd, NULL, &uid, &gid), 0);
    assert_int_equal(uid, 1000);
    assert_int_equal(gid, 1001);
    assert_int_equal(fs_user_resolve("sandbox:staff", passwd, group, &uid,
                                     &gid), 0);
    assert_int_equal(gid, 50);
    assert_int_equal(fs_user_resolve("nobody", passwd, group, &uid, &gid),
                     -1);
    assert_int_equal(fs_user_resolve("sandbox:wheel", passwd, group, &uid,
                                     &gid), -1);
    /* A malformed gid field is not taken for a number. */
    assert_int_equal(fs_user_resolve("app", passwd, NULL, &uid, &gid), 0);
    assert_int_equal(uid, 2000);
    assert_int_equal(gid, 0);
    /* No files at all: names are unknown. */
    assert_int_equal(fs_user_resolve("sandbox", NULL, NULL, &uid, &gid), -1);
    /* Over 32 bits is not a number. */
    assert_int_equal(fs_user_resolve("99999999999", "", "", &uid, &gid), -1);
}

/* ---- the upload plan and its archive */

static void test_plan_names(void **state)
{
    fs_plan_t p;

    (void)state;
    memset(&p, 0, sizeof p);
    assert_int_equal(fs_plan_names(&p, "/a/b/f.txt", 1), 0);
    assert_int_equal(p.ndirs, 2);
    assert_string_equal(p.dirs[0], "a");
    assert_string_equal(p.dirs[1], "a/b");
    assert_string_equal(p.file, "a/b/f.txt");
    fs_plan_free(&p);

    assert_int_equal(fs_plan_names(&p, "/./m1//m2/", 0), 0);
    assert_int_equal(p.ndirs, 2);
    assert_string_equal(p.dirs[1], "m1/m2");
    assert_null(p.file);
    fs_plan_free(&p);

    assert_int_equal(fs_plan_names(&p, "/f", 1), 0);
    assert_int_equal(p.ndirs, 0);
    assert_string_equal(p.file, "f");
    fs_plan_free(&p);

    assert_int_equal(fs_plan_names(&p, "/new/../f", 1), 1);
    fs_plan_free(&p);
    assert_int_equal(fs_plan_names(&p, "/./", 1), 2);
    fs_plan_free(&p);
    assert_int_equal(fs_plan_names(&p, "", 0), 2);
    fs_plan_free(&p);
}

/* What the tar reader saw. */
typedef struct seen {
    char names[8][64];
    char types[8];
    uint32_t modes[8];
    int64_t mtimes[8];
    int n;
    unsigned char *data;
    size_t len;
} seen_t;

static int seen_entry(void *arg, const csdk_tar_entry_t *e)
{
    seen_t *s = arg;

    assert_true(s->n < 8);
    snprintf(s->names[s->n], sizeof s->names[0], "%s", e->name);
    s->types[s->n] = e->type;
    s->modes[s->n] = e->mode;
    s->mtimes[s->n] = e->mtime;
    s->n++;
    return 0;
}

static int seen_data(void *arg, const void *d, size_t n)
{
    seen_t *s = arg;

    s->data = realloc(s->data, s->len + n);
    assert_non_null(s->data);
    memcpy(s->data + s->len, d, n);
    s->len += n;
    return 0;
}

/* The octal or base-256 value of a header field. */
static uint64_t field(const unsigned char *f, size_t width)
{
    uint64_t v = 0;

    if (f[0] & 0x80) {
        for (size_t i = 1; i < width; i++)
            v = v << 8 | f[i];
        return v;
    }
    for (size_t i = 0; i < width && f[i] >= '0' && f[i] <= '7'; i++)
        v = v * 8 + (uint64_t)(f[i] - '0');
    return v;
}

/* Builds the archive for a plan with `len` bytes of data, streams it out
 * in pieces of `step` bytes, and reads it back. */
static void roundtrip(size_t len, size_t step, uint32_t uid, uint32_t gid)
{
    fs_plan_t p;
    fs_body_t body;
    seen_t seen;
    unsigned char *data = malloc(len ? len : 1), *hdr, *out;
    size_t hlen, total = 0, n;
    csdk_tar_reader_t *r;

    for (size_t i = 0; i < len; i++)
        data[i] = (unsigned char)(i * 131 + 7);
    memset(&p, 0, sizeof p);
    assert_int_equal(fs_plan_names(&p, "/d1/d2/file name \xc3\xbc.bin", 1), 0);
    p.size = len;
    p.mode = 0640;
    p.mtime = 1700000000;
    p.uid = uid;
    p.gid = gid;
    hdr = fs_plan_headers(&p, &hlen);
    assert_non_null(hdr);
    assert_int_equal(hlen % CSDK_TAR_BLOCK, 0);
    /* Each entry's ustar block carries the owner. */
    for (size_t off = 0; off < hlen; off += CSDK_TAR_BLOCK)
        if (hdr[off + 156] == '0' || hdr[off + 156] == '5') {
            assert_int_equal(field(hdr + off + 108, 8), uid);
            assert_int_equal(field(hdr + off + 116, 8), gid);
        }
    memset(&body, 0, sizeof body);
    body.hdr = hdr;
    body.hdr_len = hlen;
    body.data = data;
    body.data_len = len;
    body.zeros = csdk_tar_padding(len) + CSDK_TAR_TRAILER;
    out = malloc(fs_body_size(&body));
    assert_non_null(out);
    while ((n = fs_body_read(&body, (char *)out + total,
                             step < fs_body_size(&body) - total
                                 ? step
                                 : (size_t)(fs_body_size(&body) - total))) >
           0)
        total += n;
    assert_int_equal(total, fs_body_size(&body));
    assert_int_equal(total % CSDK_TAR_BLOCK, 0);

    memset(&seen, 0, sizeof seen);
    r = csdk_tar_reader_new(seen_entry, seen_data, &seen);
    assert_non_null(r);
    /* The reader checks every header's checksum: the owner patch must
     * have resealed them. */
    assert_int_equal(csdk_tar_reader_feed(r, out, total), 0);
    assert_int_equal(csdk_tar_reader_finish(r), 0);
    csdk_tar_reader_free(r);
    assert_int_equal(seen.n, 3);
    assert_string_equal(seen.names[0], "d1");
    assert_int_equal(seen.types[0], CSDK_TAR_DIR);
    assert_int_equal(seen.modes[0], 0755);
    assert_string_equal(seen.names[1], "d1/d2");
    assert_string_equal(seen.names[2], "d1/d2/file name \xc3\xbc.bin");
    assert_int_equal(seen.types[2], CSDK_TAR_FILE);
    assert_int_equal(seen.modes[2], 0640);
    assert_int_equal(seen.mtimes[2], 1700000000);
    assert_int_equal(seen.len, len);
    if (len)
        assert_memory_equal(seen.data, data, len);
    free(seen.data);
    free(out);
    free(hdr);
    free(data);
    fs_plan_free(&p);
}

static void test_archive(void **state)
{
    static const size_t sizes[] = {0, 1, 511, 512, 513, 100003};
    static const size_t steps[] = {1, 7, 512, 65536};

    (void)state;
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
        for (size_t j = 0; j < sizeof steps / sizeof *steps; j++)
            if (sizes[i] < 1000 || steps[j] > 1)
                roundtrip(sizes[i], steps[j], 1000, 1000);
    /* Ids past 7 octal digits go base-256. */
    roundtrip(10, 512, 3000000, 70000000);
}

static void test_archive_long_name(void **state)
{
    fs_plan_t p;
    char name[5000];
    size_t hlen;
    unsigned char *hdr;

    (void)state;
    memset(&p, 0, sizeof p);
    name[0] = '/';
    memset(name + 1, 'x', sizeof name - 2);
    name[sizeof name - 1] = '\0';
    assert_int_equal(fs_plan_names(&p, name, 1), 0);
    hdr = fs_plan_headers(&p, &hlen);
    assert_null(hdr);
    assert_int_equal(hlen, 1); /* too long for tar, not out of memory */
    fs_plan_free(&p);
}

/* ---- paths */

static void test_paths(void **state)
{
    static const struct {
        const char *in, *clean;
    } cases[] = {
        {"/", "/"},           {"//", "/"},
        {"/.", "/"},          {"/workspace/..", "/"},
        {"/a/../../b", "/b"}, {"/workspace/", "/workspace"},
        {"/a//b/./c/", "/a/b/c"},
    };
    const char *p = "/workspace/a/b/";
    char *c;

    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        c = fs_clean(cases[i].in);
        assert_string_equal(c, cases[i].clean);
        free(c);
    }
    assert_int_equal(fs_parent_len(p, strlen(p)), strlen("/workspace/a"));
    assert_int_equal(fs_parent_len(p, strlen("/workspace/a")),
                     strlen("/workspace"));
    assert_int_equal(fs_parent_len(p, strlen("/workspace")), 0);
    assert_int_equal(fs_parent_len("//x", 3), 0);
}

/* ---- the readdir script's output */

static void test_readdir_parse(void **state)
{
    static const char good[] = "81a4 8 1700000000\nfile1.txt\0"
                               "41ed 4096 1700000001\nsub\0"
                               "a1ff 6 1700000002\nwith\nnewline\0"
                               "1180 0 0\nfifo\0";
    static const char *const bad[] = {
        "81a4 8 1700000000\nno-nul",   /* name not terminated */
        "81a4 8\nx",                   /* a field missing */
        "zz 8 1\nx",                   /* not hex */
        "81a4 8 1\n",                  /* no name */
        "81a4 -",                      /* no newline */
    };
    fs_dirents_t d = {0};

    (void)state;
    assert_int_equal(fs_readdir_parse(good, sizeof good - 1, &d), 0);
    assert_int_equal(d.n, 4);
    assert_string_equal(d.v[0].name, "file1.txt");
    assert_int_equal(d.v[0].type, CSDK_FILE_REGULAR);
    assert_int_equal(d.v[0].size, 8);
    assert_int_equal(d.v[0].mtime_ms, 1700000000000LL);
    assert_int_equal(d.v[1].type, CSDK_FILE_DIRECTORY);
    assert_string_equal(d.v[2].name, "with\nnewline");
    assert_int_equal(d.v[2].type, CSDK_FILE_SYMLINK);
    assert_int_equal(d.v[3].type, CSDK_FILE_OTHER);
    fs_dirents_free(&d);
    assert_int_equal(fs_readdir_parse("", 0, &d), 0);
    assert_int_equal(d.n, 0);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        assert_int_equal(fs_readdir_parse(bad[i], strlen(bad[i]), &d), 1);
        fs_dirents_free(&d);
    }
    /* A name holding '/' cannot come from a directory. */
    assert_int_equal(fs_readdir_parse("81a4 1 1\na/b\0", 12, &d), 1);
    fs_dirents_free(&d);
}

/* ---- saved images */

static void test_saved_names(void **state)
{
    static const char *const names[] = {
        "plain name", "we\"ird $x %41 \\ \xc3\xbc", "tab\there\nnl", "",
        "100%", "%zz",
    };
    char *enc, *dec;

    (void)state;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        enc = sv_encode(names[i]);
        assert_non_null(enc);
        for (const char *p = enc; *p; p++)
            assert_true(sv_quotable((unsigned char)*p));
        dec = sv_decode(enc);
        assert_string_equal(dec, names[i]);
        free(enc);
        free(dec);
    }
    enc = sv_encode("plain name");
    assert_string_equal(enc, "plain name"); /* readable when it can be */
    free(enc);
    /* A stray '%' (a name set by hand) is kept. */
    dec = sv_decode("50%-off %2");
    assert_string_equal(dec, "50%-off %2");
    free(dec);
}

static void test_image_hex(void **state)
{
    static const char hex[] =
        "3b4aac8b445a8bc44eeb0fbb4839c503246dd0ffef05b06ea81467a2d80aeebc";
    char with[80];

    (void)state;
    snprintf(with, sizeof with, "sha256:%s", hex);
    assert_string_equal(sv_image_hex(with), hex);
    assert_string_equal(sv_image_hex(hex), hex);
    assert_null(sv_image_hex("sha256:3b4aac8b445a"));
    assert_null(sv_image_hex(NULL));
    with[10] = 'G';
    assert_null(sv_image_hex(with));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stat_docker),
        cmocka_unit_test(test_stat_podman),
        cmocka_unit_test(test_stat_bad),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_user),
        cmocka_unit_test(test_plan_names),
        cmocka_unit_test(test_archive),
        cmocka_unit_test(test_archive_long_name),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_readdir_parse),
        cmocka_unit_test(test_saved_names),
        cmocka_unit_test(test_image_hex),
    };

    return cmocka_run_group_tests_name("docker files", tests, NULL, NULL);
}
