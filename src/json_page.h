/*
 * json_page.h: the fast path of a page of the list route, {"logs":[...]}:
 * the array of its entries built straight from the JSON text, each entry
 * by the flat-entry decoder (json_entry.h), when the page is what the API
 * sends; otherwise it declines and the caller decodes with lua-cjson,
 * checks and shapes as before, so what a caller gets never changes.
 */
#ifndef SM_JSON_PAGE_H
#define SM_JSON_PAGE_H

#include <lua.h>

#include <stddef.h>

/* Pushes the array of the page in text[0..len) and returns 1 when it is
 * one object whose last "logs" member is an array of at most max items,
 * each an entry sm_json_entry takes, and whose other members lua-cjson
 * takes too: then lua-cjson, sm_check_answer for a page of at most max
 * entries and sm_shape_page would pass it and give exactly that array.
 * Returns 0 with nothing pushed for anything else (no "logs" array, more
 * than max items, an item that is not a flat entry, an escaped top-level
 * key, a "logs" that is not an array, text cjson refuses or is not strict
 * JSON): what cjson's path then says, error words included, is as before. */
int sm_json_page(lua_State *L, const char *text, size_t len, int ints,
                 int max);

#endif
