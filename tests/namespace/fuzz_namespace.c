/* Fuzz target for the namespace provider's reply parsers
 * (plugins/namespace/api.c): any bytes in, either a parsed reply or a
 * status with one line of text out; never a crash, leak or overflow, and
 * never the token in a message, even when the body holds it.
 *
 * The first byte picks the parser (CreateInstance/DescribeInstance,
 * ListInstances, RunCommandSync, CreateIngress, an empty reply, or an
 * error reply with an HTTP status); the rest is the body.
 *
 * With clang and -fsanitize=fuzzer this is a libFuzzer target (`make
 * fuzz-namespace`).  Built with FUZZ_REPLAY it is a plain program that
 * runs every file named on its command line through the target, so `make
 * check` replays the corpus (tests/namespace/corpus) with any compiler. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ns.h"

#define SECRET "FUZZ-SECRET-TOKEN-0123456789"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(csdk_status_t rc, const ns_err_t *e)
{
    if (rc == CSDK_OK)
        return;
    /* A failure is one non-empty line without the secret. */
    if (e->msg[0] == '\0' || strchr(e->msg, '\n') != NULL ||
        strstr(e->msg, SECRET) != NULL)
        abort();
}

static void walk_instance(const ns_instance_t *in)
{
    if (in->id == NULL || in->status == NULL || in->id[0] == '\0')
        abort();
    for (size_t i = 0; i < in->labels.n; i++)
        if (in->labels.v[i].key == NULL || in->labels.v[i].value == NULL)
            abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *body = (const char *)data + 1;
    size_t len = size > 0 ? size - 1 : 0;
    ns_err_t e;
    csdk_status_t rc;

    if (size == 0)
        return 0;
    memset(&e, 0, sizeof e);
    switch (data[0] % 8) {
    case 0: {
        ns_instance_t in;

        rc = ns_parse_describe(body, len, "DescribeInstance", SECRET, &in, &e);
        if (rc == CSDK_OK) {
            walk_instance(&in);
            ns_instance_free(&in);
        }
        break;
    }
    case 1: {
        ns_instance_t *v;
        size_t n;
        char *cursor;

        rc = ns_parse_list(body, len, SECRET, &v, &n, &cursor, &e);
        if (rc == CSDK_OK) {
            for (size_t i = 0; i < n; i++)
                walk_instance(&v[i]);
            ns_instances_free(v, n);
            free(cursor);
        }
        break;
    }
    case 2: {
        ns_run_reply_t r;

        rc = ns_parse_run(body, len, SECRET, &r, &e);
        if (rc == CSDK_OK) {
            if (r.out == NULL || r.err == NULL || r.out[r.out_len] != '\0' ||
                r.err[r.err_len] != '\0')
                abort();
            ns_run_reply_free(&r);
        }
        break;
    }
    case 3: {
        char *fqdn;

        rc = ns_parse_ingress(body, len, SECRET, &fqdn, &e);
        if (rc == CSDK_OK) {
            if (fqdn == NULL || strchr(fqdn, '/') != NULL)
                abort();
            free(fqdn);
        }
        break;
    }
    case 4:
        rc = ns_parse_empty(body, len, "DestroyInstance", SECRET, &e);
        break;
    case 5: {
        long status = len > 0 ? 400 + (unsigned char)body[0] % 200 : 500;

        rc = ns_map_error(status, body, len, "application/json",
                          len > 1 ? (int64_t)(unsigned char)body[1] * 100 : -1,
                          "DescribeInstance", SECRET, &e);
        if (rc == CSDK_OK)
            abort(); /* an error reply is never OK */
        break;
    }
    case 7: {
        int64_t deadline;

        rc = ns_parse_extend(body, len, SECRET, &deadline, &e);
        if (rc == CSDK_OK && deadline <= 0)
            abort(); /* a parsed reply always has its deadline */
        break;
    }
    default: {
        char *s = malloc(len + 1);

        if (s == NULL)
            return 0;
        memcpy(s, body, len);
        s[len] = '\0';
        (void)ns_parse_time(s);
        free(s);
        rc = CSDK_OK;
        break;
    }
    }
    check_message(rc, &e);
    return 0;
}

#ifdef FUZZ_REPLAY
int main(int argc, char **argv)
{
    static char buf[1 << 20];
    int n = 0;

    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        size_t len;

        if (!f) {
            perror(argv[i]);
            return 1;
        }
        len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
        n++;
    }
    printf("replayed %d inputs\n", n);
    return n > 0 ? 0 : 1;
}
#endif
