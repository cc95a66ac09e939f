/*
 * json_entry.c: a flat LogEntry's table straight from its JSON text
 * (json_entry.h). lua-cjson fills a table one lua_rawset at a time, growing
 * it 0-1-2-4-8, and shaping then walks it again for nulls and turns floats
 * into integers; this presizes the table and pushes each value once, in
 * its final form. Whatever it is not sure to give exactly as cjson plus
 * shaping would, it declines (json_entry.h lists what).
 */
#include "json_entry.h"

#include <float.h>
#include <string.h>

#include <lauxlib.h>

#include "compat.h"
#include "json_scan.h"

/* Significant digits a number may have here: below 2^53, so they are an
 * exact double m; with at most 22 after the point, 10^k is exact too and
 * m / 10^k one correctly rounded division: the double strtod gives. */
#define SM_ENTRY_FAST_DIGITS 15
#define SM_ENTRY_FAST_FRACTION 22

int sm_json_ints_of(lua_State *L, int idx)
{
#if SM_HAVE_INTEGERS
    int ints = SM_JSON_INTS_UNKNOWN;
    lua_pushvalue(L, idx);
    lua_pushliteral(L, "[1]");
    if (lua_pcall(L, 1, 1, 0) == 0 && lua_type(L, -1) == LUA_TTABLE) {
        lua_rawgeti(L, -1, 1);
        if (lua_type(L, -1) == LUA_TNUMBER)
            ints = lua_isinteger(L, -1) ? SM_JSON_INTS_INTEGER
                                        : SM_JSON_INTS_FLOAT;
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return ints;
#else
    (void)L;
    (void)idx;
    return SM_JSON_INTS_FLOAT; /* every number is a float there */
#endif
}

int sm_json_push_string(lua_State *L, const sm_json_span *s)
{
    const char *p = s->p, *end = s->p + s->len;
    luaL_Buffer b;
    if (!s->escaped) {
        lua_pushlstring(L, p, s->len);
        return 1;
    }
    luaL_buffinit(L, &b);
    while (p < end) {
        const char *bs = memchr(p, '\\', (size_t)(end - p));
        char out[4];
        int n;
        if (bs == NULL) {
            luaL_addlstring(&b, p, (size_t)(end - p));
            break;
        }
        luaL_addlstring(&b, p, (size_t)(bs - p));
        n = sm_json_escape(bs, end, out, &p);
        if (n == 0)
            return 0;
        luaL_addlstring(&b, out, (size_t)n);
    }
    luaL_pushresult(&b);
    return 1;
}

/* The fields the contract types as integers (entry.c's integer_fields). */
static int is_integer_field(const char *k, size_t n)
{
    return (n == 6 && memcmp(k, "status", 6) == 0) ||
           (n == 11 && memcmp(k, "duration_ms", 11) == 0);
}

/* Pushes the number of span v as cjson and shaping give it; returns 0
 * with nothing pushed when not sure. */
static int push_number(lua_State *L, const sm_json_span *v, int ints,
                       int integer_field)
{
    static const double pow10[SM_ENTRY_FAST_FRACTION + 1] = {
        1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    };
    const char *p = v->p, *end = v->p + v->len;
    long long m = 0;
    int digits = 0, frac = 0, neg = *p == '-';
    /* Leading zeros (0.001) are not significant. */
    for (p += neg; p < end && *p >= '0' && *p <= '9'; p++) {
        if ((m != 0 || *p != '0') && ++digits > SM_ENTRY_FAST_DIGITS)
            return 0;
        m = m * 10 + (*p - '0');
    }
    if (p < end && *p == '.')
        for (p++; p < end && *p >= '0' && *p <= '9'; p++) {
            if (((m != 0 || *p != '0') && ++digits > SM_ENTRY_FAST_DIGITS) ||
                ++frac > SM_ENTRY_FAST_FRACTION)
                return 0;
            m = m * 10 + (*p - '0');
        }
    /* An exponent is left to cjson; so is -0, which the OpenResty fork
     * gives as the integer 0 and Debian's as the float -0.0. */
    if (p != end || (m == 0 && neg))
        return 0;
    if (neg)
        m = -m;
    if (frac == 0) {
#if SM_HAVE_INTEGERS
        if (integer_field || ints == SM_JSON_INTS_INTEGER)
            lua_pushinteger(L, (lua_Integer)m);
        else if (ints == SM_JSON_INTS_FLOAT)
            lua_pushnumber(L, (lua_Number)m);
        else
            return 0;
#else
        (void)ints;
        (void)integer_field;
        lua_pushnumber(L, (lua_Number)m);
#endif
        return 1;
    }
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
    {
        double d = (double)m / pow10[frac];
#if SM_HAVE_INTEGERS
        /* Shaping's rule: an integral status is an integer (|d| < 10^15
         * always fits). */
        if (integer_field && d == (double)(long long)d) {
            lua_pushinteger(L, (lua_Integer)d);
            return 1;
        }
#endif
        lua_pushnumber(L, (lua_Number)d);
        return 1;
    }
#else
    /* Excess precision would round twice: strtod's answer is not sure. */
    (void)pow10;
    return 0;
#endif
}

/* Pushes the key k of member i: from keys when the entry before had the
 * same bytes there (no hashing and interning again), else decoded, and
 * then kept there. Returns 0 on an escape cjson refuses. */
static int push_key(lua_State *L, const sm_json_span *k, int i,
                    sm_json_keys *keys)
{
    if (keys != NULL && i < keys->n && keys->raw[i].len == k->len &&
        memcmp(keys->raw[i].p, k->p, k->len) == 0) {
        lua_rawgeti(L, keys->idx, i + 1);
        return 1;
    }
    if (!sm_json_push_string(L, k))
        return 0;
    /* Members are read in order: i is at most keys->n. */
    if (keys != NULL && i < SM_JSON_KEYS) {
        lua_pushvalue(L, -1);
        lua_rawseti(L, keys->idx, i + 1);
        keys->raw[i] = *k;
        if (i == keys->n)
            keys->n++;
    }
    return 1;
}

/* Sets member m, the i-th, on the table at t; returns 0 when declined. */
static int set_member(lua_State *L, int t, const sm_json_member *m, int i,
                      int ints, sm_json_keys *keys)
{
    size_t kn = m->key.len;
    const char *k = m->key.p;
    if (!push_key(L, &m->key, i, keys))
        return 0;
    if (m->key.escaped)
        k = lua_tolstring(L, -1, &kn); /* the key as decoded */
    switch (m->kind) {
    case SM_JSON_STRING:
        if (!sm_json_push_string(L, &m->value))
            return 0;
        break;
    case SM_JSON_TRUE:
    case SM_JSON_FALSE:
        lua_pushboolean(L, m->kind == SM_JSON_TRUE);
        break;
    case SM_JSON_NULL:
        /* Absent, as shaping leaves it; a duplicate key's earlier value
         * goes too (the last wins). */
        lua_pushvalue(L, -1);
        lua_rawget(L, t);
        if (lua_isnil(L, -1)) {
            lua_pop(L, 2);
            return 1;
        }
        lua_pop(L, 1);
        lua_pushnil(L);
        break;
    case SM_JSON_NUMBER:
        if (!push_number(L, &m->value, ints, is_integer_field(k, kn)))
            return 0;
        break;
    default:
        return 0; /* nested: cjson's */
    }
    lua_rawset(L, t);
    return 1;
}

int sm_json_entry_scan(sm_json_scan *s, sm_json_member *m, int max,
                       sm_entry_facts *f, int *kept)
{
    int n = 0, nulls = 0, r;
    while ((r = sm_json_next(s, &m[n])) == 1) {
        const sm_json_member *x = &m[n];
        if (x->kind == SM_JSON_OBJECT || x->kind == SM_JSON_ARRAY ||
            n + 1 == max)
            return -2 - n;
        /* Only "id" and "logs" tell anything (escaped, they may spell
         * it). */
        if ((x->key.len <= 4 || x->key.escaped) && f != NULL)
            sm_entry_note(f, &x->key, x->kind, &x->value);
        nulls += x->kind == SM_JSON_NULL;
        n++;
    }
    *kept = n - nulls;
    return r == 0 ? n : -1;
}

int sm_json_entry_build(lua_State *L, const sm_json_member *m, int n,
                        int kept, int ints, sm_json_keys *keys)
{
    int i, top = lua_gettop(L);
    lua_createtable(L, 0, kept);
    for (i = 0; i < n; i++)
        if (!set_member(L, top + 1, &m[i], i, ints, keys)) {
            lua_settop(L, top);
            return 0;
        }
    return 1;
}

int sm_json_entry(lua_State *L, const char *text, size_t len, int ints)
{
    sm_json_scan s;
    sm_json_member m[SM_ENTRY_FAST_MEMBERS];
    int n, kept;
    if (sm_json_open(&s, text, len) != 0 || !lua_checkstack(L, 6))
        return 0;
    n = sm_json_entry_scan(&s, m, SM_ENTRY_FAST_MEMBERS, NULL, &kept);
    return n >= 0 && sm_json_entry_build(L, m, n, kept, ints, NULL);
}
