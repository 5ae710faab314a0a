/* Retry delays: exponential backoff with jitter, or the provider's
 * retry-after when it gave one.  Pure functions of their inputs (the
 * random value is passed in) so tests need no clock. */
#ifndef CSDK_HOST_BACKOFF_H
#define CSDK_HOST_BACKOFF_H
#include <stdint.h>

#define BACKOFF_BASE_MS 100u
#define BACKOFF_CAP_MS 10000u

/*
 * Delay before retry number `attempt` (0 for the first retry), in ms.
 * Without retry-after: "equal jitter" - half of min(cap, base * 2^attempt)
 * plus a random part of the other half, so retries spread out but never
 * collapse to zero.  With retry-after (> 0): exactly that, since the server
 * said when it will take the call.
 */
uint64_t backoff_delay_ms(uint32_t attempt, uint64_t retry_after_ms,
                          uint32_t random);

#endif
