/*
 * host/cli/args.c - option parsing, numbers, KEY=VALUE lists, input.
 *
 * A small parser instead of getopt_long: each command has its own option
 * table, options may follow operands, "--" ends options, and errors are
 * reported in the command's words ("csdk: exec: ...") with exit code 2.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("csdk: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\nTry 'csdk --help'.\n", stderr);
    return CLI_EXIT_USAGE;
}

/* Options every command accepts. */
enum { KEY_HELP = -1, KEY_JSON = -2 };
static const cli_option_t common_options[] = {
    {"help", 'h', CLI_NO_ARG, KEY_HELP},
    {"json", 0, CLI_NO_ARG, KEY_JSON},
    {NULL, 0, 0, 0},
};

static const cli_option_t *find_long(const cli_option_t *spec,
                                     const char *name, size_t len)
{
    const cli_option_t *tables[2] = {spec, common_options};

    for (size_t t = 0; t < 2; t++) {
        for (const cli_option_t *o = tables[t]; o->long_name || o->short_name;
             o++) {
            if (o->long_name && strlen(o->long_name) == len &&
                memcmp(o->long_name, name, len) == 0)
                return o;
        }
    }
    return NULL;
}

static const cli_option_t *find_short(const cli_option_t *spec, char c)
{
    const cli_option_t *tables[2] = {spec, common_options};

    for (size_t t = 0; t < 2; t++) {
        for (const cli_option_t *o = tables[t]; o->long_name || o->short_name;
             o++) {
            if (o->short_name == c)
                return o;
        }
    }
    return NULL;
}

static void record(cli_parsed_t *out, const cli_option_t *o,
                   const char *value)
{
    if (o->key == KEY_HELP) {
        out->help = 1;
        return;
    }
    if (o->key == KEY_JSON) {
        out->json = 1;
        return;
    }
    out->opts[out->n_opts].key = o->key;
    out->opts[out->n_opts].name = o->long_name;
    out->opts[out->n_opts].value = value;
    out->n_opts++;
}

int cli_parse(const char *cmd, int argc, char **argv,
              const cli_option_t *spec, size_t stop_after, cli_parsed_t *out)
{
    int options_done = 0;

    memset(out, 0, sizeof *out);
    /* At most one entry per argument. */
    out->opts = calloc((size_t)argc + 1, sizeof *out->opts);
    out->pos = calloc((size_t)argc + 1, sizeof *out->pos);
    if (!out->opts || !out->pos) {
        cli_parsed_free(out);
        fputs("csdk: out of memory\n", stderr);
        return CLI_EXIT_FAILURE;
    }

    for (int i = 1; i < argc; i++) {
        char *a = argv[i];

        if (!options_done && strcmp(a, "--") == 0) {
            options_done = 1;
            out->dashdash = 1;
            out->n_before_dashdash = out->n_pos;
            continue;
        }
        if (options_done || a[0] != '-' || a[1] == '\0') {
            /* An operand ("-" alone means standard input). */
            if (!options_done && stop_after > 0 && out->n_pos == stop_after)
                options_done = 1;
            out->pos[out->n_pos++] = a;
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            const cli_option_t *o = find_long(spec, name, len);

            if (!o) {
                int rc = cli_usage_error("%s: unknown option '--%.*s'", cmd,
                                         (int)len, name);
                cli_parsed_free(out);
                return rc;
            }
            if (o->has_arg == CLI_NO_ARG && eq) {
                cli_parsed_free(out);
                return cli_usage_error("%s: option '--%s' takes no value",
                                       cmd, o->long_name);
            }
            if (o->has_arg == CLI_ARG && !eq) {
                if (i + 1 >= argc) {
                    cli_parsed_free(out);
                    return cli_usage_error("%s: option '--%s' needs a value",
                                           cmd, o->long_name);
                }
                record(out, o, argv[++i]);
            } else {
                record(out, o, eq ? eq + 1 : NULL);
            }
            continue;
        }
        /* Short options: -v, -pNAME, -p NAME; flags may be grouped. */
        for (const char *c = a + 1; *c; c++) {
            const cli_option_t *o = find_short(spec, *c);

            if (!o) {
                cli_parsed_free(out);
                return cli_usage_error("%s: unknown option '-%c'", cmd, *c);
            }
            if (o->has_arg == CLI_NO_ARG) {
                record(out, o, NULL);
                continue;
            }
            if (c[1] != '\0') {
                record(out, o, c + 1);
            } else if (i + 1 < argc) {
                record(out, o, argv[++i]);
            } else {
                cli_parsed_free(out);
                return cli_usage_error("%s: option '-%c' needs a value", cmd,
                                       *c);
            }
            break;
        }
    }
    if (!out->dashdash)
        out->n_before_dashdash = out->n_pos;
    return 0;
}

void cli_parsed_free(cli_parsed_t *p)
{
    free(p->opts);
    free(p->pos);
    p->opts = NULL;
    p->pos = NULL;
    p->n_opts = p->n_pos = 0;
}

int cli_parse_u64(const char *cmd, const char *what, const char *s,
                  uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (s[0] < '0' || s[0] > '9')
        return cli_usage_error("%s: %s: '%s' is not a non-negative number",
                               cmd, what, s);
    errno = 0;
    v = strtoull(s, &end, 10);
    if (*end != '\0')
        return cli_usage_error("%s: %s: '%s' is not a non-negative number",
                               cmd, what, s);
    if (errno == ERANGE || v > UINT64_MAX / 2)
        return cli_usage_error("%s: %s: '%s' is too large", cmd, what, s);
    *out = (uint64_t)v;
    return 0;
}

int cli_parse_port(const char *cmd, const char *what, const char *s,
                   uint32_t *out)
{
    uint64_t v;
    int rc = cli_parse_u64(cmd, what, s, &v);

    if (rc)
        return rc;
    if (v == 0 || v > 65535)
        return cli_usage_error("%s: %s: '%s' is not a port (1-65535)", cmd,
                               what, s);
    *out = (uint32_t)v;
    return 0;
}

int cli_kvlist_add(cli_kvlist_t *l, const char *cmd, const char *opt,
                   const char *arg)
{
    const char *eq = strchr(arg, '=');
    csdk_kv_t *items;
    char **bufs;
    char *buf;

    if (!eq)
        return cli_usage_error("%s: %s: '%s' is not KEY=VALUE", cmd, opt,
                               arg);
    if (eq == arg)
        return cli_usage_error("%s: %s: '%s' has an empty KEY", cmd, opt,
                               arg);
    items = realloc(l->items, (l->n + 1) * sizeof *items);
    if (!items)
        goto nomem;
    l->items = items;
    bufs = realloc(l->bufs, (l->n + 1) * sizeof *bufs);
    if (!bufs)
        goto nomem;
    l->bufs = bufs;
    buf = strdup(arg);
    if (!buf)
        goto nomem;
    buf[eq - arg] = '\0';
    l->bufs[l->n] = buf;
    l->items[l->n].key = buf;
    l->items[l->n].value = buf + (eq - arg) + 1;
    l->n++;
    return 0;
nomem:
    fprintf(stderr, "csdk: %s: out of memory\n", cmd);
    return CLI_EXIT_FAILURE;
}

void cli_kvlist_free(cli_kvlist_t *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->bufs[i]);
    free(l->bufs);
    free(l->items);
    l->bufs = NULL;
    l->items = NULL;
    l->n = 0;
}

int cli_read_fd(int fd, char **data, size_t *len)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap + 1);

    if (!buf)
        return ENOMEM;
    for (;;) {
        ssize_t r;

        if (n == cap) {
            char *nb;

            if (cap > SIZE_MAX / 2 - 1) {
                free(buf);
                return EFBIG;
            }
            nb = realloc(buf, cap * 2 + 1);
            if (!nb) {
                free(buf);
                return ENOMEM;
            }
            buf = nb;
            cap *= 2;
        }
        r = read(fd, buf + n, cap - n);
        if (r < 0) {
            int e = errno;

            if (e == EINTR && !cli_interrupted)
                continue;
            free(buf);
            return e;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    buf[n] = '\0';
    *data = buf;
    *len = n;
    return 0;
}

int cli_read_input(const char *cmd, const char *path, char **data,
                   size_t *len)
{
    int fd = STDIN_FILENO, e;
    int from_stdin = !path || strcmp(path, "-") == 0;

    if (!from_stdin) {
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0) {
            e = errno;
            fprintf(stderr, "csdk: %s: cannot open '%s': %s\n", cmd, path,
                    strerror(e));
            return CLI_EXIT_NOTFOUND;
        }
    }
    e = cli_read_fd(fd, data, len);
    if (!from_stdin)
        close(fd);
    if (e) {
        if (from_stdin)
            fprintf(stderr, "csdk: %s: cannot read standard input: %s\n",
                    cmd, strerror(e));
        else
            fprintf(stderr, "csdk: %s: cannot read '%s': %s\n", cmd, path,
                    strerror(e));
        return e == EINTR ? CLI_EXIT_CANCELLED : CLI_EXIT_NOTFOUND;
    }
    return 0;
}
