/*
 * wipe.c: proves that the module wipes its copies of the credential before
 * it frees them (sm_wipe_free, credential.c's sm_credential_clear, for the client's and each batch slot's list), on close(), on
 * garbage collection and when a token_provider's new credential replaces
 * the old one.
 *
 * How: linked with -Wl,--wrap=free,--wrap=curl_slist_free_all, so every
 * free() in the module's own objects, and every header list it hands back
 * to libcurl, passes through a check that the block no longer holds the
 * credential (malloc_usable_size bytes). Lua's allocator and libcurl's own
 * frees are in shared libraries and are not wrapped: their copies are out
 * of the module's hands (docs/hardening.md says which).
 *
 * A self-test first frees an unwiped copy, which must be caught, so the
 * check is known to work. Usage: wipe HTTP_BASE_URL (from the lua/ dir's
 * parent). Exit 0 when no unwiped credential was freed.
 */
#define _GNU_SOURCE
#include <malloc.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "embed.h"

/* Accepted by the stand-in (otok_valid_*), and easy to find in memory. */
#define SECRET "otok_valid_W1peM3Secret"

void __real_free(void *p);
void __wrap_free(void *p);
void __real_curl_slist_free_all(struct curl_slist *list);
void __wrap_curl_slist_free_all(struct curl_slist *list);

/* volatile: a compiler that knows free() may not see these change. */
static volatile size_t unwiped, zeroed, checked;
static volatile int quiet; /* during the self-test */

static int holds_secret(const void *p)
{
    size_t n = malloc_usable_size((void *)p), k = sizeof SECRET - 1, i;
    const char *s = p;
    for (i = 0; n >= k && i <= n - k; i++)
        if (memcmp(s + i, SECRET, k) == 0)
            return 1;
    return 0;
}

/* A block at least as long as the Authorization line, all zero: the mark
 * of a wiped credential (nothing else the module frees is all zero). */
static int all_zero(const void *p, size_t at_least)
{
    size_t n = malloc_usable_size((void *)p), i;
    const unsigned char *s = p;
    if (n < at_least)
        return 0;
    for (i = 0; i < at_least; i++)
        if (s[i] != 0)
            return 0;
    return 1;
}

static void check(const void *p)
{
    if (p == NULL)
        return;
    checked++;
    if (holds_secret(p)) {
        unwiped++;
        /* Never print the bytes: this file must not leak what it hunts. */
        if (!quiet)
            fprintf(stderr, "wipe: a block holding the credential was freed unwiped\n");
    } else if (all_zero(p, sizeof "Authorization: Bearer " SECRET - 1)) {
        zeroed++;
    }
}

void __wrap_free(void *p)
{
    check(p);
    __real_free(p);
}

void __wrap_curl_slist_free_all(struct curl_slist *list)
{
    struct curl_slist *h;
    for (h = list; h != NULL; h = h->next)
        check(h->data);
    __real_curl_slist_free_all(list);
}

static const char tour[] =
    "local base_url = ...\n"
    "local supermetrics = require 'supermetrics'\n"
    "local function client(o)\n"
    "  o.base_url = base_url; o.max_retries = 0\n"
    "  return supermetrics.new(o)\n"
    "end\n"
    "local secret = 'otok_valid_W1peM3Secret'\n"
    /* close() */
    "local c = client { token = secret }\n"
    "assert(c:get_connector_log(1, 'T3S70', 'a').id == 'a')\n"
    "c:close()\n"
    /* garbage collection */
    "do\n"
    "  local g = client { token = '  Bearer ' .. secret .. ' ' }\n"
    "  assert(g:get_connector_log(1, 'T3S70', 'b').id == 'b')\n"
    "end\n"
    "collectgarbage(); collectgarbage()\n"
    /* a token_provider: each new credential replaces the last one */
    "local n = 0\n"
    "local p = client { token_provider = function() n = n + 1; return secret .. n end }\n"
    "for i = 1, 3 do assert(p:get_connector_log(1, 'T3S70', 'p' .. i)) end\n"
    "p:close()\n"
    /* a failed call, then close */
    "local f = client { token = secret }\n"
    "assert(not pcall(f.get_connector_log, f, 1, 'status', '404'))\n"
    "f:close()\n";

int main(int argc, char **argv)
{
    lua_State *L;
    char *copy;
    /* Through a pointer, so the compiler cannot drop the malloc/free pair;
     * the linker still sends this reference to __wrap_free. */
    void (*volatile release)(void *) = free;
    size_t expected = 6; /* credentials set: 1 + 1 + 3 + 1 */
    if (argc != 2) {
        fprintf(stderr, "usage: %s HTTP_BASE_URL\n", argv[0]);
        return 2;
    }

    /* Self-test: an unwiped copy must be caught, a wiped one counted. */
    copy = malloc(64);
    if (copy == NULL)
        return 1;
    snprintf(copy, 64, "Authorization: Bearer %s", SECRET);
    quiet = 1;
    release(copy);
    quiet = 0;
    if (unwiped != 1) {
        fprintf(stderr, "wipe: the self-test was not caught\n");
        return 1;
    }
    unwiped = 0;

    L = embed_state();
    if (L == NULL || embed_run(L, "wipe tour", tour, 1,
                               (const char *const *)&argv[1]) != 0)
        return 1;
    lua_close(L);
    printf("wipe: %zu frees checked, %zu wiped credential blocks (>= %zu "
           "expected), %zu unwiped\n",
           checked, zeroed, expected, unwiped);
    return unwiped == 0 && zeroed >= expected ? 0 : 1;
}
