#include "internal.h"

#include <stdio.h>
#include <strings.h>

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int32_t log_level_parse(const char *s)
{
    for (int32_t i = 0; i < 4; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return CSDK_LOG_WARN;
    return -1;
}

void log_flatten(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = ' ';
}

void log_vmsg(const logger_t *lg, int32_t level, const char *who,
              const char *fmt, va_list ap)
{
    char line[1024];
    int n;

    if (!log_enabled(lg, level))
        return;
    if (level < 0)
        level = 0;
    if (level > 3)
        level = 3;
    n = snprintf(line, sizeof line, "csdk: %s: %s%s", level_names[level],
                 who ? who : "", who ? ": " : "");
    if (n < 0 || (size_t)n >= sizeof line)
        n = 0;
    vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    log_flatten(line);
    if (lg->fn)
        lg->fn(lg->ud, level, line);
    else
        fprintf(stderr, "%s\n", line);
}

void log_msg(const logger_t *lg, int32_t level, const char *who,
             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(lg, level, who, fmt, ap);
    va_end(ap);
}
