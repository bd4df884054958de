/* Reset, vector table and SysTick for the mps2-an385 (Cortex-M3). QEMU loads the ELF and the
 * core starts from the table at address 0: initial stack pointer, then Reset_Handler. */
#include "board.h"

extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss, _estack;
int main(void);
void Reset_Handler(void);
static void fault(void);

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_ENABLE_TICKINT_CPUCLK 0x7u
#define TICKS_PER_MS 25000u   /* 25 MHz core clock */

typedef void (*handler_fn)(void);
struct vectors {
    uint32_t *stack;
    handler_fn handlers[15 + 32];   /* 15 system exceptions, then external interrupts */
};

__attribute__((section(".vectors"), used)) static const struct vectors vectors = {
    &_estack,
    {
        Reset_Handler, fault, fault, fault, fault, fault, 0, 0, 0, 0,  /* reset .. usage */
        fault, fault, 0, fault, systick_irq,                           /* svc .. systick */
        uart0_rx_irq,                                                  /* IRQ 0: UART0 RX */
    },
};

static void fault(void) {
    semihost_print("credline board: fault\n");
    semihost_exit(3u);
}

void Reset_Handler(void) {
    uint32_t *src = &_sidata, *dst = &_sdata;
    while (dst < &_edata) *dst++ = *src++;
    for (dst = &_sbss; dst < &_ebss; dst++) *dst = 0;
    semihost_exit((uint32_t)main());
}

static volatile uint32_t ticks, awake, delaying;

/* SysTick runs only while a delay runs or the line was busy in the last AWAKE_MS. QEMU takes
 * the next byte of its serial line from its main loop once the board has read this one; with
 * no timer armed that loop can sleep for a second before it looks again, so a frame arriving
 * byte by byte would stall. A 1 ms tick while bytes flow keeps it looking; an idle board arms
 * no timer at all and costs its host nothing. */
#define AWAKE_MS 500u

static void systick_on(void) {
    if (SYST_CSR) return;
    SYST_RVR = TICKS_PER_MS - 1u;
    SYST_CVR = 0;
    SYST_CSR = SYST_ENABLE_TICKINT_CPUCLK;
}

void systick_irq(void) {
    ticks = ticks + 1u;
    if (awake) awake = awake - 1u;
    if (!awake && !delaying) SYST_CSR = 0;
}

void board_keep_awake(void) {
    awake = AWAKE_MS;
    systick_on();
}

#define NVIC_ICER0 (*(volatile uint32_t *)0xE000E180u)

void board_halt(void) {
    BOARD_IRQ_OFF();
    SYST_CSR = 0;
    NVIC_ICER0 = 0xFFFFFFFFu;
    for (;;) BOARD_WFI();
}

/* Sleeps in WFI between 1 ms ticks. */
void board_delay_ms(uint32_t ms) {
    uint32_t start;
    if (ms == 0) return;
    delaying = 1;
    start = ticks;
    systick_on();
    while (ticks - start < ms) BOARD_WFI();
    delaying = 0;
}
