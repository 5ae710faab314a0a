#include "internal.h"

int strbuf_append(strbuf_t *b, const void *data, size_t len)
{
    if (len >= SIZE_MAX / 2 - b->len)
        return -1;
    if (b->len + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + len + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (!p)
            return -1;
        b->data = p;
        b->cap = cap;
    }
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return 0;
}

char *strbuf_take(strbuf_t *b, size_t *len)
{
    char *p = b->data ? b->data : malloc(1);
    if (p && !b->data)
        *p = '\0';
    if (len)
        *len = b->data ? b->len : 0;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void strbuf_free(strbuf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
