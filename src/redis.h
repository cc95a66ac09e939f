/*
 * redis.h: Redis for the rate budget's shared store (redis.c). hiredis's
 * protocol-only half writes commands (redisFormatCommandArgv) and parses
 * replies from any bytes (redisReader*), so the same code speaks Redis
 * over the blocking connection below outside nginx and over a cosocket
 * inside it (lua/supermetrics/budget/redis.lua moves the bytes). The
 * connection mimics the part of nginx's cosocket API the store uses.
 */
#ifndef SM_REDIS_H
#define SM_REDIS_H

#include <lua.h>

/* Registers the metatables and adds to the table on top of the stack:
 *   redis_command(arg, ...) -> the command's bytes (RESP)
 *   redis_reader() -> reader: reader:feed(bytes) -> true | nil, why;
 *     reader:get() -> "more" | "ok", value | "err", message | "bad", why
 *     (an integer is a number, a nil reply false, an array a table)
 *   redis_connect(host, port, ms) -> connection | nil, why
 *     connection:send(bytes, ms) -> true | nil, why ("timeout", "closed", ...)
 *     connection:receive(ms) -> bytes | nil, why ("timeout": nothing came,
 *     the connection stays open; ms 0 only takes what has arrived)
 *     connection:close(); also on garbage collection. In a forked child
 *     the parent's connection is closed unused ("closed"). */
void sm_redis_open(lua_State *L);

#endif
