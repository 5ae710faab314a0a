/*
 * plugins/local/sandbox.c - sandbox state on disk: the meta file, create,
 * load, report, destroy, reaping, and the names of named sandboxes.
 *
 * A sandbox is the directory ROOT/sandboxes/ID (docs/local-provider.md).
 * Its meta file is the only record of it: any csdk process can load it,
 * and a directory without one is being created or half-removed (the
 * reaper removes such a directory once it is LC_CREATING_GRACE_MS old).
 * create writes meta once, when bwrap runs and its cgroups are set, just
 * before waiting for the agent: replacing a file by rename costs a data
 * flush on ext4, and a create is measured in milliseconds.  destroy
 * unlinks meta first, so a sandbox vanishes for every reader at once,
 * then removes the rest.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "local.h"
#include "proto.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define LC_META "meta"
#define LC_META_MAX (4u << 20)

/* ------------------------------------------------------------------ */
/* Ids and paths                                                       */
/* ------------------------------------------------------------------ */

int lc_valid_id(const char *id, const char *prefix)
{
    size_t n = strlen(prefix);

    if (id == NULL || strncmp(id, prefix, n) != 0 ||
        strlen(id) != n + LC_ID_HEX)
        return 0;
    for (const char *p = id + n; *p != '\0'; p++)
        if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
            return 0;
    return 1;
}

char *lc_sandbox_dir(const lc_state_t *st, const char *id)
{
    return lc_printf("%s/sandboxes/%s", st->conf.root, id);
}

void lc_sandbox_free(lc_sandbox_t *sb)
{
    if (sb == NULL)
        return;
    free(sb->dir);
    free(sb->state);
    free(sb->runtime);
    free(sb->python);
    free(sb->node);
    free(sb->name);
    free(sb->namespace_);
    free(sb->source);
    free(sb->boot_id);
    lc_pairs_free(&sb->env);
    lc_pairs_free(&sb->meta);
    lc_pairs_free(&sb->cgroups);
    free(sb);
}

/* ------------------------------------------------------------------ */
/* The meta file                                                       */
/* ------------------------------------------------------------------ */

static void lc_meta_str(lc_buf_t *b, const char *key, const char *value)
{
    if (value == NULL)
        return;
    lc_buf_escaped(b, key, 1);
    lc_buf_add(b, "=", 1);
    lc_buf_escaped(b, value, 0);
    lc_buf_add(b, "\n", 1);
}

static void lc_meta_u64(lc_buf_t *b, const char *key, uint64_t value)
{
    lc_buf_printf(b, "%s=%" PRIu64 "\n", key, value);
}

static void lc_meta_pairs(lc_buf_t *b, const char *prefix,
                          const lc_pairs_t *p)
{
    for (size_t i = 0; i < p->n; i++) {
        lc_buf_str(b, prefix);
        lc_meta_str(b, p->v[i].key, p->v[i].value);
    }
}

int lc_meta_save(const lc_sandbox_t *sb)
{
    lc_buf_t b = {0};
    char *path;
    int rc;

    lc_buf_str(&b, "# csdk local provider sandbox; key=value, %-escaped\n");
    lc_meta_str(&b, "id", sb->id);
    lc_meta_str(&b, "state", sb->state);
    lc_meta_u64(&b, "created_ms", sb->created_ms);
    lc_meta_u64(&b, "expires_ms", sb->expires_ms);
    lc_meta_str(&b, "runtime", sb->runtime);
    lc_meta_str(&b, "python", sb->python);
    lc_meta_str(&b, "node", sb->node);
    lc_meta_u64(&b, "network", (uint64_t)sb->network);
    lc_meta_str(&b, "name", sb->name);
    lc_meta_str(&b, "namespace", sb->namespace_);
    lc_meta_str(&b, "source", sb->source);
    lc_meta_u64(&b, "memory_mb", sb->lim.memory_mb);
    lc_meta_u64(&b, "pids", sb->lim.pids);
    lc_meta_u64(&b, "millicpus", sb->lim.millicpus);
    lc_meta_u64(&b, "file_size_mb", sb->lim.file_size_mb);
    lc_meta_u64(&b, "open_files", sb->lim.open_files);
    lc_meta_u64(&b, "output_max_mb", sb->lim.output_max_mb);
    lc_meta_str(&b, "enforce.memory", lc_enf_name(sb->enf.memory));
    lc_meta_str(&b, "enforce.pids", lc_enf_name(sb->enf.pids));
    lc_meta_str(&b, "enforce.cpus", lc_enf_name(sb->enf.cpus));
    if (sb->bwrap_pid > 0) {
        lc_meta_u64(&b, "bwrap_pid", (uint64_t)sb->bwrap_pid);
        lc_meta_u64(&b, "bwrap_start", sb->bwrap_start);
    }
    lc_meta_str(&b, "boot_id", sb->boot_id);
    if (sb->run_as) {
        lc_meta_u64(&b, "run_uid", (uint64_t)sb->run_uid);
        lc_meta_u64(&b, "run_gid", (uint64_t)sb->run_gid);
    }
    lc_meta_pairs(&b, "cgroup.", &sb->cgroups);
    lc_meta_pairs(&b, "env.", &sb->env);
    lc_meta_pairs(&b, "meta.", &sb->meta);
    if (b.failed) {
        lc_buf_free(&b);
        errno = ENOMEM;
        return -1;
    }
    path = lc_join(sb->dir, LC_META);
    if (path == NULL) {
        lc_buf_free(&b);
        errno = ENOMEM;
        return -1;
    }
    rc = lc_write_atomic(path, b.data, b.len, 0600);
    free(path);
    lc_buf_free(&b);
    return rc;
}

static int lc_enf_parse(const char *s)
{
    if (strcmp(s, "cgroup2") == 0)
        return LC_ENF_CGROUP2;
    if (strcmp(s, "cgroup1") == 0)
        return LC_ENF_CGROUP1;
    if (strcmp(s, "rlimit") == 0)
        return LC_ENF_RLIMIT;
    return LC_ENF_NONE;
}

/* One "key=value" line (both unescaped).  Unknown keys are ignored, so a
 * newer plugin's meta still loads.  Returns 0, or -1 when out of memory. */
static int lc_meta_line(lc_sandbox_t *sb, const char *k, const char *v)
{
    static const struct {
        const char *key;
        size_t off;
    } u64s[] = {
        {"created_ms", offsetof(lc_sandbox_t, created_ms)},
        {"expires_ms", offsetof(lc_sandbox_t, expires_ms)},
        {"bwrap_start", offsetof(lc_sandbox_t, bwrap_start)},
        {"memory_mb", offsetof(lc_sandbox_t, lim.memory_mb)},
        {"pids", offsetof(lc_sandbox_t, lim.pids)},
        {"millicpus", offsetof(lc_sandbox_t, lim.millicpus)},
        {"file_size_mb", offsetof(lc_sandbox_t, lim.file_size_mb)},
        {"open_files", offsetof(lc_sandbox_t, lim.open_files)},
        {"output_max_mb", offsetof(lc_sandbox_t, lim.output_max_mb)},
    };
    static const struct {
        const char *key;
        size_t off;
    } strs[] = {
        {"state", offsetof(lc_sandbox_t, state)},
        {"runtime", offsetof(lc_sandbox_t, runtime)},
        {"python", offsetof(lc_sandbox_t, python)},
        {"node", offsetof(lc_sandbox_t, node)},
        {"name", offsetof(lc_sandbox_t, name)},
        {"namespace", offsetof(lc_sandbox_t, namespace_)},
        {"source", offsetof(lc_sandbox_t, source)},
        {"boot_id", offsetof(lc_sandbox_t, boot_id)},
    };
    uint64_t n;

    for (size_t i = 0; i < sizeof u64s / sizeof u64s[0]; i++) {
        if (strcmp(k, u64s[i].key) == 0) {
            if (lc_parse_u64(v, &n) == 0)
                memcpy((char *)sb + u64s[i].off, &n, sizeof n);
            return 0;
        }
    }
    for (size_t i = 0; i < sizeof strs / sizeof strs[0]; i++) {
        if (strcmp(k, strs[i].key) == 0) {
            char **field = (char **)(void *)((char *)sb + strs[i].off);

            free(*field);
            *field = strdup(v);
            return *field == NULL ? -1 : 0;
        }
    }
    if (strcmp(k, "network") == 0)
        sb->network = strcmp(v, "1") == 0;
    else if (strcmp(k, "bwrap_pid") == 0 && lc_parse_u64(v, &n) == 0 &&
             n <= INT32_MAX)
        sb->bwrap_pid = (int64_t)n;
    else if (strcmp(k, "run_uid") == 0 && lc_parse_u64(v, &n) == 0 &&
             n > 0 && n < UINT32_MAX) {
        sb->run_as = 1;
        sb->run_uid = (uid_t)n;
    } else if (strcmp(k, "run_gid") == 0 && lc_parse_u64(v, &n) == 0 &&
               n > 0 && n < UINT32_MAX)
        sb->run_gid = (gid_t)n;
    else if (strcmp(k, "enforce.memory") == 0)
        sb->enf.memory = lc_enf_parse(v);
    else if (strcmp(k, "enforce.pids") == 0)
        sb->enf.pids = lc_enf_parse(v);
    else if (strcmp(k, "enforce.cpus") == 0)
        sb->enf.cpus = lc_enf_parse(v);
    else if (strncmp(k, "env.", 4) == 0)
        return lc_pairs_set(&sb->env, k + 4, v);
    else if (strncmp(k, "meta.", 5) == 0)
        return lc_pairs_set(&sb->meta, k + 5, v);
    else if (strncmp(k, "cgroup.", 7) == 0)
        return lc_pairs_set(&sb->cgroups, k + 7, v);
    return 0;
}

/* Parse meta text (modified in place).  -1: ENOMEM or EINVAL. */
static int lc_meta_parse(lc_sandbox_t *sb, char *text)
{
    char *line = text, *next;

    for (; line != NULL && *line != '\0'; line = next) {
        char *eq;

        next = strchr(line, '\n');
        if (next != NULL)
            *next++ = '\0';
        if (*line == '#' || *line == '\0')
            continue;
        eq = strchr(line, '=');
        if (eq == NULL) {
            errno = EINVAL;
            return -1;
        }
        *eq = '\0';
        if (lc_unescape(line) != 0 || lc_unescape(eq + 1) != 0) {
            errno = EINVAL;
            return -1;
        }
        if (lc_meta_line(sb, line, eq + 1) != 0) {
            errno = ENOMEM;
            return -1;
        }
    }
    return 0;
}

csdk_status_t lc_sandbox_load(lc_state_t *st, csdk_call_t *call,
                              const char *id, lc_sandbox_t **out, int quiet)
{
    lc_sandbox_t *sb;
    char *path, *text = NULL;
    int rc;

    *out = NULL;
    if (!lc_valid_id(id, LC_ID_PREFIX)) {
        if (quiet)
            return CSDK_E_NOT_FOUND;
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "no sandbox '%s' in provider '%s' (local "
                               "sandbox ids look like lc-0123456789abcdef)",
                               id, st->instance);
    }
    sb = calloc(1, sizeof *sb);
    if (sb != NULL) {
        memcpy(sb->id, id, LC_ID_LEN + 1);
        sb->dir = lc_sandbox_dir(st, id);
    }
    path = sb && sb->dir ? lc_join(sb->dir, LC_META) : NULL;
    if (path == NULL) {
        lc_sandbox_free(sb);
        return quiet ? CSDK_E_NOMEM
                     : st->host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    rc = lc_read_small(path, &text, NULL, LC_META_MAX);
    if (rc != 0) {
        int e = errno;

        lc_sandbox_free(sb);
        if (e == ENOENT || e == ENOTDIR) {
            free(path);
            if (quiet)
                return CSDK_E_NOT_FOUND;
            return st->host->error(call, CSDK_E_NOT_FOUND,
                                   "no sandbox '%s' in provider '%s' (it "
                                   "was destroyed or expired)",
                                   id, st->instance);
        }
        rc = quiet ? CSDK_E_IO
                   : st->host->error(call, CSDK_E_IO,
                                     "cannot read sandbox '%s' state '%s': "
                                     "%s", id, path, strerror(e));
        free(path);
        return rc;
    }
    rc = lc_meta_parse(sb, text);
    free(text);
    if (rc != 0) {
        int e = errno;

        lc_sandbox_free(sb);
        if (e == ENOMEM) {
            free(path);
            return quiet ? CSDK_E_NOMEM
                         : st->host->error(call, CSDK_E_NOMEM,
                                           "out of memory");
        }
        rc = quiet ? CSDK_E_IO
                   : st->host->error(call, CSDK_E_IO,
                                     "sandbox '%s' state '%s' is corrupt; "
                                     "destroy the sandbox", id, path);
        free(path);
        return rc;
    }
    free(path);
    /* Half of a run_as pair is no owner to give files to. */
    if (sb->run_as && sb->run_gid == 0)
        sb->run_as = 0;
    if (sb->state == NULL && (sb->state = strdup("running")) == NULL) {
        lc_sandbox_free(sb);
        return quiet ? CSDK_E_NOMEM
                     : st->host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    *out = sb;
    return CSDK_OK;
}

/* ------------------------------------------------------------------ */
/* Liveness                                                            */
/* ------------------------------------------------------------------ */

int lc_sandbox_alive(const lc_state_t *st, const lc_sandbox_t *sb)
{
    if (sb->bwrap_pid <= 0)
        return 0;
    /* After a reboot the pid and even its start time may be reused. */
    if (sb->boot_id != NULL && st->boot_id[0] != '\0' &&
        strcmp(sb->boot_id, st->boot_id) != 0)
        return 0;
    return lc_proc_matches((pid_t)sb->bwrap_pid, sb->bwrap_start);
}

int lc_sandbox_expired(const lc_state_t *st, const lc_sandbox_t *sb)
{
    return sb->expires_ms != 0 && st->host->now_ms() >= sb->expires_ms;
}

/* Strip "INSTANCE:" from an id a user may have copied whole. */
const char *lc_native_id(const lc_state_t *st, const char *id)
{
    size_t n = strlen(st->instance);

    if (id != NULL && strncmp(id, st->instance, n) == 0 && id[n] == ':')
        return id + n + 1;
    return id;
}

csdk_status_t lc_lookup(lc_state_t *st, csdk_call_t *call, const char *id,
                        lc_sandbox_t **out)
{
    csdk_status_t rc;

    *out = NULL;
    if (id == NULL || *id == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no sandbox id given");
    id = lc_native_id(st, id);
    rc = lc_sandbox_load(st, call, id, out, 0);
    if (rc != CSDK_OK)
        return rc;
    if (lc_sandbox_expired(st, *out)) {
        lc_sandbox_destroy(st, *out, 0);
        lc_sandbox_free(*out);
        *out = NULL;
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "sandbox '%s' in provider '%s' has expired "
                               "and was removed", id, st->instance);
    }
    return CSDK_OK;
}

/* ------------------------------------------------------------------ */
/* Reporting                                                           */
/* ------------------------------------------------------------------ */

csdk_status_t lc_report(lc_state_t *st, csdk_call_t *call,
                        const lc_sandbox_t *sb, int ping, int detail)
{
    const csdk_host_t *h = st->host;
    const char *status;
    int32_t failed = 0;

    if (strcmp(sb->state, "creating") == 0)
        status = "creating";
    else if (ping)
        status = lc_agent_ping(sb, LC_PING_TIMEOUT_MS) == 0 ? "running"
                                                             : "stopped";
    else
        status = lc_sandbox_alive(st, sb) ? "running" : "stopped";

    failed |= h->set_str(call, CSDK_F_ID, sb->id);
    failed |= h->set_str(call, CSDK_F_STATUS, status);
    if (sb->runtime != NULL)
        failed |= h->set_str(call, CSDK_F_RUNTIME, sb->runtime);
    failed |= h->set_int(call, CSDK_F_CREATED_MS, (int64_t)sb->created_ms);
    failed |= h->set_int(call, CSDK_F_TIMEOUT_MS,
                         sb->expires_ms ? (int64_t)(sb->expires_ms -
                                                    sb->created_ms)
                                        : 0);
    if (sb->expires_ms)
        failed |= h->set_int(call, CSDK_F_EXPIRES_MS,
                             (int64_t)sb->expires_ms);
    if (sb->name != NULL && sb->namespace_ != NULL) {
        failed |= h->set_str(call, CSDK_F_NAME, sb->name);
        failed |= h->set_str(call, CSDK_F_NAMESPACE, sb->namespace_);
    }
    for (size_t i = 0; i < sb->meta.n; i++)
        failed |= h->set_meta(call, sb->meta.v[i].key, sb->meta.v[i].value);
    if (detail) {
        static const char *const limits[] = {
            "memory", "pids", "cpus", "file_size", "open_files", "output",
        };

        for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
            char key[32], *how = lc_limit_describe(sb, limits[i]);

            if (how == NULL)
                return h->error(call, CSDK_E_NOMEM, "out of memory");
            snprintf(key, sizeof key, "limit.%s", limits[i]);
            failed |= h->set_meta(call, key, how);
            free(how);
        }
        failed |= h->set_meta(call, "network", sb->network ? "on" : "off");
        failed |= h->set_meta(call, "isolation", "bubblewrap");
        if (sb->source != NULL)
            failed |= h->set_meta(call, "source", sb->source);
    }
    return failed ? h->error(call, CSDK_E_NOMEM, "out of memory") : CSDK_OK;
}

/* ------------------------------------------------------------------ */
/* Children of this process                                            */
/* ------------------------------------------------------------------ */

int lc_track_child(lc_state_t *st, pid_t pid)
{
    pid_t *grown = realloc(st->children, (st->n_children + 1) * sizeof pid);

    if (grown == NULL)
        return -1;
    st->children = grown;
    st->children[st->n_children++] = pid;
    return 0;
}

/* waitpid(WNOHANG) every bwrap monitor we started; forget the ended. */
void lc_reap_children(lc_state_t *st)
{
    size_t kept = 0;

    for (size_t i = 0; i < st->n_children; i++) {
        pid_t r = waitpid(st->children[i], NULL, WNOHANG);

        if (r == 0 || (r < 0 && errno == EINTR))
            st->children[kept++] = st->children[i];
    }
    st->n_children = kept;
}

static int lc_is_child(const lc_state_t *st, pid_t pid)
{
    for (size_t i = 0; i < st->n_children; i++)
        if (st->children[i] == pid)
            return 1;
    return 0;
}

static void lc_sleep_ms(unsigned ms)
{
    struct timespec ts = {.tv_sec = ms / 1000,
                          .tv_nsec = (long)(ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Wait until the bwrap monitor is gone (or a zombie), up to `ms`. */
static int lc_wait_gone(lc_state_t *st, const lc_sandbox_t *sb, unsigned ms)
{
    uint64_t end = st->host->monotonic_ms() + ms;
    pid_t pid = (pid_t)sb->bwrap_pid;
    unsigned step = 1;

    for (;;) {
        /* A zombie counts as gone; one of ours is reaped on the way (a
         * host ignoring SIGCHLD has none: waitpid then says ECHILD). */
        if (!lc_proc_matches(pid, sb->bwrap_start)) {
            if (lc_is_child(st, pid))
                lc_reap_children(st);
            return 0;
        }
        if (st->host->monotonic_ms() >= end)
            return -1;
        lc_sleep_ms(step);
        if (step < 20)
            step *= 2;
    }
}

/* ------------------------------------------------------------------ */
/* Destroy and reap                                                    */
/* ------------------------------------------------------------------ */

char *lc_name_key(const char *ns, const char *name)
{
    static const char digits[] = "0123456789abcdef";
    size_t nl = strlen(ns), ml = strlen(name);
    char *out = malloc(2 * (nl + 1 + ml) + 1), *o = out;

    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < nl + 1 + ml; i++) {
        unsigned char c = i < nl ? (unsigned char)ns[i]
                                 : i == nl ? 0 : (unsigned char)name[i - nl - 1];

        *o++ = digits[c >> 4];
        *o++ = digits[c & 15];
    }
    *o = '\0';
    return out;
}

/* Remove ROOT/names/KEY if it still points at sb. */
static void lc_unname(lc_state_t *st, const lc_sandbox_t *sb)
{
    char *key, *link, target[LC_ID_LEN + 2];
    ssize_t n;

    if (sb->name == NULL || sb->namespace_ == NULL)
        return;
    key = lc_name_key(sb->namespace_, sb->name);
    link = key ? lc_printf("%s/names/%s", st->conf.root, key) : NULL;
    if (link != NULL) {
        n = readlink(link, target, sizeof target - 1);
        if (n == LC_ID_LEN) {
            target[n] = '\0';
            if (strcmp(target, sb->id) == 0)
                (void)unlink(link);
        }
    }
    free(link);
    free(key);
}

void lc_sandbox_destroy(lc_state_t *st, lc_sandbox_t *sb, int graceful)
{
    char *meta;

    if (lc_sandbox_alive(st, sb)) {
        /* The agent kills every process and exits; the pid namespace
         * goes with it.  SIGKILL to the monitor is the fallback (the agent
         * has PR_SET_PDEATHSIG(SIGKILL)). */
        if (graceful &&
            lc_agent_simple(sb, PROTO_REQ_SHUTDOWN, 0, 0, 500) == 0)
            (void)lc_wait_gone(st, sb, 1000);
        if (lc_sandbox_alive(st, sb)) {
            (void)kill((pid_t)sb->bwrap_pid, SIGKILL);
            (void)lc_wait_gone(st, sb, 3000);
        }
    } else if (sb->bwrap_pid > 0 && lc_is_child(st, (pid_t)sb->bwrap_pid)) {
        (void)waitpid((pid_t)sb->bwrap_pid, NULL, WNOHANG);
        lc_reap_children(st);
    }
    lc_limits_remove(st, sb);
    lc_unname(st, sb);
    meta = lc_join(sb->dir, LC_META);
    if (meta != NULL)
        (void)unlink(meta);
    free(meta);
    if (lc_remove_tree(sb->dir) != 0)
        st->host->log(st->inst, CSDK_LOG_WARN,
                      "sandbox %s: could not remove all of '%s': %s", sb->id,
                      sb->dir, strerror(errno));
}

/* Age of a path's last change, in ms (0 when unknown). */
static uint64_t lc_age_ms(const lc_state_t *st, const char *path)
{
    struct stat s;
    uint64_t then, now = st->host->now_ms();

    if (lstat(path, &s) != 0)
        return 0;
    then = (uint64_t)s.st_mtim.tv_sec * 1000u +
           (uint64_t)s.st_mtim.tv_nsec / 1000000u;
    return now > then ? now - then : 0;
}

static void lc_reap_one(lc_state_t *st, const char *id)
{
    lc_sandbox_t *sb = NULL;
    uint64_t now = st->host->now_ms();

    if (lc_sandbox_load(st, NULL, id, &sb, 1) != CSDK_OK) {
        /* No meta: being created right now, or half-removed. */
        char *dir = lc_sandbox_dir(st, id);

        if (dir != NULL && lc_age_ms(st, dir) > LC_CREATING_GRACE_MS)
            (void)lc_remove_tree(dir);
        free(dir);
        return;
    }
    if (strcmp(sb->state, "creating") == 0) {
        if (now > sb->created_ms + LC_CREATING_GRACE_MS)
            lc_sandbox_destroy(st, sb, 0);
    } else if (lc_sandbox_expired(st, sb) || !lc_sandbox_alive(st, sb)) {
        st->host->log(st->inst, CSDK_LOG_DEBUG, "reaping sandbox %s (%s)",
                      id, lc_sandbox_expired(st, sb) ? "expired"
                                                     : "its agent is gone");
        lc_sandbox_destroy(st, sb, 0);
    }
    lc_sandbox_free(sb);
}

/* Names whose sandbox is gone. */
static void lc_reap_names(lc_state_t *st)
{
    char *dir = lc_join(st->conf.root, "names");
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;

    if (d != NULL) {
        while ((e = readdir(d)) != NULL) {
            char target[LC_ID_LEN + 2], *sdir;
            ssize_t n;
            struct stat s;

            if (e->d_name[0] == '.')
                continue;
            n = readlinkat(dirfd(d), e->d_name, target, sizeof target - 1);
            if (n < 0)
                continue;
            target[n] = '\0';
            sdir = lc_sandbox_dir(st, target);
            if (sdir != NULL && (!lc_valid_id(target, LC_ID_PREFIX) ||
                                 stat(sdir, &s) != 0))
                (void)unlinkat(dirfd(d), e->d_name, 0);
            free(sdir);
        }
        closedir(d);
    }
    free(dir);
}

void lc_reap_all(lc_state_t *st)
{
    char *dir = lc_join(st->conf.root, "sandboxes");
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;

    st->last_reap_ms = st->host->monotonic_ms();
    lc_reap_children(st);
    if (d != NULL) {
        while ((e = readdir(d)) != NULL)
            if (lc_valid_id(e->d_name, LC_ID_PREFIX))
                lc_reap_one(st, e->d_name);
        closedir(d);
    }
    free(dir);
    lc_reap_names(st);
}

/* ------------------------------------------------------------------ */
/* Create                                                              */
/* ------------------------------------------------------------------ */

uid_t lc_owner_uid(const lc_sandbox_t *sb)
{
    return sb->run_as ? sb->run_uid : (uid_t)-1;
}

gid_t lc_owner_gid(const lc_sandbox_t *sb)
{
    return sb->run_as ? sb->run_gid : (gid_t)-1;
}

/*
 * STATE (0700, the creator's) and in it the directories the sandbox
 * writes: ws, home, tmp and logs, owned by the sandbox's user when it
 * runs as run_as.  bwrap, running as that user, never reaches them
 * through STATE: the --exec-as trampoline binds them under a tmpfs of its
 * own mount namespace (spawn.c), so STATE stays closed to every host user
 * but root.
 */
static csdk_status_t lc_make_dirs(lc_state_t *st, csdk_call_t *call,
                                  lc_sandbox_t *sb)
{
    static const struct {
        const char *name;
        mode_t mode;
    } subs[] = {
        {"ws", 0755}, {"home", 0755}, {"tmp", 01777}, {"logs", 0755},
    };
    char *parent = lc_join(st->conf.root, "sandboxes");

    if (parent == NULL)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    if (lc_mkdir_p(parent, 0700) != 0) {
        csdk_status_t rc = st->host->error(
            call, CSDK_E_IO,
            "cannot create the state directory '%s': %s; check the "
            "[provider.%s] root key", parent, strerror(errno), st->instance);

        free(parent);
        return rc;
    }
    free(parent);
    if (mkdir(sb->dir, 0700) != 0)
        return st->host->error(call, CSDK_E_IO,
                               "cannot create '%s': %s", sb->dir,
                               strerror(errno));
    for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++) {
        char *p = lc_join(sb->dir, subs[i].name);

        if (p == NULL)
            return st->host->error(call, CSDK_E_NOMEM, "out of memory");
        /* chown before chmod: a chown may clear mode bits. */
        if (mkdir(p, subs[i].mode) != 0 ||
            (sb->run_as && chown(p, sb->run_uid, sb->run_gid) != 0) ||
            chmod(p, subs[i].mode) != 0) {
            csdk_status_t rc = st->host->error(call, CSDK_E_IO,
                                               "cannot create '%s': %s", p,
                                               strerror(errno));

            free(p);
            return rc;
        }
        free(p);
    }
    return CSDK_OK;
}

static void lc_read_boot_id(lc_state_t *st)
{
    char *text = NULL;

    if (st->boot_id[0] != '\0')
        return;
    if (lc_read_small("/proc/sys/kernel/random/boot_id", &text, NULL, 128) ==
        0) {
        char *nl = strchr(text, '\n');

        if (nl != NULL)
            *nl = '\0';
        snprintf(st->boot_id, sizeof st->boot_id, "%s", text);
    }
    free(text);
}

csdk_status_t lc_sandbox_create(lc_state_t *st, csdk_call_t *call,
                                const lc_conf_t *conf,
                                const csdk_create_opts_t *opts,
                                const char *ns, const char *name,
                                lc_sandbox_t **out)
{
    lc_sandbox_t *sb = calloc(1, sizeof *sb);
    csdk_status_t rc;
    int oom = 0;

    *out = NULL;
    if (sb == NULL)
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    lc_read_boot_id(st);
    memcpy(sb->id, LC_ID_PREFIX, 3);
    lc_random_hex(sb->id + 3, LC_ID_HEX);
    sb->dir = lc_sandbox_dir(st, sb->id);
    sb->state = strdup("running");
    sb->created_ms = st->host->now_ms();
    sb->expires_ms = conf->sandbox_timeout_ms
                         ? sb->created_ms + conf->sandbox_timeout_ms
                         : 0;
    sb->runtime = lc_strdup(conf->runtime);
    sb->python = lc_strdup(conf->python);
    sb->node = lc_strdup(conf->node);
    sb->network = conf->network;
    sb->lim = conf->lim;
    sb->run_as = st->as_root;
    sb->run_uid = conf->run_uid;
    sb->run_gid = conf->run_gid;
    sb->boot_id = st->boot_id[0] ? strdup(st->boot_id) : NULL;
    if (ns != NULL && name != NULL) {
        sb->namespace_ = strdup(ns);
        sb->name = strdup(name);
        oom |= sb->namespace_ == NULL || sb->name == NULL;
    }
    oom |= sb->dir == NULL || sb->state == NULL || sb->python == NULL ||
           sb->node == NULL || (conf->runtime && sb->runtime == NULL) ||
           (st->boot_id[0] && sb->boot_id == NULL);
    for (size_t i = 0; !oom && i < opts->n_env; i++)
        if (opts->env[i].key != NULL)
            oom |= lc_pairs_set(&sb->env, opts->env[i].key,
                                opts->env[i].value) != 0;
    for (size_t i = 0; !oom && i < opts->n_metadata; i++)
        if (opts->metadata[i].key != NULL)
            oom |= lc_pairs_set(&sb->meta, opts->metadata[i].key,
                                opts->metadata[i].value) != 0;
    if (oom) {
        lc_sandbox_free(sb);
        return st->host->error(call, CSDK_E_NOMEM, "out of memory");
    }

    rc = lc_make_dirs(st, call, sb);
    if (rc != CSDK_OK) {
        (void)lc_remove_tree(sb->dir);
        lc_sandbox_free(sb);
        return rc;
    }
    if (opts->template_id != NULL && *opts->template_id != '\0') {
        rc = lc_saved_apply(st, call, lc_native_id(st, opts->template_id),
                            sb, opts->runtime != NULL);
        if (rc != CSDK_OK) {
            (void)lc_remove_tree(sb->dir);
            lc_sandbox_free(sb);
            return rc;
        }
    }
    /* Writes meta (state "running") once bwrap is up, then waits for the
     * agent; a command sent meanwhile waits in the socket's backlog. */
    rc = lc_spawn_sandbox(st, call, sb, conf);
    if (rc != CSDK_OK) {
        lc_sandbox_destroy(st, sb, 0);
        lc_sandbox_free(sb);
        return rc;
    }
    *out = sb;
    return CSDK_OK;
}
