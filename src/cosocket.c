/*
 * cosocket.c: the C half of the cosocket transport (lua/supermetrics/
 * transport/cosocket.lua). Lua only moves bytes between nginx's socket and
 * these functions: the request is written here from the client's stored
 * URL parts and credential, the response is read by http1.c into a body
 * buffer and headers record, and outcome.c turns the result into an entry
 * or an error exactly as for libcurl. No libcurl here.
 */
#include <lauxlib.h>
#include <string.h>
#include <time.h>

#include "attempt.h"
#include "client.h"
#include "compat.h"
#include "errors.h"
#include "cosocket.h"
#include "http1.h"
#include "route.h"

#define SM_EXCHANGE_MT "supermetrics.core.Exchange"

/* One request and its response. Lua keeps a few per client and reuses
 * them, so the body buffer is not allocated per call. */
typedef struct sm_exchange {
    sm_buffer body;
    sm_meta meta;
    sm_http1 reader;
    sm_failure failed;  /* a transport failure the Lua side saw */
    char why[256];      /* its words */
    int shape;       /* of the route of the request in flight */
    long long made;  /* attempts of its call before this one */
    sm_expect expect;           /* what it must answer; expect.id points */
    char log_id[SM_LOG_ID_MAX]; /* at this copy of the route's log id */
} sm_exchange;

static sm_exchange *check_exchange(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, SM_EXCHANGE_MT);
}

/* ---- handle methods ---- */

/* handle:endpoint() -> is_https, host, port */
int sm_lua_endpoint(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    lua_pushboolean(L, c->endpoint.is_https);
    lua_pushstring(L, c->endpoint.host);
    lua_pushinteger(L, (lua_Integer)c->endpoint.port);
    return 3;
}

/* handle:exchange() -> a new exchange, for responses of up to the client's
 * max_response_bytes. */
int sm_lua_exchange(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    sm_exchange *x = sm_newuserdata(L, sizeof *x);
    memset(x, 0, sizeof *x);
    sm_buffer_init(&x->body, c->main.body.limit);
    sm_meta_reset(&x->meta);
    sm_http1_init(&x->reader);
    sm_setmetatable(L, SM_EXCHANGE_MT);
    return 1;
}

/* handle:request(attempt arguments: attempt.h, exchange)
 *   -> request bytes | nil, error
 * Readies exchange for the response to the route's request and returns the
 * whole request: the request line, Host, User-Agent, Accept, the extra
 * header lines (headers: "Name: value\r\n" each, checked by the Lua layer)
 * and the credential's Authorization. Refuses as perform does
 * (sm_attempt_begin). */
int sm_lua_request(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    sm_attempt_args a;
    sm_exchange *x;
    const sm_credential *cred;
    const sm_route *r;
    long long made;
    luaL_Buffer b;
    sm_check_attempt_args(L, 2, &a);
    x = check_exchange(L, 8);
    r = a.route;
    made = a.made;
    cred = sm_attempt_begin(L, c, a.cred_idx, &c->credential, a.left, made);
    if (cred == NULL)
        return 2;
    x->failed = SM_NO_FAILURE;
    x->why[0] = '\0';
    x->shape = r->shape;
    x->made = made;
    sm_route_expect(r, &x->expect);
    if (x->expect.id != NULL) {
        memcpy(x->log_id, x->expect.id, x->expect.id_len);
        x->expect.id = x->log_id;
    }
    sm_http1_start(&x->reader, &x->meta, &x->body);

    luaL_buffinit(L, &b);
    luaL_addstring(&b, "GET ");
    luaL_addlstring(&b, c->endpoint.prefix, c->endpoint.prefix_len);
    luaL_addlstring(&b, r->path, r->len);
    luaL_addstring(&b, " HTTP/1.1\r\n");
    luaL_addlstring(&b, c->endpoint.head_fields, c->endpoint.head_fields_len);
    if (a.headers_len > 0)
        luaL_addlstring(&b, a.headers, a.headers_len);
    luaL_addlstring(&b, cred->line, cred->len);
    luaL_addstring(&b, "\r\n\r\n");
    luaL_pushresult(&b);
    return 1;
}

/* The exchange's outcome: the transport's failure, the reader's, or the
 * response it read. */
static void outcome_of(sm_exchange *x, sm_outcome *o)
{
    o->status = x->reader.status;
    o->meta = &x->meta;
    o->body = &x->body;
    o->why = NULL;
    if (x->failed != SM_NO_FAILURE) {
        o->failure = x->failed;
        o->why = x->why;
        return;
    }
    switch (x->reader.result) {
    case SM_HTTP1_DONE:
        o->failure = SM_NO_FAILURE;
        return;
    case SM_HTTP1_FAILED:
        o->failure = x->reader.failure == SM_HTTP1_TOO_LARGE ? SM_TOO_LARGE
                     : x->reader.failure == SM_HTTP1_ENCODED ? SM_BAD_ENCODING
                                                              : SM_CONNECTION_FAILED;
        if (o->failure != SM_TOO_LARGE)
            o->why = x->reader.why;
        return;
    default:
        o->failure = SM_CONNECTION_FAILED;
        o->why = "the response ended early";
    }
}

/* handle:outcome(exchange, want_info, resent) -> body [, info]
 *                                             | nil, error [, out_of_step]
 * The exchange's result as perform would return it. out_of_step: the answer
 * was another request's (transfer.h); the connection must be dropped, and
 * unless this was already the resend (resent), the request sent once more
 * on a fresh one. */
int sm_lua_outcome(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    sm_exchange *x = check_exchange(L, 2);
    sm_outcome o;
    sm_want w = {0};
    int n;
    if (x->body.out_of_memory)
        return sm_raise(L, "not enough memory");
    w.decode_idx = lua_upvalueindex(1);
    w.json_ints = (int)lua_tointeger(L, lua_upvalueindex(2));
    w.credential = sm_credential_value(&c->credential);
    w.shape = x->shape;
    w.info = lua_toboolean(L, 3);
    w.made = x->made;
    w.expect = x->expect;
    w.resent = lua_toboolean(L, 4);
    w.proxy = c->proxy.url ? &c->proxy : NULL;
    lua_settop(L, 2);
    outcome_of(x, &o);
    n = sm_push_outcome(L, &o, &w);
    if (!w.out_of_step)
        return n;
    lua_pushboolean(L, 1);
    return n + 1;
}

/* handle:refused(exchange, status): the client's proxy answered the
 * CONNECT with status, not 2xx; worded as for libcurl (sm_proxy_refusal). */
int sm_lua_refused(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    sm_exchange *x = check_exchange(L, 2);
    long status = (long)luaL_checkinteger(L, 3);
    if (c->proxy.url == NULL)
        return sm_raise(L, "the client has no proxy");
    x->failed = SM_CONNECTION_FAILED;
    sm_proxy_refusal(x->why, sizeof x->why, &c->proxy, status);
    return 0;
}

/* ---- exchange methods ---- */

/* exchange:feed(bytes) -> done: true once no more bytes are needed (a
 * whole response, or one that cannot be completed). */
static int exchange_feed(lua_State *L)
{
    sm_exchange *x = check_exchange(L, 1);
    size_t n;
    const char *data = luaL_checklstring(L, 2, &n);
    lua_pushboolean(L, sm_http1_feed(&x->reader, data, n, time(NULL)) !=
                           SM_HTTP1_MORE);
    return 1;
}

/* exchange:eof(): the peer closed the connection. */
static int exchange_eof(lua_State *L)
{
    sm_http1_eof(&check_exchange(L, 1)->reader);
    return 0;
}

/* exchange:fail(kind, message): the transport failed ("timeout", "tls" or
 * "connect"); message is its own words for it. */
static int exchange_fail(lua_State *L)
{
    static const char *const kinds[] = {"timeout", "tls", "connect", NULL};
    static const sm_failure failures[] = {SM_TIMED_OUT, SM_TLS_FAILED,
                                          SM_CONNECTION_FAILED};
    sm_exchange *x = check_exchange(L, 1);
    int kind = luaL_checkoption(L, 2, NULL, kinds);
    const char *message = luaL_checkstring(L, 3);
    x->failed = failures[kind];
    strncpy(x->why, message, sizeof x->why - 1);
    x->why[sizeof x->why - 1] = '\0';
    return 0;
}

/* exchange:reusable() -> whether the connection may carry another request:
 * a complete response that allowed it, nothing extra after it. */
static int exchange_reusable(lua_State *L)
{
    sm_exchange *x = check_exchange(L, 1);
    lua_pushboolean(L, x->failed == SM_NO_FAILURE &&
                           x->reader.result == SM_HTTP1_DONE &&
                           x->reader.keep_alive);
    return 1;
}

/* exchange:received() -> bytes of the response seen so far. */
static int exchange_received(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)check_exchange(L, 1)->reader.received);
    return 1;
}

/* __gc and __close: frees the buffer; safe twice, and an exchange closed
 * early still works (its buffer grows again, up to the same limit). */
static int exchange_gc(lua_State *L)
{
    sm_exchange *x = check_exchange(L, 1);
    size_t limit = x->body.limit;
    sm_buffer_free(&x->body);
    sm_http1_free(&x->reader);
    x->body.limit = limit;
    x->reader.line.limit = SM_HTTP1_LINE_MAX;
    return 0;
}

void sm_cosocket_open(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"feed", exchange_feed},
        {"eof", exchange_eof},
        {"fail", exchange_fail},
        {"reusable", exchange_reusable},
        {"received", exchange_received},
        {NULL, NULL},
    };
    luaL_newmetatable(L, SM_EXCHANGE_MT);
    lua_pushcfunction(L, exchange_gc);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, exchange_gc);
    lua_setfield(L, -2, "__close");
    lua_newtable(L);
    sm_setfuncs(L, methods, 0);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
