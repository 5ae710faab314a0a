/*
 * fake.c - test providers for the loader and the dispatch path.
 *
 * One source, several plugins: each is built with one -DFAKE_<VARIANT>
 * (see Makefile.inc) and either loads and behaves predictably, or breaks
 * exactly one loader rule so the test of that refusal has a plugin to
 * refuse.
 *
 *   FAKE_FAKE         a valid provider "fake" with every required slot and
 *                     no optional one; controllable through its config:
 *                       fail_times=N      the first N get calls fail
 *                       fail_code=C       ...with status C (default
 *                                         CSDK_E_CONNECTION)
 *                       retry_after_ms=M  ...and a retry-after of M ms
 *                       fail_method=M     fail M's calls instead of get's
 *                                         (create, get, list, destroy,
 *                                         run_command, run_code, info)
 *                       init_fail=1       init fails with CSDK_E_CONFIG
 *                       secret=S          stored, never printed
 *   FAKE_FAKE_NEWER   as fake, from a newer minor (1.7) with a bigger
 *                     table: must load
 *   FAKE_BAD_MAJOR    abi_version 2.0
 *   FAKE_BAD_SIZE     struct_size too small to hold the required slots
 *   FAKE_BAD_MISSING  the required run_code slot is NULL
 *   FAKE_BAD_NOENTRY  no csdk_provider_entry symbol (exports a misspelling)
 *   FAKE_BAD_NULL     csdk_provider_entry returns NULL
 *   FAKE_BAD_NAME     the name "Bad Name!"
 *   FAKE_BAD_FS       as fake, plus read_file and exists only (per-method
 *                     stubs and capability bits)
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include <csdk/provider.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* No variant macro: build the plain fake. */
#if !defined(FAKE_FAKE) && !defined(FAKE_FAKE_NEWER) &&                   \
    !defined(FAKE_BAD_MAJOR) && !defined(FAKE_BAD_SIZE) &&                \
    !defined(FAKE_BAD_MISSING) && !defined(FAKE_BAD_NOENTRY) &&           \
    !defined(FAKE_BAD_NULL) && !defined(FAKE_BAD_NAME) &&                 \
    !defined(FAKE_BAD_FS)
#define FAKE_FAKE 1
#endif

/* The methods fail_method may name. */
static const char *const fake_methods[] = {
    "create", "get", "list", "destroy", "run_command", "run_code", "info",
};
#define FAKE_M_CREATE 0
#define FAKE_M_GET 1
#define FAKE_M_LIST 2
#define FAKE_M_DESTROY 3
#define FAKE_M_RUN_COMMAND 4
#define FAKE_M_RUN_CODE 5
#define FAKE_M_INFO 6
#define FAKE_N_METHODS 7

typedef struct fake_state {
    const csdk_host_t *host;
    char *instance;
    int64_t fail_times;
    int64_t fail_code;
    int64_t retry_after_ms;
    int fail_method;    /* FAKE_M_*: whose calls fail_times counts */
    int64_t fail_calls; /* calls so far to fail_method */
    char *secret;       /* kept to prove it is accepted; never printed */
    int64_t get_calls;  /* every get call on this instance */
    uint64_t next_id;
    uint64_t *ids;      /* live sandboxes: fake-<ids[i]> */
    size_t n_ids;
} fake_state_t;

static csdk_init_fn fake_init;
static csdk_fini_fn fake_fini;
static csdk_create_fn fake_create;
static csdk_get_fn fake_get;
static csdk_list_fn fake_list;
static csdk_destroy_fn fake_destroy;
static csdk_run_command_fn fake_run_command;
#ifndef FAKE_BAD_MISSING
static csdk_run_code_fn fake_run_code;
#endif
static csdk_info_fn fake_info;
static csdk_url_fn fake_url;
#ifdef FAKE_BAD_FS
static csdk_read_file_fn fake_read_file;
static csdk_exists_fn fake_exists;
#endif

static csdk_status_t fake_nomem(fake_state_t *st, csdk_call_t *call)
{
    return st->host->error(call, CSDK_E_NOMEM, "fake: out of memory");
}

static int fake_parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    if (s == NULL || *s == '\0')
        return -1;
    v = strtoll(s, &end, 10);
    if (*end != '\0')
        return -1;
    *out = (int64_t)v;
    return 0;
}

static csdk_status_t fake_init(const csdk_host_t *host, csdk_instance_t *inst,
                               const char *instance_name,
                               const csdk_kv_t *config, size_t n_config,
                               csdk_call_t *call, void **state)
{
    fake_state_t *st;

    (void)inst;
    *state = NULL;
    st = calloc(1, sizeof *st);
    if (st == NULL)
        return host->error(call, CSDK_E_NOMEM, "fake: out of memory");
    st->host = host;
    st->fail_code = CSDK_E_CONNECTION;
    st->fail_method = FAKE_M_GET;
    st->next_id = 1;
    st->instance = strdup(instance_name);
    if (st->instance == NULL) {
        fake_fini(st);
        return host->error(call, CSDK_E_NOMEM, "fake: out of memory");
    }
    for (size_t i = 0; i < n_config; i++) {
        const char *k = config[i].key, *v = config[i].value;
        int64_t *num = NULL;

        if (strcmp(k, "fail_times") == 0)
            num = &st->fail_times;
        else if (strcmp(k, "fail_code") == 0)
            num = &st->fail_code;
        else if (strcmp(k, "retry_after_ms") == 0)
            num = &st->retry_after_ms;
        if (num != NULL) {
            if (fake_parse_int(v, num) != 0) {
                fake_fini(st);
                return host->error(call, CSDK_E_CONFIG,
                                   "[provider.%s] key '%s' wants an integer, "
                                   "not '%s'", instance_name, k, v);
            }
        } else if (strcmp(k, "fail_method") == 0) {
            int m = 0;

            while (m < FAKE_N_METHODS &&
                   (v == NULL || strcmp(v, fake_methods[m]) != 0))
                m++;
            if (m == FAKE_N_METHODS) {
                fake_fini(st);
                return host->error(call, CSDK_E_CONFIG,
                                   "[provider.%s] fail_method '%s' is not one "
                                   "of create, get, list, destroy, "
                                   "run_command, run_code, info",
                                   instance_name, v != NULL ? v : "");
            }
            st->fail_method = m;
        } else if (strcmp(k, "init_fail") == 0) {
            if (v != NULL && strcmp(v, "1") == 0) {
                fake_fini(st);
                return host->error(call, CSDK_E_CONFIG,
                                   "fake: init_fail is set");
            }
        } else if (strcmp(k, "secret") == 0) {
            free(st->secret);
            st->secret = strdup(v != NULL ? v : "");
            if (st->secret == NULL) {
                fake_fini(st);
                return host->error(call, CSDK_E_NOMEM, "fake: out of memory");
            }
        } else {
            fake_fini(st);
            return host->error(call, CSDK_E_CONFIG,
                               "[provider.%s] unknown key '%s' for the fake "
                               "plugin (it accepts: fail_times, fail_code, "
                               "retry_after_ms, fail_method, init_fail, "
                               "secret)",
                               instance_name, k);
        }
    }
    *state = st;
    return CSDK_OK;
}

static void fake_fini(void *state)
{
    fake_state_t *st = state;

    if (st == NULL)
        return;
    free(st->instance);
    free(st->secret);
    free(st->ids);
    free(st);
}

/* The induced failures: the first fail_times calls to fail_method fail
 * with fail_code, and with a retry-after when retry_after_ms is set. */
static csdk_status_t fake_induced(fake_state_t *st, csdk_call_t *call,
                                  int method)
{
    if (method != st->fail_method)
        return CSDK_OK;
    st->fail_calls++;
    if (st->fail_calls > st->fail_times)
        return CSDK_OK;
    if (st->retry_after_ms > 0)
        st->host->retry_after(call, (uint64_t)st->retry_after_ms);
    return st->host->error(call, (csdk_status_t)st->fail_code,
                           "fake: induced %s failure %" PRId64 " of %" PRId64,
                           fake_methods[method], st->fail_calls,
                           st->fail_times);
}

static csdk_status_t fake_report(fake_state_t *st, csdk_call_t *call,
                                 const char *id)
{
    char attempts[32];
    int32_t failed = 0;

    snprintf(attempts, sizeof attempts, "%" PRId64, st->get_calls);
    failed |= st->host->set_str(call, CSDK_F_ID, id);
    failed |= st->host->set_str(call, CSDK_F_STATUS, "running");
    failed |= st->host->set_meta(call, "attempts", attempts);
    return failed ? fake_nomem(st, call) : CSDK_OK;
}

static csdk_status_t fake_create(void *state, csdk_call_t *call,
                                 const csdk_create_opts_t *opts)
{
    fake_state_t *st = state;
    uint64_t *grown;
    char id[32];
    csdk_status_t rc = fake_induced(st, call, FAKE_M_CREATE);

    (void)opts;
    if (rc != CSDK_OK)
        return rc;
    grown = realloc(st->ids, (st->n_ids + 1) * sizeof *grown);
    if (grown == NULL)
        return fake_nomem(st, call);
    st->ids = grown;
    st->ids[st->n_ids++] = st->next_id;
    snprintf(id, sizeof id, "fake-%" PRIu64, st->next_id++);
    if (st->host->set_str(call, CSDK_F_ID, id) != 0 ||
        st->host->set_str(call, CSDK_F_STATUS, "running") != 0)
        return fake_nomem(st, call);
    return CSDK_OK;
}

/* get: after the induced failures, any id starting with "fake-" exists;
 * its record says how many get calls this instance has seen. */
static csdk_status_t fake_get(void *state, csdk_call_t *call, const char *id)
{
    fake_state_t *st = state;
    csdk_status_t rc;

    st->get_calls++;
    rc = fake_induced(st, call, FAKE_M_GET);
    if (rc != CSDK_OK)
        return rc;
    if (id == NULL || strncmp(id, "fake-", 5) != 0)
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "no sandbox '%s' in provider '%s'",
                               id != NULL ? id : "", st->instance);
    return fake_report(st, call, id);
}

/* info: the record get would give, without counting get calls. */
static csdk_status_t fake_info(void *state, csdk_call_t *call, const char *id)
{
    fake_state_t *st = state;
    csdk_status_t rc = fake_induced(st, call, FAKE_M_INFO);

    if (rc != CSDK_OK)
        return rc;

    if (id == NULL || strncmp(id, "fake-", 5) != 0)
        return st->host->error(call, CSDK_E_NOT_FOUND,
                               "no sandbox '%s' in provider '%s'",
                               id != NULL ? id : "", st->instance);
    return fake_report(st, call, id);
}

static csdk_status_t fake_list(void *state, csdk_call_t *call)
{
    fake_state_t *st = state;
    csdk_status_t rc = fake_induced(st, call, FAKE_M_LIST);

    if (rc != CSDK_OK)
        return rc;

    for (size_t i = 0; i < st->n_ids; i++) {
        char id[32];

        snprintf(id, sizeof id, "fake-%" PRIu64, st->ids[i]);
        if (st->host->next_record(call) != 0 ||
            st->host->set_str(call, CSDK_F_ID, id) != 0 ||
            st->host->set_str(call, CSDK_F_STATUS, "running") != 0)
            return fake_nomem(st, call);
    }
    return CSDK_OK;
}

static csdk_status_t fake_destroy(void *state, csdk_call_t *call,
                                  const char *id)
{
    fake_state_t *st = state;
    char buf[32];
    csdk_status_t rc = fake_induced(st, call, FAKE_M_DESTROY);

    if (rc != CSDK_OK)
        return rc;
    for (size_t i = 0; id != NULL && i < st->n_ids; i++) {
        snprintf(buf, sizeof buf, "fake-%" PRIu64, st->ids[i]);
        if (strcmp(buf, id) == 0) {
            st->ids[i] = st->ids[--st->n_ids];
            break;
        }
    }
    return CSDK_OK;
}

static csdk_status_t fake_result(fake_state_t *st, csdk_call_t *call,
                                 int64_t exit_code)
{
    if (st->host->set_int(call, CSDK_F_EXIT_CODE, exit_code) != 0 ||
        st->host->set_int(call, CSDK_F_DURATION_MS, 0) != 0 ||
        st->host->set_int(call, CSDK_F_RESULT_FLAGS, 0) != 0)
        return fake_nomem(st, call);
    return CSDK_OK;
}

/* run_command: prints "fake\n"; argv[0] "fail" exits 3. */
static csdk_status_t fake_run_command(void *state, csdk_call_t *call,
                                      const char *id,
                                      const csdk_run_opts_t *opts)
{
    fake_state_t *st = state;
    int64_t exit_code = 0;
    csdk_status_t rc = fake_induced(st, call, FAKE_M_RUN_COMMAND);

    (void)id;
    if (rc != CSDK_OK)
        return rc;
    if (opts != NULL && CSDK_HAS_FIELD(csdk_run_opts_t, opts, argv) &&
        opts->argv != NULL && opts->argv[0] != NULL &&
        strcmp(opts->argv[0], "fail") == 0)
        exit_code = 3;
    if (st->host->write(call, CSDK_STREAM_STDOUT, "fake\n", 5) != 0)
        return st->host->error(call, CSDK_E_CANCELLED,
                               "fake: the caller stopped the output");
    return fake_result(st, call, exit_code);
}

#ifndef FAKE_BAD_MISSING
static csdk_status_t fake_run_code(void *state, csdk_call_t *call,
                                   const char *id, const char *code,
                                   size_t code_len, const char *language,
                                   const csdk_run_opts_t *opts)
{
    csdk_status_t rc = fake_induced(state, call, FAKE_M_RUN_CODE);

    (void)id;
    (void)code;
    (void)code_len;
    (void)language;
    (void)opts;
    if (rc != CSDK_OK)
        return rc;
    return fake_result(state, call, 0);
}
#endif

static csdk_status_t fake_url(void *state, csdk_call_t *call, const char *id,
                              uint32_t port, const char *protocol)
{
    fake_state_t *st = state;

    (void)id;
    (void)protocol;
    return st->host->error(call, CSDK_E_NOT_SUPPORTED,
                           "fake: no urls (port %" PRIu32 ")", port);
}

#ifdef FAKE_BAD_FS
/* read_file: the contents are the path itself. */
static csdk_status_t fake_read_file(void *state, csdk_call_t *call,
                                    const char *id, const char *path)
{
    fake_state_t *st = state;

    (void)id;
    if (st->host->write(call, CSDK_STREAM_DATA, path, strlen(path)) != 0)
        return st->host->error(call, CSDK_E_CANCELLED,
                               "fake: the caller stopped the output");
    return CSDK_OK;
}

/* exists: every path exists. */
static csdk_status_t fake_exists(void *state, csdk_call_t *call,
                                 const char *id, const char *path)
{
    fake_state_t *st = state;

    (void)id;
    (void)path;
    if (st->host->set_int(call, CSDK_F_EXISTS, 1) != 0)
        return fake_nomem(st, call);
    return CSDK_OK;
}
#endif

/* ------------------------------------------------------------------ */
/* The table, bent per variant                                         */
/* ------------------------------------------------------------------ */

#if defined(FAKE_BAD_MAJOR)
#define FAKE_ABI_VERSION ((uint32_t)(2u << 16))
#elif defined(FAKE_FAKE_NEWER)
#define FAKE_ABI_VERSION ((uint32_t)((1u << 16) | 7u))
#else
#define FAKE_ABI_VERSION CSDK_ABI_VERSION
#endif

#if defined(FAKE_BAD_SIZE)
#define FAKE_STRUCT_SIZE ((uint32_t)offsetof(csdk_provider_def_t, create))
#elif defined(FAKE_FAKE_NEWER)
#define FAKE_STRUCT_SIZE ((uint32_t)sizeof(fake_newer_def_t))
#else
#define FAKE_STRUCT_SIZE ((uint32_t)sizeof(csdk_provider_def_t))
#endif

#if defined(FAKE_BAD_NAME)
#define FAKE_NAME "Bad Name!"
#else
#define FAKE_NAME "fake"
#endif

#if defined(FAKE_BAD_MISSING)
#define FAKE_RUN_CODE NULL
#else
#define FAKE_RUN_CODE fake_run_code
#endif

#define FAKE_DEF_FIELDS                                                   \
    .abi_version = FAKE_ABI_VERSION, .struct_size = FAKE_STRUCT_SIZE,     \
    .name = FAKE_NAME, .version = "1.0.0",                               \
    .description = "test provider (loader and dispatch tests)",          \
    .init = fake_init, .fini = fake_fini, .create = fake_create,          \
    .get = fake_get, .list = fake_list, .destroy = fake_destroy,          \
    .run_command = fake_run_command, .run_code = FAKE_RUN_CODE,           \
    .info = fake_info, .url = fake_url

#if defined(FAKE_FAKE_NEWER)
/* A table from a future minor: the 1.0 slots, then two slots this header
 * does not know.  The host must copy only the part it knows. */
typedef struct fake_newer_def {
    csdk_provider_def_t base;
    csdk_get_fn *future_slot_1;
    csdk_get_fn *future_slot_2;
} fake_newer_def_t;

static const fake_newer_def_t fake_def = {
    .base = {FAKE_DEF_FIELDS},
    .future_slot_1 = fake_info,
    .future_slot_2 = fake_info,
};
#define FAKE_DEF_PTR (&fake_def.base)
#else
static const csdk_provider_def_t fake_def = {
    FAKE_DEF_FIELDS,
#if defined(FAKE_BAD_FS)
    .read_file = fake_read_file,
    .exists = fake_exists,
#endif
};
#define FAKE_DEF_PTR (&fake_def)
#endif

#if defined(FAKE_BAD_NOENTRY)
/* Exported, but not under the name the host looks for. */
CSDK_EXPORT csdk_provider_entry_fn csdk_provider_entri;

CSDK_EXPORT const csdk_provider_def_t *csdk_provider_entri(uint32_t host_abi)
{
    (void)host_abi;
    return FAKE_DEF_PTR;
}
#else
CSDK_EXPORT csdk_provider_entry_fn csdk_provider_entry;

CSDK_EXPORT const csdk_provider_def_t *csdk_provider_entry(uint32_t host_abi)
{
#if defined(FAKE_BAD_NULL)
    (void)host_abi;
    (void)fake_def;
    return NULL;
#elif defined(FAKE_BAD_MAJOR)
    /* Returns its table whatever the host: the host must refuse it. */
    (void)host_abi;
    return FAKE_DEF_PTR;
#else
    if (CSDK_ABI_VERSION_MAJOR(host_abi) != CSDK_ABI_MAJOR)
        return NULL;
    return FAKE_DEF_PTR;
#endif
}
#endif
