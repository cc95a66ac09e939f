/*
 * client.c: the handle's lifetime (new, close, garbage collection, fork),
 * its credential, its proxy and its connection pool. A lower layer: the
 * files of the methods (attempt.c, batch.c, cosocket.c, route.c) build on
 * it, and handle.c, above them all, lists every method (client.h).
 */
#include "client.h"

#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "compat.h"
#include "credential.h"
#include "errors.h"

/* ---- lifetime ---- */

/* After fork(): the handles' connections are the parent's too. Make this
 * process's copies of their sockets harmless, then drop the handles (their
 * connections close onto /dev/null) and start over with a fresh copy of the
 * single-call handle. Without /dev/null the old handles are abandoned, not
 * closed: a leak, but never a write into the parent's connections. */
static void restart_after_fork(sm_client *c)
{
    CURL *fresh = NULL;
    if (sm_sockets_disown(&c->sockets) != 0) {
        c->multi = NULL;
        c->slots = NULL;
        c->nslots = 0;
        c->release_batch = NULL;
        c->share = NULL;
        c->sockets.fds = NULL; /* still referenced by the abandoned handles */
        c->sockets.n = c->sockets.cap = 0;
        c->sockets.pid = getpid();
        if (c->main.easy != NULL)
            c->main.easy = curl_easy_duphandle(c->main.easy);
        if (c->main.easy != NULL)
            (void)curl_easy_setopt(c->main.easy, CURLOPT_SHARE, NULL);
        return;
    }
    if (c->release_batch != NULL)
        c->release_batch(c);
    if (c->main.easy != NULL) {
        fresh = curl_easy_duphandle(c->main.easy);
        if (fresh != NULL && curl_easy_setopt(fresh, CURLOPT_SHARE, NULL) != CURLE_OK) {
            curl_easy_cleanup(fresh);
            fresh = NULL;
        }
        curl_easy_cleanup(c->main.easy);
        c->main.easy = fresh; /* NULL (closed) if no copy could be made */
    }
    if (c->share != NULL) {
        curl_share_cleanup(c->share);
        c->share = NULL;
    }
}

/* Releases everything; safe to call twice (close, then __gc). */
static void release(sm_client *c)
{
    /* A forked child that never used the client still collects it. */
    if (sm_sockets_forked(&c->sockets))
        restart_after_fork(c);
    if (c->release_batch != NULL)
        c->release_batch(c);
    if (c->main.easy != NULL) {
        curl_easy_cleanup(c->main.easy);
        c->main.easy = NULL;
    }
    /* Last: the easy handles that used the pool are gone. */
    if (c->share != NULL) {
        curl_share_cleanup(c->share);
        c->share = NULL;
    }
    sm_credential_clear(&c->credential);
    sm_endpoint_free(&c->endpoint);
    sm_proxy_free(&c->proxy);
    sm_sockets_free(&c->sockets);
    sm_transfer_free(&c->main);
}

int sm_lua_client_close(lua_State *L)
{
    release(luaL_checkudata(L, 1, SM_CLIENT_MT));
    return 0;
}

sm_client *sm_check_open_client(lua_State *L, int idx)
{
    sm_client *c = sm_checkudata_at(L, idx, lua_upvalueindex(SM_UP_CLIENT_MT),
                                    SM_CLIENT_MT);
    if (c->main.easy != NULL && sm_sockets_forked(&c->sockets))
        restart_after_fork(c);
    if (c->main.easy == NULL)
        sm_argument_error(L, "the client is closed");
    return c;
}

int sm_lua_client_tostring(lua_State *L)
{
    sm_client *c = luaL_checkudata(L, 1, SM_CLIENT_MT);
    if (c->main.easy == NULL)
        lua_pushfstring(L, "supermetrics client (closed): %p", (void *)c);
    else
        lua_pushfstring(L, "supermetrics client (%s%s%s): %p",
                        c->endpoint.base_url,
                        c->proxy.display ? " via proxy " : "",
                        c->proxy.display ? c->proxy.display : "", (void *)c);
    return 1;
}

/* handle:proxy() -> host, port, display, auth | nil: the proxy of the
 * client's https:// requests (auth: the Proxy-Authorization value, when
 * the URL had credentials). */
int sm_lua_client_proxy(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    if (c->proxy.url == NULL)
        return 0;
    lua_pushstring(L, c->proxy.host);
    lua_pushinteger(L, (lua_Integer)c->proxy.port);
    lua_pushstring(L, c->proxy.display);
    if (c->proxy.auth != NULL)
        lua_pushlstring(L, c->proxy.auth, c->proxy.auth_len);
    else
        lua_pushnil(L);
    return 4;
}

/* ---- credential ---- */

const char *sm_client_set_credential(sm_client *c, const char *s, size_t n)
{
    int changed;
    const char *why = sm_credential_set(&c->credential, s, n, &changed);
    if (why == NULL && changed &&
        curl_easy_setopt(c->main.easy, CURLOPT_HTTPHEADER,
                         c->credential.headers) != CURLE_OK) {
        sm_credential_clear(&c->credential);
        return "could not be stored";
    }
    return why;
}

/* ---- options ---- */

static const char *opt_string(lua_State *L, int t, const char *k)
{
    const char *s;
    lua_getfield(L, t, k);
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return NULL;
    }
    if (lua_type(L, -1) != LUA_TSTRING)
        sm_invalid_argument(L, k, "%s must be a string", k);
    s = lua_tostring(L, -1);
    lua_pop(L, 1); /* still referenced by the options table */
    return s;
}

static lua_Number opt_number(lua_State *L, int t, const char *k,
                             lua_Number min, lua_Number max)
{
    lua_Number v;
    lua_getfield(L, t, k);
    v = lua_tonumber(L, -1);
    if (lua_type(L, -1) != LUA_TNUMBER || !(v >= min && v <= max))
        sm_invalid_argument(L, k, "%s must be a number from %f to %f", k, min,
                            max);
    lua_pop(L, 1);
    return v;
}

/* handle:set_proxy(url, source [, check_only]): the proxy of the client's
 * https:// requests, as the Lua layer picked it (proxy option or
 * environment, no_proxy applied; source names where it came from, for the
 * message). Raises INVALID_ARGUMENT for a bad URL, also with check_only
 * (a proxy option that is not used: http://, or no_proxy) or for an
 * http:// base_url, which never goes through a proxy. Only right after
 * new_client: handles copied from the single-call one keep the settings
 * they had. */
int sm_lua_client_set_proxy(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    const char *url = luaL_checkstring(L, 2);
    const char *source = luaL_optstring(L, 3, "proxy");
    int check_only = lua_toboolean(L, 4);
    const char *why;
    if (c->share != NULL || c->multi != NULL || c->proxy.url != NULL)
        return sm_raise(L, "set_proxy after the client's first use");
    why = sm_proxy_parse(&c->proxy, url);
    if (why != NULL)
        sm_invalid_argument(L, source, "%s %s", source, why);
    /* http:// (loopback only) never goes through a proxy. */
    if (check_only || !c->endpoint.is_https) {
        sm_proxy_free(&c->proxy);
        return 0;
    }
    if (sm_endpoint_proxy(&c->endpoint, c->main.easy, &c->proxy) != CURLE_OK) {
        sm_proxy_free(&c->proxy);
        return sm_raise(L, "could not configure libcurl for the proxy");
    }
    return 0;
}

/* new_client{ base_url =, credential =, credential_name =, connect_timeout =,
 *             max_response_bytes =, ca_file =, user_agent = }
 * The Lua layer has checked names and types; this checks what only C can
 * (the URL, the credential bytes) and builds the handle. */
int sm_lua_new_client(lua_State *L)
{
    const char *base_url, *credential, *name, *ca_file, *user_agent, *why;
    size_t cred_len = 0;
    lua_Number connect_timeout, max_bytes;
    CURL *easy;
    sm_client *c;

    luaL_checktype(L, 1, LUA_TTABLE);
    base_url = opt_string(L, 1, "base_url");
    credential = opt_string(L, 1, "credential");
    name = opt_string(L, 1, "credential_name");
    ca_file = opt_string(L, 1, "ca_file");
    user_agent = opt_string(L, 1, "user_agent");
    connect_timeout = opt_number(L, 1, "connect_timeout", SM_MIN_TIMEOUT,
                                 SM_MAX_TIMEOUT);
    max_bytes = opt_number(L, 1, "max_response_bytes", 1,
                           SM_MAX_RESPONSE_BYTES);
    if (base_url == NULL || user_agent == NULL)
        sm_argument_error(L, "base_url and user_agent are required");
    if (credential != NULL) {
        lua_getfield(L, 1, "credential");
        lua_tolstring(L, -1, &cred_len);
        lua_pop(L, 1);
    }

    /* From here every resource hangs off the userdata, whose __gc frees it,
     * so raising is safe. */
    c = sm_newuserdata(L, sizeof *c);
    memset(c, 0, sizeof *c);
    sm_sockets_init(&c->sockets);
    sm_setmetatable(L, SM_CLIENT_MT);
    c->connect_timeout_ms = (long)ceil(connect_timeout * 1000);

    why = sm_endpoint_parse(&c->endpoint, base_url, user_agent);
    if (why != NULL && base_url != NULL && strstr(base_url, "://") == NULL && strlen(base_url) < 200 &&
        base_url[strcspn(base_url, " \t\r\n")] == '\0')
        /* "api.supermetrics.com": most likely the scheme was left out. */
        sm_invalid_argument(L, "base_url",
                            "base_url %s: it has no scheme; did you mean "
                            "\"https://%s\"?",
                            why, base_url);
    if (why != NULL)
        sm_invalid_argument(L, "base_url", "base_url %s", why);
    easy = curl_easy_init();
    if (easy == NULL) {
        /* c->main.easy stays NULL: __gc frees the URL parts and the
         * socket set stored so far. */
        return sm_raise(L, "curl_easy_init failed");
    }
    if (sm_transfer_init(&c->main, easy, (size_t)max_bytes) != CURLE_OK ||
        sm_sockets_attach(&c->sockets, easy) != CURLE_OK ||
        sm_endpoint_configure(&c->endpoint, easy, ca_file,
                              user_agent) != CURLE_OK)
        return sm_raise(L, "could not configure libcurl");
    if (credential != NULL) {
        why = sm_client_set_credential(c, credential, cred_len);
        if (why != NULL)
            sm_invalid_argument(L, name ? name : "credential", "%s %s",
                                name ? name : "credential", why);
    }
    return 1;
}

CURLSH *sm_client_share(sm_client *c)
{
    CURL *fresh;
    if (c->share != NULL)
        return c->share;
    c->share = sm_endpoint_new_share();
    if (c->share == NULL)
        return NULL;
    /* Giving a share to a handle that holds connections in its own cache
     * would strand them (libcurl then leaks them): switch to a copy of the
     * handle (same options and callback data) that starts on the share, and
     * close the old one with its connection. */
    fresh = curl_easy_duphandle(c->main.easy);
    if (fresh == NULL ||
        curl_easy_setopt(fresh, CURLOPT_SHARE, c->share) != CURLE_OK) {
        if (fresh != NULL)
            curl_easy_cleanup(fresh);
        curl_share_cleanup(c->share);
        c->share = NULL;
        return NULL;
    }
    curl_easy_cleanup(c->main.easy);
    c->main.easy = fresh;
    return c->share;
}

void sm_decoder_of(lua_State *L, sm_json_decoder *d)
{
    d->decode_idx = lua_upvalueindex(SM_UP_DECODE);
    d->ints = (int)lua_tointeger(L, lua_upvalueindex(SM_UP_JSON_INTS));
    d->cap = 0;
    d->credential = NULL;
}
