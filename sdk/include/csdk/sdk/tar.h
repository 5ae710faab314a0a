/* csdk/sdk/tar.h - streaming tar (POSIX ustar + pax) for plugin authors.
 *
 * Part of the csdk SDK convenience library (sdk/lib).  The writer builds
 * header blocks; the caller streams the data and the padding itself, so a
 * file of any size is sent without being held in memory.  The reader is a
 * push parser: feed it bytes as they arrive from the network and it calls
 * back per entry and per data chunk.  Neither touches the filesystem.
 * A reader is used by one thread at a time. */
#ifndef CSDK_SDK_TAR_H
#define CSDK_SDK_TAR_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CSDK_TAR_BLOCK 512

/* Entry types (the ustar typeflag byte). */
#define CSDK_TAR_FILE    '0'
#define CSDK_TAR_HARDLINK '1'
#define CSDK_TAR_SYMLINK '2'
#define CSDK_TAR_CHAR    '3'
#define CSDK_TAR_BLOCKDEV '4'
#define CSDK_TAR_DIR     '5'
#define CSDK_TAR_FIFO    '6'

typedef struct csdk_tar_entry {
    const char *name;     /* path inside the archive, NUL-terminated */
    const char *linkname; /* symlink/hardlink target, or NULL */
    uint64_t size;        /* data bytes that follow (0 for dirs, links) */
    int64_t mtime;        /* seconds since the epoch */
    uint32_t mode;        /* permission bits (07777) */
    char type;            /* CSDK_TAR_* ('\0' in old archives reads as FILE) */
} csdk_tar_entry_t;

/* Names and link targets either side accepts are 1..4096 bytes. */
#define CSDK_TAR_MAX_PATH 4096

/* --- writer ----------------------------------------------------------- */

/* Bytes csdk_tar_header may need for an entry whose name and linkname have
 * these lengths, whatever its size and mtime (a pax extended header is
 * added when a name does not fit ustar's name and prefix fields, the link
 * target is over 100 bytes, or the size or mtime does not fit 11 octal
 * digits). */
size_t csdk_tar_header_max(size_t name_len, size_t linkname_len);

/* Writes the header block(s) for e into buf (cap bytes).  Returns the bytes
 * written (a multiple of 512), or 0 when buf is NULL or cap too small, the
 * name is empty or over CSDK_TAR_MAX_PATH bytes, the type is not one of
 * the above, a link's linkname is NULL, empty or over CSDK_TAR_MAX_PATH,
 * a type other than FILE has a nonzero size, or the size is over
 * INT64_MAX.  linkname is ignored for other types and mode is masked with
 * 07777; owner and group are written as 0 with no names. */
size_t csdk_tar_header(unsigned char *buf, size_t cap,
                       const csdk_tar_entry_t *e);

/* Zero bytes that must follow `size` bytes of data (0..511). */
size_t csdk_tar_padding(uint64_t size);

/* The end of an archive is two zero blocks (1024 zero bytes). */
#define CSDK_TAR_TRAILER (2 * CSDK_TAR_BLOCK)

/* --- reader ----------------------------------------------------------- */

typedef struct csdk_tar_reader csdk_tar_reader_t;

/* Called once per entry, after its (pax/GNU long-name) headers are parsed;
 * e and its strings are valid only during the call.  Return 0 to go on,
 * anything else to stop: csdk_tar_reader_feed returns that value. */
typedef int (*csdk_tar_entry_cb)(void *arg, const csdk_tar_entry_t *e);
/* Called with the entry's data, in order, in chunks of any size (never
 * with n == 0).  Same return convention. */
typedef int (*csdk_tar_data_cb)(void *arg, const void *data, size_t n);

/* NULL on allocation failure.  Either callback may be NULL (entries or
 * data are then skipped).
 *
 * What the reader takes: ustar (with prefix), GNU and v7 headers with an
 * unsigned or signed checksum, octal or base-256 numbers; pax 'x' headers
 * ("path", "linkpath", "size", "mtime" apply to the next entry, other
 * keys are ignored) and 'g' headers (skipped); GNU 'L'/'K' long names.
 * Types '\0' and '7' read as FILE ('\0' with a trailing '/' as DIR).
 * Types 1-6 never carry data and report size 0; other unknown types are
 * reported as they are, with their data.  GNU sparse entries, a pax or
 * long-name payload over 64 KiB and a name over CSDK_TAR_MAX_PATH are
 * refused.  Input after the two-zero-block trailer is ignored; a single
 * zero block followed by a header is refused, as Go's archive/tar does. */
csdk_tar_reader_t *csdk_tar_reader_new(csdk_tar_entry_cb entry_cb,
                                       csdk_tar_data_cb data_cb, void *arg);

/* Feeds n bytes.  Returns 0; -1 when the input is not a valid archive
 * (checksum, octal fields, pax records, over-long names; see
 * csdk_tar_reader_error); or a callback's nonzero value.  After a nonzero
 * return the reader refuses further input with the same value. */
int csdk_tar_reader_feed(csdk_tar_reader_t *r, const void *buf, size_t n);

/* Call at the end of the input.  Returns 0 when the input ended on an
 * entry boundary (with or without the trailer), -1 when it was truncated
 * inside a header, an entry's data or its padding, or after a pax or GNU
 * long-name header with no entry; after a nonzero feed, that value. */
int csdk_tar_reader_finish(csdk_tar_reader_t *r);

/* A one-line description of the last -1, e.g. "bad header checksum at
 * offset 1024"; "" when there was none. */
const char *csdk_tar_reader_error(const csdk_tar_reader_t *r);

void csdk_tar_reader_free(csdk_tar_reader_t *r);

#ifdef __cplusplus
}
#endif
#endif
