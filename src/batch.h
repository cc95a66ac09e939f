/*
 * batch.h: many transfers at once on one client (batch.c).
 */
#ifndef SM_BATCH_H
#define SM_BATCH_H

#include <lua.h>

/* Registers the handle's batch_open, batch_add, batch_poll and batch_reset
 * methods. */
void sm_batch_open(lua_State *L, int decode_idx);

#endif
