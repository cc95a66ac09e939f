/*
 * route.c: checks the caller's ids and builds the request path, once per
 * call, into a route.
 */
#include "route.h"

#include <lauxlib.h>
#include <math.h>
#include <string.h>

#include "bounds.h"
#include "client.h"
#include "compat.h"
#include "entry.h"
#include "errors.h"
#include "segment.h"

/* 2^63 as a double: the first integral double above the int64 range. */
#define SM_TWO_POW_63 9223372036854775808.0

/* Writes v in decimal and a NUL into out[21]. By hand: snprintf costs
 * more than the rest of the path (this is on every call). */
static void write_decimal(char *out, long long v)
{
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    if (v < 0)
        *out++ = '-';
    while (n > 0)
        *out++ = digits[--n];
    *out = '\0';
}

/* 2^53: above it not every integer is a double, so a float there may
 * already be another id than the one the caller wrote. */
#define SM_TWO_POW_53 9007199254740992.0

/* Writes the integral number at idx as decimal into out[21]; -1 if the
 * number is not integral or is outside the int64 range, -2 if it is a float
 * above 2^53 (Lua 5.1 and LuaJIT have no other kind of number). */
static int integral_decimal(lua_State *L, int idx, char *out)
{
#if SM_HAVE_INTEGERS
    if (lua_isinteger(L, idx)) {
        write_decimal(out, (long long)lua_tointeger(L, idx));
        return 0;
    }
#endif
    {
        lua_Number d = lua_tonumber(L, idx);
        if (d != floor(d) || !(d >= -SM_TWO_POW_63 && d < SM_TWO_POW_63))
            return -1;
        if (fabs(d) > SM_TWO_POW_53)
            return -2;
        write_decimal(out, (long long)d);
        return 0;
    }
}

/* Writes the canonical decimal team id into out[SM_TEAM_ID_DIGITS + 1]. */
static void check_team_id(lua_State *L, int idx, char *out)
{
    static const char why[] =
        "team_id must be an integer from 1 to 9223372036854775807, or a string "
        "of its decimal digits";
    size_t n;
    const char *s;
    switch (lua_type(L, idx)) {
    case LUA_TNUMBER: {
        char digits[32];
        int r = integral_decimal(L, idx, digits);
        if (r == 0 && digits[0] != '-' &&
            sm_team_id_from_digits(digits, strlen(digits), out) == 0)
            return;
        if (r == -2)
            sm_invalid_argument(L, "team_id",
                                "team_id is a number above 2^53, which this Lua "
                                "cannot hold exactly (it may already be another "
                                "team's id): pass it as a string of digits");
        sm_invalid_argument(L, "team_id", "%s", why);
        return;
    }
    case LUA_TSTRING:
        s = lua_tolstring(L, idx, &n);
        if (sm_team_id_from_digits(s, n, out) == 0)
            return;
        sm_invalid_argument(L, "team_id", "%s", why);
        return;
    default:
        sm_invalid_argument(L, "team_id", "%s (got %s)", why,
                            luaL_typename(L, idx));
    }
}

static const char *check_connector(lua_State *L, int idx, size_t *n)
{
    const char *s;
    *n = 0; /* sm_invalid_argument never returns, but analyzers cannot tell */
    s = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, n) : NULL;
    if (s == NULL || sm_check_connector(s, *n) != 0) {
        const char *got = s == NULL ? luaL_typename(L, idx)
                          : *n == 0 ? "an empty string"
                          : *n > SM_CONNECTOR_MAX
                              ? lua_pushfstring(L, "%d characters",
                                                (int)(*n > 9999 ? 9999 : *n))
                              : "other characters";
        sm_invalid_argument(L, "connector_identifier",
                            "connector_identifier must be a string of 1 to %d "
                            "characters from A-Z a-z 0-9 _ - (got %s)",
                            SM_CONNECTOR_MAX, got);
    }
    return s;
}

/* Returns the log id bytes; numbers become their decimal string in buf. */
static const char *check_log_id(lua_State *L, int idx, char *buf, size_t size,
                                size_t *n)
{
    const char *s = NULL;
    if (lua_type(L, idx) == LUA_TSTRING) {
        s = lua_tolstring(L, idx, n);
        if (*n == 0 || *n > SM_LOG_ID_MAX)
            sm_invalid_argument(L, "log_id",
                                "log_id must be 1 to %d bytes long (got %d)",
                                SM_LOG_ID_MAX, (int)(*n > 9999 ? 9999 : *n));
        if ((*n == 1 && s[0] == '.') || (*n == 2 && s[0] == '.' && s[1] == '.'))
            sm_invalid_argument(L, "log_id",
                                "log_id must not be \".\" or \"..\"");
        return s;
    }
    if (lua_type(L, idx) == LUA_TNUMBER && size >= 21) {
        int r = integral_decimal(L, idx, buf);
        if (r == 0) {
            *n = strlen(buf);
            return buf;
        }
        if (r == -2)
            sm_invalid_argument(L, "log_id",
                                "log_id is a number above 2^53, which this Lua "
                                "cannot hold exactly: pass it as a string");
    }
    sm_invalid_argument(L, "log_id",
                        "log_id must be a non-empty string or an integer "
                        "(got %s)",
                        lua_type(L, idx) == LUA_TNUMBER ? "a fractional number"
                                                        : luaL_typename(L, idx));
    return NULL;
}

/* The two ids every route starts with, checked. */
typedef struct sm_ids {
    char team[SM_TEAM_ID_DIGITS + 1];
    const char *conn;
    size_t conn_len;
} sm_ids;

/* team_id at first, connector_identifier at first + 1 */
static void check_ids(lua_State *L, int first, sm_ids *ids)
{
    check_team_id(L, first, ids->team);
    ids->conn = check_connector(L, first + 1, &ids->conn_len);
}

/* Starts b with "/v1/teams/T/connector_builder/connectors/C/logs". */
static void add_logs_prefix(lua_State *L, luaL_Buffer *b, const sm_ids *ids)
{
    luaL_buffinit(L, b);
    luaL_addstring(b, "/v1/teams/");
    luaL_addstring(b, ids->team);
    luaL_addstring(b, "/connector_builder/connectors/");
    luaL_addlstring(b, ids->conn, ids->conn_len);
    luaL_addstring(b, "/logs");
}

static size_t put(char *out, size_t at, const char *s, size_t n)
{
    memcpy(out + at, s, n);
    return at + n;
}

size_t sm_log_path(lua_State *L, int first, char *out, sm_log_id *id)
{
    size_t log_len = 0, n;
    const char *log_id;
    sm_ids ids;
    check_ids(L, first, &ids);
    log_id = check_log_id(L, first + 2, id->digits, sizeof id->digits, &log_len);
    id->s = log_id;
    id->len = log_len;
    /* Straight into out: no luaL_Buffer round trips on every call. */
    n = put(out, 0, "/v1/teams/", 10);
    n = put(out, n, ids.team, strlen(ids.team));
    n = put(out, n, "/connector_builder/connectors/", 30);
    n = put(out, n, ids.conn, ids.conn_len);
    n = put(out, n, "/logs/", 6);
    id->prefix_len = n;
    return n + sm_encode_segment(log_id, log_len, out + n);
}

/* ---- routes ---- */

void sm_push_route(lua_State *L, int shape, const char *path, size_t len,
                   const char *id, size_t id_len, int limit)
{
    sm_route *r = sm_newuserdata(L, sizeof *r + len + 1 + id_len + 1);
    r->shape = shape;
    r->limit = limit;
    r->len = len;
    r->id_len = id != NULL ? id_len : (size_t)-1;
    memcpy(r->path, path, len);
    r->path[len] = '\0';
    if (id != NULL)
        memcpy(r->path + len + 1, id, id_len);
    r->path[len + 1 + (id != NULL ? id_len : 0)] = '\0';
    sm_setmetatable(L, SM_ROUTE_MT);
}

void sm_route_expect(const sm_route *r, sm_expect *e)
{
    int entry = r->id_len != (size_t)-1;
    e->id = entry ? r->path + r->len + 1 : NULL;
    e->id_len = entry ? r->id_len : 0;
    e->limit = r->limit;
}

const sm_route *sm_check_route(lua_State *L, int idx)
{
    return sm_checkudata_at(L, idx, lua_upvalueindex(SM_UP_ROUTE_MT),
                            SM_ROUTE_MT);
}

int sm_lua_log_route(lua_State *L)
{
    char path[SM_LOG_PATH_MAX];
    sm_log_id id;
    size_t n = sm_log_path(L, 1, path, &id);
    int shape = lua_toboolean(L, 4) ? SM_SHAPE_RAW : SM_SHAPE_ENTRY;
    sm_push_route(L, shape, path, n, id.s, id.len, 0);
    return 1;
}

/* limit: nil or an integer 1..max; returns 0 for nil. */
static int check_limit(lua_State *L, int idx, const char *name, int max)
{
    lua_Number v;
    if (lua_isnoneornil(L, idx))
        return 0;
    v = lua_tonumber(L, idx);
    if (lua_type(L, idx) != LUA_TNUMBER || v != floor(v) || v < 1 || v > max)
        sm_invalid_argument(L, name, "%s must be an integer from 1 to %d",
                            name, max);
    return (int)v;
}

/* before: nil, or an RFC 3339 date-time in UTC, as the API's document types
 * it (format: date-time). The Lua layer converts what callers give (dates,
 * minutes, offsets) with supermetrics.logtime; this is the last guard that
 * nothing else reaches the URL. */
static const char *check_before(lua_State *L, int idx, size_t *n)
{
    const char *s;
    if (lua_isnoneornil(L, idx))
        return NULL;
    s = lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, n) : NULL;
    if (s == NULL || sm_check_date_time(s, *n) != 0)
        sm_invalid_argument(L, "before",
                            "before must be an RFC 3339 date-time in UTC such as "
                            "2025-06-01T00:00:00Z");
    return s;
}

int sm_lua_page_route(lua_State *L)
{
    sm_ids ids;
    luaL_Buffer b;
    size_t before_len = 0;
    const char *before;
    int limit;
    check_ids(L, 1, &ids);
    limit = check_limit(L, 3, "limit", SM_MAX_PAGE_SIZE);
    before = check_before(L, 4, &before_len);
    add_logs_prefix(L, &b, &ids);
    if (limit > 0) {
        lua_pushfstring(L, "?limit=%d", limit);
        luaL_addvalue(&b);
    }
    if (before != NULL) {
        char encoded[3 * SM_TIMESTAMP_MAX];
        luaL_addstring(&b, limit > 0 ? "&before=" : "?before=");
        luaL_addlstring(&b, encoded,
                        sm_encode_segment(before, before_len, encoded));
    }
    luaL_pushresult(&b);
    {
        size_t n;
        const char *path = lua_tolstring(L, -1, &n);
        sm_push_route(L, SM_SHAPE_PAGE, path, n, NULL, 0, limit);
    }
    return 1;
}

/* route:path() -> the request path, for on_response's event. */
static int route_path(lua_State *L)
{
    const sm_route *r = sm_check_route(L, 1);
    lua_pushlstring(L, r->path, r->len);
    return 1;
}

void sm_route_open(lua_State *L)
{
    luaL_newmetatable(L, SM_ROUTE_MT);
    lua_newtable(L);
    lua_pushcfunction(L, route_path);
    lua_setfield(L, -2, "path");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
