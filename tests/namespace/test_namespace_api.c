/* The namespace provider's protocol half (plugins/namespace/api.c) and
 * its configuration (config.c), on canned bodies: request bodies as the
 * API documents them (tests/namespace/API.md), reply parsing, Connect
 * errors to statuses and messages, malformed replies to PROTOCOL with an
 * excerpt, and the token never in a message. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ns.h"

#define SECRET "nsct_s3cr3t-T0KEN-value"

static void assert_contains(const char *s, const char *part)
{
    if (strstr(s, part) == NULL)
        fail_msg("'%s' does not contain '%s'", s, part);
}

static void assert_lacks(const char *s, const char *part)
{
    if (strstr(s, part) != NULL)
        fail_msg("'%s' contains '%s'", s, part);
}

/* One line, no secret: what every message must be. */
static void assert_message(const char *msg)
{
    assert_true(msg[0] != '\0');
    assert_null(strchr(msg, '\n'));
    assert_lacks(msg, SECRET);
    assert_lacks(msg, "s3cr3t");
}

static json_t *load(const char *s)
{
    json_error_t je;
    json_t *o = json_loads(s, 0, &je);

    if (o == NULL)
        fail_msg("not JSON (%s): %s", je.text, s);
    return o;
}

/* ------------------------------------------------------------------ */
/* Requests                                                            */
/* ------------------------------------------------------------------ */

static void test_req_create(void **s)
{
    csdk_kv_t env[] = {{"FOO", "bar baz"}, {"EMPTY", ""}};
    ns_pairs_t labels = {0};
    uint32_t ports[] = {8080, 3000};
    ns_create_req_t r = {0};
    json_t *o, *c;
    char *body;

    (void)s;
    assert_int_equal(ns_pairs_set(&labels, "csdk-client", "abc"), 0);
    assert_int_equal(ns_pairs_set(&labels, "team", "x"), 0);
    r.vcpu = 2;
    r.memory_mb = 4096;
    r.machine_arch = "amd64";
    r.os = "linux";
    r.container = "main-container";
    r.image = "python:3.12";
    r.purpose = "csdk sandbox";
    r.deadline_ms = 1735787045123; /* 2025-01-02T03:04:05.123Z */
    r.env = env;
    r.n_env = 2;
    r.labels = &labels;
    r.ports = ports;
    r.n_ports = 2;
    body = ns_req_create(&r);
    assert_non_null(body);
    o = load(body);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(o, "shape"), "virtualCpu")),
                     2);
    assert_int_equal(json_integer_value(json_object_get(
                         json_object_get(o, "shape"), "memoryMegabytes")),
                     4096);
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(o, "shape"), "machineArch")),
                        "amd64");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(o, "shape"), "os")),
                        "linux");
    assert_string_equal(json_string_value(json_object_get(o, "deadline")),
                        "2025-01-02T03:04:05.123Z");
    assert_string_equal(
        json_string_value(json_object_get(o, "documentedPurpose")),
        "csdk sandbox");
    c = json_array_get(json_object_get(o, "containers"), 0);
    assert_string_equal(json_string_value(json_object_get(c, "name")),
                        "main-container");
    assert_string_equal(json_string_value(json_object_get(c, "imageRef")),
                        "python:3.12");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(c, "args"), 0)),
                        "sleep");
    assert_string_equal(json_string_value(json_object_get(
                            json_object_get(c, "environment"), "FOO")),
                        "bar baz");
    assert_int_equal(json_integer_value(json_object_get(
                         json_array_get(json_object_get(c, "exportPorts"), 1),
                         "containerPort")),
                     3000);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(o, "labels"), 1),
                            "name")),
                        "team");
    json_decref(o);
    free(body);

    /* A built-in image goes as knownImageId, as ComputeSDK sends it. */
    r.image = "builtin:base";
    r.n_env = 0;
    r.n_ports = 0;
    r.labels = NULL;
    body = ns_req_create(&r);
    o = load(body);
    c = json_array_get(json_object_get(o, "containers"), 0);
    assert_null(json_object_get(c, "imageRef"));
    assert_string_equal(json_string_value(json_object_get(c, "knownImageId")),
                        "builtin:base");
    assert_null(json_object_get(c, "environment"));
    assert_null(json_object_get(o, "labels"));
    json_decref(o);
    free(body);
    ns_pairs_free(&labels);
}

static void test_req_small(void **s)
{
    char *b;
    json_t *o;

    (void)s;
    b = ns_req_instance("abc123");
    assert_string_equal(b, "{\"instanceId\":\"abc123\"}");
    free(b);
    b = ns_req_destroy("abc", "csdk destroy");
    o = load(b);
    assert_string_equal(json_string_value(json_object_get(o, "reason")),
                        "csdk destroy");
    json_decref(o);
    free(b);
    b = ns_req_list(NULL);
    assert_string_equal(b, "{}");
    free(b);
    b = ns_req_list("Y3Vyc29y");
    assert_string_equal(b, "{\"paginationCursor\":\"Y3Vyc29y\"}");
    free(b);
    b = ns_req_ingress("abc", 8080);
    o = load(b);
    assert_int_equal(
        json_integer_value(json_object_get(
            json_object_get(json_array_get(json_object_get(o, "ingresses"), 0),
                            "exportedPortBackend"),
            "port")),
        8080);
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(o, "ingresses"), 0),
                            "name")),
                        "port-8080");
    json_decref(o);
    free(b);
}

static void test_req_extend_and_filter(void **s)
{
    ns_pairs_t want = {0};
    json_t *o, *f;
    char *b;

    (void)s;
    /* extendBy is a google.protobuf.Duration: seconds, "s" suffix. */
    b = ns_req_extend("abc", 60000);
    assert_string_equal(b, "{\"instanceId\":\"abc\",\"extendBy\":\"60s\"}");
    free(b);
    b = ns_req_extend("abc", 1500);
    assert_string_equal(b, "{\"instanceId\":\"abc\",\"extendBy\":\"1.500s\"}");
    free(b);
    b = ns_req_extend("abc", 7);
    assert_contains(b, "\"0.007s\"");
    free(b);
    /* labelFilter: one EQUAL entry per label, with the cursor. */
    assert_int_equal(ns_pairs_set(&want, "csdk-namespace", "team"), 0);
    assert_int_equal(ns_pairs_set(&want, "csdk-name", "box"), 0);
    b = ns_req_list_labels("Y3Vy", &want);
    o = load(b);
    assert_string_equal(json_string_value(json_object_get(o,
                                                          "paginationCursor")),
                        "Y3Vy");
    f = json_object_get(o, "labelFilter");
    assert_int_equal(json_array_size(f), 2);
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(f, 1), "name")),
        "csdk-name");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(f, 1), "value")),
        "box");
    assert_string_equal(
        json_string_value(json_object_get(json_array_get(f, 0), "op")),
        "EQUAL");
    json_decref(o);
    free(b);
    b = ns_req_list_labels(NULL, NULL);
    assert_string_equal(b, "{}");
    free(b);
    ns_pairs_free(&want);
}

static void test_label_value(void **s)
{
    char v[NS_LABEL_VALUE_MAX + 1], w[NS_LABEL_VALUE_MAX + 1], big[300];

    (void)s;
    /* FIPS 180-4's examples. */
    ns_sha256_hex("abc", 3, v);
    assert_string_equal(v, "ba7816bf8f01cfea414140de5dae2223"
                           "b00361a396177a9cb410ff61f20015ad");
    ns_sha256_hex("", 0, v);
    assert_string_equal(v, "e3b0c44298fc1c149afbf4c8996fb924"
                           "27ae41e4649b934ca495991b7852b855");
    ns_sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                  56, v);
    assert_string_equal(v, "248d6a61d20638b8e5c026930c3e6039"
                           "a33ce45964ff2167f6ecedd419db06c1");
    /* Plain names go as they are. */
    ns_label_value("conf-ab12_x.y", v);
    assert_string_equal(v, "conf-ab12_x.y");
    /* Anything else is hashed, and never meets a plain value. */
    ns_label_value("my box", v);
    assert_int_equal(strlen(v), 65);
    assert_int_equal(v[0], '~');
    ns_label_value("my bo", w);
    assert_string_not_equal(v, w);
    ns_label_value("~abc", v);
    assert_int_equal(v[0], '~');
    assert_int_equal(strlen(v), 65);
    ns_label_value("caf\xc3\xa9", v);
    assert_int_equal(v[0], '~');
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    ns_label_value(big, v);
    assert_int_equal(strlen(v), 65);
    big[NS_LABEL_VALUE_MAX] = '\0';
    ns_label_value(big, v);
    assert_int_equal(strlen(v), NS_LABEL_VALUE_MAX);
}

static void test_parse_extend(void **s)
{
    static const char *const bad[] = {
        "{}",
        "{\"newDeadline\":12}",
        "{\"newDeadline\":\"tomorrow\"}",
        "{\"newDeadline\":\"2030-01-02T03:04",
        "<html>",
    };
    const char *ok = "{\"newDeadline\":\"2030-01-02T03:04:05.123456Z\"}";
    int64_t d;
    ns_err_t e;

    (void)s;
    memset(&e, 0, sizeof e);
    assert_int_equal(ns_parse_extend(ok, strlen(ok), SECRET, &d, &e),
                     CSDK_OK);
    assert_int_equal(d, ns_parse_time("2030-01-02T03:04:05.123Z"));
    /* snake_case, as for every field. */
    ok = "{\"new_deadline\":\"2030-01-02T03:04:05Z\"}";
    assert_int_equal(ns_parse_extend(ok, strlen(ok), SECRET, &d, &e),
                     CSDK_OK);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0, sizeof e);
        assert_int_equal(ns_parse_extend(bad[i], strlen(bad[i]), SECRET, &d,
                                         &e),
                         CSDK_E_PROTOCOL);
        assert_message(e.msg);
        assert_contains(e.msg, "ExtendInstance");
        assert_int_equal(d, 0);
    }
}

static void test_parse_list_named(void **s)
{
    const char *body =
        "{\"instances\":[{\"instanceId\":\"a1\","
        "\"createdAt\":\"2025-01-02T03:04:05.5Z\",\"status\":\"CREATING\","
        "\"labels\":[{\"name\":\"csdk-provider\",\"value\":\"ns\"},"
        "{\"name\":\"csdk-namespace\",\"value\":\"team\"},"
        "{\"name\":\"csdk-name\",\"value\":\"box\"}]}]}";
    ns_instance_t *v;
    size_t n;
    char *cursor;
    ns_err_t e;

    (void)s;
    assert_int_equal(ns_parse_list(body, strlen(body), SECRET, &v, &n,
                                   &cursor, &e),
                     CSDK_OK);
    assert_int_equal(n, 1);
    assert_null(cursor);
    assert_string_equal(v[0].status, "CREATING");
    assert_int_equal(v[0].created_ms, ns_parse_time("2025-01-02T03:04:05.5Z"));
    assert_string_equal(ns_pairs_get(&v[0].labels, "csdk-name"), "box");
    ns_instances_free(v, n);
}

static void test_req_run(void **s)
{
    const char *argv[] = {"sh", "-c", "echo \"$1\" 'q' \\", "x", "\xc3\xa9"};
    csdk_kv_t env[] = {{"A", "1 2=3"}, {"B", ""}};
    json_t *o, *cmd;
    char *b;

    (void)s;
    b = ns_req_run("abc", "main-container", argv, 5, env, 2, "/tmp");
    assert_non_null(b);
    o = load(b);
    assert_string_equal(json_string_value(json_object_get(o, "instanceId")),
                        "abc");
    assert_string_equal(
        json_string_value(json_object_get(o, "targetContainerName")),
        "main-container");
    cmd = json_object_get(o, "command");
    assert_int_equal(json_array_size(json_object_get(cmd, "command")), 5);
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(cmd, "command"), 2)),
                        "echo \"$1\" 'q' \\");
    assert_string_equal(json_string_value(json_array_get(
                            json_object_get(cmd, "command"), 4)),
                        "\xc3\xa9");
    assert_string_equal(json_string_value(json_object_get(
                            json_array_get(json_object_get(cmd, "envVars"), 0),
                            "value")),
                        "1 2=3");
    assert_string_equal(json_string_value(json_object_get(cmd, "cwd")),
                        "/tmp");
    json_decref(o);
    free(b);
    /* Without env and cwd, neither is sent. */
    b = ns_req_run("abc", "c", argv, 1, NULL, 0, NULL);
    o = load(b);
    cmd = json_object_get(o, "command");
    assert_null(json_object_get(cmd, "envVars"));
    assert_null(json_object_get(cmd, "cwd"));
    json_decref(o);
    free(b);
    /* Not UTF-8: JSON cannot carry it, and the request is refused. */
    argv[0] = "\xff\xfe";
    assert_null(ns_req_run("abc", "c", argv, 1, NULL, 0, NULL));
}

/* ------------------------------------------------------------------ */
/* Replies                                                             */
/* ------------------------------------------------------------------ */

static const char describe_body[] =
    "{\"instanceUrl\":\"https://cloud.namespace.so/x/instance/tbcr8h2m1q6ke\","
    "\"metadata\":{\"instanceId\":\"tbcr8h2m1q6ke\","
    "\"createdAt\":\"2025-01-02T03:04:05.123Z\","
    "\"readyAt\":\"2025-01-02T03:04:05.623456Z\","
    "\"deadline\":\"2025-01-02T04:04:05Z\","
    "\"documentedPurpose\":\"csdk sandbox\","
    "\"shape\":{\"virtualCpu\":2,\"memoryMegabytes\":\"4096\","
    "\"machineArch\":\"amd64\",\"os\":\"linux\"},"
    "\"status\":\"RUNNING\","
    "\"labels\":[{\"name\":\"csdk-client\",\"value\":\"abc\"},"
    "{\"name\":\"team\",\"value\":\"x\"}]},"
    "\"extendedMetadata\":{\"commandServiceEndpoint\":"
    "\"https://cmd.example/cmd/tbcr8h2m1q6ke\"},"
    "\"containers\":[{\"id\":\"c1\",\"name\":\"main-container\"}]}";

static void test_parse_describe(void **s)
{
    ns_instance_t in;
    ns_err_t e;

    (void)s;
    assert_int_equal(ns_parse_describe(describe_body, strlen(describe_body),
                                       "DescribeInstance", SECRET, &in, &e),
                     CSDK_OK);
    assert_string_equal(in.id, "tbcr8h2m1q6ke");
    assert_string_equal(in.status, "RUNNING");
    assert_int_equal(in.created_ms, 1735787045123);
    assert_int_equal(in.ready_ms, 1735787045623);
    assert_int_equal(in.deadline_ms, 1735790645000);
    assert_int_equal(in.vcpu, 2);
    assert_int_equal(in.memory_mb, 4096); /* int64 as a string */
    assert_string_equal(in.machine_arch, "amd64");
    assert_string_equal(in.endpoint, "https://cmd.example/cmd/tbcr8h2m1q6ke");
    assert_string_equal(ns_pairs_get(&in.labels, "team"), "x");
    assert_string_equal(ns_pairs_get(&in.labels, "csdk-client"), "abc");
    ns_instance_free(&in);

    /* Zero values are omitted: a CREATING instance with no labels. */
    {
        const char *b = "{\"metadata\":{\"instanceId\":\"i1\","
                        "\"status\":\"CREATING\"}}";

        assert_int_equal(ns_parse_describe(b, strlen(b), "CreateInstance",
                                           NULL, &in, &e),
                         CSDK_OK);
        assert_string_equal(in.status, "CREATING");
        assert_null(in.endpoint);
        assert_int_equal(in.labels.n, 0);
        assert_int_equal(in.ready_ms, 0);
        ns_instance_free(&in);
    }
    /* Enums may be numbers. */
    {
        const char *b = "{\"metadata\":{\"instanceId\":\"i1\",\"status\":4}}";

        assert_int_equal(ns_parse_describe(b, strlen(b), "DescribeInstance",
                                           NULL, &in, &e),
                         CSDK_OK);
        assert_string_equal(in.status, "DESTROYED");
        ns_instance_free(&in);
    }
}

static void test_parse_list(void **s)
{
    const char *b =
        "{\"instances\":[{\"instanceId\":\"a1\",\"status\":\"RUNNING\","
        "\"labels\":[{\"name\":\"csdk-client\",\"value\":\"x\"}]},"
        "{\"metadata\":{\"instanceId\":\"b2\",\"status\":\"CREATING\"}}],"
        "\"paginationCursor\":\"bmV4dA==\"}";
    ns_instance_t *v;
    size_t n;
    char *cursor;
    ns_err_t e;

    (void)s;
    assert_int_equal(ns_parse_list(b, strlen(b), SECRET, &v, &n, &cursor, &e),
                     CSDK_OK);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].id, "a1");
    assert_string_equal(v[1].id, "b2");
    assert_string_equal(v[1].status, "CREATING");
    assert_string_equal(cursor, "bmV4dA==");
    ns_instances_free(v, n);
    free(cursor);
    /* No live instance: {} */
    assert_int_equal(ns_parse_list("{}", 2, SECRET, &v, &n, &cursor, &e),
                     CSDK_OK);
    assert_int_equal(n, 0);
    assert_null(cursor);
    /* An entry without an id is not an instance. */
    b = "{\"instances\":[{\"status\":\"RUNNING\"}]}";
    assert_int_equal(ns_parse_list(b, strlen(b), SECRET, &v, &n, &cursor, &e),
                     CSDK_E_PROTOCOL);
    assert_contains(e.msg, "instanceId");
    assert_message(e.msg);
}

static void test_parse_run(void **s)
{
    const char *b = "{\"stdout\":\"aGkK\",\"stderr\":\"AP8K\",\"exitCode\":3}";
    ns_run_reply_t r;
    ns_err_t e;

    (void)s;
    assert_int_equal(ns_parse_run(b, strlen(b), SECRET, &r, &e), CSDK_OK);
    assert_int_equal(r.out_len, 3);
    assert_memory_equal(r.out, "hi\n", 3);
    assert_int_equal(r.err_len, 3);
    assert_memory_equal(r.err, "\0\xff\n", 3);
    assert_int_equal(r.exit_code, 3);
    ns_run_reply_free(&r);
    /* Exit 0 and no output: {} */
    assert_int_equal(ns_parse_run("{}", 2, SECRET, &r, &e), CSDK_OK);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.out_len, 0);
    assert_int_equal(r.err_len, 0);
    assert_non_null(r.out);
    ns_run_reply_free(&r);
    /* exitCode as a string; negative numbers pass through. */
    b = "{\"exitCode\":\"-1\"}";
    assert_int_equal(ns_parse_run(b, strlen(b), SECRET, &r, &e), CSDK_OK);
    assert_int_equal(r.exit_code, -1);
    ns_run_reply_free(&r);
    /* Not base64. */
    b = "{\"stdout\":\"not base64!\"}";
    assert_int_equal(ns_parse_run(b, strlen(b), SECRET, &r, &e),
                     CSDK_E_PROTOCOL);
    assert_contains(e.msg, "stdout");
    assert_message(e.msg);
    /* Out of range. */
    b = "{\"exitCode\":99999999999}";
    assert_int_equal(ns_parse_run(b, strlen(b), SECRET, &r, &e),
                     CSDK_E_PROTOCOL);
    assert_contains(e.msg, "exitCode");
}

static void test_parse_ingress(void **s)
{
    const char *b = "{\"allocatedIngresses\":[{\"name\":\"port-8080\","
                    "\"fqdn\":\"abc-8080.fake.namespace.test\"}]}";
    ns_err_t e;
    char *fqdn;

    (void)s;
    assert_int_equal(ns_parse_ingress(b, strlen(b), SECRET, &fqdn, &e),
                     CSDK_OK);
    assert_string_equal(fqdn, "abc-8080.fake.namespace.test");
    free(fqdn);
    assert_int_equal(ns_parse_ingress("{}", 2, SECRET, &fqdn, &e),
                     CSDK_E_PROTOCOL);
    assert_null(fqdn);
    /* A host name with a path or spaces is not one. */
    b = "{\"allocatedIngresses\":[{\"fqdn\":\"a/b c\"}]}";
    assert_int_equal(ns_parse_ingress(b, strlen(b), SECRET, &fqdn, &e),
                     CSDK_E_PROTOCOL);
}

/* Bodies that are not the documented JSON: PROTOCOL, with a printable
 * excerpt that never holds the token. */
static void test_malformed(void **s)
{
    static const char *const bodies[] = {
        "{\"metadata\":{\"instanceId\":\"trunc",      /* truncated */
        "<!DOCTYPE html>\n<html><body>Bad Gateway</body></html>",
        "[1,2,3]",                                    /* not an object */
        "{\"metadata\":\"x\"}",                       /* wrong type */
        "{\"metadata\":{\"instanceId\":5}}",
        "{\"metadata\":{\"instanceId\":\"a\",\"createdAt\":\"yesterday\"}}",
        "{\"metadata\":{\"instanceId\":\"a\"},\"metadata\":{}}", /* dup */
        "",
        "{\"echo\":\"" SECRET "\", \"metadata\": 1}",
        "\x01\x02\xff{",
        /* A complete reply whose JSON stops mid-object (fault badjson). */
        "{\"metadata\":{\"instanceId\":\"badjson\",\"status\":\"RUNN",
    };
    ns_instance_t in;
    ns_err_t e;

    (void)s;
    for (size_t i = 0; i < sizeof bodies / sizeof bodies[0]; i++) {
        memset(&e, 0, sizeof e);
        assert_int_equal(ns_parse_describe(bodies[i], strlen(bodies[i]),
                                           "DescribeInstance", SECRET, &in,
                                           &e),
                         CSDK_E_PROTOCOL);
        assert_message(e.msg);
        assert_contains(e.msg, "DescribeInstance");
        assert_contains(e.msg, "malformed reply");
        assert_null(in.id);
    }
    /* The excerpt shows the start of the body. */
    assert_int_equal(ns_parse_describe(bodies[1], strlen(bodies[1]),
                                       "DescribeInstance", SECRET, &in, &e),
                     CSDK_E_PROTOCOL);
    assert_contains(e.msg, "<!DOCTYPE html>");
    /* Control bytes are escaped. */
    assert_int_equal(ns_parse_describe(bodies[9], strlen(bodies[9]),
                                       "DescribeInstance", SECRET, &in, &e),
                     CSDK_E_PROTOCOL);
    assert_contains(e.msg, "\\x01");
    /* The secret is masked where the excerpt shows it. */
    assert_int_equal(ns_parse_describe(bodies[8], strlen(bodies[8]),
                                       "DescribeInstance", SECRET, &in, &e),
                     CSDK_E_PROTOCOL);
    assert_contains(e.msg, "***");
}

static void test_excerpt(void **s)
{
    char big[4096], out[512];

    (void)s;
    memset(big, 'x', sizeof big);
    /* A secret that straddles the excerpt's end is still masked. */
    memcpy(big + 70, SECRET, strlen(SECRET));
    ns_excerpt(out, sizeof out, big, sizeof big, 80, SECRET);
    assert_lacks(out, "nsct");
    assert_contains(out, "***");
    assert_contains(out, "...");
    assert_true(strlen(out) < 120);
    /* A tiny buffer stays terminated. */
    ns_excerpt(out, 8, big, sizeof big, 80, NULL);
    assert_true(strlen(out) < 8);
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

static csdk_status_t map(long http, const char *body, int64_t retry,
                         ns_err_t *e)
{
    memset(e, 0, sizeof *e);
    return ns_map_error(http, body, body ? strlen(body) : 0,
                        "application/json", retry, "DescribeInstance", SECRET,
                        e);
}

static void test_errors(void **s)
{
    ns_err_t e;

    (void)s;
    assert_int_equal(map(401, "{\"code\":\"unauthenticated\",\"message\":"
                              "\"invalid bearer token\"}", -1, &e),
                     CSDK_E_AUTH);
    assert_contains(e.msg, "401 unauthenticated: invalid bearer token");
    assert_contains(e.msg, "NSC_TOKEN");
    assert_message(e.msg);

    assert_int_equal(map(403, "{\"code\":\"permission_denied\",\"message\":"
                              "\"no\"}", -1, &e),
                     CSDK_E_AUTH);
    assert_contains(e.msg, "permission_denied");
    assert_contains(e.msg, "role");

    /* 429 with Retry-After: rate limited, and the wait is kept. */
    assert_int_equal(map(429, "{\"code\":\"resource_exhausted\",\"message\":"
                              "\"slow down\"}", 2000, &e),
                     CSDK_E_RATE_LIMITED);
    assert_int_equal(e.retry_after_ms, 2000);
    assert_contains(e.msg, "retry after 2000 ms");
    assert_message(e.msg);

    /* resource_exhausted without a wait, about a limit: QUOTA. */
    assert_int_equal(map(429, "{\"code\":\"resource_exhausted\",\"message\":"
                              "\"concurrent instance limit of 5 reached\"}",
                         -1, &e),
                     CSDK_E_QUOTA);
    assert_contains(e.msg, "account limit");
    assert_contains(e.msg, "concurrent instance limit");

    /* ...and about a rate: RATE_LIMITED with a default wait. */
    assert_int_equal(map(429, "{\"code\":\"resource_exhausted\",\"message\":"
                              "\"request rate exceeded\"}", -1, &e),
                     CSDK_E_RATE_LIMITED);
    assert_int_equal(e.retry_after_ms, 1000);

    assert_int_equal(map(500, "{\"code\":\"internal\",\"message\":\"boom\"}",
                         -1, &e),
                     CSDK_E_UNAVAILABLE);
    assert_contains(e.msg, "500 internal: boom");
    assert_int_equal(map(503, "{\"code\":\"unavailable\",\"message\":\"x\"}",
                         3000, &e),
                     CSDK_E_UNAVAILABLE);
    assert_int_equal(e.retry_after_ms, 3000);
    assert_int_equal(map(404, "{\"code\":\"not_found\",\"message\":"
                              "\"instance x not found\"}", -1, &e),
                     CSDK_E_NOT_FOUND);
    assert_int_equal(map(404, "{\"code\":\"unimplemented\",\"message\":\"x\"}",
                         -1, &e),
                     CSDK_E_NOT_SUPPORTED);
    assert_contains(e.msg, "base_url");
    assert_int_equal(map(400, "{\"code\":\"failed_precondition\"}", -1, &e),
                     CSDK_E_CONFLICT);
    assert_contains(e.msg, "(no message)");
    assert_int_equal(map(400, "{\"code\":\"invalid_argument\",\"message\":"
                              "\"shape is required\"}", -1, &e),
                     CSDK_E_INVALID_ARGUMENT);
    assert_int_equal(map(504, "{\"code\":\"deadline_exceeded\"}", -1, &e),
                     CSDK_E_TIMEOUT);
    assert_int_equal(map(499, "{\"code\":\"canceled\"}", -1, &e),
                     CSDK_E_CANCELLED);
    assert_int_equal(map(409, "{\"code\":\"already_exists\"}", -1, &e),
                     CSDK_E_CONFLICT);
    /* An unknown code: the HTTP status decides. */
    assert_int_equal(map(503, "{\"code\":\"brand_new\"}", -1, &e),
                     CSDK_E_UNAVAILABLE);
}

static void test_errors_not_connect(void **s)
{
    ns_err_t e;

    (void)s;
    /* A proxy's HTML page. */
    memset(&e, 0, sizeof e);
    assert_int_equal(ns_map_error(502, "<html>Bad Gateway</html>", 24,
                                  "text/html", -1, "ListInstances", SECRET,
                                  &e),
                     CSDK_E_UNAVAILABLE);
    assert_contains(e.msg, "HTTP 502");
    assert_contains(e.msg, "Bad Gateway");
    assert_message(e.msg);
    /* 404 without a Connect body: base_url points elsewhere. */
    assert_int_equal(ns_map_error(404, "Not Found", 9, "text/plain", -1,
                                  "ListInstances", SECRET, &e),
                     CSDK_E_CONFIG);
    assert_contains(e.msg, "base_url");
    /* 415 with an empty body (not a Connect endpoint). */
    assert_int_equal(ns_map_error(415, NULL, 0, NULL, -1, "ListInstances",
                                  SECRET, &e),
                     CSDK_E_CONFIG);
    assert_contains(e.msg, "no content type");
    /* 401 with nothing: AUTH. */
    assert_int_equal(ns_map_error(401, "", 0, NULL, -1, "ListInstances",
                                  SECRET, &e),
                     CSDK_E_AUTH);
    assert_contains(e.msg, "token");
    /* 429 without a body: rate limited, a second by default. */
    assert_int_equal(ns_map_error(429, "", 0, NULL, -1, "ListInstances",
                                  SECRET, &e),
                     CSDK_E_RATE_LIMITED);
    assert_int_equal(e.retry_after_ms, 1000);
    /* A server that echoes the token: masked. */
    assert_int_equal(map(401, "{\"code\":\"unauthenticated\",\"message\":"
                              "\"bad token " SECRET "\"}", -1, &e),
                     CSDK_E_AUTH);
    assert_message(e.msg);
    assert_int_equal(ns_map_error(500, "token=" SECRET, 6 + strlen(SECRET),
                                  "text/plain", -1, "X", SECRET, &e),
                     CSDK_E_UNAVAILABLE);
    assert_message(e.msg);
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

static void test_time(void **s)
{
    char buf[48];

    (void)s;
    assert_int_equal(ns_parse_time("1970-01-01T00:00:00Z"), 0);
    assert_int_equal(ns_parse_time("2025-01-02T03:04:05Z"), 1735787045000);
    assert_int_equal(ns_parse_time("2025-01-02T03:04:05.1Z"), 1735787045100);
    assert_int_equal(ns_parse_time("2025-01-02T03:04:05.123456789Z"),
                     1735787045123);
    assert_int_equal(ns_parse_time("2025-01-02T04:04:05+01:00"),
                     1735787045000);
    assert_int_equal(ns_parse_time("2025-01-02T02:34:05-00:30"),
                     1735787045000);
    assert_int_equal(ns_parse_time("2024-02-29T00:00:00Z"), 1709164800000);
    assert_int_equal(ns_parse_time("2025-01-02 03:04:05Z"), -1);
    assert_int_equal(ns_parse_time("2025-13-02T03:04:05Z"), -1);
    assert_int_equal(ns_parse_time("2025-01-02T03:04:05"), -1);
    assert_int_equal(ns_parse_time("2025-01-02T03:04:05.Z"), -1);
    assert_int_equal(ns_parse_time("2025-01-02T03:04:05.1234567890Z"), -1);
    assert_int_equal(ns_parse_time(""), -1);
    ns_format_time(1735787045123, buf);
    assert_string_equal(buf, "2025-01-02T03:04:05.123Z");
    ns_format_time(0, buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    ns_format_time(1709164800000, buf);
    assert_string_equal(buf, "2024-02-29T00:00:00.000Z");
    assert_int_equal(ns_parse_time(buf), 1709164800000);
}

/* ------------------------------------------------------------------ */
/* Configuration and the token                                         */
/* ------------------------------------------------------------------ */

static char g_msg[1024];
static csdk_status_t g_code;

static csdk_status_t fake_error(csdk_call_t *call, csdk_status_t code,
                                const char *fmt, ...)
{
    va_list ap;

    (void)call;
    va_start(ap, fmt);
    vsnprintf(g_msg, sizeof g_msg, fmt, ap);
    va_end(ap);
    g_code = code;
    return code;
}

static csdk_host_t g_host = {.error = fake_error};

static void test_config(void **s)
{
    ns_where_t cfg = {"ns", 1}, opt = {"ns", 0};
    ns_conf_t c;

    (void)s;
    assert_int_equal(ns_conf_defaults(&g_host, NULL, &c), CSDK_OK);
    assert_int_equal(c.vcpu, 2);
    assert_int_equal(c.memory_mb, 4096);
    assert_string_equal(c.machine_arch, "amd64");
    assert_string_equal(c.os, "linux");
    assert_string_equal(c.container, "main-container");
    assert_string_equal(c.base_url, "https://us.compute.namespaceapis.com");
    assert_int_equal(c.sandbox_timeout_ms, 3600000);
    assert_int_equal(ns_conf_set(&g_host, NULL, &cfg, &c, "virtual_cpu", "4"),
                     CSDK_OK);
    assert_int_equal(c.vcpu, 4);
    assert_int_equal(ns_conf_set(&g_host, NULL, &cfg, &c, "base_url",
                                 "http://127.0.0.1:9/"),
                     CSDK_OK);
    assert_string_equal(c.base_url, "http://127.0.0.1:9");
    assert_int_equal(ns_conf_set(&g_host, NULL, &cfg, &c, "runtime", "js"),
                     CSDK_OK);
    assert_string_equal(c.runtime, "node");
    assert_int_equal(ns_conf_set(&g_host, NULL, &cfg, &c, "virtual_cpu", "0"),
                     CSDK_E_CONFIG);
    assert_contains(g_msg, "[provider.ns] virtual_cpu = '0'");
    assert_int_equal(ns_conf_set(&g_host, NULL, &cfg, &c, "machine_arch",
                                 "sparc"),
                     CSDK_E_CONFIG);
    assert_contains(g_msg, "amd64 or arm64");
    assert_int_equal(ns_conf_set(&g_host, NULL, &cfg, &c, "base_url", "ftp://x"),
                     CSDK_E_CONFIG);
    assert_int_equal(ns_conf_set(&g_host, NULL, &cfg, &c, "ports", "80,0"),
                     CSDK_E_CONFIG);
    assert_int_equal(ns_conf_set(&g_host, NULL, &cfg, &c, "nope", "1"),
                     CSDK_E_CONFIG);
    assert_contains(g_msg, "unknown key 'nope'");
    assert_contains(g_msg, "memory_megabytes");
    /* Create options: the same keys, other statuses; instance-only keys
     * are refused. */
    assert_int_equal(ns_conf_set(&g_host, NULL, &opt, &c, "memory_megabytes",
                                 "8192"),
                     CSDK_OK);
    assert_int_equal(c.memory_mb, 8192);
    assert_int_equal(ns_conf_set(&g_host, NULL, &opt, &c, "memory_megabytes",
                                 "lots"),
                     CSDK_E_INVALID_ARGUMENT);
    assert_contains(g_msg, "create option memory_megabytes=lots");
    assert_int_equal(ns_conf_set(&g_host, NULL, &opt, &c, "base_url",
                                 "http://evil"),
                     CSDK_E_INVALID_ARGUMENT);
    assert_contains(g_msg, "set base_url in [provider.ns]");
    ns_conf_free(&c);
}

static void test_token(void **s)
{
    char path[] = "/tmp/ns-token-XXXXXX", *tok;
    FILE *f;
    int fd;

    (void)s;
    unsetenv("NSC_TOKEN");
    unsetenv("NSC_TOKEN_FILE");
    unsetenv("MY_TOKEN");
    /* None at all: AUTH with the setup steps. */
    assert_int_equal(ns_token_resolve(&g_host, NULL, "ns", NULL, NULL, NULL,
                                      &tok),
                     CSDK_E_AUTH);
    assert_contains(g_msg, "no Namespace API token");
    assert_contains(g_msg, "NSC_TOKEN");
    assert_contains(g_msg, "NSC_TOKEN_FILE");
    assert_contains(g_msg, "bearer_token");
    assert_contains(g_msg, "[provider.ns]");
    /* The key wins; a malformed one is CONFIG without the value. */
    assert_int_equal(ns_token_resolve(&g_host, NULL, "ns", SECRET, NULL, NULL,
                                      &tok),
                     CSDK_OK);
    assert_string_equal(tok, SECRET);
    free(tok);
    assert_int_equal(ns_token_resolve(&g_host, NULL, "ns", "a b" SECRET, NULL,
                                      NULL, &tok),
                     CSDK_E_CONFIG);
    assert_message(g_msg);
    assert_contains(g_msg, "not an API token");
    /* The environment, by its default name or token_env. */
    setenv("NSC_TOKEN", SECRET, 1);
    assert_int_equal(ns_token_resolve(&g_host, NULL, "ns", NULL, NULL, NULL,
                                      &tok),
                     CSDK_OK);
    assert_string_equal(tok, SECRET);
    free(tok);
    assert_int_equal(ns_token_resolve(&g_host, NULL, "ns", NULL, "MY_TOKEN",
                                      NULL, &tok),
                     CSDK_E_AUTH);
    assert_contains(g_msg, "MY_TOKEN is not set");
    unsetenv("NSC_TOKEN");
    /* A token file, as nsc writes them. */
    fd = mkstemp(path);
    assert_true(fd >= 0);
    f = fdopen(fd, "w");
    fprintf(f, "{\"bearer_token\": \"%s\", \"other\": 1}", SECRET);
    fclose(f);
    setenv("NSC_TOKEN_FILE", path, 1);
    assert_int_equal(ns_token_resolve(&g_host, NULL, "ns", NULL, NULL, NULL,
                                      &tok),
                     CSDK_OK);
    assert_string_equal(tok, SECRET);
    free(tok);
    /* A file without bearer_token, or not JSON: CONFIG naming the file. */
    f = fopen(path, "w");
    fprintf(f, "{\"token\": \"%s\"}", SECRET);
    fclose(f);
    assert_int_equal(ns_token_resolve(&g_host, NULL, "ns", NULL, NULL, NULL,
                                      &tok),
                     CSDK_E_CONFIG);
    assert_contains(g_msg, path);
    assert_contains(g_msg, "has no bearer_token");
    assert_message(g_msg);
    f = fopen(path, "w");
    fprintf(f, "%s\n", SECRET);
    fclose(f);
    assert_int_equal(ns_token_resolve(&g_host, NULL, "ns", NULL, NULL, path,
                                      &tok),
                     CSDK_E_CONFIG);
    assert_contains(g_msg, "is not JSON");
    assert_contains(g_msg, "token_file");
    assert_message(g_msg);
    unlink(path);
    assert_int_equal(ns_token_resolve(&g_host, NULL, "ns", NULL, NULL, NULL,
                                      &tok),
                     CSDK_E_CONFIG);
    assert_contains(g_msg, "cannot be read");
    unsetenv("NSC_TOKEN_FILE");
}

static void test_split_url(void **s)
{
    char *o, *p;

    (void)s;
    assert_int_equal(ns_split_url("http://127.0.0.1:5/cmd/abc/", &o, &p), 0);
    assert_string_equal(o, "http://127.0.0.1:5");
    assert_string_equal(p, "/cmd/abc");
    free(o);
    free(p);
    assert_int_equal(ns_split_url("https://us.compute.namespaceapis.com", &o,
                                  &p),
                     0);
    assert_string_equal(p, "");
    free(o);
    free(p);
    assert_int_equal(ns_split_url("nonsense", &o, &p), -1);
    assert_int_equal(ns_split_url("http:///x", &o, &p), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_req_create),
        cmocka_unit_test(test_req_small),
        cmocka_unit_test(test_req_run),
        cmocka_unit_test(test_req_extend_and_filter),
        cmocka_unit_test(test_label_value),
        cmocka_unit_test(test_parse_extend),
        cmocka_unit_test(test_parse_list_named),
        cmocka_unit_test(test_parse_describe),
        cmocka_unit_test(test_parse_list),
        cmocka_unit_test(test_parse_run),
        cmocka_unit_test(test_parse_ingress),
        cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_excerpt),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_errors_not_connect),
        cmocka_unit_test(test_time),
        cmocka_unit_test(test_config),
        cmocka_unit_test(test_token),
        cmocka_unit_test(test_split_url),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
