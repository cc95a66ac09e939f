/*
 * text.c: the one rule for text shown to a person, and its JSON form
 * (text.h).
 */
#include "text.h"

#include <string.h>

#include "credential.h"

size_t sm_text_next(const char *s, size_t n, size_t i, sm_text_kind *kind)
{
    const unsigned char *p = (const unsigned char *)s + i;
    size_t left = n - i, need, k;
    unsigned char c = p[0], lo = 0x80, hi = 0xBF;
    if (c < 0x80) {
        *kind = c < 0x20 || c == 0x7F ? SM_TEXT_CONTROL : SM_TEXT_PLAIN;
        return 1;
    }
    /* Well-formed UTF-8 (Unicode's table 3-7): the second byte's range
     * depends on the first. */
    if (c >= 0xC2 && c <= 0xDF) {
        need = 1;
    } else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0;
        else if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90;
        else if (c == 0xF4)
            hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        *kind = SM_TEXT_INVALID;
        return 1;
    }
    for (k = 1; k <= need; k++) {
        /* A maximal ill-formed part: the bytes that began well. */
        if (k >= left || p[k] < (k == 1 ? lo : 0x80) ||
            p[k] > (k == 1 ? hi : 0xBF)) {
            *kind = SM_TEXT_INVALID;
            return k;
        }
    }
    *kind = c == 0xC2 && p[1] <= 0x9F ? SM_TEXT_CONTROL : SM_TEXT_PLAIN;
    return need + 1;
}

size_t sm_text_clean_prefix(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        sm_text_kind kind;
        size_t k;
        if (c >= 0x20 && c < 0x7F) {
            i++;
            continue;
        }
        k = sm_text_next(s, n, i, &kind);
        if (kind != SM_TEXT_PLAIN)
            break;
        i += k;
    }
    return i;
}

void sm_text_add_shown(luaL_Buffer *b, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        size_t plain = sm_text_clean_prefix(s + i, n - i), k;
        sm_text_kind kind;
        luaL_addlstring(b, s + i, plain);
        i += plain;
        if (i == n)
            break;
        k = sm_text_next(s, n, i, &kind);
        if (kind == SM_TEXT_CONTROL)
            luaL_addchar(b, ' ');
        else
            luaL_addstring(b, "\xEF\xBF\xBD"); /* U+FFFD */
        i += k;
    }
}

void sm_text_shown_at(lua_State *L, int idx)
{
    size_t n;
    const char *s;
    luaL_Buffer b;
    if (idx < 0)
        idx = lua_gettop(L) + idx + 1;
    s = lua_tolstring(L, idx, &n);
    if (s == NULL || sm_text_clean_prefix(s, n) == n)
        return;
    /* s stays at idx, below the buffer, until the result replaces it. */
    luaL_buffinit(L, &b);
    sm_text_add_shown(&b, s, n);
    luaL_pushresult(&b);
    lua_replace(L, idx);
}

void sm_text_add_json(luaL_Buffer *b, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t i = 0;
    luaL_addchar(b, '"');
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        sm_text_kind kind;
        size_t k, run = i;
        /* The common run: printable ASCII that needs no escape. */
        while (run < n && (unsigned char)s[run] >= 0x20 &&
               (unsigned char)s[run] < 0x7F && s[run] != '"' && s[run] != '\\')
            run++;
        if (run > i) {
            luaL_addlstring(b, s + i, run - i);
            i = run;
            continue;
        }
        k = sm_text_next(s, n, i, &kind);
        if (kind == SM_TEXT_PLAIN && c < 0x80) {
            luaL_addchar(b, '\\');
            luaL_addchar(b, (char)c); /* " or \ */
        } else if (kind == SM_TEXT_PLAIN) {
            luaL_addlstring(b, s + i, k);
        } else if (kind == SM_TEXT_INVALID) {
            luaL_addstring(b, "\\ufffd");
        } else {
            unsigned v = k == 2 ? (unsigned char)s[i + 1] : c; /* C1: C2 xx */
            const char *brief = v == '\b' ? "\\b" : v == '\f' ? "\\f"
                              : v == '\n' ? "\\n" : v == '\r' ? "\\r"
                              : v == '\t' ? "\\t" : NULL;
            if (brief != NULL) {
                luaL_addstring(b, brief);
            } else {
                luaL_addstring(b, "\\u00");
                luaL_addchar(b, hex[v >> 4]);
                luaL_addchar(b, hex[v & 15]);
            }
        }
        i += k;
    }
    luaL_addchar(b, '"');
}

int sm_lua_shown(lua_State *L)
{
    luaL_checkstring(L, 1);
    lua_settop(L, 1);
    sm_text_shown_at(L, 1);
    return 1;
}

int sm_lua_json_string(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    luaL_buffinit(L, &b);
    sm_text_add_json(&b, s, n);
    luaL_pushresult(&b);
    return 1;
}

int sm_lua_redact(lua_State *L)
{
    size_t n, done = 0, len = 0;
    const char *s = luaL_checklstring(L, 1, &n);
    const char *credential = luaL_optstring(L, 2, NULL);
    sm_redactor r;
    luaL_Buffer b;
    lua_settop(L, 2);
    sm_redactor_init(&r, credential);
    luaL_buffinit(L, &b);
    while (done < n) {
        size_t at = sm_redactor_find(&r, s + done, n - done, n - done, &len);
        luaL_addlstring(&b, s + done, at);
        done += at;
        if (done < n) {
            luaL_addstring(&b, "[REDACTED]");
            done += len;
        }
    }
    sm_redactor_wipe(&r);
    luaL_pushresult(&b);
    return 1;
}
