/*
 * sockets.c: the sockets a client's handles hold, for fork safety
 * (sockets.h).
 */
/* MADV_WIPEONFORK and MAP_ANONYMOUS are Linux's, beyond POSIX. */
#define _DEFAULT_SOURCE 1

#include "sockets.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

/* ---- this process's id without a system call per call ----
 * getpid() is a system call (glibc caches it no more), and every call of a
 * client holding sockets asks it. A page the kernel hands a forked child
 * zeroed (MADV_WIPEONFORK, Linux 4.14+) says whether the pid read before is
 * still this process's: any fork, libc's or a raw one from LuaJIT's FFI.
 * Without it, getpid() each time. */
static unsigned char *same_process; /* 1 while pid_read is ours */
static pid_t pid_read;
static pthread_once_t wipe_once = PTHREAD_ONCE_INIT;

static void map_wipe_page(void)
{
#ifdef MADV_WIPEONFORK
    long size = sysconf(_SC_PAGESIZE);
    void *page = size > 0 ? mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE,
                                 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)
                          : MAP_FAILED;
    if (page == MAP_FAILED)
        return;
    if (madvise(page, (size_t)size, MADV_WIPEONFORK) != 0) {
        munmap(page, (size_t)size);
        return;
    }
    /* Kept for the process's life: a module unloaded and loaded again maps
     * another (one page each time). */
    same_process = page;
#endif
}

static pid_t this_pid(void)
{
    pid_t pid;
    if (pthread_once(&wipe_once, map_wipe_page) != 0 || same_process == NULL)
        return getpid();
    if (__atomic_load_n(same_process, __ATOMIC_ACQUIRE) == 1)
        return __atomic_load_n(&pid_read, __ATOMIC_RELAXED);
    /* First use, or first after a fork: read it and say it is ours. */
    pid = getpid();
    __atomic_store_n(&pid_read, pid, __ATOMIC_RELAXED);
    __atomic_store_n(same_process, 1, __ATOMIC_RELEASE);
    return pid;
}

void sm_sockets_init(sm_sockets *s)
{
    s->fds = NULL;
    s->n = s->cap = 0;
    s->pid = getpid();
}

/* libcurl callbacks: C memory only, never Lua. */
static curl_socket_t open_socket(void *clientp, curlsocktype purpose,
                                 struct curl_sockaddr *address)
{
    sm_sockets *s = clientp;
    int fd;
    (void)purpose;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        int *grown = realloc(s->fds, cap * sizeof *grown);
        if (grown == NULL)
            return CURL_SOCKET_BAD; /* a connection error, not a blind spot */
        s->fds = grown;
        s->cap = cap;
    }
    fd = socket(address->family, address->socktype, address->protocol);
    if (fd < 0)
        return CURL_SOCKET_BAD;
    if (s->n == 0)
        s->pid = getpid(); /* an empty set belongs to whoever fills it */
    s->fds[s->n++] = fd;
    return fd;
}

static int close_socket(void *clientp, curl_socket_t fd)
{
    sm_sockets *s = clientp;
    size_t i;
    for (i = 0; i < s->n; i++) {
        if (s->fds[i] == fd) {
            s->fds[i] = s->fds[--s->n];
            break;
        }
    }
    return close(fd);
}

CURLcode sm_sockets_attach(sm_sockets *s, CURL *easy)
{
    CURLcode rc;
    if ((rc = curl_easy_setopt(easy, CURLOPT_OPENSOCKETFUNCTION, open_socket)) !=
            CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_OPENSOCKETDATA, s)) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_CLOSESOCKETFUNCTION,
                               close_socket)) != CURLE_OK ||
        (rc = curl_easy_setopt(easy, CURLOPT_CLOSESOCKETDATA, s)) != CURLE_OK)
        return rc;
    return CURLE_OK;
}

/* With no socket open there is nothing to share with a parent (and no
 * system call on the hot path of clients that hold none, such as those on
 * nginx's cosockets). */
int sm_sockets_forked(const sm_sockets *s)
{
    return s->n > 0 && this_pid() != s->pid;
}

int sm_sockets_disown(sm_sockets *s)
{
    size_t i;
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        return -1;
    /* dup2 replaces this process's descriptor only; the parent's socket
     * stays open and untouched. */
    for (i = 0; i < s->n; i++)
        (void)dup2(null, s->fds[i]);
    close(null);
    s->pid = getpid();
    return 0;
}

/* The local port of fd, or -1. */
static long local_port(int fd)
{
    struct sockaddr_storage a;
    socklen_t len = sizeof a;
    if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
        return -1;
    if (a.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&a)->sin_port);
    if (a.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
    return -1;
}

int sm_sockets_drop_last(sm_sockets *s, CURL *easy)
{
    long port = 0;
    size_t i;
    /* Every socket of a client goes to one host and port (base_url): the
     * local port tells them apart. The active-socket query cannot be used:
     * it does not see connections kept in a share handle's pool. */
    if (curl_easy_getinfo(easy, CURLINFO_LOCAL_PORT, &port) != CURLE_OK ||
        port <= 0)
        return -1;
    for (i = 0; i < s->n; i++) {
        if (local_port(s->fds[i]) == port) {
            (void)shutdown(s->fds[i], SHUT_RDWR);
            return 0;
        }
    }
    return -1;
}

void sm_sockets_free(sm_sockets *s)
{
    free(s->fds);
    s->fds = NULL;
    s->n = s->cap = 0;
}
