/* The credline hook's storage side: CRC, the record decoder and the A/B flash slots (both
 * layouts: CLS2 written, CLR1 read). No protocol here; see credline_hook.c. */
#include <string.h>

#include "hook_internal.h"
#include "sha256.h"

#define MAGIC_V1 0x31524C43u   /* "CLR1" read as u32le: legacy, read only */
#define MAGIC_V2 0x32534C43u   /* "CLS2" read as u32le */

/* -- little helpers ------------------------------------------------------------------------ */

/* Raw CRC-32 register update (no pre/post inversion), so a CRC can span two buffers. */
uint32_t credline_crc_update(uint32_t crc, const uint8_t *data, size_t size) {
    size_t i;
    int bit;
    for (i = 0; i < size; i++) {
        crc ^= data[i];
        for (bit = 0; bit < 8; bit++) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
    }
    return crc;
}

uint32_t credline_crc32(const uint8_t *data, size_t size) {
    return ~credline_crc_update(0xFFFFFFFFu, data, size);
}

static uint32_t get_be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* -- the record ---------------------------------------------------------------------------- */



/* Parse a record: version, kind, [reading rules, v2], scheme, serial, key id, generation,
 * secret, CRC-32 (LE). */
int credline_record_parse(const uint8_t *r, size_t size, struct credline_record_view *v) {
    size_t at, n;
    if (size < 2 + 1 + 1 + 8 + 4 + 4 || size > CREDLINE_MAX_RECORD) return CREDLINE_ERR_INVALID;
    if (credline_get_le32(r + size - 4) != credline_crc32(r, size - 4)) return CREDLINE_ERR_CRC;
    size -= 4;
    if (r[0] != RECORD_V1 && r[0] != RECORD_V2) return CREDLINE_ERR_VERSION;
    v->kind = r[1];
    v->reading = READING_EXACT;
    at = 2;
    if (r[0] == RECORD_V2) {
        v->reading = r[at++];
        if (v->reading != READING_EXACT && v->reading != READING_CROCKFORD)
            return CREDLINE_ERR_INVALID;
    }
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
    struct credline_record_view v;
    return credline_record_parse(record, size, &v);
}

/* -- A/B slots (layout: include/credline_hook.h, "Slot layout") ------------------------------ */

void credline_put_le32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

uint32_t credline_get_le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Offset of the commit word: header, record and CRC rounded up to the unit. */
static uint32_t commit_at(uint32_t len, uint32_t unit) {
    return (CREDLINE_SLOT_HEADER + len + 4 + unit - 1) & ~(unit - 1);   /* unit: a power of two */
}

/* Read a slot of either layout; CREDLINE_ERR_CORRUPT for an absent, torn or damaged one.
 * CLS2: the whole commit word (unit from the header) must be 0x00, the CRC covers the 16-byte
 * header and the record. CLR1 (legacy): the commit byte is header[15], the CRC covers
 * header[0..15) and the record. The commit is checked first: it is written last. */
int credline_slot_read(struct credline_hook *h, int slot, uint8_t *record, uint32_t *len,
                       uint32_t *seq, int *locked) {
    const struct credline_storage *s = h->storage;
    uint32_t addr = slot ? s->slot_b : s->slot_a;
    uint8_t head[CREDLINE_SLOT_HEADER], word[CREDLINE_MAX_PROG_SIZE];
    uint32_t n, unit, at, covered, i;
    uint8_t any = 0;
    if (s->read(s->context, addr, head, sizeof head) < 0) return CREDLINE_ERR_IO;
    n = (uint32_t)head[8] | (uint32_t)head[9] << 8;
    if (n == 0 || n > CREDLINE_MAX_RECORD) return CREDLINE_ERR_CORRUPT;
    if (credline_get_le32(head) == MAGIC_V2) {
        unit = head[11];
        if (!credline_unit_ok(unit)) return CREDLINE_ERR_CORRUPT;
        at = commit_at(n, unit);
        covered = CREDLINE_SLOT_HEADER;
    } else if (credline_get_le32(head) == MAGIC_V1) {
        unit = 1;
        at = CREDLINE_SLOT_HEADER - 1;
        covered = CREDLINE_SLOT_HEADER - 1;
    } else {
        return CREDLINE_ERR_CORRUPT;
    }
    /* init ensured sector_size >= 277 > 16 + 256 + 4; a CLS2 unit above ours needs more. */
    if (at + unit > s->sector_size) return CREDLINE_ERR_CORRUPT;
    if (s->read(s->context, addr + at, word, unit) < 0) return CREDLINE_ERR_IO;
    for (i = 0; i < unit; i++) any |= word[i];
    if (any != COMMIT_DONE) return CREDLINE_ERR_CORRUPT;
    if (s->read(s->context, addr + CREDLINE_SLOT_HEADER, record, n) < 0 ||
        s->read(s->context, addr + CREDLINE_SLOT_HEADER + n, word, 4) < 0)
        return CREDLINE_ERR_IO;
    if (credline_get_le32(word) !=
        ~credline_crc_update(credline_crc_update(0xFFFFFFFFu, head, covered), record, n))
        return CREDLINE_ERR_CORRUPT;
    if (credline_record_check(record, n) != CREDLINE_OK) return CREDLINE_ERR_CORRUPT;
    *len = n;
    *seq = credline_get_le32(head + 4);
    *locked = (head[10] & FLAG_LOCKED) ? 0 : 1;  /* flags are active-low: erased = unlocked */
    return CREDLINE_OK;
}

int credline_slot_load(struct credline_hook *h) {
    uint8_t *rec = h->work;   /* free here: store has finished with it, init never used it */
    uint32_t len, seq;
    int locked, slot, rc;
    h->record_slot = -1;
    h->record_len = 0;
    h->locked = 0;
    h->wiped = 0;
    for (slot = 0; slot < 2; slot++) {
        rc = credline_slot_read(h, slot, rec, &len, &seq, &locked);
        if (rc == CREDLINE_ERR_IO) break;
        if (rc != CREDLINE_OK) continue;
        if (h->record_slot < 0 || seq > h->record_seq) {
            memcpy(h->record, rec, len);
            h->record_len = len;
            h->record_seq = seq;
            h->record_slot = slot;
            h->locked = locked;
        }
    }
    credline_secure_zero(rec, CREDLINE_MAX_RECORD);
    return rc == CREDLINE_ERR_IO ? rc : CREDLINE_OK;
}

/* Write a record to the slot not holding the current one, each word once: one prog call for
 * header + record + CRC + padding, then the commit word alone. A power cut at any byte leaves
 * the old record valid and the new one absent. The image is built in h->work. */
int credline_slot_store(struct credline_hook *h, const uint8_t *record, uint32_t len, int locked) {
    const struct credline_storage *s = h->storage;
    int slot = h->record_slot == 0 ? 1 : 0, rc;
    uint32_t addr = slot ? s->slot_b : s->slot_a;
    uint32_t seq = h->record_slot < 0 ? 1 : h->record_seq + 1;
    uint32_t unit = credline_unit_of(s), at = commit_at(len, unit);
    uint8_t *img = h->work;
    memset(img, 0xFF, at + unit);
    credline_put_le32(img, MAGIC_V2);
    credline_put_le32(img + 4, seq);
    img[8] = (uint8_t)len;
    img[9] = (uint8_t)(len >> 8);
    img[10] = locked ? (uint8_t)~FLAG_LOCKED : 0xFF;
    img[11] = (uint8_t)unit;
    memcpy(img + CREDLINE_SLOT_HEADER, record, len);
    credline_put_le32(img + CREDLINE_SLOT_HEADER + len, credline_crc32(img, CREDLINE_SLOT_HEADER + len));
    memset(img + at, COMMIT_DONE, unit);
    rc = CREDLINE_ERR_IO;
    if (s->erase(s->context, addr) >= 0 && s->prog(s->context, addr, img, at) >= 0 &&
        s->prog(s->context, addr + at, img + at, unit) >= 0)
        rc = CREDLINE_OK;
    credline_secure_zero(img, at + unit);
    return rc == CREDLINE_OK ? credline_slot_load(h) : rc;
}

