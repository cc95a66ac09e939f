/*
 * cancel.c: the core's one cancel flag (cancel.h). Who sets it (the CLI's
 * SIGINT handler) lives outside the core; here it is only read: by
 * libcurl's progress callback, which aborts the transfer, and by
 * core.sleep (clock.c), which raises "interrupted". poll() and nanosleep()
 * return early with EINTR when a signal arrives, even under SA_RESTART:
 * libcurl then calls the progress callback, and core.sleep looks at the
 * flag.
 */
#include "cancel.h"

static sm_cancel cancel = {SM_CANCEL_MAGIC, 0, 0};

int sm_cancelled(void)
{
    return cancel.cancelled != 0;
}

static int abort_when_cancelled(void *data, curl_off_t dltotal,
                                curl_off_t dlnow, curl_off_t ultotal,
                                curl_off_t ulnow)
{
    (void)data, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return cancel.cancelled != 0;
}

CURLcode sm_cancel_arm(CURL *easy)
{
    CURLcode rc;
    if (!cancel.armed)
        return CURLE_OK;
    rc = curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION,
                          abort_when_cancelled);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    return rc;
}

void sm_cancel_open(lua_State *L)
{
    lua_pushlightuserdata(L, &cancel);
    lua_setfield(L, LUA_REGISTRYINDEX, SM_CANCEL_KEY);
}
