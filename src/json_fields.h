/*
 * json_fields.h: the fields an error body is read for (the API's error
 * envelope, an RFC 9457 problem, a gateway's message), taken from its
 * text with nothing else decoded: a body of any size or shape costs no
 * more than those strings (envelope.c reads them).
 */
#ifndef SM_JSON_FIELDS_H
#define SM_JSON_FIELDS_H

#include <lua.h>

#include <stddef.h>

/* When text[0..len) is one JSON object as lua-cjson decodes it
 * (json_scan.h's SM_JSON_CJSON), pushes a table that holds what cjson's
 * table of the text holds at these paths, and returns 1: error.code,
 * error.message, error.description, meta.request_id, title, detail,
 * message, and of each validation[i] (i up to SM_VALIDATION_MAX) message
 * and location[j] (j up to SM_LOCATION_MAX), the last of duplicate names
 * each time. A string or a number there is itself; an object or an array
 * where the paths go on is a table (an array's items are kept only under
 * validation and location, objects' members only under those paths);
 * where an array's item is neither what is read there, false (a reader
 * stops at it as at cjson's value); anything else is absent. Returns 0
 * with nothing pushed when the text is not such an object. */
int sm_json_error_fields(lua_State *L, const char *text, size_t len);

#endif
