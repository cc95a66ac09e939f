/*
 * sigint.c: Ctrl-C for the command line (sigint.h).
 *
 * The handler only sets the core's cancel flag (src/cancel.h), which it
 * was given when the trap was set. It is installed with SA_RESTART, so
 * reads and writes carry on (output is never cut mid-entry by EINTR),
 * while poll() and nanosleep(), which Linux never restarts, return early:
 * libcurl treats that EINTR as a timeout and calls the core's progress
 * callback, which aborts the transfer; core.sleep checks the flag itself.
 * A read that may block (the key from standard input) first waits in
 * pselect(), which is never restarted either, with SIGINT blocked
 * everywhere else so that one arriving just before the wait still ends it.
 */
#include "sigint.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/select.h>

/* Set once, before the handler is installed. */
static sm_cancel *volatile flag_of_trap;

static void on_sigint(int sig)
{
    (void)sig;
    flag_of_trap->cancelled = 1;
}

int sm_sigint_arrived(void)
{
    return flag_of_trap != NULL && flag_of_trap->cancelled != 0;
}

int sm_sigint_trap(sm_cancel *flag)
{
    struct sigaction sa;
    if (flag_of_trap != NULL && flag_of_trap != flag) {
        errno = EINVAL; /* two cores in one process: cannot happen */
        return -1;
    }
    flag->armed = 1;
    flag_of_trap = flag;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_sigint;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    return sigaction(SIGINT, &sa, NULL) != 0 ? -1 : 0;
}

int sm_sigint_wait_readable(int fd)
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
        if (sm_sigint_arrived()) {
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
