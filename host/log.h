/* Leveled logging.  One logger per host.  Lines go to the caller's
 * csdk_log_fn or to stderr.  Contract: nothing the host logs contains a
 * configuration value (values may be secrets); messages from plugins are
 * flattened to one line. */
#ifndef CSDK_HOST_LOG_H
#define CSDK_HOST_LOG_H
#include <stdarg.h>
#include <csdk/csdk.h>

typedef struct logger {
    int32_t level;     /* messages above this level are dropped */
    csdk_log_fn *fn;   /* NULL = stderr */
    void *ud;
} logger_t;

/* `who` is e.g. "provider 'docker'" or NULL. */
void log_msg(const logger_t *lg, int32_t level, const char *who,
             const char *fmt, ...) CSDK_PRINTF(4, 5);
void log_vmsg(const logger_t *lg, int32_t level, const char *who,
              const char *fmt, va_list ap) CSDK_PRINTF(4, 0);

static inline int log_enabled(const logger_t *lg, int32_t level)
{
    return level <= lg->level;
}

/* "error", "warn", "info", "debug" -> CSDK_LOG_*; -1 if none matches. */
int32_t log_level_parse(const char *s);

/* Replace control characters (newlines included) with spaces in place, so
 * one message stays one line. */
void log_flatten(char *s);

#endif
