/*
 * terminal.h: supermetrics.cli_native, the command line's own C module
 * (terminal.c; Ctrl-C: sigint.c). Only the command line loads it:
 *   trap_interrupt()  Ctrl-C cuts transfers and waits short (the core's
 *                     cancel flag, src/cancel.h)
 *   interrupted()     whether SIGINT came since trap_interrupt()
 *   isatty(fd)        whether fd is a terminal
 *   read_key(path)    key | nil, mode | nil; or false, why, detail: the
 *                     first line of a regular file or of standard input
 *                     ("-"), at most the credential's length plus one byte
 *                     read, interruptible by Ctrl-C
 *   no_core_dumps()   RLIMIT_CORE 0 and, on Linux, not dumpable
 *   sync_file(path)   true | nil, message: fsync of a file or folder
 *   truncate_file(path, size)  true | nil, message
 */
#ifndef SM_CLI_TERMINAL_H
#define SM_CLI_TERMINAL_H

#include <lua.h>

/* The module's one exported symbol. */
int luaopen_supermetrics_cli_native(lua_State *L);

#endif
