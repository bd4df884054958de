/*
 * credline_hook.h - the device side of credline provisioning. This header is the manual.
 *
 * Link this hook into product firmware. In provisioning mode it receives a credential record
 * over UART (framed, CRC-checked), stores it power-fail-safely in two flash sectors (A/B), proves
 * what it stored without echoing it (VERIFY), and refuses further writes once LOCKed. At run
 * time the application asks for the password or checks a typed one in constant time.
 *
 * Portable C99. No malloc, no globals, no libc beyond memcpy, memset and memcmp (and strlen in
 * HELLO). All state lives in a struct credline_hook the caller owns. Every exported symbol is
 * prefixed credline_ (`make -C firmware-hooks check` fails on any other global). Storage is
 * reached only through the callbacks in struct credline_storage, in the manner of littlefs's
 * struct lfs_config, so a RAM buffer, a file or real flash all fit.
 *
 * Functions return CREDLINE_OK (0) or a negative enum credline_error unless said otherwise.
 * The wire protocol is specified to the byte in docs/protocol.md; the slot layout below and in
 * docs/firmware-guide.md, with test vectors in tests/vectors/slots.txt.
 *
 * Flash access: only credline_hook_init (reads) and credline_hook_feed (reads; a PUT or LOCK
 * frame erases one sector and programs it) touch storage. feed therefore blocks for as long as
 * your erase and prog callbacks take. Nothing else reads or writes flash.
 *
 * Stack (Cortex-M3, -Os, -fstack-usage): credline_hook_feed needs about 1 KiB at most (VERIFY:
 * frame handler 360 + HMAC 240 + SHA-256 352 bytes; PUT/LOCK under 0.9 KiB);
 * credline_check_password with a verifier record about 1.25 KiB (PBKDF2). Allow 1.5 KiB.
 * The other calls need under 100 bytes. `make -C firmware-hooks cross` measures each core.
 *
 * ---- Slot layout (new writes: magic "CLS2"; U = storage->prog_size) -------------------------
 *
 * Every word of U bytes is programmed at most once per erase. A slot is: a 16-byte header, the
 * record, its CRC, 0xFF padding to a multiple of U (one prog call), then one commit word of U
 * bytes, all 0x00, programmed last in a call of its own. A power cut anywhere before the last
 * commit byte leaves a slot whose commit word is not all 0x00: it reads as absent.
 *
 *   offset        size  field
 *   0             4     magic "CLS2" (43 4C 53 32)
 *   4             4     seq, u32 little-endian (the higher valid seq of A and B is current)
 *   8             2     record length n, u16 little-endian (1..256)
 *   10            1     flags, active-low: bit 0 clear = LOCKED (0xFE locked, 0xFF not)
 *   11            1     U, the program unit the slot was written with (1,2,4,8,16,32)
 *   12            4     FF FF FF FF (reserved, erased)
 *   16            n     the record (as in PUT)
 *   16+n          4     CRC-32 (below), little-endian, over bytes 0 .. 16+n-1
 *   20+n          p     0xFF padding, p = (U - (20+n) % U) % U
 *   C = 20+n+p    U     commit word: U bytes 00; slot size C+U (CREDLINE_SLOT_SIZE)
 *
 *   Unit 1, n = 40:  0 magic | 4 seq | 8 len | 10 flags | 11 01 | 12 FF*4 | 16 record |
 *                    56 CRC | 60 commit 00                               (61 bytes)
 *   Unit 8, n = 40:  words 0-1 header | words 2-6 record | word 7 CRC + FF*4 (bytes 56-63) |
 *                    word 8 (bytes 64-71) commit 00*8                    (72 bytes)
 *
 * The reader uses the U stored in the header (CRC-protected), so a slot written with any unit
 * reads on a device configured with any other.
 *
 * Legacy slots (magic "CLR1", written by hook 1.0/1.1 with byte programming) are still read,
 * so devices in the field keep their credential; they are never written any more:
 *   0 magic "CLR1" | 4 seq u32le | 8 n u16le | 10 flags | 11-14 FF | 15 commit 00 |
 *   16 record | 16+n CRC-32 LE over bytes 0..14 then the record.
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
#define CREDLINE_HOOK_VERSION_MINOR 2u  /* 1.1: a bad SLIP escape is answered as CRC;
                                           1.2: program unit (CLS2 slots), record v2 */
#define CREDLINE_MAX_FRAME 512u     /* largest decoded frame, header and CRC included */
#define CREDLINE_MAX_RECORD 256u    /* largest credential record */
#define CREDLINE_MAX_SERIAL 64u
#define CREDLINE_MAX_PASSWORD 64u
#define CREDLINE_MAX_HWID 32u
#define CREDLINE_SLOT_HEADER 16u    /* bytes before the record in a flash slot */
#define CREDLINE_MAX_PROG_SIZE 32u  /* largest program unit */
/* Bytes a slot takes for a record of len bytes written with program unit unit (1, 2, 4, 8, 16
 * or 32): header, record, CRC and padding rounded up to the unit, plus the commit word. A
 * constant expression, so a sector size can be checked at compile time; slot sectors need
 * CREDLINE_SLOT_SIZE(CREDLINE_MAX_RECORD, prog_size) bytes (277 for unit 1, 320 for 32). */
#define CREDLINE_SLOT_SIZE(len, unit) \
    ((((uint32_t)CREDLINE_SLOT_HEADER + (len) + 4u + (unit) - 1u) & ~((uint32_t)(unit) - 1u)) + (unit))

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
    CREDLINE_ERR_MISMATCH = -11,      /* check_password: the password does not match */
    CREDLINE_ERR_WIPED = -12          /* credline_wipe cleared the record from RAM */
};

/* Device states reported by HELLO. */
enum credline_state {
    CREDLINE_STATE_EMPTY = 0,
    CREDLINE_STATE_PROVISIONED = 1,
    CREDLINE_STATE_LOCKED = 2
};

/*
 * Storage callbacks. Addresses are absolute. NOR flash semantics are assumed: erase sets a whole
 * sector to 0xFF; prog may only clear bits, and is called at most once per prog_size-byte word
 * between two erases, with addr and size multiples of prog_size (a call may span many words).
 * Each returns 0 on success or a negative value on failure (reported as CREDLINE_ERR_IO).
 *
 * Forward compatibility: zero-initialise the struct (`= {0}` or designated initialisers) and
 * set what you use. A field added in a later version means "as before" when 0: prog_size 0 is
 * taken as 1. New fields are only ever added at the end.
 */
struct credline_storage {
    void *context;  /* passed back to every callback */
    int (*read)(void *context, uint32_t addr, void *buffer, uint32_t size);
    int (*prog)(void *context, uint32_t addr, const void *buffer, uint32_t size);
    int (*erase)(void *context, uint32_t addr);   /* erase the sector starting at addr */
    uint32_t sector_size;   /* >= CREDLINE_SLOT_SIZE(CREDLINE_MAX_RECORD, prog_size) */
    uint32_t slot_a;        /* start address of sector A (a multiple of prog_size) */
    uint32_t slot_b;        /* start address of sector B (a different sector) */
    uint32_t prog_size;     /* program unit in bytes: 1, 2, 4, 8, 16 or 32 (0 means 1).
                               E.g. STM32F1: 2; STM32L4/G0/G4: 8; STM32H7: 32 */
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
    int wiped;              /* credline_wipe cleared record[] */
};

/*
 * Initialise a hook: reads both slots (never writes) and keeps the newest valid record in
 * memory. storage and send must outlive the hook; hwid (may be NULL) is copied, truncated to
 * CREDLINE_MAX_HWID. An absent or torn record is not an error: the device is simply not
 * provisioned. Returns CREDLINE_OK; CREDLINE_ERR_INVALID when hook, storage, send or a storage
 * callback is NULL, prog_size is not 0/1/2/4/8/16/32, a slot address is not a multiple of it,
 * slot_a == slot_b, or sector_size < CREDLINE_SLOT_SIZE(CREDLINE_MAX_RECORD, prog_size);
 * CREDLINE_ERR_IO when a read callback fails.
 */
int credline_hook_init(struct credline_hook *hook, const struct credline_storage *storage,
                       credline_send_fn send, void *send_context, const char *hwid);

/*
 * Feed bytes received on the UART. Complete frames are handled at once and replies go out
 * through the send callback before this returns; any byte sequence is safe. A PUT or LOCK
 * frame erases one sector and programs one slot, so feed blocks while your erase and prog
 * callbacks run (VERIFY reads the slot back). Errors go to the station, not to the caller.
 * A frame damaged on the line (bad CRC, or a byte after 0xDB other than 0xDC/0xDD) is answered
 * with CREDLINE_ERR_CRC, so the station resends it; a frame over CREDLINE_MAX_FRAME with
 * CREDLINE_ERR_TOO_BIG. Either only when its version, seq and cmd bytes arrived before the
 * fault; otherwise, and for frames under 7 bytes, nothing is sent.
 */
void credline_hook_feed(struct credline_hook *hook, const uint8_t *data, size_t size);

/* 1 when a valid record is stored in flash (even after credline_wipe), else 0. */
int credline_is_provisioned(const struct credline_hook *hook);

/* 1 when the device is locked (write-once), else 0. */
int credline_is_locked(const struct credline_hook *hook);

/*
 * Copy the stored password, NUL-terminated, into buffer. Returns its length (1..64), or
 * CREDLINE_ERR_NOT_PROVISIONED, CREDLINE_ERR_WIPED, CREDLINE_ERR_BUFFER (size too small), or
 * CREDLINE_ERR_INVALID when the record holds only a verifier (use credline_check_password).
 */
int credline_get_password(const struct credline_hook *hook, char *buffer, size_t size);

/*
 * Check a typed password (typed[0..size), no NUL needed) in constant time: the time depends on
 * size only, never on the stored password or where the two differ. The record says which
 * reading rules apply: with Crockford rules (records of version 2 for the default Crockford
 * base32 alphabet) hyphens and spaces are ignored, case is ignored, O reads as 0, I and L as 1,
 * so "862e-h6dx-n95k" matches 862EH6DXN95K; otherwise (version 1 records, other alphabets) the
 * bytes must match exactly. With a verifier record the typed text, read by those rules, goes
 * through PBKDF2-HMAC-SHA256 with the stored salt and iterations (that many HMACs: slow).
 * Returns CREDLINE_OK on a match, CREDLINE_ERR_MISMATCH, CREDLINE_ERR_NOT_PROVISIONED,
 * CREDLINE_ERR_WIPED, or CREDLINE_ERR_INVALID / CREDLINE_ERR_CRC / CREDLINE_ERR_VERSION when
 * the record in RAM does not decode (only if the hook's memory was overwritten).
 */
int credline_check_password(const struct credline_hook *hook, const char *typed, size_t size);

/* Copy the stored serial, NUL-terminated. Returns its length (1..64), or
 * CREDLINE_ERR_NOT_PROVISIONED, CREDLINE_ERR_WIPED or CREDLINE_ERR_BUFFER. */
int credline_get_serial(const struct credline_hook *hook, char *buffer, size_t size);

/* Copy the 8-byte key id of the master key that derived the password. Returns CREDLINE_OK,
 * CREDLINE_ERR_NOT_PROVISIONED or CREDLINE_ERR_WIPED (key_id untouched on error). */
int credline_get_key_id(const struct credline_hook *hook, uint8_t key_id[8]);

/* Generation of the derivation (0 unless a collision forced re-derivation). Returns
 * CREDLINE_OK, CREDLINE_ERR_NOT_PROVISIONED or CREDLINE_ERR_WIPED (*generation untouched). */
int credline_get_generation(const struct credline_hook *hook, uint32_t *generation);

/*
 * Clear the record, and every buffer that held it, from the hook's RAM (through a volatile
 * path) when the application no longer needs it. Flash is untouched: is_provisioned and
 * is_locked still answer, VERIFY and LOCK still work (they read flash), HELLO reports the
 * state without a serial, and the getters return CREDLINE_ERR_WIPED until
 * credline_hook_init reloads the record.
 */
void credline_wipe(struct credline_hook *hook);

/*
 * Decode a record (as sent in PUT) without storing it; for tests and fuzzing. Returns
 * CREDLINE_OK; CREDLINE_ERR_CRC (the record's own CRC is wrong); CREDLINE_ERR_VERSION (a
 * version other than 1 or 2); CREDLINE_ERR_INVALID (any length, kind, reading rule or
 * iteration count out of range: size 20..256, serial 1..64, password 1..64, iterations
 * 1..200,000).
 */
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
