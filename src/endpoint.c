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
#include "cancel.h"

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
        rc = sm_cancel_arm(easy);
    return rc;
}

int sm_proxy_is_peer(const sm_proxy *p, const char *ip, long port)
{
    unsigned char want[16], got[16];
    const char *host = p->host;
    char literal[64];
    size_t n;
    int family = AF_INET;
    if (p->url == NULL || ip == NULL || port != p->port)
        return 0;
    /* A name may resolve to any address: its port has to do. An address
     * literal must be the very address connected to. */
    n = strlen(host);
    if (n > 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof literal) {
        memcpy(literal, host + 1, n - 2);
        literal[n - 2] = '\0';
        host = literal;
        family = AF_INET6;
    }
    if (inet_pton(family, host, want) != 1)
        return 1;
    return inet_pton(family, ip, got) == 1 &&
           memcmp(want, got, family == AF_INET ? 4 : 16) == 0;
}

#if LIBCURL_VERSION_NUM >= 0x075000
/* libcurl's last word before a request goes out on a connection (new or
 * reused): through a proxy, that connection must be the proxy's. A libcurl
 * that went around the proxy (7.88 does when it cannot decode the proxy
 * URL's credentials) has the request refused here, before it is sent. */
static int through_proxy(void *clientp, char *conn_primary_ip,
                         char *conn_local_ip, int conn_primary_port,
                         int conn_local_port)
{
    (void)conn_local_ip, (void)conn_local_port;
    return sm_proxy_is_peer(clientp, conn_primary_ip, conn_primary_port)
               ? CURL_PREREQFUNC_OK
               : CURL_PREREQFUNC_ABORT;
}
#endif

CURLcode sm_endpoint_proxy(const sm_endpoint *e, CURL *easy,
                           const sm_proxy *p)
{
    CURLcode rc;
    /* http:// is only allowed to loopback: never through a proxy. */
    if (p->url == NULL || !e->is_https)
        return curl_easy_setopt(easy, CURLOPT_PROXY, "");
    /* Every setting is checked: a failed one fails the client, never leaves
     * libcurl going direct. "" for NOPROXY: no host bypasses it, whatever
     * no_proxy says now (the Lua layer applied no_proxy when the client was
     * made). The extra headers stay off the CONNECT request (HEADEROPT),
     * which carries the proxy's credentials only. */
    if ((rc = curl_easy_setopt(easy, CURLOPT_PROXY, p->url)) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_NOPROXY, "")) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_PROXYTYPE,
                               (long)CURLPROXY_HTTP)) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_HTTPPROXYTUNNEL, 1L)) !=
            CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_HEADEROPT,
                               (long)CURLHEADER_SEPARATE)) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_PROXYAUTH,
                               (long)CURLAUTH_BASIC)) != CURLE_OK)
        return rc;
#if LIBCURL_VERSION_NUM >= 0x075000
    if ((rc = curl_easy_setopt(easy, CURLOPT_PREREQDATA, (void *)p)) !=
            CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_PREREQFUNCTION, through_proxy)) !=
            CURLE_OK)
        return rc;
#endif
    return CURLE_OK;
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

/* "Basic " and the base64 of user:password into p->auth (both as decoded,
 * with their lengths: no byte is lost to a C string's end). */
static const char *set_auth(sm_proxy *p, const char *user, size_t nu,
                            const char *pass, size_t np)
{
    static const char basic[] = "Basic ";
    size_t n = nu + 1 + np;
    char *plain = malloc(n);
    if (plain == NULL)
        return "could not be stored: out of memory";
    memcpy(plain, user, nu);
    plain[nu] = ':';
    memcpy(plain + nu + 1, pass, np);
    p->auth_len = sizeof basic - 1 + (n + 2) / 3 * 4;
    p->auth = malloc(p->auth_len + 1);
    if (p->auth != NULL) {
        memcpy(p->auth, basic, sizeof basic - 1);
        base64((const unsigned char *)plain, n, p->auth + sizeof basic - 1);
    }
    sm_wipe_free(plain, n);
    return p->auth == NULL ? "could not be stored: out of memory" : NULL;
}

static int hex_value(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decodes raw as libcurl does (a '%' not followed by two hex
 * digits stays as it is) into a new buffer of *n bytes (NUL after them).
 * Sets *ctrl when a decoded byte is a control character (NUL, 0x01-0x1F,
 * DEL): libcurl 7.88 refuses those in a proxy URL's credentials and then
 * goes on WITHOUT the proxy; the CONNECT would also carry bytes the user
 * never meant. NULL when out of memory. */
static char *percent_decode(const char *raw, size_t *n, int *ctrl)
{
    size_t len = strlen(raw), i, k = 0;
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    for (i = 0; i < len; i++) {
        int c = (unsigned char)raw[i], hi, lo;
        if (c == '%' && i + 2 < len && (hi = hex_value(raw[i + 1])) >= 0 &&
            (lo = hex_value(raw[i + 2])) >= 0) {
            c = hi << 4 | lo;
            i += 2;
        }
        if (c < 0x20 || c == 0x7f)
            *ctrl = 1;
        out[k++] = (char)c;
    }
    out[k] = '\0';
    *n = k;
    return out;
}

/* Whether host (as a URL gives it) is plain printable ASCII: what a proxy's
 * name or address is; never echoed when it is not. */
static int printable_host(const char *host)
{
    const unsigned char *h = (const unsigned char *)host;
    for (; *h != '\0'; h++) {
        if (*h <= 0x20 || *h >= 0x7f || *h == '%')
            return 0;
    }
    return 1;
}

/* The credentials of proxy URL u, decoded and checked, into p->auth (none
 * when the URL has no user part). Returns NULL or what is wrong. */
static const char *proxy_credentials(sm_proxy *p, CURLU *u)
{
    const char *why = NULL;
    char *user = NULL, *pass = NULL, *du = NULL, *dp = NULL;
    size_t nu = 0, np = 0;
    int ctrl = 0;
    CURLUcode uc = curl_url_get(u, CURLUPART_USER, &user, 0);
    if (uc == CURLUE_NO_USER)
        return NULL;
    if (uc != CURLUE_OK)
        return uc == CURLUE_OUT_OF_MEMORY ? "could not be parsed: out of memory"
                                          : "has user information libcurl cannot read";
    uc = curl_url_get(u, CURLUPART_PASSWORD, &pass, 0);
    if (uc != CURLUE_OK && uc != CURLUE_NO_PASSWORD)
        why = uc == CURLUE_OUT_OF_MEMORY ? "could not be parsed: out of memory"
                                         : "has a password libcurl cannot read";
    if (why == NULL) {
        du = percent_decode(user, &nu, &ctrl);
        dp = percent_decode(pass != NULL ? pass : "", &np, &ctrl);
        if (du == NULL || dp == NULL)
            why = "could not be parsed: out of memory";
        else if (ctrl)
            why = "has credentials with a control character or NUL once "
                  "percent-decoded (%00-%1F, %7F)";
        else if (memchr(du, ':', nu) != NULL)
            why = "has a user name with ':' once percent-decoded (Basic "
                  "credentials cannot carry it; a password can)";
        else
            why = set_auth(p, du, nu, dp, np);
    }
    if (du != NULL)
        sm_wipe_free(du, nu);
    if (dp != NULL)
        sm_wipe_free(dp, np);
    if (user != NULL)
        sm_wipe(user, strlen(user));
    if (pass != NULL)
        sm_wipe(pass, strlen(pass));
    curl_free(user);
    curl_free(pass);
    return why;
}

const char *sm_proxy_parse(sm_proxy *p, const char *s)
{
    const char *why = NULL;
    char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL,
         *part = NULL;
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
    } else if (!printable_host(host)) {
        why = "has a host name with characters no host name has";
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
            why = proxy_credentials(p, u);
        }
        if (why == NULL) {
            /* libcurl gets the URL as given: it decodes the credentials
             * itself, to the same bytes as checked above. */
            p->url_len = strlen(s);
            p->url = copy(s, p->url_len);
            if (p->url == NULL)
                why = "could not be stored: out of memory";
        }
    }
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

