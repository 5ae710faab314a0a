/* Fuzz target for the config loader: any bytes in, either a parsed config
 * or a one-line error out; never a crash, leak or overflow.
 *
 * With clang and -fsanitize=fuzzer this is a libFuzzer target (`make
 * fuzz`).  Built with FUZZ_REPLAY it is a plain program that runs every
 * file named on its command line through the target, so `make check`
 * replays the corpus with any compiler (and under ASan with
 * --enable-asan). */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#include "config_file.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    config_t *cfg = NULL;
    csdk_error_t err;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    if (config_load_string(text, "fuzz.ini", &cfg, &err) == CSDK_OK) {
        /* Walk what was parsed, as the registry would. */
        const config_section_t *hs = config_host(cfg);
        (void)config_find(hs, "plugin_dir");
        for (size_t i = 0; i < cfg->n_sections; i++)
            for (size_t j = 0; j < cfg->sections[i].n_entries; j++)
                if (!cfg->sections[i].entries[j].key[0])
                    abort(); /* inih never yields an empty key */
        config_free(cfg);
    } else if (strchr(err.message, '\n') || !err.message[0]) {
        abort(); /* an error is exactly one non-empty line */
    }
    free(text);
    return 0;
}

#ifdef FUZZ_REPLAY
int main(int argc, char **argv)
{
    int n = 0;
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        char buf[1 << 16];
        size_t len;
        if (!f) {
            perror(argv[i]);
            return 1;
        }
        len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
        n++;
    }
    printf("replayed %d inputs\n", n);
    return n > 0 ? 0 : 1;
}
#endif
