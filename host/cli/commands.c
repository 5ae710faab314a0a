/*
 * host/cli/commands.c - one function per `csdk` command.
 *
 * Each command parses its arguments (usage errors exit 2 before anything
 * is opened), opens the host, makes its calls and prints the result as
 * text or, with --json, as one JSON document on stdout.
 */
#include "cli.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Option keys.  Short options use their letter. */
enum {
    OPT_PROVIDER = 'p',
    OPT_LANGUAGE = 'l',
    OPT_STDIN = 'i',
    OPT_RUNTIME = 256,
    OPT_TEMPLATE,
    OPT_TIMEOUT,
    OPT_ENV,
    OPT_META,
    OPT_NETWORK,
    OPT_EXTRA,
    OPT_CWD,
    OPT_BACKGROUND,
    OPT_SHELL,
    OPT_PROTOCOL,
};

/*
 * Parse a command's arguments.  Returns -1 to go on, or the exit code to
 * return at once (usage error, or --help printed).
 */
static int begin(cli_t *cli, int argc, char **argv, const cli_option_t *spec,
                 size_t stop_after, cli_parsed_t *p)
{
    int rc = cli_parse(cli->cmd, argc, argv, spec, stop_after, p);

    if (rc)
        return rc;
    if (p->help) {
        /* "fs read" shows the help of "fs". */
        char name[32];
        size_t n = strcspn(cli->cmd, " ");

        snprintf(name, sizeof name, "%.*s", (int)n, cli->cmd);
        cli_parsed_free(p);
        return cli_print_command_help(cli_find_command(name));
    }
    if (p->json)
        cli->json = 1;
    return -1;
}

/* Check the operand count; on error free `p` and return the exit code. */
static int want_operands(cli_t *cli, cli_parsed_t *p, size_t min, size_t max,
                         const char *names)
{
    size_t n = p->n_pos;

    if (n >= min && n <= max)
        return 0;
    cli_parsed_free(p);
    if (n < min)
        return cli_usage_error("%s: missing %s", cli->cmd, names);
    return cli_usage_error("%s: too many arguments (expected %s)", cli->cmd,
                           names);
}

static csdk_call_opts_t call_opts(void)
{
    csdk_call_opts_t c;

    memset(&c, 0, sizeof c);
    c.struct_size = sizeof c;
    /* Ctrl-C reaches the provider even while a command prints nothing. */
    c.cancel = &cli_interrupted;
    return c;
}

/* A one-line printf to stdout for plain (non-JSON) results. */
static int print_line(const char *s)
{
    if (printf("%s\n", s ? s : "") < 0)
        return errno == EPIPE ? CLI_EXIT_PIPE : CLI_EXIT_FAILURE;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Create options, shared by create, find-or-create and run            */
/* ------------------------------------------------------------------ */

typedef struct create_args {
    const char *provider;
    csdk_create_opts_t opts;
    cli_kvlist_t env, meta, extra;
} create_args_t;

static void create_args_init(create_args_t *ca)
{
    memset(ca, 0, sizeof *ca);
    ca->opts.struct_size = sizeof ca->opts;
}

/*
 * Take option `o` if it is a create option.  --env and --timeout belong to
 * the sandbox only when `sandbox_env` is set (run uses them for the
 * command).  Returns 0 taken, -1 not a create option, or an exit code.
 */
static int create_arg(cli_t *cli, create_args_t *ca, const cli_optarg_t *o,
                      int sandbox_env)
{
    switch (o->key) {
    case OPT_PROVIDER:
        ca->provider = o->value;
        return 0;
    case OPT_RUNTIME:
        ca->opts.runtime = o->value;
        return 0;
    case OPT_TEMPLATE:
        ca->opts.template_id = o->value;
        return 0;
    case OPT_NETWORK:
        ca->opts.flags |= CSDK_CREATE_NETWORK;
        return 0;
    case OPT_META:
        return cli_kvlist_add(&ca->meta, cli->cmd, "--meta", o->value);
    case OPT_EXTRA:
        return cli_kvlist_add(&ca->extra, cli->cmd, "--opt", o->value);
    case OPT_ENV:
        if (!sandbox_env)
            return -1;
        return cli_kvlist_add(&ca->env, cli->cmd, "--env", o->value);
    case OPT_TIMEOUT:
        if (!sandbox_env)
            return -1;
        return cli_parse_u64(cli->cmd, "--timeout", o->value,
                             &ca->opts.timeout_ms);
    default:
        return -1;
    }
}

static void create_args_finish(create_args_t *ca)
{
    ca->opts.env = ca->env.items;
    ca->opts.n_env = ca->env.n;
    ca->opts.metadata = ca->meta.items;
    ca->opts.n_metadata = ca->meta.n;
    ca->opts.extra = ca->extra.items;
    ca->opts.n_extra = ca->extra.n;
}

static void create_args_free(create_args_t *ca)
{
    cli_kvlist_free(&ca->env);
    cli_kvlist_free(&ca->meta);
    cli_kvlist_free(&ca->extra);
}

#define CREATE_OPTIONS                                                      \
    {"provider", 'p', CLI_ARG, OPT_PROVIDER},                               \
        {"runtime", 0, CLI_ARG, OPT_RUNTIME},                               \
        {"template", 0, CLI_ARG, OPT_TEMPLATE},                             \
        {"meta", 0, CLI_ARG, OPT_META}, {"network", 0, CLI_NO_ARG,          \
                                         OPT_NETWORK},                      \
        {"opt", 0, CLI_ARG, OPT_EXTRA}

/* ------------------------------------------------------------------ */
/* providers                                                           */
/* ------------------------------------------------------------------ */

static json_t *caps_json(uint64_t caps)
{
    json_t *a = json_array();

    for (uint32_t m = 0; a && m < CSDK_M_COUNT; m++)
        if (caps & CSDK_CAP(m))
            json_array_append_new(a, json_string(csdk_method_name(m)));
    return a;
}

/* Comma-separated method names, malloc'd. */
static char *caps_text(uint64_t caps)
{
    size_t size = 1;
    char *s;

    for (uint32_t m = 0; m < CSDK_M_COUNT; m++)
        size += strlen(csdk_method_name(m)) + 1;
    s = malloc(size);
    if (!s)
        return NULL;
    s[0] = '\0';
    for (uint32_t m = 0; m < CSDK_M_COUNT; m++) {
        if (!(caps & CSDK_CAP(m)))
            continue;
        if (s[0])
            strcat(s, ",");
        strcat(s, csdk_method_name(m));
    }
    return s;
}

static int cmd_providers(cli_t *cli, int argc, char **argv)
{
    static const cli_option_t spec[] = {{NULL, 0, 0, 0}};
    cli_parsed_t p;
    cli_table_t t = {.n_cols = 5};
    json_t *list = NULL;
    size_t n;
    int rc = begin(cli, argc, argv, spec, 0, &p);

    if (rc >= 0)
        return rc;
    if ((rc = want_operands(cli, &p, 0, 0, "no arguments")) != 0)
        return rc;
    cli_parsed_free(&p);
    if ((rc = cli_open(cli)) != 0)
        return rc;

    if (cli->json && !(list = json_array()))
        return cli_error(cli, CLI_EXIT_FAILURE, "out of memory");
    n = csdk_provider_count(cli->h);
    for (size_t i = 0; i < n; i++) {
        csdk_provider_info_t info;

        if (csdk_provider_get(cli->h, i, &info) != CSDK_OK)
            break;
        if (cli->json) {
            json_t *o = json_object();
            char abi[32];

            snprintf(abi, sizeof abi, "%u.%u",
                     CSDK_ABI_VERSION_MAJOR(info.abi_version),
                     CSDK_ABI_VERSION_MINOR(info.abi_version));
            json_object_set_new(o, "name", cli_json_str(info.name));
            json_object_set_new(o, "plugin", cli_json_str(info.plugin));
            json_object_set_new(o, "plugin_name",
                                cli_json_str(info.plugin_name));
            json_object_set_new(o, "version", cli_json_str(info.version));
            json_object_set_new(o, "description",
                                cli_json_str(info.description));
            json_object_set_new(o, "abi", info.abi_version ? json_string(abi)
                                                           : json_null());
            json_object_set_new(o, "loaded", json_boolean(info.loaded));
            json_object_set_new(o, "capabilities", caps_json(info.caps));
            json_object_set_new(o, "error", cli_json_str(info.error));
            json_array_append_new(list, o);
        } else {
            char *caps = info.loaded ? caps_text(info.caps) : NULL;
            const char *row[5] = {
                info.name, info.loaded ? "ready" : "refused", info.plugin,
                info.version,
                info.loaded ? caps : info.error,
            };

            if ((info.loaded && !caps) || cli_table_add(&t, row) != 0) {
                free(caps);
                cli_table_free(&t);
                return cli_error(cli, CLI_EXIT_FAILURE, "out of memory");
            }
            free(caps);
        }
    }
    if (cli->json) {
        json_t *o = json_object();

        json_object_set_new(o, "providers", list);
        json_object_set_new(o, "default",
                            cli_json_str(csdk_default_provider(cli->h)));
        return cli_print_json(cli, o);
    }
    cli_table_print(&t, stdout);
    cli_table_free(&t);
    return 0;
}

/* ------------------------------------------------------------------ */
/* create, find, find-or-create, extend, info, list, destroy, url      */
/* ------------------------------------------------------------------ */

static int print_sandbox_id(cli_t *cli, csdk_sandbox_t *sb, int with_created)
{
    int rc;

    if (cli->json)
        rc = cli_print_json(cli, cli_json_sandbox(sb, with_created));
    else
        rc = print_line(sb->id);
    csdk_sandbox_clear(sb);
    return rc;
}

/* create and find-or-create share everything but the call. */
static int create_like(cli_t *cli, int argc, char **argv, int named)
{
    static const cli_option_t spec[] = {
        CREATE_OPTIONS,
        {"timeout", 0, CLI_ARG, OPT_TIMEOUT},
        {"env", 0, CLI_ARG, OPT_ENV},
        {NULL, 0, 0, 0},
    };
    cli_parsed_t p;
    create_args_t ca;
    csdk_call_opts_t copts = call_opts();
    csdk_sandbox_t sb;
    csdk_error_t err;
    csdk_status_t st;
    int rc = begin(cli, argc, argv, spec, 0, &p);

    if (rc >= 0)
        return rc;
    rc = named ? want_operands(cli, &p, 2, 2, "NAMESPACE NAME")
               : want_operands(cli, &p, 0, 0, "no arguments");
    if (rc)
        return rc;
    create_args_init(&ca);
    for (size_t i = 0; i < p.n_opts; i++) {
        if ((rc = create_arg(cli, &ca, &p.opts[i], 1)) != 0)
            goto out;
    }
    create_args_finish(&ca);
    if ((rc = cli_open(cli)) != 0)
        goto out;
    memset(&sb, 0, sizeof sb);
    memset(&err, 0, sizeof err);
    if (named)
        st = csdk_find_or_create(cli->h, ca.provider, p.pos[0], p.pos[1],
                                 &ca.opts, &copts, &sb, &err);
    else
        st = csdk_create(cli->h, ca.provider, &ca.opts, &copts, &sb, &err);
    if (st != CSDK_OK)
        rc = cli_fail(cli, st, &err, NULL);
    else
        rc = print_sandbox_id(cli, &sb, named);
out:
    create_args_free(&ca);
    cli_parsed_free(&p);
    return rc;
}

static int cmd_create(cli_t *cli, int argc, char **argv)
{
    return create_like(cli, argc, argv, 0);
}

static int cmd_find_or_create(cli_t *cli, int argc, char **argv)
{
    return create_like(cli, argc, argv, 1);
}

static int cmd_find(cli_t *cli, int argc, char **argv)
{
    static const cli_option_t spec[] = {
        {"provider", 'p', CLI_ARG, OPT_PROVIDER},
        {NULL, 0, 0, 0},
    };
    cli_parsed_t p;
    const char *provider = NULL;
    csdk_call_opts_t copts = call_opts();
    csdk_sandbox_t sb;
    csdk_error_t err;
    csdk_status_t st;
    int rc = begin(cli, argc, argv, spec, 0, &p);

    if (rc >= 0)
        return rc;
    if ((rc = want_operands(cli, &p, 2, 2, "NAMESPACE NAME")) != 0)
        return rc;
    for (size_t i = 0; i < p.n_opts; i++)
        provider = p.opts[i].value;
    if ((rc = cli_open(cli)) == 0) {
        memset(&sb, 0, sizeof sb);
        memset(&err, 0, sizeof err);
        st = csdk_find(cli->h, provider, p.pos[0], p.pos[1], &copts, &sb,
                       &err);
        rc = st != CSDK_OK ? cli_fail(cli, st, &err, NULL)
                           : print_sandbox_id(cli, &sb, 0);
    }
    cli_parsed_free(&p);
    return rc;
}

static int cmd_extend(cli_t *cli, int argc, char **argv)
{
    static const cli_option_t spec[] = {{NULL, 0, 0, 0}};
    cli_parsed_t p;
    csdk_call_opts_t copts = call_opts();
    csdk_sandbox_t sb;
    csdk_error_t err;
    csdk_status_t st;
    uint64_t ms;
    int rc = begin(cli, argc, argv, spec, 0, &p);

    if (rc >= 0)
        return rc;
    if ((rc = want_operands(cli, &p, 2, 2, "ID MS")) != 0)
        return rc;
    if ((rc = cli_parse_u64(cli->cmd, "MS", p.pos[1], &ms)) != 0 ||
        (rc = cli_open(cli)) != 0) {
        cli_parsed_free(&p);
        return rc;
    }
    memset(&sb, 0, sizeof sb);
    memset(&err, 0, sizeof err);
    st = csdk_extend_timeout(cli->h, p.pos[0], ms, &copts, &sb, &err);
    if (st != CSDK_OK) {
        rc = cli_fail(cli, st, &err, NULL);
    } else if (cli->json) {
        rc = cli_print_json(cli, cli_json_sandbox(&sb, 0));
    } else if (sb.expires_ms) {
        char when[64];

        cli_format_time(sb.expires_ms, when, sizeof when);
        printf("expires %s\n", when);
    }
    csdk_sandbox_clear(&sb);
    cli_parsed_free(&p);
    return rc;
}

static void print_field(const char *key, const char *value)
{
    if (value && value[0])
        printf("%-10s %s\n", key, value);
}

static void print_time_field(const char *key, int64_t ms)
{
    char buf[64];

    if (ms) {
        cli_format_time(ms, buf, sizeof buf);
        print_field(key, buf);
    }
}

static int cmd_info(cli_t *cli, int argc, char **argv)
{
    static const cli_option_t spec[] = {{NULL, 0, 0, 0}};
    cli_parsed_t p;
    csdk_call_opts_t copts = call_opts();
    csdk_sandbox_t sb;
    csdk_error_t err;
    csdk_status_t st;
    int rc = begin(cli, argc, argv, spec, 0, &p);

    if (rc >= 0)
        return rc;
    if ((rc = want_operands(cli, &p, 1, 1, "ID")) != 0)
        return rc;
    if ((rc = cli_open(cli)) != 0) {
        cli_parsed_free(&p);
        return rc;
    }
    memset(&sb, 0, sizeof sb);
    memset(&err, 0, sizeof err);
    st = csdk_info(cli->h, p.pos[0], &copts, &sb, &err);
    if (st != CSDK_OK) {
        rc = cli_fail(cli, st, &err, NULL);
    } else if (cli->json) {
        rc = cli_print_json(cli, cli_json_sandbox(&sb, 0));
    } else {
        char buf[64];

        print_field("id:", sb.id);
        print_field("provider:", sb.provider);
        print_field("status:", sb.status);
        print_field("runtime:", sb.runtime);
        print_field("namespace:", sb.namespace_);
        print_field("name:", sb.name);
        print_time_field("created:", sb.created_ms);
        if (sb.timeout_ms) {
            snprintf(buf, sizeof buf, "%" PRId64 " ms", sb.timeout_ms);
            print_field("timeout:", buf);
        }
        print_time_field("expires:", sb.expires_ms);
        for (size_t i = 0; i < sb.n_metadata; i++)
            printf("%-10s %s=%s\n", i == 0 ? "metadata:" : "",
                   sb.metadata[i].key ? sb.metadata[i].key : "",
                   sb.metadata[i].value ? sb.metadata[i].value : "");
    }
    csdk_sandbox_clear(&sb);
    cli_parsed_free(&p);
    return rc;
}

/* `csdk list` and `csdk gc` (summary): opening the host lets every
 * provider reap the state of expired and dead sandboxes (providers do it
 * when they start), so gc is a list that reports only what is left. */
static int list_sandboxes(cli_t *cli, int argc, char **argv, int summary)
{
    static const cli_option_t spec[] = {
        {"provider", 'p', CLI_ARG, OPT_PROVIDER},
        {NULL, 0, 0, 0},
    };
    cli_parsed_t p;
    const char *provider = NULL;
    csdk_call_opts_t copts = call_opts();
    csdk_sandbox_t *sbs = NULL;
    size_t n = 0;
    csdk_error_t err;
    csdk_status_t st;
    int rc = begin(cli, argc, argv, spec, 0, &p);

    if (rc >= 0)
        return rc;
    if ((rc = want_operands(cli, &p, 0, 0, "no arguments")) != 0)
        return rc;
    for (size_t i = 0; i < p.n_opts; i++)
        provider = p.opts[i].value;
    if ((rc = cli_open(cli)) != 0) {
        cli_parsed_free(&p);
        return rc;
    }
    memset(&err, 0, sizeof err);
    st = csdk_list(cli->h, provider, &copts, &sbs, &n, &err);
    if (st != CSDK_OK) {
        rc = cli_fail(cli, st, &err, NULL);
    } else if (summary && cli->json) {
        json_t *o = json_object();
        json_object_set_new(o, "live", json_integer((json_int_t)n));
        rc = cli_print_json(cli, o);
    } else if (summary) {
        printf("%zu live sandbox%s left\n", n, n == 1 ? "" : "es");
    } else if (cli->json) {
        json_t *a = json_array(), *o = json_object();

        for (size_t i = 0; a && i < n; i++)
            json_array_append_new(a, cli_json_sandbox(&sbs[i], 0));
        json_object_set_new(o, "sandboxes", a);
        rc = cli_print_json(cli, o);
    } else {
        static const char *const head[5] = {"ID", "PROVIDER", "STATUS",
                                            "RUNTIME", "CREATED"};
        cli_table_t t = {.n_cols = 5};

        rc = cli_table_add(&t, head);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            char when[64];
            const char *row[5];

            cli_format_time(sbs[i].created_ms, when, sizeof when);
            row[0] = sbs[i].id;
            row[1] = sbs[i].provider;
            row[2] = sbs[i].status;
            row[3] = sbs[i].runtime;
            row[4] = when;
            rc = cli_table_add(&t, row);
        }
        if (rc)
            rc = cli_error(cli, CLI_EXIT_FAILURE, "out of memory");
        else
            cli_table_print(&t, stdout);
        cli_table_free(&t);
    }
    csdk_sandbox_list_free(sbs, n);
    cli_parsed_free(&p);
    return rc;
}

static int cmd_list(cli_t *cli, int argc, char **argv)
{
    return list_sandboxes(cli, argc, argv, 0);
}

static int cmd_gc(cli_t *cli, int argc, char **argv)
{
    return list_sandboxes(cli, argc, argv, 1);
}

static int cmd_destroy(cli_t *cli, int argc, char **argv)
{
    static const cli_option_t spec[] = {{NULL, 0, 0, 0}};
    cli_parsed_t p;
    csdk_call_opts_t copts = call_opts();
    json_t *a = NULL;
    int rc = begin(cli, argc, argv, spec, 0, &p);

    if (rc >= 0)
        return rc;
    if ((rc = want_operands(cli, &p, 1, SIZE_MAX, "ID")) != 0)
        return rc;
    if ((rc = cli_open(cli)) != 0) {
        cli_parsed_free(&p);
        return rc;
    }
    if (cli->json)
        a = json_array();
    /* Every ID is tried; the exit code is the last failure's. */
    for (size_t i = 0; i < p.n_pos; i++) {
        csdk_error_t err;
        csdk_status_t st;

        memset(&err, 0, sizeof err);
        st = csdk_destroy(cli->h, p.pos[i], &copts, &err);
        if (st != CSDK_OK)
            rc = cli_fail(cli, st, &err, NULL);
        if (a) {
            json_t *o = json_object();

            json_object_set_new(o, "id", json_string(p.pos[i]));
            json_object_set_new(o, "destroyed", json_boolean(st == CSDK_OK));
            json_object_set_new(o, "error", st == CSDK_OK
                                                ? json_null()
                                                : cli_json_str(err.message));
            json_array_append_new(a, o);
        }
    }
    if (cli->json) {
        json_t *o = json_object();
        int prc;

        json_object_set_new(o, "destroyed", a);
        prc = cli_print_json(cli, o);
        if (!rc)
            rc = prc;
    }
    cli_parsed_free(&p);
    return rc;
}

static int cmd_url(cli_t *cli, int argc, char **argv)
{
    static const cli_option_t spec[] = {
        {"protocol", 0, CLI_ARG, OPT_PROTOCOL},
        {NULL, 0, 0, 0},
    };
    cli_parsed_t p;
    const char *protocol = NULL;
    csdk_call_opts_t copts = call_opts();
    csdk_error_t err;
    csdk_status_t st;
    uint32_t port;
    char *url = NULL;
    int rc = begin(cli, argc, argv, spec, 0, &p);

    if (rc >= 0)
        return rc;
    if ((rc = want_operands(cli, &p, 2, 2, "ID PORT")) != 0)
        return rc;
    for (size_t i = 0; i < p.n_opts; i++)
        protocol = p.opts[i].value;
    if ((rc = cli_parse_port(cli->cmd, "PORT", p.pos[1], &port)) != 0 ||
        (rc = cli_open(cli)) != 0) {
        cli_parsed_free(&p);
        return rc;
    }
    memset(&err, 0, sizeof err);
    st = csdk_url(cli->h, p.pos[0], port, protocol, &copts, &url, &err);
    if (st != CSDK_OK) {
        rc = cli_fail(cli, st, &err, NULL);
    } else if (cli->json) {
        json_t *o = json_object();

        json_object_set_new(o, "id", json_string(p.pos[0]));
        json_object_set_new(o, "port", json_integer(port));
        json_object_set_new(o, "url", cli_json_str(url));
        rc = cli_print_json(cli, o);
    } else {
        rc = print_line(url);
    }
    free(url);
    cli_parsed_free(&p);
    return rc;
}

/* ------------------------------------------------------------------ */
/* exec, run-code, run: running things with live output                */
/* ------------------------------------------------------------------ */

/* What to run, and how. */
typedef struct run_spec {
    csdk_run_opts_t opts;
    cli_kvlist_t env;
    const char **argv; /* malloc'd, NULL-terminated; NULL for code */
    const char *code;  /* run_code when argv and opts.shell are NULL */
    size_t code_len;
    const char *language;
    char *input; /* malloc'd: the code or stdin data read by csdk */
    size_t input_len;
    int want_stdin; /* -i: forward our stdin */
} run_spec_t;

static void run_spec_init(run_spec_t *rs)
{
    memset(rs, 0, sizeof *rs);
    rs->opts.struct_size = sizeof rs->opts;
}

static void run_spec_free(run_spec_t *rs)
{
    cli_kvlist_free(&rs->env);
    free(rs->argv);
    free(rs->input);
}

/* Take a run option.  Returns 0 taken, -1 not a run option, or an exit
 * code. */
static int run_arg(cli_t *cli, run_spec_t *rs, const cli_optarg_t *o)
{
    switch (o->key) {
    case OPT_CWD:
        rs->opts.cwd = o->value;
        return 0;
    case OPT_ENV:
        return cli_kvlist_add(&rs->env, cli->cmd, "--env", o->value);
    case OPT_TIMEOUT:
        return cli_parse_u64(cli->cmd, "--timeout", o->value,
                             &rs->opts.timeout_ms);
    case OPT_BACKGROUND:
        rs->opts.flags |= CSDK_RUN_BACKGROUND;
        return 0;
    case OPT_STDIN:
        rs->want_stdin = 1;
        return 0;
    case OPT_SHELL:
        rs->opts.shell = o->value;
        return 0;
    case OPT_LANGUAGE:
        rs->language = o->value;
        return 0;
    default:
        return -1;
    }
}

/* Copy operands into a NULL-terminated argv.  Returns 0 or an exit code. */
static int run_set_argv(cli_t *cli, run_spec_t *rs, char **words, size_t n)
{
    rs->argv = calloc(n + 1, sizeof *rs->argv);
    if (!rs->argv)
        return cli_error(cli, CLI_EXIT_FAILURE, "out of memory");
    for (size_t i = 0; i < n; i++)
        rs->argv[i] = words[i];
    rs->opts.argv = rs->argv;
    return 0;
}

static int run_read_stdin(cli_t *cli, run_spec_t *rs)
{
    int rc;

    if (!rs->want_stdin)
        return 0;
    rc = cli_read_input(cli->cmd, NULL, &rs->input, &rs->input_len);
    if (rc)
        return rc;
    rs->opts.stdin_data = rs->input;
    rs->opts.stdin_len = rs->input_len;
    return 0;
}

/* A process exit status for a command's exit code. */
static int exit_status_of(int32_t code)
{
    return code >= 0 && code <= 255 ? code : 255;
}

/*
 * Run `rs` in sandbox `id`: output streams live unless --json or
 * --background.  With `id_for_json`, the JSON result names the sandbox
 * (run).  Returns the exit code: the command's own when the call worked.
 */
static int run_in(cli_t *cli, const char *id, run_spec_t *rs,
                  int id_for_json)
{
    csdk_call_opts_t copts = call_opts();
    cli_stream_t stream;
    csdk_result_t res;
    csdk_error_t err;
    csdk_status_t st;
    int background = (rs->opts.flags & CSDK_RUN_BACKGROUND) != 0;
    int streaming = !cli->json && !background;
    int is_code = !rs->argv && !rs->opts.shell;
    int rc;

    rs->opts.env = rs->env.items;
    rs->opts.n_env = rs->env.n;
    memset(&stream, 0, sizeof stream);
    memset(&res, 0, sizeof res);
    memset(&err, 0, sizeof err);
    if (streaming) {
        copts.on_output = cli_stream_output;
        copts.output_ud = &stream;
    }
    /* No deadline of our own: the library gives a command its --timeout
     * plus the instance's timeout_ms, and no limit without --timeout. */
    /* Anything printed so far must come before the streamed output. */
    fflush(stdout);

    if (is_code)
        st = csdk_run_code(cli->h, id, rs->code, rs->code_len, rs->language,
                           &rs->opts, &copts, &res, &err);
    else
        st = csdk_run_command(cli->h, id, &rs->opts, &copts, &res, &err);

    if (st == CSDK_E_SYNTAX && cli->json) {
        /* The result holds the interpreter's message. */
        json_t *o = cli_json_result(&res, id_for_json ? id : NULL);

        if (o)
            json_object_set_new(o, "syntax_error", cli_json_str(err.message));
        rc = cli_print_json(cli, o);
        if (!rc)
            rc = cli_fail(cli, st, &err, NULL);
    } else if (st == CSDK_E_SYNTAX && !stream.write_errno &&
               !stream.interrupted) {
        /* The interpreter's message has been streamed; say it ourselves
         * only when the provider sent nothing. */
        rc = stream.err_bytes ? CLI_EXIT_DATAERR
                              : cli_fail(cli, st, &err, &stream);
    } else if (st != CSDK_OK) {
        rc = cli_fail(cli, st, &err, &stream);
    } else if (stream.write_errno || stream.interrupted || cli_interrupted) {
        rc = cli_fail(cli, CSDK_E_CANCELLED, NULL, &stream);
    } else if (cli->json) {
        rc = cli_print_json(cli,
                            cli_json_result(&res, id_for_json ? id : NULL));
        if (!rc && !background)
            rc = res.flags & CSDK_RESULT_TIMED_OUT
                     ? CLI_EXIT_CMD_TIMEOUT
                     : exit_status_of(res.exit_code);
    } else if (background) {
        printf("%" PRId64 "\n", res.pid);
        rc = 0;
    } else if (res.flags & CSDK_RESULT_TIMED_OUT) {
        rc = cli_error(cli, CLI_EXIT_CMD_TIMEOUT,
                       "%s timed out after %" PRIu64 " ms and was killed",
                       is_code ? "the code" : "the command",
                       rs->opts.timeout_ms);
    } else {
        rc = exit_status_of(res.exit_code);
    }
    csdk_result_clear(&res);
    return rc;
}

static int cmd_exec(cli_t *cli, int argc, char **argv)
{
    static const cli_option_t spec[] = {
        {"cwd", 0, CLI_ARG, OPT_CWD},
        {"env", 0, CLI_ARG, OPT_ENV},
        {"timeout", 0, CLI_ARG, OPT_TIMEOUT},
        {"background", 0, CLI_NO_ARG, OPT_BACKGROUND},
        {"stdin", 'i', CLI_NO_ARG, OPT_STDIN},
        {"shell", 0, CLI_ARG, OPT_SHELL},
        {NULL, 0, 0, 0},
    };
    cli_parsed_t p;
    run_spec_t rs;
    int rc = begin(cli, argc, argv, spec, 1, &p);

    if (rc >= 0)
        return rc;
    run_spec_init(&rs);
    for (size_t i = 0; i < p.n_opts; i++)
        if ((rc = run_arg(cli, &rs, &p.opts[i])) != 0)
            goto out;
    if (p.n_pos == 0 || (p.dashdash && p.n_before_dashdash != 1)) {
        rc = cli_usage_error("%s: expected ID -- CMD [ARG...]", cli->cmd);
        goto out;
    }
    if (rs.opts.shell) {
        if (p.n_pos > 1) {
            rc = cli_usage_error("%s: give either --shell STRING or -- CMD "
                                 "[ARG...], not both",
                                 cli->cmd);
            goto out;
        }
    } else if (p.n_pos < 2) {
        rc = cli_usage_error("%s: missing command (csdk exec ID -- CMD "
                             "[ARG...])",
                             cli->cmd);
        goto out;
    } else if ((rc = run_set_argv(cli, &rs, p.pos + 1, p.n_pos - 1)) != 0) {
        goto out;
    }
    cli_install_signal_handlers(NULL);
    if ((rc = run_read_stdin(cli, &rs)) != 0 || (rc = cli_open(cli)) != 0)
        goto out;
    rc = run_in(cli, p.pos[0], &rs, 0);
out:
    run_spec_free(&rs);
    cli_parsed_free(&p);
    return rc;
}

static int cmd_run_code(cli_t *cli, int argc, char **argv)
{
    static const cli_option_t spec[] = {
        {"language", 'l', CLI_ARG, OPT_LANGUAGE},
        {"cwd", 0, CLI_ARG, OPT_CWD},
        {"env", 0, CLI_ARG, OPT_ENV},
        {"timeout", 0, CLI_ARG, OPT_TIMEOUT},
        {NULL, 0, 0, 0},
    };
    cli_parsed_t p;
    run_spec_t rs;
    int rc = begin(cli, argc, argv, spec, 0, &p);

    if (rc >= 0)
        return rc;
    if ((rc = want_operands(cli, &p, 1, 2, "ID [FILE|-]")) != 0)
        return rc;
    run_spec_init(&rs);
    for (size_t i = 0; i < p.n_opts; i++)
        if ((rc = run_arg(cli, &rs, &p.opts[i])) != 0)
            goto out;
    cli_install_signal_handlers(NULL);
    rc = cli_read_input(cli->cmd, p.n_pos > 1 ? p.pos[1] : NULL, &rs.input,
                        &rs.input_len);
    if (rc || (rc = cli_open(cli)) != 0)
        goto out;
    rs.code = rs.input;
    rs.code_len = rs.input_len;
    rc = run_in(cli, p.pos[0], &rs, 0);
out:
    run_spec_free(&rs);
    cli_parsed_free(&p);
    return rc;
}

/* Destroy run's sandbox; returns 0 or the exit code of the failure. */
static int run_destroy(cli_t *cli, const char *id)
{
    csdk_call_opts_t copts = call_opts();
    csdk_error_t err;
    csdk_status_t st;

    memset(&err, 0, sizeof err);
    st = csdk_destroy(cli->h, id, &copts, &err);
    if (st == CSDK_OK)
        return 0;
    cli_error(cli, cli_exit_for_status(st), "%s (sandbox %s is left behind)",
              err.message[0] ? err.message : csdk_status_name(st), id);
    return cli_exit_for_status(st);
}

static int cmd_run(cli_t *cli, int argc, char **argv)
{
    static const cli_option_t spec[] = {
        CREATE_OPTIONS,
        {"language", 'l', CLI_ARG, OPT_LANGUAGE},
        {"cwd", 0, CLI_ARG, OPT_CWD},
        {"env", 0, CLI_ARG, OPT_ENV},
        {"timeout", 0, CLI_ARG, OPT_TIMEOUT},
        {"stdin", 'i', CLI_NO_ARG, OPT_STDIN},
        {NULL, 0, 0, 0},
    };
    /* Written by the signal handler on a second signal. */
    static char second_msg[CSDK_ERROR_MAX + 128];
    cli_parsed_t p;
    create_args_t ca;
    run_spec_t rs;
    csdk_call_opts_t copts = call_opts();
    csdk_sandbox_t sb;
    csdk_error_t err;
    csdk_status_t st;
    int rc = begin(cli, argc, argv, spec, 0, &p);
    int drc;

    if (rc >= 0)
        return rc;
    create_args_init(&ca);
    run_spec_init(&rs);
    memset(&sb, 0, sizeof sb);
    for (size_t i = 0; i < p.n_opts; i++) {
        rc = create_arg(cli, &ca, &p.opts[i], 0);
        if (rc < 0)
            rc = run_arg(cli, &rs, &p.opts[i]);
        if (rc)
            goto out;
    }
    create_args_finish(&ca);
    if (!ca.opts.runtime)
        ca.opts.runtime = rs.language; /* python code wants a python box */

    cli_install_signal_handlers(NULL);
    if (p.dashdash) {
        /* run [OPTIONS] -- CMD [ARG...] */
        if (p.n_before_dashdash != 0 || p.n_pos == 0) {
            rc = cli_usage_error("%s: expected [FILE|-] or -- CMD [ARG...]",
                                 cli->cmd);
            goto out;
        }
        if (rs.language) {
            rc = cli_usage_error("%s: --language is for code, not for -- CMD",
                                 cli->cmd);
            goto out;
        }
        if ((rc = run_set_argv(cli, &rs, p.pos, p.n_pos)) != 0 ||
            (rc = run_read_stdin(cli, &rs)) != 0)
            goto out;
    } else {
        /* run [OPTIONS] [FILE|-]: code */
        if (p.n_pos > 1) {
            rc = cli_usage_error("%s: too many arguments (to run a command, "
                                 "put it after --)",
                                 cli->cmd);
            goto out;
        }
        if (rs.want_stdin) {
            rc = cli_usage_error("%s: --stdin is for -- CMD; code is read "
                                 "from FILE or standard input",
                                 cli->cmd);
            goto out;
        }
        rc = cli_read_input(cli->cmd, p.n_pos ? p.pos[0] : NULL, &rs.input,
                            &rs.input_len);
        if (rc)
            goto out;
        rs.code = rs.input;
        rs.code_len = rs.input_len;
    }
    if ((rc = cli_open(cli)) != 0)
        goto out;

    memset(&err, 0, sizeof err);
    st = csdk_create(cli->h, ca.provider, &ca.opts, &copts, &sb, &err);
    if (st != CSDK_OK) {
        rc = cli_fail(cli, st, &err, NULL);
        goto out;
    }
    snprintf(second_msg, sizeof second_msg,
             "csdk: run: interrupted again; sandbox %s was not destroyed "
             "(csdk destroy %s)\n",
             sb.id, sb.id);
    cli_install_signal_handlers(second_msg);
    if (cli_interrupted)
        rc = cli_error(cli, CLI_EXIT_CANCELLED, "interrupted");
    else
        rc = run_in(cli, sb.id, &rs, 1);
    /* Always clean up, whatever happened to the command. */
    drc = run_destroy(cli, sb.id);
    if (rc == 0)
        rc = drc;
out:
    csdk_sandbox_clear(&sb);
    run_spec_free(&rs);
    create_args_free(&ca);
    cli_parsed_free(&p);
    return rc;
}

/* ------------------------------------------------------------------ */
/* fs                                                                  */
/* ------------------------------------------------------------------ */

static const char *file_type_name(int32_t type)
{
    switch (type) {
    case CSDK_FILE_REGULAR:
        return "file";
    case CSDK_FILE_DIRECTORY:
        return "dir";
    case CSDK_FILE_SYMLINK:
        return "symlink";
    default:
        return "other";
    }
}

static int fs_read(cli_t *cli, const char *id, const char *path)
{
    csdk_call_opts_t copts = call_opts();
    cli_stream_t stream;
    csdk_error_t err;
    csdk_status_t st;
    void *data = NULL;
    size_t len = 0;
    int rc = 0;

    memset(&stream, 0, sizeof stream);
    memset(&err, 0, sizeof err);
    if (!cli->json) {
        copts.on_output = cli_stream_output;
        copts.output_ud = &stream;
    }
    st = csdk_read_file(cli->h, id, path, &copts, &data, &len, &err);
    if (st != CSDK_OK) {
        rc = cli_fail(cli, st, &err, &stream);
    } else if (stream.write_errno) {
        rc = cli_fail(cli, CSDK_E_CANCELLED, NULL, &stream);
    } else if (cli->json) {
        json_t *o = json_object();
        json_t *text = json_stringn(data ? data : "", len);

        json_object_set_new(o, "path", json_string(path));
        json_object_set_new(o, "size", json_integer((json_int_t)len));
        if (text) {
            json_object_set_new(o, "encoding", json_string("utf-8"));
            json_object_set_new(o, "content", text);
        } else {
            char *b64 = cli_base64(data, len);

            json_object_set_new(o, "encoding", json_string("base64"));
            json_object_set_new(o, "content", b64 ? json_string(b64) : NULL);
            free(b64);
        }
        rc = cli_print_json(cli, o);
    } else if (data && len) {
        /* A provider may fill the buffer instead of streaming. */
        int e = cli_write_all(STDOUT_FILENO, data, len);

        if (e)
            rc = e == EPIPE ? CLI_EXIT_PIPE
                            : cli_error(cli, CLI_EXIT_FAILURE,
                                        "writing output: %s", strerror(e));
    }
    free(data);
    return rc;
}

static int fs_write(cli_t *cli, const char *id, const char *path)
{
    csdk_call_opts_t copts = call_opts();
    csdk_error_t err;
    csdk_status_t st;
    char *data;
    size_t len;
    int rc = cli_read_input(cli->cmd, NULL, &data, &len);

    if (rc)
        return rc;
    memset(&err, 0, sizeof err);
    st = csdk_write_file(cli->h, id, path, data, len, &copts, &err);
    free(data);
    if (st != CSDK_OK)
        return cli_fail(cli, st, &err, NULL);
    if (cli->json) {
        json_t *o = json_object();

        json_object_set_new(o, "path", json_string(path));
        json_object_set_new(o, "size", json_integer((json_int_t)len));
        return cli_print_json(cli, o);
    }
    return 0;
}

static int fs_ls(cli_t *cli, const char *id, const char *path)
{
    csdk_call_opts_t copts = call_opts();
    csdk_dirent_t *ents = NULL;
    size_t n = 0;
    csdk_error_t err;
    csdk_status_t st;
    int rc = 0;

    memset(&err, 0, sizeof err);
    st = csdk_readdir(cli->h, id, path, &copts, &ents, &n, &err);
    if (st != CSDK_OK)
        return cli_fail(cli, st, &err, NULL);
    if (cli->json) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < n; i++) {
            json_t *o = json_object();

            json_object_set_new(o, "name", cli_json_str(ents[i].name));
            json_object_set_new(o, "type",
                                json_string(file_type_name(ents[i].type)));
            json_object_set_new(o, "size", json_integer(ents[i].size));
            json_object_set_new(o, "mtime_ms", cli_json_ms(ents[i].mtime_ms));
            json_array_append_new(a, o);
        }
        rc = cli_print_json(cli, a);
    } else {
        static const char *const head[4] = {"NAME", "TYPE", "SIZE",
                                            "MODIFIED"};
        cli_table_t t = {.n_cols = 4};

        rc = cli_table_add(&t, head);
        for (size_t i = 0; rc == 0 && i < n; i++) {
            char size[32], when[64];
            const char *row[4];

            snprintf(size, sizeof size, "%" PRId64, ents[i].size);
            cli_format_time(ents[i].mtime_ms, when, sizeof when);
            row[0] = ents[i].name;
            row[1] = file_type_name(ents[i].type);
            row[2] = size;
            row[3] = when;
            rc = cli_table_add(&t, row);
        }
        if (rc)
            rc = cli_error(cli, CLI_EXIT_FAILURE, "out of memory");
        else
            cli_table_print(&t, stdout);
        cli_table_free(&t);
    }
    csdk_dirents_free(ents, n);
    return rc;
}

static int fs_exists(cli_t *cli, const char *id, const char *path)
{
    csdk_call_opts_t copts = call_opts();
    csdk_error_t err;
    csdk_status_t st;
    int32_t exists = 0;
    int rc;

    memset(&err, 0, sizeof err);
    st = csdk_exists(cli->h, id, path, &copts, &exists, &err);
    if (st != CSDK_OK)
        return cli_fail(cli, st, &err, NULL);
    if (cli->json) {
        json_t *o = json_object();

        json_object_set_new(o, "path", json_string(path));
        json_object_set_new(o, "exists", json_boolean(exists));
        if ((rc = cli_print_json(cli, o)) != 0)
            return rc;
    }
    return exists ? CLI_EXIT_OK : CLI_EXIT_FALSE;
}

/* mkdir and rm: nothing to print but success. */
static int fs_simple(cli_t *cli, const char *id, const char *path, int mkdir)
{
    csdk_call_opts_t copts = call_opts();
    csdk_error_t err;
    csdk_status_t st;

    memset(&err, 0, sizeof err);
    st = mkdir ? csdk_mkdir(cli->h, id, path, &copts, &err)
               : csdk_remove(cli->h, id, path, &copts, &err);
    if (st != CSDK_OK)
        return cli_fail(cli, st, &err, NULL);
    if (cli->json) {
        json_t *o = json_object();

        json_object_set_new(o, "path", json_string(path));
        json_object_set_new(o, "ok", json_true());
        return cli_print_json(cli, o);
    }
    return 0;
}

static int cmd_fs(cli_t *cli, int argc, char **argv)
{
    static const char *const subs[] = {"read", "write", "ls", "mkdir",
                                       "rm", "exists"};
    static const char *const names[] = {"fs read", "fs write", "fs ls",
                                        "fs mkdir", "fs rm", "fs exists"};
    static const cli_option_t spec[] = {{NULL, 0, 0, 0}};
    cli_parsed_t p;
    size_t which;
    int rc;

    if (argc < 2 || strcmp(argv[1], "--help") == 0 ||
        strcmp(argv[1], "-h") == 0) {
        if (argc >= 2)
            return cli_print_command_help(cli_find_command("fs"));
        return cli_usage_error("fs: missing subcommand (read, write, ls, "
                               "mkdir, rm, exists)");
    }
    for (which = 0; which < sizeof subs / sizeof subs[0]; which++)
        if (strcmp(argv[1], subs[which]) == 0)
            break;
    if (which == sizeof subs / sizeof subs[0])
        return cli_usage_error("fs: unknown subcommand '%s' (read, write, "
                               "ls, mkdir, rm, exists)",
                               argv[1]);
    cli->cmd = names[which];
    rc = begin(cli, argc - 1, argv + 1, spec, 0, &p);
    if (rc >= 0)
        return rc;
    if ((rc = want_operands(cli, &p, 2, 2, "ID PATH")) != 0)
        return rc;
    if ((rc = cli_open(cli)) == 0) {
        const char *id = p.pos[0], *path = p.pos[1];

        switch (which) {
        case 0:
            rc = fs_read(cli, id, path);
            break;
        case 1:
            rc = fs_write(cli, id, path);
            break;
        case 2:
            rc = fs_ls(cli, id, path);
            break;
        case 3:
            rc = fs_simple(cli, id, path, 1);
            break;
        case 4:
            rc = fs_simple(cli, id, path, 0);
            break;
        default:
            rc = fs_exists(cli, id, path);
            break;
        }
    }
    cli_parsed_free(&p);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The table                                                           */
/* ------------------------------------------------------------------ */

#define CREATE_HELP                                                         \
    "  -p, --provider NAME  provider instance (default: the configured "    \
    "default)\n"                                                            \
    "  --runtime R          runtime, e.g. python or node\n"                 \
    "  --template T         start from this template or snapshot ID\n"      \
    "  --meta K=V           a label kept with the sandbox (repeatable)\n"   \
    "  --network            give the sandbox network access\n"              \
    "  --opt K=V            a provider-specific create option "             \
    "(repeatable)\n"

const cli_command_t cli_commands[] = {
    {"providers", cmd_providers, "list provider instances and what they can do",
     "Usage: csdk providers\n"
     "\n"
     "One line per configured provider instance: name, status (ready or\n"
     "refused), plugin file, plugin version, and its capabilities or the\n"
     "reason it was refused.\n"},
    {"create", cmd_create, "create a sandbox and print its ID",
     "Usage: csdk create [OPTIONS]\n"
     "\n"
     "Create a sandbox and print its ID, e.g. id=$(csdk create).\n"
     "\n" CREATE_HELP
     "  --timeout MS         sandbox lifetime in milliseconds\n"
     "  --env K=V            environment for every command (repeatable)\n"},
    {"gc", cmd_gc, "reap expired and dead sandboxes",
     "Usage: csdk gc [-p PROVIDER]\n"
     "\n"
     "Let every provider (or PROVIDER) remove the state of sandboxes that\n"
     "expired or whose processes are gone, and print how many are left.\n"},
    {"list", cmd_list, "list sandboxes",
     "Usage: csdk list [-p PROVIDER]\n"
     "\n"
     "List the sandboxes of one provider, or of all of them.\n"},
    {"info", cmd_info, "show a sandbox's details",
     "Usage: csdk info ID\n"},
    {"exec", cmd_exec, "run a command in a sandbox",
     "Usage: csdk exec [OPTIONS] ID -- CMD [ARG...]\n"
     "       csdk exec [OPTIONS] --shell STRING ID\n"
     "\n"
     "Run CMD in the sandbox with its output streamed live, and exit with\n"
     "its exit status (124 when --timeout killed it).\n"
     "\n"
     "  --cwd DIR       working directory\n"
     "  --env K=V       environment variable (repeatable)\n"
     "  --timeout MS    kill the command after MS milliseconds\n"
     "  --background    start the command, print its pid and return\n"
     "  -i, --stdin     send csdk's standard input to the command\n"
     "  --shell STRING  run STRING with sh -c instead of CMD\n"},
    {"run-code", cmd_run_code, "run code in a sandbox",
     "Usage: csdk run-code [-l LANG] [OPTIONS] ID [FILE|-]\n"
     "\n"
     "Run the code in FILE (default: standard input) with its output\n"
     "streamed live.  Code that does not parse exits 65.\n"
     "\n"
     "  -l, --language LANG  python, node, ... (default: the sandbox's)\n"
     "  --cwd DIR            working directory\n"
     "  --env K=V            environment variable (repeatable)\n"
     "  --timeout MS         kill the code after MS milliseconds\n"},
    {"fs", cmd_fs, "read, write, list, make and remove files",
     "Usage: csdk fs read ID PATH     write the file's bytes to stdout\n"
     "       csdk fs write ID PATH    replace the file with stdin's bytes\n"
     "       csdk fs ls ID PATH       list a directory\n"
     "       csdk fs mkdir ID PATH    make a directory and its parents\n"
     "       csdk fs rm ID PATH       remove a file or directory tree\n"
     "       csdk fs exists ID PATH   exit 0 if PATH exists, 1 if not\n"},
    {"url", cmd_url, "print the URL of a port in a sandbox",
     "Usage: csdk url [--protocol P] ID PORT\n"},
    {"destroy", cmd_destroy, "destroy sandboxes (no error if already gone)",
     "Usage: csdk destroy ID...\n"},
    {"find", cmd_find, "print the ID of a named sandbox",
     "Usage: csdk find [-p PROVIDER] NAMESPACE NAME\n"},
    {"find-or-create", cmd_find_or_create,
     "print the ID of a named sandbox, creating it if needed",
     "Usage: csdk find-or-create [OPTIONS] NAMESPACE NAME\n"
     "\n" CREATE_HELP
     "  --timeout MS         sandbox lifetime in milliseconds\n"
     "  --env K=V            environment for every command (repeatable)\n"},
    {"extend", cmd_extend, "extend a sandbox's lifetime",
     "Usage: csdk extend ID MS\n"
     "\n"
     "Add MS milliseconds to the sandbox's remaining lifetime.\n"},
    {"run", cmd_run, "create a sandbox, run code or a command, destroy it",
     "Usage: csdk run [OPTIONS] [FILE|-]\n"
     "       csdk run [OPTIONS] -- CMD [ARG...]\n"
     "\n"
     "Create a sandbox, run code (from FILE or standard input) or CMD in\n"
     "it with output streamed live, destroy it (also on failure, SIGINT\n"
     "and SIGTERM) and exit with the code's or command's exit status.\n"
     "\n" CREATE_HELP
     "  -l, --language LANG  language of the code (also the default "
     "runtime)\n"
     "  --cwd DIR            working directory\n"
     "  --env K=V            environment variable (repeatable)\n"
     "  --timeout MS         kill the code or command after MS ms (exit "
     "124)\n"
     "  -i, --stdin          send standard input to CMD\n"},
    {NULL, NULL, NULL, NULL},
};

const cli_command_t *cli_find_command(const char *name)
{
    for (const cli_command_t *c = cli_commands; c->name; c++)
        if (strcmp(c->name, name) == 0)
            return c;
    return NULL;
}

int cli_print_command_help(const cli_command_t *cmd)
{
    if (!cmd)
        return CLI_EXIT_OK;
    fputs(cmd->usage, stdout);
    fputs("\n"
          "Every command also takes --json (print JSON) and -h/--help.\n"
          "Global options and exit codes: csdk --help\n",
          stdout);
    return CLI_EXIT_OK;
}
