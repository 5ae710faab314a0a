/*
 * plugins/docker/files.c - the filesystem methods, through the Engine's
 * archive API (GET/PUT/HEAD /containers/{id}/archive?path=P), plus one
 * exec each for readdir and remove, which that API cannot do.
 *
 * Slots (declared in docker.h): dk_read_file, dk_write_file, dk_mkdir,
 * dk_readdir, dk_exists, dk_remove; and dk_put_file for exec.c.
 *
 * Paths.  A relative path is relative to the container's working
 * directory (its Config.WorkingDir: the `workdir` key, /workspace by
 * default), the directory commands start in.  Nothing is normalised or
 * refused on the host: the path goes to the engine as given (absolute),
 * and the engine resolves it, symlinks and '..' included, inside the
 * container's root, so no path reaches the host's files.  Paths only ever
 * travel as a URL query value (percent-encoded) or as one argv element of
 * an exec, never inside a shell string.
 *
 * What the two engines do (measured: Docker 20.10 / API 1.41, Podman 4.3):
 *  - HEAD answers 200 with X-Docker-Container-Path-Stat (base64 JSON:
 *    name, size, mode as Go's os.FileMode, mtime RFC 3339, linkTarget;
 *    Podman adds isDir), 404 when missing.  For a path through a regular
 *    file ("f.txt/x") Docker answers 500 (ENOTDIR), Podman 404.
 *  - The last component is not followed by Docker (GET gives the link,
 *    linkTarget is the fully resolved target inside the container);
 *    Podman follows it for GET, and its linkTarget is the path itself for
 *    anything but a link.  Podman answers 404 for a dangling link.
 *  - PUT to a missing directory: Docker 404; Podman 200, after making the
 *    missing directories root-owned 0755 (so the container's user could
 *    not write in them).  Both make entries as their tar headers say
 *    (mode, uid, gid, mtime), replacing an existing file or symlink by
 *    removing it first: there is no atomic replace in this API (that
 *    would take an exec of mv, ~60 ms).  Without noOverwriteDirNonDir=1
 *    both replace a whole directory tree by a file of its name.
 *  - copyUIDGID=1 (chown to the container's user) fails on Docker 20.10
 *    for a numeric User ("getent unable to find entry"), so the owner is
 *    put in the tar headers instead.
 * Hence write_file and mkdir: HEAD the path; when missing, HEAD upwards
 * to the deepest existing ancestor; PUT there one tar holding the missing
 * directories (0755) and the file, all owned by the container's user, so
 * existing directories keep their modes and owners and commands can
 * change what was written.  Costs (Docker, overlay2): HEAD ~1 ms, GET or
 * PUT ~55 ms (the engine re-execs itself to chroot), exec ~60-80 ms.
 *
 * Threads: as every slot of this provider, one call at a time per
 * instance (dk_state_t is not locked); the owner cache below is shared by
 * all instances of the process and has its own lock.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "csdk/sdk/base64.h"
#include "csdk/sdk/tar.h"
#include "docker.h"

#define FS_STAT_HEADER "X-Docker-Container-Path-Stat"
/* Symlinks followed by read_file before giving up (the engines resolve
 * whole chains, so one hop is the rule; more means a loop or a race). */
#define FS_MAX_HOPS 16
/* Output of the readdir script we accept (about a million entries). */
#define FS_READDIR_MAX ((size_t)64 << 20)
/* /etc/passwd and /etc/group read to resolve a user name. */
#define FS_ACCOUNTS_MAX ((size_t)4 << 20)
/* Returned by our HTTP callbacks to stop a transfer; the real status is
 * in the callback's context (dk_send passes unknown values through). */
#define FS_STOP CSDK_E_INTERNAL

/* Go's os.FileMode type bits, as the stat header carries them. */
#define GO_MODE_DIR (1u << 31)
#define GO_MODE_SYMLINK (1u << 27)
#define GO_MODE_DEVICE (1u << 26)
#define GO_MODE_PIPE (1u << 25)
#define GO_MODE_SOCKET (1u << 24)
#define GO_MODE_CHARDEV (1u << 21)
#define GO_MODE_IRREGULAR (1u << 19)
#define GO_MODE_TYPE                                                      \
    (GO_MODE_DIR | GO_MODE_SYMLINK | GO_MODE_DEVICE | GO_MODE_PIPE |      \
     GO_MODE_SOCKET | GO_MODE_CHARDEV | GO_MODE_IRREGULAR)

/* ------------------------------------------------------------------ */
/* Pure helpers (tests/docker/test_docker_files.c includes this file)  */
/* ------------------------------------------------------------------ */

/* A path's stat as the engine reports it. */
typedef struct fs_stat {
    uint32_t mode;    /* Go os.FileMode */
    int64_t size;
    int64_t mtime_ms; /* 0 when the engine gave none we could read */
    int is_dir;       /* 1/0 from Podman's isDir (follows links), -1 none */
    char *link;       /* linkTarget, or NULL when empty; malloc'd */
} fs_stat_t;

static void fs_stat_free(fs_stat_t *s)
{
    free(s->link);
    memset(s, 0, sizeof *s);
}

/* "2026-11-22T17:18:32.506475422Z" or "...+01:00" -> ms since the epoch;
 * -1 when it is not RFC 3339. */
static int64_t fs_rfc3339_ms(const char *s)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, n = 0, ms = 0, digits = 0;
    int64_t t;

    if (!s || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi,
                     &sec, &n) != 6 || n != 19)
        return -1;
    s += n;
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++, digits++)
            if (digits < 3)
                ms = ms * 10 + (*s - '0');
    while (digits > 0 && digits < 3)
        ms *= 10, digits++;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        sec > 60)
        return -1;
    t = (int64_t)timegm(&tm);
    if (*s == 'Z' && s[1] == '\0')
        return t * 1000 + ms;
    if ((*s == '+' || *s == '-') && strlen(s) == 6 && s[3] == ':') {
        int oh, om;
        if (sscanf(s + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 || om > 59)
            return -1;
        t -= (*s == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
        return t * 1000 + ms;
    }
    return -1;
}

/* Parses the X-Docker-Container-Path-Stat value.  0, or -1 when it is not
 * base64 of a JSON object with an integer mode (what we rely on); the
 * other fields are optional.  *out is zeroed first; free with
 * fs_stat_free. */
static int fs_stat_parse(const char *hdr, fs_stat_t *out)
{
    size_t n, len = 0;
    unsigned char *raw;
    json_t *j, *v;
    json_int_t mode;
    int rc = -1;

    memset(out, 0, sizeof *out);
    out->is_dir = -1;
    if (!hdr || !*hdr || (n = strlen(hdr)) > 65536)
        return -1;
    if (!(raw = malloc(csdk_b64_decoded_max(n) + 1)))
        return -1;
    if (csdk_b64_decode(raw, &len, hdr, n) != 0) {
        free(raw);
        return -1;
    }
    j = json_loadb((const char *)raw, len, 0, NULL);
    free(raw);
    if (!json_is_object(j))
        goto out;
    v = json_object_get(j, "mode");
    if (!json_is_integer(v) || (mode = json_integer_value(v)) < 0 ||
        mode > (json_int_t)UINT32_MAX)
        goto out;
    out->mode = (uint32_t)mode;
    v = json_object_get(j, "size");
    if (json_is_integer(v) && json_integer_value(v) >= 0)
        out->size = json_integer_value(v);
    v = json_object_get(j, "mtime");
    if (json_is_string(v) && (out->mtime_ms = fs_rfc3339_ms(
                                  json_string_value(v))) < 0)
        out->mtime_ms = 0;
    v = json_object_get(j, "isDir");
    if (json_is_boolean(v))
        out->is_dir = json_is_true(v);
    v = json_object_get(j, "linkTarget");
    if (json_is_string(v) && *json_string_value(v) &&
        !(out->link = strdup(json_string_value(v))))
        goto out;
    rc = 0;
out:
    json_decref(j);
    if (rc)
        fs_stat_free(out);
    return rc;
}

/* A decimal number that fits 32 bits, the whole of [s, s+n). */
static int fs_u32(const char *s, size_t n, uint32_t *v)
{
    uint64_t x = 0;

    if (n == 0 || n > 10)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(s[i] - '0');
    }
    if (x > UINT32_MAX)
        return -1;
    *v = (uint32_t)x;
    return 0;
}

/* Finds the line of an /etc/passwd or /etc/group text whose field `key`
 * (0: name, 2: id) equals [want, want+wlen), and returns its field `get`
 * parsed as a number.  0 when found, -1 when not. */
static int fs_account_field(const char *text, const char *want, size_t wlen,
                            int key, int get, uint32_t *out)
{
    const char *line = text;

    while (line && *line) {
        const char *end = strchr(line, '\n'), *f[8];
        size_t flen[8];
        int nf = 0;
        const char *p = line;

        if (!end)
            end = line + strlen(line);
        while (nf < 8) {
            const char *c = memchr(p, ':', (size_t)(end - p));
            f[nf] = p;
            flen[nf] = (size_t)((c ? c : end) - p);
            nf++;
            if (!c)
                break;
            p = c + 1;
        }
        if (nf > key && nf > get && flen[key] == wlen &&
            memcmp(f[key], want, wlen) == 0 &&
            fs_u32(f[get], flen[get], out) == 0)
            return 0;
        line = *end ? end + 1 : NULL;
    }
    return -1;
}

/* Whether resolving `user` ("", "uid", "uid:gid", "name", "name:group")
 * needs the container's /etc/passwd or /etc/group. */
static int fs_user_needs_files(const char *user)
{
    const char *colon = strchr(user, ':');
    uint32_t v;
    size_t ulen = colon ? (size_t)(colon - user) : strlen(user);

    if (ulen == 0 && !colon)
        return 0; /* root */
    return fs_u32(user, ulen, &v) != 0 || !colon ||
           fs_u32(colon + 1, strlen(colon + 1), &v) != 0;
}

/* The uid and gid the container's processes run as, the way runc finds
 * them: "" is root; a numeric uid without a group takes its passwd
 * entry's group, or 0 when it has none; names are looked up in passwd
 * and group (either text may be NULL: treated as empty).  0, or -1 when a
 * name is unknown. */
static int fs_user_resolve(const char *user, const char *passwd,
                           const char *group, uint32_t *uid, uint32_t *gid)
{
    const char *colon = strchr(user, ':');
    size_t ulen = colon ? (size_t)(colon - user) : strlen(user);
    char idtext[16];

    if (!passwd)
        passwd = "";
    if (!group)
        group = "";
    *uid = 0;
    *gid = 0;
    if (ulen > 0 && fs_u32(user, ulen, uid) != 0 &&
        fs_account_field(passwd, user, ulen, 0, 2, uid) != 0)
        return -1;
    if (colon && colon[1]) {
        const char *g = colon + 1;
        if (fs_u32(g, strlen(g), gid) == 0)
            return 0;
        return fs_account_field(group, g, strlen(g), 0, 2, gid);
    }
    /* The primary group of the user, by name or by uid. */
    snprintf(idtext, sizeof idtext, "%u", (unsigned)*uid);
    if (ulen > 0 && fs_account_field(passwd, user, ulen, 0, 3, gid) == 0)
        return 0;
    if (fs_account_field(passwd, idtext, strlen(idtext), 2, 3, gid) == 0)
        return 0;
    *gid = 0;
    return 0;
}

/* Stores v in a ustar numeric field of `width` bytes: octal with a NUL
 * when it fits, else GNU base-256 (which Go's archive/tar reads). */
static void fs_tar_number(unsigned char *f, size_t width, uint64_t v)
{
    uint64_t octal_max = ((uint64_t)1 << (3 * (width - 1))) - 1;

    if (v <= octal_max) {
        char tmp[24];
        snprintf(tmp, sizeof tmp, "%0*llo", (int)(width - 1),
                 (unsigned long long)v);
        memcpy(f, tmp, width - 1);
        f[width - 1] = '\0';
        return;
    }
    memset(f, 0, width);
    for (size_t i = width; i-- > 1; v >>= 8)
        f[i] = (unsigned char)(v & 0xff);
    f[0] = 0x80;
}

/* Sets uid and gid in the ustar header block `b` (the entry's own block,
 * the last one csdk_tar_header wrote) and recomputes its checksum.  The
 * SDK's writer has no owner fields: it writes 0 (root). */
static void fs_tar_owner(unsigned char *b, uint32_t uid, uint32_t gid)
{
    unsigned sum = 0;
    char tmp[8];

    fs_tar_number(b + 108, 8, uid);
    fs_tar_number(b + 116, 8, gid);
    memset(b + 148, ' ', 8);
    for (size_t i = 0; i < CSDK_TAR_BLOCK; i++)
        sum += b[i];
    snprintf(tmp, sizeof tmp, "%06o", sum);
    memcpy(b + 148, tmp, 7);
}

/* What to put in one archive: directories (made 0755), then optionally a
 * file whose data the caller streams. */
typedef struct fs_plan {
    char **dirs;      /* names inside the archive: "a", "a/b" */
    size_t ndirs;
    char *file;       /* "a/b/f.txt", or NULL */
    uint64_t size;    /* the file's bytes */
    uint32_t mode;    /* the file's permission bits */
    int64_t mtime;    /* seconds */
    uint32_t uid, gid;
} fs_plan_t;

static void fs_plan_free(fs_plan_t *p)
{
    for (size_t i = 0; i < p->ndirs; i++)
        free(p->dirs[i]);
    free(p->dirs);
    free(p->file);
    memset(p, 0, sizeof *p);
}

/* Splits `rest` (the part of a path below an existing directory) into the
 * plan's names: every component but the last becomes a directory, the last
 * the file (with_file) or a directory too.  "" and "." components are
 * skipped.  Returns 0; 1 when a component is ".." (it would climb out of a
 * directory that does not exist yet: refused rather than guessed);
 * 2 when there is no component left; -1 when out of memory. */
static int fs_plan_names(fs_plan_t *p, const char *rest, int with_file)
{
    char *acc;
    size_t len = 0, ncomp = 0, i = 0;
    const char *s;

    for (s = rest; *s;) {
        size_t n = strcspn(s, "/");
        if (n == 2 && s[0] == '.' && s[1] == '.')
            return 1;
        if (n > 0 && !(n == 1 && s[0] == '.'))
            ncomp++;
        s += n;
        s += *s == '/';
    }
    if (ncomp == 0)
        return 2;
    if (!(acc = malloc(strlen(rest) + 1)) ||
        !(p->dirs = calloc(ncomp, sizeof *p->dirs))) {
        free(acc);
        return -1;
    }
    for (s = rest; *s;) {
        size_t n = strcspn(s, "/");
        if (n > 0 && !(n == 1 && s[0] == '.')) {
            char *name;
            if (len)
                acc[len++] = '/';
            memcpy(acc + len, s, n);
            len += n;
            acc[len] = '\0';
            if (!(name = strdup(acc))) {
                free(acc);
                return -1;
            }
            if (++i == ncomp && with_file)
                p->file = name;
            else
                p->dirs[p->ndirs++] = name;
        }
        s += n;
        s += *s == '/';
    }
    free(acc);
    return 0;
}

/* The archive's header bytes for a plan: each directory's header(s), then
 * the file's; the file's data, its padding and the trailer follow (see
 * fs_body_t).  NULL when out of memory or a name is too long for tar
 * (*len then 0 or 1 respectively). */
static unsigned char *fs_plan_headers(const fs_plan_t *p, size_t *len)
{
    size_t cap = 0, off = 0, i, n;
    unsigned char *buf;
    csdk_tar_entry_t e;

    *len = 0;
    for (i = 0; i < p->ndirs; i++)
        cap += csdk_tar_header_max(strlen(p->dirs[i]), 0);
    if (p->file)
        cap += csdk_tar_header_max(strlen(p->file), 0);
    if (!(buf = malloc(cap ? cap : 1)))
        return NULL;
    for (i = 0; i <= p->ndirs; i++) {
        memset(&e, 0, sizeof e);
        if (i < p->ndirs) {
            e.name = p->dirs[i];
            e.type = CSDK_TAR_DIR;
            e.mode = 0755;
        } else if (p->file) {
            e.name = p->file;
            e.type = CSDK_TAR_FILE;
            e.mode = p->mode & 07777;
            e.size = p->size;
        } else {
            break;
        }
        e.mtime = p->mtime;
        if (!(n = csdk_tar_header(buf + off, cap - off, &e))) {
            free(buf);
            *len = 1;
            return NULL;
        }
        fs_tar_owner(buf + off + n - CSDK_TAR_BLOCK, p->uid, p->gid);
        off += n;
    }
    *len = off;
    return buf;
}

/* A streamed request body: headers, the caller's data, then zeros (the
 * data's padding and the trailer).  Borrowed pointers. */
typedef struct fs_body {
    const unsigned char *hdr;
    size_t hdr_len;
    const unsigned char *data;
    size_t data_len;
    size_t zeros;
    uint64_t off;
} fs_body_t;

static uint64_t fs_body_size(const fs_body_t *b)
{
    return (uint64_t)b->hdr_len + b->data_len + b->zeros;
}

/* csdk_http_read_fn over an fs_body_t. */
static size_t fs_body_read(void *arg, char *buf, size_t cap)
{
    fs_body_t *b = arg;
    size_t done = 0;

    while (done < cap) {
        uint64_t off = b->off;
        size_t n;

        if (off < b->hdr_len) {
            n = (size_t)(b->hdr_len - off);
            n = n < cap - done ? n : cap - done;
            memcpy(buf + done, b->hdr + off, n);
        } else if ((off -= b->hdr_len) < b->data_len) {
            n = (size_t)(b->data_len - off);
            n = n < cap - done ? n : cap - done;
            memcpy(buf + done, b->data + off, n);
        } else if ((off -= b->data_len) < b->zeros) {
            n = (size_t)(b->zeros - off);
            n = n < cap - done ? n : cap - done;
            memset(buf + done, 0, n);
        } else {
            break;
        }
        done += n;
        b->off += n;
    }
    return done;
}

/* Length of the parent of [p, p+len): trailing slashes, the last
 * component and the slashes before it dropped.  0 means the root. */
static size_t fs_parent_len(const char *p, size_t len)
{
    while (len > 0 && p[len - 1] == '/')
        len--;
    while (len > 0 && p[len - 1] != '/')
        len--;
    while (len > 0 && p[len - 1] == '/')
        len--;
    return len;
}

/* Lexically cleaned absolute path, as Go's path.Clean (what Docker does
 * before resolving): used only to refuse removing "/" or the working
 * directory itself.  malloc'd, NULL when out of memory. */
static char *fs_clean(const char *p)
{
    size_t n = strlen(p), len = 0;
    char *out = malloc(n + 2);

    if (!out)
        return NULL;
    while (*p) {
        size_t c = strcspn(p, "/");
        if (c == 2 && p[0] == '.' && p[1] == '.') {
            while (len > 0 && out[len - 1] != '/')
                len--;
            if (len > 0)
                len--;
        } else if (c > 0 && !(c == 1 && p[0] == '.')) {
            out[len++] = '/';
            memcpy(out + len, p, c);
            len += c;
        }
        p += c;
        p += *p == '/';
    }
    if (len == 0)
        out[len++] = '/';
    out[len] = '\0';
    return out;
}

/* One directory entry. */
typedef struct fs_dirent {
    char *name;
    int32_t type; /* CSDK_FILE_* */
    int64_t size;
    int64_t mtime_ms;
} fs_dirent_t;

typedef struct fs_dirents {
    fs_dirent_t *v;
    size_t n, cap;
} fs_dirents_t;

static void fs_dirents_free(fs_dirents_t *d)
{
    for (size_t i = 0; i < d->n; i++)
        free(d->v[i].name);
    free(d->v);
    memset(d, 0, sizeof *d);
}

/* Appends an entry (name copied).  -1 when out of memory. */
static int fs_dirents_add(fs_dirents_t *d, const char *name, size_t nlen,
                          int32_t type, int64_t size, int64_t mtime_ms)
{
    fs_dirent_t *e;

    if (d->n == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 32;
        fs_dirent_t *v = realloc(d->v, ncap * sizeof *v);
        if (!v)
            return -1;
        d->v = v;
        d->cap = ncap;
    }
    e = &d->v[d->n];
    if (!(e->name = strndup(name, nlen)))
        return -1;
    e->type = type;
    e->size = size;
    e->mtime_ms = mtime_ms;
    d->n++;
    return 0;
}

static int fs_dirent_cmp(const void *a, const void *b)
{
    return strcmp(((const fs_dirent_t *)a)->name,
                  ((const fs_dirent_t *)b)->name);
}

/* Parses the readdir script's output: records of "MODEHEX SIZE MTIME\n"
 * then the name and a NUL (names hold neither NUL nor '/', and come after
 * the numbers, so a newline in a name cannot confuse this).  0, -1 when
 * out of memory, 1 when the output is malformed. */
static int fs_readdir_parse(const char *out, size_t len, fs_dirents_t *d)
{
    const char *p = out, *end = out + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p)), *name, *nul;
        unsigned long long mode, size;
        long long mtime;
        char line[96], *q;
        int32_t type;

        if (!nl || (size_t)(nl - p) >= sizeof line)
            return 1;
        memcpy(line, p, (size_t)(nl - p));
        line[nl - p] = '\0';
        errno = 0;
        mode = strtoull(line, &q, 16);
        if (q == line || *q != ' ')
            return 1;
        size = strtoull(q + 1, &q, 10);
        if (*q != ' ')
            return 1;
        mtime = strtoll(q + 1, &q, 10);
        if (*q != '\0' || errno)
            return 1;
        name = nl + 1;
        if (!(nul = memchr(name, '\0', (size_t)(end - name))) ||
            nul == name || memchr(name, '/', (size_t)(nul - name)))
            return 1;
        switch (mode & 0170000) {
        case 0100000: type = CSDK_FILE_REGULAR; break;
        case 0040000: type = CSDK_FILE_DIRECTORY; break;
        case 0120000: type = CSDK_FILE_SYMLINK; break;
        default: type = CSDK_FILE_OTHER; break;
        }
        if (size > INT64_MAX || mtime > INT64_MAX / 1000 ||
            mtime < INT64_MIN / 1000)
            return 1;
        if (fs_dirents_add(d, name, (size_t)(nul - name), type,
                           (int64_t)size, (int64_t)mtime * 1000))
            return -1;
        p = nul + 1;
    }
    return 0;
}

/* The readdir script: `sh -c SCRIPT csdk-readdir DIR`.  Exit 3: DIR is
 * missing; 4: not a directory; 5: cannot be entered; 6: no stat program
 * (the caller then reads the directory through the archive API).  One
 * stat for each of the three globs (the usual way to match every name but
 * . and ..); a glob that matches nothing stays literal and is dropped
 * unless such a name exists.  stat prints one line per argument in order;
 * should an entry vanish meanwhile (stat fails), that group is done one
 * entry at a time.  %f is the raw mode in hex, %Y the mtime in seconds:
 * GNU coreutils and busybox both have them. */
static const char fs_readdir_script[] =
    "unset IFS\n"
    "[ -e \"$1\" ] || exit 3\n"
    "[ -d \"$1\" ] || exit 4\n"
    "cd -- \"$1\" 2>/dev/null || exit 5\n"
    "command -v stat >/dev/null 2>&1 || exit 6\n"
    "for g in '*' '.[!.]*' '..?*'; do\n"
    "  set -- $g\n"
    "  if [ \"$#\" -eq 1 ] && [ ! -e \"$1\" ] && [ ! -L \"$1\" ]; then "
    "continue; fi\n"
    "  if s=$(stat -c '%f %s %Y' -- \"$@\" 2>/dev/null); then\n"
    "    printf '%s\\n' \"$s\" | { for f do IFS= read -r l; "
    "printf '%s\\n%s\\0' \"$l\" \"$f\"; done; }\n"
    "  else\n"
    "    for f do s=$(stat -c '%f %s %Y' -- \"$f\" 2>/dev/null) && "
    "printf '%s\\n%s\\0' \"$s\" \"$f\"; done\n"
    "  fi\n"
    "done\n";

/* ------------------------------------------------------------------ */
/* One call's context                                                  */
/* ------------------------------------------------------------------ */

typedef struct fs_call {
    dk_state_t *st;
    csdk_call_t *call;
    const char *id;   /* the sandbox id as given (checked) */
    const char *path; /* as the caller gave it: messages name this */
    char *abs;        /* the absolute path sent to the engine */
    char *workdir;    /* the container's working directory */
    char *user;       /* its Config.User ("" when none) */
    char full_id[65]; /* its full id (the owner cache's key) */
    char *what;       /* "'P' in sandbox ID", for engine errors */
    const char *verb; /* "write", "make directory": for messages */
} fs_call_t;

static void fs_end(fs_call_t *fc)
{
    free(fc->abs);
    free(fc->workdir);
    free(fc->user);
    free(fc->what);
    memset(fc, 0, sizeof *fc);
}

static csdk_status_t fs_nomem(fs_call_t *fc)
{
    return fc->st->host->error(fc->call, CSDK_E_NOMEM, "out of memory");
}

/* Looks the sandbox up (it must be csdk's: dk_inspect checks the label)
 * and makes the path absolute under its working directory. */
static csdk_status_t fs_begin(fs_call_t *fc, dk_state_t *st,
                              csdk_call_t *call, const char *id,
                              const char *path)
{
    json_t *j = NULL, *cfg;
    const char *wd, *user, *full;
    csdk_status_t rc;

    memset(fc, 0, sizeof *fc);
    fc->st = st;
    fc->call = call;
    fc->id = id;
    fc->path = path ? path : "";
    fc->verb = "write";
    if (!path || !*path)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no path given; name a file in sandbox %s "
                               "(relative to its working directory, or "
                               "absolute)", id ? id : "");
    if ((rc = dk_inspect(st, call, id, &j)) != CSDK_OK)
        return rc;
    cfg = json_object_get(j, "Config");
    wd = json_string_value(json_object_get(cfg, "WorkingDir"));
    if (!wd || wd[0] != '/')
        wd = st->conf.workdir && st->conf.workdir[0] == '/'
                 ? st->conf.workdir : "/";
    user = json_string_value(json_object_get(cfg, "User"));
    full = json_string_value(json_object_get(j, "Id"));
    if (full && strlen(full) == 64)
        memcpy(fc->full_id, full, 65);
    fc->workdir = strdup(wd);
    fc->user = strdup(user ? user : "");
    if (path[0] == '/')
        fc->abs = strdup(path);
    else
        fc->abs = dk_printf("%s%s%s", wd,
                            wd[strlen(wd) - 1] == '/' ? "" : "/", path);
    fc->what = dk_printf("'%s' in sandbox %s", path, id);
    json_decref(j);
    if (!fc->workdir || !fc->user || !fc->abs || !fc->what) {
        fs_end(fc);
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    return CSDK_OK;
}

static char *fs_archive_url(const fs_call_t *fc, const char *abs,
                            const char *extra)
{
    char *esc = csdk_http_escape(abs), *url;

    if (!esc)
        return NULL;
    url = dk_printf("/containers/%s/archive?path=%s%s", fc->id, esc,
                    extra ? extra : "");
    free(esc);
    return url;
}

/* Whether an engine's error body says a path component is a file (Docker
 * answers 500 with ENOTDIR's text for "file.txt/x"). */
static int fs_says_notdir(const csdk_http_resp_t *resp)
{
    return resp->body && strstr(resp->body, "not a directory") != NULL;
}

/* ------------------------------------------------------------------ */
/* HEAD and GET                                                        */
/* ------------------------------------------------------------------ */

/* How a HEAD came out. */
#define FS_ABSENT 0  /* 404 */
#define FS_PRESENT 1 /* 200, *stat filled */
#define FS_NOTDIR 2  /* a component of the path is a file */

static int fs_stop_at_once(void *arg, const void *data, size_t n)
{
    (void)data, (void)n;
    *(int *)arg = 1;
    return FS_STOP;
}

/* Asks the engine why it answered a HEAD of `abs` as it did: a HEAD
 * reply has no body, so the same path is fetched (stopped at the first
 * byte should it succeed now).  Sets *how, or records the error. */
static csdk_status_t fs_explain(fs_call_t *fc, const char *abs, int *how)
{
    csdk_http_req_t req;
    csdk_http_resp_t resp;
    int stopped = 0;
    char *url = fs_archive_url(fc, abs, NULL);
    csdk_status_t rc;

    if (!url)
        return fs_nomem(fc);
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.path = url;
    req.on_body = fs_stop_at_once;
    req.body_arg = &stopped;
    rc = dk_send(fc->st, fc->call, &req, &resp, fc->what);
    free(url);
    if (rc == FS_STOP && stopped) {
        *how = FS_PRESENT; /* it appeared meanwhile */
        return CSDK_OK;
    }
    if (rc != CSDK_OK)
        return rc;
    if (resp.status == 404) {
        *how = FS_ABSENT;
    } else if (fs_says_notdir(&resp)) {
        *how = FS_NOTDIR;
    } else if (resp.status >= 200 && resp.status < 300) {
        *how = FS_PRESENT;
    } else {
        rc = dk_reply_error(fc->st, fc->call, &resp, fc->what);
    }
    csdk_http_resp_clear(&resp);
    return rc;
}

/* HEAD of `abs`: *how is FS_PRESENT (with *st filled: free it), FS_ABSENT
 * or FS_NOTDIR; any other outcome is an error, recorded. */
static csdk_status_t fs_head(fs_call_t *fc, const char *abs, int *how,
                             fs_stat_t *st)
{
    csdk_http_req_t req;
    csdk_http_resp_t resp;
    char *url = fs_archive_url(fc, abs, NULL);
    csdk_status_t rc;
    long status;

    memset(st, 0, sizeof *st);
    *how = FS_ABSENT;
    if (!url)
        return fs_nomem(fc);
    memset(&req, 0, sizeof req);
    req.method = "HEAD";
    req.path = url;
    req.capture_header = FS_STAT_HEADER;
    rc = dk_send(fc->st, fc->call, &req, &resp, fc->what);
    free(url);
    if (rc != CSDK_OK)
        return rc;
    status = resp.status;
    if (status == 200) {
        if (fs_stat_parse(resp.captured, st) != 0)
            rc = fc->st->host->error(fc->call, CSDK_E_PROTOCOL,
                                     "%s: the engine's %s header is "
                                     "missing or not base64 JSON with a "
                                     "mode", fc->what, FS_STAT_HEADER);
        *how = FS_PRESENT;
    } else if (status == 404) {
        *how = FS_ABSENT;
    }
    csdk_http_resp_clear(&resp);
    if (rc == CSDK_OK && status != 200 && status != 404) {
        rc = fs_explain(fc, abs, how);
        if (rc == CSDK_OK && *how == FS_PRESENT)
            rc = fc->st->host->error(fc->call, CSDK_E_PROTOCOL,
                                     "%s: the engine answered %ld to a "
                                     "HEAD but serves the path; retry",
                                     fc->what, status);
    }
    return rc;
}

/* What a GET of an archive does with it. */
typedef struct fs_get {
    fs_call_t *fc;
    csdk_tar_reader_t *tar;
    int entries;          /* entries seen */
    int stopped;          /* a callback stopped the transfer */
    csdk_status_t status; /* ...with this status (recorded, or OK) */
    /* read_file: the one regular file, streamed to CSDK_STREAM_DATA or
     * collected in `into` (at most `cap` bytes). */
    dk_buf_t *into;
    size_t cap;
    /* readdir: entries directly inside the archive's top directory. */
    fs_dirents_t *list;
} fs_get_t;

static int fs_get_stop(fs_get_t *g, csdk_status_t status)
{
    g->stopped = 1;
    g->status = status;
    return FS_STOP;
}

static int fs_get_file_entry(void *arg, const csdk_tar_entry_t *e)
{
    fs_get_t *g = arg;
    fs_call_t *fc = g->fc;

    if (++g->entries > 1)
        return fs_get_stop(g, CSDK_OK); /* one file: the rest is not ours */
    if (e->type != CSDK_TAR_FILE && g->into)
        return fs_get_stop(g, CSDK_OK); /* a small read: taken as empty */
    if (e->type != CSDK_TAR_FILE)
        return fs_get_stop(g, fc->st->host->error(
                                  fc->call, CSDK_E_CONFLICT,
                                  "%s changed while it was read (it is no "
                                  "longer a regular file); retry",
                                  fc->what));
    return 0;
}

static int fs_get_file_data(void *arg, const void *data, size_t n)
{
    fs_get_t *g = arg;
    fs_call_t *fc = g->fc;

    if (g->into) {
        if (n > g->cap - g->into->len)
            return fs_get_stop(g, fc->st->host->error(
                                      fc->call, CSDK_E_PROTOCOL,
                                      "%s is larger than %zu bytes",
                                      fc->what, g->cap));
        dk_buf_add(g->into, data, n);
        if (g->into->failed)
            return fs_get_stop(g, fs_nomem(fc));
        return 0;
    }
    if (fc->st->host->write(fc->call, CSDK_STREAM_DATA, data, n) != 0)
        return fs_get_stop(g, fc->st->host->error(
                                  fc->call, CSDK_E_CANCELLED,
                                  "reading %s was cancelled", fc->what));
    return 0;
}

static int fs_get_list_entry(void *arg, const csdk_tar_entry_t *e)
{
    fs_get_t *g = arg;
    const char *name = e->name;
    size_t n;
    int32_t type;

    /* Docker names them "./x" (we ask for "DIR/."), Podman "x". */
    while (name[0] == '.' && name[1] == '/')
        name += 2;
    n = strlen(name);
    while (n > 0 && name[n - 1] == '/')
        n--;
    if (n == 0 || (n == 1 && name[0] == '.') || memchr(name, '/', n))
        return 0; /* the directory itself, or deeper */
    type = e->type == CSDK_TAR_FILE      ? CSDK_FILE_REGULAR
           : e->type == CSDK_TAR_DIR     ? CSDK_FILE_DIRECTORY
           : e->type == CSDK_TAR_SYMLINK ? CSDK_FILE_SYMLINK
                                         : CSDK_FILE_OTHER;
    if (fs_dirents_add(g->list, name, n, type,
                       e->type == CSDK_TAR_FILE ? (int64_t)e->size
                       : e->type == CSDK_TAR_SYMLINK && e->linkname
                           ? (int64_t)strlen(e->linkname) /* as lstat */
                           : 0,
                       e->mtime * 1000))
        return fs_get_stop(g, fs_nomem(g->fc));
    return 0;
}

static int fs_get_feed(void *arg, const void *data, size_t n)
{
    fs_get_t *g = arg;
    int rc = csdk_tar_reader_feed(g->tar, data, n);

    if (rc == -1)
        return fs_get_stop(g, g->fc->st->host->error(
                                  g->fc->call, CSDK_E_PROTOCOL,
                                  "%s: the engine sent an invalid archive "
                                  "(%s)", g->fc->what,
                                  csdk_tar_reader_error(g->tar)));
    return rc; /* 0, or FS_STOP from our callbacks */
}

/* GETs the archive of `abs` through g's callbacks.  A 404 (or a file in
 * the way) is CSDK_E_NOT_FOUND, not recorded; other failures are
 * recorded. */
static csdk_status_t fs_get(fs_get_t *g, const char *abs)
{
    fs_call_t *fc = g->fc;
    csdk_http_req_t req;
    csdk_http_resp_t resp;
    char *url = fs_archive_url(fc, abs, NULL);
    csdk_status_t rc;

    g->tar = csdk_tar_reader_new(
        g->list ? fs_get_list_entry : fs_get_file_entry,
        g->list ? NULL : fs_get_file_data, g);
    if (!url || !g->tar) {
        free(url);
        csdk_tar_reader_free(g->tar);
        g->tar = NULL;
        return fs_nomem(fc);
    }
    memset(&req, 0, sizeof req);
    req.method = "GET";
    req.path = url;
    req.on_body = fs_get_feed;
    req.body_arg = g;
    rc = dk_send(fc->st, fc->call, &req, &resp, fc->what);
    free(url);
    if (rc == FS_STOP && g->stopped) {
        rc = g->status;
    } else if (rc == CSDK_OK) {
        if (resp.status == 404 || fs_says_notdir(&resp))
            rc = CSDK_E_NOT_FOUND;
        else if (resp.status < 200 || resp.status >= 300)
            rc = dk_reply_error(fc->st, fc->call, &resp, fc->what);
        else if (csdk_tar_reader_finish(g->tar) != 0)
            rc = fc->st->host->error(fc->call, CSDK_E_PROTOCOL,
                                     "%s: the engine's archive was cut "
                                     "short; retry", fc->what);
        else if (!g->list && g->entries == 0)
            rc = fc->st->host->error(fc->call, CSDK_E_PROTOCOL,
                                     "%s: the engine sent an empty "
                                     "archive (Docker does so for a file "
                                     "name that is not UTF-8); read it "
                                     "with a command", fc->what);
        csdk_http_resp_clear(&resp);
    }
    csdk_tar_reader_free(g->tar);
    g->tar = NULL;
    return rc;
}

/* Follows `abs` to a regular file: HEAD, then the engine's resolved
 * linkTarget while it is a symlink.  *target is malloc'd.  Missing is
 * CSDK_E_NOT_FOUND (recorded), a directory or a special file
 * CSDK_E_INVALID_ARGUMENT. */
static csdk_status_t fs_regular(fs_call_t *fc, char **target)
{
    const csdk_host_t *h = fc->st->host;
    char *cur = strdup(fc->abs);
    fs_stat_t st;
    csdk_status_t rc = CSDK_OK;
    int how = FS_ABSENT, hop;

    *target = NULL;
    if (!cur)
        return fs_nomem(fc);
    for (hop = 0; hop <= FS_MAX_HOPS; hop++) {
        if ((rc = fs_head(fc, cur, &how, &st)) != CSDK_OK)
            break;
        if (how != FS_PRESENT) {
            rc = h->error(fc->call, CSDK_E_NOT_FOUND,
                          "no file '%s' in sandbox %s%s", fc->path, fc->id,
                          hop ? " (a symlink leads to a missing path)" : "");
            break;
        }
        if (st.mode & GO_MODE_SYMLINK) {
            if (!st.link || st.link[0] != '/' || !strcmp(st.link, cur)) {
                rc = h->error(fc->call, CSDK_E_PROTOCOL,
                              "%s is a symlink the engine did not resolve",
                              fc->what);
                fs_stat_free(&st);
                break;
            }
            free(cur);
            cur = st.link;
            st.link = NULL;
            fs_stat_free(&st);
            continue;
        }
        if (st.mode & GO_MODE_DIR)
            rc = h->error(fc->call, CSDK_E_INVALID_ARGUMENT,
                          "'%s' in sandbox %s is a directory; list it with "
                          "readdir", fc->path, fc->id);
        else if (st.mode & GO_MODE_TYPE)
            rc = h->error(fc->call, CSDK_E_INVALID_ARGUMENT,
                          "'%s' in sandbox %s is not a regular file (a "
                          "device, pipe or socket)", fc->path, fc->id);
        fs_stat_free(&st);
        break;
    }
    if (hop > FS_MAX_HOPS)
        rc = h->error(fc->call, CSDK_E_INVALID_ARGUMENT,
                      "%s: too many levels of symlinks", fc->what);
    if (rc == CSDK_OK)
        *target = cur;
    else
        free(cur);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The container's user                                                */
/* ------------------------------------------------------------------ */

/* Users resolved through the container's own files, by (container,
 * User).  Guarded by owner_lock: instances may run in parallel threads.
 * A container's /etc/passwd changing after the first lookup is not seen
 * (user ids of an image do not move). */
#define FS_OWNER_SLOTS 16
static struct {
    char id[65];
    char user[64];
    uint32_t uid, gid;
} owner_cache[FS_OWNER_SLOTS];
static unsigned owner_next;
static pthread_mutex_t owner_lock = PTHREAD_MUTEX_INITIALIZER;

static int owner_lookup(const fs_call_t *fc, uint32_t *uid, uint32_t *gid)
{
    int found = 0;

    pthread_mutex_lock(&owner_lock);
    for (unsigned i = 0; i < FS_OWNER_SLOTS && !found; i++)
        if (owner_cache[i].id[0] && !strcmp(owner_cache[i].id, fc->full_id) &&
            !strcmp(owner_cache[i].user, fc->user)) {
            *uid = owner_cache[i].uid;
            *gid = owner_cache[i].gid;
            found = 1;
        }
    pthread_mutex_unlock(&owner_lock);
    return found;
}

static void owner_store(const fs_call_t *fc, uint32_t uid, uint32_t gid)
{
    unsigned i;

    if (!fc->full_id[0] || strlen(fc->user) >= sizeof owner_cache[0].user)
        return;
    pthread_mutex_lock(&owner_lock);
    i = owner_next++ % FS_OWNER_SLOTS;
    memcpy(owner_cache[i].id, fc->full_id, sizeof owner_cache[i].id);
    strcpy(owner_cache[i].user, fc->user);
    owner_cache[i].uid = uid;
    owner_cache[i].gid = gid;
    pthread_mutex_unlock(&owner_lock);
}

/* Reads a small file of the container into *out (NUL-terminated; empty
 * when it does not exist). */
static csdk_status_t fs_slurp(fs_call_t *fc, const char *abs, dk_buf_t *out)
{
    fs_get_t g;
    csdk_status_t rc;
    char *what = dk_printf("%s of sandbox %s", abs, fc->id), *saved;

    if (!what)
        return fs_nomem(fc);
    saved = fc->what;
    fc->what = what;
    memset(&g, 0, sizeof g);
    g.fc = fc;
    g.into = out;
    g.cap = FS_ACCOUNTS_MAX;
    rc = fs_get(&g, abs);
    fc->what = saved;
    free(what);
    if (rc == CSDK_E_NOT_FOUND) {
        dk_buf_free(out);
        rc = CSDK_OK;
    }
    return rc;
}

/* The uid:gid the container's processes run as, for the headers of what
 * we write (so commands can change it).  A numeric "uid:gid" (or none:
 * root) costs nothing; names cost a read of /etc/passwd (and /etc/group),
 * ~55 ms each, once per container and user. */
static csdk_status_t fs_owner(fs_call_t *fc, uint32_t *uid, uint32_t *gid)
{
    dk_buf_t pw = {0}, gr = {0};
    csdk_status_t rc = CSDK_OK;

    if (!fs_user_needs_files(fc->user)) {
        fs_user_resolve(fc->user, NULL, NULL, uid, gid);
        return CSDK_OK;
    }
    if (owner_lookup(fc, uid, gid))
        return CSDK_OK;
    rc = fs_slurp(fc, "/etc/passwd", &pw);
    if (rc == CSDK_OK && strchr(fc->user, ':'))
        rc = fs_slurp(fc, "/etc/group", &gr);
    if (rc == CSDK_OK) {
        if (fs_user_resolve(fc->user, pw.data, gr.data, uid, gid) != 0)
            rc = fc->st->host->error(fc->call, CSDK_E_CONFIG,
                                     "sandbox %s runs as user '%s', which "
                                     "its /etc/passwd or /etc/group does "
                                     "not know; set user = UID:GID",
                                     fc->id, fc->user);
        else
            owner_store(fc, *uid, *gid);
    }
    dk_buf_free(&pw);
    dk_buf_free(&gr);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Writing: files and directories                                      */
/* ------------------------------------------------------------------ */

typedef struct fs_upload {
    int dir;            /* mkdir: make fc->abs a directory */
    const void *data;   /* write: the file's bytes */
    size_t len;
    uint32_t mode;      /* the file's mode... */
    int keep_mode;      /* ...unless it replaces a regular file: its own */
} fs_upload_t;

static csdk_status_t fs_parent_is_file(fs_call_t *fc)
{
    return fc->st->host->error(fc->call, CSDK_E_CONFLICT,
                               "cannot %s '%s' in sandbox %s: a parent is "
                               "not a directory (a file, or a symlink to "
                               "none)", fc->verb,
                               fc->path, fc->id);
}

/* Whether a present path is a directory, following a symlink (Podman says
 * so in isDir; Docker is asked about "PATH/", which it follows). */
static csdk_status_t fs_is_dir(fs_call_t *fc, const char *abs,
                               const fs_stat_t *st, int *is_dir)
{
    fs_stat_t st2;
    char *slash;
    int how = FS_ABSENT;
    csdk_status_t rc;

    *is_dir = (st->mode & GO_MODE_DIR) != 0;
    if (*is_dir || !(st->mode & GO_MODE_SYMLINK))
        return CSDK_OK;
    if (st->is_dir >= 0) {
        *is_dir = st->is_dir;
        return CSDK_OK;
    }
    if (!(slash = dk_printf("%s/", abs)))
        return fs_nomem(fc);
    rc = fs_head(fc, slash, &how, &st2);
    free(slash);
    if (rc == CSDK_OK && how == FS_PRESENT)
        *is_dir = (st2.mode & GO_MODE_DIR) != 0;
    fs_stat_free(&st2);
    return rc;
}

/* Maps a failed PUT. */
static csdk_status_t fs_put_error(fs_call_t *fc, const csdk_http_resp_t *resp)
{
    const csdk_host_t *h = fc->st->host;
    const char *b = resp->body ? resp->body : "";

    if (resp->status == 404)
        return h->error(fc->call, CSDK_E_NOT_FOUND,
                        "cannot %s '%s' in sandbox %s: a parent "
                        "directory was removed meanwhile; retry", fc->verb,
                        fc->path, fc->id);
    if (strstr(b, "not a directory") || strstr(b, "cannot overwrite") ||
        strstr(b, "file exists"))
        return h->error(fc->call, CSDK_E_CONFLICT,
                        "cannot %s '%s' in sandbox %s: a directory is "
                        "in the way, or a parent is not a directory",
                        fc->verb, fc->path, fc->id);
    if (strstr(b, "no space left") || strstr(b, "quota"))
        return h->error(fc->call, CSDK_E_QUOTA,
                        "cannot %s '%s' in sandbox %s: its disk is full",
                        fc->verb, fc->path, fc->id);
    if (strstr(b, "read-only"))
        return h->error(fc->call, CSDK_E_PERMISSION,
                        "cannot %s '%s' in sandbox %s: its filesystem "
                        "is read-only", fc->verb, fc->path, fc->id);
    return dk_reply_error(fc->st, fc->call, resp, fc->what);
}

/* PUTs the plan's archive (with `data` as the file's bytes) into the
 * existing directory `dir`. */
static csdk_status_t fs_put(fs_call_t *fc, const char *dir,
                            const fs_plan_t *plan, const void *data)
{
    static const char *const hdrs[] = {"Content-Type: application/x-tar",
                                       NULL};
    csdk_http_req_t req;
    csdk_http_resp_t resp;
    fs_body_t body;
    size_t hlen;
    unsigned char *hdr = fs_plan_headers(plan, &hlen);
    char *url;
    csdk_status_t rc;

    if (!hdr)
        return hlen ? fc->st->host->error(fc->call, CSDK_E_INVALID_ARGUMENT,
                                          "cannot write '%s' in sandbox %s: "
                                          "a name is longer than tar allows "
                                          "(4096 bytes)", fc->path, fc->id)
                    : fs_nomem(fc);
    if (!(url = fs_archive_url(fc, dir, "&noOverwriteDirNonDir=1"))) {
        free(hdr);
        return fs_nomem(fc);
    }
    memset(&body, 0, sizeof body);
    body.hdr = hdr;
    body.hdr_len = hlen;
    body.data = data;
    body.data_len = plan->file ? (size_t)plan->size : 0;
    body.zeros = (plan->file ? csdk_tar_padding(plan->size) : 0) +
                 CSDK_TAR_TRAILER;
    memset(&req, 0, sizeof req);
    req.method = "PUT";
    req.path = url;
    req.headers = hdrs;
    req.read_body = fs_body_read;
    req.read_arg = &body;
    req.body_size = (int64_t)fs_body_size(&body);
    rc = dk_send(fc->st, fc->call, &req, &resp, fc->what);
    free(url);
    free(hdr);
    if (rc != CSDK_OK)
        return rc;
    if (resp.status < 200 || resp.status >= 300)
        rc = fs_put_error(fc, &resp);
    csdk_http_resp_clear(&resp);
    return rc;
}

/* Finds the deepest existing directory above fc->abs: *anc_len is the
 * length of its path in fc->abs (0: the root). */
static csdk_status_t fs_existing_ancestor(fs_call_t *fc, size_t *anc_len)
{
    size_t len = fs_parent_len(fc->abs, strlen(fc->abs));
    csdk_status_t rc = CSDK_OK;

    while (len > 0) {
        char *p = strndup(fc->abs, len);
        fs_stat_t st;
        int how = FS_ABSENT;

        if (!p)
            return fs_nomem(fc);
        rc = fs_head(fc, p, &how, &st);
        free(p);
        if (rc != CSDK_OK)
            return rc;
        if (how == FS_NOTDIR) {
            fs_stat_free(&st);
            return fs_parent_is_file(fc);
        }
        if (how == FS_PRESENT) {
            int dir = 0;
            char *q = strndup(fc->abs, len);

            rc = q ? fs_is_dir(fc, q, &st, &dir) : fs_nomem(fc);
            free(q);
            fs_stat_free(&st);
            if (rc != CSDK_OK)
                return rc;
            if (!dir)
                return fs_parent_is_file(fc);
            break;
        }
        len = fs_parent_len(fc->abs, len);
    }
    *anc_len = len;
    return CSDK_OK;
}

/* write_file, dk_put_file and mkdir: see the top of this file. */
static csdk_status_t fs_upload(fs_call_t *fc, const fs_upload_t *up)
{
    const csdk_host_t *h = fc->st->host;
    fs_plan_t plan;
    fs_stat_t st;
    size_t anc_len, abs_len = strlen(fc->abs);
    char *anc = NULL;
    int how = FS_ABSENT, is_dir, prc;
    csdk_status_t rc;

    memset(&plan, 0, sizeof plan);
    fc->verb = up->dir ? "make directory" : "write";
    if (!up->dir && fc->abs[abs_len - 1] == '/')
        return h->error(fc->call, CSDK_E_INVALID_ARGUMENT,
                        "cannot write '%s' in sandbox %s: the path ends "
                        "with '/'; name a file", fc->path, fc->id);
    if ((rc = fs_head(fc, fc->abs, &how, &st)) != CSDK_OK)
        return rc;
    if (how == FS_NOTDIR)
        return fs_parent_is_file(fc);
    plan.mode = up->mode;
    if (how == FS_PRESENT && up->dir) {
        /* Done if it is a directory (or a symlink to one). */
        rc = fs_is_dir(fc, fc->abs, &st, &is_dir);
        fs_stat_free(&st);
        if (rc == CSDK_OK && !is_dir)
            rc = h->error(fc->call, CSDK_E_CONFLICT,
                          "cannot make directory '%s' in sandbox %s: a "
                          "file of that name exists", fc->path, fc->id);
        return rc;
    }
    if (how == FS_PRESENT) {
        is_dir = (st.mode & GO_MODE_DIR) != 0;
        if (up->keep_mode && !(st.mode & GO_MODE_TYPE))
            plan.mode = st.mode & 0777; /* an executable stays one */
        fs_stat_free(&st);
        if (is_dir)
            return h->error(fc->call, CSDK_E_CONFLICT,
                            "cannot write '%s' in sandbox %s: it is a "
                            "directory", fc->path, fc->id);
        /* Replace it (a symlink itself, not its target, as the engines
         * do): the parent exists. */
        anc_len = fs_parent_len(fc->abs, abs_len);
    } else if ((rc = fs_existing_ancestor(fc, &anc_len)) != CSDK_OK) {
        return rc;
    }
    prc = fs_plan_names(&plan, fc->abs + anc_len, !up->dir);
    if (prc == 1)
        rc = h->error(fc->call, CSDK_E_INVALID_ARGUMENT,
                      "cannot %s '%s' in sandbox %s: it goes up ('..') "
                      "from a directory that does not exist; make that "
                      "directory first or leave out the '..'", fc->verb,
                      fc->path, fc->id);
    else if (prc == 2)
        rc = h->error(fc->call, CSDK_E_INVALID_ARGUMENT,
                      "cannot %s '%s' in sandbox %s: the path names no "
                      "file", fc->verb, fc->path, fc->id);
    else if (prc < 0)
        rc = fs_nomem(fc);
    if (rc == CSDK_OK)
        rc = fs_owner(fc, &plan.uid, &plan.gid);
    if (rc == CSDK_OK) {
        plan.size = up->len;
        plan.mtime = (int64_t)(h->now_ms() / 1000);
        if (!(anc = anc_len ? strndup(fc->abs, anc_len) : strdup("/")))
            rc = fs_nomem(fc);
    }
    if (rc == CSDK_OK)
        rc = fs_put(fc, anc, &plan, up->data);
    free(anc);
    fs_plan_free(&plan);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The slots                                                           */
/* ------------------------------------------------------------------ */

csdk_status_t dk_read_file(void *state, csdk_call_t *call, const char *id,
                           const char *path)
{
    fs_call_t fc;
    fs_get_t g;
    char *target = NULL;
    csdk_status_t rc = fs_begin(&fc, state, call, id, path);

    if (rc != CSDK_OK)
        return rc;
    if ((rc = fs_regular(&fc, &target)) == CSDK_OK) {
        memset(&g, 0, sizeof g);
        g.fc = &fc;
        rc = fs_get(&g, target);
        if (rc == CSDK_E_NOT_FOUND)
            rc = fc.st->host->error(call, CSDK_E_NOT_FOUND,
                                    "no file '%s' in sandbox %s (removed "
                                    "while it was read)", path, id);
    }
    free(target);
    fs_end(&fc);
    return rc;
}

csdk_status_t dk_write_file(void *state, csdk_call_t *call, const char *id,
                            const char *path, const void *data, size_t len)
{
    fs_call_t fc;
    fs_upload_t up;
    csdk_status_t rc;
    dk_state_t *st = state;

    if (!data && len > 0)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no data given for %zu bytes", len);
    if ((rc = fs_begin(&fc, state, call, id, path)) != CSDK_OK)
        return rc;
    memset(&up, 0, sizeof up);
    up.data = data;
    up.len = len;
    up.mode = 0644;
    up.keep_mode = 1;
    rc = fs_upload(&fc, &up);
    fs_end(&fc);
    return rc;
}

csdk_status_t dk_put_file(dk_state_t *st, csdk_call_t *call, const char *id,
                          const char *path, const void *data, size_t len,
                          int private_)
{
    fs_call_t fc;
    fs_upload_t up;
    csdk_status_t rc;

    if (!data && len > 0)
        return st->host->error(call, CSDK_E_INTERNAL,
                               "no data given for %zu bytes", len);
    if ((rc = fs_begin(&fc, st, call, id, path)) != CSDK_OK)
        return rc;
    memset(&up, 0, sizeof up);
    up.data = data;
    up.len = len;
    up.mode = private_ ? 0600 : 0644;
    rc = fs_upload(&fc, &up);
    fs_end(&fc);
    return rc;
}

csdk_status_t dk_mkdir(void *state, csdk_call_t *call, const char *id,
                       const char *path)
{
    fs_call_t fc;
    fs_upload_t up;
    csdk_status_t rc = fs_begin(&fc, state, call, id, path);

    if (rc != CSDK_OK)
        return rc;
    memset(&up, 0, sizeof up);
    up.dir = 1;
    rc = fs_upload(&fc, &up);
    fs_end(&fc);
    return rc;
}

csdk_status_t dk_exists(void *state, csdk_call_t *call, const char *id,
                        const char *path)
{
    fs_call_t fc;
    fs_stat_t st;
    int how = FS_ABSENT;
    csdk_status_t rc = fs_begin(&fc, state, call, id, path);

    if (rc != CSDK_OK)
        return rc;
    /* lstat semantics on Docker (a dangling symlink exists); Podman
     * answers 404 for one, so there it does not. */
    rc = fs_head(&fc, fc.abs, &how, &st);
    fs_stat_free(&st);
    if (rc == CSDK_OK &&
        fc.st->host->set_int(call, CSDK_F_EXISTS, how == FS_PRESENT) != 0)
        rc = fs_nomem(&fc);
    fs_end(&fc);
    return rc;
}

/* Reports entries sorted by name. */
static csdk_status_t fs_report(fs_call_t *fc, fs_dirents_t *d)
{
    const csdk_host_t *h = fc->st->host;

    if (d->n > 1)
        qsort(d->v, d->n, sizeof *d->v, fs_dirent_cmp);
    for (size_t i = 0; i < d->n; i++) {
        int32_t failed = h->next_record(fc->call);
        failed |= h->set_str(fc->call, CSDK_F_NAME, d->v[i].name);
        failed |= h->set_int(fc->call, CSDK_F_FILE_TYPE, d->v[i].type);
        failed |= h->set_int(fc->call, CSDK_F_SIZE, d->v[i].size);
        failed |= h->set_int(fc->call, CSDK_F_MTIME_MS, d->v[i].mtime_ms);
        if (failed)
            return fs_nomem(fc);
    }
    return CSDK_OK;
}

/* readdir through the archive API: exact, and needs nothing in the
 * image, but the engine streams the whole subtree (we skip its data). */
static csdk_status_t fs_readdir_archive(fs_call_t *fc, fs_dirents_t *d)
{
    const csdk_host_t *h = fc->st->host;
    fs_get_t g;
    fs_stat_t st;
    char *dot;
    int how = FS_ABSENT, is_dir = 0;
    csdk_status_t rc = fs_head(fc, fc->abs, &how, &st);

    if (rc == CSDK_OK && how != FS_PRESENT)
        rc = h->error(fc->call, CSDK_E_NOT_FOUND, "no directory '%s' in "
                      "sandbox %s", fc->path, fc->id);
    else if (rc == CSDK_OK &&
             (rc = fs_is_dir(fc, fc->abs, &st, &is_dir)) == CSDK_OK &&
             !is_dir)
        rc = h->error(fc->call, CSDK_E_INVALID_ARGUMENT, "'%s' in sandbox "
                      "%s is not a directory", fc->path, fc->id);
    fs_stat_free(&st);
    if (rc != CSDK_OK)
        return rc;
    if (!(dot = dk_printf("%s/.", fc->abs)))
        return fs_nomem(fc);
    memset(&g, 0, sizeof g);
    g.fc = fc;
    g.list = d;
    rc = fs_get(&g, dot);
    free(dot);
    if (rc == CSDK_E_NOT_FOUND)
        rc = h->error(fc->call, CSDK_E_NOT_FOUND, "no directory '%s' in "
                      "sandbox %s (removed meanwhile)", fc->path, fc->id);
    return rc;
}

/* The first line of a command's stderr, for messages. */
static const char *fs_first_line(dk_buf_t *err)
{
    char *nl;

    if (!err->data || err->failed)
        return "(no message)";
    if ((nl = strchr(err->data, '\n')))
        *nl = '\0';
    return *err->data ? err->data : "(no message)";
}

/*
 * readdir: one exec of a fixed script (fs_readdir_script) rather than a
 * GET of the directory's archive.  The archive API has no depth limit: a
 * GET of /workspace streams every file below it, node_modules and .venv
 * included (hundreds of MB for a listing), while the exec costs the same
 * ~60-80 ms whatever lies below, about what a GET of a small directory
 * costs.  The script needs sh and stat (GNU or busybox); without them, or
 * when the container is not running or the path cannot travel in JSON
 * (not UTF-8), the archive is read instead.  Entries are reported without
 * following symlinks (lstat), sorted by name.
 */
csdk_status_t dk_readdir(void *state, csdk_call_t *call, const char *id,
                         const char *path)
{
    fs_call_t fc;
    fs_dirents_t d = {0};
    dk_buf_t out = {0}, err = {0};
    const char *argv[6];
    int code = -1, prc;
    csdk_status_t rc = fs_begin(&fc, state, call, id, path);
    const csdk_host_t *h;

    if (rc != CSDK_OK)
        return rc;
    h = fc.st->host;
    argv[0] = "/bin/sh";
    argv[1] = "-c";
    argv[2] = fs_readdir_script;
    argv[3] = "csdk-readdir";
    argv[4] = fc.abs;
    argv[5] = NULL;
    rc = dk_exec_collect(fc.st, call, fc.id, argv, NULL, 0, &out, &err,
                         FS_READDIR_MAX, &code);
    if (rc == CSDK_E_CONFLICT || rc == CSDK_E_INVALID_ARGUMENT ||
        (rc == CSDK_OK && (code == 6 || code == 126 || code == 127))) {
        rc = fs_readdir_archive(&fc, &d);
    } else if (rc == CSDK_OK) {
        if (code == 3)
            rc = h->error(call, CSDK_E_NOT_FOUND, "no directory '%s' in "
                          "sandbox %s", path, id);
        else if (code == 4)
            rc = h->error(call, CSDK_E_INVALID_ARGUMENT, "'%s' in sandbox "
                          "%s is not a directory", path, id);
        else if (code == 5)
            rc = h->error(call, CSDK_E_PERMISSION, "cannot list '%s' in "
                          "sandbox %s: its user may not enter it", path,
                          id);
        else if (code != 0)
            rc = h->error(call, CSDK_E_IO, "cannot list '%s' in sandbox "
                          "%s: %s (exit %d)", path, id, fs_first_line(&err),
                          code);
        else if (out.failed)
            rc = fs_nomem(&fc);
        else if (out.len >= FS_READDIR_MAX)
            rc = h->error(call, CSDK_E_QUOTA, "'%s' in sandbox %s has too "
                          "many entries to list (over %zu MiB of names)",
                          path, id, FS_READDIR_MAX >> 20);
        else if ((prc = fs_readdir_parse(out.data ? out.data : "", out.len,
                                         &d)) != 0)
            rc = prc < 0 ? fs_nomem(&fc)
                         : h->error(call, CSDK_E_PROTOCOL, "listing '%s' "
                                    "in sandbox %s: the listing script's "
                                    "output is not what it prints (is "
                                    "stat GNU or busybox?)", path, id);
    }
    if (rc == CSDK_OK)
        rc = fs_report(&fc, &d);
    fs_dirents_free(&d);
    dk_buf_free(&out);
    dk_buf_free(&err);
    fs_end(&fc);
    return rc;
}

/*
 * remove: `rm -rf -- PATH` as the container's user (the archive API
 * cannot delete).  rm removes a symlink itself, never what it points to,
 * and a missing path is fine.  The root and the working directory itself
 * are refused, as the local provider refuses its areas.
 */
csdk_status_t dk_remove(void *state, csdk_call_t *call, const char *id,
                        const char *path)
{
    fs_call_t fc;
    dk_buf_t err = {0};
    char *clean = NULL, *cwd = NULL;
    const char *argv[5];
    int code = -1;
    csdk_status_t rc = fs_begin(&fc, state, call, id, path);
    const csdk_host_t *h;

    if (rc != CSDK_OK)
        return rc;
    h = fc.st->host;
    if (!(clean = fs_clean(fc.abs)) || !(cwd = fs_clean(fc.workdir))) {
        rc = fs_nomem(&fc);
        goto out;
    }
    if (!strcmp(clean, "/") || !strcmp(clean, cwd)) {
        rc = h->error(call, CSDK_E_INVALID_ARGUMENT,
                      "cannot remove '%s' of sandbox %s itself (%s); "
                      "remove what is inside it", path, id, clean);
        goto out;
    }
    argv[0] = "rm";
    argv[1] = "-rf";
    argv[2] = "--";
    argv[3] = fc.abs;
    argv[4] = NULL;
    rc = dk_exec_collect(fc.st, call, fc.id, argv, NULL, 0, NULL, &err,
                         4096, &code);
    if (rc == CSDK_E_INVALID_ARGUMENT)
        rc = h->error(call, rc, "cannot remove '%s' in sandbox %s: the "
                      "path is not UTF-8, which the engine's exec API "
                      "cannot carry; remove it with a command (rm -rf "
                      "with a glob)", path, id);
    if (rc != CSDK_OK || code == 0)
        goto out;
    if (code == 126 || code == 127)
        rc = h->error(call, CSDK_E_NOT_SUPPORTED,
                      "cannot remove '%s' in sandbox %s: its image has no "
                      "rm", path, id);
    else if (err.data && strstr(err.data, "Not a directory"))
        rc = CSDK_OK; /* a parent is a file: nothing there to remove */
    else if (err.data && (strstr(err.data, "ermission denied") ||
                          strstr(err.data, "not permitted") ||
                          strstr(err.data, "Read-only")))
        rc = h->error(call, CSDK_E_PERMISSION,
                      "cannot remove '%s' in sandbox %s: %s", path, id,
                      fs_first_line(&err));
    else
        rc = h->error(call, CSDK_E_IO, "cannot remove '%s' in sandbox %s: "
                      "%s (exit %d)", path, id, fs_first_line(&err), code);
out:
    free(clean);
    free(cwd);
    dk_buf_free(&err);
    fs_end(&fc);
    return rc;
}
