#include "client.h"

#include <arpa/inet.h>
#include <lauxlib.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bounds.h"
#include "compat.h"
#include "credential.h"
#include "entry.h"
#include "errors.h"
#include "path.h"

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
    sm_batch_release(c);
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
    sm_batch_release(c);
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
    free(c->base_url);
    c->base_url = NULL;
    free(c->host);
    c->host = NULL;
    free(c->prefix);
    c->prefix = NULL;
    free(c->head_fields);
    c->head_fields = NULL;
    sm_sockets_free(&c->sockets);
    sm_transfer_free(&c->main);
}

static int client_close(lua_State *L)
{
    release(luaL_checkudata(L, 1, SM_CLIENT_MT));
    return 0;
}

sm_client *sm_check_open_client(lua_State *L, int idx)
{
    sm_client *c = luaL_checkudata(L, idx, SM_CLIENT_MT);
    if (c->main.easy != NULL && sm_sockets_forked(&c->sockets))
        restart_after_fork(c);
    if (c->main.easy == NULL)
        sm_argument_error(L, "the client is closed");
    return c;
}

static int client_tostring(lua_State *L)
{
    sm_client *c = luaL_checkudata(L, 1, SM_CLIENT_MT);
    if (c->main.easy == NULL)
        lua_pushfstring(L, "supermetrics client (closed): %p", (void *)c);
    else
        lua_pushfstring(L, "supermetrics client (%s): %p", c->base_url,
                        (void *)c);
    return 1;
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

/* ---- base URL ---- */

static int is_loopback(const char *host)
{
    unsigned char a[4];
    if (strcmp(host, "[::1]") == 0)
        return 1;
    if (strlen(host) == 9) {
        static const char localhost[] = "localhost";
        size_t i;
        for (i = 0; i < 9 && (host[i] | 0x20) == localhost[i]; i++) {
        }
        if (i == 9)
            return 1;
    }
    /* libcurl normalises IPv4 forms such as 127.1 to dotted quads; what is
     * still not a dotted quad (127.999.0.1, 127.0.0.1.5) is a host name that
     * DNS resolves, maybe far from loopback. */
    return inet_pton(AF_INET, host, a) == 1 && a[0] == 127;
}

static char *copy(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p != NULL) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

/* What a request written by hand needs of the URL: host and port to
 * connect to, the path prefix, and the header lines that never change
 * (exchange.c adds the request line before and the credential after). */
static const char *set_parts(sm_client *c, CURLU *u, const char *host,
                             const char *user_agent)
{
    static const char fmt[] = "Host: %s%s%s\r\nUser-Agent: %s\r\n"
                              "Accept: application/json\r\n";
    char *port = NULL, *path = NULL;
    const char *why = NULL;
    int explicit_port = curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK;
    if (!explicit_port &&
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) != CURLUE_OK)
        why = "has no port";
    else if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK)
        why = "has no path";
    if (why == NULL) {
        size_t n = strlen(path);
        c->port = strtol(port, NULL, 10);
        while (n > 0 && path[n - 1] == '/')
            n--;
        c->prefix = copy(path, n);
        c->prefix_len = n;
        c->host = copy(host, strlen(host));
        n = sizeof fmt + strlen(host) + strlen(port) + strlen(user_agent);
        c->head_fields = malloc(n);
        if (c->prefix == NULL || c->host == NULL || c->head_fields == NULL)
            why = "could not be stored: out of memory";
        else
            c->head_fields_len = (size_t)snprintf(
                c->head_fields, n, fmt, host, explicit_port ? ":" : "",
                explicit_port ? port : "", user_agent);
    }
    curl_free(path);
    curl_free(port);
    return why;
}

/* Checks base_url and stores its normalised form in c. Returns NULL or what
 * is wrong. Owns no resource when it returns but those in c. */
static const char *set_base_url(sm_client *c, const char *s,
                                const char *user_agent, int *is_http)
{
    const char *why = NULL;
    char *scheme = NULL, *host = NULL, *full = NULL, *part = NULL;
    CURLU *u = curl_url();
    if (u == NULL)
        return "could not be parsed: out of memory";
    if (curl_url_set(u, CURLUPART_URL, s, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &full, 0) != CURLUE_OK) {
        why = "is not an absolute http(s) URL";
    } else if (curl_url_get(u, CURLUPART_USER, &part, 0) == CURLUE_OK) {
        why = "must not contain user information";
    } else if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
               curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK) {
        why = "must not contain a query or a fragment";
    } else if (strcmp(scheme, "https") != 0 &&
               !(strcmp(scheme, "http") == 0 && is_loopback(host))) {
        why = "must use https:// (http:// only for localhost, 127.0.0.0/8 "
              "and [::1])";
    } else {
        size_t n = strlen(full);
        while (n > 0 && full[n - 1] == '/')
            n--;
        c->base_url = malloc(n + 1);
        if (c->base_url == NULL) {
            why = "could not be stored: out of memory";
        } else {
            memcpy(c->base_url, full, n);
            c->base_url[n] = '\0';
            c->base_len = n;
            *is_http = strcmp(scheme, "http") == 0;
            c->is_https = !*is_http;
            why = set_parts(c, u, host, user_agent);
        }
    }
    curl_free(part);
    curl_free(full);
    curl_free(host);
    curl_free(scheme);
    curl_url_cleanup(u);
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
        sm_argument_error(L, "%s must be a string", k);
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
        sm_argument_error(L, "%s must be a number from %f to %f", k, min, max);
    lua_pop(L, 1);
    return v;
}

/* The connection pool the client's handles share once it runs a batch (see
 * sm_client_share). No lock callbacks: one client is used by one thread at
 * a time. */
static CURLSH *new_share(void)
{
    CURLSH *share = curl_share_init();
    if (share == NULL)
        return NULL;
    if (curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) !=
            CURLSHE_OK ||
        curl_share_setopt(share, CURLSHOPT_SHARE,
                          CURL_LOCK_DATA_SSL_SESSION) != CURLSHE_OK ||
        curl_share_setopt(share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) !=
            CURLSHE_OK) {
        curl_share_cleanup(share);
        return NULL;
    }
    return share;
}

/* Every setting that does not change between requests. Batch slots start
 * as copies of this handle (curl_easy_duphandle). */
static CURLcode configure(sm_client *c, int is_http, const char *ca_file,
                          const char *user_agent)
{
    CURL *e = c->main.easy;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) \
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, opt, val)
    SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    SET(CURLOPT_PROTOCOLS_STR, is_http ? "http" : "https");
#else
    SET(CURLOPT_PROTOCOLS, is_http ? CURLPROTO_HTTP : CURLPROTO_HTTPS);
#endif
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_SSL_VERIFYPEER, 1L);
    SET(CURLOPT_SSL_VERIFYHOST, 2L);
    SET(CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    if (ca_file != NULL)
        SET(CURLOPT_CAINFO, ca_file);
    /* http:// is only allowed to loopback: never send that through a proxy
     * from the environment. https:// goes through one as a CONNECT tunnel. */
    if (is_http)
        SET(CURLOPT_PROXY, "");
    SET(CURLOPT_USERAGENT, user_agent);
    SET(CURLOPT_HTTPGET, 1L);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
#undef SET
    return rc;
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
    int is_http = 0;
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

    why = set_base_url(c, base_url, user_agent, &is_http);
    if (why != NULL)
        sm_argument_error(L, "base_url %s", why);
    easy = curl_easy_init();
    if (easy == NULL) {
        /* c->main.easy stays NULL: __gc frees the URL parts and the
         * socket set stored so far. */
        return luaL_error(L, "supermetrics: curl_easy_init failed");
    }
    if (sm_transfer_init(&c->main, easy, (size_t)max_bytes) != CURLE_OK ||
        sm_sockets_attach(&c->sockets, easy) != CURLE_OK ||
        configure(c, is_http, ca_file, user_agent) != CURLE_OK)
        return luaL_error(L, "supermetrics: could not configure libcurl");
    if (credential != NULL) {
        why = sm_client_set_credential(c, credential, cred_len);
        if (why != NULL)
            sm_argument_error(L, "%s %s", name ? name : "credential", why);
    }
    return 1;
}

CURLSH *sm_client_share(sm_client *c)
{
    CURL *fresh;
    if (c->share != NULL)
        return c->share;
    c->share = new_share();
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

/* ---- one request ---- */

long sm_timeout_ms(lua_Number seconds)
{
    return seconds >= 1e9 ? 1000000000L : (long)ceil(seconds * 1000);
}

int sm_refuse_attempt(lua_State *L, const char *bad_credential, lua_Number left)
{
    if (bad_credential != NULL) {
        lua_pushnil(L);
        lua_pushfstring(L, "the token_provider's credential %s", bad_credential);
        sm_push_error(L, "INVALID_ARGUMENT", lua_tostring(L, -1));
        lua_remove(L, -2);
        return 2;
    }
    if (!(left > 0)) {
        lua_pushnil(L);
        sm_push_error(L, "TIMEOUT", "the call's deadline passed before this "
                                    "attempt could start");
        return 2;
    }
    return 0;
}

/* handle:perform(path, seconds_left [, credential [, want_info [, shape]]])
 *   -> body_table [, info] | nil, error
 * One HTTP attempt: GET base_url .. path with the time that is left of the
 * call's deadline. With want_info, a success also returns the response's
 * status, request id and rate limits; with shape, the body is shaped as a
 * LogEntry (sm_normalize_entry). Raises INVALID_ARGUMENT for a closed client,
 * one without a credential or a bad argument type, and a plain error when
 * the request cannot be prepared or memory runs out. */
static int client_perform(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    size_t path_len, cred_len;
    const char *path = luaL_checklstring(L, 2, &path_len);
    lua_Number left = luaL_checknumber(L, 3);
    const char *credential = luaL_optlstring(L, 4, NULL, &cred_len);
    int want_info = lua_toboolean(L, 5), shape = lua_toboolean(L, 6), refused, n;
    CURLcode rc;

    refused = sm_refuse_attempt(
        L, credential ? sm_client_set_credential(c, credential, cred_len) : NULL, left);
    if (refused)
        return refused;
    if (!sm_credential_isset(&c->credential))
        sm_argument_error(L, "the client has no credential");
    if (sm_transfer_prepare(&c->main, c->base_url, c->base_len, path, path_len,
                            sm_timeout_ms(left), c->connect_timeout_ms) != 0)
        return luaL_error(L, "supermetrics: could not prepare the request");

    rc = sm_transfer_perform(&c->main);

    /* libcurl is off the stack: now Lua may be touched, and may raise. */
    if (c->main.body.out_of_memory)
        return luaL_error(L, "not enough memory");
    lua_settop(L, 1);
    n = sm_transfer_push_result(L, &c->main, rc, sm_credential_value(&c->credential),
                                lua_upvalueindex(1), want_info);
    if (shape && lua_type(L, 2) == LUA_TTABLE)
        sm_normalize_entry_hint(L, 2, sm_buffer_may_have_nulls(&c->main.body));
    return n;
}

/* handle:get_log(team_id, connector_identifier, log_id, seconds)
 *   -> entry | nil, error, path
 * The common call in one step: checks the ids (raising INVALID_ARGUMENT
 * before any traffic), writes the path straight into the URL, makes one
 * attempt with the client's own credential, and shapes the entry. After a
 * failure the Lua layer's retry loop takes over with the path. */
static int client_get_log(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    char path[SM_LOG_PATH_MAX];
    size_t path_len = sm_log_path(L, 2, path);
    lua_Number left = luaL_checknumber(L, 5);
    int n;
    CURLcode rc;

    if (!sm_credential_isset(&c->credential))
        sm_argument_error(L, "the client has no credential");
    lua_settop(L, 1); /* the handle stays referenced; results go above */
    n = sm_refuse_attempt(L, NULL, left);
    if (n == 0) {
        if (sm_transfer_prepare(&c->main, c->base_url, c->base_len, path,
                                path_len, sm_timeout_ms(left),
                                c->connect_timeout_ms) != 0)
            return luaL_error(L, "supermetrics: could not prepare the request");

        rc = sm_transfer_perform(&c->main);
    
        /* libcurl is off the stack: now Lua may be touched, and may raise. */
        if (c->main.body.out_of_memory)
            return luaL_error(L, "not enough memory");
        n = sm_transfer_push_result(L, &c->main, rc, sm_credential_value(&c->credential),
                                    lua_upvalueindex(1), 0);
        if (n == 1) {
            sm_normalize_entry_hint(L, -1, sm_buffer_may_have_nulls(&c->main.body));
            return 1;
        }
    }
    lua_pushlstring(L, path, path_len);
    return 3;
}

void sm_client_open(lua_State *L, int decode_idx)
{
    static const luaL_Reg methods[] = {
        {"perform", client_perform},
        {"get_log", client_get_log},
        {"endpoint", sm_lua_endpoint},
        {"request", sm_lua_request},
        {"exchange", sm_lua_new_exchange},
        {"outcome", sm_lua_outcome},
        {"batch_open", sm_lua_batch_open},
        {"batch_add", sm_lua_batch_add},
        {"batch_poll", sm_lua_batch_poll},
        {"batch_reset", sm_lua_batch_reset},
        {"close", client_close},
        {NULL, NULL},
    };
    static const luaL_Reg metamethods[] = {
        {"__gc", client_close},
        {"__close", client_close},
        {"__tostring", client_tostring},
        {NULL, NULL},
    };
    sm_exchange_open(L);
    luaL_newmetatable(L, SM_CLIENT_MT);
    sm_setfuncs(L, metamethods, 0);
    lua_newtable(L);
    lua_pushvalue(L, decode_idx);
    sm_setfuncs(L, methods, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
