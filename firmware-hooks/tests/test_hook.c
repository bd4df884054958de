/* C tests of the hook, run under ASan/UBSan: RFC 4231, the shared protocol vectors (the same
 * file the Python tests read), power cuts at every byte, and the run-time API. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "credline_hook.h"

#define SECTOR 1024u
static int failures;
#define CHECK(cond) do { if (!(cond)) { failures++; \
    fprintf(stderr, "%s:%d: CHECK(%s) failed\n", __FILE__, __LINE__, #cond); } } while (0)

/* RAM flash modelled strictly as NOR: erase sets 0xFF, prog only clears bits, and prog must
 * cover whole words of `unit` bytes, each at most once between erases. An optional write
 * budget (bytes; an erase costs one per byte) is a power cut when it runs out, mid-word too. */
struct ram {
    uint8_t mem[2 * SECTOR];
    uint8_t programmed[2 * SECTOR];   /* per word (indexed by word number) */
    uint32_t unit;
    long budget;
    long misuse;                      /* programs the model refused: must stay 0 */
};

static int ram_read(void *c, uint32_t a, void *b, uint32_t n) {
    struct ram *r = c;
    if ((uint64_t)a + n > sizeof r->mem) return -1;
    memcpy(b, r->mem + a, n);
    return 0;
}
static int spend(struct ram *r) { if (r->budget == 0) return -1; if (r->budget > 0) r->budget--; return 0; }
static int ram_prog(void *c, uint32_t a, const void *b, uint32_t n) {
    struct ram *r = c; const uint8_t *p = b; uint32_t i, w;
    if ((uint64_t)a + n > sizeof r->mem || a % r->unit || n % r->unit) { r->misuse++; return -1; }
    for (w = a / r->unit; w < (a + n) / r->unit; w++)
        if (r->programmed[w]) { r->misuse++; return -1; }
    for (i = 0; i < n; i++) {
        r->programmed[(a + i) / r->unit] = 1;
        if (spend(r)) return -1;
        r->mem[a + i] &= p[i];
    }
    return 0;
}
static int ram_erase(void *c, uint32_t a) {
    struct ram *r = c; uint32_t i;
    if (a % SECTOR) return -1;
    for (i = 0; i < SECTOR; i++) {
        if (spend(r)) return -1;
        r->mem[a + i] = 0xFF;
        r->programmed[(a + i) / r->unit] = 0;
    }
    return 0;
}

static uint8_t reply[2048];
static size_t reply_len;
static void capture(void *c, const uint8_t *d, size_t n) {
    (void)c;
    if (reply_len + n <= sizeof reply) { memcpy(reply + reply_len, d, n); reply_len += n; }
}

static struct ram flash;
static struct credline_storage storage;
static struct credline_hook hook;

/* A device powering up: erase (a new part) or keep the flash; a word not erased counts as
 * programmed (the model forgets nothing across a power cut). */
static void fresh_unit(const char *hwid, int erase, uint32_t unit) {
    uint32_t i;
    if (erase) memset(flash.mem, 0xFF, sizeof flash.mem);
    flash.unit = unit;
    memset(flash.programmed, 0, sizeof flash.programmed);
    for (i = 0; i < sizeof flash.mem; i++)
        if (flash.mem[i] != 0xFF) flash.programmed[i / unit] = 1;
    flash.budget = -1;
    memset(&storage, 0, sizeof storage);
    storage.context = &flash; storage.read = ram_read; storage.prog = ram_prog;
    storage.erase = ram_erase; storage.sector_size = SECTOR; storage.slot_a = 0;
    storage.slot_b = SECTOR; storage.prog_size = unit;
    CHECK(credline_hook_init(&hook, &storage, capture, NULL, hwid) == CREDLINE_OK);
}

static void fresh(const char *hwid, int erase) { fresh_unit(hwid, erase, 1); }

static size_t unhex(const char *s, uint8_t *out, size_t cap) {
    size_t n = 0;
    if (!strcmp(s, "-")) return 0;
    while (s[0] && s[1] && n < cap) { unsigned v; sscanf(s, "%2x", &v); out[n++] = (uint8_t)v; s += 2; }
    return n;
}

static void test_hmac(void) {
    uint8_t key[20], mac[32], want[32];
    memset(key, 0x0b, sizeof key);
    credline_hmac_sha256(key, sizeof key, (const uint8_t *)"Hi There", 8, mac);
    unhex("b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7", want, 32);
    CHECK(memcmp(mac, want, 32) == 0);
    memset(key, 0xaa, sizeof key);
    {
        uint8_t big[131], data[50];
        memset(big, 0xaa, sizeof big);
        memset(data, 0xdd, sizeof data);
        credline_hmac_sha256(key, 20, data, sizeof data, mac);
        unhex("773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe", want, 32);
        CHECK(memcmp(mac, want, 32) == 0);
        credline_hmac_sha256(big, sizeof big,
            (const uint8_t *)"Test Using Larger Than Block-Size Key - Hash Key First", 54, mac);
        unhex("60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54", want, 32);
        CHECK(memcmp(mac, want, 32) == 0);
    }
}

static int vectors(const char *path, uint8_t *plain, size_t *plain_len) {
    static char line[8192];
    static uint8_t a[2048], b[2048];
    char kind[32], name[64], x[4096], y[4096];
    int exchanges = 0;
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); failures++; return 0; }
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || sscanf(line, "%31s", kind) != 1) continue;
        if (!strcmp(kind, "crc32") && sscanf(line, "%*s %4095s %4095s", x, y) == 2) {
            size_t n = unhex(x, a, sizeof a);
            unsigned long want = strtoul(y, NULL, 16);
            CHECK(credline_crc32(a, n) == want);
        } else if (!strcmp(kind, "record") && sscanf(line, "%*s %63s %4095s", name, x) == 2) {
            size_t n = unhex(x, a, sizeof a);
            CHECK(credline_record_check(a, n) == CREDLINE_OK);
            if (!strcmp(name, "plaintext")) { memcpy(plain, a, n); *plain_len = n; }
        } else if (!strcmp(kind, "bad-record") && sscanf(line, "%*s %63s %4095s", name, x) == 2) {
            CHECK(credline_record_check(a, unhex(x, a, sizeof a)) != CREDLINE_OK);
        } else if (!strcmp(kind, "reset") && sscanf(line, "%*s %63s", name) == 1) {
            fresh(name, 1);
        } else if (!strcmp(kind, "exchange") &&
                   sscanf(line, "%*s %63s %4095s %4095s", name, x, y) == 3) {
            size_t n = unhex(x, a, sizeof a), m = unhex(y, b, sizeof b);
            reply_len = 0;
            credline_hook_feed(&hook, a, n);
            if (reply_len != m || memcmp(reply, b, m) != 0) {
                failures++;
                fprintf(stderr, "exchange %s: reply differs from the vector\n", name);
            }
            exchanges++;
        }
    }
    fclose(f);
    return exchanges;
}

/* Encode and feed one frame, as the station would send it. */
static void feed_frame(uint8_t cmd, const uint8_t *rec, size_t len) {
    uint8_t frame[CREDLINE_MAX_FRAME], out[2 * CREDLINE_MAX_FRAME + 2];
    size_t n = 0, o = 0, i;
    uint32_t c;
    frame[n++] = 1; frame[n++] = 7; frame[n++] = cmd;
    if (len) memcpy(frame + n, rec, len);
    n += len;
    c = credline_crc32(frame, n);
    for (i = 0; i < 4; i++) frame[n++] = (uint8_t)(c >> (8 * i));
    out[o++] = 0xC0;
    for (i = 0; i < n; i++) {
        if (frame[i] == 0xC0) { out[o++] = 0xDB; out[o++] = 0xDC; }
        else if (frame[i] == 0xDB) { out[o++] = 0xDB; out[o++] = 0xDD; }
        else out[o++] = frame[i];
    }
    out[o++] = 0xC0;
    reply_len = 0;
    credline_hook_feed(&hook, out, o);
}

static void feed_put(const uint8_t *rec, size_t len) { feed_frame(2, rec, len); }

/* Provision record A; then cut power at every byte of writing record B: after each cut the
 * hook must hold A or B, whole, never garbage; and writing B again must then succeed. The
 * strict flash model refuses any second program of a word, so this runs for every unit. */
static long power_cuts(const uint8_t *rec, size_t len, uint32_t unit) {
    uint8_t other[CREDLINE_MAX_RECORD];
    char pw[80];
    long budget, cuts = 0;
    int written;
    uint32_t c;
    size_t i;
    memcpy(other, rec, len);
    other[len - 5] ^= 0x01;                          /* another last password character */
    c = credline_crc32(other, len - 4);
    for (i = 0; i < 4; i++) other[len - 4 + i] = (uint8_t)(c >> (8 * i));
    CHECK(credline_record_check(other, len) == CREDLINE_OK);
    flash.misuse = 0;
    for (budget = 0;; budget++) {
        fresh_unit("PC", 1, unit);
        feed_put(rec, len);
        flash.budget = budget;
        feed_put(other, len);
        written = reply_len > 3 && reply[3] == 0x82;  /* PUT acknowledged: B is whole */
        fresh_unit("PC", 0, unit);                   /* power comes back */
        CHECK(credline_is_provisioned(&hook));
        CHECK(credline_get_password(&hook, pw, sizeof pw) == 12);
        CHECK(!strcmp(pw, "WW4V6P8BPYR2") || !strcmp(pw, "WW4V6P8BPYR3"));
        if (written) break;                          /* B was written within the budget */
        CHECK(!strcmp(pw, "WW4V6P8BPYR2"));          /* cut: still A (B's marker comes last) */
        feed_put(other, len);                        /* re-provisioning succeeds */
        CHECK(reply_len > 3 && reply[3] == 0x82);
        CHECK(credline_get_password(&hook, pw, sizeof pw) == 12 && !strcmp(pw, "WW4V6P8BPYR3"));
        fresh_unit("PC", 0, unit);                   /* and survives a restart */
        CHECK(credline_get_password(&hook, pw, sizeof pw) == 12 && !strcmp(pw, "WW4V6P8BPYR3"));
        cuts++;
    }
    CHECK(!strcmp(pw, "WW4V6P8BPYR3"));
    CHECK(cuts > (long)SECTOR);
    CHECK(flash.misuse == 0);
    return cuts;
}

static void test_power_cuts(const uint8_t *rec, size_t len) {
    static const uint32_t units[] = {1, 2, 4, 8, 16, 32};
    size_t i;
    for (i = 0; i < sizeof units / sizeof units[0]; i++)
        printf("unit %2lu: power cuts tested: %ld (every byte of an erase and a write)\n",
               (unsigned long)units[i], power_cuts(rec, len, units[i]));
}

/* The strict model itself: a second program of a word fails, an unaligned one fails. */
static void test_flash_model(void) {
    uint8_t b[8] = {0};
    fresh_unit("M", 1, 8);
    CHECK(ram_prog(&flash, 0, b, 8) == 0);
    CHECK(ram_prog(&flash, 0, b, 8) < 0);
    CHECK(ram_prog(&flash, 12, b, 8) < 0);
    CHECK(ram_prog(&flash, 16, b, 4) < 0);
    CHECK(ram_erase(&flash, 0) == 0 && ram_prog(&flash, 0, b, 8) == 0);
    flash.misuse = 0;
}

static void test_runtime_api(const uint8_t *rec, size_t len) {
    char buf[80];
    uint8_t key_id[8];
    uint32_t gen = 99;
    (void)rec; (void)len;
    CHECK(credline_get_password(&hook, buf, 5) == CREDLINE_ERR_BUFFER);
    CHECK(credline_get_password(&hook, buf, sizeof buf) == 12 && !strcmp(buf, "WW4V6P8BPYR2"));
    CHECK(credline_check_password(&hook, "WW4V6P8BPYR2", 12) == CREDLINE_OK);
    CHECK(credline_check_password(&hook, "WW4V6P8BPYR3", 12) == CREDLINE_ERR_MISMATCH);
    CHECK(credline_check_password(&hook, "WW4V6P8BPYR", 11) == CREDLINE_ERR_MISMATCH);
    CHECK(credline_check_password(&hook, "WW4V6P8BPYR2X", 13) == CREDLINE_ERR_MISMATCH);
    CHECK(credline_get_key_id(&hook, key_id) == CREDLINE_OK && key_id[0] == 0xe9);
    CHECK(credline_get_generation(&hook, &gen) == CREDLINE_OK && gen == 0);
    CHECK(credline_is_locked(&hook) == 1);
}

/* Each erased byte after `used` bytes of a sector. */
static int erased_after(const uint8_t *sector, size_t used) {
    size_t i;
    for (i = used; i < SECTOR; i++) if (sector[i] != 0xFF) return 0;
    return 1;
}

/* A slot vector as the hook finds it at boot (read with a unit-1 storage: the unit comes
 * from the slot), and, for CLS2 slots, as the hook itself writes it with the vector's unit. */
static void slot_vector(const char *name, unsigned unit, unsigned seq, unsigned locked,
                        const uint8_t *rec, size_t rec_len, const uint8_t *slot, size_t n,
                        int legacy) {
    uint8_t *sector = flash.mem + (seq == 2 ? SECTOR : 0);
    memset(flash.mem, 0xFF, sizeof flash.mem);
    memcpy(flash.mem, slot, n);
    fresh("SLOT", 0);
    if (!credline_is_provisioned(&hook) || hook.record_len != rec_len ||
        memcmp(hook.record, rec, rec_len) != 0 || hook.record_seq != seq ||
        credline_is_locked(&hook) != (int)locked) {
        failures++;
        fprintf(stderr, "slot %s: not read back as the vector says\n", name);
    }
    if (legacy) return;
    CHECK(CREDLINE_SLOT_SIZE((uint32_t)rec_len, unit) == n);
    fresh_unit("SLOT", 1, unit);
    flash.misuse = 0;
    feed_put(rec, rec_len);
    if (seq == 2 && locked) feed_frame(4, NULL, 0);
    if (memcmp(sector, slot, n) != 0 || !erased_after(sector, n) || flash.misuse) {
        failures++;
        fprintf(stderr, "slot %s: the hook wrote other bytes than the vector\n", name);
    }
}

/* tests/vectors/slots.txt: slots written and read, torn or damaged slots, typed passwords. */
static int slot_vectors(const char *path) {
    static char line[8192];
    static uint8_t rec[2048], slot[2048];
    char kind[32], name[64], x[4096], y[4096], z[32];
    unsigned unit, seq, locked;
    int count = 0;
    FILE *f = fopen(path, "r");
    if (!f) { perror(path); failures++; return 0; }
    while (fgets(line, sizeof line, f)) {
        if (line[0] == '#' || sscanf(line, "%31s", kind) != 1) continue;
        if (!strcmp(kind, "slot") && sscanf(line, "%*s %63s %u %u %u %4095s %4095s", name, &unit,
                                            &seq, &locked, x, y) == 6) {
            size_t m = unhex(x, rec, sizeof rec), n = unhex(y, slot, sizeof slot);
            slot_vector(name, unit, seq, locked, rec, m, slot, n, 0);
        } else if (!strcmp(kind, "legacy-slot") &&
                   sscanf(line, "%*s %63s %u %u %4095s %4095s", name, &seq, &locked, x, y) == 5) {
            size_t m = unhex(x, rec, sizeof rec), n = unhex(y, slot, sizeof slot);
            slot_vector(name, 1, seq, locked, rec, m, slot, n, 1);
        } else if (!strcmp(kind, "bad-slot") && sscanf(line, "%*s %63s %4095s", name, y) == 2) {
            size_t n = unhex(y, slot, sizeof slot);
            memset(flash.mem, 0xFF, sizeof flash.mem);
            memcpy(flash.mem, slot, n);
            fresh("SLOT", 0);
            if (credline_is_provisioned(&hook)) {
                failures++;
                fprintf(stderr, "bad-slot %s: read as a record\n", name);
            }
        } else if (!strcmp(kind, "typed") && sscanf(line, "%*s %4095s %4095s %31s", x, y, z) == 3) {
            size_t m = unhex(x, rec, sizeof rec), n = unhex(y, slot, sizeof slot);
            int want = !strcmp(z, "match") ? CREDLINE_OK : CREDLINE_ERR_MISMATCH;
            fresh("TYPED", 1);
            feed_put(rec, m);
            if (credline_check_password(&hook, (const char *)slot, n) != want) {
                failures++;
                fprintf(stderr, "typed %.*s: expected %s\n", (int)n, (const char *)slot, z);
            }
        } else {
            continue;
        }
        count++;
    }
    fclose(f);
    return count;
}

static int send_nothing_called;
static void count_send(void *c, const uint8_t *d, size_t n) { (void)c; (void)d; (void)n; send_nothing_called++; }

/* credline_init refuses what it cannot work with; credline_wipe clears RAM, not flash. */
static void test_init_and_wipe(const uint8_t *rec, size_t len) {
    struct credline_storage bad;
    uint8_t key_id[8];
    char buf[80];
    fresh("W", 1);
    bad = storage;
    CHECK(credline_hook_init(&hook, &bad, NULL, NULL, "W") == CREDLINE_ERR_INVALID);
    CHECK(credline_hook_init(&hook, NULL, capture, NULL, "W") == CREDLINE_ERR_INVALID);
    bad.read = NULL;
    CHECK(credline_hook_init(&hook, &bad, capture, NULL, "W") == CREDLINE_ERR_INVALID);
    bad = storage; bad.prog = NULL;
    CHECK(credline_hook_init(&hook, &bad, capture, NULL, "W") == CREDLINE_ERR_INVALID);
    bad = storage; bad.erase = NULL;
    CHECK(credline_hook_init(&hook, &bad, capture, NULL, "W") == CREDLINE_ERR_INVALID);
    bad = storage; bad.prog_size = 3;
    CHECK(credline_hook_init(&hook, &bad, capture, NULL, "W") == CREDLINE_ERR_INVALID);
    bad = storage; bad.prog_size = 64;
    CHECK(credline_hook_init(&hook, &bad, capture, NULL, "W") == CREDLINE_ERR_INVALID);
    bad = storage; bad.prog_size = 32; bad.slot_b = SECTOR + 16;
    CHECK(credline_hook_init(&hook, &bad, capture, NULL, "W") == CREDLINE_ERR_INVALID);
    bad = storage; bad.prog_size = 32; bad.sector_size = CREDLINE_SLOT_SIZE(CREDLINE_MAX_RECORD, 32u) - 1;
    CHECK(credline_hook_init(&hook, &bad, capture, NULL, "W") == CREDLINE_ERR_INVALID);
    bad.sector_size++;
    CHECK(credline_hook_init(&hook, &bad, capture, NULL, "W") == CREDLINE_OK);
    CHECK(CREDLINE_SLOT_SIZE(CREDLINE_MAX_RECORD, 1u) == 277 && CREDLINE_SLOT_SIZE(CREDLINE_MAX_RECORD, 32u) == 320);
    fresh("W", 1);
    feed_put(rec, len);
    CHECK(credline_get_password(&hook, buf, sizeof buf) == 12);
    credline_wipe(&hook);
    CHECK(credline_get_password(&hook, buf, sizeof buf) == CREDLINE_ERR_WIPED);
    CHECK(credline_get_serial(&hook, buf, sizeof buf) == CREDLINE_ERR_WIPED);
    CHECK(credline_get_key_id(&hook, key_id) == CREDLINE_ERR_WIPED);
    CHECK(credline_check_password(&hook, "WW4V6P8BPYR2", 12) == CREDLINE_ERR_WIPED);
    CHECK(credline_is_provisioned(&hook) && !credline_is_locked(&hook));
    { size_t i; int zero = 1; for (i = 0; i < sizeof hook.record; i++) zero &= hook.record[i] == 0; CHECK(zero); }
    feed_frame(4, NULL, 0);                           /* LOCK still works: it reads flash */
    CHECK(reply_len > 3 && reply[3] == 0x84 && credline_is_locked(&hook));
    CHECK(credline_get_password(&hook, buf, sizeof buf) == 12 && !strcmp(buf, "WW4V6P8BPYR2"));
    fresh("W", 0);
    CHECK(credline_is_locked(&hook));
    CHECK(credline_get_password(&hook, buf, sizeof buf) == 12);
    (void)count_send; (void)send_nothing_called;
}

int main(int argc, char **argv) {
    uint8_t plain[CREDLINE_MAX_RECORD];
    size_t plain_len = 0;
    int exchanges, slots;
    if (argc != 3) { fprintf(stderr, "usage: test-hook PROTOCOL-VECTORS SLOT-VECTORS\n"); return 2; }
    test_hmac();
    test_flash_model();
    exchanges = vectors(argv[1], plain, &plain_len);
    CHECK(exchanges >= 9);
    test_runtime_api(plain, plain_len);   /* the vector session ended provisioned and locked */
    CHECK(plain_len > 0);
    if (plain_len) test_init_and_wipe(plain, plain_len);
    slots = slot_vectors(argv[2]);
    CHECK(slots >= 60);
    if (plain_len) test_power_cuts(plain, plain_len);
    printf("%d vector exchanges, %d slot vectors; %s\n", exchanges, slots,
           failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
