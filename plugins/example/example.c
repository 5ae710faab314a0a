/*
 * example.c - the example provider: sandboxes that live in memory.
 *
 * This is the reference plugin for anyone writing a csdk provider.  It has
 * no backend: sandboxes live in memory (example_state.c, which can also
 * save them to a state_file), and commands and code are answered by a tiny
 * built-in interpreter (example_shell.c).  This file is all about the csdk
 * ABI: copy it, rename the ex_ prefix, and replace the calls into those two
 * files with calls to your backend.
 *
 * Build (the project's Makefile.am does the same through libtool):
 *
 *     cc -std=c11 -D_GNU_SOURCE -fPIC -shared -fvisibility=hidden \
 *        -I/usr/local/include -o example.so \
 *        example.c example_state.c example_shell.c
 *
 * and name it in csdk.ini:
 *
 *     [provider.example]
 *     plugin = example
 *     state_file = ~/.local/state/csdk/example.state   ; optional
 *
 * The ABI rules, each explained again where the code relies on it:
 *  1. One exported symbol, csdk_provider_entry(), returning a pointer to a
 *     `static const` table (end of file).  Nothing else is exported.
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
#include "example.h" /* <csdk/provider.h>, the only ABI header, and ours */

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define EX_READ_CHUNK 65536

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
/* What the slots share: look-ups, records, options                    */
/* ------------------------------------------------------------------ */

csdk_status_t ex_nomem(const ex_state_t *st, csdk_call_t *call)
{
    return st->host->error(call, CSDK_E_NOMEM, "out of memory");
}

ex_sandbox_t *ex_sandbox_find(const ex_state_t *st, const char *id)
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

/*
 * Read the caller's options into a full-size copy.  The caller may have
 * been compiled against an older header with a smaller struct:
 * csdk_opts_read copies only what the caller's struct_size covers, and the
 * fields it lacks stay zero, which every option treats as "default".
 * After this, the rest of the plugin reads the copy without any checks.
 */
static void ex_create_opts_read(const csdk_create_opts_t *in,
                                csdk_create_opts_t *out)
{
    csdk_opts_read(out, sizeof *out, in);
    /* A count without its array is no entries. */
    if (out->env == NULL)
        out->n_env = 0;
    if (out->metadata == NULL)
        out->n_metadata = 0;
    if (out->extra == NULL)
        out->n_extra = 0;
}

static void ex_run_opts_read(const csdk_run_opts_t *in, csdk_run_opts_t *out)
{
    csdk_opts_read(out, sizeof *out, in);
    if (out->env == NULL)
        out->n_env = 0;
    if (out->stdin_data == NULL)
        out->stdin_len = 0;
}

/* ------------------------------------------------------------------ */
/* Lifecycle: init and fini                                            */
/* ------------------------------------------------------------------ */

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
    if (st == NULL || (st->instance = strdup(instance_name)) == NULL) {
        free(st);
        return host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    st->host = host;
    st->inst = inst;
    st->next_id = 1;

    /* An empty state_file means the same as none: memory only. */
    if (state_file != NULL && *state_file != '\0') {
        rc = ex_state_open(st, call, state_file);
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
/* Sandboxes: create, get, info, url, list, destroy, find_or_create    */
/* ------------------------------------------------------------------ */

/*
 * Make a sandbox from the caller's create options, refusing what this
 * provider cannot do.  Shared by create and find_or_create;
 * `namespace_`/`name` are NULL for create.
 */
static csdk_status_t ex_sandbox_make(ex_state_t *st, csdk_call_t *call,
                                     const csdk_create_opts_t *opts,
                                     const char *namespace_, const char *name,
                                     ex_sandbox_t **out)
{
    csdk_create_opts_t o;
    ex_sandbox_t *sb;

    ex_create_opts_read(opts, &o);
    if (o.template_id != NULL && *o.template_id != '\0')
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "the example provider has no templates ('%s')",
                               o.template_id);
    /* Provider-specific create options would come here; this provider
     * has none, and an option that would be ignored is refused. */
    for (size_t i = 0; i < o.n_extra; i++)
        if (o.extra[i].key != NULL)
            return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                                   "the example provider takes no create "
                                   "options ('%s')", o.extra[i].key);
    if (st->n_sbs >= EX_MAX_SANDBOXES)
        return st->host->error(call, CSDK_E_QUOTA,
                               "provider '%s' already holds %d sandboxes, "
                               "the example provider's limit; destroy some "
                               "first", st->instance, EX_MAX_SANDBOXES);

    sb = ex_sandbox_new(st, &o, namespace_, name);
    if (sb == NULL)
        return ex_nomem(st, call);
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
    ex_sandbox_t *sb;
    csdk_status_t rc = ex_sandbox_make(st, call, opts, NULL, NULL, &sb);

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
    if (id != NULL && ex_sandbox_remove(st, id))
        st->dirty = 1;
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
    ex_sandbox_t *sb;
    int created = 0;

    if (namespace_ == NULL || *namespace_ == '\0' || name == NULL ||
        *name == '\0')
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "find_or_create needs a namespace and a name");
    sb = ex_sandbox_find_named(st, namespace_, name);
    if (sb == NULL) {
        csdk_status_t rc =
            ex_sandbox_make(st, call, opts, namespace_, name, &sb);

        if (rc != CSDK_OK)
            return rc;
        created = 1;
    }
    if (st->host->set_int(call, CSDK_F_CREATED, created) != 0)
        return ex_nomem(st, call);
    return ex_report(st, call, sb);
}

/* ------------------------------------------------------------------ */
/* Running: output, results, run_command and run_code                  */
/* ------------------------------------------------------------------ */

/*
 * Everything a command prints goes through host->write(), which either
 * buffers it or hands it to the caller's callback at once (that is how
 * csdk streams output: the plugin does nothing special).  The caller's
 * max_output caps each stream: past it, the rest is dropped and the result
 * gets CSDK_RESULT_TRUNCATED.  A non-zero return from write() means the
 * caller wants us to stop: we end the operation and the slot returns
 * CSDK_E_CANCELLED (ex_stopped).
 */
int ex_out_write(ex_out_t *o, int32_t stream, const void *data, size_t len)
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

csdk_status_t ex_stopped(const ex_state_t *st, csdk_call_t *call)
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

/* How run_command and run_code start: find the sandbox, read the options
 * (through CSDK_HAS_FIELD) and set up the capped output. */
static csdk_status_t ex_run_begin(ex_state_t *st, csdk_call_t *call,
                                  const char *id, const csdk_run_opts_t *opts,
                                  ex_run_t *r)
{
    csdk_status_t rc = ex_lookup(st, call, id, &r->sb);

    if (rc != CSDK_OK)
        return rc;
    ex_run_opts_read(opts, &r->opts);
    r->st = st;
    r->call = call;
    r->cwd = NULL;
    r->exit_code = 0;
    memset(&r->out, 0, sizeof r->out);
    r->out.host = st->host;
    r->out.call = call;
    r->out.max = r->opts.max_output;
    return CSDK_OK;
}

/*
 * run_command.  No process is started: ex_shell_run (example_shell.c)
 * interprets the command line where a real provider calls its backend's
 * exec.  What is left is the ABI side: options checked, output streamed
 * through host->write(), exit code, duration and result flags reported as
 * fields.  A command that exits non-zero is CSDK_OK; only a failure of the
 * operation is a status.
 */
static csdk_status_t ex_run_command(void *state, csdk_call_t *call,
                                   const char *id,
                                   const csdk_run_opts_t *opts)
{
    ex_state_t *st = state;
    uint64_t start_ms = st->host->monotonic_ms();
    ex_run_t r;
    csdk_status_t rc = ex_run_begin(st, call, id, opts, &r);

    if (rc != CSDK_OK)
        return rc;
    if (r.opts.argv == NULL && r.opts.shell == NULL)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "no command given: set argv or shell");
    if (r.opts.argv != NULL && r.opts.shell != NULL)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "both argv and shell are set; give one");
    if (r.opts.flags & CSDK_RUN_BACKGROUND)
        return ex_run_background(st, call, r.sb, start_ms);

    rc = ex_path_arg(st, call, "cwd",
                     r.opts.cwd != NULL && *r.opts.cwd != '\0' ? r.opts.cwd
                                                               : EX_WORKDIR,
                     &r.cwd);
    if (rc == CSDK_OK)
        rc = ex_shell_run(&r);
    if (rc == CSDK_OK)
        rc = ex_report_result(st, call, r.exit_code, start_ms, r.out.flags);
    free(r.cwd);
    return rc;
}

/*
 * run_code.  `code` is counted bytes (code_len), not a C string: it may
 * hold NULs and need not end in one.  Like a real interpreter, the whole
 * program is checked before any line runs.  A syntax error is a status
 * (CSDK_E_SYNTAX, with the message on stderr and CSDK_RESULT_SYNTAX set);
 * an exception at run time is a result with exit code 1.
 */
static csdk_status_t ex_run_code(void *state, csdk_call_t *call,
                                 const char *id, const char *code,
                                 size_t code_len, const char *language,
                                 const csdk_run_opts_t *opts)
{
    ex_state_t *st = state;
    uint64_t start_ms = st->host->monotonic_ms();
    ex_run_t r;
    const char *lang_name;
    size_t bad_line;
    int lang;
    csdk_status_t rc = ex_run_begin(st, call, id, opts, &r);

    if (rc != CSDK_OK)
        return rc;
    lang_name =
        language != NULL && *language != '\0' ? language : r.sb->runtime;
    lang = ex_code_lang(lang_name);
    if (lang == 0)
        return st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                               "the example provider cannot run '%s' code; "
                               "languages: python, python3, node, javascript",
                               lang_name);
    if (code == NULL)
        code_len = 0;
    /* Background code gets a handle and runs nowhere, as run_command. */
    if (r.opts.flags & CSDK_RUN_BACKGROUND)
        return ex_run_background(st, call, r.sb, start_ms);

    rc = ex_code_run(&r, lang, code, code_len, &bad_line);
    if (rc != CSDK_OK)
        return rc;
    if (bad_line != 0) {
        rc = ex_report_result(st, call, 1, start_ms,
                              r.out.flags | CSDK_RESULT_SYNTAX);
        if (rc != CSDK_OK)
            return rc;
        return st->host->error(call, CSDK_E_SYNTAX,
                               "%s code does not parse (line %zu); see its "
                               "standard error",
                               lang == EX_LANG_PYTHON ? "python" : "node",
                               bad_line);
    }
    return ex_report_result(st, call, r.exit_code, start_ms, r.out.flags);
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

/* How every filesystem slot starts: the sandbox, and the path normalised
 * into a new string in *norm. */
static csdk_status_t ex_fs_begin(ex_state_t *st, csdk_call_t *call,
                                 const char *id, const char *path,
                                 ex_sandbox_t **sb, char **norm)
{
    csdk_status_t rc = ex_lookup(st, call, id, sb);

    *norm = NULL;
    if (rc != CSDK_OK)
        return rc;
    return ex_path_arg(st, call, "path", path, norm);
}

/* read_file: contents go to CSDK_STREAM_DATA, in chunks, as a provider
 * streaming from a backend would. */
static csdk_status_t ex_read_file(void *state, csdk_call_t *call,
                                  const char *id, const char *path)
{
    ex_state_t *st = state;
    ex_sandbox_t *sb;
    const ex_file_t *file;
    char *norm;
    int is_dir;
    csdk_status_t rc = ex_fs_begin(st, call, id, path, &sb, &norm);

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
    const char *parent;
    char *norm;
    csdk_status_t rc = ex_fs_begin(st, call, id, path, &sb, &norm);

    if (rc != CSDK_OK)
        return rc;
    if (data == NULL && len > 0)
        rc = st->host->error(call, CSDK_E_INVALID_ARGUMENT,
                             "no data given for %zu bytes", len);
    else if (ex_file_find(sb, norm) == NULL && ex_is_dir(sb, norm))
        rc = st->host->error(call, CSDK_E_CONFLICT,
                             "'%s' in sandbox '%s' is a directory", path, id);
    else if ((parent = ex_file_parent(sb, norm)) != NULL)
        rc = st->host->error(call, CSDK_E_CONFLICT,
                             "cannot write '%s' in sandbox '%s': '%s' is a "
                             "file, not a directory", path, id, parent);
    if (rc != CSDK_OK) {
        free(norm);
        return rc;
    }
    if (ex_file_put(sb, norm, data, len) != 0)
        return ex_nomem(st, call);
    st->dirty = 1;
    return CSDK_OK;
}

static csdk_status_t ex_exists(void *state, csdk_call_t *call,
                               const char *id, const char *path)
{
    ex_state_t *st = state;
    ex_sandbox_t *sb;
    char *norm;
    int found;
    csdk_status_t rc = ex_fs_begin(st, call, id, path, &sb, &norm);

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
    char *norm;
    csdk_status_t rc = ex_fs_begin(st, call, id, path, &sb, &norm);

    if (rc != CSDK_OK)
        return rc;
    if (ex_files_remove(sb, norm) > 0)
        st->dirty = 1;
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
