/* One call through the public API (csdk/csdk.h), for tests/namespace/
 * faults.sh: what the csdk command does not show of a failure (the
 * status's name, the retry-after the caller gets) and a call deadline of
 * the caller's choosing.
 *
 *   ns_faults CONFIG create|list|info ID|destroy ID|exec ID [DEADLINE_MS]
 *
 * Prints one line, "STATUS retry_after=MS MESSAGE" ("OK ..." with the id
 * or count on success), and exits 0; 2 on a usage or setup error. */
#include <csdk/csdk.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    csdk_open_opts_t oo = {.struct_size = sizeof oo, .log_level = -1};
    csdk_call_opts_t co = {.struct_size = sizeof co};
    const char *op, *id = NULL;
    csdk_error_t err;
    csdk_status_t rc;
    char ok[256] = "";
    csdk_t *h;
    int argi = 3;

    if (argc < 3) {
        fprintf(stderr, "usage: ns_faults CONFIG OP [ID] [DEADLINE_MS]\n");
        return 2;
    }
    op = argv[2];
    if (strcmp(op, "create") != 0 && strcmp(op, "list") != 0) {
        if (argc < 4) {
            fprintf(stderr, "ns_faults: %s needs an id\n", op);
            return 2;
        }
        id = argv[argi++];
    }
    if (argi < argc)
        co.deadline_ms = strtoull(argv[argi], NULL, 10);
    memset(&err, 0, sizeof err);
    if (csdk_open(argv[1], &oo, &h, &err) != CSDK_OK) {
        fprintf(stderr, "ns_faults: %s\n", err.message);
        return 2;
    }
    memset(&err, 0, sizeof err);
    if (strcmp(op, "create") == 0) {
        csdk_sandbox_t sb;

        rc = csdk_create(h, NULL, NULL, &co, &sb, &err);
        if (rc == CSDK_OK)
            snprintf(ok, sizeof ok, "%s", sb.id);
        csdk_sandbox_clear(&sb);
    } else if (strcmp(op, "list") == 0) {
        csdk_sandbox_t *v = NULL;
        size_t n = 0;

        rc = csdk_list(h, NULL, &co, &v, &n, &err);
        snprintf(ok, sizeof ok, "%zu", n);
        csdk_sandbox_list_free(v, n);
    } else if (strcmp(op, "info") == 0) {
        csdk_sandbox_t sb;

        rc = csdk_info(h, id, &co, &sb, &err);
        if (rc == CSDK_OK)
            snprintf(ok, sizeof ok, "%s %s", sb.id, sb.status);
        csdk_sandbox_clear(&sb);
    } else if (strcmp(op, "destroy") == 0) {
        rc = csdk_destroy(h, id, &co, &err);
    } else if (strcmp(op, "exec") == 0) {
        static const char *const cmd[] = {"echo", "hi", NULL};
        csdk_run_opts_t ro = {.struct_size = sizeof ro, .argv = cmd};
        csdk_result_t r;

        memset(&r, 0, sizeof r);
        rc = csdk_run_command(h, id, &ro, &co, &r, &err);
        if (rc == CSDK_OK)
            snprintf(ok, sizeof ok, "exit=%" PRId32 " out=%.*s", r.exit_code,
                     (int)(r.out_len > 0 ? r.out_len - 1 : 0),
                     r.out ? r.out : "");
        csdk_result_clear(&r);
    } else {
        fprintf(stderr, "ns_faults: unknown operation '%s'\n", op);
        csdk_close(h);
        return 2;
    }
    printf("%s retry_after=%" PRIu64 " %s\n", csdk_status_name(rc),
           err.retry_after_ms, rc == CSDK_OK ? ok : err.message);
    csdk_close(h);
    return 0;
}
