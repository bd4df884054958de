/* CMSDK APB UART0 of the MPS2 board. Bytes arrive by interrupt into a ring the main loop
 * drains, so an idle board sleeps in WFI and costs its host nothing; a full ring drops
 * bytes as a real UART overrun would (the frame's CRC fails and the station resends). */
#include "board.h"

#define UART0 0x40004000u
#define REG(offset) (*(volatile uint32_t *)(UART0 + (offset)))
#define UART_DATA REG(0x00u)
#define UART_STATE REG(0x04u)
#define UART_CTRL REG(0x08u)
#define UART_INTCLEAR REG(0x0Cu)
#define UART_BAUDDIV REG(0x10u)
#define STATE_TX_FULL 0x1u
#define STATE_RX_FULL 0x2u
#define CTRL_TX_EN 0x1u
#define CTRL_RX_EN 0x2u
#define CTRL_RX_INTEN 0x8u
#define INT_RX 0x2u
#define NVIC_ISER0 (*(volatile uint32_t *)0xE000E100u)
#define UART0_RX_IRQ 0u
#define SYSTEM_CLOCK 25000000u
#define BAUD 115200u
#define RING 4096u   /* a power of two, above the largest encoded frame (1026 bytes) */

static uint8_t ring[RING];
static volatile uint32_t head, tail;   /* written by the interrupt / by the main loop */

void uart_init(void) {
    UART_BAUDDIV = SYSTEM_CLOCK / BAUD;
    UART_CTRL = CTRL_TX_EN | CTRL_RX_EN | CTRL_RX_INTEN;
    NVIC_ISER0 = 1u << UART0_RX_IRQ;
    board_keep_awake();
}

/* The interrupt is cleared before the data register is drained: a byte landing after the
 * drain raises it again. (Cleared after, such a byte would sit in the one-byte register with
 * no interrupt pending, and the emulator, which delivers the next byte only once this one is
 * read, would leave the line deaf for good.) */
void uart0_rx_irq(void) {
    UART_INTCLEAR = INT_RX;
    while (UART_STATE & STATE_RX_FULL) {
        uint8_t byte = (uint8_t)UART_DATA;
        if (head - tail < RING) {
            ring[head % RING] = byte;
            head = head + 1u;
        }
    }
    board_keep_awake();
}

size_t uart_take(uint8_t *buffer, size_t size) {
    size_t n = 0;
    while (n < size && tail != head) {
        buffer[n++] = ring[tail % RING];
        tail = tail + 1u;
    }
    return n;
}

void uart_send(void *context, const uint8_t *data, size_t size) {
    size_t i;
    (void)context;
    for (i = 0; i < size; i++) {
        while (UART_STATE & STATE_TX_FULL) {}
        UART_DATA = data[i];
    }
}
