/* Strict NOR flash in a host file, through semihosting (test image only).
 *
 * Erase sets a sector to 0xFF; program can only clear bits, must be aligned to the program
 * unit, and a unit may be programmed once per erase (as STM32 double-word flash or ECC flash
 * demand). Every byte reaches the host file before the call returns, so killing QEMU is a
 * power cut between two bytes, and the file is the same layout the virtual device uses (two
 * 4 KiB sectors), so the host tools read it back. cut_after injects a power cut in the middle
 * of the Nth byte written: a torn byte, then the board says so on the semihosting console and
 * halts, and the host kills QEMU (an exit requested from the guest can hang QEMU 7.2 while
 * its main loop is busy with the serial line). */
#include "board.h"

#define MODE_READ_WRITE_BINARY 3u   /* "r+b" */
#define MODE_CREATE_BINARY 7u       /* "w+b" */

static int persist(struct board_flash *f, uint32_t addr, uint32_t size) {
    if (semihost_seek(f->handle, addr) != 0) return -1;
    return semihost_write(f->handle, f->mem + addr, size) == 0 ? 0 : -1;
}

/* Writes size bytes of value (or of data when not NULL) at addr, byte by byte in the count. */
static int store(struct board_flash *f, uint32_t addr, const uint8_t *data, uint8_t value,
                 uint32_t size) {
    uint32_t i;
    if (f->cut_after && f->writes + size >= f->cut_after) {
        uint32_t whole = f->cut_after - f->writes - 1u;
        uint8_t next = data ? data[whole] : value;
        for (i = 0; i < whole; i++)
            f->mem[addr + i] = data ? (uint8_t)(f->mem[addr + i] & data[i]) : value;
        f->mem[addr + whole] = (uint8_t)(f->mem[addr + whole] & (next | 0xF0u));
        (void)persist(f, addr, whole + 1u);
        semihost_print(BOARD_CUT_LINE);
        board_halt();
    }
    for (i = 0; i < size; i++)
        f->mem[addr + i] = data ? (uint8_t)(f->mem[addr + i] & data[i]) : value;
    f->writes += size;
    return persist(f, addr, size);
}

int flash_open(struct board_flash *f, const char *path) {
    uint32_t i;
    f->handle = semihost_open(path, MODE_READ_WRITE_BINARY);
    if (f->handle >= 0 && semihost_length(f->handle) == (int)BOARD_FLASH_SIZE)
        return semihost_read(f->handle, f->mem, BOARD_FLASH_SIZE) == 0 ? 0 : -1;
    /* New (or foreign-sized) file: a board fresh from the factory, all erased. */
    f->handle = semihost_open(path, MODE_CREATE_BINARY);
    if (f->handle < 0) return -1;
    for (i = 0; i < BOARD_FLASH_SIZE; i++) f->mem[i] = 0xFF;
    return persist(f, 0, BOARD_FLASH_SIZE);
}

int flash_read(void *context, uint32_t addr, void *buffer, uint32_t size) {
    struct board_flash *f = context;
    uint8_t *out = buffer;
    uint32_t i;
    if (addr > BOARD_FLASH_SIZE || size > BOARD_FLASH_SIZE - addr) return -1;
    for (i = 0; i < size; i++) out[i] = f->mem[addr + i];
    return 0;
}

int flash_prog(void *context, uint32_t addr, const void *buffer, uint32_t size) {
    struct board_flash *f = context;
    const uint8_t *data = buffer;
    uint32_t unit = f->prog_size, i;
    if (addr > BOARD_FLASH_SIZE || size > BOARD_FLASH_SIZE - addr) return -1;
    if (addr % unit || size % unit) return -1;
    for (i = addr / unit; i < (addr + size) / unit; i++)
        if (f->programmed[i]) return -1;   /* a second program of this word before erase */
    board_delay_ms(f->delay_ms);
    for (i = 0; i < size; i += unit) {
        f->programmed[(addr + i) / unit] = 1;
        if (store(f, addr + i, data + i, 0, unit) < 0) return -1;
    }
    return 0;
}

int flash_erase(void *context, uint32_t addr) {
    struct board_flash *f = context;
    uint32_t i;
    if (addr % BOARD_SECTOR_SIZE || addr >= BOARD_FLASH_SIZE) return -1;
    board_delay_ms(f->delay_ms);
    for (i = addr; i < addr + BOARD_SECTOR_SIZE; i++) f->programmed[i / f->prog_size] = 0;
    return store(f, addr, NULL, 0xFF, BOARD_SECTOR_SIZE);
}
