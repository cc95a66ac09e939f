/*
 * invariant.h: the harnesses' invariant check, free of Lua so that the plain C
 * harnesses can use it too.
 */
#ifndef SM_FUZZ_INVARIANT_H
#define SM_FUZZ_INVARIANT_H

#include <stdio.h>
#include <stdlib.h>

/* A finding: print why and abort, so libFuzzer saves the input. */
#define FUZZ_ASSERT(cond)                                                 \
    do {                                                                  \
        if (!(cond)) {                                                    \
            fprintf(stderr, "%s:%d: invariant failed: %s\n", __FILE__,    \
                    __LINE__, #cond);                                     \
            abort();                                                      \
        }                                                                 \
    } while (0)

#endif
