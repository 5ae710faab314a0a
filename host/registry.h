/* The host object and its provider instances: building them from a parsed
 * config (loading and initialising each plugin), finding them by name or
 * by sandbox id, and tearing them down. */
#ifndef CSDK_HOST_REGISTRY_H
#define CSDK_HOST_REGISTRY_H
#include <csdk/csdk.h>

#include "config_file.h"
#include "log.h"
#include "metrics.h"
#include "ratelimit.h"

struct csdk_instance {
    struct csdk *host;
    char *name;              /* instance name: [provider.NAME] */
    char *who;               /* "provider 'NAME'", for messages */
    char *plugin_path;
    void *dl;                /* dlopen handle, NULL if not loaded */
    csdk_provider_def_t def; /* the host's copy, stubs filled in */
    uint64_t caps;
    void *state;             /* from init */
    int32_t loaded;          /* init succeeded */
    char *error;             /* why not loaded */
    int32_t thread_safe;
    pthread_mutex_t lock;    /* serialises slots unless thread_safe */
    pthread_mutex_t rl_lock; /* guards rl */
    uint32_t retries;        /* extra attempts for idempotent calls */
    uint64_t timeout_ms;     /* default deadline; 0 = none */
    ratelimit_t rl;
    metrics_t metrics[CSDK_M_COUNT];
};

struct csdk {
    config_t *cfg;
    logger_t log;
    char *default_provider;
    struct csdk_instance *inst;
    size_t n_inst;
};

/* Defaults that [host] may change and each provider section override. */
#define REGISTRY_DEFAULT_RETRIES 2u
#define REGISTRY_DEFAULT_TIMEOUT_MS 120000u

/* Build every instance of `cfg` (taking ownership of it).  Fails only on
 * configuration errors of the host itself; a plugin that fails is kept as
 * a not-loaded instance with its reason. */
csdk_status_t registry_build(struct csdk *h, config_t *cfg,
                             const char *plugin_dir_override,
                             csdk_error_t *err);
void registry_teardown(struct csdk *h);

/* A loaded instance by name (NULL = default).  Errors: NOT_FOUND when no
 * such instance, CONFIG when it exists but failed to load. */
csdk_status_t registry_lookup(struct csdk *h, const char *name,
                              struct csdk_instance **out, csdk_error_t *err);

/* Split "INSTANCE:NATIVE" and find the instance; *native points into id. */
csdk_status_t registry_resolve_id(struct csdk *h, const char *id,
                                  struct csdk_instance **out,
                                  const char **native, csdk_error_t *err);

#endif
