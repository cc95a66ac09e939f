/*
 * client.h: the connection-owning handle behind a supermetrics client. One
 * libcurl easy handle for single calls, and a few more for batches, all on
 * one connection pool (a share handle), so every call reuses the kept-alive
 * connections and TLS sessions.
 */
#ifndef SM_CLIENT_H
#define SM_CLIENT_H

#include <lua.h>
#include <curl/curl.h>

#include "credential.h"
#include "sockets.h"
#include "transfer.h"

#define SM_CLIENT_MT "supermetrics.core.Client"

/* One transfer of a batch. */
typedef struct sm_slot {
    sm_transfer t;
    sm_credential credential;   /* a token_provider's, else unset: the
                                 * client's may change while this runs */
    lua_Integer id;             /* the caller's item id while busy */
    int busy, done, want_info;
    CURLcode result;
} sm_slot;

typedef struct sm_client {
    sm_transfer main;            /* main.easy is NULL once closed */
    CURLSH *share;               /* pool shared with batches, made by the
                                  * first one (NULL until then) */
    sm_credential credential;    /* of every request but a batch slot's own */
    char *base_url;              /* scheme://host[:port][/prefix], no '/' end */
    size_t base_len;
    /* The same URL in parts, for transports that write HTTP themselves
     * (exchange.c): host as in the URL ("[::1]" keeps its brackets), the
     * port (the scheme's when none is given), the path prefix and what
     * follows the request line up to the credential. */
    char *host, *prefix, *head_fields;
    size_t prefix_len, head_fields_len;
    long port;
    int is_https;
    long connect_timeout_ms;
    sm_sockets sockets;          /* every socket its handles opened, for
                                  * fork safety (sockets.h) */
    CURLM *multi;                /* batches; created on first use */
    sm_slot **slots;             /* each allocated alone: libcurl keeps */
    int nslots;                  /* pointers into them while in flight */
} sm_client;

/* Registers the handle's metatable. Its methods keep the JSON decode
 * function found at decode_idx (cjson.safe semantics) as their upvalue. */
void sm_client_open(lua_State *L, int decode_idx);

/* Lua: new_client(options) -> handle. See client.c for the options. */
int sm_lua_new_client(lua_State *L);

/* Shared with batch.c. */
/* The client's shared pool (connections, TLS sessions, DNS), made on first
 * use and given to the single-call handle too: a client that never runs a
 * batch does not pay for the share's locking on every call
 * (bench/PROFILE.md). NULL when out of memory. */
CURLSH *sm_client_share(sm_client *c);
sm_client *sm_check_open_client(lua_State *L, int idx);
/* Makes s the credential of every following call. Returns NULL or a
 * message (without the credential) on failure; the old one stays then. */
const char *sm_client_set_credential(sm_client *c, const char *s, size_t n);
long sm_timeout_ms(lua_Number seconds);
/* Before an attempt: pushes nil and the error that keeps it from starting
 * (a bad token_provider credential, given as its message, or no time left)
 * and returns 2; returns 0 when the attempt may start. */
int sm_refuse_attempt(lua_State *L, const char *bad_credential, lua_Number left);

/* exchange.c: methods of the handle for the cosocket transport, and the
 * exchange type they use. */
int sm_lua_endpoint(lua_State *L);
int sm_lua_request(lua_State *L);
int sm_lua_new_exchange(lua_State *L);
int sm_lua_outcome(lua_State *L);
void sm_exchange_open(lua_State *L);

/* batch.c: methods of the handle, and its cleanup. */
int sm_lua_batch_open(lua_State *L);
int sm_lua_batch_add(lua_State *L);
int sm_lua_batch_poll(lua_State *L);
int sm_lua_batch_reset(lua_State *L);
void sm_batch_release(sm_client *c);

#endif
