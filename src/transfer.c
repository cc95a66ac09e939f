/*
 * transfer.c: one exchange on a libcurl easy handle and its Lua result
 * (transfer.h).
 */
#include "transfer.h"

#include <ctype.h>
#include <lauxlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compat.h"
#include "entry.h"
#include "envelope.h"
#include "errors.h"

/* ---- libcurl callbacks: C memory only, never Lua: an error raised through
 * libcurl leaves its handle broken and leaks its memory ---- */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    sm_transfer *t = ud;
    /* Any count other than n makes libcurl stop with CURLE_WRITE_ERROR. */
    return sm_buffer_append(&t->body, p, size * n) == 0 ? size * n : 0;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    sm_transfer *t = ud;
    size_t len = size * n;
    int first = len > 0 ? (unsigned char)p[0] : 0;
    /* Only the status line (HTTP/...), X-Request-Id and X-RateLimit-*,
     * Retry-After and the blank line matter: skip the others (Date, Server,
     * Content-*...) unparsed, and read the clock only for Retry-After.
     * This runs for every header line of every response. */
    if (first == '\r' || first == '\n' || (first | 0x20) == 'h' ||
        (first | 0x20) == 'x')
        sm_meta_header(&t->meta, p, len, 0);
    else if ((first | 0x20) == 'r')
        sm_meta_header(&t->meta, p, len, time(NULL));
    return len;
}

CURLcode sm_transfer_init(sm_transfer *t, CURL *easy, size_t limit)
{
    CURLcode rc;
    memset(t, 0, sizeof *t);
    t->easy = easy;
    t->timeout_ms = t->connect_timeout_ms = -1;
    sm_buffer_init(&t->body, limit);
    sm_meta_reset(&t->meta);
    if ((rc = curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body)) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_WRITEDATA, t)) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, on_header)) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_HEADERDATA, t)) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, t->errbuf)) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_PRIVATE, t)) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_MAXFILESIZE_LARGE,
                               (curl_off_t)limit)) != CURLE_OK)
        return rc;
    return CURLE_OK;
}

int sm_transfer_resend_due(sm_transfer *t, CURLcode rc)
{
    long header_bytes = 0;
    CURL *fresh;
    if (rc != CURLE_SEND_ERROR || t->fresh ||
        curl_easy_getinfo(t->easy, CURLINFO_HEADER_SIZE, &header_bytes) !=
            CURLE_OK ||
        header_bytes != 0)
        return 0;
    /* A copy of the handle (same options and callback data) starts with a
     * zero count of libcurl's own resends (see above). */
    fresh = curl_easy_duphandle(t->easy);
    if (fresh == NULL ||
        curl_easy_setopt(fresh, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK) {
        if (fresh != NULL)
            curl_easy_cleanup(fresh);
        return 0;
    }
    curl_easy_cleanup(t->easy);
    t->easy = fresh;
    t->fresh = 1;
    sm_buffer_reset(&t->body);
    sm_meta_reset(&t->meta);
    t->errbuf[0] = '\0';
    return 1;
}

CURLcode sm_transfer_perform(sm_transfer *t)
{
    CURLcode rc = curl_easy_perform(t->easy);
    if (sm_transfer_resend_due(t, rc))
        rc = curl_easy_perform(t->easy);
    return rc;
}

int sm_transfer_prepare(sm_transfer *t, const char *base, size_t base_len,
                        const char *path, size_t path_len, long timeout_ms,
                        long connect_timeout_ms)
{
    size_t need = base_len + path_len + 1;
    if (need > t->url_cap) {
        char *grown = realloc(t->url, need);
        if (grown == NULL)
            return -1;
        t->url = grown;
        t->url_cap = need;
    }
    memcpy(t->url, base, base_len);
    memcpy(t->url + base_len, path, path_len);
    t->url[need - 1] = '\0';
    sm_buffer_reset(&t->body);
    sm_meta_reset(&t->meta);
    t->errbuf[0] = '\0';
    if (connect_timeout_ms > timeout_ms)
        connect_timeout_ms = timeout_ms;
    if (curl_easy_setopt(t->easy, CURLOPT_URL, t->url) != CURLE_OK)
        return -1;
    if (t->fresh) {
        if (curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, 0L) != CURLE_OK)
            return -1;
        t->fresh = 0;
    }
    /* Calls with the same timeout (most of them) skip two setopts. */
    if (timeout_ms != t->timeout_ms) {
        if (curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK)
            return -1;
        t->timeout_ms = timeout_ms;
    }
    if (connect_timeout_ms != t->connect_timeout_ms) {
        if (curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS,
                             connect_timeout_ms) != CURLE_OK)
            return -1;
        t->connect_timeout_ms = connect_timeout_ms;
    }
    return 0;
}

int sm_transfer_refresh(sm_transfer *t, long timeout_ms)
{
    if (curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK ||
        curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK)
        return -1;
    t->timeout_ms = timeout_ms;
    if (t->connect_timeout_ms > timeout_ms) {
        if (curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) !=
            CURLE_OK)
            return -1;
        t->connect_timeout_ms = timeout_ms;
    }
    t->fresh = 1; /* the next prepare turns FRESH_CONNECT off again */
    sm_buffer_reset(&t->body);
    sm_meta_reset(&t->meta);
    t->errbuf[0] = '\0';
    return 0;
}

int sm_transfer_headers(sm_transfer *t, const sm_credential *cred,
                        const char *block, size_t len, int force)
{
    size_t i, start, lines = 0;
    if (len == 0) {
        if (!t->extra_on && !force)
            return 0;
        t->extra_on = 0;
        return curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, cred->headers) ==
                       CURLE_OK
                   ? 0
                   : -1;
    }
    /* Whole lines only: a CR, LF or NUL anywhere else refuses the block. */
    for (i = 0, start = 0; i < len; i++) {
        unsigned char ch = (unsigned char)block[i];
        if (ch == '\r' && i + 1 < len && block[i + 1] == '\n' && i > start) {
            lines++;
            i++;
            start = i + 1;
        } else if (ch == '\r' || ch == '\n' || ch == '\0') {
            return -1;
        }
    }
    if (start != len)
        return -1;
    if (len > t->extra_cap) {
        char *grown = malloc(len);
        if (grown == NULL)
            return -1;
        sm_wipe_free(t->extra, t->extra_cap);
        t->extra = grown;
        t->extra_cap = len;
    }
    if (lines > t->nodes_cap) {
        struct curl_slist *grown =
            realloc(t->nodes, lines * sizeof *t->nodes);
        if (grown == NULL)
            return -1;
        t->nodes = grown;
        t->nodes_cap = lines;
    }
    memcpy(t->extra, block, len);
    for (i = 0, start = 0, lines = 0; i < len; i++) {
        if (t->extra[i] == '\r') {
            t->extra[i] = '\0';
            t->nodes[lines].data = t->extra + start;
            t->nodes[lines].next = &t->nodes[lines + 1];
            lines++;
            i++;
            start = i + 1;
        }
    }
    t->nodes[lines - 1].next = cred->headers;
    t->extra_on = 1;
    return curl_easy_setopt(t->easy, CURLOPT_HTTPHEADER, t->nodes) == CURLE_OK
               ? 0
               : -1;
}

void sm_transfer_free(sm_transfer *t)
{
    sm_wipe_free(t->extra, t->extra_cap);
    t->extra = NULL;
    t->extra_cap = 0;
    free(t->nodes);
    t->nodes = NULL;
    t->nodes_cap = 0;
    t->extra_on = 0;
    free(t->url);
    t->url = NULL;
    t->url_cap = 0;
    sm_buffer_free(&t->body);
}

/* ---- results ---- */

/* The reply's fields (status, request id, rate limits...) on the table on
 * top of the stack. */
static void set_reply_fields(lua_State *L, sm_transfer *t, long status,
                             const char *credential)
{
    sm_reply r;
    r.status = status;
    r.meta = &t->meta;
    r.credential = credential;
    sm_set_reply_fields(L, &r);
}

/* Writes "host:port" of url (scheme://host[:port]/...) into out; 0 when
 * it cannot. */
static int authority(const char *url, char *out, size_t size)
{
    const char *p = url ? strstr(url, "://") : NULL, *end, *bracket;
    size_t n;
    int https;
    if (p == NULL)
        return 0;
    https = p - url == 5;
    p += 3;
    end = p + strcspn(p, "/?#");
    n = (size_t)(end - p);
    bracket = memchr(p, ']', n);
    if (n + 7 > size)
        return 0;
    memcpy(out, p, n);
    out[n] = '\0';
    /* No port after the host (or after an IPv6 literal's "]"): the
     * scheme's. */
    if (memchr(bracket ? bracket : p, ':', (size_t)(end - (bracket ? bracket : p))) == NULL)
        strcpy(out + n, https ? ":443" : ":80");
    return 1;
}

/* The failures a user meets first, in the words the cosocket transport
 * uses for them too (transport/cosocket.lua), rather than libcurl's;
 * pushes and returns the message, or returns NULL. */
static const char *common_words(lua_State *L, sm_transfer *t, CURLcode rc)
{
    char where[300], reason[128];
    long os_errno = 0;
    if (t->easy == NULL || !authority(t->url, where, sizeof where))
        return NULL;
    if (rc == CURLE_COULDNT_CONNECT &&
        curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK &&
        os_errno != 0 && strerror_r((int)os_errno, reason, sizeof reason) == 0) {
        reason[0] = (char)tolower((unsigned char)reason[0]);
        return lua_pushfstring(L, "could not connect to %s: %s", where, reason);
    }
    if (rc == CURLE_SSL_CONNECT_ERROR && strstr(t->errbuf, "wrong version number"))
        return lua_pushfstring(L, "TLS handshake with %s failed: %s", where,
                               SM_NO_TLS_WORDS);
    return NULL;
}

/* A failure of libcurl's that was the proxy's (through proxy p): errbuf
 * says so, naming the proxy by host:port only; returns the code to use,
 * or NULL when the failure was not the proxy's. */
static const char *proxy_failure(sm_transfer *t, CURLcode rc,
                                 const sm_proxy *p)
{
    long connect_code = 0;
    char why[CURL_ERROR_SIZE];
    if (p == NULL || t->easy == NULL)
        return NULL;
    if (rc == CURLE_COULDNT_RESOLVE_PROXY) {
        snprintf(t->errbuf, CURL_ERROR_SIZE,
                 "could not resolve the proxy %s", p->display);
        return "CONNECTION_ERROR";
    }
    if (rc == CURLE_COULDNT_CONNECT) {
        /* Through a proxy, libcurl only ever connects to the proxy. */
        memcpy(why, t->errbuf, sizeof why);
        why[sizeof why - 1] = '\0';
        snprintf(t->errbuf, CURL_ERROR_SIZE,
                 "could not connect to the proxy %s: %s", p->display,
                 why[0] ? why : curl_easy_strerror(rc));
        return "CONNECTION_ERROR";
    }
    if (curl_easy_getinfo(t->easy, CURLINFO_HTTP_CONNECTCODE,
                          &connect_code) != CURLE_OK ||
        connect_code == 0 || (connect_code >= 200 && connect_code <= 299))
        return NULL;
    sm_proxy_refusal(t->errbuf, CURL_ERROR_SIZE, p, connect_code);
    return "CONNECTION_ERROR";
}

/* Pushes the error for a transfer that libcurl reported as failed. */
static void push_transfer_error(lua_State *L, sm_transfer *t, CURLcode rc,
                                long status, const char *credential,
                                const sm_proxy *proxy)
{
    const char *code = proxy_failure(t, rc, proxy);
    int proxy_said = code != NULL; /* errbuf has the proxy's words */
    if (proxy_said)
        status = 0; /* the proxy's status, not the API's */
    else
        code = sm_code_for_curl(rc, t->body.over_limit);
    if (strcmp(code, "RESPONSE_TOO_LARGE") == 0)
        lua_pushfstring(L, "the response body is larger than "
                           "max_response_bytes (%f bytes)",
                        (lua_Number)t->body.limit);
    else if (proxy_said || common_words(L, t, rc) == NULL)
        lua_pushstring(L, t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc));
    sm_push_error(L, code, lua_tostring(L, -1));
    lua_remove(L, -2);
    set_reply_fields(L, t, status, credential);
}

/* Pushes the 2xx body decoded and shaped as w says and returns 1, or nil
 * and INVALID_RESPONSE and returns 2. */
static int push_success(lua_State *L, sm_transfer *t, long status,
                        sm_want *w)
{
    /* An empty body may have no buffer at all: NULL + 0 is undefined. */
    const char *p = t->body.data, *end = p ? p + t->body.len : p, *why;
    int base = lua_gettop(L);
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    why = t->body.len == 0 ? "the response body is empty"
                           : "the response body is not a JSON object";
    /* cjson decodes arrays to tables too: an object must start with '{'. */
    if (p < end && *p == '{') {
        lua_pushvalue(L, w->decode_idx);
        lua_pushlstring(L, t->body.data, t->body.len);
        lua_call(L, 1, 1);
        if (lua_type(L, -1) == LUA_TTABLE) {
            int nulls = sm_buffer_may_have_nulls(&t->body);
            why = w->shape == SM_SHAPE_PAGE ||
                          (w->shape == SM_SHAPE_ENTRY && w->expect.id != NULL)
                      ? sm_check_answer(L, -1, &w->expect, w->credential)
                      : NULL;
            if (why != NULL) {
                w->out_of_step = 1;
                if (w->resent)
                    why = lua_pushfstring(L, "%s, on a fresh connection too",
                                          why);
                goto fail;
            }
            if (w->shape == SM_SHAPE_ENTRY)
                sm_shape_entry(L, -1, nulls);
            why = w->shape == SM_SHAPE_PAGE ? sm_shape_page(L, nulls) : NULL;
            if (why == NULL)
                return 1;
        }
    }
    /* The error copies why before what is above base (the body, and maybe
     * why itself) goes. */
fail:
    sm_push_error(L, "INVALID_RESPONSE", why);
    set_reply_fields(L, t, status, w->credential);
    lua_insert(L, base + 1);
    lua_settop(L, base + 1);
    lua_pushnil(L);
    lua_insert(L, base + 1);
    return 2;
}

int sm_transfer_push_result(lua_State *L, sm_transfer *t, CURLcode rc,
                            sm_want *w)
{
    long status = 0;
    if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status) !=
        CURLE_OK)
        status = 0;
    return sm_transfer_push_outcome(L, t, rc, status, w);
}

int sm_transfer_push_outcome(lua_State *L, sm_transfer *t, CURLcode rc,
                             long status, sm_want *w)
{
    int n;
    w->out_of_step = 0;
    /* libcurl 7.88 takes a response cut inside its headers as complete (a
     * 200 with no body): without the blank line it is a broken transfer. */
    if (rc == CURLE_OK && !t->meta.headers_done) {
        static const char cut[] =
            "the connection closed before the response headers ended";
        rc = CURLE_RECV_ERROR;
        memcpy(t->errbuf, cut, sizeof cut); /* CURL_ERROR_SIZE is 256 */
    }
    if (rc != CURLE_OK) {
        lua_pushnil(L);
        push_transfer_error(L, t, rc, status, w->credential, w->proxy);
        n = 2;
    } else if (status >= 200 && status <= 299) {
        n = push_success(L, t, status, w);
        if (n == 1) {
            if (!w->info)
                return 1;
            /* What an on_response hook is told about a success. */
            lua_createtable(L, 0, 5);
            set_reply_fields(L, t, status, NULL);
            n = 2;
        }
    } else {
        sm_reply r;
        r.status = status;
        r.meta = &t->meta;
        r.credential = w->credential;
        lua_pushnil(L);
        sm_push_status_error(L, &r, t->body.data, t->body.len, w->decode_idx);
        n = 2;
    }
    /* This attempt went out: the error or the info counts it. */
    sm_pushint64(L, w->made + 1);
    lua_setfield(L, -2, "attempts");
    return n;
}
