/*
 * host/cli/cli.h - the `csdk` command: shared declarations.
 *
 * The command uses only the public API (csdk/csdk.h).  Files:
 *   main.c      global options, the command table, help
 *   args.c      option parsing, numbers, KEY=VALUE lists, reading input
 *   output.c    writing output: streams, JSON, tables, errors, exit codes
 *   commands.c  one function per command
 */
#ifndef CSDK_CLI_H
#define CSDK_CLI_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include <csdk/csdk.h>

/*
 * Exit codes: the single source.  csdk --help prints this table, and
 * cli_exit_for_status() maps library statuses onto it.  exec, run-code and
 * run exit with the command's own exit code when the call itself succeeded.
 */
#define CLI_EXIT_CODES(X)                                                   \
    X(CLI_EXIT_OK, 0, "success")                                            \
    X(CLI_EXIT_FALSE, 1, "'fs exists': the path does not exist")            \
    X(CLI_EXIT_USAGE, 2, "usage error (unknown command or option, bad "     \
                         "argument)")                                       \
    X(CLI_EXIT_FAILURE, 64, "other failure (INTERNAL, PROTOCOL, IO, NOMEM, " \
                            "ABI)")                                         \
    X(CLI_EXIT_DATAERR, 65, "INVALID_ARGUMENT, SYNTAX (code does not "      \
                            "parse)")                                       \
    X(CLI_EXIT_NOTFOUND, 66, "NOT_FOUND (sandbox, file...), unreadable "    \
                             "input file")                                  \
    X(CLI_EXIT_CONNECTION, 68, "CONNECTION (backend unreachable)")          \
    X(CLI_EXIT_UNSUPPORTED, 69, "NOT_SUPPORTED by the provider")            \
    X(CLI_EXIT_CONFLICT, 73, "CONFLICT")                                    \
    X(CLI_EXIT_TRANSIENT, 74, "RATE_LIMITED, QUOTA, UNAVAILABLE")           \
    X(CLI_EXIT_TIMEOUT, 75, "TIMEOUT (the call's deadline passed)")         \
    X(CLI_EXIT_PERMISSION, 77, "AUTH, PERMISSION")                          \
    X(CLI_EXIT_CONFIG, 78, "CONFIG (bad or missing configuration)")         \
    X(CLI_EXIT_CMD_TIMEOUT, 124, "exec/run-code/run: the command was "      \
                                 "killed at its --timeout")                 \
    X(CLI_EXIT_CANCELLED, 130, "CANCELLED, or interrupted by SIGINT/"       \
                               "SIGTERM")                                   \
    X(CLI_EXIT_PIPE, 141, "standard output or error was closed (broken "    \
                          "pipe)")

#define CLI_EXIT_ENUM_(name, value, text) name = value,
enum cli_exit { CLI_EXIT_CODES(CLI_EXIT_ENUM_) };
#undef CLI_EXIT_ENUM_

/* Exit code for a library status (CSDK_OK -> 0). */
int cli_exit_for_status(csdk_status_t st);

/* ------------------------------------------------------------------ */
/* The program's state                                                 */
/* ------------------------------------------------------------------ */

typedef struct cli {
    const char *config_path; /* --config, or NULL to search */
    int json;                /* --json */
    int32_t log_level;       /* CSDK_LOG_*, or -1: the config's */
    const char *cmd;         /* the command's name, for messages */
    csdk_t *h;               /* opened by cli_open(), closed by main */
} cli_t;

/* Open the host once.  Returns 0, or an exit code after printing the
 * error. */
int cli_open(cli_t *cli);

/* ------------------------------------------------------------------ */
/* Commands (commands.c)                                               */
/* ------------------------------------------------------------------ */

/* argv[0] is the command's name.  Returns the exit code. */
typedef int cli_command_fn(cli_t *cli, int argc, char **argv);

typedef struct cli_command {
    const char *name;
    cli_command_fn *run;
    const char *summary; /* one line for csdk --help */
    const char *usage;   /* csdk COMMAND --help; ends with a newline */
} cli_command_t;

/* The table, ending with a NULL name. */
extern const cli_command_t cli_commands[];

const cli_command_t *cli_find_command(const char *name);

/* Print `cmd`'s usage to stdout; returns CLI_EXIT_OK. */
int cli_print_command_help(const cli_command_t *cmd);

/* ------------------------------------------------------------------ */
/* Argument parsing (args.c)                                           */
/* ------------------------------------------------------------------ */

#define CLI_NO_ARG 0
#define CLI_ARG 1

/* One option of a command.  Every command also accepts -h/--help and
 * --json, which the parser handles itself. */
typedef struct cli_option {
    const char *long_name; /* without the dashes, or NULL */
    char short_name;       /* or 0 */
    int has_arg;           /* CLI_NO_ARG or CLI_ARG */
    int key;               /* what cli_optarg_t.key reports */
} cli_option_t;

typedef struct cli_optarg {
    int key;
    const char *name;  /* the option's long name, for messages */
    const char *value; /* NULL for CLI_NO_ARG */
} cli_optarg_t;

typedef struct cli_parsed {
    cli_optarg_t *opts; /* in command-line order */
    size_t n_opts;
    char **pos; /* operands, pointers into argv */
    size_t n_pos;
    int dashdash;           /* 1 if "--" was seen */
    size_t n_before_dashdash; /* operands before "--" */
    int help;
    int json;
} cli_parsed_t;

/*
 * Parse argv[1..argc) against `spec` (terminated by an all-zero entry).
 * Options may come anywhere before "--".  With `stop_after` > 0, the
 * operand after the first `stop_after` operands ends option parsing too,
 * so `exec ID echo -n hi` passes -n to echo.  Returns 0, or
 * CLI_EXIT_USAGE after printing the error.  Free with cli_parsed_free.
 */
int cli_parse(const char *cmd, int argc, char **argv,
              const cli_option_t *spec, size_t stop_after, cli_parsed_t *out);
void cli_parsed_free(cli_parsed_t *p);

/* Print "csdk: <message>" and "Try 'csdk --help'." to stderr; returns
 * CLI_EXIT_USAGE. */
int cli_usage_error(const char *fmt, ...) CSDK_PRINTF(1, 2);

/* Parse a decimal number for option/argument `what` of `cmd`.  Returns 0,
 * or CLI_EXIT_USAGE after printing the error. */
int cli_parse_u64(const char *cmd, const char *what, const char *s,
                  uint64_t *out);
int cli_parse_port(const char *cmd, const char *what, const char *s,
                   uint32_t *out);

/* A growing list of KEY=VALUE pairs; owns its strings. */
typedef struct cli_kvlist {
    csdk_kv_t *items;
    size_t n;
    char **bufs; /* one per item: "KEY\0VALUE" */
} cli_kvlist_t;

/* Split "K=V" and append it.  Returns 0, or CLI_EXIT_USAGE after printing
 * the error (no '=', empty key), or CLI_EXIT_FAILURE when out of memory. */
int cli_kvlist_add(cli_kvlist_t *l, const char *cmd, const char *opt,
                   const char *arg);
void cli_kvlist_free(cli_kvlist_t *l);

/* Read all of `fd` into a malloc'd buffer with one NUL byte after *len.
 * Returns 0 or an errno value. */
int cli_read_fd(int fd, char **data, size_t *len);

/* Read FILE, or standard input for NULL or "-".  Returns 0, or an exit
 * code after printing the error (naming the file). */
int cli_read_input(const char *cmd, const char *path, char **data,
                   size_t *len);

/* ------------------------------------------------------------------ */
/* Output (output.c)                                                   */
/* ------------------------------------------------------------------ */

/* Write all of `len` bytes to `fd`, retrying short writes and EINTR.
 * Returns 0 or an errno value (EPIPE when the reader went away). */
int cli_write_all(int fd, const void *data, size_t len);

/* Set by the SIGINT/SIGTERM handler; output callbacks turn it into
 * cancellation. */
extern volatile sig_atomic_t cli_interrupted;

/*
 * Install SIGINT/SIGTERM handlers.  The first signal sets
 * cli_interrupted; a second one writes `second_msg` (if not NULL; it must
 * stay valid) to stderr and exits 130 at once.
 */
void cli_install_signal_handlers(const char *second_msg);

/* State for cli_stream_output, the csdk_output_fn that writes each chunk
 * to our stdout (STDOUT, DATA) or stderr (STDERR) as it arrives. */
typedef struct cli_stream {
    size_t out_bytes;
    size_t err_bytes;
    int write_errno; /* 0, or why a write failed (EPIPE: reader gone) */
    int interrupted; /* cancelled because of a signal */
} cli_stream_t;

int32_t cli_stream_output(void *ud, int32_t stream, const void *data,
                          size_t len);

/*
 * Report a failed call: one line "csdk: <cmd>: <message>" on stderr, and
 * the exit code for it.  Knows about the stream's broken pipe and signals
 * (`stream` may be NULL).
 */
int cli_fail(const cli_t *cli, csdk_status_t st, const csdk_error_t *err,
             const cli_stream_t *stream);

/* "csdk: <cmd>: <message>" on stderr; returns `code`. */
int cli_error(const cli_t *cli, int code, const char *fmt, ...)
    CSDK_PRINTF(3, 4);

/* Print `v` (consumed) with a newline to stdout.  Returns 0 or an exit
 * code. */
int cli_print_json(const cli_t *cli, json_t *v);

/* A JSON string for bytes that may not be UTF-8: invalid sequences become
 * U+FFFD.  NULL s gives JSON null. */
json_t *cli_json_bytes(const char *s, size_t len);
json_t *cli_json_str(const char *s);
/* ms since the epoch, or null when 0. */
json_t *cli_json_ms(int64_t ms);
json_t *cli_json_sandbox(const csdk_sandbox_t *sb, int with_created);
/* A command's result; `id` (may be NULL) names the sandbox first. */
json_t *cli_json_result(const csdk_result_t *r, const char *id);

/* Base64 (RFC 4648) of `len` bytes, malloc'd, or NULL. */
char *cli_base64(const void *data, size_t len);

/* "2024-05-01T12:00:00Z" for ms since the epoch, "-" for 0. */
void cli_format_time(int64_t ms, char *buf, size_t size);

/* A text table: rows of cells, columns padded to the widest cell. */
typedef struct cli_table {
    size_t n_cols;
    char **cells; /* n_rows * n_cols, owned */
    size_t n_rows;
} cli_table_t;

/* Append a row of t->n_cols cells (NULL prints as "-").  Returns 0 or
 * ENOMEM. */
int cli_table_add(cli_table_t *t, const char *const *row);
void cli_table_print(const cli_table_t *t, FILE *f);
void cli_table_free(cli_table_t *t);

#endif /* CSDK_CLI_H */
