#!/bin/sh
# After `make install DESTDIR=...`, a provider written outside this tree and
# compiled with nothing but `pkg-config --cflags csdk` and `cc -shared`
# loads into the installed csdk and runs.  Also checks the installed layout.
set -eu
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
root="$tmp/root"

$MAKE -s -C "$top_builddir" install DESTDIR="$root" >"$tmp/install.log" 2>&1 || {
    cat "$tmp/install.log"; echo "FAIL: make install"; exit 1; }

pcfile=$(find "$root" -name csdk.pc | head -n 1)
[ -n "$pcfile" ] || { echo "FAIL: csdk.pc not installed"; exit 1; }
export PKG_CONFIG_PATH="$(dirname "$pcfile")"
export PKG_CONFIG_SYSROOT_DIR="$root"
libdir=$(pkg-config --variable=libdir csdk)        # already under $root
plugindir=$(pkg-config --variable=plugindir csdk)
prefix=$(pkg-config --variable=prefix csdk)

for f in "$prefix/bin/csdk" "$libdir/libcsdk.so" \
         "$(pkg-config --variable=includedir csdk)/csdk/provider.h" \
         "$(pkg-config --variable=includedir csdk)/csdk/csdk.h" \
         "$plugindir/example.so" ; do
    [ -e "$f" ] || { echo "FAIL: not installed: $f"; exit 1; }
done
find "$root" -name csdk.ini -path '*/csdk/csdk.ini' | grep -q . ||
    { echo "FAIL: csdk.ini not installed under sysconfdir/csdk"; exit 1; }
find "$root" -name csdk.1 | grep -q . || { echo "FAIL: csdk.1 not installed"; exit 1; }
# The plugin exports only its entry point.
syms=$(nm -D --defined-only "$plugindir/example.so" | awk '$2 == "T" {print $3}')
[ "$syms" = "csdk_provider_entry" ] || { echo "FAIL: example.so exports: $syms"; exit 1; }

mkdir "$tmp/src" "$tmp/plugins"
cat >"$tmp/src/mine.c" <<'PLUGIN'
#include <csdk/provider.h>
#include <string.h>

static csdk_init_fn mine_init;
static csdk_fini_fn mine_fini;
static csdk_create_fn mine_create;
static csdk_get_fn mine_get;
static csdk_list_fn mine_list;
static csdk_destroy_fn mine_destroy;
static csdk_run_command_fn mine_run;
static csdk_run_code_fn mine_code;
static csdk_url_fn mine_url;
static const csdk_host_t *H;

static csdk_status_t mine_init(const csdk_host_t *host, csdk_instance_t *inst,
                               const char *name, const csdk_kv_t *cfg,
                               size_t n, csdk_call_t *call, void **state)
{
    H = host;
    *state = NULL;
    return CSDK_OK;
}
static void mine_fini(void *state) {}
static csdk_status_t mine_create(void *s, csdk_call_t *c,
                                 const csdk_create_opts_t *o)
{
    H->set_str(c, CSDK_F_ID, "m1");
    return CSDK_OK;
}
static csdk_status_t mine_get(void *s, csdk_call_t *c, const char *id)
{
    if (strcmp(id, "m1") != 0)
        return H->error(c, CSDK_E_NOT_FOUND, "no sandbox %s", id);
    H->set_str(c, CSDK_F_ID, id);
    H->set_str(c, CSDK_F_STATUS, "running");
    return CSDK_OK;
}
static csdk_status_t mine_list(void *s, csdk_call_t *c) { return CSDK_OK; }
static csdk_status_t mine_destroy(void *s, csdk_call_t *c, const char *id)
{
    return CSDK_OK;
}
static csdk_status_t mine_run(void *s, csdk_call_t *c, const char *id,
                              const csdk_run_opts_t *o)
{
    const char *msg = "out-of-tree:";
    H->write(c, CSDK_STREAM_STDOUT, msg, strlen(msg));
    for (size_t i = 0; o->argv && o->argv[i]; i++) {
        H->write(c, CSDK_STREAM_STDOUT, " ", 1);
        H->write(c, CSDK_STREAM_STDOUT, o->argv[i], strlen(o->argv[i]));
    }
    H->write(c, CSDK_STREAM_STDOUT, "\n", 1);
    H->set_int(c, CSDK_F_EXIT_CODE, 0);
    return CSDK_OK;
}
static csdk_status_t mine_code(void *s, csdk_call_t *c, const char *id,
                               const char *code, size_t len, const char *lang,
                               const csdk_run_opts_t *o)
{
    return H->error(c, CSDK_E_NOT_SUPPORTED, "no interpreters here");
}
static csdk_status_t mine_url(void *s, csdk_call_t *c, const char *id,
                              uint32_t port, const char *proto)
{
    return H->error(c, CSDK_E_NOT_SUPPORTED, "no network");
}

static const csdk_provider_def_t def = {
    .abi_version = CSDK_ABI_VERSION,
    .struct_size = sizeof(csdk_provider_def_t),
    .name = "mine",
    .version = "0.0.1",
    .init = mine_init, .fini = mine_fini,
    .create = mine_create, .get = mine_get, .list = mine_list,
    .destroy = mine_destroy, .run_command = mine_run, .run_code = mine_code,
    .info = mine_get, .url = mine_url,
};

CSDK_EXPORT const csdk_provider_def_t *csdk_provider_entry(uint32_t host_abi)
{
    return CSDK_ABI_VERSION_MAJOR(host_abi) == CSDK_ABI_MAJOR ? &def : NULL;
}
PLUGIN

# shellcheck disable=SC2046
${CC:-cc} -shared -fPIC -Wall -Werror $(pkg-config --cflags csdk) \
    -o "$tmp/plugins/mine.so" "$tmp/src/mine.c"
chmod 755 "$tmp/plugins"

cat >"$tmp/csdk.ini" <<INI
[host]
plugin_dir = $plugindir
default_provider = mine
[provider.mine]
plugin = $tmp/plugins/mine.so
[provider.example]
plugin = example
INI

csdk() { LD_LIBRARY_PATH="$libdir" "$prefix/bin/csdk" --config "$tmp/csdk.ini" "$@"; }

out=$(csdk run -- echo built outside)
[ "$out" = "out-of-tree: echo built outside" ] || { echo "FAIL: run printed: $out"; exit 1; }
csdk providers >"$tmp/providers" 2>&1 || { cat "$tmp/providers"; echo "FAIL: providers"; exit 1; }
grep -q mine "$tmp/providers" || { echo "FAIL: providers lacks mine"; exit 1; }
# The installed example plugin works from the installed plugin_dir too.
out=$(csdk run -p example -- echo installed example)
[ "$out" = "installed example" ] || { echo "FAIL: example printed: $out"; exit 1; }
echo "PASS: out-of-tree plugin built with pkg-config loads into installed csdk"
