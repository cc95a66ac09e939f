/*
 * redis.c: Redis's protocol through hiredis, and a blocking connection
 * with timeouts for use outside nginx (redis.h). Nothing here raises while
 * it owns memory or a socket that Lua does not: hiredis's buffers are held
 * by userdata whose __gc frees them, and errors come back as values.
 */
#include "redis.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <lauxlib.h>

#include "compat.h"
#include "errors.h"

#define BYTES_MT "supermetrics.core.RedisBytes"
#define READER_MT "supermetrics.core.RedisReader"
#define CONN_MT "supermetrics.core.RedisConnection"

/* The most a receive returns at once. */
#define RECEIVE_MAX 16384

#ifndef MSG_NOSIGNAL
#define MSG_NOSIGNAL 0
#endif

/* ---- commands ---- */

/* A command hiredis formatted, freed by __gc if pushing it raised. */
typedef struct bytes_box {
    char *p;
} bytes_box;

static int bytes_gc(lua_State *L)
{
    bytes_box *b = luaL_checkudata(L, 1, BYTES_MT);
    if (b->p != NULL) {
        redisFreeCommand(b->p);
        b->p = NULL;
    }
    return 0;
}

/* redis_command(arg, ...) -> bytes: one command (strings or numbers, binary
 * safe) as Redis reads it. */
static int redis_command(lua_State *L)
{
    int argc = lua_gettop(L), i, len;
    const char **argv;
    size_t *argvlen;
    bytes_box *box;
    if (argc < 1)
        return luaL_argerror(L, 1, "a command name expected");
    argv = sm_newuserdata(L, (size_t)argc * sizeof *argv);
    argvlen = sm_newuserdata(L, (size_t)argc * sizeof *argvlen);
    for (i = 0; i < argc; i++)
        argv[i] = luaL_checklstring(L, i + 1, &argvlen[i]);
    box = sm_newuserdata(L, sizeof *box);
    box->p = NULL;
    sm_setmetatable(L, BYTES_MT);
    len = redisFormatCommandArgv(&box->p, argc, argv, argvlen);
    if (len < 0 || box->p == NULL)
        return sm_raise(L, "not enough memory");
    lua_pushlstring(L, box->p, (size_t)len);
    redisFreeCommand(box->p);
    box->p = NULL;
    return 1;
}

/* ---- replies ---- */

typedef struct reader_box {
    redisReader *r;
    redisReply *pending; /* a reply being turned into Lua values */
} reader_box;

static void reader_release(reader_box *b)
{
    if (b->pending != NULL) {
        freeReplyObject(b->pending);
        b->pending = NULL;
    }
    if (b->r != NULL) {
        redisReaderFree(b->r);
        b->r = NULL;
    }
}

static int reader_gc(lua_State *L)
{
    reader_release(luaL_checkudata(L, 1, READER_MT));
    return 0;
}

/* redis_reader() -> a reader for one connection's replies */
static int redis_reader(lua_State *L)
{
    reader_box *b = sm_newuserdata(L, sizeof *b);
    b->r = NULL;
    b->pending = NULL;
    sm_setmetatable(L, READER_MT);
    b->r = redisReaderCreate();
    if (b->r == NULL)
        return sm_raise(L, "not enough memory");
    return 1;
}

static reader_box *check_reader(lua_State *L)
{
    reader_box *b = luaL_checkudata(L, 1, READER_MT);
    if (b->pending != NULL) { /* pushing the last reply raised */
        freeReplyObject(b->pending);
        b->pending = NULL;
    }
    if (b->r == NULL)
        luaL_argerror(L, 1, "the reader is freed");
    return b;
}

/* reader:feed(bytes) -> true | nil, why */
static int reader_feed(lua_State *L)
{
    reader_box *b = check_reader(L);
    size_t n;
    const char *s = luaL_checklstring(L, 2, &n);
    if (redisReaderFeed(b->r, s, n) != REDIS_OK) {
        lua_pushnil(L);
        lua_pushstring(L, b->r->errstr[0] ? b->r->errstr : "not enough memory");
        return 2;
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* Pushes a reply (an element of an array too) as a Lua value. */
static void push_reply(lua_State *L, const redisReply *r, int depth)
{
    size_t i;
    luaL_checkstack(L, 4, "a Redis reply nested too deep");
    switch (r->type) {
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
        lua_pushlstring(L, r->str != NULL ? r->str : "", r->len);
        return;
    case REDIS_REPLY_INTEGER:
        sm_pushint64(L, r->integer);
        return;
    case REDIS_REPLY_ARRAY:
        lua_createtable(L, r->elements < 1000 ? (int)r->elements : 1000, 0);
        for (i = 0; i < r->elements; i++) {
            push_reply(L, r->element[i], depth + 1);
            lua_rawseti(L, -2, (int)i + 1);
        }
        return;
    default: /* nil */
        lua_pushboolean(L, 0);
    }
}

/* reader:get() -> "more" | "ok", value | "err", message | "bad", why
 * The next whole reply fed so far: "more" when none is complete yet; "err"
 * for an error reply (its text); "bad" when the bytes are not Redis's
 * protocol (the reader is of no more use then). */
static int reader_get(lua_State *L)
{
    reader_box *b = check_reader(L);
    void *reply = NULL;
    if (redisReaderGetReply(b->r, &reply) != REDIS_OK) {
        lua_pushliteral(L, "bad");
        lua_pushstring(L, b->r->errstr[0] ? b->r->errstr : "protocol error");
        return 2;
    }
    if (reply == NULL) {
        lua_pushliteral(L, "more");
        return 1;
    }
    b->pending = reply;
    if (b->pending->type == REDIS_REPLY_ERROR)
        lua_pushliteral(L, "err");
    else
        lua_pushliteral(L, "ok");
    push_reply(L, b->pending, 0);
    freeReplyObject(b->pending);
    b->pending = NULL;
    return 2;
}

/* ---- the blocking connection ---- */

typedef struct conn_box {
    int fd;     /* -1 once closed */
    pid_t pid;  /* the process that opened it */
} conn_box;

static void conn_close(conn_box *c)
{
    if (c->fd >= 0) {
        (void)close(c->fd);
        c->fd = -1;
    }
}

static int conn_gc(lua_State *L)
{
    conn_close(luaL_checkudata(L, 1, CONN_MT));
    return 0;
}

/* Waits up to ms for events on fd: 1 ready, 0 timed out, -1 failed. */
static int wait_for(int fd, short events, int ms)
{
    struct pollfd p;
    int rc;
    p.fd = fd;
    p.events = events;
    p.revents = 0;
    do
        rc = poll(&p, 1, ms < 0 ? 0 : ms);
    while (rc < 0 && errno == EINTR);
    return rc;
}

static int ms_arg(lua_State *L, int idx)
{
    lua_Number ms = luaL_checknumber(L, idx);
    if (!(ms > 0))
        return 0;
    return ms > 86400000 ? 86400000 : (int)ms;
}

/* Pushes nil and why; returns 2. */
static int fail(lua_State *L, const char *why)
{
    lua_pushnil(L);
    lua_pushstring(L, why);
    return 2;
}

/* A connected non-blocking socket to one address within ms, or -1 with
 * *why set. */
static int connect_one(const struct addrinfo *a, int ms, const char **why)
{
    int fd = socket(a->ai_family, a->ai_socktype, a->ai_protocol), rc, err = 0;
    int one = 1;
    socklen_t len = sizeof err;
    if (fd < 0) {
        *why = strerror(errno);
        return -1;
    }
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) != 0 ||
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) != 0) {
        *why = strerror(errno);
        (void)close(fd);
        return -1;
    }
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    rc = connect(fd, a->ai_addr, a->ai_addrlen);
    if (rc != 0 && errno != EINPROGRESS) {
        *why = strerror(errno);
        (void)close(fd);
        return -1;
    }
    if (rc != 0) {
        rc = wait_for(fd, POLLOUT, ms);
        if (rc == 0) {
            *why = "timeout";
            (void)close(fd);
            return -1;
        }
        if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 ||
            err != 0) {
            *why = strerror(rc < 0 ? errno : err);
            (void)close(fd);
            return -1;
        }
    }
    return fd;
}

/* redis_connect(host, port, ms) -> connection | nil, why
 * host: an address or a name (looked up by the system's resolver, which
 * the timeout does not bound). */
static int redis_connect(lua_State *L)
{
    const char *host = luaL_checkstring(L, 1);
    lua_Integer port = luaL_checkinteger(L, 2);
    int ms = ms_arg(L, 3), rc, fd = -1;
    struct addrinfo hints, *found = NULL, *a;
    char service[16];
    const char *why = "no address";
    conn_box *c;
    if (port < 1 || port > 65535)
        return fail(L, "bad port");
    /* The box first: nothing is owned while it may raise. */
    c = sm_newuserdata(L, sizeof *c);
    c->fd = -1;
    c->pid = getpid();
    sm_setmetatable(L, CONN_MT);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    snprintf(service, sizeof service, "%d", (int)port);
    rc = getaddrinfo(host, service, &hints, &found);
    if (rc != 0)
        return fail(L, rc == EAI_SYSTEM ? strerror(errno) : gai_strerror(rc));
    for (a = found; a != NULL && fd < 0; a = a->ai_next)
        fd = connect_one(a, ms, &why);
    freeaddrinfo(found);
    if (fd < 0)
        return fail(L, why);
    c->fd = fd;
    return 1;
}

/* The connection at 1, open and this process's; NULL after pushing nil
 * and "closed". */
static conn_box *open_conn(lua_State *L)
{
    conn_box *c = luaL_checkudata(L, 1, CONN_MT);
    if (c->fd >= 0 && c->pid != getpid())
        conn_close(c); /* the parent's: closing our copy leaves it be */
    if (c->fd < 0) {
        fail(L, "closed");
        return NULL;
    }
    return c;
}

/* connection:send(bytes, ms) -> true | nil, why */
static int conn_send(lua_State *L)
{
    conn_box *c = open_conn(L);
    size_t n, done = 0;
    const char *s = luaL_checklstring(L, 2, &n);
    int ms = ms_arg(L, 3);
    if (c == NULL)
        return 2;
    while (done < n) {
        ssize_t k = send(c->fd, s + done, n - done, MSG_NOSIGNAL);
        if (k > 0) {
            done += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_for(c->fd, POLLOUT, ms);
            if (rc > 0)
                continue;
            conn_close(c);
            return fail(L, rc == 0 ? "timeout" : strerror(errno));
        }
        conn_close(c);
        return fail(L, k == 0 ? "closed" : strerror(errno));
    }
    lua_pushboolean(L, 1);
    return 1;
}

/* connection:receive(ms) -> bytes | nil, why: what has arrived, as soon as
 * anything has, within ms (0: only what is there already). "timeout" leaves
 * the connection open; any other failure closes it. */
static int conn_receive(lua_State *L)
{
    conn_box *c = open_conn(L);
    char buf[RECEIVE_MAX];
    int ms = ms_arg(L, 2);
    if (c == NULL)
        return 2;
    for (;;) {
        ssize_t k = recv(c->fd, buf, sizeof buf, 0);
        if (k > 0) {
            lua_pushlstring(L, buf, (size_t)k);
            return 1;
        }
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            int rc = wait_for(c->fd, POLLIN, ms);
            if (rc > 0) {
                ms = 0; /* ready: the next recv has it (or the close) */
                continue;
            }
            if (rc == 0)
                return fail(L, "timeout"); /* still open: nothing yet */
            conn_close(c);
            return fail(L, strerror(errno));
        }
        conn_close(c);
        return fail(L, k == 0 ? "closed" : strerror(errno));
    }
}

/* connection:close() */
static int conn_close_method(lua_State *L)
{
    conn_close(luaL_checkudata(L, 1, CONN_MT));
    return 0;
}

static void new_metatable(lua_State *L, const char *name, lua_CFunction gc,
                          const luaL_Reg *methods)
{
    luaL_newmetatable(L, name);
    lua_pushcfunction(L, gc);
    lua_setfield(L, -2, "__gc");
    if (methods != NULL) {
        lua_newtable(L);
        sm_setfuncs(L, methods, 0);
        lua_setfield(L, -2, "__index");
    }
    lua_pop(L, 1);
}

void sm_redis_open(lua_State *L)
{
    static const luaL_Reg reader_methods[] = {
        {"feed", reader_feed},
        {"get", reader_get},
        {NULL, NULL},
    };
    static const luaL_Reg conn_methods[] = {
        {"send", conn_send},
        {"receive", conn_receive},
        {"close", conn_close_method},
        {NULL, NULL},
    };
    static const luaL_Reg functions[] = {
        {"redis_command", redis_command},
        {"redis_reader", redis_reader},
        {"redis_connect", redis_connect},
        {NULL, NULL},
    };
    new_metatable(L, BYTES_MT, bytes_gc, NULL);
    new_metatable(L, READER_MT, reader_gc, reader_methods);
    new_metatable(L, CONN_MT, conn_gc, conn_methods);
    sm_setfuncs(L, functions, 0);
}
