/*
 * outcome.c: an attempt's outcome as Lua values (outcome.h).
 */
#include "outcome.h"

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

/* Marks rules out of step: the answer was another request's (why says so). */
static const char *out_of_step(lua_State *L, sm_result_rules *rules,
                               const char *why)
{
    rules->out_of_step = 1;
    if (rules->resent)
        why = lua_pushfstring(L, "%s, on a fresh connection too", why);
    return why;
}

/* Pushes the body at p[0..n), a JSON object's text, built straight from
 * the text and shaped, and returns 1; returns 0 with nothing pushed when
 * the fast decoders decline (or rules asks for no shape they build). A
 * page is checked as it is built; an entry's id is still to check. */
static int push_fast(lua_State *L, const char *p, size_t n,
                     const sm_result_rules *rules)
{
    if (rules->shape == SM_SHAPE_ENTRY)
        return sm_json_entry(L, p, n, rules->json_ints);
    if (rules->shape == SM_SHAPE_PAGE)
        return sm_json_page(L, p, n, rules->json_ints,
                            sm_page_max(&rules->expect));
    return 0;
}

/* Pushes the 2xx body decoded and shaped as rules says and returns 1, or nil
 * and INVALID_RESPONSE and returns 2. */
static int push_success(lua_State *L, const sm_outcome *o,
                        sm_result_rules *rules)
{
    const sm_buffer *body = o->body;
    /* An empty body may have no buffer at all: NULL + 0 is undefined. */
    const char *p = body->data, *end = p ? p + body->len : p, *why;
    int base = lua_gettop(L);
    if (rules->shape == SM_SHAPE_RAW) {
        /* Passed through as sent, once checked: no table is built. */
        int mismatch;
        why = sm_check_raw(L, body->data, body->len, &rules->expect,
                           rules->credential, rules->decode_idx, &mismatch);
        if (why == NULL) {
            lua_settop(L, base);
            lua_pushlstring(L, body->data, body->len);
            return 1;
        }
        if (mismatch)
            why = out_of_step(L, rules, why);
        goto fail;
    }
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    why = body->len == 0 ? "the response body is empty"
                         : "the response body is not a JSON object";
    /* cjson decodes arrays to tables too: an object must start with '{'. */
    if (p < end && *p == '{') {
        /* A flat entry, or a page of them, is built shaped, straight from
         * the body; anything else goes through cjson and is shaped after. */
        int shaped = push_fast(L, p, (size_t)(end - p), rules);
        if (shaped && rules->shape == SM_SHAPE_PAGE)
            return 1;
        if (!shaped) {
            lua_pushvalue(L, rules->decode_idx);
            lua_pushlstring(L, body->data, body->len);
            lua_call(L, 1, 1);
        }
        if (lua_type(L, -1) == LUA_TTABLE) {
            int checked = rules->shape == SM_SHAPE_PAGE ||
                          (rules->shape == SM_SHAPE_ENTRY &&
                           rules->expect.id != NULL);
            why = checked ? sm_check_answer(L, -1, &rules->expect,
                                            rules->credential)
                          : NULL;
            if (why != NULL) {
                why = out_of_step(L, rules, why);
                goto fail;
            }
            if (rules->shape == SM_SHAPE_ENTRY && !shaped)
                sm_shape_entry(L, -1, sm_buffer_may_have_nulls(body));
            why = rules->shape == SM_SHAPE_PAGE
                      ? sm_shape_page(L, sm_buffer_may_have_nulls(body))
                      : NULL;
            if (why == NULL)
                return 1;
        }
    }
    /* The error copies why before what is above base (the body, and maybe
     * why itself) goes. */
fail:
    sm_push_error(L, "INVALID_RESPONSE", why);
    set_reply_fields(L, o, o->status, rules->credential);
    lua_insert(L, base + 1);
    lua_settop(L, base + 1);
    lua_pushnil(L);
    lua_insert(L, base + 1);
    return 2;
}

int sm_push_outcome(lua_State *L, const sm_outcome *o, sm_result_rules *rules)
{
    sm_failure failure = o->failure;
    const char *why = o->why;
    int n;
    rules->out_of_step = 0;
    /* libcurl 7.88 takes a response cut inside its headers as complete (a
     * 200 with no body): without the blank line it is a broken transfer. */
    if (failure == SM_NO_FAILURE && !o->meta->headers_done) {
        failure = SM_CONNECTION_FAILED;
        why = "the connection closed before the response headers ended";
    }
    if (failure != SM_NO_FAILURE) {
        lua_pushnil(L);
        push_failure(L, o, failure, why, rules->credential);
        n = 2;
    } else if (o->status >= 200 && o->status <= 299) {
        n = push_success(L, o, rules);
        if (n == 1) {
            /* The info goes with a success when asked for, and when the
             * response carried rate limits: the rate budget learns from
             * every response (lua/supermetrics/budget.lua). */
            if (!rules->info && o->meta->rate_limit < 0 &&
                o->meta->rate_remaining < 0)
                return 1;
            /* What an on_response hook is told about a success: its
             * request id too is dropped when it shows the credential. */
            lua_createtable(L, 0, 5);
            set_reply_fields(L, o, o->status, rules->credential);
            n = 2;
        }
    } else {
        sm_reply r;
        r.status = o->status;
        r.meta = o->meta;
        r.credential = rules->credential;
        lua_pushnil(L);
        sm_push_status_error(L, &r, o->body->data, o->body->len,
                             rules->decode_idx);
        n = 2;
    }
    /* This attempt went out: the error or the info counts it. */
    sm_pushint64(L, rules->made + 1);
    lua_setfield(L, -2, "attempts");
    return n;
}
