/*
 * plugins/namespace/fs.c - the filesystem methods, as commands.
 *
 * The API has no file calls, so each method is a fixed shell script run
 * through RunCommandSync as `sh -c SCRIPT csdk-fs PATH...`: paths and data
 * are arguments, never spliced into a script, so no name can inject
 * anything.  Relative paths are relative to the directory commands start
 * in, as in commands.  Needs a POSIX sh and coreutils (base64, head,
 * tail, mv, rm, mkdir) and GNU find in the image.
 *
 *  - write_file: the data goes as base64 arguments, at most
 *    write_chunk_kib per command and 64 KiB per argument (well under any
 *    ARG_MAX), appended to a temporary file beside the target that the
 *    last chunk renames into place: any size works, and a reader never
 *    sees a half-written file.
 *  - read_file: ranges of NS_READ_CHUNK bytes (`tail -c +N | head -c M`):
 *    the reply carries raw bytes (base64 in the JSON), so any size and
 *    any byte work.
 *  - readdir: one `find -printf` record per entry, NUL-separated.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "ns.h"

#include <csdk/sdk/base64.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Bytes of a file per read command. */
#define NS_READ_CHUNK ((uint64_t)8 << 20)
/* Raw bytes per base64 argument: 48 KiB -> 64 KiB of base64. */
#define NS_ARG_RAW ((size_t)48 * 1024)

/* $1 mode (f: first chunk, l: last chunk), $2 path, $3 temporary file,
 * then base64 arguments.  Exit 3: a directory; 4: cannot create; 5:
 * cannot write; 6: cannot rename. */
static const char ns_write_script[] =
    "m=$1 p=$2 t=$3\n"
    "shift 3\n"
    "case $m in *f*)\n"
    "  if [ -d \"$p\" ]; then exit 3; fi\n"
    "  d=${p%/*}\n"
    "  if [ \"$d\" != \"$p\" ] && [ -n \"$d\" ]; then mkdir -p -- \"$d\" || "
    "exit 4; fi\n"
    "  : >\"$t\" || exit 4;;\n"
    "esac\n"
    "if [ $# -gt 0 ]; then printf %s \"$@\" | base64 -d >>\"$t\" || "
    "{ rm -f -- \"$t\"; exit 5; }; fi\n"
    "case $m in *l*) mv -f -- \"$t\" \"$p\" || { rm -f -- \"$t\"; exit 6; };; "
    "esac\n"
    "exit 0\n";

/* $1 path, $2 offset, $3 bytes.  Exit 2: missing; 3: a directory; 5: not
 * readable. */
static const char ns_read_script[] =
    "p=$1\n"
    "[ -e \"$p\" ] || exit 2\n"
    "[ -d \"$p\" ] && exit 3\n"
    "[ -r \"$p\" ] || exit 5\n"
    "tail -c +$(($2 + 1)) -- \"$p\" | head -c \"$3\"\n";

/* $1 path.  Exit 2: missing; 4: not a directory; 5: cannot enter it. */
static const char ns_readdir_script[] =
    "[ -e \"$1\" ] || exit 2\n"
    "[ -d \"$1\" ] || exit 4\n"
    "cd -- \"$1\" || exit 5\n"
    "exec find . -mindepth 1 -maxdepth 1 -printf '%y %s %T@ %f\\0'\n";

static const char ns_exists_script[] =
    "if [ -e \"$1\" ] || [ -L \"$1\" ]; then exit 0; fi; exit 1\n";

static const char ns_mkdir_script[] = "mkdir -p -- \"$1\"\n";

static const char ns_remove_script[] = "rm -rf -- \"$1\"\n";

/* The command's complaint, for a message. */
static void ns_fs_why(const ns_run_reply_t *r, char *buf, size_t len)
{
    size_t n = r->err_len;

    while (n > 0 && (r->err[n - 1] == '\n' || r->err[n - 1] == '\r'))
        n--;
    if (n == 0)
        snprintf(buf, len, "exit status %" PRId32, r->exit_code);
    else
        ns_excerpt(buf, len, r->err, n, 200, NULL);
}

/* A failed filesystem command: status and message for `what` on `path`. */
static csdk_status_t ns_fs_fail(ns_state_t *st, csdk_call_t *call,
                                const char *id, const char *what,
                                const char *path, const ns_run_reply_t *r)
{
    char why[320];

    ns_fs_why(r, why, sizeof why);
    if (strstr(why, "ermission denied") != NULL)
        return st->host->error(call, CSDK_E_PERMISSION,
                               "cannot %s '%.200s' in sandbox %s: %s", what,
                               path, id, why);
    if (strstr(why, "No space left") != NULL ||
        strstr(why, "Read-only file system") != NULL)
        return st->host->error(call, CSDK_E_IO,
                               "cannot %s '%.200s' in sandbox %s: %s", what,
                               path, id, why);
    if (strstr(why, "Not a directory") != NULL ||
        strstr(why, "File exists") != NULL)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "cannot %s '%.200s' in sandbox %s: %s (a "
                               "file is in the way)", what, path, id, why);
    return st->host->error(call, CSDK_E_IO,
                           "cannot %s '%.200s' in sandbox %s: %s", what, path,
                           id, why);
}

static csdk_status_t ns_fs_path(ns_state_t *st, csdk_call_t *call,
                                const char *path)
{
    if (path == NULL || *path == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no path given");
    if (strlen(path) > 4096)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "the path is longer than 4096 bytes");
    return CSDK_OK;
}

/* Look the sandbox up and check the path: the start of every method. */
static csdk_status_t ns_fs_enter(ns_state_t *st, csdk_call_t *call,
                                 const char *id, const char *path,
                                 const ns_cached_t **sb)
{
    csdk_status_t rc = ns_fs_path(st, call, path);

    return rc != CSDK_OK ? rc : ns_lookup(st, call, id, sb);
}

/* ------------------------------------------------------------------ */
/* Writing                                                             */
/* ------------------------------------------------------------------ */

/* One chunk command: data[0, len) as base64 arguments.  The failure is
 * not recorded (the caller may retry with smaller chunks). */
static csdk_status_t ns_write_chunk(ns_state_t *st, csdk_call_t *call,
                                    const ns_cached_t *sb, const char *mode,
                                    const char *path, const char *tmp,
                                    const unsigned char *data, size_t len,
                                    ns_run_reply_t *r, ns_err_t *e)
{
    size_t nargs = (len + NS_ARG_RAW - 1) / NS_ARG_RAW, n = 0;
    const char **argv = calloc(nargs + 8, sizeof *argv);
    char **bufs = calloc(nargs + 1, sizeof *bufs);
    csdk_status_t rc = CSDK_OK;

    memset(r, 0, sizeof *r);
    if (argv == NULL || bufs == NULL) {
        free(argv);
        free(bufs);
        ns_err_set(e, "out of memory");
        return CSDK_E_NOMEM;
    }
    argv[n++] = "sh";
    argv[n++] = "-c";
    argv[n++] = ns_write_script;
    argv[n++] = "csdk-write";
    argv[n++] = mode;
    argv[n++] = path;
    argv[n++] = tmp;
    for (size_t i = 0; i < nargs && rc == CSDK_OK; i++) {
        size_t off = i * NS_ARG_RAW;
        size_t k = len - off < NS_ARG_RAW ? len - off : NS_ARG_RAW;

        bufs[i] = malloc(csdk_b64_encoded_len(k) + 1);
        if (bufs[i] == NULL) {
            ns_err_set(e, "out of memory");
            rc = CSDK_E_NOMEM;
        } else {
            csdk_b64_encode(bufs[i], data + off, k);
        }
        argv[n++] = bufs[i];
    }
    argv[n] = NULL;
    if (rc == CSDK_OK)
        rc = ns_exec_try(st, call, sb, argv, 65536, r, e);
    for (size_t i = 0; i < nargs; i++)
        free(bufs[i]);
    free(bufs);
    free(argv);
    return rc;
}

/* The sandbox refused a command line that long (E2BIG from exec). */
static int ns_too_long(csdk_status_t rc, const ns_run_reply_t *r,
                       const ns_err_t *e)
{
    if (rc != CSDK_OK)
        return strstr(e->msg, "rgument list too long") != NULL;
    return r->exit_code != 0 && r->err != NULL &&
           strstr(r->err, "rgument list too long") != NULL;
}

csdk_status_t ns_upload(ns_state_t *st, csdk_call_t *call,
                        const ns_cached_t *sb, const char *path,
                        const void *data, size_t len)
{
    /* Raw bytes per command: a multiple of 3, so only the last chunk's
     * base64 has padding. */
    size_t per = (size_t)(st->conf.write_chunk / 4 * 3), off = 0;
    char nonce[33], *tmp;
    int first = 1;
    csdk_status_t rc = CSDK_OK;

    ns_random_hex(nonce);
    if (asprintf(&tmp, "%s.csdk-tmp-%.12s", path, nonce) < 0)
        return ns_nomem(st, call);
    do {
        size_t k = len - off < per ? len - off : per;
        int last = off + k == len;
        const char *mode = first && last ? "fl"
                           : first       ? "f"
                           : last        ? "l"
                                         : "-";
        ns_run_reply_t r;
        ns_err_t e;

        rc = ns_write_chunk(st, call, sb, mode, path, tmp,
                            (const unsigned char *)data + off, k, &r, &e);
        if (ns_too_long(rc, &r, &e) && per > 3 * 4096) {
            /* A sandbox with a small ARG_MAX: halve the chunk, again. */
            ns_run_reply_free(&r);
            per = per / 2 / 3 * 3;
            st->host->log(st->inst, CSDK_LOG_DEBUG,
                          "sandbox %s refused %zu bytes of arguments; "
                          "writing in chunks of %zu bytes", sb->id, k, per);
            rc = CSDK_OK;
            continue;
        }
        if (rc != CSDK_OK)
            rc = ns_exec_failed(st, call, sb->id, rc, &e);
        else if (r.exit_code == 3)
            rc = st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                 "cannot write '%.200s' in sandbox %s: it "
                                 "is a directory", path, sb->id);
        else if (r.exit_code != 0)
            rc = ns_fs_fail(st, call, sb->id, "write", path, &r);
        ns_run_reply_free(&r);
        off += k;
        first = 0;
    } while (rc == CSDK_OK && off < len);
    if (rc != CSDK_OK && !first) {
        /* Best effort: the temporary file of a failed write. */
        const char *argv[] = {"sh", "-c", ns_remove_script, "csdk-rm", tmp,
                              NULL};
        ns_run_reply_t rr;
        ns_err_t e;

        if (ns_exec_try(st, call, sb, argv, 65536, &rr, &e) == CSDK_OK)
            ns_run_reply_free(&rr);
    }
    free(tmp);
    return rc;
}

csdk_status_t ns_fs_write(ns_state_t *st, csdk_call_t *call, const char *id,
                          const char *path, const void *data, size_t len)
{
    const ns_cached_t *sb;
    ns_cached_t copy;
    csdk_status_t rc = ns_fs_enter(st, call, id, path, &sb);

    if (rc != CSDK_OK)
        return rc;
    if (data == NULL)
        len = 0;
    /* The cache may change during a long write; keep our own copy. */
    copy.id = strdup(sb->id);
    copy.endpoint = strdup(sb->endpoint);
    copy.runtime = NULL;
    if (copy.id == NULL || copy.endpoint == NULL)
        rc = ns_nomem(st, call);
    else
        rc = ns_upload(st, call, &copy, path, data, len);
    free(copy.id);
    free(copy.endpoint);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

csdk_status_t ns_fs_read(ns_state_t *st, csdk_call_t *call, const char *id,
                         const char *path)
{
    const ns_cached_t *sb;
    ns_cached_t copy = {NULL, NULL, NULL};
    char off[24], max[24];
    const char *argv[] = {"sh", "-c", ns_read_script, "csdk-read", path, off,
                          max, NULL};
    uint64_t at = 0;
    csdk_status_t rc = ns_fs_enter(st, call, id, path, &sb);

    if (rc != CSDK_OK)
        return rc;
    copy.id = strdup(sb->id);
    copy.endpoint = strdup(sb->endpoint);
    if (copy.id == NULL || copy.endpoint == NULL)
        rc = ns_nomem(st, call);
    snprintf(max, sizeof max, "%" PRIu64, NS_READ_CHUNK);
    while (rc == CSDK_OK) {
        ns_run_reply_t r;

        snprintf(off, sizeof off, "%" PRIu64, at);
        rc = ns_exec_simple(st, call, &copy, argv,
                            (size_t)(NS_READ_CHUNK / 3 * 4 + 65536), &r);
        if (rc != CSDK_OK)
            break;
        if (r.exit_code == 2)
            rc = st->host->error(call, CSDK_E_NOT_FOUND,
                                 "no file '%.200s' in sandbox %s%s", path,
                                 copy.id,
                                 at > 0 ? " (it was removed while being "
                                          "read)"
                                        : "");
        else if (r.exit_code == 3)
            rc = st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                 "'%.200s' in sandbox %s is a directory; "
                                 "list it with readdir", path, copy.id);
        else if (r.exit_code == 5)
            rc = st->host->error(call, CSDK_E_PERMISSION,
                                 "'%.200s' in sandbox %s is not readable",
                                 path, copy.id);
        else if (r.exit_code != 0)
            rc = ns_fs_fail(st, call, copy.id, "read", path, &r);
        else if (r.out_len > 0 &&
                 st->host->write(call, CSDK_STREAM_DATA, r.out, r.out_len) !=
                     0)
            rc = ns_stopped(st, call, "reading the file");
        at += r.out_len;
        if (rc == CSDK_OK && r.out_len < NS_READ_CHUNK) {
            ns_run_reply_free(&r);
            break;
        }
        ns_run_reply_free(&r);
    }
    free(copy.id);
    free(copy.endpoint);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Directories                                                         */
/* ------------------------------------------------------------------ */

/* "1700000000.123456789" -> ms; 0 when malformed. */
static int64_t ns_mtime_ms(const char *s)
{
    int64_t secs = 0, ms = 0;
    int digits = 0;

    for (; *s >= '0' && *s <= '9'; s++)
        secs = secs * 10 + (*s - '0');
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9' && digits < 3; s++, digits++)
            ms = ms * 10 + (*s - '0');
    for (; digits < 3 && digits > 0; digits++)
        ms *= 10;
    return secs * 1000 + ms;
}

/* One record "TYPE SIZE MTIME NAME" (NUL-terminated). */
static csdk_status_t ns_readdir_entry(ns_state_t *st, csdk_call_t *call,
                                      const char *rec)
{
    const csdk_host_t *h = st->host;
    const char *size = strchr(rec, ' '), *mtime, *name;
    int64_t type;
    int32_t failed = 0;

    if (size == NULL || (mtime = strchr(size + 1, ' ')) == NULL ||
        (name = strchr(mtime + 1, ' ')) == NULL || name[1] == '\0')
        return CSDK_OK; /* not ours: skip */
    type = rec[0] == 'f'   ? CSDK_FILE_REGULAR
           : rec[0] == 'd' ? CSDK_FILE_DIRECTORY
           : rec[0] == 'l' ? CSDK_FILE_SYMLINK
                           : CSDK_FILE_OTHER;
    if (h->next_record(call) != 0)
        return ns_nomem(st, call);
    failed |= h->set_str(call, CSDK_F_NAME, name + 1);
    failed |= h->set_int(call, CSDK_F_FILE_TYPE, type);
    failed |= h->set_int(call, CSDK_F_SIZE, strtoll(size + 1, NULL, 10));
    failed |= h->set_int(call, CSDK_F_MTIME_MS, ns_mtime_ms(mtime + 1));
    return failed ? ns_nomem(st, call) : CSDK_OK;
}

csdk_status_t ns_fs_readdir(ns_state_t *st, csdk_call_t *call,
                            const char *id, const char *path)
{
    const char *argv[] = {"sh", "-c", ns_readdir_script, "csdk-ls", path,
                          NULL};
    const ns_cached_t *sb;
    ns_run_reply_t r;
    csdk_status_t rc = ns_fs_enter(st, call, id, path, &sb);

    if (rc != CSDK_OK)
        return rc;
    rc = ns_exec_simple(st, call, sb, argv, 64 << 20, &r);
    if (rc != CSDK_OK)
        return rc;
    if (r.exit_code == 2)
        rc = st->host->error(call, CSDK_E_NOT_FOUND,
                             "no directory '%.200s' in sandbox %s", path,
                             id);
    else if (r.exit_code == 4)
        rc = st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                             "'%.200s' in sandbox %s is not a directory",
                             path, id);
    else if (r.exit_code != 0)
        rc = ns_fs_fail(st, call, id, "list", path, &r);
    for (size_t i = 0; rc == CSDK_OK && i < r.out_len;) {
        const char *rec = r.out + i;
        size_t n = strnlen(rec, r.out_len - i);

        if (i + n == r.out_len)
            break; /* no terminating NUL: cut short, drop it */
        rc = ns_readdir_entry(st, call, rec);
        i += n + 1;
    }
    ns_run_reply_free(&r);
    return rc;
}

/* mkdir, exists and remove: one script, one path. */
static csdk_status_t ns_fs_simple(ns_state_t *st, csdk_call_t *call,
                                  const char *id, const char *path,
                                  const char *script, const char *what,
                                  int32_t *exit_code)
{
    const char *argv[] = {"sh", "-c", script, "csdk-fs", path, NULL};
    const ns_cached_t *sb;
    ns_run_reply_t r;
    csdk_status_t rc = ns_fs_enter(st, call, id, path, &sb);

    if (rc != CSDK_OK)
        return rc;
    rc = ns_exec_simple(st, call, sb, argv, 65536, &r);
    if (rc != CSDK_OK)
        return rc;
    *exit_code = r.exit_code;
    if (r.exit_code != 0 && what != NULL)
        rc = ns_fs_fail(st, call, id, what, path, &r);
    ns_run_reply_free(&r);
    return rc;
}

csdk_status_t ns_fs_mkdir(ns_state_t *st, csdk_call_t *call, const char *id,
                          const char *path)
{
    int32_t code;

    return ns_fs_simple(st, call, id, path, ns_mkdir_script, "make directory",
                        &code);
}

csdk_status_t ns_fs_remove(ns_state_t *st, csdk_call_t *call, const char *id,
                           const char *path)
{
    int32_t code;

    return ns_fs_simple(st, call, id, path, ns_remove_script, "remove",
                        &code);
}

csdk_status_t ns_fs_exists(ns_state_t *st, csdk_call_t *call, const char *id,
                           const char *path)
{
    int32_t code = 0;
    csdk_status_t rc = ns_fs_simple(st, call, id, path, ns_exists_script, NULL,
                                    &code);

    if (rc != CSDK_OK)
        return rc;
    if (code != 0 && code != 1)
        return st->host->error(call, CSDK_E_IO,
                               "cannot check '%.200s' in sandbox %s (exit "
                               "status %" PRId32 ")", path, id, code);
    return st->host->set_int(call, CSDK_F_EXISTS, code == 0) != 0
               ? ns_nomem(st, call)
               : CSDK_OK;
}
