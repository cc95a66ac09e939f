/*
 * core.c: luaopen_supermetrics_core, the C half of lua-supermetrics. It only
 * wires the pieces together; each has a file of its own:
 *   client.c     the handle's lifetime, credential and connection pool
 *   endpoint.c   the base_url rules and libcurl's fixed settings
 *   attempt.c    one HTTP attempt, the same for every route
 *   credential.c the credential, its header line and its wiping
 *   transfer.c   one exchange on a libcurl handle, and its Lua result
 *   batch.c      many transfers at once (libcurl's multi interface)
 *   exchange.c   the C half of the nginx cosocket transport (http1.c reads)
 *   sockets.c    the handles' sockets, for fork safety
 *   interrupt.c  Ctrl-C for the command line: transfers and waits cut short
 *   path.c       argument checks and the request path, a route (segment.c:
 *                the bytes)
 *   response.c   response headers and error codes
 *   envelope.c   error values from the API's error envelope
 *   entry.c      a decoded entry or page shaped to the contract
 *   buffer.c     the capped body buffer
 *   errors.c     the supermetrics.Error type
 *   bounds.h     the limits, exported as core.LIMITS
 */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>

#include "attempt.h"
#include "batch.h"
#include "bounds.h"
#include "client.h"
#include "compat.h"
#include "errors.h"
#include "exchange.h"
#include "interrupt.h"
#include "codes.h"
#include "path.h"
#include "transfer.h"

/* Nesting deeper than this in a response is refused rather than decoded. */
#define SM_JSON_MAX_DEPTH 128

/* monotonic() -> seconds since an arbitrary point, immune to clock changes */
static int core_monotonic(lua_State *L)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return luaL_error(L, "clock_gettime failed");
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/* sleep(seconds): blocks the calling thread (see README: OpenResty). */
static int core_sleep(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    struct timespec ts;
    if (!(s > 0))
        return 0;
    if (s > 1e6)
        s = 1e6;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
    /* Cut short by the CLI's Ctrl-C trap (interrupt.c): the caller's loop
     * must end too, so this raises rather than returning early. */
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        if (sm_interrupted())
            return luaL_error(L, "interrupted");
    }
    if (sm_interrupted())
        return luaL_error(L, "interrupted");
    return 0;
}

/* trap_interrupt(): Ctrl-C for the command line (interrupt.c). */
static int core_trap_interrupt(lua_State *L)
{
    if (sm_interrupt_trap() != 0)
        return luaL_error(L, "supermetrics: sigaction(SIGINT): %s",
                          strerror(errno));
    return 0;
}

/* interrupted() -> whether SIGINT came since trap_interrupt() */
static int core_interrupted(lua_State *L)
{
    lua_pushboolean(L, sm_interrupted());
    return 1;
}

/* file_mode(path) -> permission bits, "file" | "directory" | "other"; or
 * nil, message: what the CLI says about a key file before reading it. */
static int core_file_mode(lua_State *L)
{
    struct stat st;
    const char *path = luaL_checkstring(L, 1);
    if (stat(path, &st) != 0) {
        lua_pushnil(L);
        lua_pushstring(L, strerror(errno));
        return 2;
    }
    lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
    lua_pushstring(L, S_ISREG(st.st_mode)   ? "file"
                      : S_ISDIR(st.st_mode) ? "directory"
                                            : "other");
    return 2;
}

/* isatty(fd) -> boolean: whether fd is a terminal (the CLI's progress). */
static int core_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_checknumber(L, 1)) == 1);
    return 1;
}

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
        {"monotonic", core_monotonic},
        {"sleep", core_sleep},
        {"isatty", core_isatty},
        {"file_mode", core_file_mode},
        {"trap_interrupt", core_trap_interrupt},
        {"interrupted", core_interrupted},
        {NULL, NULL},
    };
    int json;
    /* Thread-safe and reference-counted in the libcurl versions we build
     * with ("threadsafe" feature); never undone, like most programs do. */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return luaL_error(L, "supermetrics: curl_global_init failed");
    push_json(L);
    json = lua_gettop(L);
    lua_getfield(L, json, "decode");
    sm_client_open(L);
    sm_attempt_open(L, -1);
    sm_batch_open(L, -1);
    sm_exchange_open(L, -1);
    lua_pop(L, 1);
    sm_route_open(L);

    lua_newtable(L);
    sm_setfuncs(L, functions, 0);
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
