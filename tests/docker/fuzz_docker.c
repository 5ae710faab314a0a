/* libFuzzer targets for what the docker provider reads from an engine:
 * the exec stream demultiplexer and each JSON reply reader (reply.h).
 * Built once per target with -DFUZZ_TARGET_<NAME>; with -DFUZZ_REPLAY it
 * is a plain program that runs every file named on its command line
 * through the target (make check replays the committed corpus).
 *
 * The demux target feeds the input in pieces whose sizes come from the
 * input itself and checks that the payload bytes delivered equal what the
 * frame headers announced. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demux.h"
#include "reply.h"

#if defined(FUZZ_TARGET_DEMUX)
static int count_frame(void *arg, int stream, const void *data, size_t n)
{
    uint64_t *total = arg;

    if (stream != 1 && stream != 2)
        abort();
    (void)data;
    *total += n;
    return 0;
}
#endif

#if defined(FUZZ_TARGET_DEMUX)
static void fuzz_demux(const uint8_t *data, size_t size)
{
    dk_demux_t d;
    uint64_t delivered = 0, expect = 0;
    size_t off = 0, step = size ? (size_t)data[0] % 17 + 1 : 1;
    int rc = 0;

    memset(&d, 0, sizeof d);
    while (off < size && rc == 0) {
        size_t n = size - off < step ? size - off : step;
        rc = dk_demux_feed(&d, data + off, n, count_frame, &delivered);
        off += n;
        step = step * 7 % 23 + 1;
    }
    if (rc == 0) {
        /* Sum of the frame lengths, walking the input independently. */
        size_t p = 0;
        while (p + 8 <= size) {
            uint32_t len = (uint32_t)data[p + 4] << 24 |
                           (uint32_t)data[p + 5] << 16 |
                           (uint32_t)data[p + 6] << 8 | data[p + 7];
            size_t avail = size - p - 8;
            expect += len < avail ? len : avail;
            if (len >= avail)
                break;
            p += 8 + len;
        }
        if (expect != delivered)
            abort();
    }
}

#else
static void fuzz_reply(const uint8_t *data, size_t size)
{
    json_t *j = json_loadb((const char *)data, size, 0, NULL);
    char msg[128];
    dk_record_t r;
    int running;
    int64_t code;
    const char *a, *b, *c;
    json_t *hold;

#if defined(FUZZ_TARGET_RECORD)
    if (!dk_parse_record(j, 0, &r)) {
        (void)dk_status_word(r.state);
        (void)dk_record_expired(&r, 1);
        if (strlen(r.id) != 12)
            abort();
    }
    if (json_is_array(j)) {
        size_t i;
        json_t *e;
        json_array_foreach(j, i, e) (void)dk_parse_record(e, 1, &r);
    }
#elif defined(FUZZ_TARGET_MESSAGE)
    dk_parse_message((const char *)data, size, msg, sizeof msg);
    if (strlen(msg) >= sizeof msg)
        abort();
#elif defined(FUZZ_TARGET_EXEC)
    if (!dk_parse_exec_state(j, &running, &code) && running != 0 &&
        running != 1)
        abort();
#elif defined(FUZZ_TARGET_PULL)
    (void)dk_parse_pull_line((const char *)data, size, &hold, &a, &b, &c);
    json_decref(hold);
#elif defined(FUZZ_TARGET_PORT)
    dk_parse_port(j, size ? data[0] * 100u : 80, &a, &b, &c);
#endif
    (void)msg, (void)r, (void)running, (void)code, (void)a, (void)b, (void)c;
    (void)hold;
    json_decref(j);
}
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
#if defined(FUZZ_TARGET_DEMUX)
    fuzz_demux(data, size);
#else
    fuzz_reply(data, size);
#endif
    return 0;
}

#ifdef FUZZ_REPLAY
int main(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        uint8_t *buf;
        long n;

        if (!f || fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 ||
            fseek(f, 0, SEEK_SET) || !(buf = malloc((size_t)n + 1))) {
            fprintf(stderr, "%s: cannot read\n", argv[i]);
            return 1;
        }
        if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
            fprintf(stderr, "%s: short read\n", argv[i]);
            return 1;
        }
        fclose(f);
        LLVMFuzzerTestOneInput(buf, (size_t)n);
        free(buf);
    }
    return 0;
}
#endif
