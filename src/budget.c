/*
 * budget.c: the rate budget's C half (budget.h): its keys and its clock.
 */
#include "budget.h"

#include <string.h>
#include <time.h>

#include <lauxlib.h>

#include "client.h"
#include "compat.h"
#include "credential.h"
#include "digest.h"
#include "errors.h"
#include "redis.h"

/* Bytes of the digest a key is named by (32 hex digits). */
#define KEY_BYTES 16

static void push_hex(lua_State *L, const unsigned char *p, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    char hex[2 * SM_SHA256_BYTES];
    size_t i;
    for (i = 0; i < n; i++) {
        hex[2 * i] = digits[p[i] >> 4];
        hex[2 * i + 1] = digits[p[i] & 15];
    }
    lua_pushlstring(L, hex, 2 * n);
}

/* budget_key(handle [, credential]) -> 32 hex digits
 * Names the rate window of the handle's base URL and credential (the one
 * given, as a token_provider returned it, else the client's own) in a
 * store shared by clients, workers and machines: the first 128 bits of
 * SHA-256 over a fixed label, the normalised base URL and the credential
 * as requests carry it. The same key and base URL give the same name
 * everywhere; the name does not give the credential back. Returns
 * nothing for a credential an attempt would refuse; raises
 * INVALID_ARGUMENT for a closed handle. */
static int budget_key(lua_State *L)
{
    static const char label[] = "lua-supermetrics rate budget 1\n";
    sm_client *c = sm_check_open_client(L, 1);
    const char *cred;
    size_t n;
    sm_sha256 s;
    unsigned char out[SM_SHA256_BYTES];
    if (lua_isnoneornil(L, 2)) {
        cred = sm_credential_value(&c->credential);
        if (cred == NULL)
            return sm_argument_error(L, "the client has no credential");
        n = strlen(cred);
    } else {
        cred = luaL_checklstring(L, 2, &n);
        if (sm_credential_trim(&cred, &n) != NULL)
            return 0; /* the attempt refuses it, in its own words */
    }
    sm_sha256_init(&s);
    sm_sha256_feed(&s, label, sizeof label - 1);
    sm_sha256_feed(&s, c->endpoint.base_url, c->endpoint.base_len);
    sm_sha256_feed(&s, "\n", 1);
    sm_sha256_feed(&s, cred, n);
    sm_sha256_done(&s, out);
    push_hex(L, out, KEY_BYTES);
    sm_wipe((char *)out, sizeof out);
    return 1;
}

/* sha256_hex(s) -> the SHA-256 of s in hex (checked against FIPS 180-4's
 * vectors by the specs). */
static int sha256_hex(lua_State *L)
{
    size_t n;
    const char *p = luaL_checklstring(L, 1, &n);
    sm_sha256 s;
    unsigned char out[SM_SHA256_BYTES];
    sm_sha256_init(&s);
    sm_sha256_feed(&s, p, n);
    sm_sha256_done(&s, out);
    push_hex(L, out, SM_SHA256_BYTES);
    return 1;
}

/* wall_clock() -> seconds since the epoch (UTC), with fractions: the clock
 * a window's end is told in (Retry-After, closed_until). */
static int wall_clock(lua_State *L)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
        return sm_raise(L, "clock_gettime failed");
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

void sm_budget_open(lua_State *L)
{
    static const luaL_Reg functions[] = {
        {"budget_key", budget_key},
        {"sha256_hex", sha256_hex},
        {"wall_clock", wall_clock},
        {NULL, NULL},
    };
    sm_setfuncs(L, functions, 0);
    sm_redis_open(L);
}
