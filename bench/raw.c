/*
 * raw.c: the benchmark's limit. One libcurl easy handle, reused for every
 * request, sending the bytes lua-supermetrics 0.1.0 on Lua 5.4 sends
 * (Authorization, Accept, Accept-Encoding, the same User-Agent: libcurl
 * formats headers byte by byte, so even their length counts), the body
 * collected into one reused buffer and decoded with cJSON.
 *
 * Usage: raw URL N [CA_FILE]
 * Prints "ok REQUESTS SECONDS" (wall time of the request loop).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cJSON.h>
#include <curl/curl.h>

typedef struct {
    char *data;
    size_t len, cap;
} buffer;

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    buffer *b = ud;
    size_t add = size * n;
    if (b->len + add + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        char *grown;
        while (cap < b->len + add + 1)
            cap *= 2;
        grown = realloc(b->data, cap);
        if (grown == NULL)
            return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, add);
    b->len += add;
    return add;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    struct curl_slist *headers = NULL;
    buffer body = {NULL, 0, 0};
    CURL *easy;
    long i, n, status = 0;
    double start;
    char user_agent[128];

    if (argc < 3 || (n = atol(argv[2])) <= 0) {
        fprintf(stderr, "usage: %s URL N [CA_FILE]\n", argv[0]);
        return 2;
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return 1;
    easy = curl_easy_init();
    headers = curl_slist_append(headers, "Accept: application/json");
    headers = curl_slist_append(headers, "Authorization: Bearer api_bench_key");
    if (easy == NULL || headers == NULL)
        return 1;
    curl_easy_setopt(easy, CURLOPT_URL, argv[1]);
    curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
    snprintf(user_agent, sizeof user_agent,
             "lua-supermetrics/0.1.0 (Lua 5.4; libcurl/%s)",
             curl_version_info(CURLVERSION_NOW)->version);
    curl_easy_setopt(easy, CURLOPT_USERAGENT, user_agent);
    curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
    if (argc > 3)
        curl_easy_setopt(easy, CURLOPT_CAINFO, argv[3]);

    start = now();
    for (i = 0; i < n; i++) {
        cJSON *entry;
        const cJSON *id;
        CURLcode rc;
        body.len = 0;
        rc = curl_easy_perform(easy);
        curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
        if (rc != CURLE_OK || status != 200) {
            fprintf(stderr, "request %ld failed: %s, HTTP %ld\n", i,
                    curl_easy_strerror(rc), status);
            return 1;
        }
        entry = cJSON_ParseWithLength(body.data, body.len);
        id = cJSON_GetObjectItemCaseSensitive(entry, "id");
        if (!cJSON_IsString(id) || strcmp(id->valuestring, "123") != 0) {
            fprintf(stderr, "request %ld: unexpected body\n", i);
            return 1;
        }
        cJSON_Delete(entry);
    }
    printf("ok %ld %.6f\n", n, now() - start);

    curl_easy_cleanup(easy);
    curl_slist_free_all(headers);
    free(body.data);
    curl_global_cleanup();
    return 0;
}
