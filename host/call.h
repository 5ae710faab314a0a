/* One csdk_call_t per call into a plugin slot: the output sink, error slot
 * and deadline the plugin sees through the host upcall table.  Lives on
 * the dispatching thread's stack; the plugin may use it from other threads
 * only until the slot returns. */
#ifndef CSDK_HOST_CALL_H
#define CSDK_HOST_CALL_H
#include <csdk/csdk.h>
#include "strbuf.h"

#define CALL_FIELD_MAX 19 /* one past the highest CSDK_F_* this host knows */

/* One result record: the fields a plugin set with set_int/set_str.  Only
 * the fields whose bit is set hold values (the arrays are not cleared, so
 * a record costs nothing until used). */
typedef struct call_record {
    uint32_t int_set; /* bit f: ints[f] was set */
    uint32_t str_set; /* bit f: strs[f] holds a malloc'd string */
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
    size_t n_recs;            /* records in use: rec0, then more[] */
    call_record_t rec0;       /* the first record lives here: single
                                 results need no allocation */
    call_record_t *more;      /* records 1..n_recs-1 */
    size_t cap_more;
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

/* Record i, or NULL past the last (record 0 is NULL when the plugin set
 * no field). */
const call_record_t *call_record(const csdk_call_t *call, size_t i);
/* Field accessors on a record (NULL-safe). */
const char *record_str(const call_record_t *r, uint32_t f);
int64_t record_int(const call_record_t *r, uint32_t f);
int record_has_int(const call_record_t *r, uint32_t f);

#endif
