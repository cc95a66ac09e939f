/*
 * envelope.h: error values for responses with an unexpected status, built
 * from the API's error envelope when there is a usable one.
 */
#ifndef SM_ENVELOPE_H
#define SM_ENVELOPE_H

#include <lua.h>
#include <stddef.h>

#include "response.h"

/* What the server said besides the body, and what must never show. */
typedef struct sm_reply {
    long status;            /* 0 when no response arrived */
    const sm_meta *meta;
    const char *credential;     /* credential to redact from server text, or NULL */
} sm_reply;

/* Pushes the error for a reply whose status is not 2xx, from the fields
 * of its body that say why (json_fields.h) and the body's start. */
void sm_push_status_error(lua_State *L, const sm_reply *r, const char *body,
                          size_t len);

/* Sets status, request_id, retry_after and rate-limit fields from r on the
 * error table on top of the stack (the ones not set already). */
void sm_set_reply_fields(lua_State *L, const sm_reply *r);

#endif
