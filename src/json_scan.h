/*
 * json_scan.h: a validating scanner over one JSON object, in RFC 8259's
 * grammar or in lua-cjson's: its top-level members' keys and values as
 * spans of the text, nested values checked and skipped (and, on request,
 * what decoding them would cost), or entered and read the same way, member
 * by member or item by item. It decodes nothing but one escape at a time
 * on request. Plain C over bytes, no Lua: the decoders (json_entry.c,
 * json_page.c), the pass-through check (json_raw.c) and the error body's
 * reader (json_fields.c) read through it, and a fuzzer can drive it alone.
 */
#ifndef SM_JSON_SCAN_H
#define SM_JSON_SCAN_H

#include <stddef.h>

/* Nesting deeper than this in a response is refused rather than decoded
 * (lua-cjson's decode_max_depth, core.c; the top object is level 1). */
#define SM_JSON_MAX_DEPTH 128

typedef enum sm_json_kind {
    SM_JSON_STRING,
    SM_JSON_NUMBER,
    SM_JSON_TRUE,
    SM_JSON_FALSE,
    SM_JSON_NULL,
    SM_JSON_OBJECT,
    SM_JSON_ARRAY
} sm_json_kind;

/* A piece of the text: a string's bytes between its quotes (escapes left
 * as sent), else the value's whole text. */
typedef struct sm_json_span {
    const char *p;
    size_t len;
    int escaped; /* a string holding at least one backslash escape */
} sm_json_span;

typedef struct sm_json_member {
    sm_json_span key;
    sm_json_span value;
    sm_json_kind kind;
} sm_json_member;

/* The grammars a scan reads.
 * SM_JSON_STRICT: RFC 8259's (a \u escape of a lone UTF-16 surrogate is
 * grammar, so it passes).
 * SM_JSON_CJSON: what lua-cjson 2.1.0 decodes (decode_invalid_numbers off,
 * as core.c sets it): raw control characters other than NUL inside
 * strings too, numbers as its tokenizer and strtod read them (1., -.5,
 * 1.e5), and only \u escapes it can turn into UTF-8 (no lone surrogate).
 * lua-cjson takes a NUL between tokens as the end of the text, so it
 * decodes {"a":1}\0junk as {"a":1}: here a NUL anywhere refuses the text,
 * which is then not one JSON object followed by whitespace only.
 * SM_JSON_CJSON_ESCAPES alone: RFC 8259's grammar with cjson's escapes, a
 * text both take. */
enum {
    SM_JSON_STRICT = 0,
    /* Bits of lua-cjson's grammar: the \u escapes it decodes only, its
     * control characters and numbers. */
    SM_JSON_CJSON_ESCAPES = 1,
    SM_JSON_CJSON_TEXT = 2,
    SM_JSON_CJSON = SM_JSON_CJSON_ESCAPES | SM_JSON_CJSON_TEXT
};

/* What decoding a value with lua-cjson may take in Lua's memory, at most:
 * a table, an array's slot, an object's member (its node), a string (plus
 * its length). Measured on Lua 5.1, 5.4 and LuaJIT 2.1 with lua-cjson
 * 2.1.0 (collectgarbage "count": 73-85 bytes an empty table with its slot,
 * 10-21 a number in an array, 84-105 a member with a short key, 51-53 a
 * short string with its slot), with room for the allocator's own headers
 * and for a table's parts doubling as they grow. */
#define SM_JSON_COST_TABLE 80
#define SM_JSON_COST_ITEM 32
#define SM_JSON_COST_MEMBER 80
#define SM_JSON_COST_STRING 48

/* Where a read of one object or array is: the top object, or one entered
 * (sm_json_enter) whose end leaves the text to its parent. */
typedef struct sm_json_scan {
    const char *p, *end;
    int started; /* a member was read: the next one needs a comma */
    int level;   /* its nesting: the top object is 1 */
    int mode;    /* SM_JSON_STRICT, SM_JSON_CJSON or its bits */
    /* NULL, or where the nested values skipped (sm_json_value, sm_json_next)
     * add what decoding them would cost, SM_JSON_COST_* (the caller counts
     * the members and strings it reads itself). */
    unsigned long long *cost;
} sm_json_scan;

/* What decoding member m takes lua-cjson, beyond a nested value's own
 * (which a scan with a cost counts as it skips it). */
static inline unsigned long long sm_json_member_cost(const sm_json_member *m)
{
    unsigned long long c =
        SM_JSON_COST_MEMBER + SM_JSON_COST_STRING + m->key.len;
    if (m->kind == SM_JSON_STRING)
        c += SM_JSON_COST_STRING + m->value.len;
    return c;
}

/* Starts on text[0..len): whitespace, then '{'; in mode, counting no cost.
 * Returns 0, or -1 when the text does not start with an object. */
int sm_json_open(sm_json_scan *s, const char *text, size_t len);
int sm_json_open_as(sm_json_scan *s, const char *text, size_t len, int mode);

/* Reads the next member into m and returns 1; returns 0 at the object's
 * end (of the top one when only whitespace follows it; of an entered one
 * with the scan past its '}'); -1 when the text is not one JSON object
 * (bad grammar, a control character inside a string, nesting past
 * SM_JSON_MAX_DEPTH, anything after the top object). */
int sm_json_next(sm_json_scan *s, sm_json_member *m);

/* The same in two steps, so a value can be entered rather than skipped:
 * sm_json_key reads the next member's key and returns 1 with the scan at
 * its value, which must then be read by sm_json_value or sm_json_enter;
 * 0 and -1 as sm_json_next. */
int sm_json_key(sm_json_scan *s, sm_json_span *key);

/* In an entered array: returns 1 with the scan at the next item (to read
 * as a value), 0 past its ']', -1 on bad grammar. */
int sm_json_item(sm_json_scan *s);

/* What the value the scan is at would be, from its first byte only (a
 * number may still turn out bad when read). */
sm_json_kind sm_json_peek(const sm_json_scan *s);

/* Reads the value the scan is at into v (as a member's value) and returns
 * 0, or -1 on bad grammar or nesting past SM_JSON_MAX_DEPTH. */
int sm_json_value(sm_json_scan *s, sm_json_span *v, sm_json_kind *kind);

/* The scan is at an object or array value: child reads it, one level
 * deeper (sm_json_key or sm_json_item until they return 0), in s's mode
 * and counting into s's cost. Returns 0, or -1 when the value is neither
 * or that level is past SM_JSON_MAX_DEPTH (where lua-cjson stops too).
 * Entering again before sm_json_leave reads the value again from its
 * start. */
int sm_json_enter(const sm_json_scan *s, sm_json_scan *child);

/* After child (entered from s) returned 0: s goes on past its value. */
void sm_json_leave(sm_json_scan *s, const sm_json_scan *child);

/* Decodes the escape at p (p[0] == '\\') of a string the scanner read, as
 * lua-cjson does, into out: returns its length (1..4 bytes of UTF-8) and
 * sets *next past it; 0 for a lone or reversed UTF-16 surrogate, which
 * lua-cjson refuses. end is the end of the string's bytes. */
int sm_json_escape(const char *p, const char *end, char out[4],
                   const char **next);

/* Whether the string span s reads n bytes of text, escapes decoded as
 * lua-cjson decodes them (an escape it refuses matches nothing). */
int sm_json_string_is(const sm_json_span *s, const char *text, size_t n);

/* Whether span v of a number is an integer as JSON writes one:
 * -?(0|[1-9][0-9]*), no fraction, no exponent. */
int sm_json_is_integer(const sm_json_span *v);

#endif
