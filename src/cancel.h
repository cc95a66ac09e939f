/*
 * cancel.h: the core's one cancel flag (cancel.c). Once it is set, a
 * transfer in progress and a wait (core.sleep: a retry delay, a follow
 * interval) end at once instead of running out their timeout. The core
 * never sets it and knows nothing of signals: the command line's own module
 * (supermetrics.cli_native, src/cli/sigint.c) finds the flag in the Lua
 * registry under SM_CANCEL_KEY and sets it from its SIGINT handler. A
 * program that never arms it pays nothing: the handles get no callback.
 */
#ifndef SM_CANCEL_H
#define SM_CANCEL_H

#include <signal.h>

#include <curl/curl.h>
#include <lua.h>

/* registry[SM_CANCEL_KEY]: a light userdata, the process's one sm_cancel
 * (core.so exports luaopen_supermetrics_core alone, so this is how another
 * module reaches it). SM_CANCEL_MAGIC tells a module built from another
 * version of this header that the layout is not its own. */
#define SM_CANCEL_KEY "supermetrics.cancel"
#define SM_CANCEL_MAGIC 0x534d4331u /* "SMC1" */

typedef struct sm_cancel {
    unsigned magic;
    /* Set (to 1) once, before any `cancelled`: the handles made from then
     * on abort their transfers when `cancelled` is set. */
    volatile sig_atomic_t armed;
    /* Set (to 1), from a signal handler too; never cleared. */
    volatile sig_atomic_t cancelled;
} sm_cancel;

/* Whether the flag is set. */
int sm_cancelled(void);

/* Makes easy abort its transfer once the flag is set, when it is armed
 * (handles copied with curl_easy_duphandle inherit it). */
CURLcode sm_cancel_arm(CURL *easy);

/* Stores the flag in the registry (SM_CANCEL_KEY), for the CLI module. */
void sm_cancel_open(lua_State *L);

#endif
