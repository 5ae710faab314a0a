/*
 * example_shell.c - what answers the example provider's run_command and
 * run_code: nothing is executed.  A command line is one of a few built-in
 * commands, and code is a toy python / node that knows print, console.log,
 * raise and throw.  Both write the messages and exit codes the real sh,
 * python and node would, so the csdk tests can tell a result from an
 * error.  A real provider replaces this file with its backend's exec call
 * (see ex_run_command and ex_run_code in example.c for the ABI side).
 *
 * Copyright (c) csdk contributors.  MIT licence (see LICENSE).
 */
#include "example.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EX_SLEEP_STEP_MS 10

#if defined(__GNUC__) || defined(__clang__)
#define EX_SENTINEL __attribute__((sentinel))
#else
#define EX_SENTINEL
#endif

/* Write NUL-terminated strings, up to a NULL.  Returns 0, or -1 when the
 * host asked us to stop. */
EX_SENTINEL static int ex_out_strs(ex_out_t *o, int32_t stream, ...)
{
    va_list ap;
    const char *s;
    int rc = 0;

    va_start(ap, stream);
    while (rc == 0 && (s = va_arg(ap, const char *)) != NULL)
        rc = ex_out_write(o, stream, s, strlen(s));
    va_end(ap);
    return rc;
}

/* ------------------------------------------------------------------ */
/* run_command: a tiny built-in interpreter                            */
/* ------------------------------------------------------------------ */

/*
 * A command line is one of the built-ins echo [-n], cat [FILE...], true,
 * false, exit [N], pwd, env and sleep SECONDS, and anything else is "not
 * found" (exit 127), with the messages and exit codes a POSIX sh would
 * give.
 */

/* A built-in command: sets r->exit_code; returns CSDK_OK, or the status
 * that ends the call (CSDK_E_CANCELLED, CSDK_E_NOMEM). */
typedef csdk_status_t ex_cmd_fn(ex_run_t *r, size_t argc,
                                const char *const *argv);

static ex_cmd_fn ex_cmd_echo, ex_cmd_cat, ex_cmd_true, ex_cmd_false,
    ex_cmd_exit, ex_cmd_pwd, ex_cmd_env, ex_cmd_sleep;

static const struct {
    const char *name;
    ex_cmd_fn *fn;
} ex_commands[] = {
    {"echo", ex_cmd_echo}, {"cat", ex_cmd_cat},   {"true", ex_cmd_true},
    {"false", ex_cmd_false}, {"exit", ex_cmd_exit}, {"pwd", ex_cmd_pwd},
    {"env", ex_cmd_env},   {"sleep", ex_cmd_sleep},
};

static csdk_status_t ex_cmd_echo(ex_run_t *r, size_t argc,
                                 const char *const *argv)
{
    size_t i = 1;
    int newline = 1;

    if (argc > 1 && strcmp(argv[1], "-n") == 0) {
        newline = 0;
        i = 2;
    }
    for (size_t first = i; i < argc; i++)
        if ((i > first && ex_out_strs(&r->out, CSDK_STREAM_STDOUT, " ",
                                      (const char *)NULL) != 0) ||
            ex_out_strs(&r->out, CSDK_STREAM_STDOUT, argv[i],
                        (const char *)NULL) != 0)
            return ex_stopped(r->st, r->call);
    if (newline &&
        ex_out_strs(&r->out, CSDK_STREAM_STDOUT, "\n", (const char *)NULL))
        return ex_stopped(r->st, r->call);
    r->exit_code = 0;
    return CSDK_OK;
}

/* cat: standard input without arguments, else each file in turn; a file
 * that cannot be read is reported and the others still print (as cat). */
static csdk_status_t ex_cmd_cat(ex_run_t *r, size_t argc,
                                const char *const *argv)
{
    r->exit_code = 0;
    if (argc == 1) {
        if (ex_out_write(&r->out, CSDK_STREAM_STDOUT, r->opts.stdin_data,
                         r->opts.stdin_len) != 0)
            return ex_stopped(r->st, r->call);
        return CSDK_OK;
    }
    for (size_t i = 1; i < argc; i++) {
        char *path = NULL;
        const ex_file_t *file = NULL;
        const char *problem = "No such file or directory";
        int rc = argv[i][0] == '\0' ? EX_PATH_DOTDOT
                                    : ex_path_norm(r->cwd, argv[i], &path);

        if (rc == EX_PATH_NOMEM)
            return ex_nomem(r->st, r->call);
        if (rc == EX_PATH_OK) {
            file = ex_file_find(r->sb, path);
            if (file == NULL && ex_is_dir(r->sb, path))
                problem = "Is a directory";
            free(path);
        }
        if (file != NULL) {
            if (ex_out_write(&r->out, CSDK_STREAM_STDOUT, file->data,
                             file->len) != 0)
                return ex_stopped(r->st, r->call);
        } else {
            r->exit_code = 1;
            if (ex_out_strs(&r->out, CSDK_STREAM_STDERR, "cat: ", argv[i],
                            ": ", problem, "\n", (const char *)NULL) != 0)
                return ex_stopped(r->st, r->call);
        }
    }
    return CSDK_OK;
}

static csdk_status_t ex_cmd_true(ex_run_t *r, size_t argc,
                                 const char *const *argv)
{
    (void)argc;
    (void)argv;
    r->exit_code = 0;
    return CSDK_OK;
}

static csdk_status_t ex_cmd_false(ex_run_t *r, size_t argc,
                                  const char *const *argv)
{
    (void)argc;
    (void)argv;
    r->exit_code = 1;
    return CSDK_OK;
}

static csdk_status_t ex_cmd_exit(ex_run_t *r, size_t argc,
                                 const char *const *argv)
{
    uint64_t n = 0;

    if (argc > 1 && ex_parse_u64(argv[1], &n) != 0) {
        r->exit_code = 2;
        if (ex_out_strs(&r->out, CSDK_STREAM_STDERR, "sh: 1: exit: Illegal "
                        "number: ", argv[1], "\n", (const char *)NULL) != 0)
            return ex_stopped(r->st, r->call);
        return CSDK_OK;
    }
    r->exit_code = (int)(n % 256);
    return CSDK_OK;
}

static csdk_status_t ex_cmd_pwd(ex_run_t *r, size_t argc,
                                const char *const *argv)
{
    (void)argc;
    (void)argv;
    r->exit_code = 0;
    if (ex_out_strs(&r->out, CSDK_STREAM_STDOUT, r->cwd, "\n",
                    (const char *)NULL) != 0)
        return ex_stopped(r->st, r->call);
    return CSDK_OK;
}

/* env: the sandbox's environment, then the command's own additions. */
static csdk_status_t ex_cmd_env(ex_run_t *r, size_t argc,
                                const char *const *argv)
{
    (void)argc;
    (void)argv;
    r->exit_code = 0;
    for (size_t i = 0; i < r->sb->n_env; i++)
        if (ex_out_strs(&r->out, CSDK_STREAM_STDOUT, r->sb->env[i].key, "=",
                        r->sb->env[i].value, "\n", (const char *)NULL) != 0)
            return ex_stopped(r->st, r->call);
    for (size_t i = 0; i < r->opts.n_env; i++) {
        const csdk_kv_t *kv = &r->opts.env[i];

        if (kv->key != NULL &&
            ex_out_strs(&r->out, CSDK_STREAM_STDOUT, kv->key, "=",
                        kv->value ? kv->value : "", "\n",
                        (const char *)NULL) != 0)
            return ex_stopped(r->st, r->call);
    }
    return CSDK_OK;
}

/* Seconds as "N" or "N.FFF" into milliseconds (parsed by hand: the host
 * may have set a locale in which strtod wants a decimal comma). */
static int ex_parse_seconds(const char *s, uint64_t *ms)
{
    uint64_t whole = 0, frac = 0, scale = 100;
    int digits = 0;

    for (; *s >= '0' && *s <= '9'; s++, digits++)
        if (whole < UINT64_MAX / 10000)
            whole = whole * 10 + (uint64_t)(*s - '0');
    if (*s == '.')
        for (s++; *s >= '0' && *s <= '9'; s++, digits++, scale /= 10)
            frac += (uint64_t)(*s - '0') * scale;
    if (*s != '\0' || digits == 0)
        return -1;
    *ms = whole * 1000 + frac;
    return 0;
}

/* The real monotonic clock in ms, not the host's (which tests may
 * freeze). */
static uint64_t ex_clock_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Sleep `ms` in small steps, checking host->cancelled() between them, so
 * a caller who gives up (or a call deadline that passes) is noticed within
 * EX_SLEEP_STEP_MS.  Returns 0, or -1 once cancelled. */
static int ex_sleep_ms(ex_state_t *st, csdk_call_t *call, uint64_t ms)
{
    uint64_t start = ex_clock_ms();

    for (;;) {
        uint64_t elapsed = ex_clock_ms() - start, step;
        struct timespec ts;

        if (st->host->cancelled(call))
            return -1;
        if (elapsed >= ms)
            return 0;
        step = ms - elapsed < EX_SLEEP_STEP_MS ? ms - elapsed
                                               : EX_SLEEP_STEP_MS;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)(step * 1000000);
        nanosleep(&ts, NULL);
    }
}

/* sleep: with a command timeout shorter than the sleep, sleep until the
 * timeout and report it as a shell's `timeout` would: exit code 124 and
 * CSDK_RESULT_TIMED_OUT (a result, not an error). */
static csdk_status_t ex_cmd_sleep(ex_run_t *r, size_t argc,
                                  const char *const *argv)
{
    uint64_t ms = 0;
    int timed_out;

    if (argc < 2) {
        r->exit_code = 1;
        if (ex_out_strs(&r->out, CSDK_STREAM_STDERR,
                        "sleep: missing operand\n", (const char *)NULL) != 0)
            return ex_stopped(r->st, r->call);
        return CSDK_OK;
    }
    for (size_t i = 1; i < argc; i++) { /* several operands add up */
        uint64_t one;

        if (ex_parse_seconds(argv[i], &one) != 0) {
            r->exit_code = 1;
            if (ex_out_strs(&r->out, CSDK_STREAM_STDERR,
                            "sleep: invalid time interval '", argv[i], "'\n",
                            (const char *)NULL) != 0)
                return ex_stopped(r->st, r->call);
            return CSDK_OK;
        }
        ms = ms + one < ms ? UINT64_MAX : ms + one;
    }
    timed_out = r->opts.timeout_ms != 0 && r->opts.timeout_ms < ms;
    if (timed_out)
        ms = r->opts.timeout_ms;
    if (ex_sleep_ms(r->st, r->call, ms) != 0)
        return r->st->host->error(r->call, CSDK_E_CANCELLED,
                                  "cancelled while sleeping");
    if (timed_out) {
        r->out.flags |= CSDK_RESULT_TIMED_OUT;
        r->exit_code = 124;
    } else {
        r->exit_code = 0;
    }
    return CSDK_OK;
}

#define EX_SH_OK 0
#define EX_SH_UNTERMINATED 1
#define EX_SH_OPERATOR 2
#define EX_SH_NOMEM 3

/*
 * Split a shell string into words: blanks separate words, '...' and
 * "..." quote (no escapes, no expansion: `$HOME` stays as written).  Only
 * one simple command is understood, so an unquoted ; | & < > or newline
 * is refused.  On EX_SH_OK, *words (NULL-terminated) and *buf are new
 * allocations the caller frees.
 */
static int ex_shell_split(const char *s, char **buf, const char ***words,
                          size_t *n_words)
{
    size_t len = strlen(s);
    char *b = malloc(len + 1);
    char quote = 0;
    const char **w = malloc((len / 2 + 2) * sizeof *w);
    size_t o = 0, n = 0;
    int in_word = 0;

    *buf = NULL;
    *words = NULL;
    if (b == NULL || w == NULL) {
        free(b);
        free(w);
        return EX_SH_NOMEM;
    }
    while (len > 0 && strchr(" \t\n", s[len - 1]) != NULL)
        len--; /* trailing blanks, and the newline a script ends with */
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (quote != 0) {
            if (c == quote)
                quote = 0;
            else
                b[o++] = c;
            continue;
        }
        if (c == ' ' || c == '\t') {
            if (in_word) {
                b[o++] = '\0';
                in_word = 0;
            }
            continue;
        }
        if (strchr(";|&<>\n", c) != NULL) {
            free(b);
            free(w);
            return EX_SH_OPERATOR;
        }
        if (!in_word) {
            w[n++] = b + o;
            in_word = 1;
        }
        if (c == '\'' || c == '"')
            quote = c;
        else
            b[o++] = c;
    }
    if (quote != 0) {
        free(b);
        free(w);
        return EX_SH_UNTERMINATED;
    }
    if (in_word)
        b[o++] = '\0';
    w[n] = NULL;
    *buf = b;
    *words = w;
    *n_words = n;
    return EX_SH_OK;
}

/* Non-zero for argv {"sh" | "/bin/sh" | "bash" | "/bin/bash", "-c",
 * STRING, ...}: what `csdk exec ID -- sh -c '...'` sends. */
static int ex_is_sh_c(const char *const *argv)
{
    static const char *const shells[] = {"sh", "/bin/sh", "bash",
                                         "/bin/bash"};

    if (argv[0] == NULL || argv[1] == NULL || argv[2] == NULL ||
        strcmp(argv[1], "-c") != 0)
        return 0;
    for (size_t i = 0; i < sizeof shells / sizeof shells[0]; i++)
        if (strcmp(argv[0], shells[i]) == 0)
            return 1;
    return 0;
}

/* Run one command (argv[0] and its arguments) with the built-ins. */
static csdk_status_t ex_exec(ex_run_t *r, size_t argc,
                             const char *const *argv)
{
    if (argc == 0) { /* an empty command line, as `sh -c ''` */
        r->exit_code = 0;
        return CSDK_OK;
    }
    for (size_t i = 0; i < sizeof ex_commands / sizeof ex_commands[0]; i++)
        if (strcmp(argv[0], ex_commands[i].name) == 0)
            return ex_commands[i].fn(r, argc, argv);
    r->exit_code = 127;
    if (ex_out_strs(&r->out, CSDK_STREAM_STDERR, "sh: 1: ", argv[0],
                    ": not found\n", (const char *)NULL) != 0)
        return ex_stopped(r->st, r->call);
    return CSDK_OK;
}

csdk_status_t ex_shell_run(ex_run_t *r)
{
    char *buf = NULL;
    const char **words = NULL;
    const char *msg = NULL;
    size_t argc = 0;
    csdk_status_t rc = CSDK_OK;

    if (r->opts.argv != NULL && !ex_is_sh_c(r->opts.argv)) {
        while (r->opts.argv[argc] != NULL)
            argc++;
        return ex_exec(r, argc, r->opts.argv);
    }
    /* A shell string, or argv {"sh", "-c", STRING, ...}: the same. */
    switch (ex_shell_split(r->opts.argv != NULL ? r->opts.argv[2]
                                                : r->opts.shell,
                           &buf, &words, &argc)) {
    case EX_SH_OK:
        rc = ex_exec(r, argc, words);
        break;
    case EX_SH_UNTERMINATED: /* what sh says, with sh's status */
        msg = "sh: 1: Syntax error: Unterminated quoted string\n";
        break;
    case EX_SH_OPERATOR:
        msg = "sh: 1: the example provider runs one simple command (no ; "
              "| & < > or newlines)\n";
        break;
    default:
        rc = ex_nomem(r->st, r->call);
        break;
    }
    if (msg != NULL) {
        r->exit_code = 2;
        if (ex_out_strs(&r->out, CSDK_STREAM_STDERR, msg,
                        (const char *)NULL) != 0)
            rc = ex_stopped(r->st, r->call);
    }
    free(buf);
    free(words);
    return rc;
}

/* ------------------------------------------------------------------ */
/* run_code: a toy python / node                                       */
/* ------------------------------------------------------------------ */

int ex_code_lang(const char *name)
{
    if (strcmp(name, "python") == 0 || strcmp(name, "python3") == 0)
        return EX_LANG_PYTHON;
    if (strcmp(name, "node") == 0 || strcmp(name, "javascript") == 0)
        return EX_LANG_NODE;
    return 0;
}

#define EX_SCAN_OK 0
#define EX_SCAN_QUOTE 1 /* a string is not closed */
#define EX_SCAN_OPEN 2  /* a '(' is not closed */
#define EX_SCAN_CLOSE 3 /* a ')' closes nothing */

/* Check one line's quotes and parentheses and find where a trailing
 * comment starts (*code_len: the length of the line without it). */
static int ex_code_scan(int lang, const char *p, size_t len,
                        size_t *code_len)
{
    int depth = 0;
    char quote = 0;

    *code_len = len;
    for (size_t i = 0; i < len; i++) {
        char c = p[i];

        if (quote != 0) {
            if (c == '\\')
                i++;
            else if (c == quote)
                quote = 0;
            continue;
        }
        if (c == '"' || c == '\'' || (c == '`' && lang == EX_LANG_NODE)) {
            quote = c;
        } else if ((lang == EX_LANG_PYTHON && c == '#') ||
                   (lang == EX_LANG_NODE && c == '/' && i + 1 < len &&
                    p[i + 1] == '/')) {
            *code_len = i;
            break;
        } else if (c == '(') {
            depth++;
        } else if (c == ')' && depth-- == 0) {
            return EX_SCAN_CLOSE;
        }
    }
    if (quote != 0)
        return EX_SCAN_QUOTE;
    return depth > 0 ? EX_SCAN_OPEN : EX_SCAN_OK;
}

static int ex_is_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v';
}

/* Skip the literal `word` at *p (within end); returns 1 if it was there. */
static int ex_skip_word(const char **p, const char *end, const char *word)
{
    size_t n = strlen(word);

    if ((size_t)(end - *p) < n || memcmp(*p, word, n) != 0)
        return 0;
    *p += n;
    return 1;
}

static void ex_skip_blanks(const char **p, const char *end)
{
    while (*p < end && ex_is_blank(**p))
        (*p)++;
}

/* Non-zero if only blanks and at most one ';' lie between p and end. */
static int ex_only_blanks(const char *p, const char *end)
{
    ex_skip_blanks(&p, end);
    if (p < end && *p == ';')
        p++;
    ex_skip_blanks(&p, end);
    return p == end;
}

/*
 * Match `( "literal" )` or `( )` at *p, up to `end` (a trailing ';' is
 * allowed).  On a match returns 1 with the decoded literal in a new
 * buffer *text of *text_len bytes (NULL for no argument); 0 if the
 * statement has another shape; -1 when out of memory.
 */
static int ex_match_call_args(const char *p, const char *end, char **text,
                              size_t *text_len)
{
    char quote;
    char *t;
    size_t n = 0;

    *text = NULL;
    *text_len = 0;
    ex_skip_blanks(&p, end);
    if (p == end || *p++ != '(')
        return 0;
    ex_skip_blanks(&p, end);
    if (p < end && *p == ')') {
        p++;
    } else {
        if (p == end || (*p != '"' && *p != '\''))
            return 0;
        quote = *p++;
        t = malloc((size_t)(end - p) + 1);
        if (t == NULL)
            return -1;
        for (; p < end && *p != quote; p++) {
            char c = *p;

            if (c == '\\' && p + 1 < end) {
                c = *++p;
                if (c == 'n')
                    c = '\n';
                else if (c == 't')
                    c = '\t';
                else if (c == 'r')
                    c = '\r';
                else if (c != '\\' && c != '\'' && c != '"')
                    t[n++] = '\\'; /* unknown escapes stay as written */
            }
            t[n++] = c;
        }
        if (p == end) {
            free(t);
            return 0;
        }
        p++;
        ex_skip_blanks(&p, end);
        if (p == end || *p++ != ')') {
            free(t);
            return 0;
        }
        *text = t;
        *text_len = n;
    }
    if (!ex_only_blanks(p, end)) {
        free(*text);
        *text = NULL;
        return 0;
    }
    return 1;
}

/* An identifier such as Exception, ValueError, Error. */
static size_t ex_ident_len(const char *p, const char *end)
{
    size_t n = 0;

    while (p + n < end &&
           ((p[n] >= 'a' && p[n] <= 'z') || (p[n] >= 'A' && p[n] <= 'Z') ||
            (p[n] >= '0' && p[n] <= '9') || p[n] == '_' || p[n] == '.'))
        n++;
    return n;
}

/* node's "[stdin]:N", a newline and the line, which start its error
 * reports.  Returns 0, or non-zero when the host asked us to stop. */
static int ex_node_where(ex_out_t *o, const char *num, const char *line,
                         size_t len)
{
    return ex_out_strs(o, CSDK_STREAM_STDERR, "[stdin]:", num, "\n",
                       (const char *)NULL) ||
           ex_out_write(o, CSDK_STREAM_STDERR, line, len);
}

/* Write the message of a syntax error the way the language's interpreter
 * words it.  Returns 0, or non-zero when the host asked us to stop. */
static int ex_code_syntax_error(ex_out_t *o, int lang, size_t lineno,
                                const char *line, size_t len, int what)
{
    char num[32];
    const char *msg;

    snprintf(num, sizeof num, "%zu", lineno);
    if (lang == EX_LANG_NODE)
        return ex_node_where(o, num, line, len) ||
               ex_out_strs(o, CSDK_STREAM_STDERR, "\n\nSyntaxError: "
                           "Invalid or unexpected token\n",
                           (const char *)NULL);
    msg = what == EX_SCAN_QUOTE  ? "unterminated string literal"
          : what == EX_SCAN_OPEN ? "'(' was never closed"
                                 : "unmatched ')'";
    return ex_out_strs(o, CSDK_STREAM_STDERR, "  File \"<stdin>\", line ",
                       num, "\n    ", (const char *)NULL) ||
           ex_out_write(o, CSDK_STREAM_STDERR, line, len) ||
           ex_out_strs(o, CSDK_STREAM_STDERR, "\nSyntaxError: ", msg,
                       (const char *)NULL) ||
           (what == EX_SCAN_QUOTE &&
            ex_out_strs(o, CSDK_STREAM_STDERR, " (detected at line ", num,
                        ")", (const char *)NULL)) ||
           ex_out_strs(o, CSDK_STREAM_STDERR, "\n", (const char *)NULL);
}

/* Write an uncaught exception like the interpreter would.  Returns 0, or
 * non-zero when the host asked us to stop. */
static int ex_code_raise(ex_out_t *o, int lang, size_t lineno,
                         const char *line, size_t len, const char *type,
                         size_t type_len, const char *text, size_t text_len)
{
    char num[32];

    snprintf(num, sizeof num, "%zu", lineno);
    if (lang == EX_LANG_NODE) {
        if (ex_node_where(o, num, line, len) ||
            ex_out_strs(o, CSDK_STREAM_STDERR, "\n^\n\n", (const char *)NULL))
            return -1;
    } else if (ex_out_strs(o, CSDK_STREAM_STDERR,
                           "Traceback (most recent call last):\n  File "
                           "\"<stdin>\", line ", num, ", in <module>\n",
                           (const char *)NULL)) {
        return -1;
    }
    if (ex_out_write(o, CSDK_STREAM_STDERR, type, type_len))
        return -1;
    if (text_len > 0 &&
        (ex_out_strs(o, CSDK_STREAM_STDERR, ": ", (const char *)NULL) ||
         ex_out_write(o, CSDK_STREAM_STDERR, text, text_len)))
        return -1;
    return ex_out_strs(o, CSDK_STREAM_STDERR, "\n", (const char *)NULL);
}

/* The next line of `code` from *pos: its start and its length without the
 * newline (or a "\r\n").  Advances *pos; returns 0 at the end. */
static int ex_next_line(const char *code, size_t len, size_t *pos,
                        const char **line, size_t *line_len)
{
    const char *nl;

    if (*pos >= len)
        return 0;
    *line = code + *pos;
    nl = memchr(*line, '\n', len - *pos);
    *line_len = nl ? (size_t)(nl - *line) : len - *pos;
    *pos += *line_len + 1;
    if (*line_len > 0 && (*line)[*line_len - 1] == '\r')
        (*line_len)--;
    return 1;
}

/* The first pass: does every line parse?  *bad_line is 0 if so, else the
 * first line that does not, whose message has been written to stderr. */
static csdk_status_t ex_code_check(ex_run_t *r, int lang, const char *code,
                                   size_t len, size_t *bad_line)
{
    const char *line;
    size_t pos = 0, line_len, lineno;

    *bad_line = 0;
    for (lineno = 1; ex_next_line(code, len, &pos, &line, &line_len);
         lineno++) {
        size_t code_part;
        int what = ex_code_scan(lang, line, line_len, &code_part);

        if (what == EX_SCAN_OK)
            continue;
        if (ex_code_syntax_error(&r->out, lang, lineno, line, line_len,
                                 what))
            return ex_stopped(r->st, r->call);
        *bad_line = lineno;
        break;
    }
    return CSDK_OK;
}

/* The second pass: run the lines.  Each is print(...) / console.log(...),
 * raise / throw, or anything else, which does nothing. */
static csdk_status_t ex_code_exec(ex_run_t *r, int lang, const char *code,
                                  size_t len)
{
    const csdk_host_t *h = r->st->host;
    const char *line;
    size_t pos = 0, line_len, lineno;

    for (lineno = 1; ex_next_line(code, len, &pos, &line, &line_len);
         lineno++) {
        const char *p = line, *end;
        size_t code_part, type_len = 0;
        char *text = NULL;
        size_t text_len = 0;
        int m = 0, raise = 0;
        const char *type = NULL;

        if (h->cancelled(r->call))
            return h->error(r->call, CSDK_E_CANCELLED,
                            "cancelled at line %zu", lineno);
        (void)ex_code_scan(lang, line, line_len, &code_part);
        end = line + code_part;
        ex_skip_blanks(&p, end);
        while (end > p && ex_is_blank(end[-1]))
            end--;
        if (p == end)
            continue; /* blank line or comment */

        if (lang == EX_LANG_PYTHON ? ex_skip_word(&p, end, "print")
                                   : ex_skip_word(&p, end, "console.log")) {
            m = ex_match_call_args(p, end, &text, &text_len);
        } else if (lang == EX_LANG_PYTHON ? ex_skip_word(&p, end, "raise ")
                                          : ex_skip_word(&p, end, "throw ")) {
            ex_skip_blanks(&p, end);
            if (lang == EX_LANG_NODE && ex_skip_word(&p, end, "new "))
                ex_skip_blanks(&p, end);
            type = p;
            type_len = ex_ident_len(p, end);
            raise = type_len > 0;
            if (raise)
                m = ex_match_call_args(p + type_len, end, &text, &text_len);
            if (raise && m == 0 && ex_only_blanks(p + type_len, end))
                m = 1; /* `raise ValueError`: no message */
        }
        if (m < 0)
            return ex_nomem(r->st, r->call);
        if (m == 0)
            continue; /* any other statement: nothing to do */
        if (raise) {
            int stop = ex_code_raise(&r->out, lang, lineno, line, line_len,
                                     type, type_len, text, text_len);

            free(text);
            if (stop)
                return ex_stopped(r->st, r->call);
            r->exit_code = 1;
            break;
        }
        if ((text_len > 0 && ex_out_write(&r->out, CSDK_STREAM_STDOUT, text,
                                          text_len) != 0) ||
            ex_out_write(&r->out, CSDK_STREAM_STDOUT, "\n", 1) != 0) {
            free(text);
            return ex_stopped(r->st, r->call);
        }
        free(text);
    }
    return CSDK_OK;
}

/* Like a real interpreter, the whole program is checked before any line
 * runs, so a syntax error on line 3 prints nothing from line 1. */
csdk_status_t ex_code_run(ex_run_t *r, int lang, const char *code,
                          size_t len, size_t *bad_line)
{
    csdk_status_t rc = ex_code_check(r, lang, code, len, bad_line);

    if (rc != CSDK_OK || *bad_line != 0)
        return rc;
    return ex_code_exec(r, lang, code, len);
}
