#include "internal.h"

#include <errno.h>

#include "ratelimit.h"

void ratelimit_init(ratelimit_t *rl, double rate, double burst,
                    uint64_t now_ns)
{
    rl->rate = rate;
    rl->burst = burst < 1 ? 1 : burst;
    rl->tokens = rl->burst;
    rl->last_ns = now_ns;
}

uint64_t ratelimit_take(ratelimit_t *rl, uint64_t now_ns)
{
    if (rl->rate <= 0)
        return 0;
    if (now_ns > rl->last_ns) {
        rl->tokens += (double)(now_ns - rl->last_ns) * rl->rate / 1e9;
        if (rl->tokens > rl->burst)
            rl->tokens = rl->burst;
        rl->last_ns = now_ns;
    }
    if (rl->tokens >= 1.0) {
        rl->tokens -= 1.0;
        return 0;
    }
    {
        /* Round up, so the caller never wakes a hair too early. */
        double w = (1.0 - rl->tokens) * 1e9 / rl->rate;
        uint64_t ns = (uint64_t)w;
        if ((double)ns < w)
            ns++;
        return ns ? ns : 1;
    }
}

int ratelimit_parse(const char *s, double *rate, double *burst)
{
    char *end;
    double n, per = 1.0, b = -1;

    errno = 0;
    n = strtod(s, &end);
    if (end == s || errno || !(n > 0) || n > 1e9)
        return -1;
    if (*end == '/') {
        switch (end[1]) {
        case 's': per = 1; break;
        case 'm': per = 60; break;
        case 'h': per = 3600; break;
        default: return -1;
        }
        end += 2;
    }
    while (*end == ' ')
        end++;
    if (strncmp(end, "burst", 5) == 0) {
        const char *p = end + 5;
        b = strtod(p, &end);
        if (end == p || !(b >= 1) || b > 1e9)
            return -1;
        while (*end == ' ')
            end++;
    }
    if (*end)
        return -1;
    *rate = n / per;
    *burst = b > 0 ? b : (*rate < 1 ? 1 : *rate);
    return 0;
}
