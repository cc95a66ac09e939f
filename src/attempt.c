/*
 * attempt.c: one HTTP attempt on the client's single-call handle, and what
 * every route checks before an attempt starts.
 */
#include "attempt.h"

#include <lauxlib.h>
#include <math.h>

#include "client.h"
#include "compat.h"
#include "entry.h"
#include "errors.h"
#include "path.h"

long sm_timeout_ms(lua_Number seconds)
{
    return seconds >= 1e9 ? 1000000000L : (long)ceil(seconds * 1000);
}

int sm_refuse_attempt(lua_State *L, const char *bad_credential, lua_Number left)
{
    if (bad_credential != NULL) {
        lua_pushnil(L);
        lua_pushfstring(L, "the token_provider's credential %s", bad_credential);
        sm_push_error(L, "INVALID_ARGUMENT", lua_tostring(L, -1));
        lua_remove(L, -2);
        return 2;
    }
    if (!(left > 0)) {
        lua_pushnil(L);
        sm_push_error(L, "TIMEOUT", "the call's deadline passed before this "
                                    "attempt could start");
        return 2;
    }
    return 0;
}

/* handle:perform(path, seconds_left [, credential [, want_info [, shape]]])
 *   -> body_table [, info] | nil, error
 * One HTTP attempt: GET base_url .. path with the time that is left of the
 * call's deadline. With want_info, a success also returns the response's
 * status, request id and rate limits; with shape, the body is shaped as a
 * LogEntry (sm_normalize_entry). Raises INVALID_ARGUMENT for a closed client,
 * one without a credential or a bad argument type, and a plain error when
 * the request cannot be prepared or memory runs out. */
static int client_perform(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    size_t path_len, cred_len;
    const char *path = luaL_checklstring(L, 2, &path_len);
    lua_Number left = luaL_checknumber(L, 3);
    const char *credential = luaL_optlstring(L, 4, NULL, &cred_len);
    int want_info = lua_toboolean(L, 5), shape = lua_toboolean(L, 6), refused, n;
    CURLcode rc;

    refused = sm_refuse_attempt(
        L, credential ? sm_client_set_credential(c, credential, cred_len) : NULL, left);
    if (refused)
        return refused;
    if (!sm_credential_isset(&c->credential))
        sm_argument_error(L, "the client has no credential");
    if (sm_transfer_prepare(&c->main, c->endpoint.base_url, c->endpoint.base_len, path, path_len,
                            sm_timeout_ms(left), c->connect_timeout_ms) != 0)
        return luaL_error(L, "supermetrics: could not prepare the request");

    rc = sm_transfer_perform(&c->main);

    /* libcurl is off the stack: now Lua may be touched, and may raise. */
    if (c->main.body.out_of_memory)
        return luaL_error(L, "not enough memory");
    lua_settop(L, 1);
    n = sm_transfer_push_result(L, &c->main, rc, sm_credential_value(&c->credential),
                                lua_upvalueindex(1), want_info);
    if (shape && lua_type(L, 2) == LUA_TTABLE)
        sm_normalize_entry_hint(L, 2, sm_buffer_may_have_nulls(&c->main.body));
    return n;
}

/* handle:get_log(team_id, connector_identifier, log_id, seconds)
 *   -> entry | nil, error, path
 * The common call in one step: checks the ids (raising INVALID_ARGUMENT
 * before any traffic), writes the path straight into the URL, makes one
 * attempt with the client's own credential, and shapes the entry. After a
 * failure the Lua layer's retry loop takes over with the path. */
static int client_get_log(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    char path[SM_LOG_PATH_MAX];
    size_t path_len = sm_log_path(L, 2, path);
    lua_Number left = luaL_checknumber(L, 5);
    int n;
    CURLcode rc;

    if (!sm_credential_isset(&c->credential))
        sm_argument_error(L, "the client has no credential");
    lua_settop(L, 1); /* the handle stays referenced; results go above */
    n = sm_refuse_attempt(L, NULL, left);
    if (n == 0) {
        if (sm_transfer_prepare(&c->main, c->endpoint.base_url, c->endpoint.base_len, path,
                                path_len, sm_timeout_ms(left),
                                c->connect_timeout_ms) != 0)
            return luaL_error(L, "supermetrics: could not prepare the request");

        rc = sm_transfer_perform(&c->main);
    
        /* libcurl is off the stack: now Lua may be touched, and may raise. */
        if (c->main.body.out_of_memory)
            return luaL_error(L, "not enough memory");
        n = sm_transfer_push_result(L, &c->main, rc, sm_credential_value(&c->credential),
                                    lua_upvalueindex(1), 0);
        if (n == 1) {
            sm_normalize_entry_hint(L, -1, sm_buffer_may_have_nulls(&c->main.body));
            return 1;
        }
    }
    lua_pushlstring(L, path, path_len);
    return 3;
}

void sm_attempt_open(lua_State *L, int decode_idx)
{
    static const luaL_Reg methods[] = {
        {"perform", client_perform},
        {"get_log", client_get_log},
        {NULL, NULL},
    };
    sm_client_methods(L, methods, decode_idx);
}
