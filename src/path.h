/*
 * path.h: turns the caller's ids into a request path, refusing bad ones with
 * INVALID_ARGUMENT before any traffic.
 */
#ifndef SM_PATH_H
#define SM_PATH_H

#include <lua.h>

/* Lua: log_path(team_id, connector_identifier, log_id) -> "/v1/teams/..." */
int sm_lua_log_path(lua_State *L);

/* Lua: logs_path(team_id, connector_identifier [, limit [, before]])
 *   -> "/v1/teams/.../logs[?limit=N][&before=ENCODED]" */
int sm_lua_logs_path(lua_State *L);

#endif
