/*
 * json_page.h: a page of the list route, {"logs":[...]}, read from its
 * JSON text: the shape checked and the items counted before anything is
 * built, then the array of its entries, built straight from the text when
 * each is the flat entry the API sends (json_entry.h), else decoded by
 * lua-cjson and shaped, so every entry is what cjson and shaping give for
 * it.
 */
#ifndef SM_JSON_PAGE_H
#define SM_JSON_PAGE_H

#include <lua.h>

#include <stddef.h>

#include "json_entry.h"

/* Pushes the array of the entries of the page in text[0..len) and returns
 * 1 when it is one object (lua-cjson's grammar, whitespace only after it)
 * whose "logs" member (the last, of duplicate names) is an array of at
 * most max objects, none with two "id" members, whose decoding by cjson
 * would take at most d->cap. Else returns 0, nothing pushed but maybe the
 * words of r->why: an entry where a page was asked for (r->out_of_step),
 * no "logs" array, a "logs" that is not an array, more than max items
 * (r->out_of_step; nothing built), an item that is not an object or has
 * two ids (which one is named), too much to decode (r->too_large), text
 * that is not one JSON object. */
int sm_json_page(lua_State *L, const char *text, size_t len, int max,
                 const sm_json_decoder *d, sm_refusal *r);

#endif
