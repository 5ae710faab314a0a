/* The host's clocks.  Every time-dependent module reads time through
 * these, so tests can substitute a fake clock (clock_set_fake). */
#ifndef CSDK_HOST_CLOCK_H
#define CSDK_HOST_CLOCK_H
#include <stdint.h>

uint64_t clock_mono_ns(void);      /* monotonic, ns */
uint64_t clock_wall_ms(void);      /* ms since the epoch */
void clock_sleep_ns(uint64_t ns);  /* sleeps (or advances a fake clock) */
uint32_t clock_random_u32(void);   /* for jitter; thread-safe */

/* Tests only: route the functions above to a fake.  `mono_ns` and
 * `sleep_ns` may be NULL to restore the real clock.  Not thread-safe. */
typedef struct clock_fake {
    uint64_t (*mono_ns)(void *ud);
    void (*sleep_ns)(void *ud, uint64_t ns);
    uint32_t (*random_u32)(void *ud);
    void *ud;
} clock_fake_t;
void clock_set_fake(const clock_fake_t *fake);

#endif
