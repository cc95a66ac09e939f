/*
 * fuzz_http1: the incremental HTTP/1.1 response reader of the cosocket
 * transport (src/http1.c), fed as a socket feeds it: in pieces of any size,
 * then maybe the peer's close.
 *
 * Input: 1 byte of mode, 2 bytes of body limit, 1 byte of seed, then the
 * rest. Mode bit 0: the rest is not a stream but the parts of a response the
 * harness builds itself (interim responses, status, headers, framing, body,
 * chunk sizes and extensions, trailers, long lines), which must read back as
 * exactly those parts; bit 1: the peer closes after the last byte (always so
 * when building); bit 2: the limit is one of a few fixed sizes, else
 * 1..65536. The seed picks how the stream is split.
 *
 * The same bytes go to three readers: whole, one byte at a time (streams up
 * to FUZZ_BYTEWISE_MAX) and in pieces picked by the seed (empty feeds
 * included). Invariants:
 * - splitting changes nothing: result, failure (not its text: one feed
 *   past both the line and the head limit names the limit checked first),
 *   status, keep_alive, until_close, content_length, received, meta and
 *   the body (its bytes too, unless the failure is TOO_LARGE: a refused
 *   piece is dropped whole, so how much was kept depends on the pieces);
 * - after every feed: received counts every byte fed, the body is within its
 *   limit, FAILED comes with a failure and a text and never keep_alive,
 *   over_limit iff TOO_LARGE, DONE only for a final status with its blank
 *   line seen and no body for 204/304, until_close never with keep_alive;
 * - once DONE or FAILED, further feeds change nothing but keep_alive, which
 *   bytes past a DONE response take away;
 * - eof keeps DONE and FAILED as they are; while MORE, it gives DONE for a
 *   body that runs to the close and a BROKEN failure otherwise; twice is
 *   once;
 * - framing: a response completes at a line end (chunked, or no body) or
 *   after exactly Content-Length bytes, which are the body; a body that ran
 *   to the close is the stream's tail; a body that is not the declared
 *   Content-Length (chunked won) never leaves the connection reusable;
 * - sm_http1_start makes a used reader read the same stream the same way;
 * - when building: the status, body, meta and keep_alive built, or the
 *   failure the parts call for (a line over SM_HTTP1_LINE_MAX or a head
 *   over SM_HTTP1_HEADERS_MAX: BROKEN; a body over the limit: TOO_LARGE; a
 *   coding: ENCODED).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buffer.h"
#include "http1.h"
#include "response.h"

#include "invariant.h"

/* A fixed "now" keeps runs reproducible (2023-11-14). */
#define FUZZ_NOW ((time_t)1700000000)
/* Streams up to this size are also fed one byte at a time. */
#define FUZZ_BYTEWISE_MAX 16384
#define CL_NONE (~0ULL)

#define MODE_GENERATE 1
#define MODE_EOF 2
#define MODE_FIXED_LIMIT 4

static const size_t fixed_limits[] = {1, 2, 3, 5, 16, 100, 1024, 4096};

/* ---- one reader and what it saw ---- */

typedef struct run {
    sm_http1 p;
    sm_meta meta;
    sm_buffer body;
    size_t fed;        /* bytes given to sm_http1_feed */
    int settled;       /* the result left MORE */
    size_t done_at;    /* fed when it turned DONE through a feed, else 0 */
    int by_eof;        /* it turned DONE or FAILED through sm_http1_eof */
    int s_result, s_failure;
    long s_status;
    size_t s_len;      /* the body's length then, and its hash */
    uint32_t s_sum;
    sm_meta s_meta;
} run;

static uint32_t hash(const char *s, size_t n)
{
    uint32_t h = 2166136261u;
    size_t i;
    for (i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

static int meta_equal(const sm_meta *a, const sm_meta *b)
{
    return strcmp(a->request_id, b->request_id) == 0 &&
           (a->retry_after == b->retry_after ||
            (a->retry_after < 0 && b->retry_after < 0)) &&
           a->rate_limit == b->rate_limit &&
           a->rate_remaining == b->rate_remaining &&
           a->headers_done == b->headers_done;
}

static void check_meta(const sm_meta *m)
{
    size_t n = strlen(m->request_id);
    FUZZ_ASSERT(n == 0 || sm_valid_request_id(m->request_id, n));
    FUZZ_ASSERT(m->retry_after == -1 ||
                (m->retry_after >= 0 && m->retry_after <= SM_RETRY_AFTER_MAX));
    FUZZ_ASSERT(m->rate_limit >= -1 && m->rate_remaining >= -1);
}

static void run_init(run *r, size_t limit)
{
    memset(r, 0, sizeof *r);
    sm_buffer_init(&r->body, limit);
    sm_http1_init(&r->p);
    sm_http1_start(&r->p, &r->meta, &r->body);
}

/* sm_http1_start again, on a reader that has been used. */
static void run_restart(run *r)
{
    sm_http1_start(&r->p, &r->meta, &r->body);
    r->fed = 0;
    r->settled = 0;
    r->done_at = 0;
    r->by_eof = 0;
}

static void run_free(run *r)
{
    sm_http1_free(&r->p);
    sm_buffer_free(&r->body);
}

/* What holds after any feed or eof. */
static void check_state(const run *r)
{
    const sm_http1 *p = &r->p;
    int failed = p->result == SM_HTTP1_FAILED;
    FUZZ_ASSERT(p->result == SM_HTTP1_MORE || p->result == SM_HTTP1_DONE ||
                failed);
    FUZZ_ASSERT(p->meta == &r->meta && p->body == &r->body);
    FUZZ_ASSERT(p->received == r->fed);
    FUZZ_ASSERT(failed == (p->failure != SM_HTTP1_OK));
    FUZZ_ASSERT(failed == (p->why != NULL));
    FUZZ_ASSERT(p->failure >= SM_HTTP1_OK && p->failure <= SM_HTTP1_ENCODED);
    FUZZ_ASSERT(!failed || !p->keep_alive);
    FUZZ_ASSERT(r->body.len <= r->body.limit && r->body.len <= p->received);
    FUZZ_ASSERT(r->body.cap <= r->body.limit && !r->body.out_of_memory);
    FUZZ_ASSERT(r->body.over_limit == (p->failure == SM_HTTP1_TOO_LARGE));
    FUZZ_ASSERT(p->status == 0 || (p->status >= 100 && p->status <= 599));
    FUZZ_ASSERT(p->status != 101 || failed);
    if (p->until_close)
        FUZZ_ASSERT(!p->keep_alive && p->status >= 200 && p->status != 204 &&
                    p->status != 304 && p->content_length == CL_NONE);
    if (p->result == SM_HTTP1_DONE) {
        FUZZ_ASSERT(p->status >= 200 && r->meta.headers_done);
        if (p->status == 204 || p->status == 304)
            FUZZ_ASSERT(r->body.len == 0);
    }
}

static void settle(run *r, int by_eof)
{
    check_meta(&r->meta);
    r->settled = 1;
    r->by_eof = by_eof;
    if (!by_eof && r->p.result == SM_HTTP1_DONE)
        r->done_at = r->fed;
    r->s_result = r->p.result;
    r->s_failure = r->p.failure;
    r->s_status = r->p.status;
    r->s_len = r->body.len;
    r->s_sum = hash(r->body.data, r->body.len);
    r->s_meta = r->meta;
}

/* Nothing but keep_alive and received changes once settled. */
static void check_settled(const run *r, int full)
{
    FUZZ_ASSERT(r->p.result == r->s_result && r->p.failure == r->s_failure);
    FUZZ_ASSERT(r->p.status == r->s_status && r->body.len == r->s_len);
    FUZZ_ASSERT(meta_equal(&r->meta, &r->s_meta));
    if (full)
        FUZZ_ASSERT(hash(r->body.data, r->body.len) == r->s_sum);
}

static void feed(run *r, const uint8_t *data, size_t n)
{
    int before = r->p.result, keep = r->p.keep_alive;
    int rc = sm_http1_feed(&r->p, (const char *)data, n, FUZZ_NOW);
    r->fed += n;
    FUZZ_ASSERT(rc == r->p.result);
    check_state(r);
    if (n == 0)
        FUZZ_ASSERT(rc == before && r->p.keep_alive == keep);
    if (r->settled) {
        check_settled(r, 0);
        if (n > 0 && rc == SM_HTTP1_DONE)
            FUZZ_ASSERT(!r->p.keep_alive); /* bytes past the response */
        else
            FUZZ_ASSERT(r->p.keep_alive == keep);
    } else if (rc != SM_HTTP1_MORE) {
        settle(r, 0);
    }
}

/* The peer closes. */
static void close_run(run *r)
{
    int before = r->p.result, until_close = r->p.until_close;
    int failure = r->p.failure;
    size_t len = r->body.len;
    int rc = sm_http1_eof(&r->p);
    FUZZ_ASSERT(rc == r->p.result && !r->p.keep_alive);
    if (before == SM_HTTP1_MORE) {
        FUZZ_ASSERT(rc == (until_close ? SM_HTTP1_DONE : SM_HTTP1_FAILED));
        FUZZ_ASSERT(rc == SM_HTTP1_DONE || r->p.failure == SM_HTTP1_BROKEN);
    } else {
        FUZZ_ASSERT(rc == before && r->p.failure == failure);
    }
    FUZZ_ASSERT(r->body.len == len);
    check_state(r);
    if (r->settled)
        check_settled(r, 1);
    else
        settle(r, 1);
    FUZZ_ASSERT(sm_http1_eof(&r->p) == rc); /* twice is once */
    check_settled(r, 1);
}

/* ---- splitting ---- */

static uint32_t rnd(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *s = x;
    return x;
}

/* The next piece's size, at most left (0: an empty feed). */
static size_t piece(int how, uint32_t *rng, size_t left)
{
    size_t k;
    switch (how) {
    case 0:
        k = 1;
        break;
    case 1:
        k = rnd(rng) % 9;
        break;
    case 2:
        k = 1 + rnd(rng) % left;
        break;
    default:
        k = 1 + rnd(rng) % ((size_t)2 << (rnd(rng) % 12));
        break;
    }
    return k < left ? k : left;
}

static void feed_split(run *r, const uint8_t *s, size_t n, int how,
                       uint32_t *rng)
{
    size_t at = 0;
    if (n > FUZZ_BYTEWISE_MAX && how < 2)
        how = 3;
    while (at < n) {
        size_t k = piece(how, rng, n - at);
        feed(r, s + at, k);
        at += k;
    }
    if (n == 0)
        feed(r, s, 0);
}

/* Whole against split: the same outcome. */
static void compare(const run *a, const run *b)
{
    const sm_http1 *p = &a->p, *q = &b->p;
    check_meta(&a->meta);
    FUZZ_ASSERT(p->result == q->result && p->failure == q->failure);
    FUZZ_ASSERT((p->why == NULL) == (q->why == NULL));
    FUZZ_ASSERT(p->status == q->status && p->keep_alive == q->keep_alive);
    FUZZ_ASSERT(p->until_close == q->until_close);
    FUZZ_ASSERT(p->content_length == q->content_length);
    FUZZ_ASSERT(p->received == q->received);
    FUZZ_ASSERT(meta_equal(&a->meta, &b->meta));
    FUZZ_ASSERT(a->body.over_limit == b->body.over_limit);
    if (p->failure != SM_HTTP1_TOO_LARGE)
        FUZZ_ASSERT(a->body.len == b->body.len &&
                    (a->body.len == 0 ||
                     memcmp(a->body.data, b->body.data, a->body.len) == 0));
}

/* Where a response may end, from the reader fed one byte at a time (before
 * and after the close). */
static void check_framing(const run *r, const uint8_t *s, size_t n)
{
    const sm_http1 *p = &r->p;
    size_t len = r->body.len;
    if (p->result != SM_HTTP1_DONE)
        return;
    if (r->by_eof) {
        /* Ran to the close: the body is the stream's tail. */
        FUZZ_ASSERT(p->until_close && len <= n);
        FUZZ_ASSERT(len == 0 || memcmp(r->body.data, s + n - len, len) == 0);
        return;
    }
    FUZZ_ASSERT(!p->until_close && r->done_at > 0 && r->done_at <= n);
    if (s[r->done_at - 1] != '\n') {
        /* Only a Content-Length body ends elsewhere than a line end. */
        FUZZ_ASSERT(p->content_length == len && len > 0 && len <= r->done_at);
        FUZZ_ASSERT(memcmp(r->body.data, s + r->done_at - len, len) == 0);
    }
    if (p->content_length != CL_NONE && p->content_length != len &&
        p->status != 204 && p->status != 304)
        FUZZ_ASSERT(!p->keep_alive); /* chunked and Content-Length */
}

/* ---- building a response from parts ---- */

typedef struct gen {
    const uint8_t *in; /* the parts */
    size_t in_len, in_at;
    char *s; /* the stream */
    size_t len, cap;
    const char *eol;
    size_t limit;
    int head;          /* lines count as header bytes */
    size_t head_bytes;
    size_t line_at;    /* where the current line started */
    int failure;       /* the first failure the stream so far must give */
    /* what the final response must read as, when it does not fail */
    long status;
    int keep_alive, until_close;
    sm_meta meta;
    const uint8_t *body;
    size_t body_len;
} gen;

static unsigned take(gen *g)
{
    return g->in_at < g->in_len ? g->in[g->in_at++] : 0;
}

static unsigned take16(gen *g)
{
    unsigned hi = take(g);
    return hi << 8 | take(g);
}

static void put(gen *g, const void *b, size_t n)
{
    if (n == 0)
        return; /* g->s may still be NULL: no memcpy to NULL + 0 */
    if (n > g->cap - g->len) {
        size_t cap = g->cap ? g->cap : 4096;
        char *grown;
        while (cap - g->len < n)
            cap *= 2;
        grown = realloc(g->s, cap);
        FUZZ_ASSERT(grown != NULL);
        g->s = grown;
        g->cap = cap;
    }
    memcpy(g->s + g->len, b, n);
    g->len += n;
}

static void put_str(gen *g, const char *s) { put(g, s, strlen(s)); }

static void put_fill(gen *g, char c, size_t n)
{
    char block[256];
    memset(block, c, sizeof block);
    while (n > 0) {
        size_t k = n < sizeof block ? n : sizeof block;
        put(g, block, k);
        n -= k;
    }
}

static void expect_failure(gen *g, int failure)
{
    if (g->failure == SM_HTTP1_OK)
        g->failure = failure;
}

static void line_start(gen *g) { g->line_at = g->len; }

/* Ends the current line: the reader refuses one longer than
 * SM_HTTP1_LINE_MAX, and heads longer than SM_HTTP1_HEADERS_MAX. */
static void line_end(gen *g)
{
    size_t n;
    put_str(g, g->eol);
    n = g->len - g->line_at;
    if (g->head) {
        g->head_bytes += n;
        if (g->head_bytes > SM_HTTP1_HEADERS_MAX)
            expect_failure(g, SM_HTTP1_BROKEN);
    }
    if (n > SM_HTTP1_LINE_MAX)
        expect_failure(g, SM_HTTP1_BROKEN);
}

static void put_line(gen *g, const char *s)
{
    line_start(g);
    put_str(g, s);
    line_end(g);
}

/* A run of filler after prefix: a line a byte or two either side of
 * SM_HTTP1_LINE_MAX, up to 128 KiB, or up to 4 KiB (long streams are slow
 * to feed, so the short kind is the common one). */
static void put_long(gen *g, const char *prefix, char c)
{
    unsigned pick = take(g);
    size_t fixed = g->len - g->line_at + strlen(prefix) + strlen(g->eol);
    size_t n = take16(g);
    if (pick & 1)
        n = SM_HTTP1_LINE_MAX - fixed + (pick >> 1) % 4 - 1;
    else if (pick & 2)
        n *= 2;
    else
        n %= 4096;
    put_str(g, prefix);
    put_fill(g, c, n);
}

static const char id_chars[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";

/* One header of the final response; *conn gets 1 for close, 2 for
 * keep-alive, *encoded 1 for a content coding. */
static void put_header(gen *g, int *conn, int *encoded)
{
    static const char *const connection[] = {"close", "keep-alive",
                                             "Keep-Alive", "TE, close",
                                             "upgrade"};
    static const char *const coding[] = {"identity", "gzip", "", "br"};
    char num[32];
    unsigned kind = take(g) % 8, v, i, n;
    line_start(g);
    switch (kind) {
    case 0: /* X-Request-Id: the last valid one counts */
        n = 1 + take(g) % 140;
        put_str(g, n & 1 ? "X-Request-Id: " : "x-request-id:");
        for (i = 0; i < n; i++)
            put(g, &id_chars[take(g) % (sizeof id_chars - 1)], 1);
        if (n <= SM_REQUEST_ID_MAX) {
            memcpy(g->meta.request_id, g->s + g->len - n, n);
            g->meta.request_id[n] = '\0';
        }
        break;
    case 1:
    case 2:
    case 3:
        v = take16(g);
        snprintf(num, sizeof num, "%u", v);
        put_str(g, kind == 1   ? "X-RateLimit-Limit: "
                   : kind == 2 ? "X-RateLimit-Remaining: "
                               : "Retry-After: ");
        put_str(g, num);
        if (kind == 1)
            g->meta.rate_limit = v;
        else if (kind == 2)
            g->meta.rate_remaining = v;
        else
            g->meta.retry_after = v;
        break;
    case 4: /* any other field: a name no one looks at, printable value */
        put_str(g, "X-F");
        n = 1 + take(g) % 8;
        for (i = 0; i < n; i++)
            put(g, &id_chars[26 + take(g) % 37], 1);
        put_str(g, ":");
        n = take(g) % 33;
        for (i = 0; i < n; i++) {
            char c = (char)(' ' + take(g) % 95);
            put(g, &c, 1);
        }
        break;
    case 5:
        v = take(g) % 5;
        put_str(g, "Connection: ");
        put_str(g, connection[v]);
        if (v == 0 || v == 3)
            *conn |= 1;
        else if (v == 1 || v == 2)
            *conn |= 2;
        break;
    case 6:
        v = take(g) % 4;
        put_str(g, "Content-Encoding: ");
        put_str(g, coding[v]);
        if (v == 1 || v == 3)
            *encoded = 1;
        break;
    default:
        put_long(g, "X-Long: ", 'a');
        break;
    }
    line_end(g);
}

/* A chunk's size line: leading zeros, either case, an extension. */
static void put_chunk_size(gen *g, size_t size)
{
    char hex[32];
    unsigned style = take(g), zeros = style & 3, digits;
    if (style & 0x80)
        zeros = 13; /* past 15 digits with any size but 0 and 1..F */
    snprintf(hex, sizeof hex, style & 4 ? "%zX" : "%zx", size);
    digits = zeros + (unsigned)strlen(hex);
    line_start(g);
    put_fill(g, '0', zeros);
    put_str(g, hex);
    switch ((style >> 3) & 3) {
    case 1:
        put_str(g, ";name=value");
        break;
    case 2:
        put_str(g, " ; x");
        break;
    case 3:
        if (style & 0x40)
            put_long(g, ";", 'e');
        else
            put_str(g, ";a=\"q;\\\"\";b");
        break;
    default:
        break;
    }
    line_end(g);
    if (digits > 15)
        expect_failure(g, SM_HTTP1_BROKEN);
}

static void gen_interim(gen *g)
{
    static const int codes[] = {100, 102, 103, 101};
    char text[64];
    unsigned pick = take(g);
    int code = codes[pick & 3];
    snprintf(text, sizeof text, "HTTP/1.1 %d Interim", code);
    put_line(g, text);
    if (code == 101)
        expect_failure(g, SM_HTTP1_BROKEN);
    /* None of these may reach the final response. */
    if (pick & 4)
        put_line(g, "X-Request-Id: interim");
    if (pick & 8)
        put_line(g, "Content-Length: 99999999");
    if (pick & 16)
        put_line(g, "Transfer-Encoding: gzip");
    if (pick & 32)
        put_line(g, "Connection: close");
    put_line(g, "");
}

/* framing: 0 Content-Length, 1 chunked, 2 to the close, 3 both of 0 and 1. */
static void gen_response(gen *g)
{
    char text[96];
    unsigned flags = take(g), framing = (flags >> 4) & 3, style, i, n;
    int v10 = (flags & 1) != 0, te_other = (flags & 64) != 0;
    int conn = 0, encoded = 0, no_body;
    unsigned long long cl = 0;
    g->eol = flags & 2 ? "\n" : "\r\n";
    g->head = 1;
    n = (flags >> 2) & 3;
    for (i = 0; i < n; i++)
        gen_interim(g);

    g->status = 200 + take16(g) % 400;
    no_body = g->status == 204 || g->status == 304;
    style = take(g);
    snprintf(text, sizeof text, "HTTP/1.%c %ld%s", v10 ? '0' : '1', g->status,
             style % 3 == 0 ? "" : style % 3 == 1 ? " OK" : " ");
    line_start(g);
    put_str(g, text);
    if (style % 3 == 2)
        for (i = 0; i < style % 16; i++) {
            char c = (char)(' ' + take(g) % 95);
            put(g, &c, 1);
        }
    line_end(g);
    sm_meta_reset(&g->meta);
    n = take(g) % 8;
    for (i = 0; i < n; i++)
        put_header(g, &conn, &encoded);

    /* The body comes straight from the input. */
    g->body_len = take16(g) % (g->in_len - g->in_at + 1);
    g->body = g->in + g->in_at;
    g->in_at += g->body_len;
    style = take(g);
    if (framing == 0 || framing == 3) {
        cl = framing == 0 ? g->body_len : take16(g);
        snprintf(text, sizeof text,
                 style & 1 ? "content-length:%llu" : "Content-Length: %llu  ",
                 cl);
        put_line(g, text);
        if (style & 2)
            put_line(g, text); /* the same again is allowed */
    }
    if (framing == 1 || framing == 3)
        put_line(g, te_other      ? "Transfer-Encoding: gzip, chunked"
                    : style & 4 ? "transfer-encoding:  Chunked "
                                : "Transfer-Encoding: chunked");
    put_line(g, "");
    g->head = 0;
    g->meta.headers_done = 1;

    /* What the end of the head decides, in http1.c's order. */
    g->keep_alive = !v10;
    if (conn & 1)
        g->keep_alive = 0;
    else if (conn & 2)
        g->keep_alive = 1;
    if (no_body) {
        g->body_len = 0;
    } else if (encoded || ((framing == 1 || framing == 3) && te_other)) {
        expect_failure(g, SM_HTTP1_ENCODED);
    } else if (framing == 3 || (framing == 1 && v10)) {
        /* chunked with Content-Length, or chunked in HTTP/1.0: faulty
         * framing, not trusted with another request (RFC 9112, 6.1/6.3) */
        g->keep_alive = 0;
    } else if (framing == 0 && cl > g->limit) {
        expect_failure(g, SM_HTTP1_TOO_LARGE);
    } else if (framing == 2) {
        g->until_close = g->failure == SM_HTTP1_OK;
        g->keep_alive = 0;
    }

    if (!no_body && (framing == 1 || framing == 3)) {
        size_t at = 0;
        while (at < g->body_len) {
            size_t k = take(g); /* two takes, in this order */
            k = 1 + k * (1 + (take(g) & 15));
            if (k > g->body_len - at)
                k = g->body_len - at;
            put_chunk_size(g, k);
            put(g, g->body + at, k);
            at += k;
            if (at > g->limit)
                expect_failure(g, SM_HTTP1_TOO_LARGE);
            put_line(g, ""); /* the chunk's CRLF */
        }
        put_chunk_size(g, 0);
        /* Trailer lines count toward the head's limit, as in http1.c. */
        g->head = 1;
        n = take(g) % 3;
        for (i = 0; i < n; i++) {
            line_start(g);
            if ((take(g) & 3) == 3)
                put_long(g, "X-Trailer: ", 't');
            else
                put_str(g, "X-Trailer: yes");
            line_end(g);
        }
        put_line(g, "");
        g->head = 0;
    } else if (!no_body) {
        put(g, g->body, g->body_len);
        if (framing == 2 && g->body_len > g->limit)
            expect_failure(g, SM_HTTP1_TOO_LARGE);
    }
    /* Bytes past a framed response: the connection is out of step. */
    if (!g->until_close && (take(g) & 1)) {
        put_str(g, "HTTP/1.1 200 OK\r\n\r\n");
        g->keep_alive = 0;
    }
}

/* The whole-stream reader against the parts, before and after the close. */
static void check_built(const gen *g, const run *r, int closed)
{
    const sm_http1 *p = &r->p;
    if (g->failure != SM_HTTP1_OK) {
        FUZZ_ASSERT(p->result == SM_HTTP1_FAILED && p->failure == g->failure);
        return;
    }
    FUZZ_ASSERT(p->result == (g->until_close && !closed ? SM_HTTP1_MORE
                                                        : SM_HTTP1_DONE));
    FUZZ_ASSERT(p->status == g->status && p->until_close == g->until_close);
    FUZZ_ASSERT(p->keep_alive == (closed ? 0 : g->keep_alive));
    FUZZ_ASSERT(meta_equal(&r->meta, &g->meta));
    FUZZ_ASSERT(r->body.len == g->body_len);
    FUZZ_ASSERT(g->body_len == 0 ||
                memcmp(r->body.data, g->body, g->body_len) == 0);
}

/* ---- the entry ---- */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint8_t after[] =
        "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
    run whole, bytewise, split;
    gen g;
    const uint8_t *s;
    size_t n, limit;
    unsigned mode;
    uint32_t rng;
    int how, closes, one_by_one;
    if (size < 4)
        return 0;
    mode = data[0];
    if (mode & MODE_FIXED_LIMIT)
        limit = fixed_limits[data[2] % (sizeof fixed_limits /
                                        sizeof fixed_limits[0])];
    else
        limit = 1 + ((size_t)data[1] << 8 | data[2]);
    rng = 2166136261u ^ (uint32_t)data[3] * 16777619u;
    how = data[3] & 3;
    closes = (mode & (MODE_EOF | MODE_GENERATE)) != 0;

    memset(&g, 0, sizeof g);
    g.failure = SM_HTTP1_OK;
    if (mode & MODE_GENERATE) {
        g.in = data + 4;
        g.in_len = size - 4;
        g.limit = limit;
        gen_response(&g);
        s = (const uint8_t *)g.s;
        n = g.len;
    } else {
        s = data + 4;
        n = size - 4;
    }

    run_init(&whole, limit);
    run_init(&bytewise, limit);
    run_init(&split, limit);
    feed(&whole, s, n);
    one_by_one = n <= FUZZ_BYTEWISE_MAX;
    if (one_by_one) {
        feed_split(&bytewise, s, n, 0, &rng);
        compare(&whole, &bytewise);
    }
    feed_split(&split, s, n, how, &rng);
    compare(&whole, &split);
    if (one_by_one)
        check_framing(&bytewise, s, n);
    if (mode & MODE_GENERATE)
        check_built(&g, &whole, 0);
    if (closes) {
        close_run(&whole);
        close_run(&split);
        compare(&whole, &split);
        if (one_by_one) {
            close_run(&bytewise);
            compare(&whole, &bytewise);
        }
        if (mode & MODE_GENERATE)
            check_built(&g, &whole, 1);
        if (one_by_one)
            check_framing(&bytewise, s, n);
    }

    /* A used reader, started again, reads the same way. */
    run_restart(&split);
    feed(&split, s, n);
    if (closes)
        close_run(&split);
    compare(&whole, &split);

    /* Once settled, more bytes change nothing. */
    if (whole.settled) {
        feed(&whole, after, sizeof after - 1);
        check_settled(&whole, 1);
    }
    if (one_by_one && bytewise.settled) {
        feed(&bytewise, after, sizeof after - 1);
        check_settled(&bytewise, 1);
    }

    run_free(&whole);
    run_free(&bytewise);
    run_free(&split);
    free(g.s);
    return 0;
}
