/*
 * errors.h: the supermetrics.Error type. Error values are plain tables
 * (code, message, description, status, request_id, retry_after, attempts,
 * rate_limit, rate_limit_remaining, body, cause, argument) whose metatable is the one
 * registered here.
 */
#ifndef SM_ERRORS_H
#define SM_ERRORS_H

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>

#define SM_ERROR_MT "supermetrics.Error"

/* Creates the metatable in the registry and pushes it. */
void sm_errors_open(lua_State *L);

/* Appends s (n bytes) as shown (text.h's one rule: C0, DEL and C1 controls
 * as spaces, ill-formed UTF-8 as U+FFFD): tostring(err) stays on one line
 * and obeys no escape sequence whatever a server sent. */
void sm_add_one_line(luaL_Buffer *b, const char *s, size_t n);

/* Pushes a new error table with code, message (as shown: text.h) and
 * attempts = 0. */
void sm_push_error(lua_State *L, const char *code, const char *message);

/* Raises a plain error (not an error value: the library itself failed, as
 * out of memory) with the one prefix, "supermetrics: ", and a formatted
 * message (lua_pushfstring's). Never returns. Call it only with no C
 * resources held. */
int sm_raise(lua_State *L, const char *fmt, ...);

/* Raises INVALID_ARGUMENT with a formatted message (lua_pushfstring's %s %d
 * %f %%). Never returns. Call it only with no C resources held. */
int sm_argument_error(lua_State *L, const char *fmt, ...);

/* The same, about one argument or option: its name goes in the error's
 * `argument` field (the command line names it in its own words). */
int sm_invalid_argument(lua_State *L, const char *argument, const char *fmt, ...);

/* Lua: new_error(code, message [, fields]) -> a new error value with the
 * fields given (code and message are the arguments'), attempts 0 unless
 * fields say otherwise: the one constructor, for the Lua layer too. */
int sm_lua_new_error(lua_State *L);

/* Lua: is_error(v) -> boolean */
int sm_lua_is_error(lua_State *L);

#endif
