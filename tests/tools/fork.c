/*
 * fork.c: a test-only Lua module (sm_test_fork) for the fork specs, built by
 * tests/spec/support.lua for the interpreter under test (Debian's lua-posix
 * has no Lua 5.4 build). fork() -> pid (0 in the child); wait(pid) -> exit
 * status; exit(code) ends the child at once, without running the Lua
 * state's finalizers twice (_exit).
 */
#include <lauxlib.h>
#include <lua.h>
#include <sys/wait.h>
#include <unistd.h>

static int l_fork(lua_State *L)
{
    pid_t pid = fork();
    if (pid < 0)
        return luaL_error(L, "fork failed");
    lua_pushnumber(L, (lua_Number)pid);
    return 1;
}

static int l_wait(lua_State *L)
{
    int status = 0;
    pid_t pid = (pid_t)luaL_checknumber(L, 1);
    if (waitpid(pid, &status, 0) != pid)
        return luaL_error(L, "waitpid failed");
    lua_pushnumber(L, WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 1;
}

static int l_exit(lua_State *L)
{
    _exit((int)luaL_checknumber(L, 1));
    return 0;
}

int luaopen_sm_test_fork(lua_State *L)
{
    lua_newtable(L);
    lua_pushcfunction(L, l_fork);
    lua_setfield(L, -2, "fork");
    lua_pushcfunction(L, l_wait);
    lua_setfield(L, -2, "wait");
    lua_pushcfunction(L, l_exit);
    lua_setfield(L, -2, "exit");
    return 1;
}
