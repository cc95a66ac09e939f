/*
 * endpoint.c: the base_url rules and the libcurl settings that keep every
 * request on that endpoint (endpoint.h).
 */
#include "endpoint.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "credential.h"
#include "interrupt.h"

#define SM_STR_(x) #x
#define SM_STR(x) SM_STR_(x)

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
 * (cosocket.c adds the request line before and the credential after). */
static const char *set_parts(sm_endpoint *e, CURLU *u, const char *host,
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
        e->port = strtol(port, NULL, 10);
        while (n > 0 && path[n - 1] == '/')
            n--;
        e->prefix = copy(path, n);
        e->prefix_len = n;
        e->host = copy(host, strlen(host));
        n = sizeof fmt + strlen(host) + strlen(port) + strlen(user_agent);
        e->head_fields = malloc(n);
        if (e->prefix == NULL || e->host == NULL || e->head_fields == NULL)
            why = "could not be stored: out of memory";
        else
            e->head_fields_len = (size_t)snprintf(
                e->head_fields, n, fmt, host, explicit_port ? ":" : "",
                explicit_port ? port : "", user_agent);
    }
    curl_free(path);
    curl_free(port);
    return why;
}

const char *sm_endpoint_parse(sm_endpoint *e, const char *s,
                              const char *user_agent)
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
        e->base_url = malloc(n + 1);
        if (e->base_url == NULL) {
            why = "could not be stored: out of memory";
        } else {
            memcpy(e->base_url, full, n);
            e->base_url[n] = '\0';
            e->base_len = n;
            e->is_https = strcmp(scheme, "https") == 0;
            why = set_parts(e, u, host, user_agent);
        }
    }
    curl_free(part);
    curl_free(full);
    curl_free(host);
    curl_free(scheme);
    curl_url_cleanup(u);
    return why;
}

void sm_endpoint_free(sm_endpoint *e)
{
    free(e->base_url);
    e->base_url = NULL;
    free(e->host);
    e->host = NULL;
    free(e->prefix);
    e->prefix = NULL;
    free(e->head_fields);
    e->head_fields = NULL;
}

CURLSH *sm_endpoint_new_share(void)
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

CURLcode sm_endpoint_configure(const sm_endpoint *e, CURL *easy,
                               const char *ca_file, const char *user_agent)
{
    int is_http = !e->is_https;
    CURLcode rc = CURLE_OK;
#define SET(opt, val) \
    if (rc == CURLE_OK) rc = curl_easy_setopt(easy, opt, val)
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
    /* No proxy from the environment, ever: sm_endpoint_proxy sets the one
     * the client was made with. */
    SET(CURLOPT_PROXY, "");
    SET(CURLOPT_USERAGENT, user_agent);
    SET(CURLOPT_HTTPGET, 1L);
    SET(CURLOPT_ACCEPT_ENCODING, "");
    SET(CURLOPT_TCP_KEEPALIVE, 1L);
#undef SET
    if (rc == CURLE_OK)
        rc = sm_interrupt_arm(easy);
    return rc;
}

CURLcode sm_endpoint_proxy(const sm_endpoint *e, CURL *easy,
                           const sm_proxy *p)
{
    CURLcode rc;
    /* http:// is only allowed to loopback: never through a proxy. */
    if (p->url == NULL || !e->is_https)
        return curl_easy_setopt(easy, CURLOPT_PROXY, "");
    /* "": no host bypasses it, whatever no_proxy says now (the Lua layer
     * applied no_proxy when the client was made). The extra headers stay
     * off the CONNECT request (HEADEROPT), which carries the proxy's
     * credentials only. */
    if ((rc = curl_easy_setopt(easy, CURLOPT_PROXY, p->url)) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_NOPROXY, "")) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_PROXYTYPE,
                               (long)CURLPROXY_HTTP)) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_HTTPPROXYTUNNEL, 1L)) !=
            CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_HEADEROPT,
                               (long)CURLHEADER_SEPARATE)) != CURLE_OK)
        return rc;
    return curl_easy_setopt(easy, CURLOPT_PROXYAUTH, (long)CURLAUTH_BASIC);
}

static void base64(const unsigned char *in, size_t n, char *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=";
    size_t i;
    for (i = 0; i + 2 < n; i += 3) {
        unsigned long v = (unsigned long)in[i] << 16 |
                          (unsigned long)in[i + 1] << 8 | in[i + 2];
        *out++ = alphabet[v >> 18 & 63];
        *out++ = alphabet[v >> 12 & 63];
        *out++ = alphabet[v >> 6 & 63];
        *out++ = alphabet[v & 63];
    }
    if (i < n) {
        unsigned long v = (unsigned long)in[i] << 16 |
                          (i + 1 < n ? (unsigned long)in[i + 1] << 8 : 0);
        *out++ = alphabet[v >> 18 & 63];
        *out++ = alphabet[v >> 12 & 63];
        /* "=" pads a last group of one byte. */
        *out++ = alphabet[i + 1 < n ? (v >> 6 & 63) : 64];
        *out++ = '=';
    }
    *out = '\0';
}

/* "Basic " and the base64 of user:password into p->auth. */
static const char *set_auth(sm_proxy *p, const char *user, const char *pass)
{
    static const char basic[] = "Basic ";
    size_t nu = strlen(user), np = strlen(pass), n = nu + 1 + np;
    char *plain = malloc(n + 1);
    if (plain == NULL)
        return "could not be stored: out of memory";
    (void)snprintf(plain, n + 1, "%s:%s", user, pass);
    p->auth_len = sizeof basic - 1 + (n + 2) / 3 * 4;
    p->auth = malloc(p->auth_len + 1);
    if (p->auth != NULL) {
        memcpy(p->auth, basic, sizeof basic - 1);
        base64((const unsigned char *)plain, n, p->auth + sizeof basic - 1);
    }
    sm_wipe_free(plain, n);
    return p->auth == NULL ? "could not be stored: out of memory" : NULL;
}

const char *sm_proxy_parse(sm_proxy *p, const char *s)
{
    const char *why = NULL;
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL,
         *part = NULL, *user = NULL, *pass = NULL;
    size_t n = strlen(s);
    CURLU *u;
    if (n == 0 || n > SM_PROXY_URL_MAX)
        return "must be a URL of 1 to " SM_STR(SM_PROXY_URL_MAX) " bytes";
    u = curl_url();
    if (u == NULL)
        return "could not be parsed: out of memory";
    /* Like libcurl: a proxy given without a scheme is an HTTP proxy. */
    if (curl_url_set(u, CURLUPART_URL, s,
                     CURLU_GUESS_SCHEME | CURLU_NON_SUPPORT_SCHEME) !=
            CURLUE_OK ||
        curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK) {
        why = "is not a proxy URL (http://[user:password@]host:port)";
    } else if (strcmp(scheme, "http") != 0) {
        why = "must be an http:// proxy (a CONNECT tunnel carries TLS to "
              "the API); https:// and SOCKS proxies are not supported";
    } else if (curl_url_get(u, CURLUPART_QUERY, &part, 0) == CURLUE_OK ||
               curl_url_get(u, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK ||
               (curl_url_get(u, CURLUPART_PATH, &path, 0) == CURLUE_OK &&
                strcmp(path, "/") != 0 && path[0] != '\0')) {
        why = "must be http://[user:password@]host:port, with no path or "
              "query";
    } else {
        long portnum = 1080;
        if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
            portnum = strtol(port, NULL, 10);
        p->port = portnum;
        p->host = copy(host, strlen(host));
        n = strlen(host) + 24;
        p->display = malloc(n);
        if (p->host == NULL || p->display == NULL) {
            why = "could not be stored: out of memory";
        } else {
            snprintf(p->display, n, "%s:%ld", host, portnum);
            if (curl_url_get(u, CURLUPART_USER, &user, CURLU_URLDECODE) ==
                CURLUE_OK) {
                if (curl_url_get(u, CURLUPART_PASSWORD, &pass,
                                 CURLU_URLDECODE) != CURLUE_OK)
                    pass = NULL;
                why = set_auth(p, user, pass ? pass : "");
            }
        }
        if (why == NULL) {
            p->url_len = strlen(s);
            p->url = copy(s, p->url_len);
            if (p->url == NULL)
                why = "could not be stored: out of memory";
        }
    }
    if (user != NULL)
        memset(user, 0, strlen(user));
    if (pass != NULL)
        memset(pass, 0, strlen(pass));
    curl_free(user);
    curl_free(pass);
    curl_free(part);
    curl_free(path);
    curl_free(port);
    curl_free(host);
    curl_free(scheme);
    curl_url_cleanup(u);
    if (why != NULL)
        sm_proxy_free(p);
    return why;
}

void sm_proxy_free(sm_proxy *p)
{
    sm_wipe_free(p->url, p->url_len);
    sm_wipe_free(p->auth, p->auth_len);
    free(p->display);
    free(p->host);
    memset(p, 0, sizeof *p);
}

void sm_proxy_refusal(char *buf, size_t n, const sm_proxy *p, long code)
{
    /* 401 is what some proxies (tinyproxy) answer wrong credentials with. */
    if (code == 407 || code == 401)
        snprintf(buf, n,
                 "the proxy %s wants credentials (HTTP %ld to CONNECT): %s",
                 p->display, code,
                 p->auth ? "it refused those of the proxy URL"
                         : "give them in the proxy URL, "
                           "http://user:password@host:port");
    else
        snprintf(buf, n,
                 "the proxy %s refused the tunnel to the API (HTTP %ld to "
                 "CONNECT)",
                 p->display, code);
}

