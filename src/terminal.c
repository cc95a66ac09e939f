/*
 * terminal.c: what only the command line asks of the C core: whether an
 * output is a terminal, reading the key (bounded, interruptible), no core
 * dumps, and Ctrl-C (interrupt.c) as Lua functions (terminal.h).
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

#include "compat.h"
#include "credential.h"
#include "errors.h"
#include "interrupt.h"

/* trap_interrupt(): Ctrl-C for the command line (interrupt.c). */
int sm_lua_trap_interrupt(lua_State *L)
{
    if (sm_interrupt_trap() != 0)
        return sm_raise(L, "sigaction(SIGINT): %s",
                          strerror(errno));
    return 0;
}

/* interrupted() -> whether SIGINT came since trap_interrupt() */
int sm_lua_interrupted(lua_State *L)
{
    lua_pushboolean(L, sm_interrupted());
    return 1;
}

/* isatty(fd) -> boolean: whether fd is a terminal (the CLI's progress). */
int sm_lua_isatty(lua_State *L)
{
    lua_pushboolean(L, isatty((int)luaL_checknumber(L, 1)) == 1);
    return 1;
}

/* no_core_dumps(): this process never dumps core (the key is in its
 * memory): RLIMIT_CORE 0, and on Linux not dumpable at all (which also
 * keeps other processes of the user from attaching to it or reading its
 * memory through /proc). */
int sm_lua_no_core_dumps(lua_State *L)
{
    struct rlimit none;
    none.rlim_cur = none.rlim_max = 0;
    if (setrlimit(RLIMIT_CORE, &none) != 0)
        return sm_raise(L, "setrlimit(RLIMIT_CORE): %s", strerror(errno));
#if defined(__linux__) && defined(PR_SET_DUMPABLE)
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0)
        return sm_raise(L, "prctl(PR_SET_DUMPABLE): %s", strerror(errno));
#endif
    return 0;
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
int sm_lua_read_key(lua_State *L)
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
            int ready = sm_interrupt_wait_readable(fd);
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
                if (sm_interrupted()) {
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
