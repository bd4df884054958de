/* The credline test board for QEMU's mps2-an385 (a Cortex-M3 with CMSDK peripherals).
 *
 * Test image only: its "flash" is a file on the host reached through ARM semihosting, so a
 * board keeps its credential across QEMU restarts and killing QEMU is a power cut. A product
 * port replaces flash.c with its flash driver and keeps the rest of the pattern (board.c).
 */
#ifndef CREDLINE_BOARD_H
#define CREDLINE_BOARD_H

#include <stddef.h>
#include <stdint.h>

/* Cortex-M instructions the board needs (GCC inline assembly). */
#define BOARD_IRQ_OFF() __asm__ volatile("cpsid i" ::: "memory")
#define BOARD_IRQ_ON() __asm__ volatile("cpsie i" ::: "memory")
#define BOARD_WFI() __asm__ volatile("wfi" ::: "memory")

/* --- semihost.c: ARM semihosting calls (only under a debugger or QEMU -semihosting) --- */
int semihost_open(const char *path, uint32_t mode);   /* handle, or -1 */
int semihost_read(int handle, void *buffer, uint32_t size);   /* 0 when all was read */
int semihost_write(int handle, const void *buffer, uint32_t size);   /* 0 when all written */
int semihost_seek(int handle, uint32_t offset);      /* 0 on success */
int semihost_length(int handle);                      /* file length, or -1 */
int semihost_cmdline(char *buffer, uint32_t size);   /* 0 on success, NUL-terminated */
void semihost_print(const char *text);               /* to QEMU's stderr */
void semihost_exit(uint32_t status);                 /* QEMU exits with this status */

/* --- uart.c: CMSDK APB UART0, receive by interrupt into a ring, transmit polled --- */
void uart_init(void);
size_t uart_take(uint8_t *buffer, size_t size);   /* call with interrupts off */
void uart_send(void *context, const uint8_t *data, size_t size);   /* credline_send_fn */
void uart0_rx_irq(void);

/* --- startup.c: SysTick, on only while a delay runs or the line is busy --- */
void board_delay_ms(uint32_t ms);
void board_keep_awake(void);   /* the line is busy: keep a 1 ms tick for a while */
void board_halt(void);         /* interrupts and SysTick off, then sleep for good */
void systick_irq(void);

/* --- flash.c: two 4 KiB sectors of strict NOR flash kept in a host file --- */
#define BOARD_SECTOR_SIZE 4096u
#define BOARD_FLASH_SIZE (2u * BOARD_SECTOR_SIZE)
#define BOARD_CUT_LINE "credline board: power cut\n"   /* then the board halts */

struct board_flash {
    int handle;
    uint32_t prog_size;   /* program unit: one program per unit per erase */
    uint32_t delay_ms;    /* per program or erase call, to let tests kill mid-write */
    uint32_t cut_after;   /* power cut during the Nth byte written (0: never) */
    uint32_t writes;
    uint8_t mem[BOARD_FLASH_SIZE];
    uint8_t programmed[BOARD_FLASH_SIZE];   /* per unit: programmed since its last erase */
};

int flash_open(struct board_flash *flash, const char *path);
int flash_read(void *context, uint32_t addr, void *buffer, uint32_t size);
int flash_prog(void *context, uint32_t addr, const void *buffer, uint32_t size);
int flash_erase(void *context, uint32_t addr);

#endif /* CREDLINE_BOARD_H */
