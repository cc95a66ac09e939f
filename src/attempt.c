/*
 * attempt.c: one HTTP attempt (attempt.h): what it asks, the checks before
 * it, and libcurl's one path: start, then finish (with the resend after an
 * answer out of step), on the single-call handle or a batch slot.
 */
#include "attempt.h"

#include <lauxlib.h>
#include <math.h>
#include <string.h>

#include "compat.h"
#include "entry.h"
#include "errors.h"
#include "route.h"

void sm_check_attempt_args(lua_State *L, int first, sm_attempt_args *a)
{
    const sm_route *r = sm_check_route(L, first);
    a->path = r->path;
    a->len = r->len;
    a->shape = r->shape;
    sm_route_expect(r, &a->expect);
    a->left = luaL_checknumber(L, first + 1);
    a->cred_idx = first + 2;
    a->made = (long long)luaL_optnumber(L, first + 3, 0);
    a->want_info = lua_toboolean(L, first + 4);
    a->header_lines_len = 0;
    a->header_lines =
        luaL_optlstring(L, first + 5, NULL, &a->header_lines_len);
}

void sm_attempt_ask(sm_attempt *at, const sm_attempt_args *a)
{
    at->asked.shape = a->shape;
    at->asked.expect = a->expect;
    if (a->expect.id != NULL) {
        memcpy(at->log_id, a->expect.id, a->expect.id_len);
        at->asked.expect.id = at->log_id;
    }
    at->asked.info = a->want_info;
    at->asked.made = a->made;
    at->asked.resent = 0;
}
long sm_timeout_ms(lua_Number seconds)
{
    return seconds >= 1e9 ? 1000000000L : (long)ceil(seconds * 1000);
}

/* Pushes nil and an error that stops an attempt before it starts. */
static void push_refusal(lua_State *L, const char *code, const char *message,
                         long long made)
{
    lua_pushnil(L);
    sm_push_error(L, code, message);
    sm_pushint64(L, made);
    lua_setfield(L, -2, "attempts");
}

const sm_credential *sm_attempt_begin(lua_State *L, sm_client *c, int cred_idx,
                                      sm_credential *own, lua_Number left,
                                      long long made)
{
    if (!lua_isnoneornil(L, cred_idx)) {
        size_t n;
        const char *s = luaL_checklstring(L, cred_idx, &n), *why;
        int changed;
        why = own == &c->credential ? sm_client_set_credential(c, s, n)
                                    : sm_credential_set(own, s, n, &changed);
        if (why != NULL) {
            lua_pushfstring(L, "the token_provider's credential %s", why);
            push_refusal(L, "INVALID_ARGUMENT", lua_tostring(L, -1), made);
            lua_remove(L, -3);
            return NULL;
        }
    } else if (own != &c->credential) {
        sm_credential_clear(own);
    }
    if (!(left > 0)) {
        push_refusal(L, "TIMEOUT", "the call's deadline passed before this "
                                   "attempt could start", made);
        return NULL;
    }
    if (sm_credential_isset(own))
        return own;
    if (!sm_credential_isset(&c->credential))
        sm_argument_error(L, "the client has no credential");
    return &c->credential;
}

const sm_credential *sm_attempt_start(lua_State *L, sm_client *c,
                                      sm_transfer *t, sm_credential *own,
                                      const sm_attempt_args *a,
                                      sm_attempt *at)
{
    const sm_credential *cred =
        sm_attempt_begin(L, c, a->cred_idx, own, a->left, a->made);
    if (cred == NULL)
        return NULL;
    at->timeout_ms = sm_timeout_ms(a->left);
    if (sm_transfer_prepare(t, c->endpoint.base_url, c->endpoint.base_len,
                            a->path, a->len, at->timeout_ms,
                            c->connect_timeout_ms) != 0 ||
        sm_transfer_headers(t, cred, a->header_lines, a->header_lines_len,
                            t != &c->main) != 0) {
        sm_raise(L, "could not prepare the request");
        return NULL;
    }
    sm_attempt_ask(at, a);
    return cred;
}

int sm_attempt_finish(lua_State *L, sm_client *c, sm_transfer *t, CURLcode rc,
                      sm_attempt *at, const char *credential)
{
    sm_json_decoder d;
    int out_of_step, n;
    long left_ms;
    if (t->body.out_of_memory)
        return sm_raise(L, "not enough memory");
    sm_decoder_of(L, &d);
    d.credential = credential;
    n = sm_transfer_push_result(L, t, rc, &at->asked, &d,
                                c->proxy.url ? &c->proxy : NULL, &out_of_step);
    if (!out_of_step)
        return n;
    /* The answer was another request's: that connection is out of step.
     * Drop it and ask once more on a fresh one, uncounted, within the time
     * the attempt has left. */
    (void)sm_sockets_drop_last(&c->sockets, t->easy);
    if (at->asked.resent || (left_ms = sm_transfer_refresh(t, at->timeout_ms)) == 0)
        return n;
    lua_pop(L, n);
    at->timeout_ms = left_ms;
    at->asked.resent = 1;
    return 0;
}

/* The attempt of a on the single-call handle: start, run, finish. */
static int run(lua_State *L, sm_client *c, const sm_attempt_args *a)
{
    sm_attempt at;
    int n;
    const sm_credential *cred =
        sm_attempt_start(L, c, &c->main, &c->credential, a, &at);
    if (cred == NULL)
        return 2;
    do {
        CURLcode rc = sm_transfer_perform(&c->main);
        /* libcurl is off the stack: now Lua may be touched, and may raise. */
        n = sm_attempt_finish(L, c, &c->main, rc, &at,
                              sm_credential_value(cred));
    } while (n == 0);
    return n;
}

/* handle:perform(attempt arguments: attempt.h) -> body [, info] | nil, error
 * One attempt of the route's request within the time left of the call's
 * deadline. The body comes shaped as the route says; with want_info a
 * success also returns the response's status, request id, rate limits and
 * attempts. Raises INVALID_ARGUMENT for a closed client, one without a
 * credential or a bad argument type, and a plain error when the request
 * cannot be prepared or memory runs out. */
int sm_lua_perform(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    sm_attempt_args a;
    sm_check_attempt_args(L, 2, &a);
    return run(L, c, &a);
}

/* handle:get_log(team_id, connector_identifier, log_id, seconds [, raw])
 *   -> entry [, info] | nil, error, route
 * (info: when the response carried X-RateLimit headers, for the rate
 * budget.)
 * The common call's first attempt: perform's, with the route's work done
 * on the C stack: checks the ids (raising INVALID_ARGUMENT before any
 * traffic), writes the path straight into the URL, makes the attempt with
 * the client's own credential, and shapes the entry (raw: checks and
 * returns the body's text, get_connector_log_json). Only a failure makes
 * the route, for the Lua layer's retry loop to go on with. */
int sm_lua_get_log(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    char path[SM_LOG_PATH_MAX];
    sm_log_id id;
    sm_attempt_args a;
    int n;
    a.path = path;
    a.len = sm_log_path(L, 2, path, &id);
    a.left = luaL_checknumber(L, 5);
    a.shape = lua_toboolean(L, 6) ? SM_SHAPE_RAW : SM_SHAPE_ENTRY;
    a.expect.id = id.s;
    a.expect.id_len = id.len;
    a.expect.limit = 0;
    a.cred_idx = 7; /* none: the client's own credential */
    a.made = 0;
    a.want_info = 0;
    a.header_lines = NULL;
    a.header_lines_len = 0;
    /* The handle and the log id (id.s) stay referenced; results go above. */
    lua_settop(L, 4);
    n = run(L, c, &a);
    if (!lua_isnil(L, -n))
        return n; /* the entry [, its info: the response's rate limits] */
    sm_push_route(L, a.shape, path, a.len, id.s, id.len, 0);
    return 3;
}
