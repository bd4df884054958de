/* The credline hook: framing, the stored record (A/B slots), the protocol and the run-time API.
 * See include/credline_hook.h for the contract and docs/protocol.md for the bytes. */
#include "credline_hook.h"

#include <string.h>

#include "sha256.h"

#define SLIP_END 0xC0u
#define SLIP_ESC 0xDBu
#define SLIP_ESC_END 0xDCu
#define SLIP_ESC_ESC 0xDDu

#define CMD_HELLO 0x01u
#define CMD_PUT 0x02u
#define CMD_VERIFY 0x03u
#define CMD_LOCK 0x04u
#define REPLY_OK 0x80u    /* reply command = request command | 0x80 */
#define REPLY_ERROR 0xFFu /* body: request command, error code (positive) */

#define RECORD_VERSION 1u
#define KIND_PLAINTEXT 0u
#define KIND_VERIFIER 1u
#define NONCE_SIZE 32u
#define SALT_SIZE 16u
#define FLAG_LOCKED 0x01u
#define COMMIT_DONE 0x00u

#define RX_DAMAGED 1          /* rx_damaged: a bad escape after seq and cmd arrived */
#define RX_HEADER_DAMAGED 2   /* rx_damaged: a bad escape before that */

static const uint8_t MAGIC[4] = {'C', 'L', 'R', '1'};

/* -- little helpers ------------------------------------------------------------------------ */

/* Raw CRC-32 register update (no pre/post inversion), so a CRC can span two buffers. */
static uint32_t crc_update(uint32_t crc, const uint8_t *data, size_t size) {
    size_t i;
    int bit;
    for (i = 0; i < size; i++) {
        crc ^= data[i];
        for (bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc;
}

uint32_t credline_crc32(const uint8_t *data, size_t size) {
    return ~crc_update(0xFFFFFFFFu, data, size);
}

/* The slot CRC: CRC-32 over the slot header (without the commit byte) followed by the record. */
static uint32_t slot_crc(const uint8_t *head, const uint8_t *record, size_t len) {
    return ~crc_update(crc_update(0xFFFFFFFFu, head, 15), record, len);
}

static void put_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint32_t get_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* -- the record ---------------------------------------------------------------------------- */

struct record_view {
    const uint8_t *serial; size_t serial_len;
    const uint8_t *key_id;
    uint32_t generation;
    unsigned kind;
    const uint8_t *password; size_t password_len;
    uint32_t iterations;
    const uint8_t *salt;
    const uint8_t *hash;
};

/* Parse a record: version, kind, scheme, serial, key id, generation, secret, CRC-32 (LE). */
static int record_parse(const uint8_t *r, size_t size, struct record_view *v) {
    size_t at = 2, n;
    if (size < 2 + 1 + 1 + 8 + 4 + 4 || size > CREDLINE_MAX_RECORD) return CREDLINE_ERR_INVALID;
    if (get_le32(r + size - 4) != credline_crc32(r, size - 4)) return CREDLINE_ERR_CRC;
    size -= 4;
    if (r[0] != RECORD_VERSION) return CREDLINE_ERR_VERSION;
    v->kind = r[1];
    n = r[at++];                                   /* scheme */
    if (n == 0 || at + n > size) return CREDLINE_ERR_INVALID;
    at += n;
    if (at + 1 > size) return CREDLINE_ERR_INVALID;
    n = r[at++];                                   /* serial */
    if (n == 0 || n > CREDLINE_MAX_SERIAL || at + n + 8 + 4 > size) return CREDLINE_ERR_INVALID;
    v->serial = r + at; v->serial_len = n; at += n;
    v->key_id = r + at; at += 8;
    v->generation = get_be32(r + at); at += 4;
    v->password = NULL; v->password_len = 0; v->salt = NULL; v->hash = NULL; v->iterations = 0;
    if (v->kind == KIND_PLAINTEXT) {
        if (at + 1 > size) return CREDLINE_ERR_INVALID;
        n = r[at++];
        if (n == 0 || n > CREDLINE_MAX_PASSWORD || at + n != size) return CREDLINE_ERR_INVALID;
        v->password = r + at; v->password_len = n;
        return CREDLINE_OK;
    }
    if (v->kind == KIND_VERIFIER) {
        if (at + 4 + SALT_SIZE + 32 != size) return CREDLINE_ERR_INVALID;
        v->iterations = get_be32(r + at); at += 4;
        if (v->iterations == 0 || v->iterations > 200000u) return CREDLINE_ERR_INVALID;
        v->salt = r + at; v->hash = r + at + SALT_SIZE;
        return CREDLINE_OK;
    }
    return CREDLINE_ERR_INVALID;
}

int credline_record_check(const uint8_t *record, size_t size) {
    struct record_view v;
    return record_parse(record, size, &v);
}

/* -- A/B slots ----------------------------------------------------------------------------- */

/* Read a slot: valid only with the magic, the commit marker (written last) and a good CRC. */
static int slot_read(struct credline_hook *h, int slot, uint8_t *record, uint32_t *len,
                     uint32_t *seq, int *locked) {
    const struct credline_storage *s = h->storage;
    uint32_t addr = slot ? s->slot_b : s->slot_a;
    uint8_t head[CREDLINE_SLOT_HEADER], crc[4];
    uint32_t n;
    if (s->read(s->context, addr, head, sizeof head) < 0) return CREDLINE_ERR_IO;
    if (memcmp(head, MAGIC, 4) != 0 || head[15] != COMMIT_DONE) return CREDLINE_ERR_CORRUPT;
    n = (uint32_t)head[8] | (uint32_t)head[9] << 8;
    if (n == 0 || n > CREDLINE_MAX_RECORD) return CREDLINE_ERR_CORRUPT;
    if (s->read(s->context, addr + CREDLINE_SLOT_HEADER, record, n) < 0) return CREDLINE_ERR_IO;
    if (s->read(s->context, addr + CREDLINE_SLOT_HEADER + n, crc, 4) < 0) return CREDLINE_ERR_IO;
    if (get_le32(crc) != slot_crc(head, record, n)) return CREDLINE_ERR_CORRUPT;
    if (credline_record_check(record, n) != CREDLINE_OK) return CREDLINE_ERR_CORRUPT;
    *len = n;
    *seq = get_le32(head + 4);
    *locked = (head[10] & FLAG_LOCKED) ? 0 : 1;  /* flags are active-low: erased = unlocked */
    return CREDLINE_OK;
}

static int load(struct credline_hook *h) {
    uint8_t rec[CREDLINE_MAX_RECORD];
    uint32_t len, seq;
    int locked, slot, rc;
    h->record_slot = -1;
    h->record_len = 0;
    h->locked = 0;
    for (slot = 0; slot < 2; slot++) {
        rc = slot_read(h, slot, rec, &len, &seq, &locked);
        if (rc == CREDLINE_ERR_IO) return rc;
        if (rc != CREDLINE_OK) continue;
        if (h->record_slot < 0 || seq > h->record_seq) {
            memcpy(h->record, rec, len);
            h->record_len = len;
            h->record_seq = seq;
            h->record_slot = slot;
            h->locked = locked;
        }
    }
    return CREDLINE_OK;
}

/* Write a record to the slot not holding the current one; the commit marker goes last, so a
 * power cut at any byte leaves the old record valid and the new one absent. */
static int store(struct credline_hook *h, const uint8_t *record, uint32_t len, int locked) {
    const struct credline_storage *s = h->storage;
    int slot = h->record_slot == 0 ? 1 : 0;
    uint32_t addr = slot ? s->slot_b : s->slot_a;
    uint32_t seq = h->record_slot < 0 ? 1 : h->record_seq + 1;
    uint8_t head[CREDLINE_SLOT_HEADER], tail[4];
    uint8_t commit = COMMIT_DONE;
    memset(head, 0xFF, sizeof head);
    memcpy(head, MAGIC, 4);
    put_le32(head + 4, seq);
    head[8] = (uint8_t)len;
    head[9] = (uint8_t)(len >> 8);
    head[10] = locked ? (uint8_t)~FLAG_LOCKED : 0xFF;
    put_le32(tail, slot_crc(head, record, len));
    if (s->erase(s->context, addr) < 0) return CREDLINE_ERR_IO;
    if (s->prog(s->context, addr, head, 15) < 0) return CREDLINE_ERR_IO;
    if (s->prog(s->context, addr + CREDLINE_SLOT_HEADER, record, len) < 0) return CREDLINE_ERR_IO;
    if (s->prog(s->context, addr + CREDLINE_SLOT_HEADER + len, tail, 4) < 0) return CREDLINE_ERR_IO;
    if (s->prog(s->context, addr + 15, &commit, 1) < 0) return CREDLINE_ERR_IO;
    return load(h);
}

/* -- framing and protocol ------------------------------------------------------------------ */

static void send_frame(struct credline_hook *h, uint8_t seq, uint8_t cmd, const uint8_t *body,
                       size_t size) {
    uint8_t *f = h->work;
    size_t n = 0, i, out = 0;
    f[n++] = CREDLINE_PROTOCOL_VERSION;
    f[n++] = seq;
    f[n++] = cmd;
    memcpy(f + n, body, size);
    n += size;
    put_le32(f + n, credline_crc32(f, n));
    n += 4;
    h->tx[out++] = SLIP_END;
    for (i = 0; i < n; i++) {
        if (f[i] == SLIP_END) { h->tx[out++] = SLIP_ESC; h->tx[out++] = SLIP_ESC_END; }
        else if (f[i] == SLIP_ESC) { h->tx[out++] = SLIP_ESC; h->tx[out++] = SLIP_ESC_ESC; }
        else h->tx[out++] = f[i];
    }
    h->tx[out++] = SLIP_END;
    h->send(h->send_context, h->tx, out);
}

static void send_error(struct credline_hook *h, uint8_t seq, uint8_t cmd, int error) {
    uint8_t body[2];
    body[0] = cmd;
    body[1] = (uint8_t)(-error);
    send_frame(h, seq, REPLY_ERROR, body, 2);
}

static uint8_t state_of(const struct credline_hook *h) {
    if (h->record_slot < 0) return CREDLINE_STATE_EMPTY;
    return h->locked ? CREDLINE_STATE_LOCKED : CREDLINE_STATE_PROVISIONED;
}

static void handle_hello(struct credline_hook *h, uint8_t seq, const uint8_t *body, size_t n) {
    uint8_t out[8 + CREDLINE_MAX_HWID + CREDLINE_MAX_SERIAL];
    size_t at = 0, len = strlen(h->hwid);
    struct record_view v;
    if (n != 1) { send_error(h, seq, CMD_HELLO, CREDLINE_ERR_INVALID); return; }
    if (body[0] < CREDLINE_PROTOCOL_VERSION) {
        send_error(h, seq, CMD_HELLO, CREDLINE_ERR_VERSION);
        return;
    }
    out[at++] = CREDLINE_PROTOCOL_VERSION;
    out[at++] = CREDLINE_HOOK_VERSION_MAJOR;
    out[at++] = CREDLINE_HOOK_VERSION_MINOR;
    out[at++] = state_of(h);
    out[at++] = (uint8_t)len;
    memcpy(out + at, h->hwid, len);
    at += len;
    if (h->record_slot >= 0 && record_parse(h->record, h->record_len, &v) == CREDLINE_OK) {
        out[at++] = (uint8_t)v.serial_len;
        memcpy(out + at, v.serial, v.serial_len);
        at += v.serial_len;
    } else {
        out[at++] = 0;
    }
    send_frame(h, seq, CMD_HELLO | REPLY_OK, out, at);
}

static void handle(struct credline_hook *h, const uint8_t *f, size_t n) {
    uint8_t seq, cmd, mac[32], readback[CREDLINE_MAX_RECORD];
    uint32_t len, rseq;
    int rc, locked;
    if (n < 3 + 4) return;                                    /* too short to answer */
    seq = f[1];
    cmd = f[2];
    if (get_le32(f + n - 4) != credline_crc32(f, n - 4)) {
        send_error(h, seq, cmd, CREDLINE_ERR_CRC);
        return;
    }
    if (f[0] != CREDLINE_PROTOCOL_VERSION) { send_error(h, seq, cmd, CREDLINE_ERR_VERSION); return; }
    f += 3;
    n -= 3 + 4;
    switch (cmd) {
    case CMD_HELLO:
        handle_hello(h, seq, f, n);
        return;
    case CMD_PUT:
        if (h->locked) { send_error(h, seq, cmd, CREDLINE_ERR_LOCKED); return; }
        rc = credline_record_check(f, n);
        if (rc != CREDLINE_OK) { send_error(h, seq, cmd, rc); return; }
        rc = store(h, f, (uint32_t)n, 0);
        if (rc != CREDLINE_OK) { send_error(h, seq, cmd, rc); return; }
        readback[0] = state_of(h);
        send_frame(h, seq, cmd | REPLY_OK, readback, 1);
        return;
    case CMD_VERIFY:
        if (n != NONCE_SIZE) { send_error(h, seq, cmd, CREDLINE_ERR_INVALID); return; }
        if (h->record_slot < 0) { send_error(h, seq, cmd, CREDLINE_ERR_NOT_PROVISIONED); return; }
        /* Prove the bytes in flash, not the copy in RAM. */
        rc = slot_read(h, h->record_slot, readback, &len, &rseq, &locked);
        if (rc != CREDLINE_OK) { send_error(h, seq, cmd, rc); return; }
        credline_hmac_sha256(f, NONCE_SIZE, readback, len, mac);
        secure_zero(readback, sizeof readback);
        send_frame(h, seq, cmd | REPLY_OK, mac, sizeof mac);
        return;
    case CMD_LOCK:
        if (n != 0) { send_error(h, seq, cmd, CREDLINE_ERR_INVALID); return; }
        if (h->record_slot < 0) { send_error(h, seq, cmd, CREDLINE_ERR_NOT_PROVISIONED); return; }
        if (!h->locked) {
            memcpy(readback, h->record, h->record_len);
            rc = store(h, readback, h->record_len, 1);
            secure_zero(readback, sizeof readback);
            if (rc != CREDLINE_OK) { send_error(h, seq, cmd, rc); return; }
        }
        readback[0] = state_of(h);
        send_frame(h, seq, cmd | REPLY_OK, readback, 1);
        return;
    default:
        send_error(h, seq, cmd, CREDLINE_ERR_UNKNOWN);
    }
}

/* A frame's closing END. A damaged frame (bad escape) is answered like a CRC mismatch, so the
 * station resends it; an oversized one with TOO_BIG. Either is answered only when seq and cmd
 * arrived intact before the fault: a reply must name the request it answers. */
static void end_frame(struct credline_hook *h) {
    if (h->rx_damaged == RX_DAMAGED) send_error(h, h->rx[1], h->rx[2], CREDLINE_ERR_CRC);
    else if (h->rx_damaged) { /* seq or cmd lost: nothing to address a reply to */ }
    else if (h->rx_overflow && h->rx_len >= 3) send_error(h, h->rx[1], h->rx[2], CREDLINE_ERR_TOO_BIG);
    else if (!h->rx_overflow && h->rx_len > 0) handle(h, h->rx, h->rx_len);
    h->rx_len = 0;
    h->rx_escape = 0;
    h->rx_overflow = 0;
    h->rx_damaged = 0;
}

void credline_hook_feed(struct credline_hook *h, const uint8_t *data, size_t size) {
    size_t i;
    for (i = 0; i < size; i++) {
        uint8_t b = data[i];
        if (b == SLIP_END) {
            end_frame(h);
            continue;
        }
        if (h->rx_escape) {
            h->rx_escape = 0;
            if (b == SLIP_ESC_END) b = SLIP_END;
            else if (b == SLIP_ESC_ESC) b = SLIP_ESC;
            else {                 /* bad escape: the line damaged the frame, as a CRC would */
                if (!h->rx_damaged) h->rx_damaged = h->rx_len >= 3 ? RX_DAMAGED : RX_HEADER_DAMAGED;
                continue;
            }
        } else if (b == SLIP_ESC) {
            h->rx_escape = 1;
            continue;
        }
        if (h->rx_len < sizeof h->rx) h->rx[h->rx_len++] = b;
        else h->rx_overflow = 1;
    }
}

/* -- initialisation and the run-time API --------------------------------------------------- */

int credline_hook_init(struct credline_hook *h, const struct credline_storage *storage,
                       credline_send_fn send, void *send_context, const char *hwid) {
    size_t n = 0;
    if (!h || !storage || !storage->read || !storage->prog || !storage->erase ||
        storage->sector_size < CREDLINE_SLOT_HEADER + CREDLINE_MAX_RECORD + 4 ||
        storage->slot_a == storage->slot_b)
        return CREDLINE_ERR_INVALID;
    memset(h, 0, sizeof *h);
    h->storage = storage;
    h->send = send;
    h->send_context = send_context;
    while (hwid && hwid[n] && n < CREDLINE_MAX_HWID) { h->hwid[n] = hwid[n]; n++; }
    h->hwid[n] = '\0';
    return load(h);
}

int credline_is_provisioned(const struct credline_hook *h) { return h->record_slot >= 0; }

int credline_is_locked(const struct credline_hook *h) { return h->record_slot >= 0 && h->locked; }

static int view(const struct credline_hook *h, struct record_view *v) {
    if (h->record_slot < 0) return CREDLINE_ERR_NOT_PROVISIONED;
    return record_parse(h->record, h->record_len, v);
}

static int copy_out(const uint8_t *src, size_t n, char *buffer, size_t size) {
    if (size < n + 1) return CREDLINE_ERR_BUFFER;
    memcpy(buffer, src, n);
    buffer[n] = '\0';
    return (int)n;
}

int credline_get_password(const struct credline_hook *h, char *buffer, size_t size) {
    struct record_view v;
    int rc = view(h, &v);
    if (rc != CREDLINE_OK) return rc;
    if (v.kind != KIND_PLAINTEXT) return CREDLINE_ERR_INVALID;
    return copy_out(v.password, v.password_len, buffer, size);
}

int credline_get_serial(const struct credline_hook *h, char *buffer, size_t size) {
    struct record_view v;
    int rc = view(h, &v);
    return rc != CREDLINE_OK ? rc : copy_out(v.serial, v.serial_len, buffer, size);
}

int credline_get_key_id(const struct credline_hook *h, uint8_t key_id[8]) {
    struct record_view v;
    int rc = view(h, &v);
    if (rc == CREDLINE_OK) memcpy(key_id, v.key_id, 8);
    return rc;
}

int credline_get_generation(const struct credline_hook *h, uint32_t *generation) {
    struct record_view v;
    int rc = view(h, &v);
    if (rc == CREDLINE_OK) *generation = v.generation;
    return rc;
}

int credline_check_password(const struct credline_hook *h, const char *typed, size_t size) {
    struct record_view v;
    uint8_t padded_a[CREDLINE_MAX_PASSWORD], padded_b[CREDLINE_MAX_PASSWORD], hash[32];
    int rc = view(h, &v), same;
    if (rc != CREDLINE_OK) return rc;
    if (v.kind == KIND_VERIFIER) {
        pbkdf2_sha256_32((const uint8_t *)typed, size, v.salt, SALT_SIZE, v.iterations, hash);
        same = constant_time_equal(hash, v.hash, 32);
        secure_zero(hash, sizeof hash);
        return same ? CREDLINE_OK : CREDLINE_ERR_MISMATCH;
    }
    /* Compare fixed-size buffers so the time does not depend on where or whether they differ. */
    memset(padded_a, 0, sizeof padded_a);
    memset(padded_b, 0, sizeof padded_b);
    memcpy(padded_a, v.password, v.password_len);
    memcpy(padded_b, typed, size < sizeof padded_b ? size : sizeof padded_b);
    same = constant_time_equal(padded_a, padded_b, sizeof padded_a) & (size == v.password_len);
    secure_zero(padded_a, sizeof padded_a);
    secure_zero(padded_b, sizeof padded_b);
    return same ? CREDLINE_OK : CREDLINE_ERR_MISMATCH;
}
