/*
 * json_scan.c: walks a JSON object's top-level members and checks the
 * grammar on the way, RFC 8259's or lua-cjson's (json_scan.h). Everything
 * past the end pointer is never read: the body buffer holds no terminating
 * NUL.
 */
#include "json_scan.h"

#include <string.h>

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    c = (char)(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static const char *skip_ws(const char *p, const char *end)
{
    while (p < end && is_ws(*p))
        p++;
    return p;
}

static long hex4(const char *p);

/* In lua-cjson's grammar, the \u escape at p (its four hex digits checked,
 * end - p >= 6): its length when cjson decodes it, 6, or 12 for a UTF-16
 * pair (a high surrogate, then \u and a low one); 0 for a lone or
 * reversed surrogate, which it refuses. */
static int cjson_escape_len(const char *p, const char *end)
{
    long cp = hex4(p), low;
    if ((cp & 0xF800) != 0xD800)
        return 6;
    if ((cp & 0x400) != 0 || end - p < 12 || p[6] != '\\' || p[7] != 'u')
        return 0;
    low = hex4(p + 6);
    return low >= 0 && (low & 0xFC00) == 0xDC00 ? 12 : 0;
}

/* The bytes that end a run of plain ones in a string: '"', '\\',
 * controls. */
static const unsigned char string_stop[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    0, 0, 1, ['\\'] = 1,
};

/* p at a string's opening quote: returns the byte after its closing quote,
 * or NULL. Sets *escaped when a backslash escape is inside. The mode is
 * read only at what JSON's grammar and lua-cjson's tell apart (a control
 * character, a \u escape): the loop over plain bytes is the same. */
static const char *scan_string(const char *p, const char *end, int *escaped,
                               int mode)
{
    *escaped = 0;
    for (p++; p < end; p++) {
        unsigned char c = (unsigned char)*p;
        if (!string_stop[c])
            continue;
        if (c == '"')
            return p + 1;
        if (c < 0x20) {
            /* Raw control characters are not JSON; lua-cjson takes them
             * but NUL, where its text ends. */
            if (!(mode & SM_JSON_CJSON_TEXT) || c == 0)
                return NULL;
            continue;
        }
        *escaped = 1;
        if (++p == end)
            return NULL;
        if (*p == 'u') {
            int i;
            if (end - p < 5)
                return NULL;
            for (i = 1; i <= 4; i++)
                if (hex_value(p[i]) < 0)
                    return NULL;
            if (mode & SM_JSON_CJSON_ESCAPES) {
                int n = cjson_escape_len(p - 1, end);
                if (n == 0)
                    return NULL;
                p += n - 2; /* from its 'u' to its last byte */
            } else {
                p += 4;
            }
        } else if (strchr("\"\\/bfnrt", *p) == NULL || *p == '\0') {
            return NULL;
        }
    }
    return NULL;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?: returns the byte after
 * the number, or NULL. */
static const char *scan_number(const char *p, const char *end)
{
    if (p < end && *p == '-')
        p++;
    if (p == end || !is_digit(*p))
        return NULL;
    if (*p++ != '0')
        while (p < end && is_digit(*p))
            p++;
    if (p < end && *p == '.') {
        if (++p == end || !is_digit(*p))
            return NULL;
        while (p < end && is_digit(*p))
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || !is_digit(*p))
            return NULL;
        while (p < end && is_digit(*p))
            p++;
    }
    return p;
}

/* A number as lua-cjson reads it (decode_invalid_numbers off): its
 * tokenizer takes '-' or a digit first, refuses a leading zero before a digit
 * or an 'x' (hex), and hands the rest to strtod, which takes digits with
 * at most one '.' (at least one digit) and an exponent with digits. An
 * 'e' without them ends strtod's number, and no token may follow a value
 * with an 'e', so that is refused here at once. Returns the byte after
 * the number, or NULL. */
static const char *scan_number_cjson(const char *p, const char *end)
{
    int digits = 0;
    if (p < end && *p == '-')
        p++;
    else if (p == end || !is_digit(*p))
        return NULL; /* '.', '+'... start no token of cjson's */
    if (p == end)
        return NULL;
    if (*p == '0' && end - p > 1 && (is_digit(p[1]) || (p[1] | 0x20) == 'x'))
        return NULL;
    for (; p < end && is_digit(*p); p++)
        digits = 1;
    if (p < end && *p == '.')
        for (p++; p < end && is_digit(*p); p++)
            digits = 1;
    if (!digits)
        return NULL;
    if (p < end && (*p | 0x20) == 'e') {
        if (++p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || !is_digit(*p))
            return NULL;
        while (p < end && is_digit(*p))
            p++;
    }
    return p;
}

static const char *scan_word(const char *p, const char *end, const char *w,
                             size_t n)
{
    return (size_t)(end - p) >= n && memcmp(p, w, n) == 0 ? p + n : NULL;
}

/* A string, number, true, false or null at p: returns the byte after it,
 * or NULL; *kind says which. */
static const char *scan_scalar(const char *p, const char *end,
                               sm_json_kind *kind, int *escaped, int mode)
{
    *escaped = 0;
    switch (*p) {
    case '"':
        *kind = SM_JSON_STRING;
        return scan_string(p, end, escaped, mode);
    case 't':
        *kind = SM_JSON_TRUE;
        return scan_word(p, end, "true", 4);
    case 'f':
        *kind = SM_JSON_FALSE;
        return scan_word(p, end, "false", 5);
    case 'n':
        *kind = SM_JSON_NULL;
        return scan_word(p, end, "null", 4);
    default:
        *kind = SM_JSON_NUMBER;
        return mode & SM_JSON_CJSON_TEXT ? scan_number_cjson(p, end)
                                         : scan_number(p, end);
    }
}

/* p at a nested '{' or '[' that is level `level` of the text (the top
 * object is level 1): returns the byte after its end, or NULL. Iterative,
 * with a stack of what each open level must close with, so no input can
 * run the C stack out. With cost, adds what decoding it would take. */
static const char *skip_nested(const char *p, const char *end, int level,
                               int mode, unsigned long long *cost)
{
    char close[SM_JSON_MAX_DEPTH];
    int n = 0, escaped;
    sm_json_kind kind;
    const char *q;
    for (;;) {
        /* p is at a value. */
        if (*p == '{' || *p == '[') {
            /* n levels below `level` are open: this one is level + n. */
            if (level + n > SM_JSON_MAX_DEPTH)
                return NULL;
            if (cost != NULL)
                *cost += SM_JSON_COST_TABLE;
            close[n++] = *p == '{' ? '}' : ']';
            p = skip_ws(p + 1, end);
            if (p == end)
                return NULL;
            if (*p == close[n - 1]) {
                p++;
                n--;
            } else if (close[n - 1] == ']') {
                if (cost != NULL)
                    *cost += SM_JSON_COST_ITEM;
                continue; /* the array's first value */
            } else {
                goto key;
            }
        } else {
            q = scan_scalar(p, end, &kind, &escaped, mode);
            if (q == NULL)
                return NULL;
            if (cost != NULL && kind == SM_JSON_STRING)
                *cost += SM_JSON_COST_STRING + (unsigned long long)(q - p);
            p = q;
        }
        /* After a value: close levels, or a comma and the next one. */
        for (;;) {
            if (n == 0)
                return p;
            p = skip_ws(p, end);
            if (p == end)
                return NULL;
            if (*p != close[n - 1])
                break;
            p++;
            n--;
        }
        if (*p != ',')
            return NULL;
        p = skip_ws(p + 1, end);
        if (p == end)
            return NULL;
        if (close[n - 1] == ']') {
            if (cost != NULL)
                *cost += SM_JSON_COST_ITEM;
            continue;
        }
    key:
        if (*p != '"' || (q = scan_string(p, end, &escaped, mode)) == NULL)
            return NULL;
        if (cost != NULL)
            *cost += SM_JSON_COST_MEMBER + SM_JSON_COST_STRING +
                     (unsigned long long)(q - p);
        p = skip_ws(q, end);
        if (p == end || *p != ':')
            return NULL;
        p = skip_ws(p + 1, end);
        if (p == end)
            return NULL;
    }
}

int sm_json_open_as(sm_json_scan *s, const char *text, size_t len, int mode)
{
    /* An empty body may have no buffer at all: NULL + 0 is undefined. */
    const char *end = text != NULL ? text + len : text;
    const char *p = skip_ws(text, end);
    if (p == end || *p != '{')
        return -1;
    s->p = p + 1;
    s->end = end;
    s->started = 0;
    s->level = 1;
    s->mode = mode;
    s->cost = NULL;
    return 0;
}

int sm_json_open(sm_json_scan *s, const char *text, size_t len)
{
    return sm_json_open_as(s, text, len, SM_JSON_STRICT);
}

/* At the end of the object or array s reads (p after its closing bracket):
 * a nested one goes on in its parent; the top object is the whole text. */
static int at_close(sm_json_scan *s, const char *p)
{
    if (s->level > 1) {
        s->p = p;
        return 0;
    }
    p = skip_ws(p, s->end);
    s->p = p;
    return p == s->end ? 0 : -1;
}

/* Before the next member or item: the comma after the one before, or the
 * closing bracket. Returns 1 with s->p at what follows, else what
 * sm_json_key and sm_json_item return. */
static int before_next(sm_json_scan *s, char close)
{
    const char *p = skip_ws(s->p, s->end), *end = s->end;
    if (p == end)
        return -1;
    if (*p == close)
        return at_close(s, p + 1);
    if (s->started) {
        if (*p != ',')
            return -1;
        p = skip_ws(p + 1, end);
        if (p == end)
            return -1;
    }
    s->p = p;
    s->started = 1;
    return 1;
}

int sm_json_key(sm_json_scan *s, sm_json_span *key)
{
    const char *p, *q, *end = s->end;
    int r = before_next(s, '}');
    if (r != 1)
        return r;
    p = s->p;
    if (*p != '"' || (q = scan_string(p, end, &key->escaped, s->mode)) == NULL)
        return -1;
    key->p = p + 1;
    key->len = (size_t)(q - p) - 2;
    p = skip_ws(q, end);
    if (p == end || *p != ':')
        return -1;
    p = skip_ws(p + 1, end);
    if (p == end)
        return -1;
    s->p = p;
    return 1;
}

int sm_json_item(sm_json_scan *s)
{
    return before_next(s, ']');
}

sm_json_kind sm_json_peek(const sm_json_scan *s)
{
    switch (*s->p) {
    case '{':
        return SM_JSON_OBJECT;
    case '[':
        return SM_JSON_ARRAY;
    case '"':
        return SM_JSON_STRING;
    case 't':
        return SM_JSON_TRUE;
    case 'f':
        return SM_JSON_FALSE;
    case 'n':
        return SM_JSON_NULL;
    default:
        return SM_JSON_NUMBER;
    }
}

int sm_json_value(sm_json_scan *s, sm_json_span *v, sm_json_kind *kind)
{
    const char *p = s->p, *end = s->end, *q;
    if (*p == '{' || *p == '[') {
        *kind = *p == '{' ? SM_JSON_OBJECT : SM_JSON_ARRAY;
        v->escaped = 0;
        q = skip_nested(p, end, s->level + 1, s->mode, s->cost);
    } else {
        q = scan_scalar(p, end, kind, &v->escaped, s->mode);
    }
    if (q == NULL)
        return -1;
    if (*kind == SM_JSON_STRING) {
        v->p = p + 1;
        v->len = (size_t)(q - p) - 2;
    } else {
        v->p = p;
        v->len = (size_t)(q - p);
    }
    s->p = q;
    return 0;
}

int sm_json_next(sm_json_scan *s, sm_json_member *m)
{
    int r = sm_json_key(s, &m->key);
    if (r != 1)
        return r;
    return sm_json_value(s, &m->value, &m->kind) == 0 ? 1 : -1;
}

int sm_json_enter(const sm_json_scan *s, sm_json_scan *child)
{
    if ((*s->p != '{' && *s->p != '[') || s->level + 1 > SM_JSON_MAX_DEPTH)
        return -1;
    child->p = s->p + 1;
    child->end = s->end;
    child->started = 0;
    child->level = s->level + 1;
    child->mode = s->mode;
    child->cost = s->cost;
    return 0;
}

void sm_json_leave(sm_json_scan *s, const sm_json_scan *child)
{
    s->p = child->p;
}

/* The code unit of \uXXXX at p (the scanner checked its digits; -1 would
 * say one is not hex). */
static long hex4(const char *p)
{
    long v = 0;
    int i;
    for (i = 2; i < 6; i++) {
        int d = hex_value(p[i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    return v;
}

int sm_json_escape(const char *p, const char *end, char out[4],
                   const char **next)
{
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    long cp;
    if (p[1] != 'u') {
        *next = p + 2;
        out[0] = to[strchr(from, p[1]) - from];
        return 1;
    }
    cp = hex4(p);
    *next = p + 6;
    if (cp < 0)
        return 0;
    if ((cp & 0xF800) == 0xD800) {
        long low;
        /* A pair: a high surrogate, then \u and a low one. */
        if ((cp & 0x400) != 0 || end - p < 12 || p[6] != '\\' || p[7] != 'u')
            return 0;
        low = hex4(p + 6);
        if (low < 0 || (low & 0xFC00) != 0xDC00)
            return 0;
        cp = 0x10000 + ((cp & 0x3FF) << 10 | (low & 0x3FF));
        *next = p + 12;
    }
    if (cp <= 0x7F) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp <= 0x7FF) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp <= 0xFFFF) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

int sm_json_string_is(const sm_json_span *s, const char *text, size_t n)
{
    const char *p = s->p, *end = s->p + s->len;
    size_t at = 0;
    if (!s->escaped)
        return s->len == n && memcmp(s->p, text, n) == 0;
    while (p < end) {
        char out[4];
        int m = 1;
        if (*p == '\\') {
            m = sm_json_escape(p, end, out, &p);
            if (m == 0)
                return 0;
        } else {
            out[0] = *p++;
        }
        if (at + (size_t)m > n || memcmp(text + at, out, (size_t)m) != 0)
            return 0;
        at += (size_t)m;
    }
    return at == n;
}

int sm_json_is_integer(const sm_json_span *v)
{
    size_t i = v->len > 0 && v->p[0] == '-';
    if (i == v->len || (v->p[i] == '0' && v->len - i > 1))
        return 0;
    for (; i < v->len; i++)
        if (v->p[i] < '0' || v->p[i] > '9')
            return 0;
    return 1;
}
