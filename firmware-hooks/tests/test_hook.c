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

/* RAM flash with NOR semantics and an optional write budget (a power cut when it runs out). */
struct ram { uint8_t mem[2 * SECTOR]; long budget; };

static int ram_read(void *c, uint32_t a, void *b, uint32_t n) {
    struct ram *r = c;
    if (a + n > sizeof r->mem) return -1;
    memcpy(b, r->mem + a, n);
    return 0;
}
static int spend(struct ram *r) { if (r->budget == 0) return -1; if (r->budget > 0) r->budget--; return 0; }
static int ram_prog(void *c, uint32_t a, const void *b, uint32_t n) {
    struct ram *r = c; const uint8_t *p = b; uint32_t i;
    if (a + n > sizeof r->mem) return -1;
    for (i = 0; i < n; i++) { if (spend(r)) return -1; r->mem[a + i] &= p[i]; }
    return 0;
}
static int ram_erase(void *c, uint32_t a) {
    struct ram *r = c; uint32_t i;
    if (a % SECTOR) return -1;
    for (i = 0; i < SECTOR; i++) { if (spend(r)) return -1; r->mem[a + i] = 0xFF; }
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

static void fresh(const char *hwid, int erase) {
    if (erase) memset(flash.mem, 0xFF, sizeof flash.mem);
    flash.budget = -1;
    storage.context = &flash; storage.read = ram_read; storage.prog = ram_prog;
    storage.erase = ram_erase; storage.sector_size = SECTOR; storage.slot_a = 0;
    storage.slot_b = SECTOR;
    CHECK(credline_hook_init(&hook, &storage, capture, NULL, hwid) == CREDLINE_OK);
}

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

/* Encode and feed one PUT frame, as the station would send it. */
static void feed_put(const uint8_t *rec, size_t len) {
    uint8_t frame[CREDLINE_MAX_FRAME], out[2 * CREDLINE_MAX_FRAME + 2];
    size_t n = 0, o = 0, i;
    uint32_t c;
    frame[n++] = 1; frame[n++] = 7; frame[n++] = 2;
    memcpy(frame + n, rec, len);
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

/* Provision record A; then cut power at every byte of writing record B: after each cut the
 * hook must hold A or B, whole, never garbage; and writing B again must then succeed. */
static void test_power_cuts(const uint8_t *rec, size_t len) {
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
    for (budget = 0;; budget++) {
        fresh("PC", 1);
        feed_put(rec, len);
        flash.budget = budget;
        feed_put(other, len);
        written = reply_len > 3 && reply[3] == 0x82;  /* PUT acknowledged: B is whole */
        fresh("PC", 0);                              /* power comes back */
        CHECK(credline_is_provisioned(&hook));
        CHECK(credline_get_password(&hook, pw, sizeof pw) == 12);
        CHECK(!strcmp(pw, "WW4V6P8BPYR2") || !strcmp(pw, "WW4V6P8BPYR3"));
        if (written) break;                          /* B was written within the budget */
        CHECK(!strcmp(pw, "WW4V6P8BPYR2"));          /* cut: still A (B's marker comes last) */
        feed_put(other, len);                        /* re-provisioning succeeds */
        CHECK(credline_get_password(&hook, pw, sizeof pw) == 12 && !strcmp(pw, "WW4V6P8BPYR3"));
        cuts++;
    }
    CHECK(!strcmp(pw, "WW4V6P8BPYR3"));
    CHECK(cuts > (long)SECTOR);
    printf("power cuts tested: %ld (every byte of an erase and a write)\n", cuts);
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

int main(int argc, char **argv) {
    uint8_t plain[CREDLINE_MAX_RECORD];
    size_t plain_len = 0;
    int exchanges;
    if (argc != 2) { fprintf(stderr, "usage: test-hook VECTORS\n"); return 2; }
    test_hmac();
    exchanges = vectors(argv[1], plain, &plain_len);
    CHECK(exchanges >= 9);
    test_runtime_api(plain, plain_len);   /* the vector session ended provisioned and locked */
    CHECK(plain_len > 0);
    if (plain_len) test_power_cuts(plain, plain_len);
    printf("%d vector exchanges; %s\n", exchanges, failures ? "FAILED" : "all passed");
    return failures ? 1 : 0;
}
