/* Status names and the set of statuses the retry policy treats as
 * transient. */
#ifndef CSDK_HOST_STATUS_H
#define CSDK_HOST_STATUS_H
#include <csdk/provider.h>

/* Non-zero if a call that failed with `code` may succeed if tried again. */
int status_is_transient(csdk_status_t code);
#include <csdk/csdk.h>

/* Fill `err` (may be NULL) with `code` and a formatted one-line message;
 * returns `code`. */
csdk_status_t error_set(csdk_error_t *err, csdk_status_t code,
                        const char *fmt, ...) CSDK_PRINTF(3, 4);
#endif
