/*
 * core.c: luaopen_supermetrics_core, the C half of lua-supermetrics. It only
 * wires the pieces together; each has a file of its own:
 *   handle.c     the handle's one table of methods (above every file below)
 *   client.c     the handle's lifetime, credential and connection pool
 *   endpoint.c   the base_url rules, the proxy, libcurl's fixed settings
 *   attempt.c    one HTTP attempt, the same for every route
 *   credential.c the credential, its header line and its wiping
 *   transfer.c   one request on a libcurl handle, and its outcome
 *   batch.c      many transfers at once (libcurl's multi interface)
 *   cosocket.c   the C half of the nginx cosocket transport (http1.c reads)
 *   outcome.c    an attempt's outcome as Lua values, for both transports
 *   sockets.c    the handles' sockets, for fork safety
 *   clock.c      the monotonic clock and the blocking sleep
 *   cancel.c     the cancel flag that cuts transfers and waits short (set
 *                by the command line's own module, src/cli/, on Ctrl-C)
 *   route.c      argument checks and the request path, a route (segment.c:
 *                the bytes)
 *   response.c   response headers, a status's code (codes.h: the table)
 *   envelope.c   error values from the API's error envelope
 *   entry.c      a decoded entry or page: checked, shaped to the contract
 *   json_entry.c a flat entry's table straight from its JSON text
 *                (json_scan.c: the scanner it reads through)
 *   json_page.c  a page's array of flat entries, the same way
 *   json_raw.c   a pass-through entry's text checked, never decoded
 *   json_fields.c an error body's envelope fields, from its text
 *   buffer.c     the capped body buffer
 *   errors.c     the supermetrics.Error type
 *   text.c       the one rule for text shown to a person (and JSON's)
 *   bounds.h     the limits, exported as core.LIMITS
 *   budget.c     the rate budget's keys and clock (digest.c: SHA-256;
 *                redis.c: Redis's protocol and a blocking connection)
 *   cache.c      the entry cache's table from the text it keeps
 */
#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>

#include "bounds.h"
#include "budget.h"
#include "cache.h"
#include "client.h"
#include "cancel.h"
#include "clock.h"
#include "codes.h"
#include "compat.h"
#include "cosocket.h"
#include "errors.h"
#include "handle.h"
#include "json_scan.h"
#include "outcome.h"
#include "route.h"
#include "text.h"

/* Pushes a private cjson.safe instance, so that a user's cjson settings
 * (and ours) never leak into each other. */
static void push_json(lua_State *L)
{
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson.safe");
    lua_call(L, 1, 1);
    lua_getfield(L, -1, "new");
    lua_call(L, 0, 1);
    lua_remove(L, -2);
    lua_getfield(L, -1, "decode_invalid_numbers");
    lua_pushboolean(L, 0);
    lua_call(L, 1, 0);
    lua_getfield(L, -1, "decode_max_depth");
    lua_pushinteger(L, SM_JSON_MAX_DEPTH);
    lua_call(L, 1, 0);
}

/* Pushes core.LIMITS: the limits the Lua layer checks, from bounds.h. */
static void push_limits(lua_State *L)
{
    static const struct {
        const char *name;
        double value;
    } limits[] = {
        {"max_response_bytes", SM_MAX_RESPONSE_BYTES},
        {"concurrency", SM_MAX_CONCURRENCY},
        {"page_size", SM_MAX_PAGE_SIZE},
        {"min_timeout", SM_MIN_TIMEOUT},
        {"max_timeout", SM_MAX_TIMEOUT},
        {"header_name_bytes", SM_HEADER_NAME_MAX},
        {"header_value_bytes", SM_HEADER_VALUE_MAX},
        {"headers", SM_HEADERS_MAX},
        {"headers_bytes", SM_HEADERS_BYTES_MAX},
        {"proxy_url_bytes", SM_PROXY_URL_MAX},
    };
    size_t i;
    lua_createtable(L, 0, (int)(sizeof limits / sizeof limits[0]));
    for (i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        double v = limits[i].value;
        /* Whole limits are Lua integers where the Lua has them. */
        if (v == (double)(long long)v)
            sm_pushint64(L, (long long)v);
        else
            lua_pushnumber(L, (lua_Number)v);
        lua_setfield(L, -2, limits[i].name);
    }
}

/* The module's one exported symbol (the build hides every other). */
#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
int luaopen_supermetrics_core(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"new_client", sm_lua_new_client},
        {"log_route", sm_lua_log_route},
        {"page_route", sm_lua_page_route},
        {"is_error", sm_lua_is_error},
        {"new_error", sm_lua_new_error},
        {"monotonic", sm_lua_monotonic},
        {"sleep", sm_lua_sleep},
        {"shown", sm_lua_shown},
        {"json_string", sm_lua_json_string},
        {"redact", sm_lua_redact},
        {NULL, NULL},
    };
    int json;
    /* Thread-safe and reference-counted in the libcurl versions we build
     * with ("threadsafe" feature); never undone, like most programs do. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return sm_raise(L, "curl_global_init failed");
    sm_cancel_open(L);
    push_json(L);
    json = lua_gettop(L);
    /* The route's and the exchange's metatables first: the handle's
     * methods keep them as upvalues (client.h, handle.c). */
    sm_route_open(L);
    sm_cosocket_open(L);
    lua_getfield(L, json, "decode");
    sm_handle_open(L, -1);
    lua_pop(L, 1);

    lua_newtable(L);
    sm_setfuncs(L, functions, 0);
    sm_budget_open(L);
    lua_getfield(L, json, "decode");
    sm_cache_open(L);
    sm_errors_open(L);
    lua_setfield(L, -2, "Error");
    push_limits(L);
    lua_setfield(L, -2, "LIMITS");
    lua_getfield(L, json, "null");
    lua_setfield(L, -2, "null");
    lua_pushstring(L, curl_version_info(CURLVERSION_NOW)->version);
    lua_setfield(L, -2, "curl_version");
    sm_push_codes(L);
    lua_setfield(L, -2, "CODES");
    lua_pushliteral(L, SM_NO_TLS_WORDS);
    lua_setfield(L, -2, "NO_TLS_WORDS");
    return 1;
}
