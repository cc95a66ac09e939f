/*
 * response.c: response headers and the error code of a status or a
 * transport failure (response.h).
 */
#include "response.h"

#include <stdint.h>
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

int sm_header_name_is(const char *s, const char *name, size_t k)
{
    /* Eight bytes at a time: a byte of name that is a letter has 0x40 set
     * (digits and '-' have not), and OR-ing 0x20 into the same byte of s
     * lower-cases exactly the letters that could match it. */
    const uint64_t letters = 0x4040404040404040ULL;
    size_t i = 0;
    for (; i + 8 <= k; i += 8) {
        uint64_t a, b;
        memcpy(&a, s + i, 8);
        memcpy(&b, name + i, 8);
        if ((a | (b & letters) >> 1) != b)
            return 0;
    }
    for (; i < k; i++) {
        unsigned char c = (unsigned char)s[i], w = (unsigned char)name[i];
        if ((unsigned char)(c | (w & 0x40) >> 1) != w)
            return 0;
    }
    return 1;
}

size_t sm_header_name_len(const char *line, size_t n)
{
    const char *colon = memchr(line, ':', n);
    return colon != NULL ? (size_t)(colon - line) : n;
}

void sm_header_value_after(const char *line, size_t n, size_t k,
                           const char **v, size_t *vn)
{
    line += k + 1;
    n -= k + 1;
    while (n > 0 && (*line == ' ' || *line == '\t')) {
        line++;
        n--;
    }
    while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' ||
                     line[n - 1] == ' ' || line[n - 1] == '\t'))
        n--;
    *v = line;
    *vn = n;
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

/* The bytes a request id may hold ([A-Za-z0-9._:-]), as a table: the id
 * of every response is checked, a byte at a time. */
static const unsigned char request_id_byte[256] = {
    ['-'] = 1, ['.'] = 1, [':'] = 1, ['_'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1,
    ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1,
    ['G'] = 1, ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1,
    ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1,
    ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
};

int sm_valid_request_id(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n > SM_REQUEST_ID_MAX)
        return 0;
    for (i = 0; i < n; i++)
        if (!request_id_byte[(unsigned char)s[i]])
            return 0;
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

/* The wall clock's seconds, for a Retry-After date. Not time(): glibc's
 * reads the kernel's coarse clock, up to a tick behind the one a server's
 * gettimeofday reads, so at a second's edge a date 2 s ahead was seen 3 s
 * ahead (a spec caught it under load). */
static time_t wall_seconds(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return time(NULL);
    return ts.tv_sec;
}

void sm_meta_header(sm_meta *m, const char *line, size_t n, time_t now)
{
    if ((n == 2 && line[0] == '\r' && line[1] == '\n') ||
        (n == 1 && line[0] == '\n'))
        m->headers_done = 1;
    else
        sm_meta_field(m, line, n, sm_header_name_len(line, n), now);
}

void sm_meta_field(sm_meta *m, const char *line, size_t n, size_t k,
                   time_t now)
{
    const char *v;
    size_t vn;
    long long count;
    double wait;
    /* A status line (it has no ':' in its first 5 bytes). */
    if (k >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        sm_meta_reset(m);
        return;
    }
    if (k == n)
        return; /* no colon: no header we read */
    /* By the name's length first: most lines are none of ours, and each
     * name is compared once at most. */
    switch (k) {
    case 11:
        if (!sm_header_name_is(line, "retry-after", k))
            return;
        sm_header_value_after(line, n, k, &v, &vn);
        if (now == SM_NOW_UNREAD)
            now = wall_seconds();
        if (sm_parse_retry_after(v, vn, now, &wait) == 0)
            m->retry_after = wait;
        return;
    case 12:
        if (!sm_header_name_is(line, "x-request-id", k))
            return;
        sm_header_value_after(line, n, k, &v, &vn);
        if (sm_valid_request_id(v, vn)) {
            memcpy(m->request_id, v, vn);
            m->request_id[vn] = '\0';
        }
        return;
    case 17:
        if (!sm_header_name_is(line, "x-ratelimit-limit", k))
            return;
        sm_header_value_after(line, n, k, &v, &vn);
        if (parse_count(v, vn, &count) == 0)
            m->rate_limit = count;
        return;
    case 21:
        if (!sm_header_name_is(line, "x-ratelimit-remaining", k))
            return;
        sm_header_value_after(line, n, k, &v, &vn);
        if (parse_count(v, vn, &count) == 0)
            m->rate_remaining = count;
        return;
    default:
        return;
    }
}

const char *sm_code_for_status(long status)
{
#define SM_CODE_OF(code, kind, st, reason, retried)                         \
    if ((st) != 0 && status == (st))                                        \
        return #code;
    SM_CODES(SM_CODE_OF)
#undef SM_CODE_OF
    return "HTTP_ERROR";
}

const char *sm_reason_for_status(long status)
{
#define SM_REASON_OF(code, kind, st, reason, retried)                       \
    if ((st) != 0 && status == (st))                                        \
        return (reason);
    SM_CODES(SM_REASON_OF)
#undef SM_REASON_OF
    return NULL;
}

void sm_push_codes(lua_State *L)
{
    lua_newtable(L);
#define SM_PUSH_ROW(code, kind, st, reason, retried)                        \
    lua_createtable(L, 0, 4);                                               \
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
    lua_setfield(L, -2, #code);
    SM_CODES(SM_PUSH_ROW)
#undef SM_PUSH_ROW
}
