/* The Docker exec/attach stream demultiplexer.
 *
 * Without a TTY the engine multiplexes stdout and stderr on one stream:
 * frames of an 8-byte header (stream type 0 stdin, 1 stdout, 2 stderr;
 * three zero bytes; a big-endian 32-bit length) and that many payload
 * bytes.  The engine says "raw-stream" in the content type even so.
 * Pure code: fed by the HTTP body callback, fuzzed by
 * tests/docker/fuzz_demux.c. */
#ifndef CSDK_DOCKER_DEMUX_H
#define CSDK_DOCKER_DEMUX_H

#include <stddef.h>
#include <stdint.h>

typedef struct dk_demux {
    unsigned char hdr[8];
    size_t have;     /* header bytes collected */
    uint32_t left;   /* payload bytes left in the current frame */
    int stream;      /* 1 stdout, 2 stderr */
    uint64_t offset; /* bytes consumed, for error messages */
} dk_demux_t;

/* Receives a frame's payload (possibly in several pieces).  Return 0 to go
 * on; nonzero stops dk_demux_feed, which returns that value. */
typedef int (*dk_demux_fn)(void *arg, int stream, const void *data,
                           size_t n);

/* Feeds n bytes split anywhere.  Returns 0, a callback's value, or -1 on a
 * header that is not a frame header (a stream type above 2 or nonzero
 * padding), with the offset in d->offset. */
int dk_demux_feed(dk_demux_t *d, const void *data, size_t n, dk_demux_fn fn,
                  void *arg);

/* Nonzero when the input stopped inside a frame. */
int dk_demux_partial(const dk_demux_t *d);

#endif
