/*
 * terminal.c: supermetrics.cli_native, the command line's own C module
 * (terminal.h): whether an output is a terminal, reading the key (bounded,
 * interruptible), no core dumps, the --output file's fsync and truncation,
 * and Ctrl-C (sigint.c) as Lua functions. Only the command line loads it;
 * the library's core (supermetrics.core) has none of this. It reaches the
 * core only through the registry: the cancel flag its Ctrl-C trap sets
 * (src/cancel.h).
 */
#include "terminal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/prctl.h>
#endif

#include <lauxlib.h>

#include "../cancel.h"
#include "../compat.h"
#include "../credential.h"
#include "sigint.h"

/* trap_interrupt(): Ctrl-C sets the core's cancel flag (sigint.c), the
 * light userdata upvalue 1. */
static int cli_trap_interrupt(lua_State *L)
{
    sm_cancel *flag = lua_touserdata(L, lua_upvalueindex(1));
    if (sm_sigint_trap(flag) != 0)
        return luaL_error(L, "sigaction(SIGINT): %s", strerror(errno));
    return 0;
}

/* interrupted() -> whether SIGINT came since trap_interrupt() */
static int cli_interrupted(lua_State *L)
{
    lua_pushboolean(L, sm_sigint_arrived());
    return 1;
}

/* isatty(fd) -> boolean: whether fd is a terminal (the CLI's progress). */
static int cli_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_checknumber(L, 1)) == 1);
    return 1;
}

/* no_core_dumps(): this process never dumps core (the key is in its
 * memory): RLIMIT_CORE 0, and on Linux not dumpable at all (which also
 * keeps other processes of the user from attaching to it or reading its
 * memory through /proc). */
static int cli_no_core_dumps(lua_State *L)
{
    struct rlimit none;
    none.rlim_cur = none.rlim_max = 0;
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return luaL_error(L, "setrlimit(RLIMIT_CORE): %s", strerror(errno));
#if defined(__linux__) && defined(PR_SET_DUMPABLE)
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return luaL_error(L, "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
#endif
    return 0;
}

/* Pushes nil and the system's words for err; returns 2. */
static int file_failure(lua_State *L, int err)
{
    lua_pushnil(L);
    lua_pushstring(L, strerror(err));
    return 2;
}

/* sync_file(path) -> true | nil, message: what was written to path is on
 * the disk (fsync), a file's data or a directory's entries (after a rename
 * in it). For the command line's --output, written atomically. */
static int cli_sync_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    int fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC);
    if (fd < 0)
        return file_failure(L, errno);
    if (fsync(fd) != 0) {
        int err = errno;
        (void)close(fd);
        return file_failure(L, err);
    }
    if (close(fd) != 0)
        return file_failure(L, errno);
    lua_pushboolean(L, 1);
    return 1;
}

/* truncate_file(path, size) -> true | nil, message: path cut to size bytes
 * (the command line's --resume drops a last record written in part). */
static int cli_truncate_file(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Number size = luaL_checknumber(L, 2);
    if (!(size >= 0 && size <= 9007199254740992.0) || (lua_Number)(long long)size != size)
        return luaL_argerror(L, 2, "a size in bytes");
    if (truncate(path, (off_t)size) != 0)
        return file_failure(L, errno);
    lua_pushboolean(L, 1);
    return 1;
}

/* Pushes false, why, detail (a failure of read_key); returns 3. */
static int key_failure(lua_State *L, const char *why, int err)
{
    lua_pushboolean(L, 0);
    lua_pushstring(L, why);
    if (err != 0)
        lua_pushstring(L, strerror(err));
    else
        lua_pushnil(L);
    return 3;
}

/* read_key(path) -> key | nil, mode | nil; or false, why, detail
 * The key: the first line of path ("-": standard input), without its "\n";
 * nil when there was nothing at all to read. mode: a key file's permission
 * bits. At most SM_CREDENTIAL_MAX + 1 bytes are read, so that a longer
 * line ("too long") never costs more. A path must be a regular file
 * ("directory", "not a file"; a FIFO is not even waited for). Standard input
 * may be anything; a wait on it ends at Ctrl-C ("interrupted") once the
 * trap is set. why: "open" or "read" (detail: the system's words) too. */
static int cli_read_key(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    const size_t cap = SM_CREDENTIAL_MAX + 1;
    int from_stdin = strcmp(path, "-") == 0, fd = 0, err = 0;
    const char *why = NULL;
    char *buf, *newline = NULL;
    size_t n = 0;
    struct stat st;
    /* First, while nothing is open: the buffer is Lua's, so a memory error
     * later leaks nothing. */
    buf = sm_newuserdata(L, cap);
    if (!from_stdin) {
        /* O_NONBLOCK: opening a FIFO that has no writer returns at once
         * (and is then refused), instead of waiting for one. */
        fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
            return key_failure(L, "open", errno);
        if (fstat(fd, &st) != 0) {
            err = errno;
            (void)close(fd);
            return key_failure(L, "open", err);
        }
        if (!S_ISREG(st.st_mode)) {
            (void)close(fd);
            return key_failure(L, S_ISDIR(st.st_mode) ? "directory" : "not a file", 0);
        }
        /* A regular file: reads block (briefly) as usual again. */
        int flags = fcntl(fd, F_GETFL);
        if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
            err = errno;
            (void)close(fd);
            return key_failure(L, "open", err);
        }
    }
    while (n < cap && newline == NULL) {
        ssize_t got;
        if (from_stdin) {
            int ready = sm_sigint_wait_readable(fd);
            if (ready == 0) {
                why = "interrupted";
                break;
            }
            if (ready < 0) {
                why = "read", err = errno;
                break;
            }
        }
        got = read(fd, buf + n, cap - n);
        if (got < 0) {
            if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) {
                if (sm_sigint_arrived()) {
                    why = "interrupted";
                    break;
                }
                continue;
            }
            why = "read", err = errno;
            break;
        }
        if (got == 0)
            break; /* the end: the key is what came */
        newline = memchr(buf + n, '\n', (size_t)got);
        n += (size_t)got;
    }
    if (!from_stdin)
        (void)close(fd);
    if (why == NULL && newline == NULL && n == cap)
        why = "too long";
    if (why != NULL) {
        sm_wipe(buf, cap);
        return key_failure(L, why, err);
    }
    if (newline == NULL && n == 0)
        lua_pushnil(L);
    else
        lua_pushlstring(L, buf, newline != NULL ? (size_t)(newline - buf) : n);
    sm_wipe(buf, cap);
    if (from_stdin)
        lua_pushnil(L);
    else
        lua_pushinteger(L, (lua_Integer)(st.st_mode & 07777));
    return 2;
}

/* The core's cancel flag, pushed as a light userdata: from the registry,
 * where luaopen_supermetrics_core put it (required first if it is not
 * loaded yet). Raises when the core is another version's. */
static sm_cancel *push_cancel(lua_State *L)
{
    sm_cancel *flag;
    lua_getfield(L, LUA_REGISTRYINDEX, SM_CANCEL_KEY);
    if (!lua_islightuserdata(L, -1)) {
        lua_pop(L, 1);
        lua_getglobal(L, "require");
        lua_pushliteral(L, "supermetrics.core");
        lua_call(L, 1, 0);
        lua_getfield(L, LUA_REGISTRYINDEX, SM_CANCEL_KEY);
    }
    flag = lua_touserdata(L, -1);
    if (!lua_islightuserdata(L, -1) || flag == NULL ||
        flag->magic != SM_CANCEL_MAGIC)
        luaL_error(L, "supermetrics.cli_native: supermetrics.core is "
                      "another version's (no cancel flag of this one)");
    return flag;
}

/* The module's one exported symbol (the build hides every other). */
#if defined(__GNUC__)
__attribute__((visibility("default")))
#endif
int luaopen_supermetrics_cli_native(lua_State *L)
{
    static const luaL_Reg plain[] = {
        {"interrupted", cli_interrupted},
        {"isatty", cli_isatty},
        {"read_key", cli_read_key},
        {"no_core_dumps", cli_no_core_dumps},
        {"sync_file", cli_sync_file},
        {"truncate_file", cli_truncate_file},
        {NULL, NULL},
    };
    lua_newtable(L);
    sm_setfuncs(L, plain, 0);
    (void)push_cancel(L);
    lua_pushcclosure(L, cli_trap_interrupt, 1);
    lua_setfield(L, -2, "trap_interrupt");
    return 1;
}
