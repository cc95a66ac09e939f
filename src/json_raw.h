/*
 * json_raw.h: the check of a pass-through entry (get_connector_log_json):
 * the 2xx body must be one JSON object whose "id" answers the request,
 * decided from the text alone: nothing is decoded, no table built.
 */
#ifndef SM_JSON_RAW_H
#define SM_JSON_RAW_H

#include <lua.h>

#include <stddef.h>

#include "entry.h"

/* Checks text[0..len): one JSON object (RFC 8259's grammar, whitespace
 * around it only) that answers e as sm_check_entry says, with its words.
 * Returns NULL when it does; else returns why (a fixed text, or one
 * pushed) and sets *out_of_step when the body is an answer to another
 * request. */
const char *sm_check_raw(lua_State *L, const char *text, size_t len,
                         const sm_expect *e, const char *credential,
                         int *out_of_step);

#endif
