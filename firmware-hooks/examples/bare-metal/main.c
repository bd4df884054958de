/* Bare-metal integration example: an MCU with a UART interrupt and internal flash.
 * The board functions (uart_*, flash_*) stand for your HAL; everything credline needs is
 * here: two erase sectors, three storage callbacks, a send function and a feed loop. */
#include <stdint.h>
#include <string.h>

#include "credline_hook.h"

/* --- your HAL ------------------------------------------------------------------------- */
extern int uart_getc_nonblocking(uint8_t *byte);          /* 1 when a byte was read */
extern void uart_write(const uint8_t *data, size_t size);
extern int flash_read_bytes(uint32_t addr, void *buf, uint32_t size);
extern int flash_program(uint32_t addr, const void *buf, uint32_t size);
extern int flash_erase_sector(uint32_t addr);
extern int provisioning_strap_active(void);
extern void app_poll(const struct credline_hook *hook);   /* one turn of your main loop */

#define CREDLINE_SECTOR_SIZE 2048u
#define CREDLINE_SLOT_A 0x0801F000u   /* the last two 2 KiB pages of a 128 KiB part */
#define CREDLINE_SLOT_B 0x0801F800u

static int cb_read(void *c, uint32_t a, void *b, uint32_t n) { (void)c; return flash_read_bytes(a, b, n); }
static int cb_prog(void *c, uint32_t a, const void *b, uint32_t n) { (void)c; return flash_program(a, b, n); }
static int cb_erase(void *c, uint32_t a) { (void)c; return flash_erase_sector(a); }
static void cb_send(void *c, const uint8_t *d, size_t n) { (void)c; uart_write(d, n); }

/* prog_size: the flash's program unit (STM32F1: half-words, so 2; STM32L4/G0: 8). */
static const struct credline_storage storage = {
    NULL, cb_read, cb_prog, cb_erase, CREDLINE_SECTOR_SIZE, CREDLINE_SLOT_A, CREDLINE_SLOT_B, 2,
};
static struct credline_hook hook;   /* about 2.5 KiB of RAM; no heap */

int main(void) {
    uint8_t byte;
    int serving;
    if (credline_hook_init(&hook, &storage, cb_send, NULL, "BOARD-0001") != CREDLINE_OK)
        for (;;) {}   /* flash unreadable: hardware fault */
    /* Provisioning mode is chosen at boot and kept until the next reset, also after LOCK:
     * a locked device still answers HELLO, so a second station run is told "already locked"
     * rather than "no answer". The hook refuses PUT once locked, whatever the line sends. */
    serving = provisioning_strap_active() || !credline_is_provisioned(&hook);
    for (;;) {
        if (serving && uart_getc_nonblocking(&byte)) credline_hook_feed(&hook, &byte, 1);
        app_poll(&hook);   /* uses credline_check_password() for logins once provisioned */
    }
}
