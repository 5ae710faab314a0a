#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_file.h"

/* Keys [host] accepts.  Anything else is an error: a typo in the host
 * section would otherwise silently do nothing. */
static const char *const host_keys[] = {
    "plugin_dir", "default_provider", "log_level",
    "timeout_ms", "retries",          "rate_limit", NULL,
};

/* State shared by the line reader and the handler while inih runs. */
typedef struct parse_ctx {
    config_t *cfg;
    const char *text;  /* the whole file */
    size_t pos;
    int line;          /* the line inih is currently handling */
    const char *line_start;
    csdk_status_t status;
    int error_line;    /* the line of the error in err */
    csdk_error_t *err;
} parse_ctx_t;

int config_valid_name(const char *s, size_t max)
{
    size_t n = 0;
    if (!s || !*s)
        return 0;
    for (; s[n]; n++) {
        char c = s[n];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return 0;
    }
    return n <= max;
}

static csdk_status_t parse_fail(parse_ctx_t *pc, csdk_status_t code,
                                const char *fmt, ...) CSDK_PRINTF(3, 4);
static csdk_status_t parse_fail(parse_ctx_t *pc, csdk_status_t code,
                                const char *fmt, ...)
{
    char msg[CSDK_ERROR_MAX];
    va_list ap;
    if (pc->status != CSDK_OK)
        return pc->status; /* keep the first error */
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    pc->status = code;
    pc->error_line = pc->line;
    error_set(pc->err, code, "%s:%d: %s", pc->cfg->origin, pc->line, msg);
    return code;
}

static config_section_t *section_add(parse_ctx_t *pc, const char *full);

/*
 * inih's reader callback: hand out one line at a time so that the handler
 * knows the line number (Debian's inih is built without
 * INI_HANDLER_LINENO) and so that an over-long line is reported as such
 * instead of being split into two lines.
 */
static char *reader(char *buf, int size, void *stream)
{
    parse_ctx_t *pc = stream;
    const char *p = pc->text + pc->pos, *nl;
    size_t len;

    if (pc->status != CSDK_OK || *p == '\0')
        return NULL;
    nl = strchr(p, '\n');
    len = nl ? (size_t)(nl - p) + 1 : strlen(p);
    pc->line++;
    pc->line_start = p;
    if (len + 1 > (size_t)size) {
        parse_fail(pc, CSDK_E_CONFIG,
                   "line is %zu bytes long, more than the %d this parser "
                   "accepts; shorten the value (paths can be relative to "
                   "the config file)",
                   nl ? len - 1 : len, size - 2);
        return NULL;
    }
    memcpy(buf, p, len);
    buf[len] = '\0';
    pc->pos += len;
    p += strspn(p, " \t");
    if (*p == '[') {
        /* inih would report an unclosed header only at the end and file
         * the keys after it under the previous section; say it here. */
        const char *close = memchr(p, ']', len - (size_t)(p - pc->line_start));
        if (!close) {
            parse_fail(pc, CSDK_E_CONFIG,
                       "section header without a closing ']'; write "
                       "[host] or [provider.NAME]");
            return NULL;
        }
        /* Sections are registered here, not in the handler: Debian's
         * inih calls the handler only for keys, so an empty or repeated
         * section would otherwise go unseen. */
        {
            char name[256];
            size_t n = (size_t)(close - p) - 1;
            if (n >= sizeof name)
                n = sizeof name - 1;
            memcpy(name, p + 1, n);
            name[n] = '\0';
            if (!section_add(pc, name))
                return NULL;
        }
    }
    return buf;
}

static config_section_t *section_add(parse_ctx_t *pc, const char *full)
{
    config_t *cfg = pc->cfg;
    config_section_t *secs, *sec;
    const char *name;
    int is_provider = 0;

    if (strcmp(full, "host") == 0) {
        name = "host";
    } else if (strncmp(full, "provider.", 9) == 0) {
        name = full + 9;
        is_provider = 1;
        if (!config_valid_name(name, 64)) {
            parse_fail(pc, CSDK_E_CONFIG,
                       "invalid provider instance name '%s'; use 1-64 "
                       "letters, digits, '_' or '-'",
                       name);
            return NULL;
        }
    } else {
        parse_fail(pc, CSDK_E_CONFIG,
                   "unknown section [%s]; sections are [host] and "
                   "[provider.NAME]",
                   full);
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_sections; i++) {
        if (cfg->sections[i].is_provider == is_provider &&
            strcmp(cfg->sections[i].name, name) == 0) {
            parse_fail(pc, CSDK_E_CONFIG,
                       "duplicate section [%s] (first on line %d); merge "
                       "the two sections",
                       full, cfg->sections[i].line);
            return NULL;
        }
    }
    secs = realloc(cfg->sections, (cfg->n_sections + 1) * sizeof *secs);
    if (!secs) {
        parse_fail(pc, CSDK_E_NOMEM, "out of memory");
        return NULL;
    }
    cfg->sections = secs;
    sec = &secs[cfg->n_sections];
    memset(sec, 0, sizeof *sec);
    sec->name = strdup(name);
    if (!sec->name) {
        parse_fail(pc, CSDK_E_NOMEM, "out of memory");
        return NULL;
    }
    sec->is_provider = is_provider;
    sec->line = pc->line;
    cfg->n_sections++;
    return sec;
}

static int handler(void *user, const char *section, const char *name,
                   const char *value)
{
    parse_ctx_t *pc = user;
    config_t *cfg = pc->cfg;
    config_section_t *sec = NULL;
    config_entry_t *ents, *e;

    if (pc->status != CSDK_OK)
        return 0;
    /* A key belongs to the section whose header the reader saw last. */
    if (cfg->n_sections == 0) {
        parse_fail(pc, CSDK_E_CONFIG,
                   "key '%s' is outside any section; put it under "
                   "[host] or [provider.NAME]",
                   name ? name : "");
        return 0;
    }
    sec = &cfg->sections[cfg->n_sections - 1];
    if (!name)
        return 1;
    if (!*name) {
        parse_fail(pc, CSDK_E_CONFIG,
                   "a key name is missing before '='; write 'key = value'");
        return 0;
    }
    for (size_t i = 0; i < sec->n_entries; i++) {
        if (strcmp(sec->entries[i].key, name) == 0) {
            if (pc->line_start &&
                (*pc->line_start == ' ' || *pc->line_start == '\t'))
                parse_fail(pc, CSDK_E_CONFIG,
                           "indented line continues key '%s' of line %d; "
                           "multi-line values are not allowed: remove the "
                           "indentation",
                           name, sec->entries[i].line);
            else
                parse_fail(pc, CSDK_E_CONFIG,
                           "duplicate key '%s' (first on line %d); keep one",
                           name, sec->entries[i].line);
            return 0;
        }
    }
    if (!sec->is_provider) {
        int known = 0;
        for (size_t i = 0; host_keys[i]; i++)
            known |= strcmp(host_keys[i], name) == 0;
        if (!known) {
            parse_fail(pc, CSDK_E_CONFIG,
                       "unknown key '%s' in [host]; known keys: plugin_dir, "
                       "default_provider, log_level, timeout_ms, retries, "
                       "rate_limit",
                       name);
            return 0;
        }
    }
    ents = realloc(sec->entries, (sec->n_entries + 1) * sizeof *ents);
    if (!ents) {
        parse_fail(pc, CSDK_E_NOMEM, "out of memory");
        return 0;
    }
    sec->entries = ents;
    e = &ents[sec->n_entries];
    e->key = strdup(name);
    e->value = strdup(value ? value : "");
    e->line = pc->line;
    if (!e->key || !e->value) {
        free(e->key);
        free(e->value);
        parse_fail(pc, CSDK_E_NOMEM, "out of memory");
        return 0;
    }
    sec->n_entries++;
    return 1;
}

static void section_free(config_section_t *sec)
{
    for (size_t j = 0; j < sec->n_entries; j++) {
        free(sec->entries[j].key);
        free(sec->entries[j].value);
    }
    free(sec->entries);
    free(sec->name);
}

void config_free(config_t *cfg)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->n_sections; i++)
        section_free(&cfg->sections[i]);
    free(cfg->sections);
    free(cfg->origin);
    free(cfg->dir);
    free(cfg);
}

csdk_status_t config_load_string(const char *text, const char *origin,
                                 config_t **out, csdk_error_t *err)
{
    parse_ctx_t pc;
    config_t *cfg;
    int rc;

    *out = NULL;
    cfg = calloc(1, sizeof *cfg);
    if (!cfg || !(cfg->origin = strdup(origin ? origin : "(string)"))) {
        free(cfg);
        return error_set(err, CSDK_E_NOMEM, "out of memory reading config");
    }
    if (strlen(text) > CONFIG_MAX_BYTES) {
        error_set(err, CSDK_E_CONFIG,
                  "%s: larger than %d bytes; is this really a csdk.ini?",
                  cfg->origin, CONFIG_MAX_BYTES);
        config_free(cfg);
        return CSDK_E_CONFIG;
    }
    memset(&pc, 0, sizeof pc);
    pc.cfg = cfg;
    pc.text = text;
    pc.err = err;
    rc = ini_parse_stream(reader, &pc, handler, &pc);
    /* inih goes on after a syntax error and reports its line at the end;
     * report whichever error came first. */
    if (rc > 0 && (pc.status == CSDK_OK || rc < pc.error_line)) {
        pc.status = CSDK_OK;
        pc.line = rc;
        parse_fail(&pc, CSDK_E_CONFIG,
                   "not a [section] header or 'key = value' line; fix the "
                   "syntax (comments start with ';' or '#')");
    }
    if (pc.status != CSDK_OK) {
        config_free(cfg);
        return pc.status;
    }
    *out = cfg;
    return CSDK_OK;
}

csdk_status_t config_load_file(const char *path, config_t **out,
                               csdk_error_t *err)
{
    struct stat st;
    char *text, *slash;
    ssize_t got;
    size_t have = 0;
    csdk_status_t rc;
    int fd;

    *out = NULL;
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return error_set(err, CSDK_E_CONFIG,
                         "%s: cannot open config file: %s; %s", path,
                         strerror(errno),
                         errno == ENOENT
                             ? "create it, or pass another with --config"
                             : "check its permissions");
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return error_set(err, CSDK_E_CONFIG,
                         "%s: not a regular file; pass a csdk.ini file", path);
    }
    if (st.st_size > CONFIG_MAX_BYTES) {
        close(fd);
        return error_set(err, CSDK_E_CONFIG,
                         "%s: larger than %d bytes; is this really a "
                         "csdk.ini?",
                         path, CONFIG_MAX_BYTES);
    }
    text = malloc((size_t)st.st_size + 1);
    if (!text) {
        close(fd);
        return error_set(err, CSDK_E_NOMEM, "out of memory reading %s", path);
    }
    while (have < (size_t)st.st_size &&
           (got = read(fd, text + have, (size_t)st.st_size - have)) != 0) {
        if (got < 0) {
            if (errno == EINTR)
                continue;
            error_set(err, CSDK_E_CONFIG, "%s: cannot read: %s", path,
                      strerror(errno));
            close(fd);
            free(text);
            return CSDK_E_CONFIG;
        }
        have += (size_t)got;
    }
    close(fd);
    text[have] = '\0';
    if (memchr(text, '\0', have)) {
        free(text);
        return error_set(err, CSDK_E_CONFIG,
                         "%s: contains a NUL byte; is this really a csdk.ini?",
                         path);
    }
    rc = config_load_string(text, path, out, err);
    free(text);
    if (rc != CSDK_OK)
        return rc;
    slash = strrchr(path, '/');
    (*out)->dir = slash ? strndup(path, (size_t)(slash - path) + 1)
                        : strdup("./");
    if (!(*out)->dir) {
        config_free(*out);
        *out = NULL;
        return error_set(err, CSDK_E_NOMEM, "out of memory");
    }
    return CSDK_OK;
}

const config_section_t *config_host(const config_t *cfg)
{
    for (size_t i = 0; i < cfg->n_sections; i++)
        if (!cfg->sections[i].is_provider)
            return &cfg->sections[i];
    return NULL;
}

const config_entry_t *config_find(const config_section_t *sec,
                                  const char *key)
{
    if (!sec)
        return NULL;
    for (size_t i = 0; i < sec->n_entries; i++)
        if (strcmp(sec->entries[i].key, key) == 0)
            return &sec->entries[i];
    return NULL;
}
