/*
 * transfer.h: one request's state on one libcurl easy handle: the URL, the
 * capped body buffer and what the headers said. The single-call handle has
 * one; a batch has one per slot. A finished transfer becomes an outcome
 * (outcome.h) here: libcurl's codes go no further.
 */
#ifndef SM_TRANSFER_H
#define SM_TRANSFER_H

#include <lua.h>
#include <curl/curl.h>

#include "buffer.h"
#include "credential.h"
#include "endpoint.h"
#include "entry.h"
#include "outcome.h"
#include "response.h"

typedef struct sm_transfer {
    CURL *easy;
    sm_buffer body;
    sm_meta meta;
    char *url;       /* base_url + path of the current request */
    size_t url_cap;
    size_t url_len;  /* of the URL easy holds (0: none set yet) */
    long timeout_ms, connect_timeout_ms; /* as last set on easy; -1 unset */
    int fresh;       /* this transfer is a resend on a new connection */
    /* Extra request headers (sm_transfer_headers): copies of their lines,
     * and the list libcurl is given, whose nodes point into those copies
     * and end on the credential's own list. Grown once, then reused. */
    char *extra;
    size_t extra_cap;
    struct curl_slist *nodes;
    size_t nodes_cap;
    int extra_on;    /* easy's HTTPHEADER is nodes, not the credential's */
    char errbuf[CURL_ERROR_SIZE];
} sm_transfer;

/* Points easy's callbacks at t (C memory only: they never touch Lua) and
 * caps its body at limit bytes. Returns the first failing setopt's code. */
CURLcode sm_transfer_init(sm_transfer *t, CURL *easy, size_t limit);

/* Readies t for GET base .. path with timeouts in ms. Returns 0, or -1 when
 * out of memory or a setopt fails. */
int sm_transfer_prepare(sm_transfer *t, const char *base, size_t base_len,
                        const char *path, size_t path_len, long timeout_ms,
                        long connect_timeout_ms);


/* The request's header list: the credential's (Accept, Authorization),
 * after the extra lines of block[0..len) ("Name: value\r\n" each, checked
 * by the Lua layer; only whole lines are taken) when len > 0. The
 * credential's lines are not copied. With len 0 and no extra lines set
 * before, nothing is done unless force. Returns 0, or -1 when out of
 * memory, a setopt fails or block is not whole lines. */
int sm_transfer_headers(sm_transfer *t, const sm_credential *cred,
                        const char *block, size_t len, int force);

/* After the exchange finished with rc: its outcome as Lua values
 * (sm_push_outcome, with a, d and out_of_step), libcurl's codes and words
 * turned into the library's here; proxy: the client's, to name in a
 * failure that was the proxy's (NULL: none). */
int sm_transfer_push_result(lua_State *L, sm_transfer *t, CURLcode rc,
                            const sm_asked *a, sm_json_decoder *d,
                            const sm_proxy *proxy, int *out_of_step);

/* After a finished transfer of an attempt that had timeout_ms: readies t to
 * send its request again on a new connection (its URL and options as they
 * are) within what is left of that time. Returns the milliseconds the
 * resend gets, or 0 when none are left or a setopt fails. */
long sm_transfer_refresh(sm_transfer *t, long timeout_ms);

/* When a reused connection turns out dead, libcurl sends the request again
 * on another, up to five times, and then fails with CURLE_SEND_ERROR
 * ("Connection died, tried 5 times before giving up"). libcurl 7.88 counts
 * those resends per easy handle for its whole life, not per transfer (later
 * versions fixed that), so a long-lived handle fails at the sixth server
 * drop ever; a pool holding several dropped connections can also use up
 * five at once. Either way no response came: after such a failure this
 * readies t to send once more on a new connection, on a copy of its handle
 * (same options and callback data, the count at zero; connections in a share
 * handle stay in the pool), and returns 1; else 0. The resend is not an
 * attempt of ours, as libcurl's are not. */
int sm_transfer_resend_due(sm_transfer *t, CURLcode rc);

/* curl_easy_perform with that one resend. */
CURLcode sm_transfer_perform(sm_transfer *t);

/* Frees what t owns (not the easy handle). Safe to call twice. */
void sm_transfer_free(sm_transfer *t);

#endif
