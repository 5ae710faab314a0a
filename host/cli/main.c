/*
 * host/cli/main.c - `csdk [GLOBAL OPTIONS] COMMAND [ARGS]`.
 *
 * Global options come before COMMAND; each command parses the rest.  The
 * host is opened only once a command's own arguments have been checked,
 * so usage errors never depend on the configuration.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void print_help(FILE *f)
{
    fputs("Usage: csdk [--config FILE] [--json] [-v|--verbose] [-q|--quiet]\n"
          "            COMMAND [ARGS]\n"
          "\n"
          "Create and drive compute sandboxes through csdk provider plugins.\n"
          "\n"
          "Global options (before COMMAND):\n"
          "  --config FILE  use this configuration file instead of searching\n"
          "                 $CSDK_CONFIG, ~/.config/csdk/csdk.ini and the\n"
          "                 system csdk.ini\n"
          "  --json         print results as JSON (also accepted after "
          "COMMAND)\n"
          "  -v, --verbose  log debug messages to stderr\n"
          "  -q, --quiet    log errors only\n"
          "  --version      print the version and exit\n"
          "  -h, --help     print this help and exit\n"
          "\n"
          "Commands:\n",
          f);
    for (const cli_command_t *c = cli_commands; c->name; c++)
        fprintf(f, "  %-16s%s\n", c->name, c->summary);
    fputs("\n"
          "Sandbox IDs have the form PROVIDER:ID, as printed by 'csdk create';"
          "\n"
          "any later csdk process can use them.  'csdk COMMAND --help' shows\n"
          "a command's options.\n"
          "\n"
          "Exit status:\n",
          f);
#define CLI_EXIT_HELP_(name, value, text) fprintf(f, "  %-4d %s\n", value, text);
    CLI_EXIT_CODES(CLI_EXIT_HELP_)
#undef CLI_EXIT_HELP_
    fputs("  exec, run-code and run otherwise exit with the command's own exit"
          "\n  status (255 when it is outside 0-255).\n",
          f);
}

int cli_open(cli_t *cli)
{
    csdk_open_opts_t opts;
    csdk_error_t err;
    csdk_status_t st;

    if (cli->h)
        return 0;
    memset(&opts, 0, sizeof opts);
    opts.struct_size = sizeof opts;
    opts.log_level = cli->log_level;
    memset(&err, 0, sizeof err);
    st = csdk_open(cli->config_path, &opts, &cli->h, &err);
    if (st != CSDK_OK) {
        cli->h = NULL;
        fflush(stdout);
        fprintf(stderr, "csdk: %s\n",
                err.message[0] ? err.message : csdk_status_name(st));
        return cli_exit_for_status(st);
    }
    return 0;
}

/* `csdk help [COMMAND]` */
static int help_command(const char *name)
{
    const cli_command_t *c;

    if (!name) {
        print_help(stdout);
        return CLI_EXIT_OK;
    }
    c = cli_find_command(name);
    if (!c)
        return cli_usage_error("help: unknown command '%s'", name);
    return cli_print_command_help(c);
}

int main(int argc, char **argv)
{
    cli_t cli;
    const cli_command_t *cmd;
    int i, rc;

    memset(&cli, 0, sizeof cli);
    cli.log_level = -1;
    cli.cmd = "csdk";
    /* A closed pipe is reported by write() as EPIPE, so the command can
     * still clean up (run destroys its sandbox). */
    signal(SIGPIPE, SIG_IGN);

    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        } else if (strcmp(a, "--config") == 0) {
            if (i + 1 >= argc)
                return cli_usage_error("option '--config' needs a FILE");
            cli.config_path = argv[++i];
        } else if (strncmp(a, "--config=", 9) == 0) {
            cli.config_path = a + 9;
        } else if (strcmp(a, "--json") == 0) {
            cli.json = 1;
        } else if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
            cli.log_level = CSDK_LOG_DEBUG;
        } else if (strcmp(a, "-q") == 0 || strcmp(a, "--quiet") == 0) {
            cli.log_level = CSDK_LOG_ERROR;
        } else if (strcmp(a, "--version") == 0) {
            printf("csdk %s (plugin ABI %d.%d)\n", csdk_version(),
                   CSDK_ABI_MAJOR, CSDK_ABI_MINOR);
            return CLI_EXIT_OK;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            print_help(stdout);
            return CLI_EXIT_OK;
        } else {
            return cli_usage_error("unknown option '%s'", a);
        }
    }
    if (cli.config_path && cli.config_path[0] == '\0')
        return cli_usage_error("option '--config' needs a FILE");
    if (i >= argc)
        return cli_usage_error("no command given");
    if (strcmp(argv[i], "help") == 0)
        return help_command(i + 1 < argc ? argv[i + 1] : NULL);
    cmd = cli_find_command(argv[i]);
    if (!cmd)
        return cli_usage_error("unknown command '%s'", argv[i]);

    cli.cmd = cmd->name;
    rc = cmd->run(&cli, argc - i, argv + i);
    csdk_close(cli.h);
    if (fflush(stdout) == EOF || ferror(stdout)) {
        if (errno == EPIPE)
            return rc ? rc : CLI_EXIT_PIPE;
        fprintf(stderr, "csdk: %s: writing output: %s\n", cli.cmd,
                strerror(errno));
        return rc ? rc : CLI_EXIT_FAILURE;
    }
    return rc;
}
