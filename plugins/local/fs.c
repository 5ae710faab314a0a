/*
 * plugins/local/fs.c - the filesystem methods, done from the host side on
 * the sandbox's state directories.
 *
 * The sandbox writes into these directories, so every name in them is
 * hostile: a symlink to /etc/passwd, a directory swapped for a symlink
 * while we look, a FIFO that would block a read.  Hence:
 *  - every path is resolved with openat2(RESOLVE_BENEATH |
 *    RESOLVE_NO_MAGICLINKS) from a directory fd of the area, so neither
 *    '..' nor an absolute or escaping symlink nor a swap mid-call can
 *    leave it;
 *  - the last component is acted on with *at() calls relative to its
 *    resolved parent, never following a symlink (unlinkat, mkdirat,
 *    renameat, fstatat with AT_SYMLINK_NOFOLLOW);
 *  - files are opened O_NONBLOCK and must be regular.
 * Messages name the path as the caller gave it, never a host path.
 *
 * Areas: /workspace (relative paths too), /home/sandbox and /tmp, which
 * are STATE/ws, STATE/home and STATE/tmp.
 *
 * Files and directories made here belong to the sandbox's user when it
 * runs as run_as (the plugin is root): fchown on the fd we created, or
 * fchownat without following on the name we just made in a resolved
 * directory, so sandboxed code can change what the host wrote.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#define LC_READ_CHUNK (256u * 1024u)

/*
 * Without openat2 (Linux < 5.6, or valgrind, which does not know it):
 * walk `path` (normalised: no "..", no empty parts) one component at a
 * time with O_NOFOLLOW, so no symlink is followed at all.  Stricter than
 * RESOLVE_BENEATH (a symlink that stays inside is refused too, ELOOP) and
 * as safe.
 */
static int lc_walk_beneath(int dirfd, const char *path, int flags)
{
    const char *p = path, *slash;
    int cur = dirfd, next, e;
    char comp[256];

    if (flags & O_PATH)
        flags = (flags & ~O_PATH) | O_RDONLY;
    for (;;) {
        size_t n;

        slash = strchr(p, '/');
        if (slash == NULL)
            break;
        n = (size_t)(slash - p);
        if (n >= sizeof comp) {
            errno = ENAMETOOLONG;
            next = -1;
        } else {
            memcpy(comp, p, n);
            comp[n] = '\0';
            next = openat(cur, comp,
                          O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        }
        e = errno;
        if (cur != dirfd)
            close(cur);
        if (next < 0) {
            errno = e;
            return -1;
        }
        cur = next;
        p = slash + 1;
    }
    next = openat(cur, p, flags | O_NOFOLLOW);
    e = errno;
    if (cur != dirfd)
        close(cur);
    errno = e;
    return next;
}

/* glibc 2.36 has no wrapper for openat2. */
static int lc_openat2(int dirfd, const char *path, int flags, mode_t mode)
{
    static int no_openat2;
    struct open_how how;
    int fd;

    if (!no_openat2) {
        memset(&how, 0, sizeof how);
        how.flags = (uint64_t)(unsigned)flags;
        how.mode = (flags & O_CREAT) ? mode : 0;
        how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
        fd = (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
        if (fd >= 0 || errno != ENOSYS)
            return fd;
        no_openat2 = 1;
    }
    return lc_walk_beneath(dirfd, path, flags);
}

/* A path taken apart: the area's directory fd and the path inside it. */
typedef struct lc_fspath {
    int root;    /* O_PATH fd of STATE/<area> */
    char *rel;   /* "a/b/c", or "." for the area itself */
    char *base;  /* last component (NULL for the area itself) */
    char *parent; /* rel without base, or "." */
} lc_fspath_t;

static void lc_fspath_free(lc_fspath_t *p)
{
    if (p->root >= 0)
        close(p->root);
    free(p->rel);
    free(p->base);
    free(p->parent);
    p->root = -1;
    p->rel = p->base = p->parent = NULL;
}

/* `path` starts with the area `area` ("/tmp") followed by '/' or end. */
static const char *lc_under(const char *path, const char *area)
{
    size_t n = strlen(area);

    if (strncmp(path, area, n) != 0 || (path[n] != '/' && path[n] != '\0'))
        return NULL;
    return path + n;
}

static csdk_status_t lc_fspath(lc_state_t *st, csdk_call_t *call,
                               const lc_sandbox_t *sb, const char *path,
                               lc_fspath_t *out)
{
    const char *rest = path, *sub = "ws";
    char *dir, *norm, *o, *last;
    size_t n;

    memset(out, 0, sizeof *out);
    out->root = -1;
    if (path == NULL || *path == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no path given");
    if (path[0] == '/') {
        if ((rest = lc_under(path, LC_WORKSPACE)) != NULL)
            sub = "ws";
        else if ((rest = lc_under(path, LC_HOME)) != NULL)
            sub = "home";
        else if ((rest = lc_under(path, "/tmp")) != NULL)
            sub = "tmp";
        else
            return st->host->error(
                call, CSDK_E_INVALID_ARGUMENT,
                "path '%s' is outside /workspace, /home/sandbox and /tmp, "
                "the parts of sandbox %s the filesystem methods reach; read "
                "other files with a command (csdk exec ID -- cat PATH)",
                path, sb->id);
    }
    /* Normalise: drop empty and "." components, refuse "..". */
    n = strlen(rest);
    norm = malloc(n + 2);
    if (norm == NULL)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    o = norm;
    for (const char *p = rest; *p != '\0';) {
        const char *end = strchr(p, '/');
        size_t len;

        if (end == NULL)
            end = p + strlen(p);
        len = (size_t)(end - p);
        if (len == 2 && p[0] == '.' && p[1] == '.') {
            free(norm);
            return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                   "path '%s' has a '..' component; give "
                                   "a path inside the sandbox without '..'",
                                   path);
        }
        if (len > 0 && !(len == 1 && p[0] == '.')) {
            if (o != norm)
                *o++ = '/';
            memcpy(o, p, len);
            o += len;
        }
        p = *end ? end + 1 : end;
    }
    *o = '\0';
    if (*norm == '\0') {
        strcpy(norm, ".");
    } else {
        last = strrchr(norm, '/');
        out->base = strdup(last ? last + 1 : norm);
        out->parent = last ? strndup(norm, (size_t)(last - norm)) : strdup(".");
        if (out->base == NULL || out->parent == NULL) {
            free(norm);
            lc_fspath_free(out);
            return st->host->error(call, CSDK_E_NOMEM, "out of memory");
        }
    }
    out->rel = norm;
    dir = lc_join(sb->dir, sub);
    if (dir == NULL) {
        lc_fspath_free(out);
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    out->root = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    free(dir);
    if (out->root < 0) {
        int e = errno;

        lc_fspath_free(out);
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "sandbox %s has no %s directory (%s); it is "
                               "being removed", sb->id,
                               strcmp(sub, "ws") == 0 ? LC_WORKSPACE : sub,
                               strerror(e));
    }
    return CSDK_OK;
}

/* An errno from resolving or opening `path`, as a status. */
static csdk_status_t lc_fs_errno(lc_state_t *st, csdk_call_t *call,
                                 const lc_sandbox_t *sb, const char *path,
                                 const char *what, int e)
{
    switch (e) {
    case ENOENT:
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "no such file or directory '%s' in sandbox "
                               "%s", path, sb->id);
    case ENOTDIR:
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "'%s' in sandbox %s: a component of the path "
                               "is not a directory", path, sb->id);
    case EXDEV:
    case ELOOP:
        return st->host->error(call, CSDK_E_PERMISSION,
                               "'%s' in sandbox %s leads outside its "
                               "directory through a symlink; refused", path,
                               sb->id);
    case EACCES:
    case EPERM:
        return st->host->error(call, CSDK_E_PERMISSION,
                               "cannot %s '%s' in sandbox %s: %s", what, path,
                               sb->id, strerror(e));
    case ENOMEM:
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    case ENOSPC:
    case EDQUOT:
    case EFBIG:
        return st->host->error(call, CSDK_E_QUOTA,
                               "cannot %s '%s' in sandbox %s: %s", what, path,
                               sb->id, strerror(e));
    default:
        return st->host->error(call, CSDK_E_IO,
                               "cannot %s '%s' in sandbox %s: %s", what, path,
                               sb->id, strerror(e));
    }
}

/*
 * Open directory `rel` (below root) as O_PATH, making it and its missing
 * parents when `create` (owned by uid:gid unless uid is (uid_t)-1).  Each
 * prefix is resolved from the root again, so a symlink inside the area
 * that stays inside it works, and mkdirat only ever makes one plain name
 * in an already resolved directory.
 */
static int lc_open_dir(int root, const char *rel, int create, uid_t uid,
                       gid_t gid)
{
    char *prefix;
    int cur, next;
    size_t len;

    next = lc_openat2(root, rel, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    if (next >= 0 || errno != ENOENT || !create)
        return next;
    cur = lc_openat2(root, ".", O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
    prefix = malloc(strlen(rel) + 1);
    if (cur < 0 || prefix == NULL) {
        if (cur >= 0)
            close(cur);
        free(prefix);
        errno = ENOMEM;
        return -1;
    }
    len = 0;
    for (const char *p = rel; *p != '\0';) {
        const char *end = strchr(p, '/');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        char *comp = prefix + len + (len ? 1 : 0);

        if (len)
            prefix[len] = '/';
        memcpy(comp, p, n);
        comp[n] = '\0';
        len = (size_t)(comp - prefix) + n;
        next = lc_openat2(root, prefix, O_PATH | O_DIRECTORY | O_CLOEXEC, 0);
        if (next < 0 && errno == ENOENT) {
            if (mkdirat(cur, comp, 0755) == 0) {
                /* Ours, in a resolved directory: chown the name without
                 * following (a swapped-in symlink is chowned itself). */
                if (uid != (uid_t)-1 &&
                    fchownat(cur, comp, uid, gid, AT_SYMLINK_NOFOLLOW) != 0)
                    break;
            } else if (errno != EEXIST) {
                break;
            }
            next = lc_openat2(root, prefix, O_PATH | O_DIRECTORY | O_CLOEXEC,
                              0);
        }
        if (next < 0)
            break;
        close(cur);
        cur = next;
        p = end ? end + 1 : p + n;
    }
    free(prefix);
    if (next < 0) {
        int e = errno;

        close(cur);
        errno = e;
        return -1;
    }
    return cur;
}

/* ------------------------------------------------------------------ */
/* The methods                                                         */
/* ------------------------------------------------------------------ */

csdk_status_t lc_fs_read(lc_state_t *st, csdk_call_t *call,
                         const lc_sandbox_t *sb, const char *path)
{
    lc_fspath_t p;
    struct stat s;
    char *buf = NULL;
    int fd;
    csdk_status_t rc = lc_fspath(st, call, sb, path, &p);

    if (rc != CSDK_OK)
        return rc;
    fd = lc_openat2(p.root, p.rel,
                    O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0);
    if (fd < 0) {
        rc = lc_fs_errno(st, call, sb, path, "read", errno);
        goto out;
    }
    if (fstat(fd, &s) != 0) {
        rc = lc_fs_errno(st, call, sb, path, "read", errno);
        goto out;
    }
    if (S_ISDIR(s.st_mode)) {
        rc = st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                             "'%s' in sandbox %s is a directory", path,
                             sb->id);
        goto out;
    }
    if (!S_ISREG(s.st_mode)) {
        rc = st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                             "'%s' in sandbox %s is not a regular file",
                             path, sb->id);
        goto out;
    }
    buf = malloc(LC_READ_CHUNK);
    if (buf == NULL) {
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
        goto out;
    }
    for (;;) {
        ssize_t n = read(fd, buf, LC_READ_CHUNK);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = lc_fs_errno(st, call, sb, path, "read", errno);
            break;
        }
        if (n == 0)
            break;
        if (st->host->write(call, CSDK_STREAM_DATA, buf, (size_t)n) != 0) {
            rc = st->host->error(call, CSDK_E_CANCELLED,
                                 "reading '%s' was cancelled", path);
            break;
        }
    }
out:
    free(buf);
    if (fd >= 0)
        close(fd);
    lc_fspath_free(&p);
    return rc;
}

csdk_status_t lc_fs_write(lc_state_t *st, csdk_call_t *call,
                          const lc_sandbox_t *sb, const char *path,
                          const void *data, size_t len)
{
    lc_fspath_t p;
    char tmp[40];
    struct stat s;
    mode_t mode = 0644;
    const char *d = data;
    int dir = -1, fd = -1;
    csdk_status_t rc;

    if (data == NULL && len > 0)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no data given for %zu bytes", len);
    rc = lc_fspath(st, call, sb, path, &p);
    if (rc != CSDK_OK)
        return rc;
    if (p.base == NULL) {
        rc = st->host->error(call, CSDK_E_CONFLICT,
                             "'%s' in sandbox %s is a directory", path,
                             sb->id);
        goto out;
    }
    dir = lc_open_dir(p.root, p.parent, 1, lc_owner_uid(sb),
                      lc_owner_gid(sb));
    if (dir < 0) {
        rc = errno == ENOTDIR || errno == EEXIST
                 ? st->host->error(call, CSDK_E_CONFLICT,
                                   "cannot write '%s' in sandbox %s: a "
                                   "parent is a file, not a directory",
                                   path, sb->id)
                 : lc_fs_errno(st, call, sb, path, "write", errno);
        goto out;
    }
    if (fstatat(dir, p.base, &s, AT_SYMLINK_NOFOLLOW) == 0) {
        if (S_ISDIR(s.st_mode)) {
            rc = st->host->error(call, CSDK_E_CONFLICT,
                                 "'%s' in sandbox %s is a directory", path,
                                 sb->id);
            goto out;
        }
        if (S_ISREG(s.st_mode))
            mode = s.st_mode & 07777; /* keep an executable executable */
    }
    memcpy(tmp, ".csdk-write-", 12);
    lc_random_hex(tmp + 12, 16);
    fd = openat(dir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0600);
    if (fd < 0) {
        rc = lc_fs_errno(st, call, sb, path, "write", errno);
        goto out;
    }
    while (len > 0) {
        ssize_t n = write(fd, d, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = lc_fs_errno(st, call, sb, path, "write", n < 0 ? errno : EIO);
            goto out_unlink;
        }
        d += n;
        len -= (size_t)n;
    }
    /* The sandbox's user owns what we wrote (fchown before fchmod, which
     * keeps a replaced file's mode). */
    if ((sb->run_as && fchown(fd, sb->run_uid, sb->run_gid) != 0) ||
        fchmod(fd, mode) != 0 || close(fd) != 0) {
        fd = -1;
        rc = lc_fs_errno(st, call, sb, path, "write", errno);
        goto out_unlink;
    }
    fd = -1;
    if (renameat(dir, tmp, dir, p.base) != 0) {
        rc = errno == EISDIR || errno == ENOTEMPTY || errno == EEXIST
                 ? st->host->error(call, CSDK_E_CONFLICT,
                                   "'%s' in sandbox %s is a directory", path,
                                   sb->id)
                 : lc_fs_errno(st, call, sb, path, "write", errno);
        goto out_unlink;
    }
    goto out;
out_unlink:
    (void)unlinkat(dir, tmp, 0);
out:
    if (fd >= 0)
        close(fd);
    if (dir >= 0)
        close(dir);
    lc_fspath_free(&p);
    return rc;
}

csdk_status_t lc_fs_mkdir(lc_state_t *st, csdk_call_t *call,
                          const lc_sandbox_t *sb, const char *path)
{
    lc_fspath_t p;
    int dir;
    csdk_status_t rc = lc_fspath(st, call, sb, path, &p);

    if (rc != CSDK_OK)
        return rc;
    dir = lc_open_dir(p.root, p.rel, 1, lc_owner_uid(sb), lc_owner_gid(sb));
    if (dir < 0)
        rc = errno == ENOTDIR || errno == EEXIST
                 ? st->host->error(call, CSDK_E_CONFLICT,
                                   "cannot make directory '%s' in sandbox "
                                   "%s: it or a parent is a file", path,
                                   sb->id)
                 : lc_fs_errno(st, call, sb, path, "make directory", errno);
    else
        close(dir);
    lc_fspath_free(&p);
    return rc;
}

typedef struct lc_dirent {
    char *name;
    struct stat st;
} lc_dirent_t;

static int lc_dirent_cmp(const void *a, const void *b)
{
    return strcmp(((const lc_dirent_t *)a)->name,
                  ((const lc_dirent_t *)b)->name);
}

csdk_status_t lc_fs_readdir(lc_state_t *st, csdk_call_t *call,
                            const lc_sandbox_t *sb, const char *path)
{
    const csdk_host_t *h = st->host;
    lc_fspath_t p;
    lc_dirent_t *ents = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    DIR *d = NULL;
    int fd;
    csdk_status_t rc = lc_fspath(st, call, sb, path, &p);

    if (rc != CSDK_OK)
        return rc;
    fd = lc_openat2(p.root, p.rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
    if (fd < 0) {
        rc = errno == ENOTDIR
                 ? h->error(call, CSDK_E_INVALID_ARGUMENT,
                            "'%s' in sandbox %s is not a directory", path,
                            sb->id)
                 : lc_fs_errno(st, call, sb, path, "list", errno);
        goto out;
    }
    d = fdopendir(fd);
    if (d == NULL) {
        close(fd);
        rc = lc_fs_errno(st, call, sb, path, "list", errno);
        goto out;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (n == cap) {
            size_t ncap = cap ? cap * 2 : 32;
            lc_dirent_t *grown = realloc(ents, ncap * sizeof *grown);

            if (grown == NULL) {
                rc = h->error(call, CSDK_E_NOMEM, "out of memory");
                goto out;
            }
            ents = grown;
            cap = ncap;
        }
        if (fstatat(dirfd(d), e->d_name, &ents[n].st, AT_SYMLINK_NOFOLLOW) !=
            0)
            continue; /* removed meanwhile */
        ents[n].name = strdup(e->d_name);
        if (ents[n].name == NULL) {
            rc = h->error(call, CSDK_E_NOMEM, "out of memory");
            goto out;
        }
        n++;
    }
    if (n > 1)
        qsort(ents, n, sizeof *ents, lc_dirent_cmp);
    for (size_t i = 0; i < n; i++) {
        const struct stat *s = &ents[i].st;
        int32_t type = S_ISREG(s->st_mode)   ? CSDK_FILE_REGULAR
                       : S_ISDIR(s->st_mode) ? CSDK_FILE_DIRECTORY
                       : S_ISLNK(s->st_mode) ? CSDK_FILE_SYMLINK
                                             : CSDK_FILE_OTHER;
        int32_t failed = h->next_record(call);

        failed |= h->set_str(call, CSDK_F_NAME, ents[i].name);
        failed |= h->set_int(call, CSDK_F_FILE_TYPE, type);
        failed |= h->set_int(call, CSDK_F_SIZE, (int64_t)s->st_size);
        failed |= h->set_int(call, CSDK_F_MTIME_MS,
                             (int64_t)s->st_mtim.tv_sec * 1000 +
                                 s->st_mtim.tv_nsec / 1000000);
        if (failed) {
            rc = h->error(call, CSDK_E_NOMEM, "out of memory");
            break;
        }
    }
out:
    for (size_t i = 0; i < n; i++)
        free(ents[i].name);
    free(ents);
    if (d != NULL)
        closedir(d);
    lc_fspath_free(&p);
    return rc;
}

csdk_status_t lc_fs_exists(lc_state_t *st, csdk_call_t *call,
                           const lc_sandbox_t *sb, const char *path)
{
    lc_fspath_t p;
    struct stat s;
    int dir, found = 1;
    csdk_status_t rc = lc_fspath(st, call, sb, path, &p);

    if (rc != CSDK_OK)
        return rc;
    if (p.base != NULL) {
        dir = lc_open_dir(p.root, p.parent, 0, (uid_t)-1, (gid_t)-1);
        if (dir < 0) {
            if (errno != ENOENT && errno != ENOTDIR) {
                rc = lc_fs_errno(st, call, sb, path, "look at", errno);
                goto out;
            }
            found = 0;
        } else {
            found = fstatat(dir, p.base, &s, AT_SYMLINK_NOFOLLOW) == 0;
            close(dir);
        }
    }
    if (st->host->set_int(call, CSDK_F_EXISTS, found) != 0)
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
out:
    lc_fspath_free(&p);
    return rc;
}

csdk_status_t lc_fs_remove(lc_state_t *st, csdk_call_t *call,
                           const lc_sandbox_t *sb, const char *path)
{
    lc_fspath_t p;
    int dir;
    csdk_status_t rc = lc_fspath(st, call, sb, path, &p);

    if (rc != CSDK_OK)
        return rc;
    if (p.base == NULL) {
        rc = st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                             "cannot remove '%s' of sandbox %s itself; "
                             "remove what is inside it", path, sb->id);
        goto out;
    }
    dir = lc_open_dir(p.root, p.parent, 0, (uid_t)-1, (gid_t)-1);
    if (dir < 0) {
        if (errno != ENOENT && errno != ENOTDIR)
            rc = lc_fs_errno(st, call, sb, path, "remove", errno);
        goto out; /* a missing path is already removed */
    }
    if (lc_remove_at(dir, p.base) != 0)
        rc = lc_fs_errno(st, call, sb, path, "remove", errno);
    close(dir);
out:
    lc_fspath_free(&p);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Code files for run_code                                             */
/* ------------------------------------------------------------------ */

static int lc_open_tmp(const lc_sandbox_t *sb)
{
    char *dir = lc_join(sb->dir, "tmp");
    int fd;

    if (dir == NULL)
        return -1;
    fd = open(dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    free(dir);
    return fd;
}

csdk_status_t lc_fs_tmpfile(lc_state_t *st, csdk_call_t *call,
                            const lc_sandbox_t *sb, const char *suffix,
                            const void *data, size_t len, char **inner)
{
    char name[64], hex[17];
    const char *d = data;
    int dir = lc_open_tmp(sb), fd;

    *inner = NULL;
    if (dir < 0)
        return st->host->error(call, CSDK_E_IO,
                               "sandbox %s has no /tmp: %s", sb->id,
                               strerror(errno));
    lc_random_hex(hex, 16);
    snprintf(name, sizeof name, ".csdk-code-%s%s", hex, suffix);
    fd = openat(dir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                0644);
    close(dir);
    if (fd >= 0 && sb->run_as && fchown(fd, sb->run_uid, sb->run_gid) != 0) {
        int e = errno;

        close(fd);
        lc_fs_tmpfile_remove(sb, name);
        errno = e;
        fd = -1;
    }
    if (fd < 0)
        return st->host->error(call, CSDK_E_IO,
                               "cannot write the code to /tmp/%s in sandbox "
                               "%s: %s", name, sb->id, strerror(errno));
    while (len > 0) {
        ssize_t n = write(fd, d, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;

            close(fd);
            lc_fs_tmpfile_remove(sb, name);
            return st->host->error(call, e == ENOSPC ? CSDK_E_QUOTA
                                                     : CSDK_E_IO,
                                   "cannot write the code to /tmp in "
                                   "sandbox %s: %s", sb->id, strerror(e));
        }
        d += n;
        len -= (size_t)n;
    }
    close(fd);
    *inner = lc_printf("/tmp/%s", name);
    if (*inner == NULL) {
        lc_fs_tmpfile_remove(sb, name);
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    return CSDK_OK;
}

void lc_fs_tmpfile_remove(const lc_sandbox_t *sb, const char *inner)
{
    const char *name = strncmp(inner, "/tmp/", 5) == 0 ? inner + 5 : inner;
    int dir;

    if (strchr(name, '/') != NULL)
        return;
    dir = lc_open_tmp(sb);
    if (dir >= 0) {
        (void)unlinkat(dir, name, 0);
        close(dir);
    }
}
