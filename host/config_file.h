/* Reading csdk.ini: the text is parsed with inih into sections of
 * key/value entries that remember their line, then checked (section names,
 * duplicates, [host] keys).  Nothing here interprets provider keys. */
#ifndef CSDK_HOST_CONFIG_FILE_H
#define CSDK_HOST_CONFIG_FILE_H
#include <csdk/csdk.h>

typedef struct config_entry {
    char *key;
    char *value;
    int line;
} config_entry_t;

typedef struct config_section {
    char *name;      /* "host", or the instance NAME of [provider.NAME] */
    int is_provider;
    int line;
    config_entry_t *entries;
    size_t n_entries;
} config_section_t;

typedef struct config {
    char *origin;    /* the file's path, or a label such as "(built-in
                        default)" */
    char *dir;       /* the file's directory (for relative plugin paths),
                        or NULL */
    config_section_t *sections;
    size_t n_sections;
} config_t;

/* Longest accepted file: a config is not a database. */
#define CONFIG_MAX_BYTES (1024 * 1024)

/* Parse a file / text.  On failure *out is NULL and err says
 * "FILE:LINE: problem; fix".  Status CSDK_E_CONFIG, or CSDK_E_NOMEM. */
csdk_status_t config_load_file(const char *path, config_t **out,
                               csdk_error_t *err);
csdk_status_t config_load_string(const char *text, const char *origin,
                                 config_t **out, csdk_error_t *err);
void config_free(config_t *cfg);

/* The [host] section, or NULL. */
const config_section_t *config_host(const config_t *cfg);
/* The entry for `key` in `sec`, or NULL. */
const config_entry_t *config_find(const config_section_t *sec,
                                  const char *key);

/* Names for instances (and plugins): [A-Za-z0-9_-], 1..64 bytes.  They
 * appear in sandbox ids before a ':', so ':' is excluded. */
int config_valid_name(const char *s, size_t max);

#endif
