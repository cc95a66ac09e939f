/*
 * attempt.c: one HTTP attempt (attempt.h): the checks before it, and the
 * attempt on the client's single-call handle.
 */
#include "attempt.h"

#include <lauxlib.h>
#include <math.h>

#include "compat.h"
#include "entry.h"
#include "errors.h"
#include "route.h"

void sm_check_attempt_args(lua_State *L, int first, sm_attempt_args *a)
{
    a->route = sm_check_route(L, first);
    a->left = luaL_checknumber(L, first + 1);
    a->cred_idx = first + 2;
    a->made = (long long)luaL_optnumber(L, first + 3, 0);
    a->want_info = lua_toboolean(L, first + 4);
    a->headers_len = 0;
    a->headers = luaL_optlstring(L, first + 5, NULL, &a->headers_len);
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

/* One attempt of GET base_url .. path on the single-call handle; pushes
 * what sm_transfer_push_result does, or a refusal. */
static int attempt(lua_State *L, sm_client *c, const char *path, size_t len,
                   lua_Number left, int cred_idx, sm_result_rules *rules,
                   const char *extra, size_t extra_len)
{
    CURLcode rc;
    int n;
    const sm_credential *cred =
        sm_attempt_begin(L, c, cred_idx, &c->credential, left, rules->made);
    if (cred == NULL)
        return 2;
    if (sm_transfer_prepare(&c->main, c->endpoint.base_url,
                            c->endpoint.base_len, path, len,
                            sm_timeout_ms(left), c->connect_timeout_ms) != 0 ||
        sm_transfer_headers(&c->main, cred, extra, extra_len, 0) != 0)
        return sm_raise(L, "could not prepare the request");
    rules->proxy = c->proxy.url ? &c->proxy : NULL;

    rc = sm_transfer_perform(&c->main);

    /* libcurl is off the stack: now Lua may be touched, and may raise. */
    if (c->main.body.out_of_memory)
        return sm_raise(L, "not enough memory");
    rules->credential = sm_credential_value(cred);
    rules->resent = 0;
    n = sm_transfer_push_result(L, &c->main, rc, rules);
    if (!rules->out_of_step)
        return n;
    /* The answer was another request's: that connection is out of step.
     * Drop it and ask once more on a fresh one, uncounted, within the time
     * the attempt has left. */
    (void)sm_sockets_drop_last(&c->sockets, c->main.easy);
    if (sm_transfer_refresh(&c->main, sm_timeout_ms(left)) == 0)
        return n;
    lua_pop(L, n);
    rc = curl_easy_perform(c->main.easy);
    if (c->main.body.out_of_memory)
        return sm_raise(L, "not enough memory");
    rules->resent = 1;
    n = sm_transfer_push_result(L, &c->main, rc, rules);
    if (rules->out_of_step)
        (void)sm_sockets_drop_last(&c->sockets, c->main.easy);
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
    sm_result_rules rules;
    sm_check_attempt_args(L, 2, &a);
    sm_result_rules_start(L, &rules);
    rules.shape = a.route->shape;
    rules.made = a.made;
    rules.info = a.want_info;
    sm_route_expect(a.route, &rules.expect);
    return attempt(L, c, a.route->path, a.route->len, a.left, a.cred_idx,
                   &rules, a.headers, a.headers_len);
}

/* handle:get_log(team_id, connector_identifier, log_id, seconds [, raw])
 *   -> entry [, info] | nil, error, route
 * (info: when the response carried X-RateLimit headers, for the rate
 * budget.)
 * The common call in one step: checks the ids (raising INVALID_ARGUMENT
 * before any traffic), writes the path straight into the URL, makes the
 * first attempt with the client's own credential, and shapes the entry
 * (raw: checks and returns the body's text, get_connector_log_json).
 * After a failure the Lua layer's retry loop goes on with the route. */
int sm_lua_get_log(lua_State *L)
{
    sm_client *c = sm_check_open_client(L, 1);
    char path[SM_LOG_PATH_MAX];
    sm_log_id id;
    size_t len = sm_log_path(L, 2, path, &id);
    lua_Number left = luaL_checknumber(L, 5);
    sm_result_rules rules;
    int n;
    sm_result_rules_start(L, &rules);
    rules.shape = lua_toboolean(L, 6) ? SM_SHAPE_RAW : SM_SHAPE_ENTRY;
    rules.expect.id = id.s;
    rules.expect.id_len = id.len;
    /* The handle and the log id (id.s) stay referenced; results go above. */
    lua_settop(L, 4);
    n = attempt(L, c, path, len, left, 6, &rules, NULL, 0);
    if (!lua_isnil(L, -n))
        return n; /* the entry [, its info: the response's rate limits] */
    sm_push_route(L, rules.shape, path, len, id.s, id.len, 0);
    return 3;
}
