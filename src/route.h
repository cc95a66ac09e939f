/*
 * route.h: turns the caller's ids into a request path (a route), refusing bad
 * ones with INVALID_ARGUMENT before any traffic.
 */
#ifndef SM_ROUTE_H
#define SM_ROUTE_H

#include <lua.h>

#include <stddef.h>

#include "entry.h"
#include "segment.h"

/* The longest path of one log entry up to the log id, and whole (every
 * log_id byte encoded). */
#define SM_LOG_PREFIX_MAX                                                    \
    (sizeof "/v1/teams/" - 1 + SM_TEAM_ID_DIGITS +                           \
     sizeof "/connector_builder/connectors/" - 1 + SM_CONNECTOR_MAX +        \
     sizeof "/logs/" - 1)
#define SM_LOG_PATH_MAX (SM_LOG_PREFIX_MAX + 3 * SM_LOG_ID_MAX)

/* The log id as the request asks for it: a string's bytes (the string stays
 * on the stack), or an integer's decimal digits, held in digits; and how
 * long the path is before it (its encoded form follows). */
typedef struct sm_log_id {
    const char *s;
    size_t len;
    char digits[32];
    size_t prefix_len;
} sm_log_id;

/* Checks team_id, connector_identifier and log_id at stack indices first,
 * first + 1 and first + 2 (raising INVALID_ARGUMENT naming a bad one),
 * writes the request path into out[SM_LOG_PATH_MAX] and returns its length;
 * id gets the log id asked for. */
size_t sm_log_path(lua_State *L, int first, char *out, sm_log_id *id);

/* A route: the path of one call's requests, checked and encoded once, how a
 * 2xx body is shaped (entry.h's SM_SHAPE_*) and what it must answer (the
 * log id, or the page's limit). Every attempt of the call takes it. It
 * holds no resource: nothing for a __gc to free. */
#define SM_ROUTE_MT "supermetrics.core.Route"
typedef struct sm_route {
    int shape;
    int limit;     /* a page's limit, 0 for none */
    size_t len;
    size_t id_len; /* the log id's bytes follow the path's NUL */
    char path[];   /* len bytes and a NUL, then id_len bytes and a NUL */
} sm_route;

/* Pushes a new route; id (NULL for a page) is the log id asked for. */
void sm_push_route(lua_State *L, int shape, const char *path, size_t len,
                   const char *id, size_t id_len, int limit);

/* What an answer on route r must match. */
void sm_route_expect(const sm_route *r, sm_expect *e);

/* The route at idx; raises if it is none. Quick in the handle's methods
 * (the metatable is their upvalue, client.h); correct anywhere. */
const sm_route *sm_check_route(lua_State *L, int idx);

/* Lua: log_route(team_id, connector_identifier, log_id [, raw]) -> route
 * of one entry ("/v1/teams/.../logs/ENCODED"); raw: its JSON text as sent
 * (SM_SHAPE_RAW), not its table */
int sm_lua_log_route(lua_State *L);

/* Lua: page_route(team_id, connector_identifier [, limit [, before]])
 *   -> route of a page ("/v1/teams/.../logs[?limit=N][&before=ENCODED]") */
int sm_lua_page_route(lua_State *L);

/* Registers the route type (route:path()). */
void sm_route_open(lua_State *L);

#endif
