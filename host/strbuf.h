/* A growable byte buffer, always NUL-terminated after its length so it
 * can be handed out as a C string too. */
#ifndef CSDK_HOST_STRBUF_H
#define CSDK_HOST_STRBUF_H
#include <stddef.h>

typedef struct strbuf {
    char *data; /* NULL until the first append */
    size_t len;
    size_t cap;
} strbuf_t;

/* Return 0, or -1 when out of memory (the buffer is unchanged). */
int strbuf_append(strbuf_t *b, const void *data, size_t len);
/* Give the bytes away (caller frees); the buffer is empty again.  Never
 * NULL unless out of memory: an empty buffer yields "". */
char *strbuf_take(strbuf_t *b, size_t *len);
void strbuf_free(strbuf_t *b);

#endif
