/*
 * json_page.c: a page's array of entries from its JSON text (json_page.h),
 * in two passes. The first reads the whole text once, in lua-cjson's
 * grammar: the members besides "logs" are checked and skipped; each item
 * of "logs" is read as a flat entry (json_entry.c), its members kept in a
 * scratch array, or, when it is not one (a nested value, a raw control
 * character...), read again in cjson's grammar with what decoding it would
 * take counted. So the shape, the number of items and the cost are known
 * before any table exists, and a page that is refused costs no decoding.
 * The second builds the array: when every item is flat, each from its
 * members, exactly as cjson and shaping would give it, its key strings
 * shared with the item before (a flat one the builder is not sure of is
 * decoded alone by cjson); else cjson decodes the "logs" array's text in
 * one call (one call per item would cost a quarter more) and each item is
 * shaped.
 */
#include "json_page.h"

#include <string.h>

#include <lauxlib.h>

#include "bounds.h"
#include "compat.h"
#include "entry.h"
#include "json_scan.h"

/* One item of "logs". */
typedef struct page_item {
    const char *p, *end; /* its text, from '{' to past '}' */
    size_t first;        /* a flat item: where its members are in the scratch */
    int n;               /* how many; -1: lua-cjson decodes it */
    int kept;            /* a flat item: members not null; else whether a
                          * member is null */
} page_item;

/* The members of a page's flat items, in a userdata kept in the Lua
 * state's registry between pages (taken out while a page uses it), up to
 * SM_PAGE_SCRATCH_KEEP members (about 450 KiB: a page of 1000 entries of
 * 8 fields); a larger one is left to the collector. */
static const char scratch_key = 's';
#define SM_PAGE_SCRATCH_FIRST 1024
#define SM_PAGE_SCRATCH_KEEP 8192

typedef struct page_scratch {
    size_t cap;
    sm_json_member m[];
} page_scratch;

/* What "logs" was, of the last member so named. */
enum { LOGS_NONE, LOGS_SCALAR, LOGS_OBJECT, LOGS_ARRAY };

/* The first pass's findings. */
typedef struct page_read {
    lua_State *L;
    int scratch_idx; /* the scratch's stack index */
    page_scratch *scratch;
    size_t used; /* its members in use */
    int max;
    int logs;          /* LOGS_* */
    size_t n;          /* items of the "logs" array */
    size_t read;       /* of them, read into items (all, when the page is
                        * taken) */
    size_t bad;        /* its first item that is not an object or has two
                        * ids, from 1; 0: none */
    int bad_ids;       /* that one has two ids (else it is no object) */
    unsigned long long cost; /* decoding its items with cjson */
    size_t nested;     /* of them, items only cjson decodes */
    const char *logs_p, *logs_end; /* the "logs" array's text */
    int has_id;        /* the page has an "id" member: an entry? */
    sm_json_kind id_kind;
    sm_json_span id;
    page_item items[SM_MAX_PAGE_SIZE];
} page_read;

/* Pushes the scratch, taken out of the registry (a new one when there is
 * none, or when another page is using it), and sets pr's fields of it. */
static void take_scratch(lua_State *L, page_read *pr)
{
    lua_pushlightuserdata(L, (void *)&scratch_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    if (lua_type(L, -1) == LUA_TUSERDATA) {
        lua_pushlightuserdata(L, (void *)&scratch_key);
        lua_pushnil(L);
        lua_rawset(L, LUA_REGISTRYINDEX);
    } else {
        lua_pop(L, 1);
        pr->scratch = sm_newuserdata(
            L, sizeof(page_scratch) +
                   SM_PAGE_SCRATCH_FIRST * sizeof(sm_json_member));
        pr->scratch->cap = SM_PAGE_SCRATCH_FIRST;
    }
    pr->scratch = lua_touserdata(L, -1);
    pr->scratch_idx = lua_gettop(L);
    pr->used = 0;
}

/* Puts the scratch back for the next page, unless it grew too large. */
static void give_scratch(page_read *pr)
{
    lua_State *L = pr->L;
    if (pr->scratch->cap > SM_PAGE_SCRATCH_KEEP)
        return;
    lua_pushlightuserdata(L, (void *)&scratch_key);
    lua_pushvalue(L, pr->scratch_idx);
    lua_rawset(L, LUA_REGISTRYINDEX);
}

/* Room in the scratch for one more flat item's members. */
static void make_room(page_read *pr)
{
    size_t need = pr->used + SM_ENTRY_FAST_MEMBERS, cap = pr->scratch->cap;
    page_scratch *grown;
    if (need <= cap)
        return;
    while (cap < need)
        cap *= 2;
    grown = sm_newuserdata(pr->L, sizeof(page_scratch) +
                                      cap * sizeof(sm_json_member));
    grown->cap = cap;
    memcpy(grown->m, pr->scratch->m, pr->used * sizeof(sm_json_member));
    lua_replace(pr->L, pr->scratch_idx);
    pr->scratch = grown;
}

/* Whether key k is name (escaped or not). */
static int key_is(const sm_json_span *k, const char *name, size_t n)
{
    if (k->escaped)
        return sm_json_string_is(k, name, n);
    return k->len == n && memcmp(k->p, name, n) == 0;
}

/* Reads the rest of the object item is in, in cjson's grammar, counting
 * what decoding it takes and noting its members in f. Returns 0, or -1 on
 * bad text. */
static int read_rest(page_read *pr, sm_json_scan *item, sm_entry_facts *f)
{
    sm_json_member m;
    int r;
    item->mode = SM_JSON_CJSON;
    item->cost = &pr->cost;
    while ((r = sm_json_next(item, &m)) == 1) {
        pr->cost += sm_json_member_cost(&m);
        sm_entry_note(f, &m.key, m.kind, &m.value);
    }
    return r == 0 ? 0 : -1;
}

/* The scan is at item it, an object of "logs" (scan): reads it, as a flat
 * entry into the scratch or else as one only cjson decodes, with its cost.
 * Returns 0, or -1 on bad text; *ids: its "id" members. */
static int read_item(page_read *pr, sm_json_scan *logs, page_item *it,
                     int *ids)
{
    sm_json_scan item;
    sm_entry_facts f = {0, 0, SM_JSON_NULL, {NULL, 0, 0}};
    sm_json_member *m;
    unsigned long long before = pr->cost;
    int n, kept;
    make_room(pr);
    m = pr->scratch->m + pr->used;
    it->p = logs->p;
    if (sm_json_enter(logs, &item) != 0)
        return -1;
    /* JSON's grammar, with the escapes cjson decodes only: a lone UTF-16
     * surrogate refuses the whole page in cjson's, before any count. A
     * nested value is skipped with its cost counted (a flat item has
     * none). */
    item.mode = SM_JSON_CJSON_ESCAPES;
    item.cost = &pr->cost;
    n = sm_json_entry_scan(&item, m, SM_ENTRY_FAST_MEMBERS, &f, &kept);
    if (n >= 0) {
        it->first = pr->used;
        it->n = n;
        it->kept = kept;
        pr->used += (size_t)n;
    } else {
        if (n <= -2) {
            /* Members 0..k read, the scan past the last (nested, or one
             * too many): they are cjson's now, the rest read as cjson
             * reads it. */
            int k = -2 - n;
            pr->cost += SM_JSON_COST_TABLE;
            for (int i = 0; i <= k; i++)
                pr->cost += sm_json_member_cost(&m[i]);
            sm_entry_note(&f, &m[k].key, m[k].kind, &m[k].value);
        } else {
            /* Not JSON (a raw control character, a number such as 1.):
             * again from its start, as cjson reads it. */
            pr->cost = before + SM_JSON_COST_TABLE;
            memset(&f, 0, sizeof f);
            if (sm_json_enter(logs, &item) != 0)
                return -1;
        }
        if (read_rest(pr, &item, &f) != 0)
            return -1;
        it->first = 0;
        it->n = -1;
        it->kept = 1;
        pr->nested++;
    }
    it->end = item.p;
    sm_json_leave(logs, &item);
    *ids = f.ids;
    return 0;
}

/* The scan is at a "logs" array: reads its items (those of an earlier
 * "logs" are forgotten: the last wins). Returns 0, or -1 on bad text. */
static int read_items(page_read *pr, sm_json_scan *page)
{
    sm_json_scan logs;
    sm_json_span v;
    sm_json_kind kind;
    int r, ids;
    pr->n = 0;
    pr->read = 0;
    pr->bad = 0;
    pr->cost = 0;
    pr->nested = 0;
    pr->used = 0;
    pr->logs_p = page->p;
    if (sm_json_enter(page, &logs) != 0)
        return -1;
    while ((r = sm_json_item(&logs)) == 1) {
        /* Past the limit or past a bad item, the rest is only counted
         * and checked. */
        if (++pr->n > (size_t)pr->max || pr->bad != 0 ||
            sm_json_peek(&logs) != SM_JSON_OBJECT) {
            if (pr->n <= (size_t)pr->max && pr->bad == 0) {
                pr->bad = pr->n;
                pr->bad_ids = 0;
            }
            if (sm_json_value(&logs, &v, &kind) != 0)
                return -1;
            continue;
        }
        pr->cost += SM_JSON_COST_ITEM;
        if (read_item(pr, &logs, &pr->items[pr->read++], &ids) != 0)
            return -1;
        if (ids > 1) {
            pr->bad = pr->n;
            pr->bad_ids = 1;
        }
    }
    if (r != 0)
        return -1;
    sm_json_leave(page, &logs);
    pr->logs_end = page->p;
    return 0;
}

/* The first pass over text[0..len): returns 0, or -1 when it is not one
 * JSON object in cjson's grammar. */
static int read_page(page_read *pr, const char *text, size_t len)
{
    sm_json_scan page;
    sm_json_span key, v;
    sm_json_kind kind;
    int r;
    if (sm_json_open_as(&page, text, len, SM_JSON_CJSON) != 0)
        return -1;
    while ((r = sm_json_key(&page, &key)) == 1) {
        kind = sm_json_peek(&page);
        if (key_is(&key, "logs", 4)) {
            pr->logs = kind == SM_JSON_ARRAY    ? LOGS_ARRAY
                       : kind == SM_JSON_OBJECT ? LOGS_OBJECT
                                                : LOGS_SCALAR;
            if (kind == SM_JSON_ARRAY) {
                if (read_items(pr, &page) != 0)
                    return -1;
                continue;
            }
        }
        if (sm_json_value(&page, &v, &kind) != 0)
            return -1;
        if (key_is(&key, "id", 2)) {
            pr->has_id = 1;
            pr->id_kind = kind;
            pr->id = v;
        }
    }
    return r == 0 ? 0 : -1;
}

/* What the first pass found wrong, if anything: the words, pushed or
 * fixed. */
static const char *refusal(page_read *pr, const sm_json_decoder *d,
                           sm_refusal *r)
{
    lua_State *L = pr->L;
    if (pr->logs == LOGS_NONE || pr->logs == LOGS_SCALAR) {
        if (!pr->has_id)
            return "the response has no \"logs\" array";
        r->out_of_step = 1;
        return sm_page_got_entry(L, &pr->id, pr->id_kind, d->credential);
    }
    if (pr->logs == LOGS_OBJECT)
        return "\"logs\" is not an array";
    if (pr->n > (size_t)pr->max) {
        r->out_of_step = 1;
        return sm_page_too_long(L, pr->max, pr->n);
    }
    if (pr->bad != 0)
        return lua_pushfstring(L,
                               pr->bad_ids ? "\"logs\" item %d has more than "
                                             "one \"id\" member (names must "
                                             "be unique)"
                                           : "\"logs\" item %d is not an "
                                             "object",
                               (int)pr->bad);
    if (pr->nested > 0) {
        /* cjson decodes the flat items too, then: each at most a table, its
         * members and strings as long as its text. */
        size_t i;
        for (i = 0; i < pr->read; i++) {
            const page_item *it = &pr->items[i];
            if (it->n >= 0)
                pr->cost += SM_JSON_COST_TABLE +
                            (unsigned long long)it->n *
                                (SM_JSON_COST_MEMBER + 2 * SM_JSON_COST_STRING) +
                            (unsigned long long)(it->end - it->p);
        }
    }
    if (pr->cost > d->cap) {
        r->too_large = 1;
        return "decoding the page would take too much memory";
    }
    return NULL;
}

/* The second pass: pushes the array of the entries and returns 1, or
 * returns 0 when cjson refuses an item (what was pushed stays). */
static int build(page_read *pr, const sm_json_decoder *d)
{
    lua_State *L = pr->L;
    sm_json_keys keys;
    int t;
    size_t i;
    if (pr->nested > 0) {
        /* The "logs" array, decoded by cjson at once: a plain array of
         * plain tables, each shaped in place. */
        lua_pushvalue(L, d->decode_idx);
        lua_pushlstring(L, pr->logs_p, (size_t)(pr->logs_end - pr->logs_p));
        lua_call(L, 1, 1);
        if (lua_type(L, -1) != LUA_TTABLE)
            return 0; /* a lone UTF-16 surrogate in a flat item */
        t = lua_gettop(L);
        for (i = 1; i <= pr->read; i++) {
            lua_rawgeti(L, t, (int)i);
            sm_shape_entry(L, -1, 1);
            lua_pop(L, 1);
        }
        return 1;
    }
    lua_createtable(L, (int)pr->read, 0);
    t = lua_gettop(L);
    lua_createtable(L, SM_JSON_KEYS, 0);
    keys.idx = t + 1;
    keys.n = 0;
    for (i = 0; i < pr->read; i++) {
        const page_item *it = &pr->items[i];
        if (it->n < 0 ||
            !sm_json_entry_build(L, pr->scratch->m + it->first, it->n,
                                 it->kept, d->ints, &keys)) {
            lua_pushvalue(L, d->decode_idx);
            lua_pushlstring(L, it->p, (size_t)(it->end - it->p));
            lua_call(L, 1, 1);
            if (lua_type(L, -1) != LUA_TTABLE)
                return 0; /* a lone UTF-16 surrogate in a flat item */
            sm_shape_entry(L, -1, it->n < 0 ? it->kept : it->kept < it->n);
        }
        lua_rawseti(L, t, (int)i + 1);
    }
    lua_pop(L, 1);
    return 1;
}

int sm_json_page(lua_State *L, const char *text, size_t len, int max,
                 const sm_json_decoder *d, sm_refusal *r)
{
    page_read pr;
    int base = lua_gettop(L);
    const char *why;
    memset(r, 0, sizeof *r);
    /* The scratch, the array, the keys, an entry and what building one
     * takes (json_entry.h). */
    luaL_checkstack(L, 10, NULL);
    pr.L = L;
    /* options.lua never lets a limit past the API's largest page. */
    pr.max = max < SM_MAX_PAGE_SIZE ? max : SM_MAX_PAGE_SIZE;
    pr.logs = LOGS_NONE;
    pr.n = 0;
    pr.read = 0;
    pr.bad = 0;
    pr.cost = 0;
    pr.nested = 0;
    pr.has_id = 0;
    take_scratch(L, &pr);
    if (read_page(&pr, text, len) != 0) {
        give_scratch(&pr);
        lua_settop(L, base);
        r->why = len == 0 ? "the response body is empty"
                          : "the response body is not a JSON object";
        return 0;
    }
    why = refusal(&pr, d, r);
    if (why == NULL) {
        int built = build(&pr, d);
        give_scratch(&pr);
        if (built) {
            lua_replace(L, base + 1); /* the array over the scratch */
            lua_settop(L, base + 1);
            return 1;
        }
        lua_settop(L, base);
        r->why = "the response body is not a JSON object";
        return 0;
    }
    give_scratch(&pr);
    /* Only words refusal() pushed are above the scratch. */
    if (lua_gettop(L) > base + 1)
        lua_replace(L, base + 1);
    else
        lua_settop(L, base);
    r->why = why;
    return 0;
}
