/*
 * fuzz_text: the one rule for text shown to a person and its JSON form
 * (src/text.c), and the search for a server's echoes of the credential
 * (src/credential.c's sm_redactor), on any bytes.
 *
 * Input: 1 byte picks the credential (SECRETS), the rest is server text,
 * from an exact-size copy (ASan sees any read past it).
 *
 * Invariants: shown text is well-formed UTF-8 without a C0, DEL or C1
 * control (checked by a decoder of the harness's own), the rule applied
 * twice gives what it gave once, and every byte the classifier takes is
 * accounted for; the JSON form decodes (lua-cjson, the module's settings)
 * to a string the rule shows as it shows the input; the text with its
 * echoes redacted holds no echo (the search finds none, and the
 * credential's first 8 characters, in any case, are nowhere in it), and a
 * text with no echo comes back unchanged.
 */
#include "harness.h"

#include "credential.h"
#include "text.h"

/* Credentials with what makes echoes hard: '/', '+', '=', '%', '\\', '&',
 * letters in both cases, one shorter than 8 characters. */
static const char *const SECRETS[] = {
    "otok_valid_Zq8/Se+Cr3t=Ky~x?>",
    "api_FUZZ_s3cret_key",
    "a%2F\\u0041&#x2f;Bz",
    "Kz9+/=",
};

static int fold(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

/* Well-formed UTF-8, no control; written apart from text.c on purpose. */
static int shown_ok(const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned c = (unsigned char)s[i], cp, k, len;
        if (c < 0x20 || c == 0x7F)
            return 0;
        if (c < 0x80) {
            i++;
            continue;
        }
        len = c >= 0xF0 ? 3 : c >= 0xE0 ? 2 : c >= 0xC0 ? 1 : 0;
        if (len == 0 || c > 0xF4 || i + len >= n)
            return 0;
        cp = c & (0x3Fu >> len);
        for (k = 1; k <= len; k++) {
            unsigned d = (unsigned char)s[i + k];
            if ((d & 0xC0) != 0x80)
                return 0;
            cp = cp << 6 | (d & 0x3F);
        }
        if ((len == 1 && cp < 0x80) || (len == 2 && cp < 0x800) ||
            (len == 3 && cp < 0x10000) || cp > 0x10FFFF ||
            (cp >= 0xD800 && cp <= 0xDFFF) || (cp >= 0x80 && cp <= 0x9F))
            return 0;
        i += len + 1;
    }
    return 1;
}

/* Whether the credential's first 8 characters (all of it when shorter)
 * show in s, letters in any case. */
static int shows_prefix(const char *s, size_t n, const char *secret)
{
    size_t need = strlen(secret), i, k;
    if (need > SM_CREDENTIAL_PREFIX)
        need = SM_CREDENTIAL_PREFIX;
    for (i = 0; need <= n && i <= n - need; i++) {
        for (k = 0; k < need && fold((unsigned char)s[i + k]) ==
                                    fold((unsigned char)secret[k]);
             k++)
            ;
        if (k == need)
            return 1;
    }
    return 0;
}

static int run(lua_State *L, const char *text, size_t n, const char *secret)
{
    size_t len, m, i, at;
    const char *shown, *again, *json, *out;
    sm_text_kind kind;

    /* The classifier accounts for every byte, a character at a time. */
    for (i = 0; i < n; i += len) {
        len = sm_text_next(text, n, i, &kind);
        FUZZ_ASSERT(len >= 1 && len <= 4 && i + len <= n);
    }
    FUZZ_ASSERT(sm_text_clean_prefix(text, n) <= n);

    /* Shown text: clean, and stable. */
    lua_pushlstring(L, text, n);
    sm_text_shown_at(L, -1);
    shown = lua_tolstring(L, -1, &m);
    FUZZ_ASSERT(shown_ok(shown, m));
    FUZZ_ASSERT(sm_text_clean_prefix(shown, m) == m);
    lua_pushvalue(L, -1);
    sm_text_shown_at(L, -1);
    again = lua_tolstring(L, -1, &len);
    FUZZ_ASSERT(len == m && memcmp(again, shown, m) == 0);
    lua_pop(L, 1);

    /* JSON text: decodes to what the rule shows the same. */
    lua_pushcfunction(L, sm_lua_json_string);
    lua_pushlstring(L, text, n);
    lua_call(L, 1, 1);
    json = lua_tolstring(L, -1, &len);
    for (i = 0; i < len; i++)
        FUZZ_ASSERT((unsigned char)json[i] >= 0x20 && json[i] != 0x7F);
    lua_getfield(L, LUA_REGISTRYINDEX, "sm_fuzz_decode");
    lua_insert(L, -2);
    lua_call(L, 1, 1);
    FUZZ_ASSERT(lua_type(L, -1) == LUA_TSTRING);
    sm_text_shown_at(L, -1);
    again = lua_tolstring(L, -1, &len);
    FUZZ_ASSERT(len == m && memcmp(again, shown, m) == 0);
    lua_pop(L, 2);

    /* Redacted text: no echo left. */
    lua_pushcfunction(L, sm_lua_redact);
    lua_pushlstring(L, text, n);
    lua_pushstring(L, secret);
    lua_call(L, 2, 1);
    out = lua_tolstring(L, -1, &len);
    at = sm_credential_find(out, len, secret, &m);
    FUZZ_ASSERT(at == len);
    FUZZ_ASSERT(!shows_prefix(out, len, secret));
    if (sm_credential_find(text, n, secret, &m) == n)
        FUZZ_ASSERT(len == n && memcmp(out, text, n) == 0);
    lua_pop(L, 1);
    return 0;
}

static int one(const uint8_t *data, size_t size)
{
    lua_State *L = fuzz_state();
    char *text;
    const char *secret;
    if (size < 1)
        return 0;
    secret = SECRETS[data[0] % (sizeof SECRETS / sizeof SECRETS[0])];
    text = malloc(size - 1 + 1); /* + 1: malloc(0) may give NULL */
    FUZZ_ASSERT(text != NULL);
    memcpy(text, data + 1, size - 1);
    run(L, text, size - 1, secret);
    free(text);
    return 0;
}

FUZZ_LUA_ENTRY(one)
