/*
 * threads.c: two OS threads, each with its own Lua state and client, make
 * calls at the same moment, while the main thread (a third state) checks
 * with the stand-in that their requests really were in flight together.
 * Built with ThreadSanitizer (`make tsan-check`): any data race in the
 * module's C code, or in what it shares between states (curl_global_init,
 * the Error metatable, static tables), is a report and a non-zero exit.
 *
 * Usage: threads HTTP_BASE_URL (from the repository root)
 *        threads --race   a deliberate data race, which TSan must report:
 *                         proof that the build is instrumented.
 */
#include <pthread.h>
#include <stdlib.h>

#include "embed.h"

#define THREADS 2

static pthread_barrier_t start;

typedef struct worker {
    pthread_t thread;
    const char *args[2]; /* base_url, tag */
    int ok;
} worker;

/* Each thread: one slow call that the main thread sees in flight, then a
 * mix of successes, errors and retries, then close. */
static const char calls[] =
    "local base_url, tag = ...\n"
    "local supermetrics = require 'supermetrics'\n"
    "local c = supermetrics.new { api_key = 'api_test_key', base_url = base_url,\n"
    "                              max_retries = 1, max_retry_wait = 0.01 }\n"
    "assert(c:get_connector_log(1, 'slow', '1500-' .. tag).id == '1500-' .. tag)\n"
    "for i = 1, 40 do\n"
    "  assert(c:get_connector_log(936506, 'T3S70', tag .. i).id == tag .. i)\n"
    "  local ok, err = pcall(c.get_connector_log, c, 1, 'status', '503')\n"
    "  assert(not ok and err.code == 'SERVICE_UNAVAILABLE' and err.attempts == 2)\n"
    "  ok, err = pcall(c.get_connector_log, c, 1, 'close', 'x')\n"
    "  assert(not ok and err.code == 'CONNECTION_ERROR', tostring(err))\n"
    "  ok, err = pcall(c.get_connector_log, c, 0, 'x', 'y')\n"
    "  assert(not ok and err.code == 'INVALID_ARGUMENT')\n"
    "end\n"
    "c:close()\n";

static void *run_worker(void *arg)
{
    worker *w = arg;
    lua_State *L = embed_state();
    pthread_barrier_wait(&start);
    w->ok = L != NULL && embed_run(L, w->args[1], calls, 2, w->args) == 0;
    if (L != NULL)
        lua_close(L);
    return NULL;
}

/* The main thread: resets the stand-in's counters, then waits (on the
 * stand-in, up to 10 s) until both slow calls are in flight at once. */
static const char reset[] =
    "local supermetrics = require 'supermetrics'\n"
    "local c = supermetrics.new { api_key = 'x', base_url = ... }\n"
    "c:get_connector_log(1, 'stats', 'reset')\n"
    "c:close()\n";

static const char overlap[] =
    "local supermetrics = require 'supermetrics'\n"
    "local c = supermetrics.new { api_key = 'x', base_url = ..., timeout = 15 }\n"
    "local s = c:get_connector_log(1, 'stats', 'await2')\n"
    "c:close()\n"
    "assert(s.inflight >= 2, 'the two calls were not in flight together: ' .. s.inflight)\n"
    "print(('threads: %d calls in flight together'):format(s.inflight))\n";

static int racy;

static void *race(void *arg)
{
    (void)arg;
    racy++;
    return NULL;
}

int main(int argc, char **argv)
{
    static const char *const tags[THREADS] = {"a", "b"};
    worker w[THREADS];
    lua_State *L;
    int i, ok;
    if (argc != 2) {
        fprintf(stderr, "usage: %s HTTP_BASE_URL | --race\n", argv[0]);
        return 2;
    }
    if (strcmp(argv[1], "--race") == 0) {
        pthread_t t;
        pthread_create(&t, NULL, race, NULL);
        racy++;
        pthread_join(t, NULL);
        return 0; /* TSan's exit code if it saw the race */
    }
    L = embed_state();
    if (L == NULL || embed_run(L, "reset", reset, 1,
                               (const char *const *)&argv[1]) != 0)
        return 1;
    pthread_barrier_init(&start, NULL, THREADS + 1);
    for (i = 0; i < THREADS; i++) {
        w[i].args[0] = argv[1];
        w[i].args[1] = tags[i];
        w[i].ok = 0;
        if (pthread_create(&w[i].thread, NULL, run_worker, &w[i]) != 0)
            return 1;
    }
    pthread_barrier_wait(&start);
    ok = embed_run(L, "overlap", overlap, 1,
                   (const char *const *)&argv[1]) == 0;
    for (i = 0; i < THREADS; i++) {
        pthread_join(w[i].thread, NULL);
        ok = ok && w[i].ok;
    }
    lua_close(L);
    pthread_barrier_destroy(&start);
    printf("threads: %s\n", ok ? "both threads done" : "FAILED");
    return ok ? 0 : 1;
}
