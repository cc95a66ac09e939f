/*
 * client.h: the connection-owning handle behind a supermetrics client. One
 * libcurl easy handle for single calls, and a few more for batches, all on
 * one connection pool (a share handle), so every call reuses the kept-alive
 * connections and TLS sessions. This is the lower layer the methods build
 * on (attempt.c, batch.c, cosocket.c, route.c, budget.c); each method is
 * defined with what it does and listed once, in handle.c, above them all.
 */
#ifndef SM_CLIENT_H
#define SM_CLIENT_H

#include <lua.h>
#include <lauxlib.h>
#include <curl/curl.h>

#include "credential.h"
#include "endpoint.h"
#include "sockets.h"
#include "transfer.h"

#define SM_CLIENT_MT "supermetrics.core.Client"

struct sm_slot; /* batch.c's */

typedef struct sm_client {
    sm_transfer main;            /* main.easy is NULL once closed */
    CURLSH *share;               /* pool shared with batches, made by the
                                  * first one (NULL until then) */
    sm_credential credential;    /* of every request but a batch slot's own */
    sm_endpoint endpoint;
    sm_proxy proxy;              /* for https://; url NULL: none */
    long connect_timeout_ms;
    sm_sockets sockets;          /* every socket its handles opened, for
                                  * fork safety (sockets.h) */
    /* Batches (batch.c): made on first use, freed through release_batch. */
    CURLM *multi;
    struct sm_slot **slots;      /* each allocated alone: libcurl keeps */
    int nslots;                  /* pointers into them while in flight */
    void (*release_batch)(struct sm_client *c);
} sm_client;

/* The upvalues of every method of the handle (handle.c sets them): the
 * JSON decode function (cjson.safe semantics); the metatables of the
 * handle, of an exchange (cosocket.c) and of a route (route.h), so that
 * checking an argument's type needs no registry lookup by name
 * (sm_checkudata_at); and how the decode function gives integral numbers
 * (json_entry.h's SM_JSON_INTS_*). */
#define SM_UP_DECODE 1
#define SM_UP_CLIENT_MT 2
#define SM_UP_EXCHANGE_MT 3
#define SM_UP_ROUTE_MT 4
#define SM_UP_JSON_INTS 5

/* How a handle method decodes bodies (json_entry.h): the decode function
 * and how it gives integral numbers, from the upvalues above; no
 * credential, cap 0 (sm_push_outcome sets it). */
void sm_decoder_of(lua_State *L, sm_json_decoder *d);

/* Lua: new_client(options) -> handle. See client.c for the options. */
int sm_lua_new_client(lua_State *L);

/* The handle's own methods (handle.c lists them): close (also __gc and
 * __close), __tostring, proxy() and set_proxy(url, source [, check_only]). */
int sm_lua_client_close(lua_State *L);
int sm_lua_client_tostring(lua_State *L);
int sm_lua_client_proxy(lua_State *L);
int sm_lua_client_set_proxy(lua_State *L);

/* The handle at idx, restarted first in a forked child; raises
 * INVALID_ARGUMENT when it is closed. Quick in the handle's methods (the
 * metatable is their upvalue); correct anywhere. */
sm_client *sm_check_open_client(lua_State *L, int idx);

/* The client's shared pool (connections, TLS sessions, DNS), made on first
 * use and given to the single-call handle too: a client that never runs a
 * batch does not pay for the share's locking on every call
 * (bench/PROFILE.md). NULL when out of memory. */
CURLSH *sm_client_share(sm_client *c);

/* Makes s the credential of every following call. Returns NULL or a
 * message (without the credential) on failure; the old one stays then. */
const char *sm_client_set_credential(sm_client *c, const char *s, size_t n);

#endif
