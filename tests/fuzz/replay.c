/*
 * replay.c: the plain driver of `make test` (tests/fuzz/run.sh replay-plain):
 * a main() that runs each file named on the command line once through a
 * harness's LLVMFuzzerTestOneInput, the way libFuzzer replays an input, but
 * with no libFuzzer and no sanitizer, so any C compiler builds it. A failed
 * invariant aborts (invariant.h); a crash is a crash. Each input is handed
 * over in a buffer of exactly its size, as libFuzzer does.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Reads path whole into a new buffer of exactly its size (one byte for an
 * empty file, so the pointer is never NULL); NULL if it cannot. */
static uint8_t *slurp(const char *path, size_t *size)
{
    FILE *f = fopen(path, "rb");
    uint8_t *data = NULL;
    long n;
    if (f == NULL)
        return NULL;
    if (fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && fseek(f, 0, SEEK_SET) == 0) {
        data = malloc(n > 0 ? (size_t)n : 1);
        if (data != NULL && fread(data, 1, (size_t)n, f) != (size_t)n) {
            free(data);
            data = NULL;
        }
        *size = (size_t)n;
    }
    fclose(f);
    return data;
}

int main(int argc, char **argv)
{
    int i;
    for (i = 1; i < argc; i++) {
        size_t size = 0;
        uint8_t *data = slurp(argv[i], &size);
        if (data == NULL) {
            fprintf(stderr, "replay: cannot read %s\n", argv[i]);
            return 2;
        }
        /* Named first: a crash's last line says which input it was. */
        fprintf(stderr, "replay: %s\n", argv[i]);
        (void)LLVMFuzzerTestOneInput(data, size);
        free(data);
    }
    printf("%d inputs replayed\n", argc - 1);
    return 0;
}
