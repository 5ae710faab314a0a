/* A token bucket: `rate` tokens per second, holding at most `burst`.
 * Not locked: the owner serialises access (dispatch holds a mutex). */
#ifndef CSDK_HOST_RATELIMIT_H
#define CSDK_HOST_RATELIMIT_H
#include <stdint.h>

typedef struct ratelimit {
    double rate;     /* tokens per second; 0 = unlimited */
    double burst;    /* bucket size, >= 1 */
    double tokens;
    uint64_t last_ns;
} ratelimit_t;

void ratelimit_init(ratelimit_t *rl, double rate, double burst,
                    uint64_t now_ns);
/* Take one token at `now_ns`: returns 0 if taken, else the ns to wait
 * until one is available (nothing taken). */
uint64_t ratelimit_take(ratelimit_t *rl, uint64_t now_ns);

/*
 * Parse "N", "N/s", "N/m", "N/h", optionally followed by " burst B"
 * ("5/s burst 10").  Returns 0 and fills rate (per second) and burst
 * (default: max(1, N per second)), or -1.
 */
int ratelimit_parse(const char *s, double *rate, double *burst);

#endif
