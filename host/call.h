/* One csdk_call_t per call into a plugin slot: the output sink, error slot
 * and deadline the plugin sees through the host upcall table.  Lives on
 * the dispatching thread's stack; the plugin may use it from other threads
 * only until the slot returns. */
#ifndef CSDK_HOST_CALL_H
#define CSDK_HOST_CALL_H
#include <csdk/csdk.h>
#include "strbuf.h"

#define CALL_FIELD_MAX 19 /* one past the highest CSDK_F_* this host knows */

/* One result record: the fields a plugin set with set_int/set_str. */
typedef struct call_record {
    uint32_t int_set; /* bit f: ints[f] was set */
    int64_t ints[CALL_FIELD_MAX];
    char *strs[CALL_FIELD_MAX];
    csdk_meta_t *meta;
    size_t n_meta;
} call_record_t;

struct csdk_call {
    struct csdk_instance *inst;
    uint32_t method;          /* CSDK_M_*, or CALL_INIT */
    csdk_status_t code;       /* what host->error recorded */
    uint64_t retry_after_ms;
    uint64_t deadline_ns;     /* monotonic; 0 = none */
    int32_t cancelled;        /* the caller's callback asked to stop */
    int32_t oom;              /* an upcall ran out of memory */
    int32_t forwarded;        /* output went to the caller: no retry */
    csdk_output_fn *on_output;
    void *output_ud;
    const volatile int32_t *cancel_flag; /* the caller's, or NULL */
    strbuf_t out[3];          /* by CSDK_STREAM_*, when buffering */
    call_record_t *recs;      /* records; NULL until a field is set */
    size_t n_recs, cap_recs;
    char msg[CSDK_ERROR_MAX];
};

#define CALL_INIT UINT32_MAX /* method value while init runs */

/* The upcall table every plugin receives. */
extern const csdk_host_t call_host_table;

void call_begin(csdk_call_t *call, struct csdk_instance *inst,
                uint32_t method, const csdk_call_opts_t *copts);
/* Drop outputs and error so an attempt can be retried. */
void call_reset(csdk_call_t *call);
void call_end(csdk_call_t *call);

/* The first record, or NULL when the plugin set no field. */
const call_record_t *call_record(const csdk_call_t *call, size_t i);
/* Field accessors on a record (NULL-safe). */
const char *record_str(const call_record_t *r, uint32_t f);
int64_t record_int(const call_record_t *r, uint32_t f);
int record_has_int(const call_record_t *r, uint32_t f);

#endif
