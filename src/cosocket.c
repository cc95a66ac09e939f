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

#include "attempt.h"
#include "client.h"
#include "compat.h"
#include "errors.h"
#include "cosocket.h"
#include "http1.h"
#include "route.h"
#include "segment.h"

/* One request and its response. Lua keeps a few per client and reuses
 * them, so the body buffer is not allocated per call. */
typedef struct sm_exchange {
    sm_buffer body;
    sm_meta meta;
    sm_http1 reader;
    sm_failure failed;  /* a transport failure the Lua side saw */
    char why[256];      /* its words */
    sm_attempt at;      /* the attempt in flight (attempt.h) */
    /* The path of the request log_request readied it for, up to the log
     * id (at.log_id, encoded again if need be): the route a failure
     * returns, made only then. 0: handle:request readied it, with a route
     * of the caller's. */
    size_t prefix_len;
    char prefix[SM_LOG_PREFIX_MAX];
} sm_exchange;

/* The exchange at idx, in a method of the handle (its metatable is their
 * upvalue SM_UP_EXCHANGE_MT, client.h) or of the exchange (upvalue 1). */
#define HANDLE_UP lua_upvalueindex(SM_UP_EXCHANGE_MT)
#define OWN_UP lua_upvalueindex(1)
static sm_exchange *check_exchange(lua_State *L, int idx, int mt_idx)
{
    return sm_checkudata_at(L, idx, mt_idx, SM_EXCHANGE_MT);
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

/* Readies x's reader for the response to the request of x->at. */
static void ready(sm_exchange *x)
{
    x->failed = SM_NO_FAILURE;
    x->why[0] = '\0';
    sm_http1_start(&x->reader, &x->meta, &x->body);
}

/* Requests up to this size are written on the C stack and pushed as one
 * string: the common one is a few hundred bytes, and a luaL_Buffer costs
 * more than the copy. Longer ones (a long credential, many extra headers)
 * go through a luaL_Buffer. */
#define SM_REQUEST_STACK 2048

static char *put(char *p, const char *s, size_t n)
{
    memcpy(p, s, n);
    return p + n;
}

/* Pushes the whole request for path: the request line, Host, User-Agent,
 * Accept (the endpoint's head fields), the extra header lines (lines:
 * "Name: value\r\n" each, checked by the Lua layer, or NULL) and the
 * credential's Authorization. */
static void push_request(lua_State *L, const sm_client *c, const char *path,
                         size_t path_len, const char *lines,
                         size_t lines_len, const sm_credential *cred)
{
    static const char get[] = "GET ", version[] = " HTTP/1.1\r\n",
                      end[] = "\r\n\r\n";
    const sm_endpoint *e = &c->endpoint;
    size_t n = (sizeof get - 1) + e->prefix_len + path_len +
               (sizeof version - 1) + e->head_fields_len + lines_len +
               cred->len + (sizeof end - 1);
    luaL_Buffer b;
    if (n <= SM_REQUEST_STACK) {
        char out[SM_REQUEST_STACK], *p = out;
        p = put(p, get, sizeof get - 1);
        p = put(p, e->prefix, e->prefix_len);
        p = put(p, path, path_len);
        p = put(p, version, sizeof version - 1);
        p = put(p, e->head_fields, e->head_fields_len);
        if (lines != NULL)
            p = put(p, lines, lines_len);
        p = put(p, cred->line, cred->len);
        p = put(p, end, sizeof end - 1);
        lua_pushlstring(L, out, (size_t)(p - out));
        /* The module wipes its own copies of the credential (the Lua
         * string is out of its reach: docs/hardening.md). */
        sm_wipe(p - (sizeof end - 1) - cred->len, cred->len);
        return;
    }
    luaL_buffinit(L, &b);
    luaL_addlstring(&b, get, sizeof get - 1);
    luaL_addlstring(&b, e->prefix, e->prefix_len);
    luaL_addlstring(&b, path, path_len);
    luaL_addlstring(&b, version, sizeof version - 1);
    luaL_addlstring(&b, e->head_fields, e->head_fields_len);
    if (lines != NULL)
        luaL_addlstring(&b, lines, lines_len);
    luaL_addlstring(&b, cred->line, cred->len);
    luaL_addlstring(&b, end, sizeof end - 1);
    luaL_pushresult(&b);
}

/* handle:request(attempt arguments: attempt.h, exchange)
 *   -> request bytes | nil, error
 * Readies exchange for the response to the route's request and returns the
 * whole request (push_request); the bytes serve every try of the attempt
 * (another connection, the resend after an answer out of step). Refuses as
 * perform does (sm_attempt_begin). */
int sm_lua_request(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    sm_attempt_args a;
    sm_exchange *x;
    const sm_credential *cred;
    sm_check_attempt_args(L, 2, &a);
    x = check_exchange(L, 8, HANDLE_UP);
    cred = sm_attempt_begin(L, c, a.cred_idx, &c->credential, a.left, a.made);
    if (cred == NULL)
        return 2;
    sm_attempt_ask(&x->at, &a);
    x->prefix_len = 0;
    ready(x);
    push_request(L, c, a.path, a.len, a.header_lines, a.header_lines_len,
                 cred);
    return 1;
}

/* handle:log_request(exchange, team_id, connector_identifier, log_id,
 *                    seconds_left [, raw]) -> request bytes | nil, error, route
 * The common call's first attempt (get_connector_log, or with raw
 * get_connector_log_json, with the client's credential and no extra
 * headers): request's work, with the route's done on the C stack. The ids
 * are checked (raising INVALID_ARGUMENT before any traffic) and the path
 * kept in the exchange; a route is made only when the call goes on (a
 * refusal here, a failure in handle:outcome). */
int sm_lua_log_request(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    sm_exchange *x = check_exchange(L, 2, HANDLE_UP);
    const sm_credential *cred;
    char path[SM_LOG_PATH_MAX];
    sm_log_id id;
    size_t len = sm_log_path(L, 3, path, &id);
    lua_Number left = luaL_checknumber(L, 6);
    int shape = lua_toboolean(L, 7) ? SM_SHAPE_RAW : SM_SHAPE_ENTRY;
    /* Index 8 is none: the client's own credential. */
    cred = sm_attempt_begin(L, c, 8, &c->credential, left, 0);
    if (cred == NULL) {
        sm_push_route(L, shape, path, len, id.s, id.len, 0);
        return 3;
    }
    memcpy(x->at.log_id, id.s, id.len);
    x->at.asked.shape = shape;
    x->at.asked.expect.id = x->at.log_id;
    x->at.asked.expect.id_len = id.len;
    x->at.asked.expect.limit = 0;
    x->at.asked.info = 0;
    x->at.asked.made = 0;
    x->at.asked.resent = 0;
    memcpy(x->prefix, path, id.prefix_len);
    x->prefix_len = id.prefix_len;
    ready(x);
    push_request(L, c, path, len, NULL, 0, cred);
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

/* handle:outcome(exchange) -> body [, info] | nil, error [, route [, again]]
 * The exchange's result as perform would return it (info: asked for in
 * handle:request, or the response's rate limits). A failure of a request
 * log_request readied also returns its route, for the call's retries.
 * again: the answer was another request's (transfer.h) and this was not
 * yet the resend: the connection must be dropped and the same request
 * bytes sent once more on a fresh one (the exchange is readied for that),
 * then handle:outcome asked again. This is the one place that decides the
 * resend on cosockets. */
int sm_lua_outcome(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    sm_exchange *x = check_exchange(L, 2, HANDLE_UP);
    sm_outcome o;
    sm_json_decoder d;
    int n, out_of_step;
    if (x->body.out_of_memory)
        return sm_raise(L, "not enough memory");
    sm_decoder_of(L, &d);
    d.credential = sm_credential_value(&c->credential);
    lua_settop(L, 2);
    outcome_of(x, &o);
    n = sm_push_outcome(L, &o, &x->at.asked, &d, &out_of_step);
    if (n == 1 || !lua_isnil(L, -n))
        return n;
    if (out_of_step && !x->at.asked.resent) {
        x->at.asked.resent = 1;
        ready(x);
        lua_pushnil(L);
        lua_pushboolean(L, 1);
        return 4;
    }
    if (x->prefix_len == 0)
        return 2;
    {
        char path[SM_LOG_PATH_MAX];
        size_t len = x->prefix_len;
        memcpy(path, x->prefix, len);
        len += sm_encode_segment(x->at.log_id, x->at.asked.expect.id_len,
                                 path + len);
        sm_push_route(L, x->at.asked.shape, path, len, x->at.log_id,
                      x->at.asked.expect.id_len, 0);
    }
    return 3;
}

/* handle:refused(exchange, status): the client's proxy answered the
 * CONNECT with status, not 2xx; worded as for libcurl (sm_proxy_refusal). */
int sm_lua_refused(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    sm_exchange *x = check_exchange(L, 2, HANDLE_UP);
    long status = (long)luaL_checkinteger(L, 3);
    if (c->proxy.url == NULL)
        return sm_raise(L, "the client has no proxy");
    x->failed = SM_CONNECTION_FAILED;
    sm_proxy_refusal(x->why, sizeof x->why, &c->proxy, status);
    return 0;
}

/* ---- exchange methods ---- */

/* exchange:feed(bytes) -> done, reusable: done is true once no more bytes
 * are needed (a whole response, or one that cannot be completed);
 * reusable: whether the connection may then carry another request (a
 * complete response that allowed it, nothing extra after it). */
static int exchange_feed(lua_State *L)
{
    sm_exchange *x = check_exchange(L, 1, OWN_UP);
    size_t n;
    const char *data = luaL_checklstring(L, 2, &n);
    lua_pushboolean(L, sm_http1_feed(&x->reader, data, n, SM_NOW_UNREAD) !=
                           SM_HTTP1_MORE);
    lua_pushboolean(L, x->failed == SM_NO_FAILURE &&
                           x->reader.result == SM_HTTP1_DONE &&
                           x->reader.keep_alive);
    return 2;
}

/* exchange:eof(): the peer closed the connection. */
static int exchange_eof(lua_State *L)
{
    sm_http1_eof(&check_exchange(L, 1, OWN_UP)->reader);
    return 0;
}

/* exchange:fail(kind, message): the transport failed ("timeout", "tls" or
 * "connect"); message is its own words for it. */
static int exchange_fail(lua_State *L)
{
    static const char *const kinds[] = {"timeout", "tls", "connect", NULL};
    static const sm_failure failures[] = {SM_TIMED_OUT, SM_TLS_FAILED,
                                          SM_CONNECTION_FAILED};
    sm_exchange *x = check_exchange(L, 1, OWN_UP);
    int kind = luaL_checkoption(L, 2, NULL, kinds);
    const char *message = luaL_checkstring(L, 3);
    x->failed = failures[kind];
    strncpy(x->why, message, sizeof x->why - 1);
    x->why[sizeof x->why - 1] = '\0';
    return 0;
}

/* exchange:received() -> bytes of the response seen so far. */
static int exchange_received(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)check_exchange(L, 1, OWN_UP)->reader.received);
    return 1;
}

/* __gc and __close: frees the buffer; safe twice, and an exchange closed
 * early still works (its buffer grows again, up to the same limit). */
static int exchange_gc(lua_State *L)
{
    sm_exchange *x = check_exchange(L, 1, OWN_UP);
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
        {"received", exchange_received},
        {NULL, NULL},
    };
    luaL_newmetatable(L, SM_EXCHANGE_MT);
    /* Each function's upvalue: the metatable (check_exchange). */
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, exchange_gc, 1);
    lua_setfield(L, -2, "__gc");
    lua_pushvalue(L, -1);
    lua_pushcclosure(L, exchange_gc, 1);
    lua_setfield(L, -2, "__close");
    lua_newtable(L);
    lua_pushvalue(L, -2);
    sm_setfuncs(L, methods, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
