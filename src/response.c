/*
 * response.c: response headers and the error code of a status or a
 * transport failure (response.h).
 */
#include "response.h"

#include <string.h>

#include "codes.h"

void sm_meta_reset(sm_meta *m)
{
    m->request_id[0] = '\0';
    m->retry_after = -1;
    m->rate_limit = -1;
    m->rate_remaining = -1;
    m->headers_done = 0;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

int sm_header_value(const char *line, size_t n, const char *name,
                        const char **v, size_t *vn)
{
    size_t k = strlen(name), i;
    if (n < k)
        return 0;
    for (i = 0; i < k; i++)
        if (lower((unsigned char)line[i]) != name[i])
            return 0;
    line += k;
    n -= k;
    while (n > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        n--;
    }
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' ||
                     line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    *v = line;
    *vn = n;
    return 1;
}

/* 1..18 decimal digits, so the value always fits a long long. */
static int parse_count(const char *s, size_t n, long long *out)
{
    long long v = 0;
    size_t i;
    if (n == 0 || n > 18)
        return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int sm_valid_request_id(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n > SM_REQUEST_ID_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') ||
              (c >= 'a' && c <= 'z') || c == '_' || c == '-' || c == '.' ||
              c == ':'))
            return 0;
    }
    return 1;
}

int sm_parse_retry_after(const char *s, size_t n, time_t now, double *seconds)
{
    char date[64];
    time_t when;
    size_t i;
    double v = 0;
    if (n == 0)
        return -1;
    for (i = 0; i < n && s[i] >= '0' && s[i] <= '9'; i++)
        if (v < SM_RETRY_AFTER_MAX)
            v = v * 10 + (s[i] - '0');
    if (i == n) {
        *seconds = v < SM_RETRY_AFTER_MAX ? v : SM_RETRY_AFTER_MAX;
        return 0;
    }
    /* An HTTP-date: "Sun, 06 Nov 1994 08:49:37 GMT" is 29 bytes. */
    if (n >= sizeof date)
        return -1;
    memcpy(date, s, n);
    date[n] = '\0';
    when = curl_getdate(date, NULL);
    if (when == (time_t)-1)
        return -1;
    v = when > now ? difftime(when, now) : 0;
    *seconds = v < SM_RETRY_AFTER_MAX ? v : SM_RETRY_AFTER_MAX;
    return 0;
}

void sm_meta_header(sm_meta *m, const char *line, size_t n, time_t now)
{
    const char *v;
    size_t vn;
    long long count;
    double wait;
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        sm_meta_reset(m);
    } else if ((n == 2 && line[0] == '\r' && line[1] == '\n') ||
               (n == 1 && line[0] == '\n')) {
        m->headers_done = 1;
    } else if (sm_header_value(line, n, "x-request-id:", &v, &vn)) {
        if (sm_valid_request_id(v, vn)) {
            memcpy(m->request_id, v, vn);
            m->request_id[vn] = '\0';
        }
    } else if (sm_header_value(line, n, "retry-after:", &v, &vn)) {
        if (sm_parse_retry_after(v, vn, now, &wait) == 0)
            m->retry_after = wait;
    } else if (sm_header_value(line, n, "x-ratelimit-limit:", &v, &vn)) {
        if (parse_count(v, vn, &count) == 0)
            m->rate_limit = count;
    } else if (sm_header_value(line, n, "x-ratelimit-remaining:", &v, &vn)) {
        if (parse_count(v, vn, &count) == 0)
            m->rate_remaining = count;
    }
}

const char *sm_code_for_status(long status)
{
#define SM_CODE_OF(code, kind, st, reason, retried, exit)                    \
    if ((st) != 0 && status == (st))                                        \
        return #code;
    SM_CODES(SM_CODE_OF)
#undef SM_CODE_OF
    return "HTTP_ERROR";
}

const char *sm_reason_for_status(long status)
{
#define SM_REASON_OF(code, kind, st, reason, retried, exit)                  \
    if ((st) != 0 && status == (st))                                        \
        return (reason);
    SM_CODES(SM_REASON_OF)
#undef SM_REASON_OF
    return NULL;
}

void sm_push_codes(lua_State *L)
{
    lua_newtable(L);
#define SM_PUSH_ROW(code, kind, st, reason, retried, exit)                   \
    lua_createtable(L, 0, 5);                                               \
    lua_pushstring(L, (kind));                                              \
    lua_setfield(L, -2, "kind");                                            \
    if ((st) != 0) {                                                        \
        lua_pushinteger(L, (st));                                           \
        lua_setfield(L, -2, "status");                                      \
        lua_pushstring(L, (reason));                                        \
        lua_setfield(L, -2, "reason");                                      \
    }                                                                       \
    lua_pushboolean(L, (retried));                                          \
    lua_setfield(L, -2, "retried");                                         \
    if ((exit) >= 0) {                                                      \
        lua_pushinteger(L, (exit));                                         \
        lua_setfield(L, -2, "exit");                                        \
    }                                                                       \
    lua_setfield(L, -2, #code);
    SM_CODES(SM_PUSH_ROW)
#undef SM_PUSH_ROW
}
