#include "client.h"

#include <lauxlib.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "buffer.h"
#include "compat.h"
#include "credential.h"
#include "entry.h"
#include "envelope.h"
#include "errors.h"
#include "response.h"

typedef struct sm_client {
    CURL *easy;                  /* NULL once closed */
    struct curl_slist *headers;  /* Accept + Authorization, built per client */
    char *auth;                  /* "Authorization: Bearer <token>", wiped */
    size_t auth_len, token_at;
    char *base_url;              /* scheme://host[:port][/prefix], no '/' end */
    size_t base_len;
    char *url;                   /* base_url + path of the current request */
    size_t url_cap;
    long connect_timeout_ms;
    sm_buffer body;
    sm_meta meta;
    char errbuf[CURL_ERROR_SIZE];
} sm_client;

/* ---- libcurl callbacks: C memory only, never Lua (see pitfalls) ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    sm_client *c = ud;
    /* Any count other than n makes libcurl stop with CURLE_WRITE_ERROR. */
    return sm_buffer_append(&c->body, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    sm_client *c = ud;
    sm_meta_header(&c->meta, p, size * n, time(NULL));
    return size * n;
}

/* ---- lifetime ---- */

static void free_headers(sm_client *c)
{
    struct curl_slist *h;
    /* curl_slist_append copied the credential: wipe that copy too. */
    for (h = c->headers; h != NULL; h = h->next)
        memset(h->data, 0, strlen(h->data));
    curl_slist_free_all(c->headers);
    c->headers = NULL;
    sm_wipe_free(c->auth, c->auth_len);
    c->auth = NULL;
    c->auth_len = 0;
}

/* Releases everything; safe to call twice (close, then __gc). */
static void release(sm_client *c)
{
    if (c->easy != NULL) {
        curl_easy_cleanup(c->easy);
        c->easy = NULL;
    }
    free_headers(c);
    free(c->base_url);
    c->base_url = NULL;
    free(c->url);
    c->url = NULL;
    sm_buffer_free(&c->body);
}

static int client_close(lua_State *L)
{
    release(luaL_checkudata(L, 1, SM_CLIENT_MT));
    return 0;
}

static sm_client *check_open(lua_State *L)
{
    sm_client *c = luaL_checkudata(L, 1, SM_CLIENT_MT);
    if (c->easy == NULL)
        sm_argument_error(L, "the client is closed");
    return c;
}

static int client_tostring(lua_State *L)
{
    sm_client *c = luaL_checkudata(L, 1, SM_CLIENT_MT);
    if (c->easy == NULL)
        lua_pushfstring(L, "supermetrics client (closed): %p", (void *)c);
    else
        lua_pushfstring(L, "supermetrics client (%s): %p", c->base_url,
                        (void *)c);
    return 1;
}

/* ---- credential ---- */

/* Makes s the credential of every following request. Returns NULL or a
 * message (without the credential) on failure; the old one stays then. */
static const char *set_credential(sm_client *c, const char *s, size_t n)
{
    struct curl_slist *list, *grown;
    char *auth;
    size_t auth_len, token_at;
    const char *why = sm_credential_header(s, n, &auth, &auth_len, &token_at);
    if (why != NULL)
        return why;
    if (c->auth != NULL && auth_len == c->auth_len &&
        memcmp(auth, c->auth, auth_len) == 0) {
        sm_wipe_free(auth, auth_len);
        return NULL; /* same token as last time: keep the list */
    }
    list = curl_slist_append(NULL, "Accept: application/json");
    grown = list ? curl_slist_append(list, auth) : NULL;
    if (grown == NULL || curl_easy_setopt(c->easy, CURLOPT_HTTPHEADER,
                                          grown) != CURLE_OK) {
        curl_slist_free_all(grown ? grown : list);
        sm_wipe_free(auth, auth_len);
        return "could not be stored: out of memory";
    }
    free_headers(c);
    c->headers = grown;
    c->auth = auth;
    c->auth_len = auth_len;
    c->token_at = token_at;
    return NULL;
}

/* ---- base URL ---- */

static int is_loopback(const char *host)
{
    size_t i;
    if (strcmp(host, "[::1]") == 0)
        return 1;
    if (strlen(host) == 9) {
        static const char localhost[] = "localhost";
        for (i = 0; i < 9 && (host[i] | 0x20) == localhost[i]; i++) {
        }
        if (i == 9)
            return 1;
    }
    /* libcurl normalises IPv4 forms such as 127.1 to dotted quads. */
    if (strncmp(host, "127.", 4) != 0)
        return 0;
    for (i = 4; host[i] != '\0'; i++)
        if (!(host[i] == '.' || (host[i] >= '0' && host[i] <= '9')))
            return 0;
    return 1;
}

/* Checks base_url and stores its normalised form in c. Returns NULL or what
 * is wrong. Owns no resource when it returns. */
static const char *set_base_url(sm_client *c, const char *s, int *is_http)
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

/* Every setting that does not change between requests. */
static CURLcode configure(sm_client *c, int is_http, const char *ca_file,
                          const char *user_agent)
{
    CURL *e = c->easy;
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
    SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)c->body.limit);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, c);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, c);
    SET(CURLOPT_ERRORBUFFER, c->errbuf);
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
    sm_client *c;

    luaL_checktype(L, 1, LUA_TTABLE);
    base_url = opt_string(L, 1, "base_url");
    credential = opt_string(L, 1, "credential");
    name = opt_string(L, 1, "credential_name");
    ca_file = opt_string(L, 1, "ca_file");
    user_agent = opt_string(L, 1, "user_agent");
    connect_timeout = opt_number(L, 1, "connect_timeout", 0.001, 1e6);
    max_bytes = opt_number(L, 1, "max_response_bytes", 1, 1e15);
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
    sm_buffer_init(&c->body, (size_t)max_bytes);
    sm_setmetatable(L, SM_CLIENT_MT);
    c->connect_timeout_ms = (long)ceil(connect_timeout * 1000);

    why = set_base_url(c, base_url, &is_http);
    if (why != NULL)
        sm_argument_error(L, "base_url %s", why);
    c->easy = curl_easy_init();
    if (c->easy == NULL)
        return luaL_error(L, "supermetrics: curl_easy_init failed");
    if (configure(c, is_http, ca_file, user_agent) != CURLE_OK)
        return luaL_error(L, "supermetrics: could not configure libcurl");
    if (credential != NULL) {
        why = set_credential(c, credential, cred_len);
        if (why != NULL)
            sm_argument_error(L, "%s %s", name ? name : "credential", why);
    }
    return 1;
}

/* ---- one request ---- */

/* Points c->url at base_url .. path. */
static int build_url(sm_client *c, const char *path, size_t n)
{
    size_t need = c->base_len + n + 1;
    if (need > c->url_cap) {
        char *grown = realloc(c->url, need);
        if (grown == NULL)
            return -1;
        c->url = grown;
        c->url_cap = need;
    }
    memcpy(c->url, c->base_url, c->base_len);
    memcpy(c->url + c->base_len, path, n);
    c->url[need - 1] = '\0';
    return 0;
}

static const char *secret_of(const sm_client *c)
{
    return c->auth ? c->auth + c->token_at : NULL;
}

/* Pushes the error for a transfer that libcurl reported as failed. */
static void push_transfer_error(lua_State *L, sm_client *c, CURLcode rc,
                                long status)
{
    sm_reply r;
    const char *code = sm_code_for_curl(rc, c->body.over_limit);
    if (strcmp(code, "RESPONSE_TOO_LARGE") == 0)
        lua_pushfstring(L, "the response body is larger than "
                           "max_response_bytes (%f bytes)",
                        (lua_Number)c->body.limit);
    else
        lua_pushstring(L, c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc));
    sm_push_error(L, code, lua_tostring(L, -1));
    lua_remove(L, -2);
    r.status = status;
    r.meta = &c->meta;
    r.secret = secret_of(c);
    sm_set_reply_fields(L, &r);
}

/* Pushes the decoded 2xx body, or an INVALID_RESPONSE error. Returns the
 * number of values pushed for perform to return (1 or 2). */
static int push_success(lua_State *L, sm_client *c, long status)
{
    const char *p = c->body.data, *end = p + c->body.len;
    sm_reply r;
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    /* cjson decodes arrays to tables too: an object must start with '{'. */
    if (p < end && *p == '{') {
        lua_pushvalue(L, lua_upvalueindex(1));
        lua_pushlstring(L, c->body.data, c->body.len);
        lua_call(L, 1, 1);
        if (lua_type(L, -1) == LUA_TTABLE)
            return 1;
        lua_pop(L, 1);
    }
    lua_pushnil(L);
    sm_push_error(L, "INVALID_RESPONSE",
                  c->body.len == 0 ? "the response body is empty"
                                   : "the response body is not a JSON object");
    r.status = status;
    r.meta = &c->meta;
    r.secret = secret_of(c);
    sm_set_reply_fields(L, &r);
    return 2;
}

/* Pushes { status =, request_id =, rate_limit =, rate_limit_remaining = }
 * for a successful attempt: what an on_response hook is told. */
static void push_info(lua_State *L, sm_client *c, long status)
{
    sm_reply r;
    lua_createtable(L, 0, 4);
    r.status = status;
    r.meta = &c->meta;
    r.secret = NULL;
    sm_set_reply_fields(L, &r);
}

/* Pushes what a finished transfer gave: the body table (returns 1), or nil
 * and an error value (returns 2). */
static int push_result(lua_State *L, sm_client *c, CURLcode rc, long *status_out)
{
    sm_reply r;
    long status = 0;
    if (curl_easy_getinfo(c->easy, CURLINFO_RESPONSE_CODE, &status) !=
        CURLE_OK)
        status = 0;
    *status_out = status;
    if (rc != CURLE_OK) {
        lua_pushnil(L);
        push_transfer_error(L, c, rc, status);
        return 2;
    }
    if (status >= 200 && status <= 299)
        return push_success(L, c, status);
    r.status = status;
    r.meta = &c->meta;
    r.secret = secret_of(c);
    lua_pushnil(L);
    sm_push_status_error(L, &r, c->body.data, c->body.len,
                         lua_upvalueindex(1));
    return 2;
}

/* handle:perform(path, seconds_left [, credential [, want_info]])
 *   -> body_table [, info] | nil, error
 * One HTTP attempt: GET base_url .. path with the time that is left of the
 * call's deadline. With want_info, a success also returns the response's
 * status, request id and rate limits (see push_info). Raises only for a
 * closed client or out of memory. */
static int client_perform(lua_State *L)
{
    sm_client *c = check_open(L);
    size_t path_len, cred_len;
    const char *path = luaL_checklstring(L, 2, &path_len);
    lua_Number left = luaL_checknumber(L, 3);
    const char *credential = luaL_optlstring(L, 4, NULL, &cred_len);
    long timeout_ms, status;
    CURLcode rc;

    if (credential != NULL) {
        const char *why = set_credential(c, credential, cred_len);
        if (why != NULL) {
            lua_pushnil(L);
            lua_pushfstring(L, "the token_provider's credential %s", why);
            sm_push_error(L, "INVALID_ARGUMENT", lua_tostring(L, -1));
            lua_remove(L, -2);
            return 2;
        }
    }
    if (c->auth == NULL)
        sm_argument_error(L, "the client has no credential");
    if (!(left > 0)) {
        lua_pushnil(L);
        sm_push_error(L, "TIMEOUT", "the call's deadline passed before this "
                                    "attempt could start");
        return 2;
    }
    timeout_ms = left >= 1e9 ? 1000000000L : (long)ceil(left * 1000);
    if (build_url(c, path, path_len) != 0)
        return luaL_error(L, "not enough memory");
    sm_buffer_reset(&c->body);
    sm_meta_reset(&c->meta);
    c->errbuf[0] = '\0';
    if (curl_easy_setopt(c->easy, CURLOPT_URL, c->url) != CURLE_OK ||
        curl_easy_setopt(c->easy, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK ||
        curl_easy_setopt(c->easy, CURLOPT_CONNECTTIMEOUT_MS,
                         c->connect_timeout_ms < timeout_ms
                             ? c->connect_timeout_ms
                             : timeout_ms) != CURLE_OK)
        return luaL_error(L, "supermetrics: could not configure libcurl");

    rc = curl_easy_perform(c->easy);

    /* libcurl is off the stack: now Lua may be touched, and may raise. */
    if (c->body.out_of_memory)
        return luaL_error(L, "not enough memory");
    if (push_result(L, c, rc, &status) == 1) {
        if (!lua_toboolean(L, 5))
            return 1;
        push_info(L, c, status);
        return 2;
    }
    /* A request went out: this error counts as one attempt. */
    sm_pushint64(L, 1);
    lua_setfield(L, -2, "attempts");
    return 2;
}

void sm_client_open(lua_State *L, int decode_idx)
{
    static const luaL_Reg methods[] = {
        {"perform", client_perform},
        {"close", client_close},
        {NULL, NULL},
    };
    static const luaL_Reg metamethods[] = {
        {"__gc", client_close},
        {"__close", client_close},
        {"__tostring", client_tostring},
        {NULL, NULL},
    };
    luaL_newmetatable(L, SM_CLIENT_MT);
    sm_setfuncs(L, metamethods, 0);
    lua_newtable(L);
    lua_pushvalue(L, decode_idx);
    sm_setfuncs(L, methods, 1);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
