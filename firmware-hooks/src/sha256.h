/* Internal: SHA-256, HMAC-SHA256, PBKDF2 and constant-time helpers of the credline hook. */
#ifndef CREDLINE_SHA256_H
#define CREDLINE_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct sha256 {
    uint32_t h[8];
    uint64_t length;
    uint8_t buffer[64];
    size_t fill;
};

struct hmac_sha256 {
    struct sha256 inner;
    struct sha256 outer;
};

void credline_sha256_init(struct sha256 *s);
void credline_sha256_update(struct sha256 *s, const uint8_t *data, size_t size);
void credline_sha256_final(struct sha256 *s, uint8_t out[32]);
void credline_hmac_sha256_init(struct hmac_sha256 *m, const uint8_t *key, size_t key_size);
void credline_hmac_sha256_final(struct hmac_sha256 *m, uint8_t out[32]);
void credline_pbkdf2_sha256_32(const uint8_t *password, size_t password_size, const uint8_t *salt,
                      size_t salt_size, uint32_t iterations, uint8_t out[32]);
void credline_secure_zero(void *p, size_t size);
int credline_constant_time_equal(const uint8_t *a, const uint8_t *b, size_t size);

#endif
