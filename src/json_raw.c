/*
 * json_raw.c: a pass-through body checked from its text (json_raw.h). The
 * scanner (json_scan.c) walks the top-level members and entry.c tells from
 * what they say (the "id" members, a "logs" member) whether the body
 * answers the request; only the words of a refusal are ever pushed.
 */
#include "json_raw.h"

#include "json_scan.h"

const char *sm_check_raw(lua_State *L, const char *text, size_t len,
                         const sm_expect *e, const char *credential,
                         int *out_of_step)
{
    sm_json_scan s;
    sm_json_member m;
    sm_entry_facts f = {0, 0, SM_JSON_NULL, {NULL, 0, 0}};
    int r;
    *out_of_step = 0;
    if (len == 0)
        return "the response body is empty";
    if (sm_json_open(&s, text, len) != 0)
        return "the response body is not a JSON object";
    while ((r = sm_json_next(&s, &m)) == 1)
        sm_entry_note(&f, &m.key, m.kind, &m.value);
    if (r != 0)
        return "the response body is not a JSON object";
    return sm_check_entry(L, &f, e, credential, out_of_step);
}
