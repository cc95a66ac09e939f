/*
 * attempt.h: one HTTP attempt, the same for every route and transport: what
 * it asks (sm_attempt), the checks before it starts (sm_attempt_begin), and
 * on libcurl its one path (sm_attempt_start, then sm_attempt_finish once the
 * transfer ended): the client's single-call handle (perform, get_log) and a
 * batch slot (batch.c) run the same two steps, and sm_attempt_finish is the
 * one place that resends after an answer out of step. nginx's cosockets
 * (cosocket.c) ask and begin the same way; all of them end in an outcome
 * (outcome.h).
 */
#ifndef SM_ATTEMPT_H
#define SM_ATTEMPT_H

#include <lua.h>

#include "client.h"
#include "route.h"

/* What an attempt's request is: its path, and what its answer must be. */
typedef struct sm_attempt_args {
    const char *path;
    size_t len;
    int shape;        /* entry.h's SM_SHAPE_* */
    sm_expect expect; /* expect.id points at the caller's bytes */
    lua_Number left;  /* seconds left of the call's deadline */
    int cred_idx;     /* stack index of a token_provider's credential */
    long long made;   /* attempts of the call before this one */
    int want_info;
    const char *header_lines; /* extra header lines, or NULL */
    size_t header_lines_len;
} sm_attempt_args;

/* The arguments of every method that starts an attempt on a route
 * (perform, batch_add, request), in this order from stack index first:
 *   route, seconds_left [, credential [, made [, want_info [, header_lines]]]]
 * credential: a token_provider's (nil: the client's); made: attempts of the
 * call before this one; header_lines: the extra header lines ("Name:
 * value\r\n" each, checked by the Lua layer). A method's own arguments
 * follow. Reads them (raising for a wrong type: a bug of the Lua layer's). */
void sm_check_attempt_args(lua_State *L, int first, sm_attempt_args *a);

/* One attempt in flight, kept by whoever runs it (the single call's C
 * frame, a batch slot, a cosocket exchange): what it asked, with its own
 * copy of the log id, and the time it was given (libcurl). */
typedef struct sm_attempt {
    sm_asked asked; /* asked.expect.id points at log_id */
    char log_id[SM_LOG_ID_MAX];
    long timeout_ms;
} sm_attempt;

/* Notes in at what the attempt of a asks (not resent yet). */
void sm_attempt_ask(sm_attempt *at, const sm_attempt_args *a);

/* seconds as libcurl's milliseconds, rounded up, capped. */
long sm_timeout_ms(lua_Number seconds);

/* Before an attempt of c, with seconds_left of the call's deadline and
 * made attempts made: takes the token_provider's credential at stack index
 * cred_idx (nil: none) into own (the client's, or a batch slot's own).
 * Returns the credential to send; or, when the attempt must not start (a
 * bad credential, no time left), pushes nil and the error (attempts = made)
 * and returns NULL. Raises INVALID_ARGUMENT when there is no credential at
 * all; call it with no resource held. */
const sm_credential *sm_attempt_begin(lua_State *L, sm_client *c, int cred_idx,
                                      sm_credential *own, lua_Number left,
                                      long long made);

/* libcurl: begins the attempt of a (sm_attempt_begin, own as there), notes
 * it in at and readies transfer t for it. Returns the credential it sends,
 * or NULL with nil and the refusal pushed. Raises when the request cannot
 * be prepared. */
const sm_credential *sm_attempt_start(lua_State *L, sm_client *c,
                                      sm_transfer *t, sm_credential *own,
                                      const sm_attempt_args *a,
                                      sm_attempt *at);

/* libcurl: after t, started for at, ended with rc: pushes the result (as
 * sm_transfer_push_result; credential: the one sent, to redact) and returns
 * how many values; or, after an answer out of step, drops that connection
 * and, the first time and with time left, readies t to send once more on a
 * fresh one, uncounted, pushes nothing and returns 0: run t again and
 * finish it here again. Raises when memory ran out. */
int sm_attempt_finish(lua_State *L, sm_client *c, sm_transfer *t, CURLcode rc,
                      sm_attempt *at, const char *credential);

/* The handle's perform and get_log methods (handle.c lists every method;
 * each is described where it is defined). */
int sm_lua_perform(lua_State *L);
int sm_lua_get_log(lua_State *L);

#endif
