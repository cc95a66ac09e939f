/*
 * segment.c: checks and percent-encodes the bytes of path segments.
 */
#include "segment.h"

#include <string.h>

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

static int is_alnum(unsigned char c)
{
    return is_digit(c) || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

int sm_team_id_from_digits(const char *s, size_t n, char *out)
{
    static const char max[] = "9223372036854775807";
    size_t i;
    for (i = 0; i < n; i++)
        if (!is_digit((unsigned char)s[i]))
            return -1;
    while (n > 0 && *s == '0') {
        s++;
        n--;
    }
    /* Same length: decimal strings compare as numbers. */
    if (n == 0 || n > SM_TEAM_ID_DIGITS ||
        (n == SM_TEAM_ID_DIGITS && memcmp(s, max, n) > 0))
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

int sm_check_connector(const char *s, size_t n)
{
    size_t i;
    if (n == 0 || n > SM_CONNECTOR_MAX)
        return -1;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!is_alnum(c) && c != '_' && c != '-')
            return -1;
    }
    return 0;
}

int sm_check_date_time(const char *s, size_t n)
{
    static const char shape[] = "dddd-dd-ddTdd:dd:dd";
    size_t i;
    if (n < sizeof shape || n > SM_TIMESTAMP_MAX)
        return -1;
    for (i = 0; i < sizeof shape - 1; i++)
        if (shape[i] == 'd' ? !is_digit((unsigned char)s[i]) : s[i] != shape[i])
            return -1;
    if (s[i] == '.') {
        size_t digits;
        for (digits = 0, i++; i < n && is_digit((unsigned char)s[i]); i++)
            digits++;
        if (digits < 1 || digits > 18)
            return -1;
    }
    return i == n - 1 && s[i] == 'Z' ? 0 : -1;
}

size_t sm_encode_segment(const char *s, size_t n, char *out)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            out[o++] = (char)c;
        } else {
            out[o++] = '%';
            out[o++] = hex[c >> 4];
            out[o++] = hex[c & 15];
        }
    }
    return o;
}
