/*
 * budget.h: what the rate budget (lua/supermetrics/budget.lua) asks of C: a
 * key's name in a shared store (a digest of the base URL and credential,
 * never the credential), the wall clock shared stores agree on, and Redis
 * (redis.c). Registered into the core table by sm_budget_open.
 */
#ifndef SM_BUDGET_H
#define SM_BUDGET_H

#include <lua.h>

/* Adds budget_key, wall_clock, sha256_hex and the Redis functions
 * (redis.h) to the table on top of the stack. */
void sm_budget_open(lua_State *L);

#endif
