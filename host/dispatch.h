/* The one path every call into a plugin takes: deadline, rate limit,
 * serialisation, retries with backoff for idempotent calls, metrics,
 * logging, and the error message the caller sees. */
#ifndef CSDK_HOST_DISPATCH_H
#define CSDK_HOST_DISPATCH_H
#include <csdk/csdk.h>

#include "call.h"
#include "registry.h"

/* Calls the slot; `args` is the API function's packed arguments. */
typedef csdk_status_t dispatch_invoke_fn(struct csdk_instance *in,
                                         csdk_call_t *call, const void *args);

/* A retry-after longer than this is not waited for: the call fails with
 * the status and its retry-after, and the caller decides. */
#define DISPATCH_MAX_WAIT_MS 60000u

/* Non-zero if method m is safe to repeat (the retry policy's test). */
int dispatch_idempotent(uint32_t m);

/*
 * Run `invoke` for method m on instance `in`.  `call` must be
 * call_begin'd by the caller, which reads the results from it afterwards
 * and then call_end's it.  `deadline_ms` is the whole call's budget (0 =
 * none), retries and rate-limit waits included.  On failure `err` says
 * "provider 'NAME': METHOD: cause".
 */
csdk_status_t dispatch_call(struct csdk_instance *in, uint32_t m,
                            uint64_t deadline_ms, uint32_t flags,
                            dispatch_invoke_fn *invoke, const void *args,
                            csdk_call_t *call, csdk_error_t *err);

#endif
