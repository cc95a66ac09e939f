#include "errors.h"

#include <lauxlib.h>
#include <stdarg.h>

#include "compat.h"

/* Appends the string field k of the table at 1, with control bytes turned into
 * spaces so that tostring(err) stays on one line whatever a server sent. */
static int add_field(luaL_Buffer *b, lua_State *L, const char *k)
{
    size_t n, i;
    const char *s;
    lua_getfield(L, 1, k);
    s = lua_tolstring(L, -1, &n);
    if (s == NULL) {
        lua_pop(L, 1);
        return 0;
    }
    /* The buffer may use the stack: copy the bytes before popping s. */
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        luaL_addchar(b, (char)(c < 0x20 || c == 0x7f ? ' ' : c));
    }
    lua_pop(L, 1);
    return 1;
}

static int error_tostring(lua_State *L)
{
    luaL_Buffer b;
    lua_Number status;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_getfield(L, 1, "status");
    status = lua_tonumber(L, -1);
    lua_pop(L, 1);
    luaL_buffinit(L, &b);
    luaL_addstring(&b, "supermetrics: ");
    if (!add_field(&b, L, "code"))
        luaL_addstring(&b, "ERROR");
    if (status > 0) {
        lua_pushfstring(L, " (HTTP %d)", (int)status);
        luaL_addvalue(&b);
    }
    luaL_addstring(&b, ": ");
    add_field(&b, L, "message");
    lua_getfield(L, 1, "request_id");
    if (lua_type(L, -1) == LUA_TSTRING) {
        lua_pop(L, 1);
        luaL_addstring(&b, " [request_id ");
        add_field(&b, L, "request_id");
        luaL_addchar(&b, ']');
    } else {
        lua_pop(L, 1);
    }
    luaL_pushresult(&b);
    return 1;
}

void sm_errors_open(lua_State *L)
{
    luaL_newmetatable(L, SM_ERROR_MT);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushliteral(L, SM_ERROR_MT);
    lua_setfield(L, -2, "__name");
}

void sm_push_error(lua_State *L, const char *code, const char *message)
{
    lua_createtable(L, 0, 8);
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    lua_pushstring(L, message);
    lua_setfield(L, -2, "message");
    sm_pushint64(L, 0);
    lua_setfield(L, -2, "attempts");
    sm_setmetatable(L, SM_ERROR_MT);
}

int sm_argument_error(lua_State *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    sm_push_error(L, "INVALID_ARGUMENT", lua_tostring(L, -1));
    return lua_error(L);
}

int sm_lua_is_error(lua_State *L)
{
    int yes = 0;
    if (lua_type(L, 1) == LUA_TTABLE && lua_getmetatable(L, 1)) {
        luaL_getmetatable(L, SM_ERROR_MT);
        yes = lua_rawequal(L, -1, -2);
        lua_pop(L, 2);
    }
    lua_pushboolean(L, yes);
    return 1;
}
