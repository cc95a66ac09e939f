/*
 * json_raw.c: a pass-through body checked from its text (json_raw.h). The
 * scanner (json_scan.c) walks the top-level members; the last "id" (as
 * cjson keeps the last of duplicate keys) is compared in place when it is
 * a plain string or a short integer. Only a mismatch, or an id in an odd
 * form, builds anything: a small table for sm_check_answer's wording, or
 * cjson's table for its numbers.
 */
#include "json_raw.h"

#include <string.h>

#include "json_scan.h"

/* Digits of an integer id compared as text: as a double exact, so cjson's
 * number prints back as these same digits (entry.c's integer_text). */
#define SM_RAW_ID_DIGITS 15

#define SM_NOT_OBJECT "the response body is not a JSON object"

/* Whether the string of span k is name, escapes decoded. */
static int key_is(const sm_json_span *k, const char *name, size_t n)
{
    const char *p = k->p, *end = k->p + k->len;
    size_t at = 0;
    if (!k->escaped)
        return k->len == n && memcmp(k->p, name, n) == 0;
    while (p < end) {
        char out[4];
        int m = 1;
        if (*p == '\\') {
            m = sm_json_escape(p, end, out, &p);
            if (m == 0)
                return 0;
        } else {
            out[0] = *p++;
        }
        if (at + (size_t)m > n || memcmp(name + at, out, (size_t)m) != 0)
            return 0;
        at += (size_t)m;
    }
    return at == n;
}

/* Whether number span v is -?[0-9]{1,15} other than -0: cjson gives it
 * as a double that prints back as its own digits. */
static int is_plain_integer(const sm_json_span *v)
{
    size_t i = v->p[0] == '-', digits = v->len - i;
    if (digits == 0 || digits > SM_RAW_ID_DIGITS ||
        (i == 1 && digits == 1 && v->p[1] == '0'))
        return 0;
    for (; i < v->len; i++)
        if (v->p[i] < '0' || v->p[i] > '9')
            return 0;
    return 1;
}

/* The value of an integer is_plain_integer took. */
static double integer_value(const sm_json_span *v)
{
    size_t i = v->p[0] == '-';
    long long n = 0;
    for (; i < v->len; i++)
        n = n * 10 + (v->p[i] - '0');
    return (double)(v->p[0] == '-' ? -n : n);
}

/* sm_check_answer's verdict on cjson's table of the whole text. */
static const char *check_decoded(lua_State *L, const char *text, size_t len,
                                 const sm_expect *e, const char *credential,
                                 int decode_idx, int *out_of_step)
{
    const char *why;
    lua_pushvalue(L, decode_idx);
    lua_pushlstring(L, text, len);
    lua_call(L, 1, 1);
    if (lua_type(L, -1) != LUA_TTABLE)
        return SM_NOT_OBJECT;
    why = sm_check_answer(L, -1, e, credential);
    *out_of_step = why != NULL;
    return why;
}

const char *sm_check_raw(lua_State *L, const char *text, size_t len,
                         const sm_expect *e, const char *credential,
                         int decode_idx, int *out_of_step)
{
    sm_json_scan s;
    sm_json_member m, id;
    int r, has_id = 0, has_logs = 0;
    const char *why;
    *out_of_step = 0;
    memset(&id, 0, sizeof id);
    if (len == 0)
        return "the response body is empty";
    if (sm_json_open(&s, text, len) != 0)
        return SM_NOT_OBJECT;
    while ((r = sm_json_next(&s, &m)) == 1) {
        if (key_is(&m.key, "id", 2)) {
            id = m;
            has_id = 1;
        } else if (key_is(&m.key, "logs", 4)) {
            has_logs = 1;
        }
    }
    if (r != 0)
        return SM_NOT_OBJECT;
    if (has_id && id.kind == SM_JSON_STRING &&
        key_is(&id.value, e->id, e->id_len))
        return NULL;
    if (has_id && id.kind == SM_JSON_NUMBER && is_plain_integer(&id.value) &&
        id.value.len == e->id_len && memcmp(id.value.p, e->id, e->id_len) == 0)
        return NULL;
    if ((!has_id || id.kind == SM_JSON_NULL) && !has_logs)
        return NULL; /* no id to tell by */
    if (has_id && ((id.kind == SM_JSON_NUMBER && !is_plain_integer(&id.value)) ||
                   (id.kind == SM_JSON_STRING && id.value.escaped)))
        return check_decoded(L, text, len, e, credential, decode_idx,
                             out_of_step);
    /* A mismatch: worded by sm_check_answer, on a table of what it reads
     * (the id as cjson would give it, "logs" when there is one). */
    lua_createtable(L, 0, 2);
    if (has_logs) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "logs");
    }
    if (has_id) {
        switch (id.kind) {
        case SM_JSON_STRING:
            lua_pushlstring(L, id.value.p, id.value.len);
            break;
        case SM_JSON_NUMBER:
            lua_pushnumber(L, (lua_Number)integer_value(&id.value));
            break;
        case SM_JSON_TRUE:
        case SM_JSON_FALSE:
            lua_pushboolean(L, id.kind == SM_JSON_TRUE);
            break;
        case SM_JSON_NULL:
            lua_pushnil(L);
            break;
        default:
            lua_newtable(L);
        }
        lua_setfield(L, -2, "id");
    }
    why = sm_check_answer(L, -1, e, credential);
    *out_of_step = why != NULL;
    return why;
}
