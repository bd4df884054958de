/* A virtual credline device: the real hook on a pseudo-terminal, with a file as its flash.
 *
 *   virtual-device --flash dev1.bin [--hwid X] [--baud N] [--flash-delay-ms N]
 *                  [--prog-size N] [--power-cut-after-write N] [--corrupt-byte N] [--silent]
 *   virtual-device --flash dev1.bin --dump [--check-password]   (the run-time API's view)
 *
 * Prints the pty path on its first line, then serves frames until SIGTERM. The flash file
 * behaves like NOR flash, strictly: erase sets a sector to 0xFF, programming can only clear
 * bits, and with --prog-size N (1, 2, 4, 8, 16, 32; default 1) a program must start and end on
 * an N-byte word and a second program of any word before its sector is erased fails (as on
 * STM32 or ECC flash), so the hook is held to one program per word per erase.
 * Fault injection: --power-cut-after-write N exits (status 42) in the middle of the Nth byte
 * written to flash (erases count one write per byte), --corrupt-byte N flips a bit of the Nth
 * byte the device sends, --silent never answers. --baud makes each byte take 10/baud s.
 */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 600
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "credline_hook.h"

struct flash {
    int fd;
    uint8_t *mem;
    uint32_t size;
    uint32_t sector;
    uint32_t unit;      /* program unit */
    uint8_t *programmed;/* one flag per word: programmed since its last erase */
    long writes;        /* bytes written so far (erase: one per byte) */
    long cut_after;     /* power cut at this write, 0 = never */
    long delay_ms;
};

struct line {
    int fd;
    long baud;
    long sent;
    long corrupt_at;
    int silent;
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static void sleep_us(long us) {
    struct timespec t;
    if (us <= 0) return;
    t.tv_sec = us / 1000000;
    t.tv_nsec = (us % 1000000) * 1000;
    nanosleep(&t, NULL);
}

static int write_byte(struct flash *f, uint32_t addr, uint8_t value) {
    if (f->cut_after && f->writes + 1 >= f->cut_after) {
        /* Power cut in the middle of this write: a torn byte, then nothing. */
        uint8_t torn = (uint8_t)(f->mem[addr] & (value | 0xF0));
        if (pwrite(f->fd, &torn, 1, addr) != 1) _exit(43);
        fsync(f->fd);
        _exit(42);
    }
    f->mem[addr] = value;
    if (pwrite(f->fd, &value, 1, addr) != 1) return -1;
    f->writes++;
    return 0;
}

static int flash_read(void *c, uint32_t addr, void *buf, uint32_t size) {
    struct flash *f = c;
    if ((uint64_t)addr + size > f->size) return -1;
    memcpy(buf, f->mem + addr, size);
    return 0;
}

static int flash_prog(void *c, uint32_t addr, const void *buf, uint32_t size) {
    struct flash *f = c;
    const uint8_t *p = buf;
    uint32_t i, w;
    if ((uint64_t)addr + size > f->size || addr % f->unit || size % f->unit) return -1;
    for (w = addr / f->unit; w < (addr + size) / f->unit; w++)
        if (f->programmed[w]) return -1;            /* a second program before erase */
    sleep_us(f->delay_ms * 1000);
    for (i = 0; i < size; i++) {
        f->programmed[(addr + i) / f->unit] = 1;
        if (write_byte(f, addr + i, (uint8_t)(f->mem[addr + i] & p[i])) < 0) return -1;
    }
    return fsync(f->fd) < 0 ? -1 : 0;
}

static int flash_erase(void *c, uint32_t addr) {
    struct flash *f = c;
    uint32_t i;
    if (addr % f->sector || addr >= f->size) return -1;
    sleep_us(f->delay_ms * 1000);
    for (i = 0; i < f->sector / f->unit; i++) f->programmed[addr / f->unit + i] = 0;
    for (i = 0; i < f->sector; i++)
        if (write_byte(f, addr + i, 0xFF) < 0) return -1;
    return fsync(f->fd) < 0 ? -1 : 0;
}

static void line_send(void *c, const uint8_t *data, size_t size) {
    struct line *l = c;
    size_t i;
    if (l->silent) return;
    for (i = 0; i < size; i++) {
        uint8_t b = data[i];
        l->sent++;
        if (l->corrupt_at && l->sent == l->corrupt_at) b ^= 0x01;
        sleep_us(l->baud ? 10000000L / l->baud : 0);
        while (write(l->fd, &b, 1) < 0 && errno == EINTR) {}
    }
}

/* A word that is not erased when the device starts counts as programmed: a restart (power
 * back after a cut) must not let the hook program it again without an erase. */
static int open_flash(struct flash *f, const char *path, uint32_t sector, uint32_t unit) {
    uint32_t i;
    f->size = 2 * sector;
    f->sector = sector;
    f->unit = unit;
    f->mem = malloc(f->size); /* host program only: the hook itself never allocates */
    f->programmed = calloc(f->size / unit, 1);
    if (!f->mem || !f->programmed) return -1;
    f->fd = open(path, O_RDWR | O_CREAT, 0600);
    if (f->fd < 0) return -1;
    if (read(f->fd, f->mem, f->size) != (ssize_t)f->size) {
        for (i = 0; i < f->size; i++) f->mem[i] = 0xFF;
        if (pwrite(f->fd, f->mem, f->size, 0) != (ssize_t)f->size) return -1;
        fsync(f->fd);
    }
    for (i = 0; i < f->size; i++)
        if (f->mem[i] != 0xFF) f->programmed[i / unit] = 1;
    return 0;
}

static int dump(struct credline_hook *h, int check) {
    char text[CREDLINE_MAX_PASSWORD + 2];
    uint8_t key_id[8];
    uint32_t generation;
    int i;
    printf("provisioned=%d\nlocked=%d\n", credline_is_provisioned(h), credline_is_locked(h));
    if (credline_get_serial(h, text, sizeof text) >= 0) printf("serial=%s\n", text);
    if (credline_get_key_id(h, key_id) == CREDLINE_OK) {
        printf("key_id=");
        for (i = 0; i < 8; i++) printf("%02x", key_id[i]);
        printf("\n");
    }
    if (credline_get_generation(h, &generation) == CREDLINE_OK)
        printf("generation=%lu\n", (unsigned long)generation);
    if (check) {
        size_t n;
        if (!fgets(text, sizeof text, stdin)) text[0] = '\0';
        n = strcspn(text, "\r\n");
        printf("password=%s\n",
               credline_check_password(h, text, n) == CREDLINE_OK ? "match" : "mismatch");
    }
    return 0;
}

int main(int argc, char **argv) {
    struct flash flash = {0};
    struct line line = {0};
    struct credline_storage storage = {0};
    struct credline_hook hook;
    const char *path = NULL, *hwid = "virtual";
    long sector = 4096, unit = 1;
    int i, master, slave, want_dump = 0, want_check = 0;
    struct termios tio;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!strcmp(a, "--dump")) { want_dump = 1; continue; }
        if (!strcmp(a, "--check-password")) { want_check = 1; continue; }
        if (!strcmp(a, "--silent")) { line.silent = 1; continue; }
        if (!v) { fprintf(stderr, "virtual-device: %s needs a value\n", a); return 2; }
        if (!strcmp(a, "--flash")) path = v;
        else if (!strcmp(a, "--hwid")) hwid = v;
        else if (!strcmp(a, "--baud")) line.baud = atol(v);
        else if (!strcmp(a, "--sector-size")) sector = atol(v);
        else if (!strcmp(a, "--prog-size")) unit = atol(v);
        else if (!strcmp(a, "--flash-delay-ms")) flash.delay_ms = atol(v);
        else if (!strcmp(a, "--power-cut-after-write")) flash.cut_after = atol(v);
        else if (!strcmp(a, "--corrupt-byte")) line.corrupt_at = atol(v);
        else { fprintf(stderr, "virtual-device: unknown option %s\n", a); return 2; }
        i++;
    }
    if (!path || sector < 512) { fprintf(stderr, "virtual-device: --flash FILE required\n"); return 2; }
    if (unit != 1 && unit != 2 && unit != 4 && unit != 8 && unit != 16 && unit != 32) {
        fprintf(stderr, "virtual-device: --prog-size %ld: must be 1, 2, 4, 8, 16 or 32\n", unit);
        return 2;
    }
    if (sector % unit) { fprintf(stderr, "virtual-device: --sector-size not a multiple of --prog-size\n"); return 2; }
    if (open_flash(&flash, path, (uint32_t)sector, (uint32_t)unit) < 0) { perror(path); return 1; }
    storage.context = &flash;
    storage.read = flash_read;
    storage.prog = flash_prog;
    storage.erase = flash_erase;
    storage.sector_size = (uint32_t)sector;
    storage.slot_a = 0;
    storage.slot_b = (uint32_t)sector;
    storage.prog_size = (uint32_t)unit;
    if (credline_hook_init(&hook, &storage, line_send, &line, hwid) != CREDLINE_OK) {
        fprintf(stderr, "virtual-device: flash unreadable\n");
        return 1;
    }
    if (want_dump) return dump(&hook, want_check);

    master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) < 0 || unlockpt(master) < 0) { perror("pty"); return 1; }
    /* Keep our own handle on the slave so the master survives a client closing the port. */
    slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    if (slave < 0 || tcgetattr(slave, &tio) < 0) { perror("pty slave"); return 1; }
    cfmakeraw(&tio);
    tcsetattr(slave, TCSANOW, &tio);
    line.fd = master;
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);
    printf("%s\n", ptsname(master));
    fflush(stdout);
    while (!stop) {
        struct pollfd p;
        uint8_t buf[256];
        ssize_t n;
        p.fd = master;
        p.events = POLLIN;
        if (poll(&p, 1, 200) <= 0) continue;
        n = read(master, buf, sizeof buf);
        if (n <= 0) { sleep_us(10000); continue; }
        sleep_us(line.baud ? (long)n * 10000000L / line.baud : 0);
        credline_hook_feed(&hook, buf, (size_t)n);
    }
    close(slave);
    close(master);
    close(flash.fd);
    free(flash.mem);
    free(flash.programmed);
    return 0;
}
