/*
 * json_fields.c: an error body's fields from its text (json_fields.h).
 * One read in lua-cjson's grammar checks the whole text and keeps, as
 * spans, the values at the paths envelope.c reads (the last of duplicate
 * names); only those become Lua values. The rest is skipped, never
 * decoded: a 16 MB error body of nested arrays costs its few strings.
 */
#include "json_fields.h"

#include <string.h>

#include <lauxlib.h>

#include "bounds.h"
#include "json_entry.h"
#include "json_scan.h"

/* A value at a path: absent, or its kind and text. */
typedef struct field {
    int set;
    sm_json_kind kind;
    sm_json_span v;
} field;

/* An item of "validation". */
typedef struct check_item {
    int table; /* an object or an array; else a scalar: false */
    field message;
    int location; /* an object or an array */
    int locations; /* its items read */
    field location_items[SM_LOCATION_MAX];
} check_item;

typedef struct error_fields {
    int error; /* an object or an array */
    field code, error_message, description;
    int meta;
    field request_id;
    field title, detail, message;
    int validation;
    int checks; /* its items read */
    check_item check[SM_VALIDATION_MAX];
} error_fields;

static int is_table(sm_json_kind kind)
{
    return kind == SM_JSON_OBJECT || kind == SM_JSON_ARRAY;
}

/* Whether key k is name (escaped or not). */
static int key_is(const sm_json_span *k, const char *name, size_t n)
{
    if (k->escaped)
        return sm_json_string_is(k, name, n);
    return k->len == n && memcmp(k->p, name, n) == 0;
}

/* Reads the value the scan is at into f. */
static int take(sm_json_scan *s, field *f)
{
    f->set = 1;
    return sm_json_value(s, &f->v, &f->kind);
}

/* Reads past the value the scan is at. */
static int skip(sm_json_scan *s)
{
    sm_json_span v;
    sm_json_kind kind;
    return sm_json_value(s, &v, &kind);
}

/* The scan is at a value: when it is an object, reads the members named
 * names[i] into out[i] (the others skipped); else reads past it. Sets
 * *table when it is an object or an array. */
static int read_object(sm_json_scan *s, const char *const *names, field *out,
                       int n, int *table)
{
    sm_json_scan child;
    sm_json_span key;
    int r, i;
    sm_json_kind kind = sm_json_peek(s);
    for (i = 0; i < n; i++)
        out[i].set = 0;
    *table = is_table(kind);
    if (kind != SM_JSON_OBJECT)
        return skip(s);
    if (sm_json_enter(s, &child) != 0)
        return -1;
    while ((r = sm_json_key(&child, &key)) == 1) {
        for (i = 0; i < n && !key_is(&key, names[i], strlen(names[i])); i++)
            ;
        if ((i < n ? take(&child, &out[i]) : skip(&child)) != 0)
            return -1;
    }
    if (r != 0)
        return -1;
    sm_json_leave(s, &child);
    return 0;
}

/* The scan is at a value: when it is an array, reads up to max items into
 * out (*n of them); else reads past it. Sets *table as read_object. */
static int read_array(sm_json_scan *s, field *out, int max, int *n,
                      int *table)
{
    sm_json_scan child;
    int r;
    sm_json_kind kind = sm_json_peek(s);
    *n = 0;
    *table = is_table(kind);
    if (kind != SM_JSON_ARRAY)
        return skip(s);
    if (sm_json_enter(s, &child) != 0)
        return -1;
    while ((r = sm_json_item(&child)) == 1)
        if ((*n < max ? take(&child, &out[(*n)++]) : skip(&child)) != 0)
            return -1;
    if (r != 0)
        return -1;
    sm_json_leave(s, &child);
    return 0;
}

/* The scan is at a validation item. */
static int read_check(sm_json_scan *s, check_item *c)
{
    sm_json_scan child;
    sm_json_span key;
    int r;
    sm_json_kind kind = sm_json_peek(s);
    c->table = is_table(kind);
    c->message.set = 0;
    c->location = 0;
    c->locations = 0;
    if (kind != SM_JSON_OBJECT)
        return skip(s);
    if (sm_json_enter(s, &child) != 0)
        return -1;
    while ((r = sm_json_key(&child, &key)) == 1) {
        if (key_is(&key, "message", 7))
            r = take(&child, &c->message);
        else if (key_is(&key, "location", 8))
            r = read_array(&child, c->location_items, SM_LOCATION_MAX,
                           &c->locations, &c->location);
        else
            r = skip(&child);
        if (r != 0)
            return -1;
    }
    if (r != 0)
        return -1;
    sm_json_leave(s, &child);
    return 0;
}

/* The scan is at the value of "validation". */
static int read_validation(sm_json_scan *s, error_fields *f)
{
    sm_json_scan child;
    int r;
    sm_json_kind kind = sm_json_peek(s);
    f->validation = is_table(kind);
    f->checks = 0;
    if (kind != SM_JSON_ARRAY)
        return skip(s);
    if (sm_json_enter(s, &child) != 0)
        return -1;
    while ((r = sm_json_item(&child)) == 1)
        if ((f->checks < SM_VALIDATION_MAX
                 ? read_check(&child, &f->check[f->checks++])
                 : skip(&child)) != 0)
            return -1;
    if (r != 0)
        return -1;
    sm_json_leave(s, &child);
    return 0;
}

/* Reads the whole text into f: 0, or -1 when it is not one object. */
static int read_fields(const char *text, size_t len, error_fields *f)
{
    static const char *const error_names[] = {"code", "message",
                                              "description"};
    static const char *const meta_names[] = {"request_id"};
    sm_json_scan s;
    sm_json_span key;
    field error_parts[3];
    int r;
    if (sm_json_open_as(&s, text, len, SM_JSON_CJSON) != 0)
        return -1;
    while ((r = sm_json_key(&s, &key)) == 1) {
        if (key_is(&key, "error", 5)) {
            r = read_object(&s, error_names, error_parts, 3, &f->error);
            f->code = error_parts[0];
            f->error_message = error_parts[1];
            f->description = error_parts[2];
        } else if (key_is(&key, "meta", 4)) {
            r = read_object(&s, meta_names, &f->request_id, 1, &f->meta);
        } else if (key_is(&key, "title", 5)) {
            r = take(&s, &f->title);
        } else if (key_is(&key, "detail", 6)) {
            r = take(&s, &f->detail);
        } else if (key_is(&key, "message", 7)) {
            r = take(&s, &f->message);
        } else if (key_is(&key, "validation", 10)) {
            r = read_validation(&s, f);
        } else {
            r = skip(&s);
        }
        if (r != 0)
            return -1;
    }
    return r == 0 ? 0 : -1;
}

/* Sets t[name] to the string of f, when f is one. */
static void set_string(lua_State *L, int t, const char *name, const field *f)
{
    if (!f->set || f->kind != SM_JSON_STRING)
        return;
    /* The text was read in cjson's grammar: every escape decodes. */
    if (!sm_json_push_string(L, &f->v)) {
        lua_settop(L, t);
        return;
    }
    lua_setfield(L, t, name);
}

/* Pushes the number of f as lua-cjson gives it (a float). */
static void push_number(lua_State *L, const field *f)
{
    lua_Number v;
    lua_pushlstring(L, f->v.p, f->v.len);
    v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    lua_pushnumber(L, v);
}

/* Pushes the table of validation item c. */
static void push_check(lua_State *L, const check_item *c)
{
    int t, j;
    if (!c->table) {
        lua_pushboolean(L, 0);
        return;
    }
    lua_newtable(L);
    t = lua_gettop(L);
    set_string(L, t, "message", &c->message);
    if (!c->location)
        return;
    lua_createtable(L, c->locations, 0);
    for (j = 0; j < c->locations; j++) {
        const field *f = &c->location_items[j];
        if (f->kind == SM_JSON_STRING) {
            if (!sm_json_push_string(L, &f->v)) {
                lua_settop(L, t + 1);
                break;
            }
        } else if (f->kind == SM_JSON_NUMBER) {
            push_number(L, f);
        } else {
            lua_pushboolean(L, 0);
        }
        lua_rawseti(L, t + 1, j + 1);
    }
    lua_setfield(L, t, "location");
}

int sm_json_error_fields(lua_State *L, const char *text, size_t len)
{
    error_fields f;
    int t;
    memset(&f, 0, sizeof f);
    if (read_fields(text, len, &f) != 0)
        return 0;
    luaL_checkstack(L, 8, NULL);
    lua_newtable(L);
    t = lua_gettop(L);
    if (f.error) {
        lua_newtable(L);
        set_string(L, t + 1, "code", &f.code);
        set_string(L, t + 1, "message", &f.error_message);
        set_string(L, t + 1, "description", &f.description);
        lua_setfield(L, t, "error");
    }
    if (f.meta) {
        lua_newtable(L);
        set_string(L, t + 1, "request_id", &f.request_id);
        lua_setfield(L, t, "meta");
    }
    set_string(L, t, "title", &f.title);
    set_string(L, t, "detail", &f.detail);
    set_string(L, t, "message", &f.message);
    if (f.validation) {
        int i;
        lua_createtable(L, f.checks, 0);
        for (i = 0; i < f.checks; i++) {
            push_check(L, &f.check[i]);
            lua_rawseti(L, t + 1, i + 1);
        }
        lua_setfield(L, t, "validation");
    }
    return 1;
}
