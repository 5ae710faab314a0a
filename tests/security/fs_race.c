/*
 * tests/security/fs_race.c - the host side of the symlink-swap race
 * (fs_race.sh).
 *
 *   fs_race CONFIG SANDBOX_ID SECONDS
 *
 * While code in the sandbox swaps names between a directory or file of
 * its own and a symlink out of the workspace as fast as it can (see
 * fs_race.sh for the names), this hammers the filesystem API through
 * those names for SECONDS and checks that no call ever crosses:
 *
 *   read   rswap/{secret,passwd,shadow,hostname}  rswap: dir <-> /etc
 *   read   lswap/{passwd,hostname}            lswap: symlink real2 <-> /etc
 *   read   fswap                     fswap: file <-> symlink to /etc/passwd
 *   readdir rswap, lswap             only the sandbox's own names
 *   exists cswap/canary-only         cswap: dir <-> the host canary;
 *                                    canary-only exists only on the host
 *   write  cswap/w-N, kswap          kswap: file <-> link to canary/keep
 *   mkdir  cswap/d-N
 *   remove cswap/victim
 *
 * Every successful read must return the sandbox's "SANDBOX-DATA\n";
 * whether writes, mkdirs and removes stayed inside is checked by the
 * script (the canary must be unchanged).  Both outcomes (success, and a
 * refusal because the name was a symlink out at that instant) must be
 * seen, or the race was not run and the result proves nothing.
 *
 * Exit: 0 no escape and both outcomes seen; 1 an escape; 3 the race was
 * not observed; 2 usage or set-up error.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include <csdk/csdk.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SANDBOX_DATA "SANDBOX-DATA\n"

static unsigned long long escapes;

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct counts {
    const char *what;
    unsigned long long ok, refused;
} counts_t;

static void escape(const char *what, const char *detail, const void *data,
                   size_t len)
{
    escapes++;
    if (escapes <= 10) {
        printf("ESCAPE: %s: %s", what, detail);
        if (data != NULL) {
            printf(" (%zu bytes: '", len);
            fwrite(data, 1, len > 80 ? 80 : len, stdout);
            printf("')");
        }
        printf("\n");
        fflush(stdout);
    }
}

static void do_read(csdk_t *h, const char *id, const char *path,
                    counts_t *c)
{
    csdk_error_t err;
    void *data = NULL;
    size_t len = 0;

    if (csdk_read_file(h, id, path, NULL, &data, &len, &err) == CSDK_OK) {
        c->ok++;
        if (len != strlen(SANDBOX_DATA) ||
            memcmp(data, SANDBOX_DATA, len) != 0)
            escape("read", path, data, len);
    } else {
        c->refused++;
    }
    free(data);
}

static int allowed_name(const char *n)
{
    static const char *const names[] = {"secret", "passwd", "shadow",
                                        "hostname", NULL};

    for (size_t i = 0; names[i] != NULL; i++)
        if (strcmp(n, names[i]) == 0)
            return 1;
    return 0;
}

static void do_readdir(csdk_t *h, const char *id, const char *path,
                       counts_t *c)
{
    csdk_error_t err;
    csdk_dirent_t *ents = NULL;
    size_t n = 0;

    if (csdk_readdir(h, id, path, NULL, &ents, &n, &err) == CSDK_OK) {
        c->ok++;
        for (size_t i = 0; i < n; i++)
            if (!allowed_name(ents[i].name))
                escape("readdir lists a host name", ents[i].name, NULL, 0);
        csdk_dirents_free(ents, n);
    } else {
        c->refused++;
    }
}

static void do_exists(csdk_t *h, const char *id, const char *path,
                      counts_t *c)
{
    csdk_error_t err;
    int32_t found = 0;

    if (csdk_exists(h, id, path, NULL, &found, &err) == CSDK_OK) {
        c->ok++;
        if (found)
            escape("exists sees a host-only file", path, NULL, 0);
    } else {
        c->refused++;
    }
}

static void tally(csdk_status_t rc, counts_t *c)
{
    if (rc == CSDK_OK)
        c->ok++;
    else
        c->refused++;
}

int main(int argc, char **argv)
{
    static const char *const rnames[] = {"rswap/secret", "rswap/passwd",
                                         "rswap/shadow", "rswap/hostname"};
    static const char *const lnames[] = {"lswap/passwd", "lswap/hostname"};
    counts_t rd = {"read rswap/*", 0, 0}, rl = {"read lswap/*", 0, 0},
             rf = {"read fswap", 0, 0}, ls = {"readdir rswap|lswap", 0, 0},
             ex = {"exists cswap/canary-only", 0, 0},
             wr = {"write cswap/w-N", 0, 0}, wk = {"write kswap", 0, 0},
             mk = {"mkdir cswap/d-N", 0, 0}, rm = {"remove cswap/victim", 0, 0};
    counts_t *all[] = {&rd, &rl, &rf, &ls, &ex, &wr, &wk, &mk, &rm};
    csdk_error_t err;
    csdk_t *h = NULL;
    double end;
    unsigned long long i;
    int seen_both = 1;

    if (argc != 4) {
        fprintf(stderr, "usage: fs_race CONFIG SANDBOX_ID SECONDS\n");
        return 2;
    }
    if (csdk_open(argv[1], NULL, &h, &err) != CSDK_OK) {
        fprintf(stderr, "fs_race: %s\n", err.message);
        return 2;
    }
    end = now_s() + atof(argv[3]);
    for (i = 0; now_s() < end; i++) {
        char path[64];

        do_read(h, argv[2], rnames[i % 4], &rd);
        do_read(h, argv[2], lnames[i % 2], &rl);
        do_read(h, argv[2], "fswap", &rf);
        do_readdir(h, argv[2], i % 2 ? "rswap" : "lswap", &ls);
        do_exists(h, argv[2], "cswap/canary-only", &ex);
        if (i % 4 == 0) {
            snprintf(path, sizeof path, "cswap/w-%llu", i);
            tally(csdk_write_file(h, argv[2], path, "SANDBOX-WROTE\n", 14,
                                  NULL, &err),
                  &wr);
            tally(csdk_write_file(h, argv[2], "kswap", "SANDBOX-WROTE\n", 14,
                                  NULL, &err),
                  &wk);
            snprintf(path, sizeof path, "cswap/d-%llu", i);
            tally(csdk_mkdir(h, argv[2], path, NULL, &err), &mk);
            tally(csdk_remove(h, argv[2], "cswap/victim", NULL, &err), &rm);
        }
    }
    csdk_close(h);
    printf("# %llu rounds in %s s\n", i, argv[3]);
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++)
        printf("# %-26s %8llu succeeded %8llu refused\n", all[k]->what,
               all[k]->ok, all[k]->refused);
    if (escapes) {
        printf("# %llu ESCAPES\n", escapes);
        return 1;
    }
    /* The race must really have happened on the names that flip between
     * inside and outside: else nothing was tested. */
    for (size_t k = 0; k < 4; k++)
        if (all[k]->ok == 0 || all[k]->refused == 0)
            seen_both = 0;
    if (!seen_both) {
        printf("# the race was not observed (the swapper did not run?)\n");
        return 3;
    }
    return 0;
}
