/*
 * example_state.c - the example provider's state: the in-memory store of
 * sandboxes and their files, and the state_file that carries it from one
 * process to the next.  Little of this is about the csdk ABI (example.c
 * is): a real provider keeps its sandboxes in its backend and drops this
 * file.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "example.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EX_STATE_MAGIC "csdk-example-state 1"

/* ------------------------------------------------------------------ */
/* The in-memory store                                                 */
/* ------------------------------------------------------------------ */

/* Take ownership of key and value and append them; on failure free both
 * and return -1. */
static int ex_pairs_push(ex_pair_t **v, size_t *n, char *key, char *value)
{
    ex_pair_t *grown;

    if (key == NULL || value == NULL ||
        (grown = realloc(*v, (*n + 1) * sizeof **v)) == NULL) {
        free(key);
        free(value);
        return -1;
    }
    grown[*n].key = key;
    grown[*n].value = value;
    *v = grown;
    (*n)++;
    return 0;
}

/* Copy borrowed kv pairs; a NULL key is skipped, a NULL value is "".
 * Returns 0, or -1 when out of memory. */
static int ex_pairs_copy(ex_pair_t **v, size_t *n, const csdk_kv_t *kv,
                         size_t n_kv)
{
    for (size_t i = 0; i < n_kv; i++) {
        if (kv[i].key == NULL)
            continue;
        if (ex_pairs_push(v, n, strdup(kv[i].key),
                          strdup(kv[i].value ? kv[i].value : "")) != 0)
            return -1;
    }
    return 0;
}

static void ex_pairs_free(ex_pair_t *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].key);
        free(v[i].value);
    }
    free(v);
}

static void ex_sandbox_free(ex_sandbox_t *sb)
{
    if (sb == NULL)
        return;
    free(sb->id);
    free(sb->runtime);
    free(sb->name);
    free(sb->namespace_);
    ex_pairs_free(sb->env, sb->n_env);
    ex_pairs_free(sb->meta, sb->n_meta);
    for (size_t i = 0; i < sb->n_files; i++) {
        free(sb->files[i].path);
        free(sb->files[i].data);
    }
    free(sb->files);
    free(sb);
}

void ex_state_free(ex_state_t *st)
{
    for (size_t i = 0; i < st->n_sbs; i++)
        ex_sandbox_free(st->sbs[i]);
    free(st->sbs);
    free(st->instance);
    free(st->state_file);
    free(st);
}

/* Append a sandbox to the instance (which then owns it).  Returns 0, or -1
 * when out of memory. */
static int ex_sandbox_add(ex_state_t *st, ex_sandbox_t *sb)
{
    ex_sandbox_t **grown = realloc(st->sbs, (st->n_sbs + 1) * sizeof *grown);

    if (grown == NULL)
        return -1;
    grown[st->n_sbs++] = sb;
    st->sbs = grown;
    return 0;
}

ex_sandbox_t *ex_sandbox_new(ex_state_t *st, const csdk_create_opts_t *o,
                             const char *namespace_, const char *name)
{
    ex_sandbox_t *sb = calloc(1, sizeof *sb);
    char id[32];

    if (sb == NULL)
        return NULL;
    snprintf(id, sizeof id, "ex-%" PRIu64, st->next_id);
    sb->id = strdup(id);
    sb->runtime = strdup(o->runtime != NULL && *o->runtime != '\0'
                             ? o->runtime
                             : EX_DEFAULT_RUNTIME);
    sb->created_ms = st->host->now_ms();
    sb->timeout_ms = o->timeout_ms;
    sb->next_pid = EX_FIRST_PID;
    if (name != NULL) {
        sb->name = strdup(name);
        sb->namespace_ = strdup(namespace_);
    }
    if (sb->id == NULL || sb->runtime == NULL ||
        (name != NULL && (sb->name == NULL || sb->namespace_ == NULL)) ||
        ex_pairs_copy(&sb->env, &sb->n_env, o->env, o->n_env) != 0 ||
        ex_pairs_copy(&sb->meta, &sb->n_meta, o->metadata,
                      o->n_metadata) != 0 ||
        ex_sandbox_add(st, sb) != 0) {
        ex_sandbox_free(sb);
        return NULL;
    }
    st->next_id++;
    return sb;
}

ex_sandbox_t *ex_sandbox_find_named(const ex_state_t *st,
                                   const char *namespace_, const char *name)
{
    for (size_t i = 0; i < st->n_sbs; i++)
        if (st->sbs[i]->name != NULL && strcmp(st->sbs[i]->name, name) == 0 &&
            strcmp(st->sbs[i]->namespace_, namespace_) == 0)
            return st->sbs[i];
    return NULL;
}

int ex_sandbox_remove(ex_state_t *st, const char *id)
{
    for (size_t i = 0; i < st->n_sbs; i++) {
        if (strcmp(st->sbs[i]->id, id) == 0) {
            ex_sandbox_free(st->sbs[i]);
            memmove(&st->sbs[i], &st->sbs[i + 1],
                    (st->n_sbs - i - 1) * sizeof *st->sbs);
            st->n_sbs--;
            return 1;
        }
    }
    return 0;
}

int ex_path_norm(const char *base, const char *path, char **out)
{
    size_t blen = path[0] == '/' ? 0 : strlen(base);
    size_t plen = strlen(path);
    char *src = malloc(blen + plen + 2);
    char *dst = malloc(blen + plen + 2);
    size_t o = 0;

    *out = NULL;
    if (src == NULL || dst == NULL) {
        free(src);
        free(dst);
        return EX_PATH_NOMEM;
    }
    memcpy(src, base, blen);
    src[blen] = '/';
    memcpy(src + blen + 1, path, plen + 1);

    for (const char *p = src; *p != '\0';) {
        const char *end;
        size_t n;

        while (*p == '/')
            p++;
        end = strchr(p, '/');
        if (end == NULL)
            end = p + strlen(p);
        n = (size_t)(end - p);
        if (n == 2 && p[0] == '.' && p[1] == '.') {
            free(src);
            free(dst);
            return EX_PATH_DOTDOT;
        }
        if (n > 0 && !(n == 1 && p[0] == '.')) {
            dst[o++] = '/';
            memcpy(dst + o, p, n);
            o += n;
        }
        p = end;
    }
    if (o == 0)
        dst[o++] = '/';
    dst[o] = '\0';
    free(src);
    *out = dst;
    return EX_PATH_OK;
}

csdk_status_t ex_path_arg(ex_state_t *st, csdk_call_t *call, const char *what,
                          const char *path, char **out)
{
    int rc;

    if (path == NULL || *path == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no %s given", what);
    rc = ex_path_norm(EX_WORKDIR, path, out);
    if (rc == EX_PATH_NOMEM)
        return ex_nomem(st, call);
    if (rc == EX_PATH_DOTDOT)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "%s '%s' has a '..' component; the example "
                               "provider takes only paths without '..'",
                               what, path);
    return CSDK_OK;
}

/* Non-zero if `file` lies strictly inside directory `dir`. */
static int ex_path_under(const char *file, const char *dir)
{
    size_t n = strlen(dir);

    if (strcmp(dir, "/") == 0)
        return file[0] == '/' && file[1] != '\0';
    return strncmp(file, dir, n) == 0 && file[n] == '/';
}

ex_file_t *ex_file_find(const ex_sandbox_t *sb, const char *path)
{
    for (size_t i = 0; i < sb->n_files; i++)
        if (strcmp(sb->files[i].path, path) == 0)
            return &sb->files[i];
    return NULL;
}

int ex_is_dir(const ex_sandbox_t *sb, const char *path)
{
    if (strcmp(path, "/") == 0 || strcmp(path, EX_WORKDIR) == 0)
        return 1;
    for (size_t i = 0; i < sb->n_files; i++)
        if (ex_path_under(sb->files[i].path, path))
            return 1;
    return 0;
}

/* Take ownership of path and data and append a file to the sandbox; on
 * failure free both and return -1. */
static int ex_file_add(ex_sandbox_t *sb, char *path, unsigned char *data,
                       size_t len)
{
    ex_file_t *grown = realloc(sb->files, (sb->n_files + 1) * sizeof *grown);

    if (grown == NULL) {
        free(path);
        free(data);
        return -1;
    }
    grown[sb->n_files].path = path;
    grown[sb->n_files].data = data;
    grown[sb->n_files].len = len;
    sb->files = grown;
    sb->n_files++;
    return 0;
}

int ex_file_put(ex_sandbox_t *sb, char *path, const void *data, size_t len)
{
    ex_file_t *file = ex_file_find(sb, path);
    unsigned char *copy = malloc(len > 0 ? len : 1);

    if (copy == NULL) {
        free(path);
        return -1;
    }
    if (len > 0)
        memcpy(copy, data, len);
    if (file == NULL)
        return ex_file_add(sb, path, copy, len);
    free(path);
    free(file->data);
    file->data = copy;
    file->len = len;
    return 0;
}

const char *ex_file_parent(const ex_sandbox_t *sb, const char *path)
{
    for (size_t i = 0; i < sb->n_files; i++)
        if (ex_path_under(path, sb->files[i].path))
            return sb->files[i].path;
    return NULL;
}

size_t ex_files_remove(ex_sandbox_t *sb, const char *path)
{
    size_t kept = 0, n = sb->n_files;

    for (size_t i = 0; i < n; i++) {
        ex_file_t *f = &sb->files[i];

        if (strcmp(f->path, path) == 0 || ex_path_under(f->path, path)) {
            free(f->path);
            free(f->data);
        } else {
            sb->files[kept++] = *f;
        }
    }
    sb->n_files = kept;
    return n - kept;
}

int ex_parse_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*s - '0');
    }
    *out = v;
    return 0;
}

/* ------------------------------------------------------------------ */
/* The state file                                                      */
/* ------------------------------------------------------------------ */

/* State file format (one instance's sandboxes; text, one item a line):
 *
 *     csdk-example-state 1
 *     next_id 3
 *     sandbox ex-1
 *     runtime 707974686f6e
 *     created_ms 1700000000000
 *     timeout_ms 0
 *     next_pid 100
 *     name 6d79            (only for named sandboxes, with namespace)
 *     namespace 6e73
 *     env 4b4559 76616c7565
 *     meta 6f776e6572 6d65
 *     file 2f776f726b73706163652f612e747874 68690a
 *     end
 *
 * Every string and every file's contents is written in hex ("-" when
 * empty), so any byte, space or newline round-trips and a line never has
 * to be escaped.  Blank lines and lines starting with '#' are ignored. */

static void ex_put_hex(FILE *f, const void *data, size_t len)
{
    static const char digits[] = "0123456789abcdef";
    const unsigned char *p = data;

    if (len == 0) {
        fputc('-', f);
        return;
    }
    for (size_t i = 0; i < len; i++) {
        fputc(digits[p[i] >> 4], f);
        fputc(digits[p[i] & 15], f);
    }
}

static void ex_put_str(FILE *f, const char *s)
{
    ex_put_hex(f, s, strlen(s));
}

static int ex_hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

#define EX_LOAD_OK 0
#define EX_LOAD_BAD 1   /* corrupt: `why` says how */
#define EX_LOAD_NOMEM 2

/* Decode hex (or "-") into a new NUL-terminated buffer of *len bytes. */
static int ex_hex_decode(const char *hex, unsigned char **out, size_t *len)
{
    size_t n = strlen(hex);
    unsigned char *buf;

    *out = NULL;
    *len = 0;
    if (strcmp(hex, "-") == 0)
        n = 0;
    else if (n == 0 || n % 2 != 0)
        return EX_LOAD_BAD;
    buf = malloc(n / 2 + 1);
    if (buf == NULL)
        return EX_LOAD_NOMEM;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = ex_hex_digit(hex[2 * i]), lo = ex_hex_digit(hex[2 * i + 1]);

        if (hi < 0 || lo < 0) {
            free(buf);
            return EX_LOAD_BAD;
        }
        buf[i] = (unsigned char)(hi << 4 | lo);
    }
    buf[n / 2] = '\0';
    *out = buf;
    *len = n / 2;
    return EX_LOAD_OK;
}

/* Decode a hex string field: like ex_hex_decode, but a NUL inside is
 * corruption (strings cross the ABI NUL-terminated). */
static int ex_hex_string(const char *hex, char **out)
{
    unsigned char *buf;
    size_t len;
    int rc = ex_hex_decode(hex, &buf, &len);

    *out = NULL;
    if (rc != EX_LOAD_OK)
        return rc;
    if (memchr(buf, '\0', len) != NULL) {
        free(buf);
        return EX_LOAD_BAD;
    }
    *out = (char *)buf;
    return EX_LOAD_OK;
}

/* Number N of an id "ex-N", or 0 if `id` is not of that form. */
static uint64_t ex_id_number(const char *id)
{
    uint64_t n;

    if (strncmp(id, "ex-", 3) != 0 || ex_parse_u64(id + 3, &n) != 0)
        return 0;
    return n;
}

/* Load one line of the state file.  *cur is the sandbox being read (NULL
 * outside "sandbox ... end").  On EX_LOAD_BAD, `why` says what is wrong. */
static int ex_state_line(ex_state_t *st, ex_sandbox_t **cur, char *line,
                         char *why, size_t why_size)
{
    char *tok[4];
    size_t n = 0;
    ex_sandbox_t *sb = *cur;
    int rc;

    for (char *p = line; n < 4;) {
        tok[n++] = p;
        p = strchr(p, ' ');
        if (p == NULL)
            break;
        *p++ = '\0';
    }
#define EX_BAD(...) (snprintf(why, why_size, __VA_ARGS__), EX_LOAD_BAD)
    if (n == 4)
        return EX_BAD("too many words");

    if (sb == NULL) {
        uint64_t num;

        if (strcmp(tok[0], "next_id") == 0 && n == 2) {
            if (ex_parse_u64(tok[1], &st->next_id) != 0)
                return EX_BAD("bad number '%s'", tok[1]);
            return EX_LOAD_OK;
        }
        if (strcmp(tok[0], "sandbox") != 0 || n != 2)
            return EX_BAD("expected 'sandbox ID' or 'next_id N'");
        num = ex_id_number(tok[1]);
        if (num == 0)
            return EX_BAD("bad sandbox id '%s'", tok[1]);
        if (ex_sandbox_find(st, tok[1]) != NULL)
            return EX_BAD("sandbox '%s' appears twice", tok[1]);
        if (st->n_sbs >= EX_MAX_SANDBOXES)
            return EX_BAD("more than %d sandboxes", EX_MAX_SANDBOXES);
        if (num >= st->next_id)
            st->next_id = num + 1;
        sb = calloc(1, sizeof *sb);
        if (sb == NULL || (sb->id = strdup(tok[1])) == NULL) {
            free(sb);
            return EX_LOAD_NOMEM;
        }
        sb->next_pid = EX_FIRST_PID;
        *cur = sb;
        return EX_LOAD_OK;
    }

    if (strcmp(tok[0], "end") == 0 && n == 1) {
        if ((sb->name == NULL) != (sb->namespace_ == NULL))
            return EX_BAD("sandbox '%s' has a name without a namespace "
                          "or the other way round", sb->id);
        if (sb->runtime == NULL &&
            (sb->runtime = strdup(EX_DEFAULT_RUNTIME)) == NULL)
            return EX_LOAD_NOMEM;
        if (ex_sandbox_add(st, sb) != 0)
            return EX_LOAD_NOMEM;
        *cur = NULL;
        return EX_LOAD_OK;
    }
    if (n == 2 && (strcmp(tok[0], "created_ms") == 0 ||
                   strcmp(tok[0], "timeout_ms") == 0 ||
                   strcmp(tok[0], "next_pid") == 0)) {
        uint64_t v;

        if (ex_parse_u64(tok[1], &v) != 0 || v > INT64_MAX)
            return EX_BAD("bad number '%s'", tok[1]);
        if (strcmp(tok[0], "created_ms") == 0)
            sb->created_ms = v;
        else if (strcmp(tok[0], "timeout_ms") == 0)
            sb->timeout_ms = v;
        else
            sb->next_pid = (int64_t)v;
        return EX_LOAD_OK;
    }
    if (n == 2 && (strcmp(tok[0], "runtime") == 0 ||
                   strcmp(tok[0], "name") == 0 ||
                   strcmp(tok[0], "namespace") == 0)) {
        char **field = &sb->namespace_;
        char *value;

        if (strcmp(tok[0], "runtime") == 0)
            field = &sb->runtime;
        else if (strcmp(tok[0], "name") == 0)
            field = &sb->name;
        rc = ex_hex_string(tok[1], &value);
        if (rc == EX_LOAD_BAD)
            return EX_BAD("bad hex string for '%s'", tok[0]);
        if (rc != EX_LOAD_OK)
            return rc;
        free(*field);
        *field = value;
        return EX_LOAD_OK;
    }
    if (n == 3 &&
        (strcmp(tok[0], "env") == 0 || strcmp(tok[0], "meta") == 0)) {
        char *key, *value = NULL;
        int is_env = strcmp(tok[0], "env") == 0;

        rc = ex_hex_string(tok[1], &key);
        if (rc == EX_LOAD_OK) {
            rc = ex_hex_string(tok[2], &value);
            if (rc != EX_LOAD_OK)
                free(key);
        }
        if (rc == EX_LOAD_BAD)
            return EX_BAD("bad hex string for '%s'", tok[0]);
        if (rc != EX_LOAD_OK)
            return rc;
        if (ex_pairs_push(is_env ? &sb->env : &sb->meta,
                          is_env ? &sb->n_env : &sb->n_meta, key, value) != 0)
            return EX_LOAD_NOMEM;
        return EX_LOAD_OK;
    }
    if (n == 3 && strcmp(tok[0], "file") == 0) {
        char *path, *norm;
        unsigned char *data;
        size_t len;

        rc = ex_hex_string(tok[1], &path);
        if (rc == EX_LOAD_BAD)
            return EX_BAD("bad hex string for a file's path");
        if (rc != EX_LOAD_OK)
            return rc;
        rc = ex_path_norm("/", path, &norm);
        if (rc == EX_PATH_NOMEM) {
            free(path);
            return EX_LOAD_NOMEM;
        }
        if (rc != EX_PATH_OK || strcmp(norm, path) != 0 ||
            strcmp(norm, "/") == 0 || ex_file_find(sb, norm) != NULL) {
            free(path);
            free(norm);
            return EX_BAD("bad or repeated file path");
        }
        free(norm);
        rc = ex_hex_decode(tok[2], &data, &len);
        if (rc != EX_LOAD_OK) {
            free(path);
            return rc == EX_LOAD_BAD
                       ? EX_BAD("bad hex contents for a file")
                       : rc;
        }
        return ex_file_add(sb, path, data, len) != 0 ? EX_LOAD_NOMEM
                                                     : EX_LOAD_OK;
    }
    return EX_BAD("unexpected '%s' inside sandbox '%s'", tok[0], sb->id);
#undef EX_BAD
}

/*
 * Load the sandboxes saved by an earlier process.  A missing file is an
 * empty state (the first run); a corrupt one fails init with
 * CSDK_E_CONFIG naming the file and line, rather than silently dropping
 * sandboxes someone still pays for.
 */
static csdk_status_t ex_state_load(ex_state_t *st, csdk_call_t *call)
{
    FILE *f = fopen(st->state_file, "r");
    char *line = NULL;
    size_t cap = 0, lineno = 0;
    ssize_t got;
    ex_sandbox_t *cur = NULL;
    char why[256] = "";
    int rc = EX_LOAD_OK;
    csdk_status_t status = CSDK_OK;

    if (f == NULL) {
        if (errno == ENOENT)
            return CSDK_OK;
        return st->host->error(call, CSDK_E_IO,
                               "cannot read state_file '%s': %s; check its "
                               "permissions", st->state_file, strerror(errno));
    }
    while ((got = getline(&line, &cap, f)) >= 0) {
        lineno++;
        while (got > 0 && (line[got - 1] == '\n' || line[got - 1] == '\r'))
            line[--got] = '\0';
        if (lineno == 1) {
            if (strcmp(line, EX_STATE_MAGIC) != 0) {
                snprintf(why, sizeof why, "expected '%s'", EX_STATE_MAGIC);
                rc = EX_LOAD_BAD;
                break;
            }
            continue;
        }
        if (line[0] == '\0' || line[0] == '#')
            continue;
        rc = ex_state_line(st, &cur, line, why, sizeof why);
        if (rc != EX_LOAD_OK)
            break;
    }
    if (rc == EX_LOAD_OK && ferror(f)) {
        status = st->host->error(call, CSDK_E_IO,
                                 "cannot read state_file '%s': %s",
                                 st->state_file, strerror(errno));
    } else if (rc == EX_LOAD_OK && cur != NULL) {
        snprintf(why, sizeof why, "the file ends inside sandbox '%s'",
                 cur->id);
        rc = EX_LOAD_BAD;
    }
    if (rc == EX_LOAD_BAD)
        status = st->host->error(call, CSDK_E_CONFIG,
                                 "state_file '%s' line %zu: %s; repair or "
                                 "delete the file", st->state_file,
                                 lineno, why);
    else if (rc == EX_LOAD_NOMEM)
        status = ex_nomem(st, call);
    ex_sandbox_free(cur);
    free(line);
    fclose(f);
    return status;
}

csdk_status_t ex_state_open(ex_state_t *st, csdk_call_t *call,
                            const char *path)
{
    if (strncmp(path, "~/", 2) == 0) {
        const char *home = getenv("HOME");
        size_t n;

        if (home == NULL || *home == '\0')
            return st->host->error(call, CSDK_E_CONFIG,
                                   "[provider.%s] state_file '%s' starts "
                                   "with '~/' but $HOME is not set; give an "
                                   "absolute path", st->instance, path);
        n = strlen(home) + strlen(path);
        st->state_file = malloc(n);
        if (st->state_file != NULL)
            snprintf(st->state_file, n, "%s%s", home, path + 1);
    } else {
        st->state_file = strdup(path);
    }
    if (st->state_file == NULL)
        return ex_nomem(st, call);
    return ex_state_load(st, call);
}

/* mkdir -p for the directory that will hold `path` (mode 0700: the state
 * holds file contents, which may be private). */
static void ex_make_parents(const char *path)
{
    char *copy = strdup(path);

    if (copy == NULL)
        return;
    for (char *p = copy + 1; (p = strchr(p, '/')) != NULL; p++) {
        *p = '\0';
        (void)mkdir(copy, 0700);
        *p = '/';
    }
    free(copy);
}

static void ex_state_write(ex_state_t *st, FILE *f)
{
    fprintf(f, "%s\n# written by the csdk example provider; each process "
               "saves at exit and the last one wins\nnext_id %" PRIu64 "\n",
            EX_STATE_MAGIC, st->next_id);
    for (size_t i = 0; i < st->n_sbs; i++) {
        const ex_sandbox_t *sb = st->sbs[i];

        fprintf(f, "sandbox %s\nruntime ", sb->id);
        ex_put_str(f, sb->runtime);
        fprintf(f, "\ncreated_ms %" PRIu64 "\ntimeout_ms %" PRIu64
                   "\nnext_pid %" PRId64 "\n",
                sb->created_ms, sb->timeout_ms, sb->next_pid);
        if (sb->name != NULL) {
            fputs("name ", f);
            ex_put_str(f, sb->name);
            fputs("\nnamespace ", f);
            ex_put_str(f, sb->namespace_);
            fputc('\n', f);
        }
        for (size_t j = 0; j < sb->n_env + sb->n_meta; j++) {
            const ex_pair_t *kv =
                j < sb->n_env ? &sb->env[j] : &sb->meta[j - sb->n_env];

            fputs(j < sb->n_env ? "env " : "meta ", f);
            ex_put_str(f, kv->key);
            fputc(' ', f);
            ex_put_str(f, kv->value);
            fputc('\n', f);
        }
        for (size_t j = 0; j < sb->n_files; j++) {
            fputs("file ", f);
            ex_put_str(f, sb->files[j].path);
            fputc(' ', f);
            ex_put_hex(f, sb->files[j].data, sb->files[j].len);
            fputc('\n', f);
        }
        fputs("end\n", f);
    }
}

/*
 * Save atomically: write PATH.tmp.<pid>, flush it to disk, then rename it
 * over PATH, so a reader sees the old file or the new one, never half of
 * one.  Separate csdk processes sharing a state_file each load it at init
 * and save at fini: the last process to exit wins, and changes made by
 * another process in between are overwritten.  That is good enough for a
 * demonstration provider; a real one keeps its state in its backend.
 * fini cannot fail, so a failure here is logged (without the contents).
 */
void ex_state_save(ex_state_t *st)
{
    size_t n = strlen(st->state_file) + 32;
    char *tmp = malloc(n);
    FILE *f = NULL;
    int fd, err = 0;

    if (tmp == NULL) {
        st->host->log(st->inst, CSDK_LOG_ERROR,
                      "cannot save state_file '%s': out of memory",
                      st->state_file);
        return;
    }
    snprintf(tmp, n, "%s.tmp.%ld", st->state_file, (long)getpid());
    ex_make_parents(st->state_file);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || (f = fdopen(fd, "w")) == NULL) {
        err = errno;
        if (fd >= 0)
            close(fd);
    } else {
        errno = 0;
        ex_state_write(st, f);
        if (fflush(f) != 0 || ferror(f) || fsync(fileno(f)) != 0)
            err = errno ? errno : EIO;
        if (fclose(f) != 0 && err == 0)
            err = errno;
        if (err == 0 && rename(tmp, st->state_file) != 0)
            err = errno;
    }
    if (err != 0) {
        st->host->log(st->inst, CSDK_LOG_ERROR,
                      "cannot save state_file '%s': %s; this run's sandbox "
                      "changes are lost (check that the directory is "
                      "writable)", st->state_file, strerror(err));
        (void)unlink(tmp);
    }
    free(tmp);
}
