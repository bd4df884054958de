/* The credline hook: framing, the protocol and the run-time API (slots: credline_slot.c).
 * See include/credline_hook.h for the contract and docs/protocol.md for the bytes. */
#include "hook_internal.h"

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

#define NONCE_SIZE 32u

#define RX_DAMAGED 1          /* rx_damaged: a bad escape after seq and cmd arrived */
#define RX_HEADER_DAMAGED 2   /* rx_damaged: a bad escape before that */

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
    credline_put_le32(f + n, credline_crc32(f, n));
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
    struct credline_record_view v;
    if (n != 1 || body[0] < CREDLINE_PROTOCOL_VERSION) {
        send_error(h, seq, CMD_HELLO, n != 1 ? CREDLINE_ERR_INVALID : CREDLINE_ERR_VERSION);
        return;
    }
    out[at++] = CREDLINE_PROTOCOL_VERSION;
    out[at++] = CREDLINE_HOOK_VERSION_MAJOR;
    out[at++] = CREDLINE_HOOK_VERSION_MINOR;
    out[at++] = state_of(h);
    out[at++] = (uint8_t)len;
    memcpy(out + at, h->hwid, len);
    at += len;
    if (h->record_slot >= 0 && credline_record_parse(h->record, h->record_len, &v) == CREDLINE_OK) {
        out[at++] = (uint8_t)v.serial_len;
        memcpy(out + at, v.serial, v.serial_len);
        at += v.serial_len;
    } else {
        out[at++] = 0;
    }
    send_frame(h, seq, CMD_HELLO | REPLY_OK, out, at);
}

/* One frame: each command yields an error code or a reply body; one place sends either. */
static void handle(struct credline_hook *h, const uint8_t *f, size_t n) {
    uint8_t seq, cmd, out[32], readback[CREDLINE_MAX_RECORD];
    uint32_t len, rseq;
    size_t out_len = 1;
    int rc = CREDLINE_OK, locked;
    if (n < 3 + 4) return;                                    /* too short to answer */
    seq = f[1];
    cmd = f[2];
    if (credline_get_le32(f + n - 4) != credline_crc32(f, n - 4)) rc = CREDLINE_ERR_CRC;
    else if (f[0] != CREDLINE_PROTOCOL_VERSION) rc = CREDLINE_ERR_VERSION;
    f += 3;
    n -= 3 + 4;
    if (rc == CREDLINE_OK && cmd == CMD_HELLO) { handle_hello(h, seq, f, n); return; }
    if (rc != CREDLINE_OK) {
        /* the frame's own fault, reported below */
    } else if (cmd == CMD_PUT) {
        rc = h->locked ? CREDLINE_ERR_LOCKED : credline_record_check(f, n);
        if (rc == CREDLINE_OK) rc = credline_slot_store(h, f, (uint32_t)n, 0);
    } else if (cmd == CMD_VERIFY || cmd == CMD_LOCK) {
        if (n != (cmd == CMD_VERIFY ? NONCE_SIZE : 0)) rc = CREDLINE_ERR_INVALID;
        else if (h->record_slot < 0) rc = CREDLINE_ERR_NOT_PROVISIONED;
        /* Both work on the bytes in flash, not the copy in RAM (which may have been wiped). */
        else if (cmd == CMD_LOCK && h->locked) { /* already locked: nothing to write */ }
        else rc = credline_slot_read(h, h->record_slot, readback, &len, &rseq, &locked);
        if (rc == CREDLINE_OK && cmd == CMD_VERIFY) {
            credline_hmac_sha256(f, NONCE_SIZE, readback, len, out);
            out_len = sizeof out;
        } else if (rc == CREDLINE_OK && !h->locked) {
            rc = credline_slot_store(h, readback, len, 1);
        }
        credline_secure_zero(readback, sizeof readback);
    } else {
        rc = CREDLINE_ERR_UNKNOWN;
    }
    if (rc != CREDLINE_OK) { send_error(h, seq, cmd, rc); return; }
    if (out_len == 1) out[0] = state_of(h);
    send_frame(h, seq, cmd | REPLY_OK, out, out_len);
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
    uint32_t unit;
    if (!h || !storage || !send || !storage->read || !storage->prog || !storage->erase)
        return CREDLINE_ERR_INVALID;
    unit = credline_unit_of(storage);
    if (!credline_unit_ok(unit) || storage->sector_size < CREDLINE_SLOT_SIZE(CREDLINE_MAX_RECORD, unit) ||
        storage->slot_a == storage->slot_b ||
        ((storage->slot_a | storage->slot_b) & (unit - 1)))
        return CREDLINE_ERR_INVALID;
    memset(h, 0, sizeof *h);
    h->storage = storage;
    h->send = send;
    h->send_context = send_context;
    while (hwid && hwid[n] && n < CREDLINE_MAX_HWID) { h->hwid[n] = hwid[n]; n++; }
    h->hwid[n] = '\0';
    return credline_slot_load(h);
}

void credline_wipe(struct credline_hook *h) {
    /* rx, the receive state, work, tx and record lie in this order in struct credline_hook. */
    credline_secure_zero(h->rx, (size_t)(h->record + sizeof h->record - h->rx));
    h->record_len = 0;
    h->wiped = 1;
}

int credline_is_provisioned(const struct credline_hook *h) { return h->record_slot >= 0; }

/* locked is set only together with a valid record (credline_slot_load). */
int credline_is_locked(const struct credline_hook *h) { return h->locked; }

static int view(const struct credline_hook *h, struct credline_record_view *v) {
    if (h->record_slot < 0) return CREDLINE_ERR_NOT_PROVISIONED;
    if (h->wiped) return CREDLINE_ERR_WIPED;
    return credline_record_parse(h->record, h->record_len, v);
}

static int copy_out(const uint8_t *src, size_t n, char *buffer, size_t size) {
    if (size < n + 1) return CREDLINE_ERR_BUFFER;
    memcpy(buffer, src, n);
    buffer[n] = '\0';
    return (int)n;
}

int credline_get_password(const struct credline_hook *h, char *buffer, size_t size) {
    struct credline_record_view v;
    int rc = view(h, &v);
    if (rc != CREDLINE_OK) return rc;
    if (v.kind != KIND_PLAINTEXT) return CREDLINE_ERR_INVALID;
    return copy_out(v.password, v.password_len, buffer, size);
}

int credline_get_serial(const struct credline_hook *h, char *buffer, size_t size) {
    struct credline_record_view v;
    int rc = view(h, &v);
    return rc != CREDLINE_OK ? rc : copy_out(v.serial, v.serial_len, buffer, size);
}

int credline_get_key_id(const struct credline_hook *h, uint8_t key_id[8]) {
    struct credline_record_view v;
    int rc = view(h, &v);
    if (rc == CREDLINE_OK) memcpy(key_id, v.key_id, 8);
    return rc;
}

int credline_get_generation(const struct credline_hook *h, uint32_t *generation) {
    struct credline_record_view v;
    int rc = view(h, &v);
    if (rc == CREDLINE_OK) *generation = v.generation;
    return rc;
}

/* What a person typed, into out[CREDLINE_MAX_PASSWORD], read by the record's rules: with
 * Crockford's, hyphens and spaces dropped, lower case raised, O as 0, I and L as 1; else as
 * typed. Returns the length read (it may exceed the buffer: the excess is counted, not stored).
 * It branches on the typed bytes only, which the person typing knows; the stored password
 * plays no part until the fixed-size constant-time comparison. */
static size_t read_typed(const uint8_t *typed, size_t size, unsigned rules, uint8_t *out) {
    size_t i, n = 0;
    for (i = 0; i < size; i++) {
        uint8_t c = typed[i];
        if (rules == READING_CROCKFORD) {
            if (c == '-' || c == ' ') continue;
            if (c >= 'a' && c <= 'z') c = (uint8_t)(c - ('a' - 'A'));
            if (c == 'O') c = '0';
            else if (c == 'I' || c == 'L') c = '1';
        }
        if (n < CREDLINE_MAX_PASSWORD) out[n] = c;
        n++;
    }
    return n;
}

int credline_check_password(const struct credline_hook *h, const char *typed, size_t size) {
    struct credline_record_view v;
    uint8_t buf[2 * CREDLINE_MAX_PASSWORD], hash[32];
    uint8_t *stored = buf, *given = buf + CREDLINE_MAX_PASSWORD;
    size_t n;
    int rc = view(h, &v), same;
    if (rc != CREDLINE_OK) return rc;
    memset(buf, 0, sizeof buf);
    n = read_typed((const uint8_t *)typed, size, v.reading, given);
    if (v.kind == KIND_VERIFIER) {
        /* A password is at most CREDLINE_MAX_PASSWORD bytes as read: a longer input fails. */
        credline_pbkdf2_sha256_32(given, n < CREDLINE_MAX_PASSWORD ? n : CREDLINE_MAX_PASSWORD,
                                  v.salt, SALT_SIZE, v.iterations, hash);
        same = credline_constant_time_equal(hash, v.hash, 32) & (n <= CREDLINE_MAX_PASSWORD);
        credline_secure_zero(hash, sizeof hash);
    } else {
        /* Compare fixed-size buffers so the time does not depend on where or whether they differ. */
        memcpy(stored, v.password, v.password_len);
        same = credline_constant_time_equal(stored, given, CREDLINE_MAX_PASSWORD) &
               (n == v.password_len);
    }
    credline_secure_zero(buf, sizeof buf);
    return same ? CREDLINE_OK : CREDLINE_ERR_MISMATCH;
}
