/*
 * batch.c: many transfers at once on one client, through libcurl's multi
 * interface. Slots are easy handles copied from the client's own (same
 * options, same connection pool through the share handle) and kept for the
 * next batch. The scheduling (which item next, retries, deadlines) is the
 * Lua layer's: C only starts transfers and reports the finished ones.
 */
#include <lauxlib.h>
#include <stdlib.h>
#include <string.h>

#include "attempt.h"
#include "batch.h"
#include "bounds.h"
#include "client.h"
#include "compat.h"
#include "errors.h"
#include "route.h"

/* One transfer of a batch. */
typedef struct sm_slot {
    sm_transfer t;              /* first: CURLOPT_PRIVATE points at it */
    sm_credential credential;   /* a token_provider's, else unset: the
                                 * client's may change while this runs */
    lua_Integer id;             /* the caller's item id while busy */
    int busy, done;
    sm_attempt at;              /* the attempt in flight (attempt.h) */
    CURLcode result;
} sm_slot;

static void free_slot(sm_slot *s)
{
    if (s->t.easy != NULL)
        curl_easy_cleanup(s->t.easy);
    sm_credential_clear(&s->credential);
    sm_transfer_free(&s->t);
    free(s);
}

static void release_batch(sm_client *c)
{
    int i;
    for (i = 0; i < c->nslots; i++) {
        if (c->slots[i]->busy && c->multi != NULL)
            curl_multi_remove_handle(c->multi, c->slots[i]->t.easy);
        free_slot(c->slots[i]);
    }
    free(c->slots);
    c->slots = NULL;
    c->nslots = 0;
    if (c->multi != NULL) {
        curl_multi_cleanup(c->multi);
        c->multi = NULL;
    }
}

/* handle:batch_open(n) -> n: makes sure n slots (1..SM_MAX_CONCURRENCY)
 * exist. */
int sm_lua_batch_open(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    lua_Number want = luaL_checknumber(L, 2);
    int n = want < 1 ? 1 : want > SM_MAX_CONCURRENCY ? SM_MAX_CONCURRENCY : (int)want;
    if (sm_client_share(c) == NULL)
        return sm_raise(L, "could not create the connection pool");
    if (c->multi == NULL) {
        c->multi = curl_multi_init();
        if (c->multi == NULL)
            return sm_raise(L, "curl_multi_init failed");
        c->release_batch = release_batch;
    }
    if (n > c->nslots) {
        int i;
        sm_slot **grown = realloc(c->slots, (size_t)n * sizeof(sm_slot *));
        if (grown == NULL)
            return sm_raise(L, "not enough memory");
        c->slots = grown;
        for (i = c->nslots; i < n; i++) {
            sm_slot *s = calloc(1, sizeof *s);
            CURL *easy = s ? curl_easy_duphandle(c->main.easy) : NULL;
            if (easy == NULL) {
                free(s);
                break;
            }
            /* The copy points at the client's transfer: point it at its own.
             * A copy never inherits the share: set the client's pool. */
            /* HTTP/1.1: one connection per slot; multiplexing a batch on
             * one HTTP/2 connection was slower (bench/PROFILE.md). Single
             * calls still negotiate HTTP/2. */
            if (sm_transfer_init(&s->t, easy, c->main.body.limit) != CURLE_OK ||
                curl_easy_setopt(easy, CURLOPT_SHARE, c->share) != CURLE_OK ||
                curl_easy_setopt(easy, CURLOPT_HTTP_VERSION,
                                 (long)CURL_HTTP_VERSION_1_1) != CURLE_OK) {
                free_slot(s);
                break;
            }
            c->slots[i] = s;
            c->nslots = i + 1;
        }
        if (c->nslots < n)
            return sm_raise(L, "could not create batch handles");
    }
    lua_pushinteger(L, n);
    return 1;
}

/* handle:batch_reset(): stops every transfer still in flight and frees its
 * slot; for the slots a batch left behind when its coroutine was dropped
 * mid-batch (see supermetrics.transport.curl_batch). */
int sm_lua_batch_reset(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    int i;
    for (i = 0; i < c->nslots; i++) {
        sm_slot *s = c->slots[i];
        if (s->busy && !s->done && c->multi != NULL)
            curl_multi_remove_handle(c->multi, s->t.easy);
        s->busy = s->done = 0;
    }
    return 0;
}

static sm_slot *free_slot_of(sm_client *c)
{
    int i;
    for (i = 0; i < c->nslots; i++)
        if (!c->slots[i]->busy)
            return c->slots[i];
    return NULL;
}

/* handle:batch_add(attempt arguments: attempt.h, id) -> true | nil, error
 * Starts the route's request on a free slot as item id (raises if none is
 * free: the caller keeps at most batch_open(n) in flight), as perform
 * would (sm_attempt_start). An error value comes back when the attempt must
 * not start (sm_attempt_begin). */
int sm_lua_batch_add(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    sm_attempt_args a;
    lua_Integer id;
    sm_slot *s = c->multi ? free_slot_of(c) : NULL;
    sm_check_attempt_args(L, 2, &a);
    id = (lua_Integer)luaL_checknumber(L, 8);

    if (s == NULL)
        return sm_raise(L, "no free batch slot");
    /* A slot keeps its own copy of a token_provider's credential: the
     * client's may be replaced while this transfer is still in flight. */
    if (sm_attempt_start(L, c, &s->t, &s->credential, &a, &s->at) == NULL)
        return 2;
    if (curl_multi_add_handle(c->multi, s->t.easy) != CURLM_OK)
        return sm_raise(L, "could not start the request");
    s->id = id;
    s->busy = 1;
    s->done = 0;
    lua_pushboolean(L, 1);
    return 1;
}

/* Runs the transfers; returns the number still running, or -1. */
static int drive(sm_client *c, long wait_ms)
{
    CURLMsg *msg;
    int running = 0, left;
    if (curl_multi_perform(c->multi, &running) != CURLM_OK)
        return -1;
    if (running > 0 && wait_ms > 0) {
        if (curl_multi_poll(c->multi, NULL, 0, (int)wait_ms, NULL) != CURLM_OK ||
            curl_multi_perform(c->multi, &running) != CURLM_OK)
            return -1;
    }
    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        char *private = NULL;
        sm_slot *s;
        CURLcode result;
        if (msg->msg != CURLMSG_DONE)
            continue;
        result = msg->data.result; /* msg dies with its handle (renewal) */
        if (curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &private) !=
                CURLE_OK || private == NULL)
            return -1;
        curl_multi_remove_handle(c->multi, msg->easy_handle);
        /* CURLOPT_PRIVATE is the transfer, the first member of its slot. */
        s = (sm_slot *)(void *)private;
        if (sm_transfer_resend_due(&s->t, result) &&
            curl_multi_add_handle(c->multi, s->t.easy) == CURLM_OK) {
            running++;
            continue;
        }
        s->done = 1;
        s->result = result;
    }
    return running;
}

/* handle:batch_poll(seconds) -> finished, running
 * Waits up to seconds for activity, then returns the transfers that have
 * finished since the last poll as { id =, body = [, info =] } (the body
 * shaped as its route says) or { id =, err = }, and how many are still
 * running. */
int sm_lua_batch_poll(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    lua_Number wait = luaL_checknumber(L, 2);
    int running, i, n = 0;
    if (c->multi == NULL) {
        lua_newtable(L);
        lua_pushinteger(L, 0);
        return 2;
    }
    running = drive(c, wait > 0 ? sm_timeout_ms(wait) : 0);

    /* libcurl is off the stack: build the results. */
    if (running < 0)
        return sm_raise(L, "the batch transfer loop failed");
    lua_newtable(L);
    for (i = 0; i < c->nslots; i++) {
        sm_slot *s = c->slots[i];
        int k;
        if (!s->busy || !s->done)
            continue;
        s->busy = s->done = 0;
        lua_createtable(L, 0, 3);
        sm_pushint64(L, (long long)s->id);
        lua_setfield(L, -2, "id");
        k = sm_attempt_finish(L, c, &s->t, s->result, &s->at,
                              sm_credential_value(
                                  sm_credential_isset(&s->credential)
                                      ? &s->credential
                                      : &c->credential));
        if (k == 0) {
            /* Sent once more on a fresh connection (sm_attempt_finish). */
            if (curl_multi_add_handle(c->multi, s->t.easy) != CURLM_OK)
                return sm_raise(L, "could not start the request");
            s->busy = 1;
            lua_pop(L, 1);
            continue;
        }
        if (lua_isnil(L, -k)) {
            lua_setfield(L, -3, "err");
            lua_pop(L, 1);
        } else {
            if (k == 2)
                lua_setfield(L, -3, "info");
            lua_setfield(L, -2, "body");
        }
        lua_rawseti(L, -2, ++n);
    }
    lua_pushinteger(L, running);
    return 2;
}
