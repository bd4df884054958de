/* ARM semihosting: BKPT 0xAB with the operation in r0 and a parameter block in r1. QEMU
 * answers these when started with -semihosting-config enable=on,target=native. */
#include "board.h"

enum {
    SYS_OPEN = 0x01, SYS_CLOSE = 0x02, SYS_WRITE0 = 0x04, SYS_WRITE = 0x05, SYS_READ = 0x06,
    SYS_SEEK = 0x0A, SYS_FLEN = 0x0C, SYS_GET_CMDLINE = 0x15, SYS_EXIT_EXTENDED = 0x20
};
#define ADP_STOPPED_APPLICATION_EXIT 0x20026u

static int call(uint32_t op, const void *arg) {
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return (int)r0;
}

static uint32_t word(const void *pointer) { return (uint32_t)(uintptr_t)pointer; }

static uint32_t length(const char *text) {
    uint32_t n = 0;
    while (text[n]) n++;
    return n;
}

int semihost_open(const char *path, uint32_t mode) {
    uint32_t block[3];
    block[0] = word(path);
    block[1] = mode;
    block[2] = length(path);
    return call(SYS_OPEN, block);
}

int semihost_read(int handle, void *buffer, uint32_t size) {
    uint32_t block[3];
    block[0] = (uint32_t)handle;
    block[1] = word(buffer);
    block[2] = size;
    return call(SYS_READ, block);
}

int semihost_write(int handle, const void *buffer, uint32_t size) {
    uint32_t block[3];
    block[0] = (uint32_t)handle;
    block[1] = word(buffer);
    block[2] = size;
    return call(SYS_WRITE, block);
}

int semihost_seek(int handle, uint32_t offset) {
    uint32_t block[2];
    block[0] = (uint32_t)handle;
    block[1] = offset;
    return call(SYS_SEEK, block);
}

int semihost_length(int handle) {
    uint32_t block[1];
    block[0] = (uint32_t)handle;
    return call(SYS_FLEN, block);
}

int semihost_cmdline(char *buffer, uint32_t size) {
    uint32_t block[2];
    block[0] = word(buffer);
    block[1] = size;
    if (call(SYS_GET_CMDLINE, block) != 0 || block[1] >= size) return -1;
    buffer[block[1]] = '\0';
    return 0;
}

void semihost_print(const char *text) { (void)call(SYS_WRITE0, text); }

void semihost_exit(uint32_t status) {
    uint32_t block[2];
    block[0] = ADP_STOPPED_APPLICATION_EXIT;
    block[1] = status;
    (void)call(SYS_EXIT_EXTENDED, block);
    for (;;) BOARD_WFI();
}
