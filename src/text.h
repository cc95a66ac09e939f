/*
 * text.h: the one rule for server text shown to a person, and its JSON
 * form. Everything the library or the command line shows (tostring(err),
 * err.message and err.description, the command line's table and CSV
 * cells, its stderr lines and --verbose output) goes through it:
 *
 *   - C0 controls (U+0000..U+001F), DEL (U+007F) and C1 controls
 *     (U+0080..U+009F, written in UTF-8 as C2 80..C2 9F) become one space
 *     each: no escape sequence, line break or tab survives;
 *   - bytes that are not well-formed UTF-8 (a stray 0x9B, a cut or overlong
 *     sequence, a surrogate) become U+FFFD, one for each maximal ill-formed
 *     part (Unicode's "substitution of maximal subparts", as browsers and
 *     most decoders do);
 *   - every other character (well-formed UTF-8) stays as it is.
 *
 * The result is well-formed UTF-8 without a control character, and the
 * rule applied twice gives what it gave once. JSON text (the command
 * line's json and ndjson output) escapes instead of replacing: C0, DEL and
 * C1 as \u0000..\u009f (the short forms \b \f \n \r \t where JSON has
 * them), ill-formed bytes as \ufffd (JSON text must be UTF-8).
 *
 * Pure C over bytes in the classifier, so it can be driven without Lua.
 */
#ifndef SM_TEXT_H
#define SM_TEXT_H

#include <lauxlib.h>
#include <lua.h>
#include <stddef.h>

/* What the character at s[i] is, for the rule above. */
typedef enum sm_text_kind {
    SM_TEXT_PLAIN = 0, /* printable ASCII or well-formed UTF-8: kept */
    SM_TEXT_CONTROL,   /* C0, DEL or C1 (its UTF-8 bytes): a space */
    SM_TEXT_INVALID    /* a maximal ill-formed part: U+FFFD */
} sm_text_kind;

/* Classifies the character starting at s[i] (i < n); returns its length in
 * bytes (at least 1) and sets *kind. */
size_t sm_text_next(const char *s, size_t n, size_t i, sm_text_kind *kind);

/* How many leading bytes of s[0..n) the rule keeps as they are (n when all
 * of it is already as shown). */
size_t sm_text_clean_prefix(const char *s, size_t n);

/* Appends s[0..n) as shown (the rule above). */
void sm_text_add_shown(luaL_Buffer *b, const char *s, size_t n);

/* Replaces the string at idx by its shown form (in place: the same index;
 * nothing is copied when it is shown as it is). */
void sm_text_shown_at(lua_State *L, int idx);

/* Appends s[0..n) as a JSON string literal, quotes included. */
void sm_text_add_json(luaL_Buffer *b, const char *s, size_t n);

/* Lua: shown(s) -> s as shown (s itself when unchanged). */
int sm_lua_shown(lua_State *L);

/* Lua: json_string(s) -> s as a JSON string literal, quotes included. */
int sm_lua_json_string(lua_State *L);

/* Lua: redact(s, credential) -> s with every echo of credential
 * (credential.h, sm_redactor) replaced by "[REDACTED]". */
int sm_lua_redact(lua_State *L);

#endif
