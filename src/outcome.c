/*
 * outcome.c: an attempt's outcome as Lua values (outcome.h).
 */
#include "outcome.h"

#include <stdio.h>
#include <string.h>

#include <lauxlib.h>

#include "compat.h"
#include "envelope.h"
#include "errors.h"
#include "json_entry.h"
#include "json_page.h"
#include "json_raw.h"

static const char *const code_of[] = {
    NULL, "TIMEOUT", "CONNECTION_ERROR", "TLS_ERROR", "RESPONSE_TOO_LARGE",
    "INVALID_RESPONSE",
};

/* The reply's fields (status, request id, rate limits...) on the table on
 * top of the stack. */
static void set_reply_fields(lua_State *L, const sm_outcome *o, long status,
                             const char *credential)
{
    sm_reply r;
    r.status = status;
    r.meta = o->meta;
    r.credential = credential;
    sm_set_reply_fields(L, &r);
}

/* Pushes the error of a failed attempt. */
static void push_failure(lua_State *L, const sm_outcome *o, sm_failure failure,
                         const char *why, const char *credential)
{
    if (why == NULL && failure == SM_TOO_LARGE)
        lua_pushfstring(L, "the response body is larger than "
                           "max_response_bytes (%f bytes)",
                        (lua_Number)o->body->limit);
    else
        lua_pushstring(L, why != NULL ? why : "the request failed");
    sm_push_error(L, code_of[failure], lua_tostring(L, -1));
    lua_remove(L, -2);
    set_reply_fields(L, o, o->status, credential);
}

/* The words for an answer out of step (why), on the resend too. */
static const char *out_of_step_words(lua_State *L, const sm_asked *a,
                                     const char *why)
{
    if (a->resent)
        why = lua_pushfstring(L, "%s, on a fresh connection too", why);
    return why;
}

/* The most decoding a 2xx body with lua-cjson may take, as json_scan.h
 * estimates it: a small multiple of max_response_bytes. */
static unsigned long long decode_cap(const sm_buffer *body)
{
    unsigned long long cap =
        (unsigned long long)body->limit * SM_DECODED_FACTOR;
    return cap > SM_DECODED_MIN ? cap : SM_DECODED_MIN;
}

/* Reads on the members of the object s is in, in lua-cjson's grammar:
 * notes them in f, adds what decoding them takes to *cost, sets *nulls
 * when one is null. Returns 0, or -1 when the text is not one object
 * followed by whitespace only. */
static int read_cjson_members(sm_json_scan *s, sm_entry_facts *f,
                              unsigned long long *cost, int *nulls)
{
    sm_json_member m;
    int r;
    s->mode = SM_JSON_CJSON;
    s->cost = cost;
    while ((r = sm_json_next(s, &m)) == 1) {
        *cost += sm_json_member_cost(&m);
        *nulls |= m.kind == SM_JSON_NULL;
        sm_entry_note(f, &m.key, m.kind, &m.value);
    }
    return r == 0 ? 0 : -1;
}

/* An entry's body (shape NONE: any object's, as decoded): pushes its table,
 * checked and shaped, and returns 1; or returns 0 and r says why. Its text
 * is read first, and tells whether it answers the request; a flat entry
 * is then built straight from it, anything else decoded by lua-cjson
 * (when that takes no more than the cap) and shaped. */
static int push_entry(lua_State *L, const char *text, size_t len, int shape,
                      const sm_expect *e, const sm_json_decoder *d,
                      sm_refusal *r)
{
    sm_json_scan s;
    sm_json_member m[SM_ENTRY_FAST_MEMBERS];
    sm_entry_facts f = {0, 0, SM_JSON_NULL, {NULL, 0, 0}};
    unsigned long long cost = 0;
    int n = -1, kept = 0, nulls = 0, bad;
    /* JSON's grammar with the escapes cjson decodes: a text cjson refuses
     * is refused before its id could say anything. A nested value is
     * skipped with its cost counted (a flat entry has none). */
    if (shape == SM_SHAPE_ENTRY &&
        sm_json_open_as(&s, text, len, SM_JSON_CJSON_ESCAPES) == 0) {
        s.cost = &cost;
        n = sm_json_entry_scan(&s, m, SM_ENTRY_FAST_MEMBERS, &f, &kept);
    }
    if (n <= -2) {
        /* Members 0..k read, the last nested or one too many: the rest is
         * read on as cjson reads it. */
        int k = -2 - n;
        cost += SM_JSON_COST_TABLE;
        for (int i = 0; i <= k; i++) {
            cost += sm_json_member_cost(&m[i]);
            nulls |= m[i].kind == SM_JSON_NULL;
        }
        sm_entry_note(&f, &m[k].key, m[k].kind, &m[k].value);
        bad = read_cjson_members(&s, &f, &cost, &nulls);
    } else if (n == -1) {
        /* Not JSON (a raw control character, a number such as 1.), or
         * shape NONE: from the start, as cjson reads it. */
        memset(&f, 0, sizeof f);
        cost = SM_JSON_COST_TABLE;
        bad = sm_json_open_as(&s, text, len, SM_JSON_CJSON) != 0 ||
              read_cjson_members(&s, &f, &cost, &nulls) != 0;
    } else {
        bad = 0;
    }
    if (bad) {
        r->why = len == 0 ? "the response body is empty"
                          : "the response body is not a JSON object";
        return 0;
    }
    if (shape == SM_SHAPE_ENTRY) {
        r->why = sm_check_entry(L, &f, e, d->credential, &r->out_of_step);
        if (r->why != NULL)
            return 0;
    }
    if (n >= 0) {
        if (sm_json_entry_build(L, m, n, kept, d->ints, NULL))
            return 1;
        nulls = kept < n; /* numbers or escapes it leaves to cjson */
    } else if (cost > d->cap) {
        r->too_large = 1;
        return 0;
    }
    lua_pushvalue(L, d->decode_idx);
    lua_pushlstring(L, text, len);
    lua_call(L, 1, 1);
    if (lua_type(L, -1) != LUA_TTABLE) {
        /* Only a lone UTF-16 surrogate in a flat entry gets here. */
        lua_pop(L, 1);
        r->why = "the response body is not a JSON object";
        return 0;
    }
    if (shape == SM_SHAPE_ENTRY)
        sm_shape_entry(L, -1, nulls);
    return 1;
}

int sm_push_entry_text(lua_State *L, const char *text, size_t len,
                       int decode_idx, int json_ints)
{
    sm_json_decoder d;
    sm_expect e = {NULL, 0, 0}; /* answered already */
    sm_refusal r = {NULL, 0, 0};
    unsigned long long cap = (unsigned long long)len * SM_DECODED_FACTOR;
    int base = lua_gettop(L);
    d.decode_idx = decode_idx;
    d.ints = json_ints;
    d.cap = cap > SM_DECODED_MIN ? cap : SM_DECODED_MIN;
    d.credential = NULL;
    luaL_checkstack(L, 10, NULL);
    if (push_entry(L, text, len, SM_SHAPE_ENTRY, &e, &d, &r))
        return 1;
    lua_settop(L, base);
    return 0;
}

/* Pushes the 2xx body decoded and shaped as a asked and returns 1, or nil
 * and INVALID_RESPONSE (RESPONSE_TOO_LARGE when decoding it would take too
 * much) and returns 2 (*out_of_step set when it answers another request).
 * Nothing is decoded once the text is refused. */
static int push_success(lua_State *L, const sm_outcome *o, const sm_asked *a,
                        sm_json_decoder *d, int *out_of_step)
{
    const sm_buffer *body = o->body;
    const char *code = "INVALID_RESPONSE";
    sm_refusal r = {NULL, 0, 0};
    int base = lua_gettop(L);
    /* The body, a scratch, an entry and what building one takes. */
    luaL_checkstack(L, 10, NULL);
    if (a->shape == SM_SHAPE_RAW) {
        /* Passed through as sent, once checked: no table is built. */
        r.why = sm_check_raw(L, body->data, body->len, &a->expect,
                             d->credential, &r.out_of_step);
        if (r.why == NULL) {
            lua_settop(L, base);
            lua_pushlstring(L, body->data, body->len);
            return 1;
        }
    } else {
        int done;
        d->cap = decode_cap(body);
        if (a->shape == SM_SHAPE_PAGE)
            done = sm_json_page(L, body->data, body->len,
                                sm_page_max(&a->expect), d, &r);
        else
            done = push_entry(L, body->data, body->len, a->shape, &a->expect,
                              d, &r);
        if (done)
            return 1;
        if (r.too_large) {
            char bytes[32];
            snprintf(bytes, sizeof bytes, "%llu", d->cap);
            code = "RESPONSE_TOO_LARGE";
            r.why = lua_pushfstring(
                L, "the response body would take more than %s bytes once "
                   "decoded (%d times max_response_bytes, at least %d MiB)",
                bytes, SM_DECODED_FACTOR, (int)(SM_DECODED_MIN >> 20));
        }
    }
    if (r.out_of_step) {
        *out_of_step = 1;
        r.why = out_of_step_words(L, a, r.why);
    }
    /* The error copies why before what is above base (maybe why itself)
     * goes. */
    sm_push_error(L, code, r.why);
    set_reply_fields(L, o, o->status, d->credential);
    lua_insert(L, base + 1);
    lua_settop(L, base + 1);
    lua_pushnil(L);
    lua_insert(L, base + 1);
    return 2;
}

int sm_push_outcome(lua_State *L, const sm_outcome *o, const sm_asked *a,
                    sm_json_decoder *d, int *out_of_step)
{
    sm_failure failure = o->failure;
    const char *why = o->why;
    int n;
    *out_of_step = 0;
    /* libcurl 7.88 takes a response cut inside its headers as complete (a
     * 200 with no body): without the blank line it is a broken transfer. */
    if (failure == SM_NO_FAILURE && !o->meta->headers_done) {
        failure = SM_CONNECTION_FAILED;
        why = "the connection closed before the response headers ended";
    }
    if (failure != SM_NO_FAILURE) {
        lua_pushnil(L);
        push_failure(L, o, failure, why, d->credential);
        n = 2;
    } else if (o->status >= 200 && o->status <= 299) {
        n = push_success(L, o, a, d, out_of_step);
        if (n == 1) {
            /* The info goes with a success when asked for, and when the
             * response carried rate limits: the rate budget learns from
             * every response (lua/supermetrics/budget.lua). */
            if (!a->info && o->meta->rate_limit < 0 &&
                o->meta->rate_remaining < 0)
                return 1;
            /* What an on_response hook is told about a success: its
             * request id too is dropped when it shows the credential. */
            lua_createtable(L, 0, 5);
            set_reply_fields(L, o, o->status, d->credential);
            n = 2;
        }
    } else {
        sm_reply r;
        r.status = o->status;
        r.meta = o->meta;
        r.credential = d->credential;
        lua_pushnil(L);
        sm_push_status_error(L, &r, o->body->data, o->body->len);
        n = 2;
    }
    /* This attempt went out: the error or the info counts it. */
    sm_pushint64(L, a->made + 1);
    lua_setfield(L, -2, "attempts");
    return n;
}
