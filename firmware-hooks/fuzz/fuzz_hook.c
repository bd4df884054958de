/* libFuzzer target: arbitrary bytes into the frame parser, the protocol and the record
 * decoder, over a RAM flash. Built with -fsanitize=fuzzer,address,undefined (make fuzz). */
#include <stdint.h>
#include <string.h>

#include "credline_hook.h"

#define SECTOR 1024u
static uint8_t mem[2 * SECTOR];

static int rd(void *c, uint32_t a, void *b, uint32_t n) {
    (void)c;
    if ((uint64_t)a + n > sizeof mem) return -1;
    memcpy(b, mem + a, n);
    return 0;
}
static int pg(void *c, uint32_t a, const void *b, uint32_t n) {
    const uint8_t *p = b;
    uint32_t i;
    (void)c;
    if ((uint64_t)a + n > sizeof mem) return -1;
    for (i = 0; i < n; i++) mem[a + i] &= p[i];
    return 0;
}
static int er(void *c, uint32_t a) {
    (void)c;
    if (a % SECTOR || a >= sizeof mem) return -1;
    memset(mem + a, 0xFF, SECTOR);
    return 0;
}
static void sink(void *c, const uint8_t *d, size_t n) {
    (void)c;
    (void)d;
    if (n > 2 * CREDLINE_MAX_FRAME + 2) __builtin_trap();   /* replies are bounded */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static struct credline_hook hook;
    struct credline_storage s = {NULL, rd, pg, er, SECTOR, 0, SECTOR};
    char buf[80];
    memset(mem, 0xFF, sizeof mem);
    if (size > 0 && data[0] & 1) memcpy(mem, data, size < sizeof mem ? size : sizeof mem);
    if (credline_hook_init(&hook, &s, sink, NULL, "FUZZ") != CREDLINE_OK) return 0;
    credline_hook_feed(&hook, data, size / 2);
    credline_hook_feed(&hook, data + size / 2, size - size / 2);
    credline_record_check(data, size);
    credline_get_serial(&hook, buf, sizeof buf);
    credline_check_password(&hook, (const char *)data, size < 64 ? size : 64);
    /* a restart must read back whatever the frames stored */
    credline_hook_init(&hook, &s, sink, NULL, "FUZZ");
    return 0;
}
