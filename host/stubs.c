#include "internal.h"

#include "call.h"
#include "loader.h"
#include "registry.h"
#include "stubs.h"

/* The messages match ComputeSDK's, so users see the words they know. */
static csdk_status_t fs_unsupported(csdk_call_t *call)
{
    return call_host_table.error(
        call, CSDK_E_NOT_SUPPORTED,
        "Filesystem operations are not supported by %s's sandbox "
        "environment.",
        call->inst->name);
}

static csdk_status_t method_unsupported(csdk_call_t *call, const char *what)
{
    return call_host_table.error(call, CSDK_E_NOT_SUPPORTED,
                                 "Provider '%s' does not support %s.",
                                 call->inst->name, what);
}

static csdk_read_file_fn stub_path;
static csdk_status_t stub_path(void *state, csdk_call_t *call, const char *id,
                               const char *path)
{
    return fs_unsupported(call);
}

static csdk_write_file_fn stub_write_file;
static csdk_status_t stub_write_file(void *state, csdk_call_t *call,
                                     const char *id, const char *path,
                                     const void *data, size_t len)
{
    return fs_unsupported(call);
}

static csdk_find_fn stub_find;
static csdk_status_t stub_find(void *state, csdk_call_t *call,
                               const char *namespace_, const char *name)
{
    return method_unsupported(call, "find");
}

static csdk_find_or_create_fn stub_find_or_create;
static csdk_status_t stub_find_or_create(void *state, csdk_call_t *call,
                                         const char *namespace_,
                                         const char *name,
                                         const csdk_create_opts_t *opts)
{
    return method_unsupported(call, "findOrCreate");
}

static csdk_extend_timeout_fn stub_extend_timeout;
static csdk_status_t stub_extend_timeout(void *state, csdk_call_t *call,
                                         const char *id, uint64_t ms)
{
    return method_unsupported(call, "extendTimeout");
}

static const char *saved_kind(csdk_call_t *call)
{
    return call->method >= CSDK_M_SNAPSHOT_CREATE ? "snapshots" : "templates";
}

static csdk_save_fn stub_save;
static csdk_status_t stub_save(void *state, csdk_call_t *call,
                               const char *sandbox_id, const char *name)
{
    return method_unsupported(call, saved_kind(call));
}

static csdk_saved_list_fn stub_saved_list;
static csdk_status_t stub_saved_list(void *state, csdk_call_t *call)
{
    return method_unsupported(call, saved_kind(call));
}

static csdk_saved_delete_fn stub_saved_delete;
static csdk_status_t stub_saved_delete(void *state, csdk_call_t *call,
                                       const char *id)
{
    return method_unsupported(call, saved_kind(call));
}

void stubs_fill(csdk_provider_def_t *d)
{
#define FILL(slot, fn) \
    if (!d->slot)      \
    d->slot = fn
    FILL(read_file, stub_path);
    FILL(write_file, stub_write_file);
    FILL(mkdir, stub_path);
    FILL(readdir, stub_path);
    FILL(exists, stub_path);
    FILL(remove, stub_path);
    FILL(find, stub_find);
    FILL(find_or_create, stub_find_or_create);
    FILL(extend_timeout, stub_extend_timeout);
    FILL(template_create, stub_save);
    FILL(template_list, stub_saved_list);
    FILL(template_delete, stub_saved_delete);
    FILL(snapshot_create, stub_save);
    FILL(snapshot_list, stub_saved_list);
    FILL(snapshot_delete, stub_saved_delete);
#undef FILL
}
