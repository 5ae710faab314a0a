#include "internal.h"

#include "backoff.h"

uint64_t backoff_delay_ms(uint32_t attempt, uint64_t retry_after_ms,
                          uint32_t random)
{
    uint64_t ceiling = BACKOFF_BASE_MS, half;
    if (retry_after_ms > 0)
        return retry_after_ms;
    for (uint32_t i = 0; i < attempt && ceiling < BACKOFF_CAP_MS; i++)
        ceiling *= 2;
    if (ceiling > BACKOFF_CAP_MS)
        ceiling = BACKOFF_CAP_MS;
    half = ceiling / 2;
    return half + (uint64_t)random % (ceiling - half + 1);
}
