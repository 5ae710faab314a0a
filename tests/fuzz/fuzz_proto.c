/* Fuzz target for the local provider's frame parser (plugins/local/
 * proto.c): any bytes in, either a frame or EPROTO out; never a crash, a
 * leak or a read outside the input.  A frame that parses must re-encode,
 * through the builder, to exactly the bytes it came from (the format has
 * one encoding per frame), and the field helpers must cope with any value.
 *
 * With clang and -fsanitize=fuzzer this is a libFuzzer target (`make
 * fuzz-proto`).  Built with FUZZ_REPLAY it is a plain program that runs
 * every file named on its command line through the target, or with no
 * arguments every file of $top_srcdir/tests/fuzz/corpus/proto, so `make
 * check` replays the corpus with any compiler. */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    proto_frame_t f;
    proto_builder_t b;
    char *buf = malloc(size ? size : 1);

    if (!buf)
        return 0;
    if (size)
        memcpy(buf, data, size);
    errno = 0;
    if (proto_parse(buf, size, &f) < 0) {
        /* proto_parse took buf and freed it; the frame is empty. */
        if ((errno != EPROTO && errno != ENOMEM) || f.buf || f.fields || f.nfds)
            abort();
        return 0;
    }
    if (f.buf != buf || f.nfds != 0 || f.nfields > PROTO_MAX_FIELDS)
        abort();
    proto_begin(&b, f.type);
    for (uint32_t i = 0; i < f.nfields; i++) {
        const proto_field_t *fl = &f.fields[i];
        uint64_t u;
        int64_t s;
        char *str;

        if (fl->val < f.buf || fl->val + fl->len > f.buf + size)
            abort();
        proto_add(&b, fl->key, fl->val, fl->len);
        if (proto_get(&f, fl->key) > fl)
            abort(); /* proto_get returns the first */
        if (proto_u64(&f, fl->key, &u) == 0 && proto_i64(&f, fl->key, &s) == 0 &&
            u <= INT64_MAX && (uint64_t)s != u)
            abort();
        str = proto_strdup(fl);
        if (str && (strlen(str) != fl->len || memcmp(str, fl->val, fl->len)))
            abort();
        free(str);
    }
    if (b.failed || b.len != size || memcmp(b.buf, data, size))
        abort();
    proto_builder_free(&b);
    proto_frame_free(&f);
    return 0;
}

#ifdef FUZZ_REPLAY
static int replay(const char *path)
{
    static char buf[1 << 20];
    FILE *fp = fopen(path, "rb");
    size_t len;

    if (!fp) {
        perror(path);
        return -1;
    }
    len = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
    return 0;
}

int main(int argc, char **argv)
{
    int n = 0;

    if (argc > 1) {
        for (int i = 1; i < argc; i++) {
            if (replay(argv[i]) < 0)
                return 1;
            n++;
        }
    } else {
        const char *top = getenv("top_srcdir");
        char dir[4096], path[8192];
        struct dirent *de;
        DIR *d;

        snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/proto", top ? top : ".");
        d = opendir(dir);
        if (!d) {
            perror(dir);
            return 1;
        }
        while ((de = readdir(d))) {
            if (de->d_name[0] == '.')
                continue;
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
            if (replay(path) < 0) {
                closedir(d);
                return 1;
            }
            n++;
        }
        closedir(d);
    }
    printf("replayed %d inputs\n", n);
    return n > 0 ? 0 : 1;
}
#endif
