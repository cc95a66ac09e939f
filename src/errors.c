/*
 * errors.c: the supermetrics.Error type and its constructors.
 */
#include "errors.h"

#include <lauxlib.h>
#include <stdarg.h>
#include <string.h>

#include "compat.h"
#include "text.h"

void sm_add_one_line(luaL_Buffer *b, const char *s, size_t n)
{
    sm_text_add_shown(b, s, n);
}

/* The string at idx, or NULL (numbers are not converted: no surprises). */
static const char *string_at(lua_State *L, int idx, size_t *n)
{
    *n = 0;
    return lua_type(L, idx) == LUA_TSTRING ? lua_tolstring(L, idx, n) : NULL;
}

static int error_tostring(lua_State *L)
{
    luaL_Buffer b;
    const char *code, *message, *request_id;
    size_t code_len, message_len, request_id_len;
    lua_Number status;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    /* Every field is on the stack before the buffer starts: a luaL_Buffer
     * must see the stack exactly as it left it between its calls. */
    lua_getfield(L, 1, "code");
    lua_getfield(L, 1, "message");
    lua_getfield(L, 1, "request_id");
    lua_getfield(L, 1, "status");
    code = string_at(L, 2, &code_len);
    message = string_at(L, 3, &message_len);
    request_id = string_at(L, 4, &request_id_len);
    status = lua_tonumber(L, 5);

    luaL_buffinit(L, &b);
    luaL_addstring(&b, "supermetrics: ");
    if (code != NULL)
        sm_add_one_line(&b, code, code_len);
    else
        luaL_addstring(&b, "ERROR");
    if (status > 0 && status < 1000) {
        lua_pushfstring(L, " (HTTP %d)", (int)status);
        luaL_addvalue(&b);
    }
    luaL_addstring(&b, ": ");
    if (message != NULL)
        sm_add_one_line(&b, message, message_len);
    if (request_id != NULL) {
        luaL_addstring(&b, " [request_id ");
        sm_add_one_line(&b, request_id, request_id_len);
        luaL_addchar(&b, ']');
    }
    luaL_pushresult(&b);
    return 1;
}

/* Pushes the text of one operand of `..`: an error value as tostring
 * gives it, a string or number as is; anything else raises as Lua would. */
static void push_piece(lua_State *L, int idx)
{
    int t = lua_type(L, idx);
    if (t == LUA_TSTRING || t == LUA_TNUMBER) {
        lua_pushvalue(L, idx);
        return;
    }
    if (t == LUA_TTABLE && lua_getmetatable(L, idx)) {
        luaL_getmetatable(L, SM_ERROR_MT);
        if (lua_rawequal(L, -1, -2)) {
            lua_pop(L, 2);
            lua_pushcfunction(L, error_tostring);
            lua_pushvalue(L, idx);
            lua_call(L, 1, 1);
            return;
        }
        lua_pop(L, 2);
    }
    luaL_error(L, "attempt to concatenate a %s value", luaL_typename(L, idx));
}

/* __concat: "failed: " .. err works as with strings (nginx's log calls and
 * string building need no tostring). */
static int error_concat(lua_State *L)
{
    lua_settop(L, 2);
    push_piece(L, 1);
    push_piece(L, 2);
    lua_concat(L, 2);
    return 1;
}

void sm_errors_open(lua_State *L)
{
    luaL_newmetatable(L, SM_ERROR_MT);
    lua_pushcfunction(L, error_tostring);
    lua_setfield(L, -2, "__tostring");
    lua_pushcfunction(L, error_concat);
    lua_setfield(L, -2, "__concat");
    lua_pushliteral(L, SM_ERROR_MT);
    lua_setfield(L, -2, "__name");
}

void sm_push_error(lua_State *L, const char *code, const char *message)
{
    lua_createtable(L, 0, 8);
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
    /* Shown text by construction: whatever a transport or a server put in
     * it, a message never carries a control character or a bad byte. */
    lua_pushstring(L, message);
    sm_text_shown_at(L, -1);
    lua_setfield(L, -2, "message");
    sm_pushint64(L, 0);
    lua_setfield(L, -2, "attempts");
    sm_setmetatable(L, SM_ERROR_MT);
}

/* Raises INVALID_ARGUMENT with the message on top of the stack. */
static int raise_invalid(lua_State *L, const char *argument)
{
    sm_push_error(L, "INVALID_ARGUMENT", lua_tostring(L, -1));
    if (argument != NULL) {
        lua_pushstring(L, argument);
        lua_setfield(L, -2, "argument");
    }
    return lua_error(L);
}

int sm_raise(lua_State *L, const char *fmt, ...)
{
    va_list ap;
    lua_pushliteral(L, "supermetrics: ");
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    lua_concat(L, 2);
    return lua_error(L);
}

int sm_argument_error(lua_State *L, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    return raise_invalid(L, NULL);
}

int sm_invalid_argument(lua_State *L, const char *argument, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    lua_pushvfstring(L, fmt, ap);
    va_end(ap);
    return raise_invalid(L, argument);
}

int sm_lua_new_error(lua_State *L)
{
    const char *code = luaL_checkstring(L, 1);
    const char *message = luaL_checkstring(L, 2);
    int err;
    lua_settop(L, 3);
    sm_push_error(L, code, message);
    err = lua_gettop(L);
    if (lua_type(L, 3) == LUA_TTABLE) {
        lua_pushnil(L);
        while (lua_next(L, 3)) {
            const char *k = lua_type(L, -2) == LUA_TSTRING
                                ? lua_tostring(L, -2) /* no conversion */
                                : NULL;
            if (k != NULL &&
                (strcmp(k, "code") == 0 || strcmp(k, "message") == 0)) {
                lua_pop(L, 1); /* code and message are the arguments' */
                continue;
            }
            if (k != NULL && strcmp(k, "description") == 0 &&
                lua_type(L, -1) == LUA_TSTRING)
                sm_text_shown_at(L, -1); /* shown text, as message */
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, err);
        }
    }
    return 1;
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
