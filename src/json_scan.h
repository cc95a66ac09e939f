/*
 * json_scan.h: a validating scanner over one JSON object's top-level members
 * (RFC 8259's grammar): each member's key and value as spans of the text,
 * nested values checked and skipped. It decodes nothing but one escape at a
 * time on request. Plain C over bytes, no Lua: the fast entry decoder
 * (json_entry.c) and the pass-through check (json_raw.c) read through it,
 * and a fuzzer can drive it alone.
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

typedef struct sm_json_scan {
    const char *p, *end;
    int started; /* a member was read: the next one needs a comma */
} sm_json_scan;

/* Starts on text[0..len): whitespace, then '{'. Returns 0, or -1 when the
 * text does not start with an object. */
int sm_json_open(sm_json_scan *s, const char *text, size_t len);

/* Reads the next top-level member into m and returns 1; returns 0 at the
 * object's end when only whitespace follows it; -1 when the text is not
 * one JSON object (bad grammar, a control character inside a string,
 * nesting past SM_JSON_MAX_DEPTH, anything after the object). */
int sm_json_next(sm_json_scan *s, sm_json_member *m);

/* Decodes the escape at p (p[0] == '\\') of a string the scanner read, as
 * lua-cjson does, into out: returns its length (1..4 bytes of UTF-8) and
 * sets *next past it; 0 for a lone or reversed UTF-16 surrogate, which
 * lua-cjson refuses. end is the end of the string's bytes. */
int sm_json_escape(const char *p, const char *end, char out[4],
                   const char **next);

#endif
