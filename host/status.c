#include "internal.h"

static const char *const status_names[] = {
    "OK",         "NOT_SUPPORTED", "INVALID_ARGUMENT", "NOT_FOUND",
    "AUTH",       "PERMISSION",    "RATE_LIMITED",     "QUOTA",
    "TIMEOUT",    "CONNECTION",    "PROTOCOL",         "CONFLICT",
    "CONFIG",     "SYNTAX",        "NOMEM",            "ABI",
    "INTERNAL",   "CANCELLED",     "UNAVAILABLE",      "IO",
};

CSDK_EXPORT const char *csdk_status_name(csdk_status_t code)
{
    if (code < 0 || (size_t)code >= sizeof status_names / sizeof *status_names)
        return "UNKNOWN";
    return status_names[code];
}

CSDK_EXPORT const char *csdk_version(void) { return PACKAGE_VERSION; }

int status_is_transient(csdk_status_t code)
{
    /* TIMEOUT is not here: it means the caller's deadline passed, and a
     * retry could only pass it again. */
    return code == CSDK_E_CONNECTION || code == CSDK_E_UNAVAILABLE ||
           code == CSDK_E_RATE_LIMITED;
}

csdk_status_t error_set(csdk_error_t *err, csdk_status_t code,
                        const char *fmt, ...)
{
    va_list ap;
    if (!err)
        return code;
    err->code = code;
    err->reserved = 0;
    err->retry_after_ms = 0;
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof err->message, fmt, ap);
    va_end(ap);
    log_flatten(err->message);
    return code;
}
