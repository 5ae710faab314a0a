/*
 * plugins/local/saved.c - templates and snapshots, and copying directory
 * trees.
 *
 * Saved state `ID` is ROOT/saved/ID/ with `meta`, `ws/` and `home/` (the
 * workspace and $HOME of the sandbox it came from).  Templates have ids
 * "lt-...", snapshots "ls-..."; a sandbox can be created from either.  A
 * copy is built under a temporary name and renamed into place, so a
 * half-made template is never listed or used.
 *
 * Copies clone each regular file with FICLONE where the filesystem has
 * reflinks (btrfs, xfs: instant, shared until written), else
 * copy_file_range, else read/write.  Never hard links: a sandbox writing
 * a file in place would change the template.
 *
 * When sandboxes run as a run_as user (the plugin runs as root), every
 * copy belongs to that user: a template keeps the owner its sandbox gave
 * its files, and a sandbox made from it gets files it can change.  None
 * ever becomes root's (a setuid file of the sandbox's must not turn into
 * a setuid-root one).
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "local.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

/* Deeper directories than this are not copied (each level holds two
 * descriptors open). */
#define LC_CLONE_MAX_DEPTH 128

/* Who owns the copies: (uid_t)-1 leaves them to the caller. */
typedef struct lc_owner {
    uid_t uid;
    gid_t gid;
} lc_owner_t;

/* ------------------------------------------------------------------ */
/* Copying trees                                                       */
/* ------------------------------------------------------------------ */

static int lc_copy_data(int in, int out)
{
    char buf[65536];

    if (ioctl(out, FICLONE, in) == 0)
        return 0;
    for (;;) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, 1u << 30, 0);

        if (n == 0)
            return 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
    }
    if (errno != EXDEV && errno != EINVAL && errno != ENOSYS &&
        errno != EOPNOTSUPP && errno != EBADF)
        return -1;
    /* copy_file_range moved both offsets by what it copied, if anything:
     * read/write goes on from there. */
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf), w = 0;

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n < 0 ? -1 : 0;
        while (w < n) {
            ssize_t k = write(out, buf + w, (size_t)(n - w));

            if (k < 0 && errno == EINTR)
                continue;
            if (k <= 0)
                return -1;
            w += k;
        }
    }
}

static int lc_clone_file(int srcdir, int dstdir, const char *name,
                         const struct stat *s, const lc_owner_t *own)
{
    int in = openat(srcdir, name,
                    O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    int out, rc = -1, e;
    struct stat again;
    struct timespec times[2];

    if (in < 0)
        return errno == ENOENT || errno == ELOOP ? 0 : -1;
    /* Swapped for something else since the fstatat? Skip it. */
    if (fstat(in, &again) != 0 || !S_ISREG(again.st_mode)) {
        close(in);
        return 0;
    }
    out = openat(dstdir, name,
                 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (out < 0) {
        e = errno;
        close(in);
        errno = e;
        return -1;
    }
    /* fchown first: it clears setuid bits that fchmod then sets. */
    if (lc_copy_data(in, out) == 0 &&
        (own->uid == (uid_t)-1 || fchown(out, own->uid, own->gid) == 0) &&
        fchmod(out, s->st_mode & 07777) == 0) {
        times[0] = again.st_atim;
        times[1] = again.st_mtim;
        (void)futimens(out, times);
        rc = 0;
    }
    e = errno;
    close(in);
    if (close(out) != 0 && rc == 0) {
        e = errno;
        rc = -1;
    }
    errno = e;
    return rc;
}

static int lc_clone_level(int srcfd, int dstfd, int depth,
                          const lc_owner_t *own);

static int lc_clone_dir(int srcdir, int dstdir, const char *name,
                        const struct stat *s, int depth,
                        const lc_owner_t *own)
{
    int in, out, rc;
    struct timespec times[2];

    if (depth >= LC_CLONE_MAX_DEPTH)
        return 0;
    if (mkdirat(dstdir, name, 0700) != 0 && errno != EEXIST)
        return -1;
    in = openat(srcdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return errno == ENOENT || errno == ELOOP || errno == ENOTDIR ? 0 : -1;
    out = openat(dstdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (out < 0) {
        close(in);
        return -1;
    }
    if (own->uid != (uid_t)-1 && fchown(out, own->uid, own->gid) != 0) {
        close(in);
        close(out);
        return -1;
    }
    rc = lc_clone_level(in, out, depth + 1, own);
    if (rc == 0 && fchmod(out, s->st_mode & 07777) != 0)
        rc = -1;
    times[0] = s->st_atim;
    times[1] = s->st_mtim;
    (void)futimens(out, times);
    close(out);
    return rc;
}

/* Copy the entries of srcfd (consumed) into dstfd. */
static int lc_clone_level(int srcfd, int dstfd, int depth,
                          const lc_owner_t *own)
{
    DIR *d = fdopendir(srcfd);
    struct dirent *e;
    int rc = 0;

    if (d == NULL) {
        close(srcfd);
        return -1;
    }
    while (rc == 0 && (e = readdir(d)) != NULL) {
        struct stat s;

        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (fstatat(dirfd(d), e->d_name, &s, AT_SYMLINK_NOFOLLOW) != 0)
            continue;
        if (S_ISREG(s.st_mode)) {
            rc = lc_clone_file(dirfd(d), dstfd, e->d_name, &s, own);
        } else if (S_ISDIR(s.st_mode)) {
            rc = lc_clone_dir(dirfd(d), dstfd, e->d_name, &s, depth, own);
        } else if (S_ISLNK(s.st_mode)) {
            char target[4096];
            ssize_t n = readlinkat(dirfd(d), e->d_name, target,
                                   sizeof target - 1);
            struct timespec times[2] = {s.st_atim, s.st_mtim};

            if (n < 0)
                continue;
            target[n] = '\0';
            if (symlinkat(target, dstfd, e->d_name) != 0 && errno != EEXIST)
                rc = -1;
            else if (own->uid != (uid_t)-1 &&
                     fchownat(dstfd, e->d_name, own->uid, own->gid,
                              AT_SYMLINK_NOFOLLOW) != 0)
                rc = -1;
            else
                (void)utimensat(dstfd, e->d_name, times, AT_SYMLINK_NOFOLLOW);
        }
        /* FIFOs, sockets and devices are not state worth keeping. */
    }
    closedir(d);
    return rc;
}

int lc_clone_tree(int srcfd, int dstfd, uid_t uid, gid_t gid)
{
    lc_owner_t own = {uid, gid};
    int dup = openat(srcfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

    if (dup < 0)
        return -1;
    return lc_clone_level(dup, dstfd, 0, &own);
}

/* Copy SRC/sub into DST/sub (DST/sub exists), owned by uid:gid (see
 * lc_clone_tree). */
static int lc_clone_sub(const char *src, const char *dst, const char *sub,
                        uid_t uid, gid_t gid)
{
    char *s = lc_join(src, sub), *d = lc_join(dst, sub);
    int sfd = -1, dfd = -1, rc = -1;

    if (s != NULL && d != NULL) {
        sfd = open(s, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        dfd = open(d, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sfd < 0 && errno == ENOENT)
            rc = 0; /* nothing saved there */
        else if (sfd >= 0 && dfd >= 0)
            rc = lc_clone_tree(sfd, dfd, uid, gid);
    }
    if (sfd >= 0)
        close(sfd);
    if (dfd >= 0)
        close(dfd);
    free(s);
    free(d);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Saved state                                                         */
/* ------------------------------------------------------------------ */

static const char *lc_kind_prefix(int kind)
{
    return kind == LC_SAVED_TEMPLATE ? LC_TEMPLATE_PREFIX : LC_SNAPSHOT_PREFIX;
}

static const char *lc_kind_name(int kind)
{
    return kind == LC_SAVED_TEMPLATE ? "template" : "snapshot";
}

/* The key=value pairs of a saved meta file (unescaped). */
static int lc_saved_meta(const char *dir, lc_pairs_t *out)
{
    char *path = lc_join(dir, "meta"), *text = NULL, *line, *next;
    int rc = 0;

    memset(out, 0, sizeof *out);
    if (path == NULL || lc_read_small(path, &text, NULL, 4u << 20) != 0) {
        free(path);
        return -1;
    }
    free(path);
    for (line = text; line != NULL && *line != '\0'; line = next) {
        char *eq;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        eq = strchr(line, '=');
        if (*line == '#' || eq == NULL)
            continue;
        *eq = '\0';
        if (lc_unescape(line) != 0 || lc_unescape(eq + 1) != 0)
            continue;
        if (lc_pairs_set(out, line, eq + 1) != 0) {
            rc = -1;
            break;
        }
    }
    free(text);
    if (rc != 0)
        lc_pairs_free(out);
    return rc;
}

csdk_status_t lc_saved_create(lc_state_t *st, csdk_call_t *call, int kind,
                              const char *sandbox_id, const char *name)
{
    const csdk_host_t *h = st->host;
    lc_sandbox_t *sb = NULL;
    char id[LC_ID_LEN + 1], *parent = NULL, *tmp = NULL, *final = NULL,
                            *metap = NULL;
    uint64_t now = h->now_ms();
    lc_buf_t meta = {0};
    int32_t failed;
    csdk_status_t rc = lc_lookup(st, call, sandbox_id, &sb);

    if (rc != CSDK_OK)
        return rc;
    memcpy(id, lc_kind_prefix(kind), 3);
    lc_random_hex(id + 3, LC_ID_HEX);
    parent = lc_join(st->conf.root, "saved");
    tmp = parent ? lc_printf("%s/.tmp-%s", parent, id) : NULL;
    final = parent ? lc_join(parent, id) : NULL;
    metap = tmp ? lc_join(tmp, "meta") : NULL;
    if (metap == NULL || final == NULL) {
        rc = h->error(call, CSDK_E_NOMEM, "out of memory");
        goto out;
    }
    if (lc_mkdir_p(parent, 0700) != 0 || mkdir(tmp, 0700) != 0) {
        rc = h->error(call, CSDK_E_IO, "cannot create '%s': %s", tmp,
                      strerror(errno));
        goto out;
    }
    for (int i = 0; i < 2; i++) {
        const char *sub = i ? "home" : "ws";
        char *d = lc_join(tmp, sub);

        if (d == NULL || mkdir(d, 0755) != 0 ||
            lc_clone_sub(sb->dir, tmp, sub, lc_owner_uid(sb),
                         lc_owner_gid(sb)) != 0) {
            rc = d == NULL ? h->error(call, CSDK_E_NOMEM, "out of memory")
                           : h->error(call, errno == ENOSPC ? CSDK_E_QUOTA
                                                            : CSDK_E_IO,
                                      "cannot copy sandbox %s's %s for a "
                                      "%s: %s", sb->id,
                                      i ? LC_HOME : LC_WORKSPACE,
                                      lc_kind_name(kind), strerror(errno));
            free(d);
            goto out;
        }
        free(d);
    }
    lc_buf_str(&meta, "# csdk local provider saved state\nkind=");
    lc_buf_str(&meta, lc_kind_name(kind));
    lc_buf_printf(&meta, "\nid=%s\ncreated_ms=%" PRIu64 "\nsource=%s\n", id,
                  now, sb->id);
    if (name != NULL) {
        lc_buf_str(&meta, "name=");
        lc_buf_escaped(&meta, name, 0);
        lc_buf_str(&meta, "\n");
    }
    if (sb->runtime != NULL) {
        lc_buf_str(&meta, "runtime=");
        lc_buf_escaped(&meta, sb->runtime, 0);
        lc_buf_str(&meta, "\n");
    }
    for (size_t i = 0; i < sb->env.n; i++) {
        lc_buf_str(&meta, "env.");
        lc_buf_escaped(&meta, sb->env.v[i].key, 1);
        lc_buf_str(&meta, "=");
        lc_buf_escaped(&meta, sb->env.v[i].value, 0);
        lc_buf_str(&meta, "\n");
    }
    if (meta.failed) {
        rc = h->error(call, CSDK_E_NOMEM, "out of memory");
        goto out;
    }
    if (lc_write_atomic(metap, meta.data, meta.len, 0600) != 0 ||
        rename(tmp, final) != 0) {
        rc = h->error(call, CSDK_E_IO, "cannot save %s '%s': %s",
                      lc_kind_name(kind), final, strerror(errno));
        goto out;
    }
    failed = h->set_str(call, CSDK_F_ID, id);
    if (name != NULL)
        failed |= h->set_str(call, CSDK_F_NAME, name);
    failed |= h->set_int(call, CSDK_F_CREATED_MS, (int64_t)now);
    if (failed)
        rc = h->error(call, CSDK_E_NOMEM, "out of memory");
out:
    if (rc != CSDK_OK && tmp != NULL)
        (void)lc_remove_tree(tmp);
    lc_buf_free(&meta);
    free(metap);
    free(final);
    free(tmp);
    free(parent);
    lc_sandbox_free(sb);
    return rc;
}

csdk_status_t lc_saved_list(lc_state_t *st, csdk_call_t *call, int kind)
{
    const csdk_host_t *h = st->host;
    char *parent = lc_join(st->conf.root, "saved");
    DIR *d;
    struct dirent *e;
    csdk_status_t rc = CSDK_OK;

    if (parent == NULL)
        return h->error(call, CSDK_E_NOMEM, "out of memory");
    d = opendir(parent);
    if (d == NULL) {
        free(parent);
        return CSDK_OK; /* nothing saved yet */
    }
    while (rc == CSDK_OK && (e = readdir(d)) != NULL) {
        lc_pairs_t m;
        char *dir;
        const char *v;
        uint64_t created = 0;
        int32_t failed;

        if (!lc_valid_id(e->d_name, lc_kind_prefix(kind)))
            continue;
        dir = lc_join(parent, e->d_name);
        if (dir == NULL || lc_saved_meta(dir, &m) != 0) {
            free(dir);
            continue;
        }
        free(dir);
        v = lc_pairs_get(&m, "created_ms");
        if (v != NULL)
            (void)lc_parse_u64(v, &created);
        failed = h->next_record(call);
        failed |= h->set_str(call, CSDK_F_ID, e->d_name);
        if ((v = lc_pairs_get(&m, "name")) != NULL)
            failed |= h->set_str(call, CSDK_F_NAME, v);
        failed |= h->set_int(call, CSDK_F_CREATED_MS, (int64_t)created);
        lc_pairs_free(&m);
        if (failed)
            rc = h->error(call, CSDK_E_NOMEM, "out of memory");
    }
    closedir(d);
    free(parent);
    return rc;
}

csdk_status_t lc_saved_delete(lc_state_t *st, csdk_call_t *call, int kind,
                              const char *id)
{
    char *dir, *doomed;
    char hex[9];
    csdk_status_t rc = CSDK_OK;

    id = lc_native_id(st, id);
    if (!lc_valid_id(id, lc_kind_prefix(kind)))
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "no %s '%s' in provider '%s' (%s ids look "
                               "like %s0123456789abcdef)",
                               lc_kind_name(kind), id ? id : "",
                               st->instance, lc_kind_name(kind),
                               lc_kind_prefix(kind));
    lc_random_hex(hex, 8);
    dir = lc_printf("%s/saved/%s", st->conf.root, id);
    doomed = lc_printf("%s/saved/.del-%s-%s", st->conf.root, id, hex);
    if (dir == NULL || doomed == NULL) {
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
    } else if (rename(dir, doomed) != 0) {
        rc = errno == ENOENT
                 ? st->host->error(call, CSDK_E_NOT_FOUND,
                                   "no %s '%s' in provider '%s'",
                                   lc_kind_name(kind), id, st->instance)
                 : st->host->error(call, CSDK_E_IO,
                                   "cannot delete %s '%s': %s",
                                   lc_kind_name(kind), id, strerror(errno));
    } else {
        (void)lc_remove_tree(doomed);
    }
    free(dir);
    free(doomed);
    return rc;
}

csdk_status_t lc_saved_apply(lc_state_t *st, csdk_call_t *call,
                             const char *id, lc_sandbox_t *sb,
                             int keep_runtime)
{
    char *dir;
    lc_pairs_t m;
    const char *v;
    csdk_status_t rc = CSDK_OK;

    if (!lc_valid_id(id, LC_TEMPLATE_PREFIX) &&
        !lc_valid_id(id, LC_SNAPSHOT_PREFIX))
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "no template or snapshot '%s' in provider "
                               "'%s' (their ids start lt- or ls-)",
                               id, st->instance);
    dir = lc_printf("%s/saved/%s", st->conf.root, id);
    if (dir == NULL)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    if (lc_saved_meta(dir, &m) != 0) {
        rc = errno == ENOENT
                 ? st->host->error(call, CSDK_E_NOT_FOUND,
                                   "no template or snapshot '%s' in provider "
                                   "'%s'", id, st->instance)
                 : st->host->error(call, CSDK_E_IO,
                                   "cannot read template or snapshot '%s': "
                                   "%s", id, strerror(errno));
        free(dir);
        return rc;
    }
    if (lc_clone_sub(dir, sb->dir, "ws", lc_owner_uid(sb),
                     lc_owner_gid(sb)) != 0 ||
        lc_clone_sub(dir, sb->dir, "home", lc_owner_uid(sb),
                     lc_owner_gid(sb)) != 0) {
        rc = st->host->error(call, errno == ENOSPC ? CSDK_E_QUOTA : CSDK_E_IO,
                             "cannot copy template or snapshot '%s' into "
                             "sandbox %s: %s", id, sb->id, strerror(errno));
        goto out;
    }
    if (!keep_runtime && (v = lc_pairs_get(&m, "runtime")) != NULL) {
        char *r = strdup(v);

        if (r == NULL) {
            rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
            goto out;
        }
        free(sb->runtime);
        sb->runtime = r;
    }
    /* The saved environment, under what the create call set itself. */
    for (size_t i = 0; i < m.n; i++) {
        const char *k = m.v[i].key;

        if (strncmp(k, "env.", 4) != 0 || lc_pairs_get(&sb->env, k + 4))
            continue;
        if (lc_pairs_set(&sb->env, k + 4, m.v[i].value) != 0) {
            rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
            goto out;
        }
    }
    free(sb->source);
    sb->source = strdup(id);
    if (sb->source == NULL)
        rc = st->host->error(call, CSDK_E_NOMEM, "out of memory");
out:
    lc_pairs_free(&m);
    free(dir);
    return rc;
}
