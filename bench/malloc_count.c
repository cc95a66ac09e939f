/*
 * malloc_count.c: an LD_PRELOAD shim that counts the calls to malloc,
 * calloc and realloc (each is one allocation a caller asked for) and prints
 * "allocations N" to stderr when the process exits. bench/run.sh runs a
 * loop of K and of 2K requests under it: the difference over K is the
 * allocations per request, setup and teardown cancelled out.
 * glibc only (it forwards to __libc_malloc and friends).
 */
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>

void *__libc_malloc(size_t n);
void *__libc_calloc(size_t k, size_t n);
void *__libc_realloc(void *p, size_t n);

static unsigned long long count;

void *malloc(size_t n)
{
    __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
    return __libc_malloc(n);
}

void *calloc(size_t k, size_t n)
{
    __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
    return __libc_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
    __atomic_add_fetch(&count, 1, __ATOMIC_RELAXED);
    return __libc_realloc(p, n);
}

__attribute__((destructor)) static void report(void)
{
    fprintf(stderr, "allocations %llu\n", count);
}
