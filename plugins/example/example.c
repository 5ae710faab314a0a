/*
 * example.c - the example provider: sandboxes that live in memory.
 *
 * This is the reference plugin for anyone writing a csdk provider.  It has
 * no backend at all: a sandbox is a struct in an array, its files are byte
 * arrays, and commands and code are answered by a tiny built-in
 * interpreter.  So every line here is about the csdk ABI rather than about
 * some backend's API.  Copy the file, rename the ex_ prefix, and replace
 * the bodies with calls to your backend.
 *
 * Build (the project's Makefile.am does the same through libtool):
 *
 *     cc -std=c11 -fPIC -shared -fvisibility=hidden \
 *        -I/usr/local/include -o example.so example.c
 *
 * and name it in csdk.ini:
 *
 *     [provider.example]
 *     plugin = example
 *     state_file = ~/.local/state/csdk/example.state   ; optional
 *
 * The ABI rules, each explained again where the code relies on it:
 *  1. One exported symbol, csdk_provider_entry(), returning a pointer to a
 *     `static const` table (end of file).  Everything else is static.
 *  2. Inputs are borrowed for the duration of the call: copy what you keep.
 *  3. Output goes only through the host's upcalls on the csdk_call_t
 *     (host->set_str, host->write, ...).  The plugin never hands the host
 *     memory it allocated, so nobody wonders who frees what.
 *  4. A failure is a status returned through host->error(call, CODE, ...),
 *     which records a one-line message and returns CODE.  A command that
 *     exits non-zero is not a failure: it is a result with an exit code.
 *  5. An optional slot left NULL is answered by the host with
 *     CSDK_E_NOT_SUPPORTED, and the provider's capability bits come from
 *     the slots that are not NULL.
 *  6. Options structs are read through CSDK_HAS_FIELD, so a caller built
 *     against an older header (a smaller struct) still works.
 *
 * Threads: this provider is NOT thread-safe and says so by leaving
 * CSDK_PROVIDER_THREAD_SAFE out of its flags; the host then never calls
 * into one instance from two threads at once, so there are no locks here.
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include <csdk/provider.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EX_MAX_SANDBOXES 1000
#define EX_WORKDIR "/workspace"
#define EX_DEFAULT_RUNTIME "python"
#define EX_FIRST_PID 100
#define EX_SLEEP_STEP_MS 10
#define EX_READ_CHUNK 65536
#define EX_STATE_MAGIC "csdk-example-state 1"

#if defined(__GNUC__) || defined(__clang__)
#define EX_SENTINEL __attribute__((sentinel))
#else
#define EX_SENTINEL
#endif

/* ------------------------------------------------------------------ */
/* The instance's state                                                */
/* ------------------------------------------------------------------ */

/* An owned key/value pair (csdk_kv_t is borrowed, so we copy into this). */
typedef struct ex_pair {
    char *key;
    char *value;
} ex_pair_t;

/* A file: a normalised absolute path and counted bytes.  File contents are
 * never NUL-terminated strings: a file may hold any bytes. */
typedef struct ex_file {
    char *path;
    unsigned char *data;
    size_t len;
} ex_file_t;

typedef struct ex_sandbox {
    char *id;         /* "ex-<N>" */
    char *runtime;    /* "python", "node", ... */
    char *name;       /* set (with namespace_) by find_or_create, else NULL */
    char *namespace_;
    uint64_t created_ms;
    uint64_t timeout_ms;
    ex_pair_t *env;   /* the environment every command sees */
    size_t n_env;
    ex_pair_t *meta;  /* user metadata, reported with the record */
    size_t n_meta;
    ex_file_t *files;
    size_t n_files;
    int64_t next_pid; /* handles for background commands */
} ex_sandbox_t;

/*
 * What init hands the host as `*state`; the host passes it back to every
 * slot.  `host` and `inst` stay valid until fini returns, so keeping them
 * here is allowed (and is the only way fini can log).
 */
typedef struct ex_state {
    const csdk_host_t *host;
    csdk_instance_t *inst;
    char *instance;   /* the INI section's NAME, for messages */
    char *state_file; /* NULL: the sandboxes live only as long as the host */
    int dirty;        /* something changed since the state was loaded */
    uint64_t next_id;
    ex_sandbox_t **sbs;
    size_t n_sbs;
} ex_state_t;

/* ------------------------------------------------------------------ */
/* Slot declarations                                                   */
/* ------------------------------------------------------------------ */

/*
 * Declare every slot with its typedef from provider.h.  The compiler then
 * checks each definition against the ABI: a wrong parameter is an error
 * here, not a crash in the host.
 */
static csdk_init_fn ex_init;
static csdk_fini_fn ex_fini;
static csdk_create_fn ex_create;
static csdk_get_fn ex_get;
static csdk_list_fn ex_list;
static csdk_destroy_fn ex_destroy;
static csdk_run_command_fn ex_run_command;
static csdk_run_code_fn ex_run_code;
static csdk_info_fn ex_info;
static csdk_url_fn ex_url;
static csdk_read_file_fn ex_read_file;
static csdk_write_file_fn ex_write_file;
static csdk_exists_fn ex_exists;
static csdk_remove_fn ex_remove;
static csdk_find_or_create_fn ex_find_or_create;

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static csdk_status_t ex_nomem(const ex_state_t *st, csdk_call_t *call)
{
    return st->host->error(call, CSDK_E_NOMEM, "out of memory");
}

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

/* Copy borrowed kv pairs; a NULL key is skipped, a NULL value is "". */
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

static void ex_state_free(ex_state_t *st)
{
    for (size_t i = 0; i < st->n_sbs; i++)
        ex_sandbox_free(st->sbs[i]);
    free(st->sbs);
    free(st->instance);
    free(st->state_file);
    free(st);
}

/* Append a sandbox to the instance (which then owns it). */
static int ex_sandbox_add(ex_state_t *st, ex_sandbox_t *sb)
{
    ex_sandbox_t **grown = realloc(st->sbs, (st->n_sbs + 1) * sizeof *grown);

    if (grown == NULL)
        return -1;
    grown[st->n_sbs++] = sb;
    st->sbs = grown;
    return 0;
}

static ex_sandbox_t *ex_sandbox_find(const ex_state_t *st, const char *id)
{
    for (size_t i = 0; i < st->n_sbs; i++)
        if (strcmp(st->sbs[i]->id, id) == 0)
            return st->sbs[i];
    return NULL;
}

/*
 * The lookup every per-sandbox slot starts with.  A missing sandbox is a
 * status (CSDK_E_NOT_FOUND) with a message naming the id and the instance,
 * never a crash: the host may pass any id a user typed.
 */
static csdk_status_t ex_lookup(ex_state_t *st, csdk_call_t *call,
                               const char *id, ex_sandbox_t **out)
{
    if (id == NULL || *id == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no sandbox id given");
    *out = ex_sandbox_find(st, id);
    if (*out == NULL)
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "no sandbox '%s' in provider '%s'", id,
                               st->instance);
    return CSDK_OK;
}

/*
 * Report a sandbox's record: one set_* upcall per field.  The host copies
 * each string at once, so passing pointers into our own structs is fine.
 * A non-zero return from set_* means the host ran out of memory.
 */
static csdk_status_t ex_report(ex_state_t *st, csdk_call_t *call,
                               const ex_sandbox_t *sb)
{
    const csdk_host_t *h = st->host;
    int32_t failed = 0;

    failed |= h->set_str(call, CSDK_F_ID, sb->id);
    failed |= h->set_str(call, CSDK_F_STATUS, "running");
    failed |= h->set_str(call, CSDK_F_RUNTIME, sb->runtime);
    failed |= h->set_int(call, CSDK_F_CREATED_MS, (int64_t)sb->created_ms);
    failed |= h->set_int(call, CSDK_F_TIMEOUT_MS, (int64_t)sb->timeout_ms);
    if (sb->name != NULL) {
        failed |= h->set_str(call, CSDK_F_NAME, sb->name);
        failed |= h->set_str(call, CSDK_F_NAMESPACE, sb->namespace_);
    }
    for (size_t i = 0; i < sb->n_meta; i++)
        failed |= h->set_meta(call, sb->meta[i].key, sb->meta[i].value);
    return failed ? ex_nomem(st, call) : CSDK_OK;
}

/* ------------------------------------------------------------------ */
/* Paths                                                               */
/* ------------------------------------------------------------------ */

#define EX_PATH_OK 0
#define EX_PATH_DOTDOT (-1) /* a ".." component: refused */
#define EX_PATH_NOMEM (-2)

/*
 * Normalise `path` into a new string in *out: absolute (a relative path is
 * taken relative to `base`, itself normalised), no empty or "." parts, no
 * trailing slash; "/" for the root.  ".." is refused rather than resolved
 * so that a path can never mean something other than what it spells.
 */
static int ex_path_norm(const char *base, const char *path, char **out)
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

/* Normalise a path given to a filesystem slot, reporting bad input. */
static csdk_status_t ex_path_arg(ex_state_t *st, csdk_call_t *call,
                                 const char *path, char **out)
{
    int rc;

    if (path == NULL || *path == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no path given");
    rc = ex_path_norm(EX_WORKDIR, path, out);
    if (rc == EX_PATH_NOMEM)
        return ex_nomem(st, call);
    if (rc == EX_PATH_DOTDOT)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "path '%s' has a '..' component; the example "
                               "provider takes only paths without '..'",
                               path);
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

static ex_file_t *ex_file_find(const ex_sandbox_t *sb, const char *path)
{
    for (size_t i = 0; i < sb->n_files; i++)
        if (strcmp(sb->files[i].path, path) == 0)
            return &sb->files[i];
    return NULL;
}

/* Directories exist implicitly: the root, the working directory, and every
 * parent of a stored file.  There are no empty directories (no mkdir). */
static int ex_is_dir(const ex_sandbox_t *sb, const char *path)
{
    if (strcmp(path, "/") == 0 || strcmp(path, EX_WORKDIR) == 0)
        return 1;
    for (size_t i = 0; i < sb->n_files; i++)
        if (ex_path_under(sb->files[i].path, path))
            return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

/*
 * Read the caller's options into a full-size, zeroed copy.  The caller may
 * have been compiled against an older header with a smaller struct, so
 * each field is read only when CSDK_HAS_FIELD says the caller's struct has
 * it; fields it lacks stay zero, which every option treats as "default".
 * After this, the rest of the plugin reads the copy without any checks.
 */
static void ex_create_opts_read(const csdk_create_opts_t *in,
                                csdk_create_opts_t *out)
{
    memset(out, 0, sizeof *out);
    out->struct_size = (uint32_t)sizeof *out;
    if (in == NULL)
        return;
    if (CSDK_HAS_FIELD(csdk_create_opts_t, in, flags))
        out->flags = in->flags;
    if (CSDK_HAS_FIELD(csdk_create_opts_t, in, runtime))
        out->runtime = in->runtime;
    if (CSDK_HAS_FIELD(csdk_create_opts_t, in, template_id))
        out->template_id = in->template_id;
    if (CSDK_HAS_FIELD(csdk_create_opts_t, in, timeout_ms))
        out->timeout_ms = in->timeout_ms;
    if (CSDK_HAS_FIELD(csdk_create_opts_t, in, n_env)) {
        out->env = in->env;
        out->n_env = in->env != NULL ? in->n_env : 0;
    }
    if (CSDK_HAS_FIELD(csdk_create_opts_t, in, n_metadata)) {
        out->metadata = in->metadata;
        out->n_metadata = in->metadata != NULL ? in->n_metadata : 0;
    }
    if (CSDK_HAS_FIELD(csdk_create_opts_t, in, n_extra)) {
        out->extra = in->extra;
        out->n_extra = in->extra != NULL ? in->n_extra : 0;
    }
}

static void ex_run_opts_read(const csdk_run_opts_t *in, csdk_run_opts_t *out)
{
    memset(out, 0, sizeof *out);
    out->struct_size = (uint32_t)sizeof *out;
    if (in == NULL)
        return;
    if (CSDK_HAS_FIELD(csdk_run_opts_t, in, flags))
        out->flags = in->flags;
    if (CSDK_HAS_FIELD(csdk_run_opts_t, in, argv))
        out->argv = in->argv;
    if (CSDK_HAS_FIELD(csdk_run_opts_t, in, shell))
        out->shell = in->shell;
    if (CSDK_HAS_FIELD(csdk_run_opts_t, in, cwd))
        out->cwd = in->cwd;
    if (CSDK_HAS_FIELD(csdk_run_opts_t, in, n_env)) {
        out->env = in->env;
        out->n_env = in->env != NULL ? in->n_env : 0;
    }
    if (CSDK_HAS_FIELD(csdk_run_opts_t, in, stdin_len)) {
        out->stdin_data = in->stdin_data;
        out->stdin_len = in->stdin_data != NULL ? in->stdin_len : 0;
    }
    if (CSDK_HAS_FIELD(csdk_run_opts_t, in, timeout_ms))
        out->timeout_ms = in->timeout_ms;
    if (CSDK_HAS_FIELD(csdk_run_opts_t, in, max_output))
        out->max_output = in->max_output;
}

/* ------------------------------------------------------------------ */
/* Lifecycle: init and fini                                            */
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

static int ex_parse_u64(const char *s, uint64_t *out)
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
        ex_file_t *grown;

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
        grown = realloc(sb->files, (sb->n_files + 1) * sizeof *grown);
        if (grown == NULL) {
            free(path);
            free(data);
            return EX_LOAD_NOMEM;
        }
        grown[sb->n_files].path = path;
        grown[sb->n_files].data = data;
        grown[sb->n_files].len = len;
        sb->files = grown;
        sb->n_files++;
        return EX_LOAD_OK;
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
        ex_put_hex(f, sb->runtime, strlen(sb->runtime));
        fprintf(f, "\ncreated_ms %" PRIu64 "\ntimeout_ms %" PRIu64
                   "\nnext_pid %" PRId64 "\n",
                sb->created_ms, sb->timeout_ms, sb->next_pid);
        if (sb->name != NULL) {
            fputs("name ", f);
            ex_put_hex(f, sb->name, strlen(sb->name));
            fputs("\nnamespace ", f);
            ex_put_hex(f, sb->namespace_, strlen(sb->namespace_));
            fputc('\n', f);
        }
        for (size_t j = 0; j < sb->n_env + sb->n_meta; j++) {
            const ex_pair_t *kv =
                j < sb->n_env ? &sb->env[j] : &sb->meta[j - sb->n_env];

            fputs(j < sb->n_env ? "env " : "meta ", f);
            ex_put_hex(f, kv->key, strlen(kv->key));
            fputc(' ', f);
            ex_put_hex(f, kv->value, strlen(kv->value));
            fputc('\n', f);
        }
        for (size_t j = 0; j < sb->n_files; j++) {
            fputs("file ", f);
            ex_put_hex(f, sb->files[j].path, strlen(sb->files[j].path));
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
static void ex_state_save(ex_state_t *st)
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

/*
 * init: read this instance's configuration and build its state.
 *
 * `config` holds the keys of the [provider.NAME] section that the host does
 * not reserve itself (plugin, entry, enabled, retries, rate_limit,
 * timeout_ms).  The array and its strings are borrowed: keep copies.  An
 * unknown key is an error naming the section and listing the keys we
 * accept: a typo must not pass silently.  On failure free what we made:
 * the host does not call fini after a failed init.
 */
static csdk_status_t ex_init(const csdk_host_t *host, csdk_instance_t *inst,
                             const char *instance_name,
                             const csdk_kv_t *config, size_t n_config,
                             csdk_call_t *call, void **state)
{
    const char *state_file = NULL;
    ex_state_t *st;
    csdk_status_t rc;

    *state = NULL;
    /* A host of this major version has at least the 1.0 upcalls; an upcall
     * added in a later minor would be checked like this before use. */
    if (!CSDK_HAS_FIELD(csdk_host_t, host, monotonic_ms))
        return host->error(call, CSDK_E_ABI,
                           "the host's upcall table is too small");

    for (size_t i = 0; i < n_config; i++) {
        if (strcmp(config[i].key, "state_file") == 0)
            state_file = config[i].value; /* a repeated key: the last wins */
        else
            return host->error(call, CSDK_E_CONFIG,
                               "[provider.%s] unknown key '%s' for the "
                               "example plugin (it accepts: state_file)",
                               instance_name, config[i].key);
    }

    st = calloc(1, sizeof *st);
    if (st == NULL)
        return host->error(call, CSDK_E_NOMEM, "out of memory");
    st->host = host;
    st->inst = inst;
    st->next_id = 1;
    st->instance = strdup(instance_name);
    if (st->instance == NULL) {
        ex_state_free(st);
        return host->error(call, CSDK_E_NOMEM, "out of memory");
    }

    /* An empty state_file means the same as none: memory only. */
    if (state_file != NULL && *state_file != '\0') {
        if (strncmp(state_file, "~/", 2) == 0) {
            const char *home = getenv("HOME");
            size_t n;

            if (home == NULL || *home == '\0') {
                ex_state_free(st);
                return host->error(call, CSDK_E_CONFIG,
                                   "[provider.%s] state_file '%s' starts "
                                   "with '~/' but $HOME is not set; give an "
                                   "absolute path", instance_name,
                                   state_file);
            }
            n = strlen(home) + strlen(state_file);
            st->state_file = malloc(n);
            if (st->state_file != NULL)
                snprintf(st->state_file, n, "%s%s", home, state_file + 1);
        } else {
            st->state_file = strdup(state_file);
        }
        if (st->state_file == NULL) {
            ex_state_free(st);
            return host->error(call, CSDK_E_NOMEM, "out of memory");
        }
        rc = ex_state_load(st, call);
        if (rc != CSDK_OK) {
            ex_state_free(st);
            return rc;
        }
        host->log(inst, CSDK_LOG_DEBUG, "loaded %zu sandboxes from %s",
                  st->n_sbs, st->state_file);
    }
    *state = st;
    return CSDK_OK;
}

/* fini: save if asked to and anything changed, then free everything.
 * There is no csdk_call_t here (nothing to report to): log instead. */
static void ex_fini(void *state)
{
    ex_state_t *st = state;

    if (st == NULL)
        return;
    if (st->state_file != NULL && st->dirty)
        ex_state_save(st);
    ex_state_free(st);
}

/* ------------------------------------------------------------------ */
/* Collection: create, get, list, destroy, find_or_create              */
/* ------------------------------------------------------------------ */

/*
 * Make a sandbox from (normalised) create options and add it.  Shared by
 * create and find_or_create; `namespace_`/`name` are NULL for create.
 */
static csdk_status_t ex_sandbox_make(ex_state_t *st, csdk_call_t *call,
                                     const csdk_create_opts_t *opts,
                                     const char *namespace_, const char *name,
                                     ex_sandbox_t **out)
{
    ex_sandbox_t *sb;
    char id[32];

    if (opts->template_id != NULL && *opts->template_id != '\0')
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "the example provider has no templates ('%s')",
                               opts->template_id);
    /* Provider-specific create options would come here; this provider
     * has none, and an option that would be ignored is refused. */
    for (size_t i = 0; i < opts->n_extra; i++)
        if (opts->extra[i].key != NULL)
            return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                   "the example provider takes no create "
                                   "options ('%s')", opts->extra[i].key);
    if (st->n_sbs >= EX_MAX_SANDBOXES)
        return st->host->error(call, CSDK_E_QUOTA,
                               "provider '%s' already holds %d sandboxes, "
                               "the example provider's limit; destroy some "
                               "first", st->instance, EX_MAX_SANDBOXES);

    sb = calloc(1, sizeof *sb);
    if (sb == NULL)
        return ex_nomem(st, call);
    snprintf(id, sizeof id, "ex-%" PRIu64, st->next_id);
    sb->id = strdup(id);
    sb->runtime = strdup(opts->runtime != NULL && *opts->runtime != '\0'
                             ? opts->runtime
                             : EX_DEFAULT_RUNTIME);
    sb->created_ms = st->host->now_ms();
    sb->timeout_ms = opts->timeout_ms;
    sb->next_pid = EX_FIRST_PID;
    if (name != NULL) {
        sb->name = strdup(name);
        sb->namespace_ = strdup(namespace_);
    }
    if (sb->id == NULL || sb->runtime == NULL ||
        (name != NULL && (sb->name == NULL || sb->namespace_ == NULL)) ||
        ex_pairs_copy(&sb->env, &sb->n_env, opts->env, opts->n_env) != 0 ||
        ex_pairs_copy(&sb->meta, &sb->n_meta, opts->metadata,
                      opts->n_metadata) != 0 ||
        ex_sandbox_add(st, sb) != 0) {
        ex_sandbox_free(sb);
        return ex_nomem(st, call);
    }
    st->next_id++;
    st->dirty = 1;
    *out = sb;
    return CSDK_OK;
}

/*
 * create: the record is reported with set_* upcalls, not returned.  The
 * options are borrowed; runtime, env and metadata are copied because the
 * sandbox outlives the call.  CSDK_CREATE_NETWORK is accepted and has no
 * effect: these sandboxes have no network either way (see ex_url).
 */
static csdk_status_t ex_create(void *state, csdk_call_t *call,
                               const csdk_create_opts_t *opts)
{
    ex_state_t *st = state;
    csdk_create_opts_t o;
    ex_sandbox_t *sb;
    csdk_status_t rc;

    ex_create_opts_read(opts, &o);
    rc = ex_sandbox_make(st, call, &o, NULL, NULL, &sb);
    if (rc != CSDK_OK)
        return rc;
    return ex_report(st, call, sb);
}

static csdk_status_t ex_get(void *state, csdk_call_t *call, const char *id)
{
    ex_state_t *st = state;
    ex_sandbox_t *sb;
    csdk_status_t rc = ex_lookup(st, call, id, &sb);

    if (rc != CSDK_OK)
        return rc;
    return ex_report(st, call, sb);
}

/* info may add provider detail to get's record (a real provider reports
 * its image, region, resources...).  An in-memory sandbox has none. */
static csdk_status_t ex_info(void *state, csdk_call_t *call, const char *id)
{
    return ex_get(state, call, id);
}

/* list: next_record() starts each record; the fields that follow belong to
 * it.  An empty list reports no records at all and returns CSDK_OK. */
static csdk_status_t ex_list(void *state, csdk_call_t *call)
{
    ex_state_t *st = state;

    for (size_t i = 0; i < st->n_sbs; i++) {
        csdk_status_t rc;

        if (st->host->next_record(call) != 0)
            return ex_nomem(st, call);
        rc = ex_report(st, call, st->sbs[i]);
        if (rc != CSDK_OK)
            return rc;
    }
    return CSDK_OK;
}

/* destroy is idempotent: destroying an unknown or already destroyed
 * sandbox succeeds, so a caller (or the host retrying) never has to
 * check first. */
static csdk_status_t ex_destroy(void *state, csdk_call_t *call,
                                const char *id)
{
    ex_state_t *st = state;

    (void)call;
    for (size_t i = 0; id != NULL && i < st->n_sbs; i++) {
        if (strcmp(st->sbs[i]->id, id) == 0) {
            ex_sandbox_free(st->sbs[i]);
            memmove(&st->sbs[i], &st->sbs[i + 1],
                    (st->n_sbs - i - 1) * sizeof *st->sbs);
            st->n_sbs--;
            st->dirty = 1;
            break;
        }
    }
    return CSDK_OK;
}

/*
 * find_or_create: the one named-sandbox slot this provider implements.
 * The ABI asks for atomicity against concurrent callers; since the plugin
 * is not thread-safe the host already serialises calls, so look-up then
 * create cannot race.  `find` and `extend_timeout` stay NULL: the host
 * answers them with CSDK_E_NOT_SUPPORTED.
 */
static csdk_status_t ex_find_or_create(void *state, csdk_call_t *call,
                                       const char *namespace_,
                                       const char *name,
                                       const csdk_create_opts_t *opts)
{
    ex_state_t *st = state;
    csdk_create_opts_t o;
    ex_sandbox_t *sb = NULL;
    csdk_status_t rc;

    if (namespace_ == NULL || *namespace_ == '\0' || name == NULL ||
        *name == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "find_or_create needs a namespace and a name");
    for (size_t i = 0; i < st->n_sbs; i++) {
        const ex_sandbox_t *s = st->sbs[i];

        if (s->name != NULL && strcmp(s->name, name) == 0 &&
            strcmp(s->namespace_, namespace_) == 0) {
            sb = st->sbs[i];
            break;
        }
    }
    if (sb != NULL) {
        if (st->host->set_int(call, CSDK_F_CREATED, 0) != 0)
            return ex_nomem(st, call);
        return ex_report(st, call, sb);
    }
    ex_create_opts_read(opts, &o);
    rc = ex_sandbox_make(st, call, &o, namespace_, name, &sb);
    if (rc != CSDK_OK)
        return rc;
    if (st->host->set_int(call, CSDK_F_CREATED, 1) != 0)
        return ex_nomem(st, call);
    return ex_report(st, call, sb);
}

/* ------------------------------------------------------------------ */
/* Output with caps and cancellation                                   */
/* ------------------------------------------------------------------ */

/*
 * Everything a command prints goes through host->write(), which either
 * buffers it or hands it to the caller's callback at once (that is how
 * csdk streams output: the plugin does nothing special).  A non-zero
 * return means the caller wants us to stop: we end the operation and the
 * slot returns CSDK_E_CANCELLED.
 */
typedef struct ex_out {
    const csdk_host_t *host;
    csdk_call_t *call;
    uint64_t max;     /* cap per stream in bytes; 0 = no cap */
    uint64_t used[3]; /* bytes written per CSDK_STREAM_* */
    uint32_t flags;   /* CSDK_RESULT_* to report */
} ex_out_t;

/* Returns 0, or -1 when the host asked us to stop. */
static int ex_out_write(ex_out_t *o, int32_t stream, const void *data,
                        size_t len)
{
    if (o->max != 0) {
        uint64_t room =
            o->used[stream] >= o->max ? 0 : o->max - o->used[stream];

        if (len > room) {
            len = (size_t)room;
            o->flags |= CSDK_RESULT_TRUNCATED;
        }
    }
    if (len == 0)
        return 0;
    o->used[stream] += len;
    return o->host->write(o->call, stream, data, len) != 0 ? -1 : 0;
}

/* Write NUL-terminated strings, up to a NULL. */
EX_SENTINEL static int ex_out_strs(ex_out_t *o, int32_t stream, ...)
{
    va_list ap;
    const char *s;
    int rc = 0;

    va_start(ap, stream);
    while (rc == 0 && (s = va_arg(ap, const char *)) != NULL)
        rc = ex_out_write(o, stream, s, strlen(s));
    va_end(ap);
    return rc;
}

static csdk_status_t ex_stopped(const ex_state_t *st, csdk_call_t *call)
{
    return st->host->error(call, CSDK_E_CANCELLED,
                           "the caller stopped the output");
}

/* Report the fields every run_command/run_code result has. */
static csdk_status_t ex_report_result(ex_state_t *st, csdk_call_t *call,
                                      int exit_code, uint64_t start_ms,
                                      uint32_t flags)
{
    const csdk_host_t *h = st->host;
    uint64_t now = h->monotonic_ms();
    int32_t failed = 0;

    failed |= h->set_int(call, CSDK_F_EXIT_CODE, exit_code);
    failed |= h->set_int(call, CSDK_F_DURATION_MS,
                         (int64_t)(now >= start_ms ? now - start_ms : 0));
    failed |= h->set_int(call, CSDK_F_RESULT_FLAGS, (int64_t)flags);
    return failed ? ex_nomem(st, call) : CSDK_OK;
}

/* CSDK_RUN_BACKGROUND: hand out a handle and return at once.  Nothing
 * runs in the background here, so there is no output to produce. */
static csdk_status_t ex_run_background(ex_state_t *st, csdk_call_t *call,
                                       ex_sandbox_t *sb, uint64_t start_ms)
{
    if (st->host->set_int(call, CSDK_F_PID, sb->next_pid) != 0)
        return ex_nomem(st, call);
    sb->next_pid++;
    st->dirty = 1;
    return ex_report_result(st, call, 0, start_ms, 0);
}

/* ------------------------------------------------------------------ */
/* run_command: a tiny built-in interpreter                            */
/* ------------------------------------------------------------------ */

/*
 * Nothing is executed: a command line is one of the built-ins echo [-n],
 * cat [FILE...], true, false, exit [N], pwd, env and sleep SECONDS, and
 * anything else is "not found" (exit 127), with the messages and exit
 * codes a POSIX sh would give.  A real provider replaces this section
 * with its backend's exec call and keeps the shape of ex_run_command.
 */
typedef struct ex_run {
    ex_state_t *st;
    ex_sandbox_t *sb;
    csdk_call_t *call;
    csdk_run_opts_t opts; /* the caller's options, normalised */
    char *cwd;            /* normalised working directory */
    ex_out_t out;
    int exit_code;
} ex_run_t;

/* A built-in command: sets r->exit_code; returns CSDK_OK, or the status
 * that ends the call (CSDK_E_CANCELLED, CSDK_E_NOMEM). */
typedef csdk_status_t ex_cmd_fn(ex_run_t *r, size_t argc,
                                const char *const *argv);

static ex_cmd_fn ex_cmd_echo, ex_cmd_cat, ex_cmd_true, ex_cmd_false,
    ex_cmd_exit, ex_cmd_pwd, ex_cmd_env, ex_cmd_sleep;

static const struct {
    const char *name;
    ex_cmd_fn *fn;
} ex_commands[] = {
    {"echo", ex_cmd_echo}, {"cat", ex_cmd_cat},   {"true", ex_cmd_true},
    {"false", ex_cmd_false}, {"exit", ex_cmd_exit}, {"pwd", ex_cmd_pwd},
    {"env", ex_cmd_env},   {"sleep", ex_cmd_sleep},
};

static csdk_status_t ex_cmd_echo(ex_run_t *r, size_t argc,
                                 const char *const *argv)
{
    size_t i = 1;
    int newline = 1;

    if (argc > 1 && strcmp(argv[1], "-n") == 0) {
        newline = 0;
        i = 2;
    }
    for (size_t first = i; i < argc; i++)
        if ((i > first && ex_out_strs(&r->out, CSDK_STREAM_STDOUT, " ",
                                      (const char *)NULL) != 0) ||
            ex_out_strs(&r->out, CSDK_STREAM_STDOUT, argv[i],
                        (const char *)NULL) != 0)
            return ex_stopped(r->st, r->call);
    if (newline &&
        ex_out_strs(&r->out, CSDK_STREAM_STDOUT, "\n", (const char *)NULL))
        return ex_stopped(r->st, r->call);
    r->exit_code = 0;
    return CSDK_OK;
}

/* cat: standard input without arguments, else each file in turn; a file
 * that cannot be read is reported and the others still print (as cat). */
static csdk_status_t ex_cmd_cat(ex_run_t *r, size_t argc,
                                const char *const *argv)
{
    r->exit_code = 0;
    if (argc == 1) {
        if (ex_out_write(&r->out, CSDK_STREAM_STDOUT, r->opts.stdin_data,
                         r->opts.stdin_len) != 0)
            return ex_stopped(r->st, r->call);
        return CSDK_OK;
    }
    for (size_t i = 1; i < argc; i++) {
        char *path = NULL;
        const ex_file_t *file = NULL;
        const char *problem = "No such file or directory";
        int rc = argv[i][0] == '\0' ? EX_PATH_DOTDOT
                                    : ex_path_norm(r->cwd, argv[i], &path);

        if (rc == EX_PATH_NOMEM)
            return ex_nomem(r->st, r->call);
        if (rc == EX_PATH_OK) {
            file = ex_file_find(r->sb, path);
            if (file == NULL && ex_is_dir(r->sb, path))
                problem = "Is a directory";
            free(path);
        }
        if (file != NULL) {
            if (ex_out_write(&r->out, CSDK_STREAM_STDOUT, file->data,
                             file->len) != 0)
                return ex_stopped(r->st, r->call);
        } else {
            r->exit_code = 1;
            if (ex_out_strs(&r->out, CSDK_STREAM_STDERR, "cat: ", argv[i],
                            ": ", problem, "\n", (const char *)NULL) != 0)
                return ex_stopped(r->st, r->call);
        }
    }
    return CSDK_OK;
}

static csdk_status_t ex_cmd_true(ex_run_t *r, size_t argc,
                                 const char *const *argv)
{
    (void)argc;
    (void)argv;
    r->exit_code = 0;
    return CSDK_OK;
}

static csdk_status_t ex_cmd_false(ex_run_t *r, size_t argc,
                                  const char *const *argv)
{
    (void)argc;
    (void)argv;
    r->exit_code = 1;
    return CSDK_OK;
}

static csdk_status_t ex_cmd_exit(ex_run_t *r, size_t argc,
                                 const char *const *argv)
{
    uint64_t n = 0;

    if (argc > 1 && ex_parse_u64(argv[1], &n) != 0) {
        r->exit_code = 2;
        if (ex_out_strs(&r->out, CSDK_STREAM_STDERR, "sh: 1: exit: Illegal "
                        "number: ", argv[1], "\n", (const char *)NULL) != 0)
            return ex_stopped(r->st, r->call);
        return CSDK_OK;
    }
    r->exit_code = (int)(n % 256);
    return CSDK_OK;
}

static csdk_status_t ex_cmd_pwd(ex_run_t *r, size_t argc,
                                const char *const *argv)
{
    (void)argc;
    (void)argv;
    r->exit_code = 0;
    if (ex_out_strs(&r->out, CSDK_STREAM_STDOUT, r->cwd, "\n",
                    (const char *)NULL) != 0)
        return ex_stopped(r->st, r->call);
    return CSDK_OK;
}

/* env: the sandbox's environment, then the command's own additions. */
static csdk_status_t ex_cmd_env(ex_run_t *r, size_t argc,
                                const char *const *argv)
{
    (void)argc;
    (void)argv;
    r->exit_code = 0;
    for (size_t i = 0; i < r->sb->n_env; i++)
        if (ex_out_strs(&r->out, CSDK_STREAM_STDOUT, r->sb->env[i].key, "=",
                        r->sb->env[i].value, "\n", (const char *)NULL) != 0)
            return ex_stopped(r->st, r->call);
    for (size_t i = 0; i < r->opts.n_env; i++) {
        const csdk_kv_t *kv = &r->opts.env[i];

        if (kv->key != NULL &&
            ex_out_strs(&r->out, CSDK_STREAM_STDOUT, kv->key, "=",
                        kv->value ? kv->value : "", "\n",
                        (const char *)NULL) != 0)
            return ex_stopped(r->st, r->call);
    }
    return CSDK_OK;
}

/* Seconds as "N" or "N.FFF" into milliseconds (parsed by hand: the host
 * may have set a locale in which strtod wants a decimal comma). */
static int ex_parse_seconds(const char *s, uint64_t *ms)
{
    uint64_t whole = 0, frac = 0, scale = 100;
    int digits = 0;

    for (; *s >= '0' && *s <= '9'; s++, digits++)
        if (whole < UINT64_MAX / 10000)
            whole = whole * 10 + (uint64_t)(*s - '0');
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++, digits++, scale /= 10)
            frac += (uint64_t)(*s - '0') * scale;
    if (*s != '\0' || digits == 0)
        return -1;
    *ms = whole * 1000 + frac;
    return 0;
}

/* Sleep `ms` in small steps, checking host->cancelled() between them, so
 * a caller who gives up (or a call deadline that passes) is noticed within
 * EX_SLEEP_STEP_MS.  The real clock, not the host's (which tests may
 * freeze).  Returns 0, or -1 once cancelled. */
static uint64_t ex_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int ex_sleep_ms(ex_state_t *st, csdk_call_t *call, uint64_t ms)
{
    uint64_t start = ex_clock_ms();

    for (;;) {
        uint64_t elapsed = ex_clock_ms() - start, step;
        struct timespec ts;

        if (st->host->cancelled(call))
            return -1;
        if (elapsed >= ms)
            return 0;
        step = ms - elapsed < EX_SLEEP_STEP_MS ? ms - elapsed
                                               : EX_SLEEP_STEP_MS;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)(step * 1000000);
        nanosleep(&ts, NULL);
    }
}

/* sleep: with a command timeout shorter than the sleep, sleep until the
 * timeout and report it as a shell's `timeout` would: exit code 124 and
 * CSDK_RESULT_TIMED_OUT (a result, not an error). */
static csdk_status_t ex_cmd_sleep(ex_run_t *r, size_t argc,
                                  const char *const *argv)
{
    uint64_t ms = 0;
    int timed_out;

    if (argc < 2) {
        r->exit_code = 1;
        if (ex_out_strs(&r->out, CSDK_STREAM_STDERR,
                        "sleep: missing operand\n", (const char *)NULL) != 0)
            return ex_stopped(r->st, r->call);
        return CSDK_OK;
    }
    for (size_t i = 1; i < argc; i++) { /* several operands add up */
        uint64_t one;

        if (ex_parse_seconds(argv[i], &one) != 0) {
            r->exit_code = 1;
            if (ex_out_strs(&r->out, CSDK_STREAM_STDERR,
                            "sleep: invalid time interval '", argv[i], "'\n",
                            (const char *)NULL) != 0)
                return ex_stopped(r->st, r->call);
            return CSDK_OK;
        }
        ms = ms + one < ms ? UINT64_MAX : ms + one;
    }
    timed_out = r->opts.timeout_ms != 0 && r->opts.timeout_ms < ms;
    if (timed_out)
        ms = r->opts.timeout_ms;
    if (ex_sleep_ms(r->st, r->call, ms) != 0)
        return r->st->host->error(r->call, CSDK_E_CANCELLED,
                                  "cancelled while sleeping");
    if (timed_out) {
        r->out.flags |= CSDK_RESULT_TIMED_OUT;
        r->exit_code = 124;
    } else {
        r->exit_code = 0;
    }
    return CSDK_OK;
}

#define EX_SH_OK 0
#define EX_SH_UNTERMINATED 1
#define EX_SH_OPERATOR 2
#define EX_SH_NOMEM 3

/*
 * Split a shell string into words: blanks separate words, '...' and
 * "..." quote (no escapes, no expansion: `$HOME` stays as written).  Only
 * one simple command is understood, so an unquoted ; | & < > or newline
 * is refused.  On EX_SH_OK, *words (NULL-terminated) and *buf are new
 * allocations the caller frees.
 */
static int ex_shell_split(const char *s, char **buf, const char ***words,
                          size_t *n_words)
{
    size_t len = strlen(s);
    char *b = malloc(len + 1);
    char quote = 0;
    const char **w = malloc((len / 2 + 2) * sizeof *w);
    size_t o = 0, n = 0;
    int in_word = 0;

    *buf = NULL;
    *words = NULL;
    if (b == NULL || w == NULL) {
        free(b);
        free(w);
        return EX_SH_NOMEM;
    }
    while (len > 0 && strchr(" \t\n", s[len - 1]) != NULL)
        len--; /* trailing blanks, and the newline a script ends with */
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (quote != 0) {
            if (c == quote)
                quote = 0;
            else
                b[o++] = c;
            continue;
        }
        if (c == ' ' || c == '\t') {
            if (in_word) {
                b[o++] = '\0';
                in_word = 0;
            }
            continue;
        }
        if (strchr(";|&<>\n", c) != NULL) {
            free(b);
            free(w);
            return EX_SH_OPERATOR;
        }
        if (!in_word) {
            w[n++] = b + o;
            in_word = 1;
        }
        if (c == '\'' || c == '"')
            quote = c;
        else
            b[o++] = c;
    }
    if (quote != 0) {
        free(b);
        free(w);
        return EX_SH_UNTERMINATED;
    }
    if (in_word)
        b[o++] = '\0';
    w[n] = NULL;
    *buf = b;
    *words = w;
    *n_words = n;
    return EX_SH_OK;
}

/* Non-zero for argv {"sh" | "/bin/sh" | "bash" | "/bin/bash", "-c",
 * STRING, ...}: what `csdk exec ID -- sh -c '...'` sends. */
static int ex_is_sh_c(const char *const *argv)
{
    static const char *const shells[] = {"sh", "/bin/sh", "bash",
                                         "/bin/bash"};

    if (argv[0] == NULL || argv[1] == NULL || argv[2] == NULL ||
        strcmp(argv[1], "-c") != 0)
        return 0;
    for (size_t i = 0; i < sizeof shells / sizeof shells[0]; i++)
        if (strcmp(argv[0], shells[i]) == 0)
            return 1;
    return 0;
}

/* Run one command (argv[0] and its arguments) with the built-ins. */
static csdk_status_t ex_exec(ex_run_t *r, size_t argc,
                             const char *const *argv)
{
    if (argc == 0) { /* an empty command line, as `sh -c ''` */
        r->exit_code = 0;
        return CSDK_OK;
    }
    for (size_t i = 0; i < sizeof ex_commands / sizeof ex_commands[0]; i++)
        if (strcmp(argv[0], ex_commands[i].name) == 0)
            return ex_commands[i].fn(r, argc, argv);
    r->exit_code = 127;
    if (ex_out_strs(&r->out, CSDK_STREAM_STDERR, "sh: 1: ", argv[0],
                    ": not found\n", (const char *)NULL) != 0)
        return ex_stopped(r->st, r->call);
    return CSDK_OK;
}

/*
 * run_command.  No process is started: the command line is interpreted by
 * the built-ins above, so this shows only the ABI side: options read via
 * CSDK_HAS_FIELD, output streamed through host->write(), exit code,
 * duration and result flags reported as fields.  A command that exits
 * non-zero is CSDK_OK; only a failure of the operation is a status.
 */
static csdk_status_t ex_run_command(void *state, csdk_call_t *call,
                                   const char *id,
                                   const csdk_run_opts_t *opts)
{
    ex_state_t *st = state;
    uint64_t start_ms = st->host->monotonic_ms();
    ex_run_t r;
    char *buf = NULL;
    const char **words = NULL;
    size_t argc = 0;
    csdk_status_t rc;
    int cwd_rc;

    memset(&r, 0, sizeof r);
    rc = ex_lookup(st, call, id, &r.sb);
    if (rc != CSDK_OK)
        return rc;
    ex_run_opts_read(opts, &r.opts);
    if (r.opts.argv == NULL && r.opts.shell == NULL)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no command given: set argv or shell");
    if (r.opts.argv != NULL && r.opts.shell != NULL)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "both argv and shell are set; give one");
    if (r.opts.flags & CSDK_RUN_BACKGROUND)
        return ex_run_background(st, call, r.sb, start_ms);

    cwd_rc = ex_path_norm(EX_WORKDIR,
                          r.opts.cwd != NULL && *r.opts.cwd != '\0'
                              ? r.opts.cwd
                              : EX_WORKDIR,
                          &r.cwd);
    if (cwd_rc == EX_PATH_NOMEM)
        return ex_nomem(st, call);
    if (cwd_rc == EX_PATH_DOTDOT)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "cwd '%s' has a '..' component; the example "
                               "provider takes only paths without '..'",
                               r.opts.cwd);
    r.st = st;
    r.call = call;
    r.out.host = st->host;
    r.out.call = call;
    r.out.max = r.opts.max_output;

    if (r.opts.argv != NULL && !ex_is_sh_c(r.opts.argv)) {
        while (r.opts.argv[argc] != NULL)
            argc++;
        rc = ex_exec(&r, argc, r.opts.argv);
    } else {
        /* A shell string, or argv {"sh", "-c", STRING, ...}: the same. */
        const char *line = r.opts.argv != NULL ? r.opts.argv[2] : r.opts.shell;

        switch (ex_shell_split(line, &buf, &words, &argc)) {
        case EX_SH_OK:
            rc = ex_exec(&r, argc, words);
            break;
        case EX_SH_UNTERMINATED: /* what sh says, with sh's status */
            r.exit_code = 2;
            rc = ex_out_strs(&r.out, CSDK_STREAM_STDERR,
                             "sh: 1: Syntax error: Unterminated quoted "
                             "string\n", (const char *)NULL) != 0
                     ? ex_stopped(st, call)
                     : CSDK_OK;
            break;
        case EX_SH_OPERATOR:
            r.exit_code = 2;
            rc = ex_out_strs(&r.out, CSDK_STREAM_STDERR,
                             "sh: 1: the example provider runs one simple "
                             "command (no ; | & < > or newlines)\n",
                             (const char *)NULL) != 0
                     ? ex_stopped(st, call)
                     : CSDK_OK;
            break;
        default:
            rc = ex_nomem(st, call);
            break;
        }
    }
    if (rc == CSDK_OK)
        rc = ex_report_result(st, call, r.exit_code, start_ms, r.out.flags);
    free(buf);
    free(words);
    free(r.cwd);
    return rc;
}

/* ------------------------------------------------------------------ */
/* run_code: a toy python / node                                       */
/* ------------------------------------------------------------------ */

#define EX_LANG_PYTHON 1
#define EX_LANG_NODE 2

#define EX_SCAN_OK 0
#define EX_SCAN_QUOTE 1 /* a string is not closed */
#define EX_SCAN_OPEN 2  /* a '(' is not closed */
#define EX_SCAN_CLOSE 3 /* a ')' closes nothing */

/* Check one line's quotes and parentheses and find where a trailing
 * comment starts (*code_len: the length of the line without it). */
static int ex_code_scan(int lang, const char *p, size_t len,
                        size_t *code_len)
{
    int depth = 0;
    char quote = 0;

    *code_len = len;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];

        if (quote != 0) {
            if (c == '\\')
                i++;
            else if (c == quote)
                quote = 0;
            continue;
        }
        if (c == '"' || c == '\'' || (c == '`' && lang == EX_LANG_NODE)) {
            quote = c;
        } else if ((lang == EX_LANG_PYTHON && c == '#') ||
                   (lang == EX_LANG_NODE && c == '/' && i + 1 < len &&
                    p[i + 1] == '/')) {
            *code_len = i;
            break;
        } else if (c == '(') {
            depth++;
        } else if (c == ')' && depth-- == 0) {
            return EX_SCAN_CLOSE;
        }
    }
    if (quote != 0)
        return EX_SCAN_QUOTE;
    return depth > 0 ? EX_SCAN_OPEN : EX_SCAN_OK;
}

static int ex_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Skip the literal `word` at *p (within end); returns 1 if it was there. */
static int ex_skip_word(const char **p, const char *end, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(end - *p) < n || memcmp(*p, word, n) != 0)
        return 0;
    *p += n;
    return 1;
}

static void ex_skip_blanks(const char **p, const char *end)
{
    while (*p < end && ex_is_blank(**p))
        (*p)++;
}

/*
 * Match `( "literal" )` or `( )` at *p, up to `end` (a trailing ';' is
 * allowed).  On a match returns 1 with the decoded literal in a new
 * buffer *text of *text_len bytes (NULL for no argument); 0 if the
 * statement has another shape; -1 when out of memory.
 */
static int ex_match_call_args(const char *p, const char *end, char **text,
                              size_t *text_len)
{
    char quote;
    char *t;
    size_t n = 0;

    *text = NULL;
    *text_len = 0;
    ex_skip_blanks(&p, end);
    if (p == end || *p++ != '(')
        return 0;
    ex_skip_blanks(&p, end);
    if (p < end && *p == ')') {
        p++;
    } else {
        if (p == end || (*p != '"' && *p != '\''))
            return 0;
        quote = *p++;
        t = malloc((size_t)(end - p) + 1);
        if (t == NULL)
            return -1;
        for (; p < end && *p != quote; p++) {
            char c = *p;

            if (c == '\\' && p + 1 < end) {
                c = *++p;
                if (c == 'n')
                    c = '\n';
                else if (c == 't')
                    c = '\t';
                else if (c == 'r')
                    c = '\r';
                else if (c != '\\' && c != '\'' && c != '"')
                    t[n++] = '\\'; /* unknown escapes stay as written */
            }
            t[n++] = c;
        }
        if (p == end) {
            free(t);
            return 0;
        }
        p++;
        ex_skip_blanks(&p, end);
        if (p == end || *p++ != ')') {
            free(t);
            return 0;
        }
        *text = t;
        *text_len = n;
    }
    ex_skip_blanks(&p, end);
    if (p < end && *p == ';')
        p++;
    ex_skip_blanks(&p, end);
    if (p != end) {
        free(*text);
        *text = NULL;
        return 0;
    }
    return 1;
}

/* Non-zero if only blanks and at most one ';' lie between p and end. */
static int ex_only_blanks(const char *p, const char *end)
{
    ex_skip_blanks(&p, end);
    if (p < end && *p == ';')
        p++;
    ex_skip_blanks(&p, end);
    return p == end;
}

/* An identifier such as Exception, ValueError, Error. */
static size_t ex_ident_len(const char *p, const char *end)
{
    size_t n = 0;

    while (p + n < end &&
           ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
            (p[n] >= '0' && p[n] <= '9') || p[n] == '_' || p[n] == '.'))
        n++;
    return n;
}

/* Write the message of a syntax error the way the language's interpreter
 * words it. */
static int ex_code_syntax_error(ex_out_t *o, int lang, size_t lineno,
                                const char *line, size_t len, int what)
{
    char num[32];
    const char *msg;

    snprintf(num, sizeof num, "%zu", lineno);
    if (lang == EX_LANG_NODE)
        return ex_out_strs(o, CSDK_STREAM_STDERR, "[stdin]:", num, "\n",
                           (const char *)NULL) ||
               ex_out_write(o, CSDK_STREAM_STDERR, line, len) ||
               ex_out_strs(o, CSDK_STREAM_STDERR, "\n\nSyntaxError: "
                           "Invalid or unexpected token\n",
                           (const char *)NULL);
    msg = what == EX_SCAN_QUOTE  ? "unterminated string literal"
          : what == EX_SCAN_OPEN ? "'(' was never closed"
                                 : "unmatched ')'";
    return ex_out_strs(o, CSDK_STREAM_STDERR, "  File \"<stdin>\", line ",
                       num, "\n    ", (const char *)NULL) ||
           ex_out_write(o, CSDK_STREAM_STDERR, line, len) ||
           ex_out_strs(o, CSDK_STREAM_STDERR, "\nSyntaxError: ", msg,
                       (const char *)NULL) ||
           (what == EX_SCAN_QUOTE &&
            ex_out_strs(o, CSDK_STREAM_STDERR, " (detected at line ", num,
                        ")", (const char *)NULL)) ||
           ex_out_strs(o, CSDK_STREAM_STDERR, "\n", (const char *)NULL);
}

/* Write an uncaught exception like the interpreter would. */
static int ex_code_raise(ex_out_t *o, int lang, size_t lineno,
                         const char *line, size_t len, const char *type,
                         size_t type_len, const char *text, size_t text_len)
{
    char num[32];

    snprintf(num, sizeof num, "%zu", lineno);
    if (lang == EX_LANG_NODE) {
        if (ex_out_strs(o, CSDK_STREAM_STDERR, "[stdin]:", num, "\n",
                        (const char *)NULL) ||
            ex_out_write(o, CSDK_STREAM_STDERR, line, len) ||
            ex_out_strs(o, CSDK_STREAM_STDERR, "\n^\n\n", (const char *)NULL))
            return -1;
    } else if (ex_out_strs(o, CSDK_STREAM_STDERR,
                           "Traceback (most recent call last):\n  File "
                           "\"<stdin>\", line ", num, ", in <module>\n",
                           (const char *)NULL)) {
        return -1;
    }
    if (ex_out_write(o, CSDK_STREAM_STDERR, type, type_len))
        return -1;
    if (text_len > 0 &&
        (ex_out_strs(o, CSDK_STREAM_STDERR, ": ", (const char *)NULL) ||
         ex_out_write(o, CSDK_STREAM_STDERR, text, text_len)))
        return -1;
    return ex_out_strs(o, CSDK_STREAM_STDERR, "\n", (const char *)NULL);
}

/* Find line `i`'s bounds in the code starting at *pos; advances *pos. */
static int ex_next_line(const char *code, size_t len, size_t *pos,
                        const char **line, size_t *line_len)
{
    const char *nl;

    if (*pos >= len)
        return 0;
    *line = code + *pos;
    nl = memchr(*line, '\n', len - *pos);
    *line_len = nl ? (size_t)(nl - *line) : len - *pos;
    *pos += *line_len + 1;
    if (*line_len > 0 && (*line)[*line_len - 1] == '\r')
        (*line_len)--;
    return 1;
}

/*
 * run_code.  `code` is counted bytes (code_len), not a C string: it may
 * hold NULs and need not end in one.  Like a real interpreter, the whole
 * program is checked before any line runs, so a syntax error on line 3
 * prints nothing from line 1.  A syntax error is a status (CSDK_E_SYNTAX,
 * with the message on stderr and CSDK_RESULT_SYNTAX set); an exception at
 * run time is a result with exit code 1.
 */
static csdk_status_t ex_run_code(void *state, csdk_call_t *call,
                                 const char *id, const char *code,
                                 size_t code_len, const char *language,
                                 const csdk_run_opts_t *opts)
{
    ex_state_t *st = state;
    uint64_t start_ms = st->host->monotonic_ms();
    ex_sandbox_t *sb;
    csdk_run_opts_t o;
    ex_out_t out;
    const char *lang_name, *line;
    size_t pos, line_len, lineno;
    int lang, exit_code = 0;
    csdk_status_t rc = ex_lookup(st, call, id, &sb);

    if (rc != CSDK_OK)
        return rc;
    ex_run_opts_read(opts, &o);
    lang_name = language != NULL && *language != '\0' ? language : sb->runtime;
    if (strcmp(lang_name, "python") == 0 || strcmp(lang_name, "python3") == 0)
        lang = EX_LANG_PYTHON;
    else if (strcmp(lang_name, "node") == 0 ||
             strcmp(lang_name, "javascript") == 0)
        lang = EX_LANG_NODE;
    else
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "the example provider cannot run '%s' code; "
                               "languages: python, python3, node, javascript",
                               lang_name);
    if (code == NULL)
        code_len = 0;
    /* Background code gets a handle and runs nowhere, as run_command. */
    if (o.flags & CSDK_RUN_BACKGROUND)
        return ex_run_background(st, call, sb, start_ms);

    memset(&out, 0, sizeof out);
    out.host = st->host;
    out.call = call;
    out.max = o.max_output;

    /* Pass 1: does every line parse? */
    for (pos = 0, lineno = 1; ex_next_line(code, code_len, &pos, &line,
                                           &line_len);
         lineno++) {
        size_t code_part;
        int what = ex_code_scan(lang, line, line_len, &code_part);

        if (what == EX_SCAN_OK)
            continue;
        if (ex_code_syntax_error(&out, lang, lineno, line, line_len, what))
            return ex_stopped(st, call);
        rc = ex_report_result(st, call, 1, start_ms,
                              out.flags | CSDK_RESULT_SYNTAX);
        if (rc != CSDK_OK)
            return rc;
        return st->host->error(call, CSDK_E_SYNTAX,
                               "%s code does not parse (line %zu); see its "
                               "standard error",
                               lang == EX_LANG_PYTHON ? "python" : "node",
                               lineno);
    }

    /* Pass 2: run it. */
    for (pos = 0, lineno = 1; ex_next_line(code, code_len, &pos, &line,
                                           &line_len);
         lineno++) {
        const char *p = line, *end;
        size_t code_part, type_len = 0;
        char *text = NULL;
        size_t text_len = 0;
        int m = 0, raise = 0;
        const char *type = NULL;

        if (st->host->cancelled(call))
            return st->host->error(call, CSDK_E_CANCELLED,
                                   "cancelled at line %zu", lineno);
        (void)ex_code_scan(lang, line, line_len, &code_part);
        end = line + code_part;
        ex_skip_blanks(&p, end);
        while (end > p && ex_is_blank(end[-1]))
            end--;
        if (p == end)
            continue; /* blank line or comment */

        if (lang == EX_LANG_PYTHON && ex_skip_word(&p, end, "print")) {
            m = ex_match_call_args(p, end, &text, &text_len);
        } else if (lang == EX_LANG_NODE &&
                   ex_skip_word(&p, end, "console.log")) {
            m = ex_match_call_args(p, end, &text, &text_len);
        } else if (lang == EX_LANG_PYTHON ? ex_skip_word(&p, end, "raise ")
                                          : ex_skip_word(&p, end, "throw ")) {
            ex_skip_blanks(&p, end);
            if (lang == EX_LANG_NODE && ex_skip_word(&p, end, "new "))
                ex_skip_blanks(&p, end);
            type = p;
            type_len = ex_ident_len(p, end);
            raise = type_len > 0;
            if (raise)
                m = ex_match_call_args(p + type_len, end, &text, &text_len);
            if (raise && m == 0 && ex_only_blanks(p + type_len, end))
                m = 1; /* `raise ValueError`: no message */
        }
        if (m < 0)
            return ex_nomem(st, call);
        if (m == 0)
            continue; /* any other statement: nothing to do */
        if (raise) {
            int stop = ex_code_raise(&out, lang, lineno, line, line_len, type,
                                     type_len, text, text_len);

            free(text);
            if (stop)
                return ex_stopped(st, call);
            exit_code = 1;
            break;
        }
        if ((text_len > 0 &&
             ex_out_write(&out, CSDK_STREAM_STDOUT, text, text_len) != 0) ||
            ex_out_write(&out, CSDK_STREAM_STDOUT, "\n", 1) != 0) {
            free(text);
            return ex_stopped(st, call);
        }
        free(text);
    }
    return ex_report_result(st, call, exit_code, start_ms, out.flags);
}

/* ------------------------------------------------------------------ */
/* url                                                                 */
/* ------------------------------------------------------------------ */

/* A required slot may still answer CSDK_E_NOT_SUPPORTED, with a reason
 * saying why; the unknown-sandbox check comes first so a wrong id is
 * reported as such. */
static csdk_status_t ex_url(void *state, csdk_call_t *call, const char *id,
                            uint32_t port, const char *protocol)
{
    ex_state_t *st = state;
    ex_sandbox_t *sb;
    csdk_status_t rc = ex_lookup(st, call, id, &sb);

    (void)protocol;
    if (rc != CSDK_OK)
        return rc;
    return st->host->error(call, CSDK_E_NOT_SUPPORTED,
                           "the example provider's sandboxes have no "
                           "network; port %" PRIu32 " cannot be reached",
                           port);
}

/* ------------------------------------------------------------------ */
/* Filesystem                                                          */
/* ------------------------------------------------------------------ */

/*
 * The filesystem slots are optional one by one.  This provider implements
 * read_file, write_file, exists and remove, and leaves mkdir and readdir
 * NULL on purpose: the host answers those two with CSDK_E_NOT_SUPPORTED
 * and its standard message, and the provider's capability bits show
 * exactly which methods are real.
 */

/* read_file: contents go to CSDK_STREAM_DATA, in chunks, as a provider
 * streaming from a backend would. */
static csdk_status_t ex_read_file(void *state, csdk_call_t *call,
                                  const char *id, const char *path)
{
    ex_state_t *st = state;
    ex_sandbox_t *sb;
    const ex_file_t *file;
    char *norm = NULL;
    int is_dir;
    csdk_status_t rc = ex_lookup(st, call, id, &sb);

    if (rc == CSDK_OK)
        rc = ex_path_arg(st, call, path, &norm);
    if (rc != CSDK_OK)
        return rc;
    file = ex_file_find(sb, norm);
    is_dir = file == NULL && ex_is_dir(sb, norm);
    free(norm);
    if (is_dir)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "'%s' in sandbox '%s' is a directory", path,
                               id);
    if (file == NULL)
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "no file '%s' in sandbox '%s'", path, id);
    for (size_t off = 0; off < file->len; off += EX_READ_CHUNK) {
        size_t n = file->len - off < EX_READ_CHUNK ? file->len - off
                                                   : EX_READ_CHUNK;

        if (st->host->write(call, CSDK_STREAM_DATA, file->data + off, n) != 0)
            return ex_stopped(st, call);
    }
    return CSDK_OK;
}

/* write_file: `data` is borrowed, counted bytes (NULL when len is 0), so
 * the contents are copied.  Parent directories come into being with the
 * file. */
static csdk_status_t ex_write_file(void *state, csdk_call_t *call,
                                   const char *id, const char *path,
                                   const void *data, size_t len)
{
    ex_state_t *st = state;
    ex_sandbox_t *sb;
    ex_file_t *file;
    unsigned char *copy;
    char *norm = NULL;
    csdk_status_t rc = ex_lookup(st, call, id, &sb);

    if (rc == CSDK_OK)
        rc = ex_path_arg(st, call, path, &norm);
    if (rc != CSDK_OK)
        return rc;
    if (data == NULL && len > 0) {
        free(norm);
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no data given for %zu bytes", len);
    }
    file = ex_file_find(sb, norm);
    if (file == NULL && ex_is_dir(sb, norm)) {
        free(norm);
        return st->host->error(call, CSDK_E_CONFLICT,
                               "'%s' in sandbox '%s' is a directory", path,
                               id);
    }
    for (size_t i = 0; i < sb->n_files; i++) {
        if (ex_path_under(norm, sb->files[i].path)) {
            rc = st->host->error(call, CSDK_E_CONFLICT,
                                 "cannot write '%s' in sandbox '%s': '%s' "
                                 "is a file, not a directory", path, id,
                                 sb->files[i].path);
            free(norm);
            return rc;
        }
    }
    copy = malloc(len > 0 ? len : 1);
    if (copy == NULL) {
        free(norm);
        return ex_nomem(st, call);
    }
    if (len > 0)
        memcpy(copy, data, len);
    if (file != NULL) {
        free(norm);
        free(file->data);
    } else {
        ex_file_t *grown =
            realloc(sb->files, (sb->n_files + 1) * sizeof *grown);

        if (grown == NULL) {
            free(norm);
            free(copy);
            return ex_nomem(st, call);
        }
        sb->files = grown;
        file = &sb->files[sb->n_files++];
        file->path = norm;
    }
    file->data = copy;
    file->len = len;
    st->dirty = 1;
    return CSDK_OK;
}

static csdk_status_t ex_exists(void *state, csdk_call_t *call,
                               const char *id, const char *path)
{
    ex_state_t *st = state;
    ex_sandbox_t *sb;
    char *norm = NULL;
    int found;
    csdk_status_t rc = ex_lookup(st, call, id, &sb);

    if (rc == CSDK_OK)
        rc = ex_path_arg(st, call, path, &norm);
    if (rc != CSDK_OK)
        return rc;
    found = ex_file_find(sb, norm) != NULL || ex_is_dir(sb, norm);
    free(norm);
    if (st->host->set_int(call, CSDK_F_EXISTS, found) != 0)
        return ex_nomem(st, call);
    return CSDK_OK;
}

/* remove: a file, or a directory and everything under it.  Like destroy,
 * removing what is not there succeeds. */
static csdk_status_t ex_remove(void *state, csdk_call_t *call,
                               const char *id, const char *path)
{
    ex_state_t *st = state;
    ex_sandbox_t *sb;
    char *norm = NULL;
    size_t kept = 0;
    csdk_status_t rc = ex_lookup(st, call, id, &sb);

    if (rc == CSDK_OK)
        rc = ex_path_arg(st, call, path, &norm);
    if (rc != CSDK_OK)
        return rc;
    for (size_t i = 0; i < sb->n_files; i++) {
        ex_file_t *f = &sb->files[i];

        if (strcmp(f->path, norm) == 0 || ex_path_under(f->path, norm)) {
            free(f->path);
            free(f->data);
            st->dirty = 1;
        } else {
            sb->files[kept++] = *f;
        }
    }
    sb->n_files = kept;
    free(norm);
    return CSDK_OK;
}

/* ------------------------------------------------------------------ */
/* The provider table and the entry point                              */
/* ------------------------------------------------------------------ */

/*
 * The table the host reads.  Rules:
 *  - `static const`: it must stay valid (and unchanged) until the plugin
 *    is unloaded, and the host never writes to it (it works on a copy).
 *  - abi_version and struct_size come first and say which header this was
 *    built with; a host of a newer minor then knows which slots exist.
 *  - Designated initialisers: every slot not named is NULL, and NULL means
 *    "not implemented" -- the host fills in a NOT_SUPPORTED stub for each
 *    optional one and refuses the plugin if a required one is missing.
 *  - name: [a-z0-9_-], 1..32 characters.
 */
static const csdk_provider_def_t ex_def = {
    .abi_version = CSDK_ABI_VERSION,
    .struct_size = sizeof(csdk_provider_def_t),
    .name = "example",
    .version = "1.0.0",
    .description = "In-memory sandboxes with a built-in toy shell; the "
                   "reference provider",
    .flags = 0, /* not CSDK_PROVIDER_THREAD_SAFE: the host serialises */

    .init = ex_init,
    .fini = ex_fini,
    .create = ex_create,
    .get = ex_get,
    .list = ex_list,
    .destroy = ex_destroy,
    .run_command = ex_run_command,
    .run_code = ex_run_code,
    .info = ex_info,
    .url = ex_url,

    .read_file = ex_read_file,
    .write_file = ex_write_file,
    .mkdir = NULL,   /* on purpose: the host's stub answers NOT_SUPPORTED */
    .readdir = NULL, /* likewise */
    .exists = ex_exists,
    .remove = ex_remove,

    .find_or_create = ex_find_or_create,
    /* find, extend_timeout, templates and snapshots: not implemented */
};

/*
 * The one exported symbol.  Declared with the typedef from provider.h so
 * the signature is checked; CSDK_EXPORT makes it visible although the
 * plugin is built with -fvisibility=hidden.  It only returns the table:
 * no allocation, threads or I/O here (that is init's job).  A host of
 * another major version speaks a different ABI: return NULL and the host
 * refuses the plugin with a message saying so.
 */
CSDK_EXPORT csdk_provider_entry_fn csdk_provider_entry;

CSDK_EXPORT const csdk_provider_def_t *csdk_provider_entry(uint32_t host_abi)
{
    if (CSDK_ABI_VERSION_MAJOR(host_abi) != CSDK_ABI_MAJOR)
        return NULL;
    return &ex_def;
}
