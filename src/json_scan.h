/*
 * json_scan.h: a validating scanner over one JSON object (RFC 8259's
 * grammar): its top-level members' keys and values as spans of the text,
 * nested values checked and skipped, or entered and read the same way,
 * member by member or item by item. It decodes nothing but one escape at a
 * time on request. Plain C over bytes, no Lua: the fast decoders
 * (json_entry.c, json_page.c) and the pass-through check (json_raw.c) read
 * through it, and a fuzzer can drive it alone.
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

/* Where a read of one object or array is: the top object, or one entered
 * (sm_json_enter) whose end leaves the text to its parent. */
typedef struct sm_json_scan {
    const char *p, *end;
    int started; /* a member was read: the next one needs a comma */
    int level;   /* its nesting: the top object is 1 */
} sm_json_scan;

/* Starts on text[0..len): whitespace, then '{'. Returns 0, or -1 when the
 * text does not start with an object. */
int sm_json_open(sm_json_scan *s, const char *text, size_t len);

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
 * deeper (sm_json_key or sm_json_item until they return 0). Returns 0, or
 * -1 when the value is neither or that level is past SM_JSON_MAX_DEPTH
 * (where lua-cjson stops too). */
int sm_json_enter(const sm_json_scan *s, sm_json_scan *child);

/* After child (entered from s) returned 0: s goes on past its value. */
void sm_json_leave(sm_json_scan *s, const sm_json_scan *child);

/* Decodes the escape at p (p[0] == '\\') of a string the scanner read, as
 * lua-cjson does, into out: returns its length (1..4 bytes of UTF-8) and
 * sets *next past it; 0 for a lone or reversed UTF-16 surrogate, which
 * lua-cjson refuses. end is the end of the string's bytes. */
int sm_json_escape(const char *p, const char *end, char out[4],
                   const char **next);

#endif
