#include "internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "stubs.h"

/* Offsets of the method slots, in CSDK_M_* order. */
static const size_t slot_offsets[CSDK_M_COUNT] = {
#define O(f) offsetof(csdk_provider_def_t, f)
    O(create),          O(get),             O(list),
    O(destroy),         O(run_command),     O(run_code),
    O(info),            O(url),             O(read_file),
    O(write_file),      O(mkdir),           O(readdir),
    O(exists),          O(remove),          O(find),
    O(find_or_create),  O(extend_timeout),  O(template_create),
    O(template_list),   O(template_delete), O(snapshot_create),
    O(snapshot_list),   O(snapshot_delete),
#undef O
};

loader_any_fn *loader_get_slot(const csdk_provider_def_t *def, uint32_t m)
{
    loader_any_fn *fn;
    memcpy(&fn, (const char *)def + slot_offsets[m], sizeof fn);
    return fn;
}

void loader_set_slot(csdk_provider_def_t *def, uint32_t m, loader_any_fn *fn)
{
    memcpy((char *)def + slot_offsets[m], &fn, sizeof fn);
}

int loader_method_required(uint32_t m) { return m <= CSDK_M_URL; }

csdk_status_t loader_check_perms(const char *path, csdk_error_t *err)
{
    struct stat st;
    char *copy = strdup(path), *dir;
    csdk_status_t rc = CSDK_OK;

    if (!copy)
        return error_set(err, CSDK_E_NOMEM, "out of memory");
    dir = dirname(copy);
    if (stat(dir, &st) != 0) {
        rc = error_set(err, CSDK_E_CONFIG,
                       "%s: cannot load plugin: directory %s: %s; check "
                       "plugin_dir in [host] or plugin= in the section",
                       path, dir, strerror(errno));
    } else if ((st.st_mode & (S_IWGRP | S_IWOTH)) &&
               !(st.st_mode & S_ISVTX)) {
        /* A sticky directory (/tmp) lets nobody replace another's file;
         * the owner check below covers it. */
        rc = error_set(err, CSDK_E_PERMISSION,
                       "%s: refused: directory %s is writable by %s (mode "
                       "%04o), so anyone there could replace the plugin; fix: "
                       "chmod go-w %s, or move the plugin",
                       path, dir, (st.st_mode & S_IWOTH) ? "everyone" : "its group",
                       (unsigned)(st.st_mode & 07777), dir);
    } else if (stat(path, &st) != 0) {
        rc = error_set(err, CSDK_E_CONFIG,
                       "%s: cannot load plugin: %s; check plugin= and "
                       "plugin_dir",
                       path, strerror(errno));
    } else if (!S_ISREG(st.st_mode)) {
        rc = error_set(err, CSDK_E_CONFIG,
                       "%s: not a regular file; point plugin= at a .so", path);
    } else if (st.st_mode & (S_IWGRP | S_IWOTH)) {
        rc = error_set(err, CSDK_E_PERMISSION,
                       "%s: refused: the file is writable by %s (mode %04o); "
                       "fix: chmod go-w %s",
                       path, (st.st_mode & S_IWOTH) ? "everyone" : "its group",
                       (unsigned)(st.st_mode & 07777), path);
    } else if (st.st_uid != 0 && st.st_uid != geteuid()) {
        rc = error_set(err, CSDK_E_PERMISSION,
                       "%s: refused: owned by uid %u, neither root nor you; "
                       "install the plugin yourself or as root",
                       path, (unsigned)st.st_uid);
    }
    free(copy);
    return rc;
}

/* dlopen's message for a non-ELF file is cryptic; say it plainly. */
static csdk_status_t check_elf(const char *path, csdk_error_t *err)
{
    unsigned char magic[4] = {0};
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return error_set(err, CSDK_E_CONFIG, "%s: cannot open: %s", path,
                         strerror(errno));
    n = read(fd, magic, sizeof magic);
    close(fd);
    if (n != 4 || memcmp(magic, "\177ELF", 4) != 0)
        return error_set(err, CSDK_E_ABI,
                         "%s: not an ELF shared object; point plugin= at a "
                         "plugin built as a .so",
                         path);
    return CSDK_OK;
}

static int valid_plugin_name(const char *s)
{
    size_t n = 0;
    if (!s)
        return 0;
    for (; s[n]; n++)
        if (!((s[n] >= 'a' && s[n] <= 'z') || (s[n] >= '0' && s[n] <= '9') ||
              s[n] == '_' || s[n] == '-'))
            return 0;
    return n >= 1 && n <= 32;
}

/* Step 3: the table itself.  `raw` is the plugin's, unchecked. */
static csdk_status_t check_table(const char *path,
                                 const csdk_provider_def_t *raw,
                                 csdk_provider_def_t *def, csdk_error_t *err)
{
    char missing[256] = "";
    uint32_t major = CSDK_ABI_VERSION_MAJOR(raw->abi_version);
    size_t size = raw->struct_size;

    if (major != CSDK_ABI_MAJOR)
        return error_set(err, CSDK_E_ABI,
                         "%s: built for plugin ABI %u.%u, this host speaks "
                         "%u.x; rebuild the plugin against csdk %u headers",
                         path, major, CSDK_ABI_VERSION_MINOR(raw->abi_version),
                         CSDK_ABI_MAJOR, CSDK_ABI_MAJOR);
    if (size < LOADER_MIN_STRUCT_SIZE)
        return error_set(err, CSDK_E_ABI,
                         "%s: struct_size %zu is smaller than the %zu bytes "
                         "of ABI 1.0's required slots; set .struct_size = "
                         "sizeof(csdk_provider_def_t) and rebuild",
                         path, size, (size_t)LOADER_MIN_STRUCT_SIZE);
    /* Copy what both sides know; the rest of ours stays zero (NULL). */
    memset(def, 0, sizeof *def);
    memcpy(def, raw, size < sizeof *def ? size : sizeof *def);
    if (!valid_plugin_name(def->name))
        return error_set(err, CSDK_E_ABI,
                         "%s: invalid plugin name '%.40s'; use 1-32 of "
                         "[a-z0-9_-]",
                         path, def->name ? def->name : "(null)");
    if (!def->init)
        strcat(missing, " init");
    if (!def->fini)
        strcat(missing, " fini");
    for (uint32_t m = 0; m < CSDK_M_COUNT; m++) {
        if (loader_method_required(m) && !loader_get_slot(def, m)) {
            strcat(missing, " ");
            strcat(missing, csdk_method_name(m));
        }
    }
    if (missing[0])
        return error_set(err, CSDK_E_ABI,
                         "%s: plugin '%s' lacks required slot(s):%s; "
                         "implement them (a slot may answer "
                         "CSDK_E_NOT_SUPPORTED)",
                         path, def->name, missing);
    return CSDK_OK;
}

csdk_status_t loader_open(const char *path, const char *entry, void **dl,
                          csdk_provider_def_t *def, uint64_t *caps,
                          csdk_error_t *err)
{
    csdk_provider_entry_fn *entry_fn;
    const csdk_provider_def_t *raw;
    void *handle, *sym;
    csdk_status_t rc;

    *dl = NULL;
    if ((rc = loader_check_perms(path, err)) != CSDK_OK ||
        (rc = check_elf(path, err)) != CSDK_OK)
        return rc;
    handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
    if (!handle) {
        const char *why = dlerror();
        return error_set(err, CSDK_E_ABI,
                         "dlopen failed: %s; missing dependencies? try: ldd %s",
                         why ? why : "unknown error", path);
    }
    if (!entry)
        entry = CSDK_PROVIDER_ENTRY;
    dlerror();
    sym = dlsym(handle, entry);
    if (!sym) {
        dlclose(handle);
        return error_set(err, CSDK_E_ABI,
                         "%s: no symbol '%s'; a plugin must export "
                         "csdk_provider_entry (see csdk-provider(3)), or name "
                         "its entry with entry= in the config",
                         path, entry);
    }
    /* POSIX guarantees this conversion for dlsym results. */
    memcpy(&entry_fn, &sym, sizeof entry_fn);
    raw = entry_fn(CSDK_ABI_VERSION);
    if (!raw) {
        dlclose(handle);
        return error_set(err, CSDK_E_ABI,
                         "%s: %s() returned NULL for host ABI %u.%u: the "
                         "plugin does not support this host; rebuild it "
                         "against this csdk",
                         path, entry, CSDK_ABI_MAJOR, CSDK_ABI_MINOR);
    }
    if ((rc = check_table(path, raw, def, err)) != CSDK_OK) {
        dlclose(handle);
        return rc;
    }
    /* Step 4: capabilities come from what the plugin really filled in. */
    *caps = 0;
    for (uint32_t m = 0; m < CSDK_M_COUNT; m++)
        if (loader_get_slot(def, m))
            *caps |= CSDK_CAP(m);
    /* Step 5. */
    stubs_fill(def);
    *dl = handle;
    return CSDK_OK;
}
