/* Docker's stream multiplexing (demux.h). */
#include <string.h>

#include "demux.h"

int dk_demux_feed(dk_demux_t *d, const void *data, size_t n, dk_demux_fn fn,
                  void *arg)
{
    const unsigned char *p = data;

    while (n > 0) {
        if (d->left == 0) {
            size_t take = sizeof d->hdr - d->have;
            if (take > n)
                take = n;
            memcpy(d->hdr + d->have, p, take);
            d->have += take;
            p += take;
            n -= take;
            d->offset += take;
            if (d->have < sizeof d->hdr)
                break;
            d->have = 0;
            if (d->hdr[0] > 2 || d->hdr[1] || d->hdr[2] || d->hdr[3]) {
                d->offset -= sizeof d->hdr;
                return -1;
            }
            /* Stream 0 (stdin echo) never carries data without a TTY;
             * should an engine send it, it is output like stdout. */
            d->stream = d->hdr[0] == 2 ? 2 : 1;
            d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
                      (uint32_t)d->hdr[6] << 8 | d->hdr[7];
            continue;
        }
        size_t take = n < d->left ? n : d->left;
        int rc = fn(arg, d->stream, p, take);
        d->left -= (uint32_t)take;
        p += take;
        n -= take;
        d->offset += take;
        if (rc)
            return rc;
    }
    return 0;
}

int dk_demux_partial(const dk_demux_t *d)
{
    return d->have != 0 || d->left != 0;
}
