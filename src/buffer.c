/*
 * buffer.c: the capped, growable body buffer (buffer.h).
 */
#include "buffer.h"

#include <stdlib.h>
#include <string.h>

/* Above this a buffer is released after each response instead of kept. */
#define SM_BUFFER_KEEP (256 * 1024)
#define SM_BUFFER_FIRST 4096

void sm_buffer_init(sm_buffer *b, size_t limit)
{
    memset(b, 0, sizeof *b);
    b->limit = limit;
}

void sm_buffer_reset(sm_buffer *b)
{
    if (b->cap > SM_BUFFER_KEEP) {
        free(b->data);
        b->data = NULL;
        b->cap = 0;
    }
    b->len = 0;
    b->over_limit = 0;
    b->out_of_memory = 0;
}

int sm_buffer_append(sm_buffer *b, const char *p, size_t n)
{
    /* libcurl may deliver an empty body as one 0-byte write, before any
     * allocation: memcpy to NULL + 0 would be undefined. */
    if (n == 0)
        return 0;
    if (n > b->limit - b->len) {
        b->over_limit = 1;
        return -1;
    }
    if (n > b->cap - b->len) {
        size_t want = b->len + n;
        size_t cap = b->cap ? b->cap : SM_BUFFER_FIRST;
        char *grown;
        while (cap < want)
            cap = cap > (size_t)-1 / 2 ? want : cap * 2;
        if (cap > b->limit)
            cap = b->limit;
        grown = realloc(b->data, cap);
        if (grown == NULL) {
            b->out_of_memory = 1;
            return -1;
        }
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void sm_buffer_free(sm_buffer *b)
{
    free(b->data);
    memset(b, 0, sizeof *b);
}
