/*
 * segment.h: checks and encodes the pieces of a request path. Pure C over
 * byte ranges, so a fuzzer can drive it without Lua.
 */
#ifndef SM_SEGMENT_H
#define SM_SEGMENT_H

#include <stddef.h>

#define SM_TEAM_ID_DIGITS 19      /* 9223372036854775807 */
#define SM_CONNECTOR_MAX 100
#define SM_LOG_ID_MAX 255
#define SM_TIMESTAMP_MAX 64

/* Parses 1..19 decimal digits (leading zeros allowed) into 1..2^63-1 and
 * writes the canonical decimal form (no leading zeros, NUL-terminated) into
 * out[SM_TEAM_ID_DIGITS + 1]. Returns 0, or -1 when not such a number. */
int sm_team_id_from_digits(const char *s, size_t n, char *out);

/* Returns 0 when s is 1..100 bytes of [A-Za-z0-9_-], else -1. */
int sm_check_connector(const char *s, size_t n);

/* Returns 0 when s has the shape of the RFC 3339 date-time in UTC the list
 * route's `before` is sent as (the Lua layer writes it, supermetrics.logtime):
 * YYYY-MM-DDTHH:MM:SS, then an optional '.' and 1..18 digits, then 'Z'.
 * Else -1. */
int sm_check_date_time(const char *s, size_t n);

/* Percent-encodes s as one path segment: every byte but the RFC 3986
 * unreserved ones becomes %XX. out needs room for 3 * n bytes. Returns the
 * encoded length. */
size_t sm_encode_segment(const char *s, size_t n, char *out);

#endif
