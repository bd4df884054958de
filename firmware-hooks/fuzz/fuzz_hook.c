/* libFuzzer target: arbitrary bytes into the frame parser, the protocol, the record decoder and
 * the slot reader, over a strict NOR RAM flash (one program per word per erase) whose program
 * unit the input picks. Built with -fsanitize=fuzzer,address,undefined (make fuzz). */
#include <stdint.h>
#include <string.h>

#include "credline_hook.h"

#define SECTOR 1024u
static uint8_t mem[2 * SECTOR];
static uint8_t programmed[2 * SECTOR];
static uint32_t unit = 1;

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
    if ((uint64_t)a + n > sizeof mem || a % unit || n % unit) __builtin_trap();
    for (i = 0; i < n; i += unit)
        if (programmed[(a + i) / unit]) __builtin_trap();   /* a word programmed twice */
    for (i = 0; i < n; i++) { programmed[(a + i) / unit] = 1; mem[a + i] &= p[i]; }
    return 0;
}
static int er(void *c, uint32_t a) {
    uint32_t i;
    (void)c;
    if (a % SECTOR || a >= sizeof mem) return -1;
    memset(mem + a, 0xFF, SECTOR);
    for (i = 0; i < SECTOR / unit; i++) programmed[a / unit + i] = 0;
    return 0;
}
static void sink(void *c, const uint8_t *d, size_t n) {
    (void)c;
    (void)d;
    if (n > 2 * CREDLINE_MAX_FRAME + 2) __builtin_trap();   /* replies are bounded */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static struct credline_hook hook;
    struct credline_storage s = {0};
    char buf[80];
    uint32_t i;
    unit = size > 0 ? 1u << ((data[0] >> 1) % 6) : 1;
    s.read = rd; s.prog = pg; s.erase = er;
    s.sector_size = SECTOR; s.slot_a = 0; s.slot_b = SECTOR; s.prog_size = unit;
    memset(mem, 0xFF, sizeof mem);
    if (size > 0 && data[0] & 1) memcpy(mem, data, size < sizeof mem ? size : sizeof mem);
    memset(programmed, 0, sizeof programmed);
    for (i = 0; i < sizeof mem; i++) if (mem[i] != 0xFF) programmed[i / unit] = 1;
    if (credline_hook_init(&hook, &s, sink, NULL, "FUZZ") != CREDLINE_OK) return 0;
    credline_hook_feed(&hook, data, size / 2);
    credline_hook_feed(&hook, data + size / 2, size - size / 2);
    credline_record_check(data, size);
    credline_get_serial(&hook, buf, sizeof buf);
    credline_check_password(&hook, (const char *)data, size < 200 ? size : 200);
    if (size > 1 && data[1] & 1) credline_wipe(&hook);
    credline_hook_feed(&hook, data, size);
    /* a restart must read back whatever the frames stored */
    credline_hook_init(&hook, &s, sink, NULL, "FUZZ");
    return 0;
}
