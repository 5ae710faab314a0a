/* Loading one plugin: the checks of DESIGN.md section 2, steps 1-5.  On
 * success the caller owns the dlopen handle and a private copy of the
 * plugin's table with NOT_SUPPORTED stubs in its empty optional slots. */
#ifndef CSDK_HOST_LOADER_H
#define CSDK_HOST_LOADER_H
#include <csdk/csdk.h>

/* The byte size of an ABI 1.0 table up to its last required slot: a
 * plugin's struct_size must be at least this. */
#define LOADER_MIN_STRUCT_SIZE \
    (offsetof(csdk_provider_def_t, url) + sizeof(csdk_url_fn *))

/*
 * dlopen `path`, find `entry` (NULL = csdk_provider_entry), check the
 * table, and fill *def / *caps.  Every failure returns a status with a
 * message "PATH: what is wrong; how to fix it" and leaves nothing open.
 */
csdk_status_t loader_open(const char *path, const char *entry, void **dl,
                          csdk_provider_def_t *def, uint64_t *caps,
                          csdk_error_t *err);

/* Refuse a plugin that someone else could replace: its directory or the
 * file writable by group or others. */
csdk_status_t loader_check_perms(const char *path, csdk_error_t *err);

/* Read and write the slot of method m (CSDK_M_*) as a generic function
 * pointer (through memcpy: the slots have different types). */
typedef void loader_any_fn(void);
loader_any_fn *loader_get_slot(const csdk_provider_def_t *def, uint32_t m);
void loader_set_slot(csdk_provider_def_t *def, uint32_t m, loader_any_fn *fn);

/* Non-zero if method m must be provided by every plugin. */
int loader_method_required(uint32_t m);

#endif
