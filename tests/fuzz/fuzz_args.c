/*
 * fuzz_args: everything a caller passes that the C core checks: the three
 * arguments of get_connector_log (src/route.c, src/segment.c), base_url
 * (src/endpoint.c) and the credential bytes (src/credential.c).
 *
 * Input: 1 byte of mode, then the bytes of the argument(s).
 *   mode % 3 == 0: log_route(team_id, connector, log_id); 3 more mode bytes
 *                  give their Lua types, the rest is split on 0xFF.
 *   mode % 3 == 1: base_url; http:// must only ever pass for loopback.
 *   mode % 3 == 2: a credential; the header line holds printable ASCII only
 *                  and a refusal never quotes the input.
 */
#include "harness.h"

#include <arpa/inet.h>
#include <strings.h>

#include "credential.h"
#include "endpoint.h"
#include "entry.h"
#include "route.h"
#include "segment.h"

/* Pushes piece as the Lua type picked by kind. */
static void push_as(lua_State *L, int kind, const uint8_t *p, size_t n)
{
    double d = 0;
    long long i = 0;
    size_t k;
    switch (kind % 6) {
    case 0:
        lua_pushlstring(L, (const char *)p, n);
        break;
    case 1: /* an integer from up to 8 bytes */
        for (k = 0; k < n && k < 8; k++)
            i = (long long)((unsigned long long)i << 8 | p[k]);
        lua_pushinteger(L, (lua_Integer)i);
        break;
    case 2: /* any double, NaN and infinities included */
        memcpy(&d, p, n < sizeof d ? n : sizeof d);
        lua_pushnumber(L, d);
        break;
    case 3:
        lua_pushnil(L);
        break;
    case 4:
        lua_pushboolean(L, n > 0);
        break;
    default:
        lua_newtable(L);
        break;
    }
}

/* An uppercase hex digit's value, else -1 (we send uppercase only). */
static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

/* "%XX" and unreserved bytes back to bytes; -1 on anything else. */
static int decode_segment(const char *s, size_t n, char *out, size_t *len)
{
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '%') {
            int hi, lo;
            if (i + 2 >= n)
                return -1;
            hi = hex_digit(s[i + 1]);
            lo = hex_digit(s[i + 2]);
            if (hi < 0 || lo < 0)
                return -1;
            out[o++] = (char)(hi * 16 + lo);
            i += 2;
        } else if (strchr("-._~", s[i]) || (s[i] >= 'a' && s[i] <= 'z') ||
                   (s[i] >= 'A' && s[i] <= 'Z') ||
                   (s[i] >= '0' && s[i] <= '9')) {
            out[o++] = s[i];
        } else {
            return -1;
        }
    }
    *len = o;
    return 0;
}

static void check_log_path(lua_State *L, const uint8_t *data, size_t size)
{
    const uint8_t *piece[3];
    size_t len[3], i, start = 0, k = 0;
    int kinds[3];
    if (size < 3)
        return;
    for (i = 0; i < 3; i++)
        kinds[i] = data[i];
    data += 3;
    size -= 3;
    for (i = 0; i <= size && k < 3; i++) {
        if (i == size || data[i] == 0xFF || k == 2) {
            size_t end = k == 2 ? size : i;
            piece[k] = data + start;
            len[k++] = end - start;
            start = end + 1;
            if (k == 3 || end == size)
                break;
        }
    }
    while (k < 3) {
        piece[k] = data;
        len[k++] = 0;
    }
    lua_settop(L, 0);
    lua_pushcfunction(L, sm_lua_log_route);
    for (i = 0; i < 3; i++)
        push_as(L, kinds[i], piece[i], len[i]);
    if (lua_pcall(L, 3, 1, 0) == 0) {
        static const char head[] = "/v1/teams/";
        const sm_route *r = lua_touserdata(L, -1);
        size_t n = r->len;
        const char *path = r->path, *p, *logs;
        FUZZ_ASSERT(r->shape == SM_SHAPE_ENTRY && strlen(path) == n);
        FUZZ_ASSERT(strncmp(path, head, sizeof head - 1) == 0);
        p = path + sizeof head - 1;
        FUZZ_ASSERT(*p >= '1' && *p <= '9');
        while (*p >= '0' && *p <= '9')
            p++;
        FUZZ_ASSERT(strncmp(p, "/connector_builder/connectors/", 30) == 0);
        logs = strstr(p + 30, "/logs/");
        FUZZ_ASSERT(logs != NULL && sm_check_connector(p + 30, (size_t)(logs - p - 30)) == 0);
        /* The log id comes back exactly when it was a string. */
        if (kinds[2] % 6 == 0) {
            char decoded[3 * SM_LOG_ID_MAX + 1];
            size_t dn;
            const char *enc = logs + 6;
            FUZZ_ASSERT(decode_segment(enc, n - (size_t)(enc - path), decoded, &dn) == 0);
            FUZZ_ASSERT(dn == len[2] && memcmp(decoded, piece[2], dn) == 0);
            FUZZ_ASSERT(!(dn == 1 && decoded[0] == '.') &&
                        !(dn == 2 && decoded[0] == '.' && decoded[1] == '.'));
        }
    } else {
        /* Every refusal is an INVALID_ARGUMENT error value, nothing else. */
        FUZZ_ASSERT(lua_type(L, -1) == LUA_TTABLE);
        lua_getfield(L, -1, "code");
        FUZZ_ASSERT(lua_isstring(L, -1) &&
                    strcmp(lua_tostring(L, -1), "INVALID_ARGUMENT") == 0);
    }
    lua_settop(L, 0);
}

/* The oracle for "loopback": libcurl's own reading of the host. */
static int host_is_loopback(const char *url)
{
    CURLU *u = curl_url();
    char *host = NULL;
    int yes = 0;
    FUZZ_ASSERT(u != NULL);
    if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
        unsigned char a4[4];
        if (strcasecmp(host, "localhost") == 0 || strcmp(host, "[::1]") == 0)
            yes = 1;
        else if (inet_pton(AF_INET, host, a4) == 1)
            yes = a4[0] == 127;
    }
    curl_free(host);
    curl_url_cleanup(u);
    return yes;
}

static void check_base_url(const uint8_t *data, size_t size)
{
    sm_endpoint e;
    char *s = malloc(size + 1);
    FUZZ_ASSERT(s != NULL);
    memcpy(s, data, size);
    s[size] = '\0';
    memset(&e, 0, sizeof e);
    if (sm_endpoint_parse(&e, s, "lua-supermetrics/fuzz") == NULL) {
        FUZZ_ASSERT(e.base_url != NULL && strlen(e.base_url) == e.base_len);
        FUZZ_ASSERT(e.base_len == 0 || e.base_url[e.base_len - 1] != '/');
        FUZZ_ASSERT(strchr(e.base_url, '?') == NULL &&
                    strchr(e.base_url, '#') == NULL);
        if (!e.is_https) {
            FUZZ_ASSERT(strncmp(e.base_url, "http://", 7) == 0);
            FUZZ_ASSERT(host_is_loopback(e.base_url));
        } else {
            FUZZ_ASSERT(strncmp(e.base_url, "https://", 8) == 0);
        }
    } else {
        FUZZ_ASSERT(e.base_url == NULL);
    }
    sm_endpoint_free(&e);
    free(s);
}

static void check_credential(const uint8_t *data, size_t size)
{
    sm_credential c = {0};
    int changed = -1, again = -1;
    const char *why = sm_credential_set(&c, (const char *)data, size, &changed);
    if (why == NULL) {
        size_t i;
        const char *line = c.line;
        FUZZ_ASSERT(changed == 1 && c.headers != NULL);
        FUZZ_ASSERT(strncmp(line, "Authorization: Bearer ", 22) == 0);
        FUZZ_ASSERT(c.at == 22 && c.len > 22 && strlen(line) == c.len);
        FUZZ_ASSERT(sm_credential_value(&c) == line + 22);
        for (i = 0; i < c.len; i++)
            FUZZ_ASSERT(line[i] >= 0x20 && line[i] < 0x7f);
        FUZZ_ASSERT(line[c.len - 1] != ' ');
        /* The same bytes again keep the stored copy. */
        FUZZ_ASSERT(sm_credential_set(&c, (const char *)data, size, &again) == NULL);
        FUZZ_ASSERT(again == 0 && c.line == line);
        sm_credential_clear(&c);
        FUZZ_ASSERT(c.line == NULL && c.headers == NULL);
    } else {
        /* Fixed text only: a refusal cannot quote the input. */
        FUZZ_ASSERT(changed == 0 && c.line == NULL && c.headers == NULL);
        FUZZ_ASSERT(strcmp(why, "is empty") == 0 ||
                    strcmp(why, "is longer than 16384 bytes") == 0 ||
                    strcmp(why, "contains a control or non-ASCII character") == 0 ||
                    strcmp(why, "could not be stored: out of memory") == 0);
    }
}

static int one_input(const uint8_t *data, size_t size)
{
    lua_State *L = fuzz_state();
    if (size == 0)
        return 0;
    switch (data[0] % 3) {
    case 0:
        check_log_path(L, data + 1, size - 1);
        break;
    case 1:
        check_base_url(data + 1, size - 1);
        break;
    default:
        check_credential(data + 1, size - 1);
        break;
    }
    return 0;
}

FUZZ_LUA_ENTRY(one_input)
