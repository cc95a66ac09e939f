/*
 * interrupt.h: Ctrl-C for the command line. Once the CLI has trapped
 * SIGINT, a transfer in progress and a wait (retry delay, follow interval)
 * end at once instead of running out their timeout; the CLI then finishes
 * what it was writing and exits. A program that never traps keeps the
 * default behaviour and pays nothing: the handles get no callback.
 */
#ifndef SM_INTERRUPT_H
#define SM_INTERRUPT_H

#include <curl/curl.h>

/* Whether SIGINT arrived since the trap was set. */
int sm_interrupted(void);

/* Makes easy abort its transfer once SIGINT has arrived, when the trap is
 * set (handles copied with curl_easy_duphandle inherit it). */
CURLcode sm_interrupt_arm(CURL *easy);

/* Sets the trap for this process: 0, or -1 with errno set. */
int sm_interrupt_trap(void);

/* Waits until fd has something to read (or its end): 1; 0 once SIGINT has
 * arrived (before the wait or during it, although the trap restarts
 * reads); -1 with errno set when the wait failed. */
int sm_interrupt_wait_readable(int fd);

#endif
