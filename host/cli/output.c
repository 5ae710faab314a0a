/*
 * host/cli/output.c - everything the command writes: streamed output,
 * JSON, tables, error lines and the exit codes they map to.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int cli_exit_for_status(csdk_status_t st)
{
    switch (st) {
    case CSDK_OK:
        return CLI_EXIT_OK;
    case CSDK_E_INVALID_ARGUMENT:
    case CSDK_E_SYNTAX:
        return CLI_EXIT_DATAERR;
    case CSDK_E_NOT_FOUND:
        return CLI_EXIT_NOTFOUND;
    case CSDK_E_CONNECTION:
        return CLI_EXIT_CONNECTION;
    case CSDK_E_NOT_SUPPORTED:
        return CLI_EXIT_UNSUPPORTED;
    case CSDK_E_CONFLICT:
        return CLI_EXIT_CONFLICT;
    case CSDK_E_RATE_LIMITED:
    case CSDK_E_QUOTA:
    case CSDK_E_UNAVAILABLE:
        return CLI_EXIT_TRANSIENT;
    case CSDK_E_TIMEOUT:
        return CLI_EXIT_TIMEOUT;
    case CSDK_E_AUTH:
    case CSDK_E_PERMISSION:
        return CLI_EXIT_PERMISSION;
    case CSDK_E_CONFIG:
        return CLI_EXIT_CONFIG;
    case CSDK_E_CANCELLED:
        return CLI_EXIT_CANCELLED;
    default: /* INTERNAL, PROTOCOL, IO, NOMEM, ABI, codes added later */
        return CLI_EXIT_FAILURE;
    }
}

/* ------------------------------------------------------------------ */
/* Raw writes and streaming                                            */
/* ------------------------------------------------------------------ */

int cli_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len > 0) {
        ssize_t w = write(fd, p, len);

        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

volatile sig_atomic_t cli_interrupted;
static const char *second_signal_msg;

static void on_signal(int sig)
{
    (void)sig;
    if (cli_interrupted) {
        /* The user insists: leave now.  Only async-signal-safe calls. */
        if (second_signal_msg)
            (void)!write(STDERR_FILENO, second_signal_msg,
                         strlen(second_signal_msg));
        _exit(CLI_EXIT_CANCELLED);
    }
    cli_interrupted = 1;
}

void cli_install_signal_handlers(const char *second_msg)
{
    struct sigaction sa;

    second_signal_msg = second_msg;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: a blocking read of stdin should see EINTR. */
    sa.sa_flags = 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int32_t cli_stream_output(void *ud, int32_t stream, const void *data,
                          size_t len)
{
    cli_stream_t *s = ud;
    int fd = stream == CSDK_STREAM_STDERR ? STDERR_FILENO : STDOUT_FILENO;
    int e;

    if (cli_interrupted) {
        s->interrupted = 1;
        return 1;
    }
    if (s->write_errno)
        return 1;
    e = cli_write_all(fd, data, len);
    if (e) {
        s->write_errno = e;
        return 1;
    }
    if (fd == STDERR_FILENO)
        s->err_bytes += len;
    else
        s->out_bytes += len;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

int cli_error(const cli_t *cli, int code, const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "csdk: %s: ", cli->cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int cli_fail(const cli_t *cli, csdk_status_t st, const csdk_error_t *err,
             const cli_stream_t *stream)
{
    if (stream && stream->write_errno == EPIPE)
        return CLI_EXIT_PIPE; /* the reader left: nobody to tell */
    if (stream && stream->write_errno)
        return cli_error(cli, CLI_EXIT_FAILURE, "writing output: %s",
                         strerror(stream->write_errno));
    if (cli_interrupted || (stream && stream->interrupted))
        return cli_error(cli, CLI_EXIT_CANCELLED, "interrupted");
    if (err && err->message[0])
        return cli_error(cli, cli_exit_for_status(st), "%s", err->message);
    return cli_error(cli, cli_exit_for_status(st), "failed: %s",
                     csdk_status_name(st));
}

/* ------------------------------------------------------------------ */
/* JSON                                                                */
/* ------------------------------------------------------------------ */

int cli_print_json(const cli_t *cli, json_t *v)
{
    char *text;
    int rc = 0;

    if (!v)
        return cli_error(cli, CLI_EXIT_FAILURE, "out of memory");
    text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(v);
    if (!text)
        return cli_error(cli, CLI_EXIT_FAILURE, "out of memory");
    if (fputs(text, stdout) == EOF || fputc('\n', stdout) == EOF)
        rc = errno == EPIPE ? CLI_EXIT_PIPE : CLI_EXIT_FAILURE;
    free(text);
    return rc;
}

/* Length of the valid UTF-8 sequence at p (n bytes left), or 0. */
static size_t utf8_seq_len(const unsigned char *p, size_t n)
{
    size_t need;
    uint32_t cp;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        need = 2;
        cp = p[0] & 0x1fu;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        need = 3;
        cp = p[0] & 0x0fu;
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        need = 4;
        cp = p[0] & 0x07u;
    } else {
        return 0;
    }
    if (n < need)
        return 0;
    for (size_t i = 1; i < need; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3fu);
    }
    if ((need == 3 && cp < 0x800) || (need == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return need;
}

json_t *cli_json_bytes(const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    json_t *v;
    char *buf;
    size_t o = 0;

    if (!s)
        return json_null();
    v = json_stringn(s, len);
    if (v)
        return v;
    /* Not UTF-8: replace each bad byte with U+FFFD (3 bytes). */
    if (len > (SIZE_MAX - 1) / 3)
        return NULL;
    buf = malloc(len * 3 + 1);
    if (!buf)
        return NULL;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq_len(p + i, len - i);

        if (k == 0) {
            memcpy(buf + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
        } else {
            memcpy(buf + o, p + i, k);
            o += k;
            i += k;
        }
    }
    v = json_stringn(buf, o);
    free(buf);
    return v;
}

json_t *cli_json_str(const char *s)
{
    return s ? cli_json_bytes(s, strlen(s)) : json_null();
}

json_t *cli_json_ms(int64_t ms)
{
    return ms ? json_integer(ms) : json_null();
}

json_t *cli_json_sandbox(const csdk_sandbox_t *sb, int with_created)
{
    json_t *o = json_object(), *meta = json_object();

    if (!o || !meta) {
        json_decref(o);
        json_decref(meta);
        return NULL;
    }
    json_object_set_new(o, "id", cli_json_str(sb->id));
    json_object_set_new(o, "provider", cli_json_str(sb->provider));
    json_object_set_new(o, "status", cli_json_str(sb->status));
    json_object_set_new(o, "runtime", cli_json_str(sb->runtime));
    json_object_set_new(o, "name", cli_json_str(sb->name));
    json_object_set_new(o, "namespace", cli_json_str(sb->namespace_));
    json_object_set_new(o, "created_ms", cli_json_ms(sb->created_ms));
    json_object_set_new(o, "timeout_ms", cli_json_ms(sb->timeout_ms));
    json_object_set_new(o, "expires_ms", cli_json_ms(sb->expires_ms));
    if (with_created)
        json_object_set_new(o, "created", json_boolean(sb->created));
    for (size_t i = 0; i < sb->n_metadata; i++) {
        if (sb->metadata[i].key)
            json_object_set_new(meta, sb->metadata[i].key,
                                cli_json_str(sb->metadata[i].value));
    }
    json_object_set_new(o, "metadata", meta);
    return o;
}

json_t *cli_json_result(const csdk_result_t *r, const char *id)
{
    json_t *o = json_object();

    if (!o)
        return NULL;
    if (id)
        json_object_set_new(o, "id", cli_json_str(id));
    json_object_set_new(o, "exit_code", json_integer(r->exit_code));
    json_object_set_new(o, "stdout",
                        r->out ? cli_json_bytes(r->out, r->out_len)
                               : json_string(""));
    json_object_set_new(o, "stderr",
                        r->err ? cli_json_bytes(r->err, r->err_len)
                               : json_string(""));
    json_object_set_new(o, "duration_ms", json_integer(r->duration_ms));
    json_object_set_new(o, "timed_out",
                        json_boolean(r->flags & CSDK_RESULT_TIMED_OUT));
    json_object_set_new(o, "truncated",
                        json_boolean(r->flags & CSDK_RESULT_TRUNCATED));
    json_object_set_new(o, "pid", r->pid ? json_integer(r->pid) : json_null());
    return o;
}

char *cli_base64(const void *data, size_t len)
{
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    const unsigned char *p = data;
    size_t o = 0;
    char *out;

    if (len / 3 >= SIZE_MAX / 4 - 1)
        return NULL;
    out = malloc((len + 2) / 3 * 4 + 1);
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        size_t left = len - i;

        if (left > 1)
            v |= (uint32_t)p[i + 1] << 8;
        if (left > 2)
            v |= p[i + 2];
        out[o++] = tab[(v >> 18) & 63];
        out[o++] = tab[(v >> 12) & 63];
        out[o++] = left > 1 ? tab[(v >> 6) & 63] : '=';
        out[o++] = left > 2 ? tab[v & 63] : '=';
    }
    out[o] = '\0';
    return out;
}

/* ------------------------------------------------------------------ */
/* Text                                                                */
/* ------------------------------------------------------------------ */

void cli_format_time(int64_t ms, char *buf, size_t size)
{
    time_t t = (time_t)(ms / 1000);
    struct tm tm;

    if (ms <= 0 || !gmtime_r(&t, &tm) ||
        strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(buf, size, "-");
}

int cli_table_add(cli_table_t *t, const char *const *row)
{
    char **cells = realloc(t->cells, (t->n_rows + 1) * t->n_cols *
                                         sizeof *cells);

    if (!cells)
        return ENOMEM;
    t->cells = cells;
    cells += t->n_rows * t->n_cols;
    for (size_t c = 0; c < t->n_cols; c++) {
        cells[c] = strdup(row[c] && row[c][0] ? row[c] : "-");
        if (!cells[c]) {
            while (c-- > 0)
                free(cells[c]);
            return ENOMEM;
        }
    }
    t->n_rows++;
    return 0;
}

void cli_table_print(const cli_table_t *t, FILE *f)
{
    size_t width[16] = {0};
    size_t n_cols = t->n_cols < 16 ? t->n_cols : 16;

    for (size_t r = 0; r < t->n_rows; r++)
        for (size_t c = 0; c < n_cols; c++) {
            size_t w = strlen(t->cells[r * t->n_cols + c]);

            if (w > width[c])
                width[c] = w;
        }
    for (size_t r = 0; r < t->n_rows; r++) {
        for (size_t c = 0; c < n_cols; c++) {
            const char *cell = t->cells[r * t->n_cols + c];

            if (c + 1 < n_cols)
                fprintf(f, "%-*s  ", (int)width[c], cell);
            else
                fprintf(f, "%s\n", cell);
        }
    }
}

void cli_table_free(cli_table_t *t)
{
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->n_rows = 0;
}
