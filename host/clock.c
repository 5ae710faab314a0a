#include "internal.h"

#include <errno.h>
#include <time.h>

static clock_fake_t fake;

void clock_set_fake(const clock_fake_t *f)
{
    if (f)
        fake = *f;
    else
        memset(&fake, 0, sizeof fake);
}

uint64_t clock_mono_ns(void)
{
    struct timespec ts;
    if (fake.mono_ns)
        return fake.mono_ns(fake.ud);
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t clock_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void clock_sleep_ns(uint64_t ns)
{
    struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    if (fake.sleep_ns) {
        fake.sleep_ns(fake.ud, ns);
        return;
    }
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

uint32_t clock_random_u32(void)
{
    /* xorshift per thread, seeded from the clock and the thread's stack
     * address: jitter needs spread, not secrecy. */
    static _Thread_local uint32_t s;
    if (fake.random_u32)
        return fake.random_u32(fake.ud);
    if (s == 0) {
        uintptr_t addr = (uintptr_t)&s;
        s = (uint32_t)(clock_mono_ns() ^ addr ^ (addr >> 32)) | 1u;
    }
    s ^= s << 13;
    s ^= s >> 17;
    s ^= s << 5;
    return s;
}
