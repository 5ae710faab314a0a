/*
 * tests/security/snapshot.c - snapshot a sandbox through the C API, for
 * root.sh (the csdk command has no snapshot verb).
 *
 *   snapshot CONFIG SANDBOX_ID
 *
 * Prints the snapshot's id.  Exit 0, or 1 with the error on stderr.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include <csdk/csdk.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    csdk_t *h = NULL;
    csdk_error_t err;
    char *id = NULL;

    memset(&err, 0, sizeof err);
    if (argc != 3) {
        fprintf(stderr, "usage: snapshot CONFIG SANDBOX_ID\n");
        return 1;
    }
    if (csdk_open(argv[1], NULL, &h, &err) != CSDK_OK ||
        csdk_saved_create(h, CSDK_SAVED_SNAPSHOT, argv[2], NULL, NULL, &id,
                          &err) != CSDK_OK) {
        fprintf(stderr, "%s\n", err.message[0] ? err.message : "failed");
        csdk_close(h);
        return 1;
    }
    puts(id);
    free(id);
    csdk_close(h);
    return 0;
}
