/*
 * sockets.h: the sockets a client's libcurl handles have open, so that a
 * process forked from one that used the client can let go of them without
 * touching the connections its parent still uses. Both processes hold the
 * same sockets after fork(); a child that sent a request on one could read
 * the parent's reply, and a child that closed one through libcurl would
 * send a TLS close_notify into the parent's stream. The child instead
 * points its own copies of those descriptors at /dev/null and then lets
 * libcurl close them as usual: the parent's sockets are never written to.
 */
#ifndef SM_SOCKETS_H
#define SM_SOCKETS_H

#include <stddef.h>
#include <sys/types.h>

#include <curl/curl.h>

typedef struct sm_sockets {
    int *fds;      /* descriptors libcurl opened through us and not closed */
    size_t n, cap;
    pid_t pid;     /* the process that owns them */
} sm_sockets;

/* Empty set owned by the calling process. */
void sm_sockets_init(sm_sockets *s);

/* Makes easy open and close its sockets through s (copies made with
 * curl_easy_duphandle keep doing so). */
CURLcode sm_sockets_attach(sm_sockets *s, CURL *easy);

/* True in a process other than the one that opened the sockets, while
 * any is open. */
int sm_sockets_forked(const sm_sockets *s);

/* In a forked process: points every descriptor of s at /dev/null (this
 * process's copies only), so that closing them, TLS shutdown included,
 * writes nothing to the parent's connections; s then belongs to this
 * process. Returns 0, or -1 when /dev/null cannot be opened (the caller must
 * then abandon the handles rather than close them). */
int sm_sockets_disown(sm_sockets *s);

/* Ends the connection easy's last transfer used (found among s by its local
 * port) with shutdown(2), so that libcurl's pool sees it dead and closes it
 * instead of reusing it: for a connection whose answers are out of step
 * with its requests. Returns 0, or -1 when none matched. */
int sm_sockets_drop_last(sm_sockets *s, CURL *easy);

void sm_sockets_free(sm_sockets *s);

#endif
