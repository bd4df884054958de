/* Internal to the hook (not for products): the record and slot code shared by credline_slot.c
 * and credline_hook.c. Every global here carries the credline_ prefix. */
#ifndef CREDLINE_HOOK_INTERNAL_H
#define CREDLINE_HOOK_INTERNAL_H

#include "credline_hook.h"

#define RECORD_V1 1u           /* no reading rules: the password is compared exactly */
#define RECORD_V2 2u           /* a reading-rules byte follows the kind */
#define READING_EXACT 0u
#define READING_CROCKFORD 1u
#define KIND_PLAINTEXT 0u
#define KIND_VERIFIER 1u
#define SALT_SIZE 16u
#define FLAG_LOCKED 0x01u
#define COMMIT_DONE 0x00u

struct credline_record_view {
    const uint8_t *serial; size_t serial_len;
    const uint8_t *key_id;
    uint32_t generation;
    unsigned kind;
    unsigned reading;
    const uint8_t *password; size_t password_len;
    uint32_t iterations;
    const uint8_t *salt;
    const uint8_t *hash;
};

uint32_t credline_crc_update(uint32_t crc, const uint8_t *data, size_t size);
void credline_put_le32(uint8_t *p, uint32_t v);
uint32_t credline_get_le32(const uint8_t *p);
/* 1, 2, 4, 8, 16 or 32: a power of two up to CREDLINE_MAX_PROG_SIZE. */
static inline int credline_unit_ok(uint32_t u) {
    return u && u <= CREDLINE_MAX_PROG_SIZE && !(u & (u - 1));
}
/* The program unit: prog_size, with 0 (a zero-initialised struct from hook 1.1) as 1. */
static inline uint32_t credline_unit_of(const struct credline_storage *s) {
    return s->prog_size ? s->prog_size : 1;
}
int credline_record_parse(const uint8_t *r, size_t size, struct credline_record_view *v);
/* Read slot 0 (A) or 1 (B) of either layout into record; CREDLINE_ERR_CORRUPT when absent. */
int credline_slot_read(struct credline_hook *h, int slot, uint8_t *record, uint32_t *len,
                       uint32_t *seq, int *locked);
/* Load the newest valid record into h (resets the wiped state). */
int credline_slot_load(struct credline_hook *h);
/* Write a record to the other slot (CLS2, each word once, commit last), then reload. */
int credline_slot_store(struct credline_hook *h, const uint8_t *record, uint32_t len, int locked);

#endif
