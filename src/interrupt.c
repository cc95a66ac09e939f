/*
 * interrupt.c: Ctrl-C for the command line (see interrupt.h).
 *
 * The handler only sets a flag. It is installed with SA_RESTART, so reads
 * and writes carry on (output is never cut mid-entry by EINTR), while
 * poll() and nanosleep(), which Linux never restarts, return early: libcurl
 * treats that EINTR as a timeout and calls the progress callback, which
 * aborts the transfer; core.sleep checks the flag itself. A read that may
 * block (the key from standard input) first waits in pselect(), which is
 * never restarted either, with SIGINT blocked everywhere else so that one
 * arriving just before the wait still ends it.
 */
#include "interrupt.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/select.h>

static volatile sig_atomic_t trapped;
static volatile sig_atomic_t interrupted;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

int sm_interrupted(void)
{
    return interrupted != 0;
}

static int abort_when_interrupted(void *data, curl_off_t dltotal,
                                  curl_off_t dlnow, curl_off_t ultotal,
                                  curl_off_t ulnow)
{
    (void)data, (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    return interrupted != 0;
}

CURLcode sm_interrupt_arm(CURL *easy)
{
    CURLcode rc;
    if (!trapped)
        return CURLE_OK;
    rc = curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION,
                          abort_when_interrupted);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
    return rc;
}

int sm_interrupt_trap(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGINT, &sa, NULL) != 0)
        return -1;
    trapped = 1;
    return 0;
}

int sm_interrupt_wait_readable(int fd)
{
    sigset_t block, old, during;
    fd_set set;
    int rc, saved;
    if (fd < 0 || fd >= FD_SETSIZE)
        return 1; /* cannot wait for it: the read will block instead */
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    if (pthread_sigmask(SIG_BLOCK, &block, &old) != 0)
        return -1;
    during = old;
    sigdelset(&during, SIGINT);
    for (;;) {
        /* SIGINT is blocked here: one that came before the wait is seen
         * now, one that comes during it ends the wait (EINTR). */
        if (interrupted) {
            rc = 0;
            break;
        }
        FD_ZERO(&set);
        FD_SET(fd, &set);
        rc = pselect(fd + 1, &set, NULL, NULL, NULL, &during);
        if (rc > 0) {
            rc = 1;
            break;
        }
        if (rc < 0 && errno != EINTR) {
            rc = -1;
            break;
        }
    }
    saved = errno;
    (void)pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = saved;
    return rc;
}
