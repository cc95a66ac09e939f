/*
 * endpoint.h: where a client's requests may go and how libcurl is told to
 * go there only: the base_url rules (https://, or http:// to loopback), the
 * URL's parts for transports that write requests themselves, the easy
 * handle's fixed settings and the shared connection pool. Pure C (no Lua),
 * so a fuzzer can drive it.
 */
#ifndef SM_ENDPOINT_H
#define SM_ENDPOINT_H

#include <stddef.h>

#include <curl/curl.h>

typedef struct sm_endpoint {
    char *base_url;    /* scheme://host[:port][/prefix], no '/' at the end */
    size_t base_len;
    /* The same URL in parts, for transports that write HTTP themselves
     * (cosocket.c): host as in the URL ("[::1]" keeps its brackets), the
     * port (the scheme's when none is given), the path prefix and what
     * follows the request line up to the credential. */
    char *host, *prefix, *head_fields;
    size_t prefix_len, head_fields_len;
    long port;
    int is_https;
} sm_endpoint;

/* The proxy a client's https:// requests go through as a CONNECT tunnel
 * (proxy option, https_proxy...). url is for libcurl and holds the proxy's
 * credentials when the URL had them; display ("host:port") never does, and
 * is all that messages show. Unset (url NULL): no proxy. */
typedef struct sm_proxy {
    char *url;        /* http://[user:pass@]host:port; wiped when freed */
    size_t url_len;
    char *display;    /* host:port */
    char *host;       /* as in the URL ("[::1]" keeps its brackets) */
    char *auth;       /* "Basic <base64 of user:password>", or NULL */
    size_t auth_len;
    long port;
} sm_proxy;

/* Checks proxy URL s (http://[user:password@]host[:port], port 1080 when
 * none, as libcurl; no path but "/", no query; user and password
 * percent-decoded as libcurl does, and refused when a decoded byte is a
 * control character or NUL, or the user has a ':') and stores it in p
 * (zeroed by the caller). Returns NULL, or what is wrong (to follow
 * "proxy "); the message never contains the URL or its credentials. */
const char *sm_proxy_parse(sm_proxy *p, const char *s);

/* Whether a connection to ip:port (as libcurl reports its peer) is one to
 * proxy p: the port must be p's, and when p's host is an address literal,
 * the address too. */
int sm_proxy_is_peer(const sm_proxy *p, const char *ip, long port);

/* Wipes and frees what p holds; safe twice. */
void sm_proxy_free(sm_proxy *p);

/* Writes into buf (n bytes) why the proxy refused the tunnel with HTTP
 * status code to its CONNECT: one wording for both transports. */
void sm_proxy_refusal(char *buf, size_t n, const sm_proxy *p, long code);

/* Checks base_url s and stores its normalised form and parts in e (zeroed
 * by the caller). Returns NULL, or what is wrong (to follow "base_url "). */
const char *sm_endpoint_parse(sm_endpoint *e, const char *s,
                              const char *user_agent);

/* Frees what e holds; safe twice. */
void sm_endpoint_free(sm_endpoint *e);

/* Every setting of easy that does not change between requests: only e's
 * scheme, peer and host verified, no redirects, no proxy for http://.
 * Returns the first failing setopt's code. */
CURLcode sm_endpoint_configure(const sm_endpoint *e, CURL *easy,
                               const char *ca_file, const char *user_agent);

/* Points easy at proxy p for https://, or at no proxy at all (p unset, or
 * http://): the environment's proxy variables are then never read by
 * libcurl (the Lua layer read them once, when the client was made). Every
 * setting is checked; the first failing one's code is returned. Through a
 * proxy, a request whose connection is not the proxy's is refused before
 * it is sent (CURLOPT_PREREQFUNCTION, libcurl 7.80+: CURLE_ABORTED_BY_CALLBACK),
 * so libcurl never goes around it. p must outlive easy and its copies. */
CURLcode sm_endpoint_proxy(const sm_endpoint *e, CURL *easy,
                           const sm_proxy *p);

/* A new pool of connections, TLS sessions and DNS answers for a client's
 * handles, or NULL. No lock callbacks: one client is used by one thread at
 * a time. */
CURLSH *sm_endpoint_new_share(void);

#endif
