/*
 * clock.c: time for the Lua layer: a monotonic clock for deadlines, and a
 * blocking sleep for waits outside nginx (clock.h).
 */
#include "clock.h"

#include <errno.h>
#include <time.h>

#include <lauxlib.h>

#include "errors.h"
#include "cancel.h"

/* monotonic() -> seconds since an arbitrary point, immune to clock changes */
int sm_lua_monotonic(lua_State *L)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
        return sm_raise(L, "clock_gettime failed");
    lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
    return 1;
}

/* sleep(seconds): blocks the calling thread (outside nginx only: the
 * cosocket transport waits with ngx.sleep). */
int sm_lua_sleep(lua_State *L)
{
    lua_Number s = luaL_checknumber(L, 1);
    struct timespec ts;
    if (!(s > 0))
        return 0;
    if (s > 1e6)
        s = 1e6;
    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
    /* Cut short once the core's cancel flag is set (cancel.h: the CLI's
     * Ctrl-C trap sets it): the caller's loop must end too, so this raises
     * rather than returning early. */
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
        if (sm_cancelled())
            return sm_raise(L, "interrupted");
    }
    if (sm_cancelled())
        return sm_raise(L, "interrupted");
    return 0;
}
