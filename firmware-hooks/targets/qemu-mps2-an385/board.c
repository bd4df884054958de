/* The credline hook on an emulated mps2-an385, as a product would run it: UART0 fed to the
 * hook from an interrupt-filled ring, replies sent polled, flash behind the three callbacks.
 * It serves the line for as long as it runs, also once locked, so a second station run is
 * told "already locked" rather than "no answer".
 *
 * Options come from the semihosting command line (QEMU -semihosting-config ...,arg=...):
 *   --flash FILE  --hwid ID  --prog-size N  --flash-delay-ms N  --power-cut-after-write N
 * Exit status (QEMU's): 2 bad options, 4 flash file unusable. An injected power cut prints
 * BOARD_CUT_LINE and halts; the host then kills QEMU. */
#include "board.h"
#include "credline_hook.h"

#define CMDLINE 512u

static char cmdline[CMDLINE];
static struct board_flash flash;
static struct credline_storage storage;
static struct credline_hook hook;

static int equal(const char *a, const char *b) {
    while (*a && *a == *b) { a++; b++; }
    return *a == *b;
}

static int number(const char *text, uint32_t *out) {
    uint32_t value = 0;
    if (!*text) return -1;
    for (; *text; text++) {
        if (*text < '0' || *text > '9' || value > 100000000u) return -1;
        value = value * 10u + (uint32_t)(*text - '0');
    }
    *out = value;
    return 0;
}

/* Splits the command line in place; returns 0, or -1 naming nothing (the host checks). */
static int options(const char **path, const char **hwid) {
    char *words[16];
    uint32_t n = 0, i;
    char *p = cmdline;
    while (*p && n < 16u) {
        while (*p == ' ') *p++ = '\0';
        if (!*p) break;
        words[n++] = p;
        while (*p && *p != ' ') p++;
    }
    if (*p) return -1;
    for (i = 1; i + 1 < n; i += 2) {   /* words[0] is the program name */
        const char *key = words[i], *value = words[i + 1];
        if (equal(key, "--flash")) *path = value;
        else if (equal(key, "--hwid")) *hwid = value;
        else if (equal(key, "--prog-size")) { if (number(value, &flash.prog_size)) return -1; }
        else if (equal(key, "--flash-delay-ms")) { if (number(value, &flash.delay_ms)) return -1; }
        else if (equal(key, "--power-cut-after-write")) {
            if (number(value, &flash.cut_after)) return -1;
        } else return -1;
    }
    if (i != n || !*path) return -1;
    switch (flash.prog_size) {
    case 1: case 2: case 4: case 8: case 16: case 32: return 0;
    default: return -1;
    }
}

int main(void) {
    const char *path = 0, *hwid = "QEMU-AN385";
    uint8_t buffer[64];
    flash.prog_size = 1;
    if (semihost_cmdline(cmdline, CMDLINE) != 0 || options(&path, &hwid) != 0) {
        semihost_print("credline board: bad options (see board.c)\n");
        return 2;
    }
    if (flash_open(&flash, path) != 0) {
        semihost_print("credline board: cannot open the flash file\n");
        return 4;
    }
    storage.context = &flash;
    storage.read = flash_read;
    storage.prog = flash_prog;
    storage.erase = flash_erase;
    storage.sector_size = BOARD_SECTOR_SIZE;
    storage.slot_a = 0;
    storage.slot_b = BOARD_SECTOR_SIZE;
    storage.prog_size = flash.prog_size;  /* the hook programs each word once per erase */
    uart_init();
    if (credline_hook_init(&hook, &storage, uart_send, 0, hwid) != CREDLINE_OK) {
        semihost_print("credline board: flash unreadable\n");
        return 4;
    }
    semihost_print("credline board: ready\n");
    for (;;) {
        size_t n;
        BOARD_IRQ_OFF();
        n = uart_take(buffer, sizeof buffer);
        if (n == 0) BOARD_WFI();   /* wakes on the pending interrupt, taken below */
        BOARD_IRQ_ON();
        if (n) credline_hook_feed(&hook, buffer, n);
    }
}
