#include "internal.h"

#include "metrics.h"

/* Bucket i holds latencies below 2^(i+8) ns: 256 ns, 512 ns, ... about
 * 2.1 s for i = 22; the last bucket is open-ended. */
CSDK_EXPORT uint64_t csdk_latency_bucket_ns(uint32_t bucket)
{
    if (bucket >= CSDK_LATENCY_BUCKETS - 1)
        return UINT64_MAX;
    return (uint64_t)1 << (bucket + 8);
}

uint32_t metrics_bucket(uint64_t ns)
{
    uint32_t b = 0;
    ns >>= 8;
    while (ns && b < CSDK_LATENCY_BUCKETS - 1) {
        ns >>= 1;
        b++;
    }
    return b;
}

#define ADD(field, v) __atomic_fetch_add(&(field), (v), __ATOMIC_RELAXED)

void metrics_record(metrics_t *m, uint64_t ns, int failed, uint32_t retries,
                    int rate_limited)
{
    ADD(m->count, 1);
    if (failed)
        ADD(m->errors, 1);
    if (retries)
        ADD(m->retries, retries);
    if (rate_limited)
        ADD(m->rate_limited, 1);
    ADD(m->total_ns, ns);
    ADD(m->latency[metrics_bucket(ns)], 1);
}

void metrics_snapshot(const metrics_t *m, csdk_metrics_t *out)
{
#define LOAD(f) __atomic_load_n(&m->f, __ATOMIC_RELAXED)
    out->count = LOAD(count);
    out->errors = LOAD(errors);
    out->retries = LOAD(retries);
    out->rate_limited = LOAD(rate_limited);
    out->total_ns = LOAD(total_ns);
    for (int i = 0; i < CSDK_LATENCY_BUCKETS; i++)
        out->latency[i] = LOAD(latency[i]);
#undef LOAD
}
