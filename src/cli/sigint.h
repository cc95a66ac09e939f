/*
 * sigint.h: Ctrl-C for the command line (sigint.c), in its own module
 * (supermetrics.cli_native). The trap sets the core's cancel flag
 * (src/cancel.h): a transfer in progress and a wait end at once instead of
 * running out their timeout; the CLI then finishes what it was writing and
 * exits.
 */
#ifndef SM_CLI_SIGINT_H
#define SM_CLI_SIGINT_H

#include "../cancel.h"

/* Sets the trap for this process, which sets flag's `cancelled` on SIGINT
 * (and arms flag first): 0, or -1 with errno set. */
int sm_sigint_trap(sm_cancel *flag);

/* Whether SIGINT arrived since the trap was set. */
int sm_sigint_arrived(void);

/* Waits until fd has something to read (or its end): 1; 0 once SIGINT has
 * arrived (before the wait or during it, although the trap restarts
 * reads); -1 with errno set when the wait failed. */
int sm_sigint_wait_readable(int fd);

#endif
