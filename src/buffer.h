/*
 * buffer.h: a growable byte buffer with a hard size cap, filled from libcurl
 * callbacks and, inside nginx, by the HTTP reader (http1.c). Plain C: no Lua
 * here, so a callback can never raise.
 */
#ifndef SM_BUFFER_H
#define SM_BUFFER_H

#include <stddef.h>

typedef struct sm_buffer {
    char *data;
    size_t len;
    size_t cap;      /* bytes allocated */
    size_t limit;    /* most bytes it may ever hold */
    int over_limit;  /* an append was refused: data would pass limit */
    int out_of_memory;
} sm_buffer;

void sm_buffer_init(sm_buffer *b, size_t limit);
/* Empties the buffer for the next response; frees a large allocation so one
 * big response does not pin its memory for the client's lifetime. */
void sm_buffer_reset(sm_buffer *b);
/* Returns 0 on success; -1 when over the limit or out of memory (flag set). */
int sm_buffer_append(sm_buffer *b, const char *p, size_t n);
void sm_buffer_free(sm_buffer *b);

#endif
