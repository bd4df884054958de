/* A virtual credline device: the real hook on a pseudo-terminal, with a file as its flash.
 *
 *   virtual-device --flash dev1.bin [--hwid X] [--baud N] [--flash-delay-ms N] [--tx-chunk N]
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
 * --tx-chunk N (1 to 64, default 16) hands what the device sends to the port in writes of at
 * most N bytes, each once its last byte has crossed the line: what a station reads from a
 * UART's FIFO or a USB-serial adapter's packets. Never earlier than the line allows, and
 * without a wake-up and a write for every byte (at 115200 baud, one every 87 us).
 *
 * Time is modelled, not approximated: the line and the flash keep deadlines on the monotonic
 * clock. A byte sent at --baud N leaves 10/N s after the previous one (or after now, when the
 * line was idle), as a UART shifts bytes out back to back, however late the process wakes;
 * a flash operation takes --flash-delay-ms from its start, the host's own work (the file
 * write) included. Sleeping a fixed time per byte instead would add the
 * kernel's wake-up latency (tens of microseconds) to every byte and make the device slower
 * than the line it models.
 */
#define _DEFAULT_SOURCE
#define _XOPEN_SOURCE 600
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

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

#define MAX_TX_CHUNK 64

struct line {
    int fd;
    long baud;
    long sent;
    long corrupt_at;
    int silent;
    size_t chunk;       /* bytes handed to the port per write */
    int64_t tx_free;    /* when the transmitter finishes its last byte (ns, monotonic) */
    int64_t rx_done;    /* when the last byte received so far has fully arrived */
};

static volatile sig_atomic_t stop;
static void on_signal(int sig) { (void)sig; stop = 1; }

static int64_t now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static void sleep_until(int64_t when) {
    struct timespec t;
    t.tv_sec = (time_t)(when / 1000000000);
    t.tv_nsec = (long)(when % 1000000000);
    while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL) == EINTR) {}
}

static void sleep_ms(long ms) {
    if (ms > 0) sleep_until(now_ns() + (int64_t)ms * 1000000);
}

/* The time the line takes for n bytes (10 bits each, start and stop bits included). */
static int64_t wire_ns(const struct line *l, size_t n) {
    return l->baud ? (int64_t)n * 10 * 1000000000 / l->baud : 0;
}

/* Byte `at` of a flash operation that began at `from` is about to be written with `value`:
 * at the injected power cut, the bytes before it reach the file, this one torn, then nothing. */
static void maybe_cut(struct flash *f, uint32_t from, uint32_t at, uint8_t value) {
    uint8_t torn;
    if (!f->cut_after || f->writes + 1 < f->cut_after) return;
    torn = (uint8_t)(f->mem[at] & (value | 0xF0));
    if (at > from && pwrite(f->fd, f->mem + from, at - from, from) != (ssize_t)(at - from))
        _exit(43);
    if (pwrite(f->fd, &torn, 1, at) != 1) _exit(43);
    fsync(f->fd);
    _exit(42);
}

/* The bytes [from, from + size) of memory, now changed, to the file in one write. No fsync:
 * the file outlives this process (a power cut is the process ending), which is all a test
 * asks of it, and an fsync made every virtual device flush the station's own disk, beside
 * the registry's and the log's fsyncs. */
static int flush_range(struct flash *f, uint32_t from, uint32_t size) {
    if (pwrite(f->fd, f->mem + from, size, from) != (ssize_t)size) return -1;
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
    int64_t done = now_ns() + (int64_t)f->delay_ms * 1000000;
    uint32_t i, w;
    int status;
    if ((uint64_t)addr + size > f->size || addr % f->unit || size % f->unit) return -1;
    for (w = addr / f->unit; w < (addr + size) / f->unit; w++)
        if (f->programmed[w]) return -1;            /* a second program before erase */
    for (i = 0; i < size; i++) {
        uint8_t value = (uint8_t)(f->mem[addr + i] & p[i]);
        maybe_cut(f, addr, addr + i, value);
        f->programmed[(addr + i) / f->unit] = 1;
        f->mem[addr + i] = value;
        f->writes++;
    }
    status = flush_range(f, addr, size);
    sleep_until(done);
    return status;
}

static int flash_erase(void *c, uint32_t addr) {
    struct flash *f = c;
    int64_t done = now_ns() + (int64_t)f->delay_ms * 1000000;
    uint32_t i;
    int status;
    if (addr % f->sector || addr >= f->size) return -1;
    for (i = 0; i < f->sector / f->unit; i++) f->programmed[addr / f->unit + i] = 0;
    for (i = 0; i < f->sector; i++) {
        maybe_cut(f, addr, addr + i, 0xFF);
        f->mem[addr + i] = 0xFF;
        f->writes++;
    }
    status = flush_range(f, addr, f->sector);
    sleep_until(done);
    return status;
}

/* Hand `n` bytes to the port once the last of them has crossed the line. */
static void line_deliver(struct line *l, const uint8_t *out, size_t n) {
    size_t done = 0;
    if (l->baud) sleep_until(l->tx_free);
    while (done < n) {
        ssize_t w = write(l->fd, out + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return;  /* the station closed the port: the bytes are lost on the line */
        done += (size_t)w;
    }
}

static void line_send(void *c, const uint8_t *data, size_t size) {
    struct line *l = c;
    uint8_t out[MAX_TX_CHUNK];
    size_t i, n = 0;
    if (l->silent) return;
    for (i = 0; i < size; i++) {
        uint8_t b = data[i];
        l->sent++;
        if (l->corrupt_at && l->sent == l->corrupt_at) b ^= 0x01;
        if (l->baud) {
            /* Back to back after the previous byte, as from a UART's FIFO: this process
             * waking a little late must not stretch the line. A line idle for longer than
             * a byte starts afresh from now. */
            int64_t now = now_ns();
            if (now > l->tx_free + wire_ns(l, 1)) l->tx_free = now;
            l->tx_free += wire_ns(l, 1);
        }
        out[n++] = b;
        if (n == l->chunk) {
            line_deliver(l, out, n);
            n = 0;
        }
    }
    if (n) line_deliver(l, out, n);
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
    long sector = 4096, unit = 1, chunk = 16;
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
        else if (!strcmp(a, "--tx-chunk")) chunk = atol(v);
        else { fprintf(stderr, "virtual-device: unknown option %s\n", a); return 2; }
        i++;
    }
    if (!path || sector < 512) { fprintf(stderr, "virtual-device: --flash FILE required\n"); return 2; }
    if (unit != 1 && unit != 2 && unit != 4 && unit != 8 && unit != 16 && unit != 32) {
        fprintf(stderr, "virtual-device: --prog-size %ld: must be 1, 2, 4, 8, 16 or 32\n", unit);
        return 2;
    }
    if (chunk < 1 || chunk > MAX_TX_CHUNK) {
        fprintf(stderr, "virtual-device: --tx-chunk %ld: must be 1 to %d\n", chunk, MAX_TX_CHUNK);
        return 2;
    }
    line.chunk = (size_t)chunk;
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
#ifdef __linux__
    /* Wake at the deadline, not up to 50 us after it (the default timer slack). */
    prctl(PR_SET_TIMERSLACK, 1000UL, 0UL, 0UL, 0UL);
#endif
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
        if (n <= 0) { sleep_ms(10); continue; }
        if (line.baud) {  /* the bytes arrive one after another at the line's rate */
            int64_t now = now_ns();
            line.rx_done = (line.rx_done > now ? line.rx_done : now) + wire_ns(&line, (size_t)n);
            sleep_until(line.rx_done);
        }
        credline_hook_feed(&hook, buf, (size_t)n);
    }
    close(slave);
    close(master);
    close(flash.fd);
    free(flash.mem);
    free(flash.programmed);
    return 0;
}
