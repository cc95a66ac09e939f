/*
 * page_decode.c: what turning a list body into its array of entries costs,
 * with no network around it: sm_push_outcome (outcome.c) on a 200 whose
 * body is a page of N API-shaped entries, as list_connector_logs gets it.
 * Built with the module's sources, like the fuzzers; bench/page_decode.sh
 * builds and runs it, under callgrind too.
 *
 * Usage: page_decode N ITERATIONS [gc]
 *   gc: 0 (default) = each page is collected by a full GC outside the
 *       timed call, so only the decode is timed; 1 = the garbage is left
 *       to Lua's own incremental collector, whose steps (the intermediate
 *       tables of cjson's path included) land in the timed calls
 * Prints "N entries (B bytes): X us per page" (wall time).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "buffer.h"
#include "compat.h"
#include "entry.h"
#include "json_entry.h"
#include "outcome.h"
#include "response.h"

/* A page of n entries as the API sends them: compact, every field set. */
static char *make_page(int n, size_t *len)
{
    size_t cap = 64 + (size_t)n * 400, used = 0;
    char *s = malloc(cap);
    int i;
    if (s == NULL)
        return NULL;
    used += (size_t)sprintf(s, "{\"logs\":[");
    for (i = 1; i <= n; i++)
        used += (size_t)sprintf(
            s + used,
            "%s{\"id\":\"e%d\",\"log_time\":\"2025-06-01T00:%02d:%02dZ\","
            "\"status\":200,\"event\":\"auth.token.refresh\","
            "\"request\":\"POST /api/oauth/token_refresh\","
            "\"duration_ms\":%d,"
            "\"request_id\":\"8dc24bc2-8a17-4188-a509-%012d\"}",
            i > 1 ? "," : "", i, i / 60 % 60, i % 60, 200 + i % 97, i);
    used += (size_t)sprintf(s + used, "]}");
    *len = used;
    return s;
}

static double now_us(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* The call timed: kept out of line so callgrind can toggle on it. */
__attribute__((noinline)) static int decode_page(lua_State *L,
                                                 const sm_outcome *o,
                                                 const sm_asked *asked,
                                                 sm_json_decoder *d)
{
    int out_of_step;
    return sm_push_outcome(L, o, asked, d, &out_of_step);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 100;
    int iterations = argc > 2 ? atoi(argv[2]) : 100;
    int natural_gc = argc > 3 && atoi(argv[3]) != 0;
    lua_State *L = luaL_newstate();
    sm_buffer body;
    sm_meta meta;
    sm_outcome o;
    sm_asked asked;
    sm_json_decoder d;
    double spent = 0;
    int i;
    if (L == NULL || n < 0 || n > 1000 || iterations < 1)
        return 2;
    luaL_openlibs(L);
    if (luaL_dostring(L, "local j = require('cjson.safe').new() "
                         "j.decode_invalid_numbers(false) "
                         "j.decode_max_depth(128) return j.decode") != 0) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
        return 1;
    }
    memset(&body, 0, sizeof body);
    body.data = make_page(n, &body.len);
    if (body.data == NULL)
        return 1;
    sm_meta_reset(&meta);
    meta.headers_done = 1;
    memset(&o, 0, sizeof o);
    o.status = 200;
    o.meta = &meta;
    o.body = &body;
    memset(&asked, 0, sizeof asked);
    memset(&d, 0, sizeof d);
    d.decode_idx = 1;
    d.ints = sm_json_ints_of(L, 1);
    asked.shape = SM_SHAPE_PAGE;
    asked.expect.limit = n > 0 ? n : 1;
    for (i = 0; i < iterations; i++) {
        double t0 = now_us();
        int r = decode_page(L, &o, &asked, &d);
        spent += now_us() - t0;
        if (r != 1 || lua_type(L, -1) != LUA_TTABLE ||
            sm_rawlen(L, -1) != (size_t)n) {
            fprintf(stderr, "page not decoded: %s\n",
                    r == 2 ? lua_tostring(L, -1) : "?");
            return 1;
        }
        lua_settop(L, 1);
        if (!natural_gc)
            lua_gc(L, LUA_GCCOLLECT, 0);
    }
    printf("%d entries (%zu bytes): %.1f us per page\n", n, body.len,
           spent / iterations);
    free(body.data);
    lua_close(L);
    return 0;
}
