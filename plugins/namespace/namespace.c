/*
 * plugins/namespace/namespace.c - the namespace provider: containerised
 * instances on Namespace's cloud (namespace.so), driven through its
 * Connect JSON API with libcurl.
 *
 * This file holds the ABI table, init and fini; the work is in
 * instance.c (lifecycle), exec.c (commands and code), fs.c (files),
 * rpc.c (HTTP), api.c (JSON) and config.c (keys and the token).  See
 * ns.h and docs/namespace-provider.md.
 *
 * State: none on disk.  Namespace keeps the instances; the plugin keeps
 * only its configuration, HTTP connections and a cache of the instances'
 * command endpoints, so any csdk process can use any instance.
 *
 * Threads: not CSDK_PROVIDER_THREAD_SAFE; the host serialises calls.
 * Commands run on worker threads of their own (exec.c).
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "ns.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static csdk_init_fn ns_init;
static csdk_fini_fn ns_fini;
static csdk_create_fn ns_slot_create;
static csdk_get_fn ns_slot_get;
static csdk_list_fn ns_slot_list;
static csdk_destroy_fn ns_slot_destroy;
static csdk_run_command_fn ns_slot_run_command;
static csdk_run_code_fn ns_slot_run_code;
static csdk_info_fn ns_slot_info;
static csdk_url_fn ns_slot_url;
static csdk_find_fn ns_slot_find;
static csdk_find_or_create_fn ns_slot_find_or_create;
static csdk_extend_timeout_fn ns_slot_extend_timeout;
static csdk_read_file_fn ns_slot_read_file;
static csdk_write_file_fn ns_slot_write_file;
static csdk_mkdir_fn ns_slot_mkdir;
static csdk_readdir_fn ns_slot_readdir;
static csdk_exists_fn ns_slot_exists;
static csdk_remove_fn ns_slot_remove;

/* ------------------------------------------------------------------ */
/* Lifecycle                                                           */
/* ------------------------------------------------------------------ */

static void ns_state_free(ns_state_t *st)
{
    ns_conns_free(st->conns);
    ns_conns_free(st->idle);
    ns_cache_free(st);
    ns_conf_free(&st->conf);
    if (st->token != NULL)
        memset(st->token, 0, strlen(st->token));
    if (st->auth_header != NULL)
        memset(st->auth_header, 0, strlen(st->auth_header));
    free(st->token);
    free(st->auth_header);
    free(st->instance);
    pthread_cond_destroy(&st->cond);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

static ns_state_t *ns_state_new(const csdk_host_t *host, csdk_instance_t *inst,
                                const char *name)
{
    ns_state_t *st = calloc(1, sizeof *st);
    pthread_condattr_t attr;

    if (st == NULL)
        return NULL;
    st->host = host;
    st->inst = inst;
    st->instance = strdup(name);
    pthread_mutex_init(&st->lock, NULL);
    /* Workers are waited for with CLOCK_MONOTONIC deadlines. */
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&st->cond, &attr);
    pthread_condattr_destroy(&attr);
    if (st->instance == NULL) {
        ns_state_free(st);
        return NULL;
    }
    return st;
}

/*
 * init: configuration keys (config.c), then the token.  No request is
 * made: a wrong token shows at the first call, as AUTH with the fix.
 */
static csdk_status_t ns_init(const csdk_host_t *host, csdk_instance_t *inst,
                             const char *instance_name,
                             const csdk_kv_t *config, size_t n_config,
                             csdk_call_t *call, void **state)
{
    const char *token = NULL, *token_env = NULL, *token_file = NULL;
    ns_where_t w = {instance_name, 1};
    ns_state_t *st;
    csdk_status_t rc = CSDK_OK;

    *state = NULL;
    if (!CSDK_HAS_FIELD(csdk_host_t, host, monotonic_ms))
        return host->error(call, CSDK_E_ABI,
                           "the host's upcall table is too small");
    st = ns_state_new(host, inst, instance_name);
    if (st == NULL)
        return host->error(call, CSDK_E_NOMEM, "out of memory");
    rc = ns_conf_defaults(host, call, &st->conf);
    for (size_t i = 0; rc == CSDK_OK && i < n_config; i++) {
        const char *k = config[i].key, *v = config[i].value ? config[i].value
                                                            : "";

        /* A repeated key: the last one wins, as for every key. */
        if (strcmp(k, "token") == 0)
            token = v;
        else if (strcmp(k, "token_env") == 0)
            token_env = v;
        else if (strcmp(k, "token_file") == 0)
            token_file = v;
        else
            rc = ns_conf_set(host, call, &w, &st->conf, k, v);
    }
    if (rc == CSDK_OK && token_env != NULL &&
        (*token_env == '\0' || strspn(token_env,
                                      "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                      "abcdefghijklmnopqrstuvwxyz"
                                      "0123456789_") != strlen(token_env)))
        rc = host->error(call, CSDK_E_CONFIG,
                         "[provider.%s] token_env = '%.60s': expected the "
                         "name of an environment variable holding the token",
                         instance_name, token_env);
    if (rc == CSDK_OK)
        rc = ns_token_resolve(host, call, instance_name, token, token_env,
                              token_file, &st->token);
    if (rc == CSDK_OK &&
        asprintf(&st->auth_header, "Authorization: Bearer %s", st->token) < 0) {
        st->auth_header = NULL;
        rc = host->error(call, CSDK_E_NOMEM, "out of memory");
    }
    if (rc != CSDK_OK) {
        ns_state_free(st);
        return rc;
    }
    host->log(inst, CSDK_LOG_DEBUG, "Namespace API at %s, %d vCPU, %d MB, "
              "%s/%s, deadline %llu ms", st->conf.base_url, (int)st->conf.vcpu,
              (int)st->conf.memory_mb, st->conf.os, st->conf.machine_arch,
              (unsigned long long)st->conf.sandbox_timeout_ms);
    *state = st;
    return CSDK_OK;
}

static void ns_fini(void *state)
{
    ns_state_t *st = state;

    if (st == NULL)
        return;
    /* Background commands' calls end here; the commands may end with
     * them (docs/namespace-provider.md). */
    ns_workers_stop(st);
    ns_state_free(st);
}

/* ------------------------------------------------------------------ */
/* Slots                                                               */
/* ------------------------------------------------------------------ */

static csdk_status_t ns_slot_create(void *state, csdk_call_t *call,
                                    const csdk_create_opts_t *opts)
{
    return ns_create(state, call, opts);
}

static csdk_status_t ns_slot_get(void *state, csdk_call_t *call,
                                 const char *id)
{
    return ns_get(state, call, id, 0);
}

static csdk_status_t ns_slot_info(void *state, csdk_call_t *call,
                                  const char *id)
{
    return ns_get(state, call, id, 1);
}

static csdk_status_t ns_slot_list(void *state, csdk_call_t *call)
{
    return ns_list(state, call);
}

static csdk_status_t ns_slot_destroy(void *state, csdk_call_t *call,
                                     const char *id)
{
    return ns_destroy(state, call, id);
}

static csdk_status_t ns_slot_run_command(void *state, csdk_call_t *call,
                                         const char *id,
                                         const csdk_run_opts_t *opts)
{
    return ns_run_command(state, call, id, opts);
}

static csdk_status_t ns_slot_run_code(void *state, csdk_call_t *call,
                                      const char *id, const char *code,
                                      size_t code_len, const char *language,
                                      const csdk_run_opts_t *opts)
{
    return ns_run_code(state, call, id, code, code_len, language, opts);
}

static csdk_status_t ns_slot_url(void *state, csdk_call_t *call,
                                 const char *id, uint32_t port,
                                 const char *protocol)
{
    return ns_url(state, call, id, port, protocol);
}

static csdk_status_t ns_slot_find(void *state, csdk_call_t *call,
                                  const char *namespace_, const char *name)
{
    return ns_find(state, call, namespace_, name);
}

static csdk_status_t ns_slot_find_or_create(void *state, csdk_call_t *call,
                                            const char *namespace_,
                                            const char *name,
                                            const csdk_create_opts_t *opts)
{
    return ns_find_or_create(state, call, namespace_, name, opts);
}

static csdk_status_t ns_slot_extend_timeout(void *state, csdk_call_t *call,
                                            const char *id, uint64_t ms)
{
    return ns_extend(state, call, id, ms);
}

static csdk_status_t ns_slot_read_file(void *state, csdk_call_t *call,
                                       const char *id, const char *path)
{
    return ns_fs_read(state, call, id, path);
}

static csdk_status_t ns_slot_write_file(void *state, csdk_call_t *call,
                                        const char *id, const char *path,
                                        const void *data, size_t len)
{
    return ns_fs_write(state, call, id, path, data, len);
}

static csdk_status_t ns_slot_mkdir(void *state, csdk_call_t *call,
                                   const char *id, const char *path)
{
    return ns_fs_mkdir(state, call, id, path);
}

static csdk_status_t ns_slot_readdir(void *state, csdk_call_t *call,
                                     const char *id, const char *path)
{
    return ns_fs_readdir(state, call, id, path);
}

static csdk_status_t ns_slot_exists(void *state, csdk_call_t *call,
                                    const char *id, const char *path)
{
    return ns_fs_exists(state, call, id, path);
}

static csdk_status_t ns_slot_remove(void *state, csdk_call_t *call,
                                    const char *id, const char *path)
{
    return ns_fs_remove(state, call, id, path);
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

static const csdk_provider_def_t ns_def = {
    .abi_version = CSDK_ABI_VERSION,
    .struct_size = sizeof(csdk_provider_def_t),
    .name = NS_NAME,
    .version = NS_VERSION,
    .description = "Containerised instances on Namespace's cloud "
                   "(compute API)",
    .flags = 0,

    .init = ns_init,
    .fini = ns_fini,
    .create = ns_slot_create,
    .get = ns_slot_get,
    .list = ns_slot_list,
    .destroy = ns_slot_destroy,
    .run_command = ns_slot_run_command,
    .run_code = ns_slot_run_code,
    .info = ns_slot_info,
    .url = ns_slot_url,

    .read_file = ns_slot_read_file,
    .write_file = ns_slot_write_file,
    .mkdir = ns_slot_mkdir,
    .readdir = ns_slot_readdir,
    .exists = ns_slot_exists,
    .remove = ns_slot_remove,

    .find = ns_slot_find,
    .find_or_create = ns_slot_find_or_create,
    .extend_timeout = ns_slot_extend_timeout,
};

CSDK_EXPORT csdk_provider_entry_fn csdk_provider_entry;

CSDK_EXPORT const csdk_provider_def_t *csdk_provider_entry(uint32_t host_abi)
{
    if (CSDK_ABI_VERSION_MAJOR(host_abi) != CSDK_ABI_MAJOR)
        return NULL;
    return &ns_def;
}
