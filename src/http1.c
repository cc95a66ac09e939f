/*
 * http1.c: the incremental HTTP/1.1 response reader (http1.h).
 */
#include "http1.h"

#include <string.h>

/* Where the next byte goes. */
enum {
    ST_STATUS,     /* the status line */
    ST_HEADERS,    /* header lines, up to the blank one */
    ST_BODY,       /* `left` bytes of a Content-Length body */
    ST_CLOSE,      /* a body that runs until the peer closes */
    ST_CHUNK_SIZE, /* a chunk's size line */
    ST_CHUNK_DATA, /* `left` bytes of a chunk */
    ST_CHUNK_END,  /* the CRLF after a chunk */
    ST_TRAILERS,   /* trailer lines after the last chunk, up to a blank one */
    ST_DONE
};

/* content_length before a Content-Length header arrived. */
#define CL_NONE (~0ULL)

static int fail(sm_http1 *p, int failure, const char *why)
{
    p->result = SM_HTTP1_FAILED;
    p->failure = failure;
    p->why = why;
    p->keep_alive = 0;
    p->state = ST_DONE;
    return p->result;
}

static int finish(sm_http1 *p)
{
    p->result = SM_HTTP1_DONE;
    p->state = ST_DONE;
    return p->result;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* The next token of the comma-separated list s[0..n) from *at on: sets
 * *tok / *k (blanks around it trimmed) and returns 1, or 0 at the end. */
static int next_token(const char *s, size_t n, size_t *at, const char **tok,
                      size_t *k)
{
    size_t i = *at;
    for (;;) {
        size_t start, end;
        while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == ','))
            i++;
        if (i >= n) {
            *at = i;
            return 0;
        }
        start = i;
        while (i < n && s[i] != ',')
            i++;
        end = i;
        while (end > start && (s[end - 1] == ' ' || s[end - 1] == '\t'))
            end--;
        if (end > start) {
            *at = i;
            *tok = s + start;
            *k = end - start;
            return 1;
        }
    }
}

/* token (lowercase, sizeof-style length k_want) equals tok[0..k), case
 * aside. */
static int token_is(const char *tok, size_t k, const char *want,
                    size_t k_want)
{
    return k == k_want && sm_header_name_is(tok, want, k);
}

/* Looks through the comma-separated list s for token (lowercase, k bytes):
 * sets *has when it is there and *other when any other token is. */
static void scan_tokens(const char *s, size_t n, const char *token, size_t k,
                        int *has, int *other)
{
    size_t at = 0, tk;
    const char *tok;
    *has = *other = 0;
    while (next_token(s, n, &at, &tok, &tk)) {
        if (token_is(tok, tk, token, k))
            *has = 1;
        else
            *other = 1;
    }
}

/* "HTTP/1.x NNN[ reason]": sets status and the version's keep-alive
 * default. Returns 0, or -1 when the line is not one. */
static int status_line(sm_http1 *p, const char *s, size_t n)
{
    while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (n < 12 || memcmp(s, "HTTP/1.", 7) != 0 || (s[7] != '0' && s[7] != '1') ||
        s[8] != ' ' || s[9] < '1' || s[9] > '5' || s[10] < '0' ||
        s[10] > '9' || s[11] < '0' || s[11] > '9' || (n > 12 && s[12] != ' '))
        return -1;
    p->status = (s[9] - '0') * 100 + (s[10] - '0') * 10 + (s[11] - '0');
    p->keep_alive = s[7] == '1';
    p->http10 = s[7] == '0';
    return 0;
}

/* Content-Length: digits only; a repeat must say the same. Values past 18
 * digits are taken as "too large" (any limit is smaller). */
static int content_length(const char *v, size_t n, unsigned long long *cl)
{
    unsigned long long x = 0;
    size_t i;
    if (n == 0)
        return -1;
    while (n > 1 && v[0] == '0') { /* leading zeros say nothing */
        v++;
        n--;
    }
    for (i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        if (i < 18)
            x = x * 10 + (unsigned long long)(v[i] - '0');
    }
    if (n > 18)
        x = CL_NONE - 1;
    if (*cl != CL_NONE && *cl != x)
        return -1;
    *cl = x;
    return 0;
}

/* What the header lines said about framing (sm_http1.head_flags). */
#define F_CHUNKED 1
#define F_OTHER_CODING 2
#define F_CLOSE 4
#define F_KEEP_ALIVE 8
#define F_ENCODED 16
#define F_TE 32

/* After the blank line of a final response: where the body goes. */
static int headers_done(sm_http1 *p, int flags)
{
    unsigned long long cl = p->content_length;
    if (flags & F_CLOSE)
        p->keep_alive = 0;
    else if (flags & F_KEEP_ALIVE)
        p->keep_alive = 1;
    if (p->status == 204 || p->status == 304)
        return finish(p);
    if (flags & F_ENCODED)
        return fail(p, SM_HTTP1_ENCODED, "the response body is compressed, "
                                         "which was not asked for");
    if (flags & F_TE) {
        if (!(flags & F_CHUNKED) || (flags & F_OTHER_CODING))
            return fail(p, SM_HTTP1_ENCODED,
                        "the response uses a transfer coding other than "
                        "chunked");
        /* Both framings at once: chunked wins, and the connection is not
         * trusted with another request (RFC 9112, 6.3); chunked in an
         * HTTP/1.0 response is faulty framing too (6.1). */
        if (cl != CL_NONE || p->http10)
            p->keep_alive = 0;
        p->state = ST_CHUNK_SIZE;
        return p->result;
    }
    if (cl != CL_NONE) {
        if (cl > (unsigned long long)p->body->limit) {
            p->body->over_limit = 1;
            return fail(p, SM_HTTP1_TOO_LARGE, "the response body is larger "
                                               "than max_response_bytes");
        }
        if (cl == 0)
            return finish(p);
        p->left = cl;
        p->state = ST_BODY;
        return p->result;
    }
    p->until_close = 1;
    p->keep_alive = 0;
    p->state = ST_CLOSE;
    return p->result;
}

/* One header line (not blank, not folded): the framing headers are read
 * here, the rest go to the headers record (sm_meta_field). Matched by the
 * name's length first, then compared once: most lines are none of these. */
static void header(sm_http1 *p, const char *s, size_t n, time_t now)
{
    size_t k = sm_header_name_len(s, n), at = 0, tk;
    const char *v, *tok;
    size_t vn;
    int *flags = &p->head_flags;
    switch (k) {
    case 10: /* Connection */
        if (!sm_header_name_is(s, "connection", k))
            break;
        sm_header_value_after(s, n, k, &v, &vn);
        while (next_token(v, vn, &at, &tok, &tk)) {
            if (token_is(tok, tk, "close", 5))
                *flags |= F_CLOSE;
            else if (token_is(tok, tk, "keep-alive", 10))
                *flags |= F_KEEP_ALIVE;
        }
        return;
    case 14: /* Content-Length */
        if (!sm_header_name_is(s, "content-length", k))
            break;
        sm_header_value_after(s, n, k, &v, &vn);
        if (content_length(v, vn, &p->content_length) != 0)
            fail(p, SM_HTTP1_BROKEN, "the response has an invalid "
                                     "Content-Length");
        return;
    case 16: /* Content-Encoding */
        if (!sm_header_name_is(s, "content-encoding", k))
            break;
        {
            int identity, other;
            sm_header_value_after(s, n, k, &v, &vn);
            scan_tokens(v, vn, "identity", 8, &identity, &other);
            if (other)
                *flags |= F_ENCODED;
        }
        return;
    case 17: /* Transfer-Encoding (or X-RateLimit-Limit, below) */
        if (!sm_header_name_is(s, "transfer-encoding", k))
            break;
        {
            int chunked, other;
            sm_header_value_after(s, n, k, &v, &vn);
            scan_tokens(v, vn, "chunked", 7, &chunked, &other);
            *flags |= F_TE;
            if (chunked)
                *flags |= F_CHUNKED;
            /* chunked alone: any other coding we could not undo. */
            if (other)
                *flags |= F_OTHER_CODING;
        }
        return;
    default:
        break;
    }
    sm_meta_field(p->meta, s, n, k, now);
}

/* One complete line (its CRLF or LF included) in the current state. */
static int line(sm_http1 *p, const char *s, size_t n, time_t now)
{
    int *flags = &p->head_flags;
    switch (p->state) {
    case ST_STATUS:
        if (status_line(p, s, n) != 0)
            return fail(p, SM_HTTP1_BROKEN,
                        "the server's answer is not an HTTP/1.x response");
        if (p->status == 101)
            return fail(p, SM_HTTP1_BROKEN,
                        "the server switched protocols, which was not asked "
                        "for");
        sm_meta_header(p->meta, s, n, now);
        p->content_length = CL_NONE;
        *flags = 0;
        p->state = ST_HEADERS;
        return p->result;
    case ST_HEADERS:
        if ((n == 2 && s[0] == '\r') || n == 1) {
            sm_meta_header(p->meta, s, n, now);
            if (p->status < 200) { /* 1xx: the real response follows */
                p->state = ST_STATUS;
                return p->result;
            }
            return headers_done(p, *flags);
        }
        if (s[0] == ' ' || s[0] == '\t')
            return fail(p, SM_HTTP1_BROKEN, "the response has a folded header "
                                            "line");
        header(p, s, n, now);
        return p->result;
    case ST_CHUNK_SIZE: {
        unsigned long long size = 0;
        size_t i = 0, digits = 0;
        for (; i < n; i++) {
            int c = lower((unsigned char)s[i]), d;
            if (c >= '0' && c <= '9')
                d = c - '0';
            else if (c >= 'a' && c <= 'f')
                d = c - 'a' + 10;
            else
                break;
            if (++digits > 15)
                return fail(p, SM_HTTP1_BROKEN, "a chunk size is too large");
            size = size * 16 + (unsigned long long)d;
        }
        /* After the digits: blanks, a chunk extension, the line end. */
        if (digits == 0 || (s[i] != ';' && s[i] != ' ' && s[i] != '\t' &&
                            s[i] != '\r' && s[i] != '\n'))
            return fail(p, SM_HTTP1_BROKEN, "the response has an invalid "
                                            "chunk size");
        if (size == 0) {
            p->state = ST_TRAILERS;
        } else {
            p->left = size;
            p->state = ST_CHUNK_DATA;
        }
        return p->result;
    }
    case ST_CHUNK_END:
        if (!((n == 2 && s[0] == '\r') || n == 1))
            return fail(p, SM_HTTP1_BROKEN, "a chunk is longer than its size");
        p->state = ST_CHUNK_SIZE;
        return p->result;
    case ST_TRAILERS:
        if ((n == 2 && s[0] == '\r') || n == 1)
            return finish(p);
        return p->result;
    default:
        return p->result;
    }
}

static int is_line_state(int state)
{
    return state == ST_STATUS || state == ST_HEADERS ||
           state == ST_CHUNK_SIZE || state == ST_CHUNK_END ||
           state == ST_TRAILERS;
}

void sm_http1_init(sm_http1 *p)
{
    memset(p, 0, sizeof *p);
    sm_buffer_init(&p->line, SM_HTTP1_LINE_MAX);
}

void sm_http1_free(sm_http1 *p) { sm_buffer_free(&p->line); }

void sm_http1_start(sm_http1 *p, sm_meta *meta, sm_buffer *body)
{
    p->meta = meta;
    p->body = body;
    p->state = ST_STATUS;
    p->result = SM_HTTP1_MORE;
    p->failure = SM_HTTP1_OK;
    p->why = NULL;
    p->status = 0;
    p->keep_alive = 0;
    p->http10 = 0;
    p->head_flags = 0;
    p->until_close = 0;
    p->content_length = CL_NONE;
    p->left = 0;
    p->received = 0;
    p->header_bytes = 0;
    sm_buffer_reset(&p->line);
    sm_meta_reset(meta);
    sm_buffer_reset(body);
}

static int take_body(sm_http1 *p, const char *s, size_t n)
{
    if (sm_buffer_append(p->body, s, n) != 0) {
        if (p->body->out_of_memory)
            return fail(p, SM_HTTP1_BROKEN, "out of memory");
        return fail(p, SM_HTTP1_TOO_LARGE, "the response body is larger than "
                                           "max_response_bytes");
    }
    return p->result;
}

int sm_http1_feed(sm_http1 *p, const char *data, size_t n, time_t now)
{
    const char *end = data + n;
    if (n == 0)
        return p->result;
    p->received += n;
    while (data < end && p->result == SM_HTTP1_MORE) {
        size_t avail = (size_t)(end - data);
        if (is_line_state(p->state)) {
            const char *nl = memchr(data, '\n', avail);
            size_t take = nl ? (size_t)(nl - data) + 1 : avail;
            /* Trailers count too: a server must not stream them forever. */
            int in_head = p->state == ST_STATUS || p->state == ST_HEADERS ||
                          p->state == ST_TRAILERS;
            if (in_head) {
                p->header_bytes += take;
                if (p->header_bytes > SM_HTTP1_HEADERS_MAX)
                    return fail(p, SM_HTTP1_BROKEN,
                                "the response headers are too large");
            }
            /* The same limit whether the line arrives whole or in pieces. */
            if (take > SM_HTTP1_LINE_MAX - p->line.len)
                return fail(p, SM_HTTP1_BROKEN, "a response line is too long");
            if (nl != NULL && p->line.len == 0) {
                line(p, data, take, now); /* whole line in the input */
            } else if (sm_buffer_append(&p->line, data, take) != 0) {
                return fail(p, SM_HTTP1_BROKEN,
                            p->line.out_of_memory ? "out of memory"
                                                  : "a response line is too long");
            } else if (nl != NULL) {
                size_t len = p->line.len;
                p->line.len = 0;
                line(p, p->line.data, len, now);
            }
            data += take;
        } else if (p->state == ST_CLOSE) {
            take_body(p, data, avail);
            data = end;
        } else { /* ST_BODY, ST_CHUNK_DATA */
            size_t take = avail < p->left ? avail : (size_t)p->left;
            if (take_body(p, data, take) != SM_HTTP1_MORE)
                break;
            data += take;
            p->left -= take;
            if (p->left == 0) {
                if (p->state == ST_BODY)
                    finish(p);
                else
                    p->state = ST_CHUNK_END;
            }
        }
    }
    /* More than one response's worth: the stream is out of step. */
    if (data < end && p->result == SM_HTTP1_DONE)
        p->keep_alive = 0;
    return p->result;
}

int sm_http1_eof(sm_http1 *p)
{
    p->keep_alive = 0;
    if (p->result != SM_HTTP1_MORE)
        return p->result;
    if (p->state == ST_CLOSE)
        return finish(p);
    if (p->received == 0)
        return fail(p, SM_HTTP1_BROKEN,
                    "the connection closed before any response arrived");
    if (p->state == ST_STATUS || p->state == ST_HEADERS)
        return fail(p, SM_HTTP1_BROKEN,
                    "the connection closed before the response headers ended");
    return fail(p, SM_HTTP1_BROKEN,
                "the connection closed before the response body ended");
}
