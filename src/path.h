/*
 * path.h: turns the caller's ids into a request path, refusing bad ones with
 * INVALID_ARGUMENT before any traffic.
 */
#ifndef SM_PATH_H
#define SM_PATH_H

#include <lua.h>

#include <stddef.h>

#include "segment.h"

/* The longest path of one log entry (every log_id byte encoded). */
#define SM_LOG_PATH_MAX                                                      \
    (sizeof "/v1/teams/" - 1 + SM_TEAM_ID_DIGITS +                           \
     sizeof "/connector_builder/connectors/" - 1 + SM_CONNECTOR_MAX +        \
     sizeof "/logs/" - 1 + 3 * SM_LOG_ID_MAX)

/* Checks team_id, connector_identifier and log_id at stack indices first,
 * first + 1 and first + 2 (raising INVALID_ARGUMENT naming a bad one) and
 * writes the request path into out[SM_LOG_PATH_MAX]; returns its length. */
size_t sm_log_path(lua_State *L, int first, char *out);

/* Lua: log_path(team_id, connector_identifier, log_id) -> "/v1/teams/..." */
int sm_lua_log_path(lua_State *L);

/* Lua: logs_path(team_id, connector_identifier [, limit [, before]])
 *   -> "/v1/teams/.../logs[?limit=N][&before=ENCODED]" */
int sm_lua_logs_path(lua_State *L);

#endif
