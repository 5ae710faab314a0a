#include "internal.h"

#include "call.h"
#include "registry.h"

/* ---- error and retry-after ---- */

static csdk_status_t up_error(csdk_call_t *call, csdk_status_t code,
                              const char *fmt, ...) CSDK_PRINTF(3, 4);
static csdk_status_t up_error(csdk_call_t *call, csdk_status_t code,
                              const char *fmt, ...)
{
    va_list ap;
    if (!call)
        return code;
    call->code = code;
    va_start(ap, fmt);
    vsnprintf(call->msg, sizeof call->msg, fmt ? fmt : "", ap);
    va_end(ap);
    log_flatten(call->msg);
    return code;
}

static void up_retry_after(csdk_call_t *call, uint64_t ms)
{
    if (call)
        call->retry_after_ms = ms;
}

/* ---- output ---- */

static int32_t up_write(csdk_call_t *call, int32_t stream, const void *data,
                        size_t len)
{
    if (!call || stream < 0 || stream > 2 || (len && !data))
        return 1;
    if (call->cancelled || (call->cancel_flag && *call->cancel_flag)) {
        call->cancelled = 1;
        return 1;
    }
    if (call->on_output) {
        call->forwarded = 1;
        if (len && call->on_output(call->output_ud, stream, data, len) != 0)
            call->cancelled = 1;
        return call->cancelled;
    }
    if (strbuf_append(&call->out[stream], data, len) != 0) {
        call->oom = 1;
        return 1;
    }
    return 0;
}

static void record_init(call_record_t *r)
{
    r->int_set = r->str_set = 0;
    r->meta = NULL;
    r->n_meta = 0;
}

static call_record_t *record_at(csdk_call_t *call, size_t i)
{
    return i == 0 ? &call->rec0 : &call->more[i - 1];
}

static call_record_t *current_record(csdk_call_t *call)
{
    if (call->n_recs == 0) {
        record_init(&call->rec0);
        call->n_recs = 1;
    }
    return record_at(call, call->n_recs - 1);
}

static int32_t up_next_record(csdk_call_t *call)
{
    if (!call)
        return 1;
    if (call->n_recs >= 1 && call->n_recs - 1 == call->cap_more) {
        size_t cap = call->cap_more ? call->cap_more * 2 : 8;
        call_record_t *r = realloc(call->more, cap * sizeof *r);
        if (!r) {
            call->oom = 1;
            return 1;
        }
        call->more = r;
        call->cap_more = cap;
    }
    call->n_recs++;
    record_init(record_at(call, call->n_recs - 1));
    return 0;
}

static int32_t up_set_int(csdk_call_t *call, uint32_t field, int64_t value)
{
    call_record_t *r;
    if (!call)
        return 1;
    if (field == 0 || field >= CALL_FIELD_MAX)
        return 0; /* a newer field this host does not know: ignore */
    r = current_record(call);
    r->ints[field] = value;
    r->int_set |= 1u << field;
    return 0;
}

static int32_t up_set_str(csdk_call_t *call, uint32_t field,
                          const char *value)
{
    call_record_t *r;
    char *copy;
    if (!call)
        return 1;
    if (field == 0 || field >= CALL_FIELD_MAX)
        return 0;
    if (!(copy = strdup(value ? value : ""))) {
        call->oom = 1;
        return 1;
    }
    r = current_record(call);
    if (r->str_set & (1u << field))
        free(r->strs[field]);
    r->strs[field] = copy;
    r->str_set |= 1u << field;
    return 0;
}

static int32_t up_set_meta(csdk_call_t *call, const char *key,
                           const char *value)
{
    call_record_t *r;
    csdk_meta_t *m;
    if (!call || !key)
        return 1;
    r = current_record(call);
    m = realloc(r->meta, (r->n_meta + 1) * sizeof *m);
    if (!m)
        goto oom;
    r->meta = m;
    m[r->n_meta].key = strdup(key);
    m[r->n_meta].value = strdup(value ? value : "");
    if (!m[r->n_meta].key || !m[r->n_meta].value) {
        free(m[r->n_meta].key);
        free(m[r->n_meta].value);
        goto oom;
    }
    r->n_meta++;
    return 0;
oom:
    call->oom = 1;
    return 1;
}

/* ---- time and cancellation ---- */

static uint64_t up_remaining_ms(csdk_call_t *call)
{
    uint64_t now;
    if (!call || call->deadline_ns == 0)
        return UINT64_MAX;
    now = clock_mono_ns();
    return now >= call->deadline_ns ? 0
                                    : (call->deadline_ns - now) / 1000000u;
}

static int32_t up_cancelled(csdk_call_t *call)
{
    if (!call)
        return 0;
    if (call->cancel_flag && *call->cancel_flag)
        call->cancelled = 1;
    return call->cancelled ||
           (call->deadline_ns && clock_mono_ns() >= call->deadline_ns);
}

static void up_log(csdk_instance_t *inst, int32_t level, const char *fmt,
                   ...) CSDK_PRINTF(3, 4);
static void up_log(csdk_instance_t *inst, int32_t level, const char *fmt,
                   ...)
{
    va_list ap;
    if (!inst || !log_enabled(&inst->host->log, level))
        return;
    va_start(ap, fmt);
    log_vmsg(&inst->host->log, level, inst->who, fmt, ap);
    va_end(ap);
}

static uint64_t up_now_ms(void) { return clock_wall_ms(); }
static uint64_t up_monotonic_ms(void) { return clock_mono_ns() / 1000000u; }

const csdk_host_t call_host_table = {
    .abi_version = CSDK_ABI_VERSION,
    .struct_size = sizeof(csdk_host_t),
    .error = up_error,
    .retry_after = up_retry_after,
    .write = up_write,
    .set_int = up_set_int,
    .set_str = up_set_str,
    .set_meta = up_set_meta,
    .next_record = up_next_record,
    .remaining_ms = up_remaining_ms,
    .cancelled = up_cancelled,
    .log = up_log,
    .now_ms = up_now_ms,
    .monotonic_ms = up_monotonic_ms,
};

/* ---- lifecycle of a call ---- */

void call_begin(csdk_call_t *call, struct csdk_instance *inst,
                uint32_t method, const csdk_call_opts_t *copts)
{
    /* Only the header is cleared: records are initialised when first
     * used, and msg is written before it is read. */
    memset(call, 0, offsetof(csdk_call_t, rec0));
    call->more = NULL;
    call->cap_more = 0;
    call->msg[0] = '\0';
    call->inst = inst;
    call->method = method;
    if (copts && CSDK_HAS_FIELD(csdk_call_opts_t, copts, output_ud)) {
        call->on_output = copts->on_output;
        call->output_ud = copts->output_ud;
    }
    if (copts && CSDK_HAS_FIELD(csdk_call_opts_t, copts, cancel))
        call->cancel_flag = copts->cancel;
}

static void record_free(call_record_t *r)
{
    for (uint32_t set = r->str_set, f = 0; set; set >>= 1, f++)
        if (set & 1u)
            free(r->strs[f]);
    for (size_t m = 0; m < r->n_meta; m++) {
        free(r->meta[m].key);
        free(r->meta[m].value);
    }
    free(r->meta);
    record_init(r);
}

static void records_free(csdk_call_t *call)
{
    for (size_t i = 0; i < call->n_recs; i++)
        record_free(record_at(call, i));
    free(call->more);
    call->more = NULL;
    call->n_recs = call->cap_more = 0;
}

void call_reset(csdk_call_t *call)
{
    records_free(call);
    for (int i = 0; i < 3; i++)
        strbuf_free(&call->out[i]);
    call->code = CSDK_OK;
    call->retry_after_ms = 0;
    call->oom = 0;
    call->msg[0] = '\0';
}

void call_end(csdk_call_t *call) { call_reset(call); }

const call_record_t *call_record(const csdk_call_t *call, size_t i)
{
    if (i >= call->n_recs)
        return NULL;
    return i == 0 ? &call->rec0 : &call->more[i - 1];
}

const char *record_str(const call_record_t *r, uint32_t f)
{
    return r && f < CALL_FIELD_MAX && (r->str_set & (1u << f)) ? r->strs[f]
                                                               : NULL;
}

int record_has_int(const call_record_t *r, uint32_t f)
{
    return r && f < CALL_FIELD_MAX && (r->int_set & (1u << f));
}

int64_t record_int(const call_record_t *r, uint32_t f)
{
    return record_has_int(r, f) ? r->ints[f] : 0;
}
