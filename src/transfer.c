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
        sm_meta_header(&t->meta, p, len, SM_NOW_UNREAD);
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
    sm_buffer_reset(&t->body);
    sm_meta_reset(&t->meta);
    t->errbuf[0] = '\0';
    if (connect_timeout_ms > timeout_ms)
        connect_timeout_ms = timeout_ms;
    /* The same URL as the last request's (a client asking for one entry
     * again and again) is already easy's: libcurl keeps its own copy, and
     * so do copies of the handle. */
    if (t->url_len != need - 1 || memcmp(t->url, base, base_len) != 0 ||
        memcmp(t->url + base_len, path, path_len) != 0) {
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
        t->url_len = 0;
        if (curl_easy_setopt(t->easy, CURLOPT_URL, t->url) != CURLE_OK)
            return -1;
        t->url_len = need - 1;
    }
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

long sm_transfer_refresh(sm_transfer *t, long timeout_ms)
{
    double spent = 0;
    /* The finished transfer's time is the attempt's so far. */
    if (curl_easy_getinfo(t->easy, CURLINFO_TOTAL_TIME, &spent) != CURLE_OK)
        spent = 0;
    timeout_ms -= (long)(spent * 1000);
    if (timeout_ms <= 0 ||
        curl_easy_setopt(t->easy, CURLOPT_FRESH_CONNECT, 1L) != CURLE_OK ||
        curl_easy_setopt(t->easy, CURLOPT_TIMEOUT_MS, timeout_ms) != CURLE_OK)
        return 0;
    t->timeout_ms = timeout_ms;
    if (t->connect_timeout_ms > timeout_ms) {
        if (curl_easy_setopt(t->easy, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms) !=
            CURLE_OK)
            return 0;
        t->connect_timeout_ms = timeout_ms;
    }
    t->fresh = 1; /* the next prepare turns FRESH_CONNECT off again */
    sm_buffer_reset(&t->body);
    sm_meta_reset(&t->meta);
    t->errbuf[0] = '\0';
    return timeout_ms;
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
    t->url_len = 0;
    sm_buffer_free(&t->body);
}

/* ---- the outcome: libcurl's codes in the library's terms, here only ---- */

/* How rc failed; over_limit: the write callback refused a body over the
 * cap (libcurl then says only that a write failed). */
static sm_failure failure_of(CURLcode rc, int over_limit)
{
    if (over_limit)
        return SM_TOO_LARGE;
    switch (rc) {
    case CURLE_OK:
        return SM_NO_FAILURE;
    case CURLE_OPERATION_TIMEDOUT:
        return SM_TIMED_OUT;
    case CURLE_FILESIZE_EXCEEDED:
        return SM_TOO_LARGE;
    case CURLE_BAD_CONTENT_ENCODING:
        return SM_BAD_ENCODING;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return SM_TLS_FAILED;
    default:
        /* DNS, refused, reset, closed early, garbage instead of HTTP. */
        return SM_CONNECTION_FAILED;
    }
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
        memcpy(out + n, https ? ":443" : ":80", https ? 5 : 4);
    return 1;
}

/* The failures a user meets first, in the words the cosocket transport
 * uses for them too (transport/cosocket.lua), rather than libcurl's: into
 * out, returned; or NULL. */
static const char *common_words(sm_transfer *t, CURLcode rc, char *out,
                                size_t size)
{
    char where[300], reason[128];
    long os_errno = 0;
    if (!authority(t->url, where, sizeof where))
        return NULL;
    if (rc == CURLE_COULDNT_CONNECT &&
        curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK &&
        os_errno != 0 && strerror_r((int)os_errno, reason, sizeof reason) == 0) {
        reason[0] = (char)tolower((unsigned char)reason[0]);
        snprintf(out, size, "could not connect to %s: %s", where, reason);
        return out;
    }
    if (rc == CURLE_SSL_CONNECT_ERROR && strstr(t->errbuf, "wrong version number")) {
        snprintf(out, size, "TLS handshake with %s failed: %s", where,
                 SM_NO_TLS_WORDS);
        return out;
    }
    return NULL;
}

/* Whether libcurl's failure was the proxy's (through proxy p): errbuf then
 * says so, naming the proxy by host:port only. */
static int proxy_failure(sm_transfer *t, CURLcode rc, const sm_proxy *p)
{
    long connect_code = 0;
    if (p == NULL)
        return 0;
    if (rc == CURLE_COULDNT_RESOLVE_PROXY) {
        snprintf(t->errbuf, CURL_ERROR_SIZE,
                 "could not resolve the proxy %s", p->display);
        return 1;
    }
    if (rc == CURLE_COULDNT_CONNECT) {
        /* Through a proxy, libcurl only ever connects to the proxy. */
        char why[CURL_ERROR_SIZE];
        memcpy(why, t->errbuf, sizeof why);
        why[sizeof why - 1] = '\0';
        /* Cut short if long: it names the proxy first. */
        if (snprintf(t->errbuf, CURL_ERROR_SIZE,
                     "could not connect to the proxy %s: %s", p->display,
                     why[0] ? why : curl_easy_strerror(rc)) < 0)
            t->errbuf[0] = '\0';
        return 1;
    }
    if (rc == CURLE_ABORTED_BY_CALLBACK) {
        /* Refused before sending (sm_endpoint_proxy): libcurl had gone
         * around the proxy. */
        char *ip = NULL;
        long port = 0;
        if (curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_IP, &ip) == CURLE_OK &&
            curl_easy_getinfo(t->easy, CURLINFO_PRIMARY_PORT, &port) ==
                CURLE_OK &&
            !sm_proxy_is_peer(p, ip, port)) {
            snprintf(t->errbuf, CURL_ERROR_SIZE,
                     "libcurl connected to %s port %ld instead of the proxy "
                     "%s: the request was not sent",
                     ip ? ip : "?", port, p->display);
            return 1;
        }
    }
    if (curl_easy_getinfo(t->easy, CURLINFO_HTTP_CONNECTCODE,
                          &connect_code) != CURLE_OK ||
        connect_code == 0 || (connect_code >= 200 && connect_code <= 299))
        return 0;
    sm_proxy_refusal(t->errbuf, CURL_ERROR_SIZE, p, connect_code);
    return 1;
}

int sm_transfer_push_result(lua_State *L, sm_transfer *t, CURLcode rc,
                            const sm_asked *a, sm_json_decoder *d,
                            const sm_proxy *proxy, int *out_of_step)
{
    sm_outcome o;
    char words[512]; /* "where" (300) and the reason (128) with room */
    if (curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &o.status) !=
        CURLE_OK)
        o.status = 0;
    o.meta = &t->meta;
    o.body = &t->body;
    o.failure = failure_of(rc, t->body.over_limit);
    o.why = NULL;
    if (rc != CURLE_OK && proxy_failure(t, rc, proxy)) {
        o.failure = SM_CONNECTION_FAILED;
        o.status = 0; /* the proxy's status, not the API's */
        o.why = t->errbuf;
    } else if (o.failure != SM_NO_FAILURE && o.failure != SM_TOO_LARGE) {
        o.why = common_words(t, rc, words, sizeof words);
        if (o.why == NULL)
            o.why = t->errbuf[0] ? t->errbuf : curl_easy_strerror(rc);
    }
    return sm_push_outcome(L, &o, a, d, out_of_step);
}
