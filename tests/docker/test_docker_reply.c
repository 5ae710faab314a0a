/*
 * Unit tests of the docker provider's protocol readers on canned replies,
 * with no engine: the exec stream demultiplexer (demux.c) and the JSON
 * reply readers (reply.c), with the shapes Docker Engine 20.10 and Podman
 * 4 send.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "demux.h"
#include "docker.h"
#include "reply.h"

/* ---- demux */

typedef struct collected {
    char out[256], err[256];
    size_t nout, nerr;
    int stop_after; /* stop when this many bytes arrived (0: never) */
} collected_t;

static int collect(void *arg, int stream, const void *data, size_t n)
{
    collected_t *c = arg;
    char *dst = stream == 2 ? c->err : c->out;
    size_t *len = stream == 2 ? &c->nerr : &c->nout;

    assert_true(stream == 1 || stream == 2);
    assert_true(*len + n <= sizeof c->out);
    memcpy(dst + *len, data, n);
    *len += n;
    if (c->stop_after && c->nout + c->nerr >= (size_t)c->stop_after)
        return 42;
    return 0;
}

/* stdout "hello\n", stderr "oops", stdout "" (an empty frame), stdout "!" */
static const unsigned char frames[] =
    "\x01\0\0\0\0\0\0\x06hello\n"
    "\x02\0\0\0\0\0\0\x04oops"
    "\x01\0\0\0\0\0\0\0"
    "\x01\0\0\0\0\0\0\x01!";
#define FRAMES_LEN (sizeof frames - 1)

static void demux_whole_and_split(void **state)
{
    (void)state;
    /* Every split point, and one byte at a time, give the same streams. */
    for (size_t cut = 0; cut <= FRAMES_LEN; cut++) {
        dk_demux_t d;
        collected_t c;
        memset(&d, 0, sizeof d);
        memset(&c, 0, sizeof c);
        assert_int_equal(dk_demux_feed(&d, frames, cut, collect, &c), 0);
        assert_int_equal(dk_demux_feed(&d, frames + cut, FRAMES_LEN - cut,
                                       collect, &c), 0);
        assert_false(dk_demux_partial(&d));
        assert_int_equal(c.nout, 7);
        assert_memory_equal(c.out, "hello\n!", 7);
        assert_int_equal(c.nerr, 4);
        assert_memory_equal(c.err, "oops", 4);
    }
    {
        dk_demux_t d;
        collected_t c;
        memset(&d, 0, sizeof d);
        memset(&c, 0, sizeof c);
        for (size_t i = 0; i < FRAMES_LEN; i++)
            assert_int_equal(dk_demux_feed(&d, frames + i, 1, collect, &c),
                             0);
        assert_int_equal(c.nout + c.nerr, 11);
    }
}

static void demux_partial_and_bad(void **state)
{
    dk_demux_t d;
    collected_t c;
    static const unsigned char bad[] = "\x01\0\0\0\0\0\0\x02hi\x05\0\0\0\0\0\0\x01x";
    static const unsigned char pad[] = "\x01\0\x01\0\0\0\0\x02hi";

    (void)state;
    memset(&d, 0, sizeof d);
    memset(&c, 0, sizeof c);
    /* Cut inside a frame's payload and inside a header. */
    assert_int_equal(dk_demux_feed(&d, frames, 10, collect, &c), 0);
    assert_true(dk_demux_partial(&d));
    memset(&d, 0, sizeof d);
    assert_int_equal(dk_demux_feed(&d, frames, 3, collect, &c), 0);
    assert_true(dk_demux_partial(&d));
    /* A stream type above 2 is not a frame: -1 at its offset. */
    memset(&d, 0, sizeof d);
    memset(&c, 0, sizeof c);
    assert_int_equal(dk_demux_feed(&d, bad, sizeof bad - 1, collect, &c), -1);
    assert_int_equal(d.offset, 10);
    assert_int_equal(c.nout, 2);
    /* Nonzero padding is not a frame either. */
    memset(&d, 0, sizeof d);
    assert_int_equal(dk_demux_feed(&d, pad, sizeof pad - 1, collect, &c), -1);
}

static void demux_callback_stops(void **state)
{
    dk_demux_t d;
    collected_t c;

    (void)state;
    memset(&d, 0, sizeof d);
    memset(&c, 0, sizeof c);
    c.stop_after = 3;
    assert_int_equal(dk_demux_feed(&d, frames, FRAMES_LEN, collect, &c), 42);
    assert_int_equal(c.nout, 6); /* the frame in hand is delivered whole */
}

/* ---- replies */

static json_t *load(const char *text)
{
    json_error_t e;
    json_t *j = json_loads(text, 0, &e);

    if (!j)
        fail_msg("canned reply does not parse: %s", e.text);
    return j;
}

static const char inspect_docker[] =
    "{\"Id\":\"c0837d8143746394b21c622296e412c8518dc4043a1be408f7c101431ef1182a\","
    "\"State\":{\"Status\":\"running\",\"Running\":true},"
    "\"Config\":{\"Image\":\"csdk-test/hostusr\",\"Labels\":{"
    "\"io.csdk.sandbox\":\"1\",\"io.csdk.instance\":\"docker\","
    "\"io.csdk.runtime\":\"node\",\"io.csdk.created_ms\":\"1795368017512\","
    "\"io.csdk.timeout_ms\":\"900000\",\"io.csdk.namespace\":\"team\","
    "\"io.csdk.name\":\"web\",\"io.csdk.meta.owner\":\"ana\"}},"
    "\"NetworkSettings\":{\"Ports\":{\"8080/tcp\":[{\"HostIp\":\"127.0.0.1\","
    "\"HostPort\":\"49153\"}]},\"Networks\":{\"none\":{\"IPAddress\":\"\"}}}}";

static void record_from_inspect(void **state)
{
    json_t *j = load(inspect_docker);
    dk_record_t r;

    (void)state;
    assert_int_equal(dk_parse_record(j, 0, &r), 0);
    assert_string_equal(r.id, "c0837d814374");
    assert_string_equal(r.state, "running");
    assert_string_equal(r.runtime, "node");
    assert_string_equal(r.ns, "team");
    assert_string_equal(r.name, "web");
    assert_int_equal(r.created_ms, 1795368017512LL);
    assert_int_equal(r.timeout_ms, 900000);
    assert_false(dk_record_expired(&r, UINT64_MAX / 2));
    json_decref(j);
}

static void record_from_list_and_refusals(void **state)
{
    json_t *j = load(
        "[{\"Id\":\"0123456789abcdef0123\",\"State\":\"exited\","
        "\"Labels\":{\"io.csdk.sandbox\":\"1\",\"io.csdk.created_ms\":\"1000\","
        "\"io.csdk.timeout_ms\":\"500\",\"io.csdk.name\":\"\","
        "\"io.csdk.namespace\":\"\"}},"
        "{\"Id\":\"0123456789abcdef0123\",\"State\":\"running\","
        "\"Labels\":{\"com.example\":\"x\"}},"
        "{\"Id\":\"short\",\"Labels\":{\"io.csdk.sandbox\":\"1\"}},"
        "{\"Id\":42,\"Labels\":[]},"
        "\"not an object\"]");
    dk_record_t r;

    (void)state;
    assert_int_equal(dk_parse_record(json_array_get(j, 0), 1, &r), 0);
    assert_string_equal(r.state, "exited");
    /* Blanked by a template: "" means absent. */
    assert_null(r.name);
    assert_null(r.ns);
    assert_true(dk_record_expired(&r, 1500));
    assert_false(dk_record_expired(&r, 1499));
    /* Not csdk's, a bad id, wrong types: refused, never a crash. */
    for (size_t i = 1; i < json_array_size(j); i++)
        assert_int_equal(dk_parse_record(json_array_get(j, i), 1, &r), -1);
    assert_int_equal(dk_parse_record(NULL, 0, &r), -1);
    json_decref(j);
}

static void status_words(void **state)
{
    (void)state;
    assert_string_equal(dk_status_word("running"), "running");
    assert_string_equal(dk_status_word("created"), "creating");
    assert_string_equal(dk_status_word("configured"), "creating");
    assert_string_equal(dk_status_word("paused"), "paused");
    assert_string_equal(dk_status_word("exited"), "stopped");
    assert_string_equal(dk_status_word("dead"), "stopped");
    assert_string_equal(dk_status_word(NULL), "unknown");
}

static void messages(void **state)
{
    char m[64];
    static const char docker[] = "{\"message\":\"No such container: abc\"}";
    static const char podman[] =
        "{\"cause\":\"no such container\",\"message\":\"no container with "
        "name or ID \\\"abc\\\" found: no such container\",\"response\":404}";
    static const char text[] = "page not found\nsecond line\r\n";

    (void)state;
    dk_parse_message(docker, sizeof docker - 1, m, sizeof m);
    assert_string_equal(m, "No such container: abc");
    dk_parse_message(podman, sizeof podman - 1, m, sizeof m);
    assert_string_equal(m, "no container with name or ID \"abc\" found: no "
                           "such container");
    /* Cut to the buffer, never past it. */
    dk_parse_message(podman, sizeof podman - 1, m, 10);
    assert_string_equal(m, "no contai");
    dk_parse_message(text, sizeof text - 1, m, sizeof m);
    assert_string_equal(m, "page not found second line");
    dk_parse_message("", 0, m, sizeof m);
    assert_string_equal(m, "(no message)");
    dk_parse_message(NULL, 0, m, sizeof m);
    assert_string_equal(m, "(no message)");
}

static void exec_states(void **state)
{
    json_t *done = load("{\"Running\":false,\"ExitCode\":3,\"Pid\":12}");
    json_t *running = load("{\"Running\":true,\"ExitCode\":null}");
    json_t *bad = load("{\"ExitCode\":\"0\"}");
    int r;
    int64_t code;

    (void)state;
    assert_int_equal(dk_parse_exec_state(done, &r, &code), 0);
    assert_int_equal(r, 0);
    assert_int_equal(code, 3);
    assert_int_equal(dk_parse_exec_state(running, &r, &code), 0);
    assert_int_equal(r, 1);
    assert_int_equal(code, -1);
    assert_int_equal(dk_parse_exec_state(bad, &r, &code), -1);
    json_decref(done);
    json_decref(running);
    json_decref(bad);
}

static void pull_lines(void **state)
{
    static const char ok[] = "{\"status\":\"Downloading\",\"id\":\"a1b2\","
                             "\"progressDetail\":{\"current\":1}}";
    static const char err[] = "{\"errorDetail\":{\"message\":\"x\"},"
                              "\"error\":\"pull access denied for nope\"}";
    json_t *hold;
    const char *e, *s, *id;

    (void)state;
    assert_int_equal(dk_parse_pull_line(ok, sizeof ok - 1, &hold, &e, &s, &id),
                     0);
    assert_null(e);
    assert_string_equal(s, "Downloading");
    assert_string_equal(id, "a1b2");
    json_decref(hold);
    assert_int_equal(dk_parse_pull_line(err, sizeof err - 1, &hold, &e, &s,
                                        &id), 0);
    assert_string_equal(e, "pull access denied for nope");
    json_decref(hold);
    assert_int_equal(dk_parse_pull_line("[1]", 3, &hold, &e, &s, &id), -1);
    json_decref(hold);
    assert_int_equal(dk_parse_pull_line("{", 1, &hold, &e, &s, &id), -1);
    json_decref(hold);
}

static void ports(void **state)
{
    json_t *j = load(inspect_docker);
    json_t *ip = load("{\"NetworkSettings\":{\"Ports\":{},\"Networks\":{"
                      "\"podman\":{\"IPAddress\":\"10.88.0.3\"}}}}");
    json_t *none = load("{\"NetworkSettings\":{\"Ports\":{\"80/tcp\":null}}}");
    const char *hip, *hport, *addr;

    (void)state;
    dk_parse_port(j, 8080, &hip, &hport, &addr);
    assert_string_equal(hip, "127.0.0.1");
    assert_string_equal(hport, "49153");
    assert_null(addr);
    dk_parse_port(j, 9090, &hip, &hport, &addr);
    assert_null(hport);
    assert_null(addr); /* the "none" network has no address */
    dk_parse_port(ip, 8080, &hip, &hport, &addr);
    assert_null(hport);
    assert_string_equal(addr, "10.88.0.3");
    dk_parse_port(none, 80, &hip, &hport, &addr);
    assert_null(hport);
    assert_null(addr);
    json_decref(j);
    json_decref(ip);
    json_decref(none);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(demux_whole_and_split),
        cmocka_unit_test(demux_partial_and_bad),
        cmocka_unit_test(demux_callback_stops),
        cmocka_unit_test(record_from_inspect),
        cmocka_unit_test(record_from_list_and_refusals),
        cmocka_unit_test(status_words),
        cmocka_unit_test(messages),
        cmocka_unit_test(exec_states),
        cmocka_unit_test(pull_lines),
        cmocka_unit_test(ports),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
