/*
 * credline_hook.h - the device side of credline provisioning.
 *
 * Link this hook into product firmware. In provisioning mode it receives a credential record
 * over UART (framed, CRC-checked), stores it power-fail-safely in two flash sectors (A/B), proves
 * what it stored without echoing it (VERIFY), and refuses further writes once LOCKed. At run
 * time the application asks for the password or checks a typed one in constant time.
 *
 * Portable C99. No malloc, no globals: all state lives in a struct credline_hook the caller
 * owns. Storage is reached only through the callbacks in struct credline_storage, in the manner
 * of littlefs's struct lfs_config, so a RAM buffer, a file or real flash all fit.
 *
 * Every function returns CREDLINE_OK (0) or a negative enum credline_error. The wire protocol
 * is specified to the byte in docs/protocol.md.
 */
#ifndef CREDLINE_HOOK_H
#define CREDLINE_HOOK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CREDLINE_PROTOCOL_VERSION 1u
#define CREDLINE_HOOK_VERSION_MAJOR 1u
#define CREDLINE_HOOK_VERSION_MINOR 1u  /* 1.1: a bad SLIP escape is answered as CRC */
#define CREDLINE_MAX_FRAME 512u     /* largest decoded frame, header and CRC included */
#define CREDLINE_MAX_RECORD 256u    /* largest credential record */
#define CREDLINE_MAX_SERIAL 64u
#define CREDLINE_MAX_PASSWORD 64u
#define CREDLINE_MAX_HWID 32u
#define CREDLINE_SLOT_HEADER 16u    /* bytes before the record in a flash slot */

/* Errors: negative, stable, and sent on the wire as their absolute value. */
enum credline_error {
    CREDLINE_OK = 0,
    CREDLINE_ERR_IO = -1,             /* a storage callback failed */
    CREDLINE_ERR_CORRUPT = -2,        /* no valid record (CRC or marker wrong) */
    CREDLINE_ERR_TOO_BIG = -3,        /* frame or record larger than the limits above */
    CREDLINE_ERR_LOCKED = -4,         /* device is locked: PUT refused */
    CREDLINE_ERR_NOT_PROVISIONED = -5,/* no record stored yet */
    CREDLINE_ERR_BUFFER = -6,         /* caller's buffer too small */
    CREDLINE_ERR_INVALID = -7,        /* malformed record or command body */
    CREDLINE_ERR_VERSION = -8,        /* unsupported protocol or record version */
    CREDLINE_ERR_CRC = -9,            /* frame damaged on the line: CRC mismatch or bad SLIP
                                         escape; the station resends the frame */
    CREDLINE_ERR_UNKNOWN = -10,       /* unknown command */
    CREDLINE_ERR_MISMATCH = -11       /* check_password: the password does not match */
};

/* Device states reported by HELLO. */
enum credline_state {
    CREDLINE_STATE_EMPTY = 0,
    CREDLINE_STATE_PROVISIONED = 1,
    CREDLINE_STATE_LOCKED = 2
};

/*
 * Storage callbacks. Addresses are absolute. Flash semantics are assumed: erase sets a whole
 * sector to 0xFF; prog may only clear bits (write over erased bytes). Each returns 0 on success
 * or a negative value on failure (reported as CREDLINE_ERR_IO).
 */
struct credline_storage {
    void *context;  /* passed back to every callback */
    int (*read)(void *context, uint32_t addr, void *buffer, uint32_t size);
    int (*prog)(void *context, uint32_t addr, const void *buffer, uint32_t size);
    int (*erase)(void *context, uint32_t addr);   /* erase the sector starting at addr */
    uint32_t sector_size;   /* >= CREDLINE_SLOT_HEADER + CREDLINE_MAX_RECORD + 4 */
    uint32_t slot_a;        /* start address of sector A */
    uint32_t slot_b;        /* start address of sector B (a different sector) */
};

/* Called by the hook with bytes to transmit on the UART (a whole encoded frame at a time). */
typedef void (*credline_send_fn)(void *context, const uint8_t *data, size_t size);

/* The hook's whole state. Treat the fields as private; size is fixed at compile time. */
struct credline_hook {
    const struct credline_storage *storage;
    credline_send_fn send;
    void *send_context;
    char hwid[CREDLINE_MAX_HWID + 1];
    uint8_t rx[CREDLINE_MAX_FRAME];
    size_t rx_len;
    int rx_escape;
    int rx_overflow;
    int rx_damaged;         /* a bad SLIP escape was seen in the frame being received */
    uint8_t work[CREDLINE_MAX_FRAME];
    uint8_t tx[2 * CREDLINE_MAX_FRAME + 2];
    uint8_t record[CREDLINE_MAX_RECORD];
    uint32_t record_len;
    uint32_t record_seq;
    int record_slot;        /* 0 = A, 1 = B, -1 = none */
    int locked;
};

/*
 * Initialise a hook: reads both slots and keeps the newest valid record in memory.
 * storage and send must outlive the hook; hwid (may be NULL) is copied, truncated to
 * CREDLINE_MAX_HWID. Returns CREDLINE_OK, or CREDLINE_ERR_IO / CREDLINE_ERR_INVALID.
 * An absent or torn record is not an error: the device is simply not provisioned.
 */
int credline_hook_init(struct credline_hook *hook, const struct credline_storage *storage,
                       credline_send_fn send, void *send_context, const char *hwid);

/*
 * Feed bytes received on the UART. Complete frames are handled at once and replies go out
 * through the send callback before this returns. Never blocks; any byte sequence is safe.
 * A frame damaged on the line (bad CRC, or a byte after 0xDB other than 0xDC/0xDD) is answered
 * with CREDLINE_ERR_CRC, so the station resends it; a frame over CREDLINE_MAX_FRAME with
 * CREDLINE_ERR_TOO_BIG. Either only when its version, seq and cmd bytes arrived before the
 * fault; otherwise, and for frames under 7 bytes, nothing is sent.
 */
void credline_hook_feed(struct credline_hook *hook, const uint8_t *data, size_t size);

/* 1 when a valid record is stored, else 0. */
int credline_is_provisioned(const struct credline_hook *hook);

/* 1 when the device is locked (write-once), else 0. */
int credline_is_locked(const struct credline_hook *hook);

/*
 * Copy the stored password, NUL-terminated, into buffer. Returns its length, or
 * CREDLINE_ERR_NOT_PROVISIONED, CREDLINE_ERR_BUFFER (size too small), or CREDLINE_ERR_INVALID
 * when the record holds only a verifier (use credline_check_password).
 */
int credline_get_password(const struct credline_hook *hook, char *buffer, size_t size);

/*
 * Check a typed password in constant time (independent of where it differs). With a verifier
 * record, runs PBKDF2-HMAC-SHA256 with the stored salt and iterations. Returns CREDLINE_OK on a
 * match, CREDLINE_ERR_MISMATCH, or CREDLINE_ERR_NOT_PROVISIONED.
 */
int credline_check_password(const struct credline_hook *hook, const char *typed, size_t size);

/* Copy the stored serial, NUL-terminated. Returns its length or a negative error. */
int credline_get_serial(const struct credline_hook *hook, char *buffer, size_t size);

/* Copy the 8-byte key id of the master key that derived the password. */
int credline_get_key_id(const struct credline_hook *hook, uint8_t key_id[8]);

/* Generation of the derivation (0 unless a collision forced re-derivation). */
int credline_get_generation(const struct credline_hook *hook, uint32_t *generation);

/* Decode a record (as sent in PUT) without storing it; for tests and fuzzing. */
int credline_record_check(const uint8_t *record, size_t size);

/* CRC-32 (IEEE 802.3, reflected, init and final XOR 0xFFFFFFFF), as used by frames and slots. */
uint32_t credline_crc32(const uint8_t *data, size_t size);

/* HMAC-SHA256 of data under key, into out[32]. */
void credline_hmac_sha256(const uint8_t *key, size_t key_size, const uint8_t *data,
                          size_t size, uint8_t out[32]);

#ifdef __cplusplus
}
#endif

#endif /* CREDLINE_HOOK_H */
