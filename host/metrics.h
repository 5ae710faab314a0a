/* Per-instance, per-method counters.  Updated with relaxed atomics, so
 * calls on thread-safe instances need no lock; a reader sees each counter
 * consistent but not all counters at one instant. */
#ifndef CSDK_HOST_METRICS_H
#define CSDK_HOST_METRICS_H
#include <csdk/csdk.h>

typedef csdk_metrics_t metrics_t;

void metrics_record(metrics_t *m, uint64_t ns, int failed, uint32_t retries,
                    int rate_limited);
void metrics_snapshot(const metrics_t *m, csdk_metrics_t *out);
/* The histogram bucket for a latency. */
uint32_t metrics_bucket(uint64_t ns);

#endif
