/*
 * credline_esp.h - the run-time side of an ESP32 provisioned by credline's esp transport.
 *
 * The station (or `credline image esp`) writes an NVS partition, by default named "credline",
 * holding namespace "credline" with serial, password, key_id, scheme (strings) and gen (u32);
 * docs/esp.md gives the layout. At boot, credline_esp_load() reads it through ESP-IDF's NVS
 * API into a struct the caller owns; the application then asks the same questions as of the
 * UART hook (credline_hook.h): is the device provisioned, what is its password, does a typed
 * password match (in constant time).
 *
 * C99, no heap. Every function returns CREDLINE_ESP_OK (0), 1/0 for yes/no questions, a
 * length, or a negative enum credline_esp_error (the values of the UART hook's errors).
 */
#ifndef CREDLINE_ESP_H
#define CREDLINE_ESP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CREDLINE_ESP_PARTITION "credline"
#define CREDLINE_ESP_NAMESPACE "credline"
#define CREDLINE_ESP_SCHEME "credline-v1"
#define CREDLINE_ESP_MAX_SERIAL 64u
#define CREDLINE_ESP_MAX_PASSWORD 64u
#define CREDLINE_ESP_KEY_ID 16u /* hex characters */

enum credline_esp_error {
    CREDLINE_ESP_OK = 0,
    CREDLINE_ESP_ERR_IO = -1,               /* the partition could not be read */
    CREDLINE_ESP_ERR_CORRUPT = -2,          /* an entry is missing, too long or malformed */
    CREDLINE_ESP_ERR_NOT_PROVISIONED = -5,  /* no credential stored */
    CREDLINE_ESP_ERR_BUFFER = -6,           /* caller's buffer too small */
    CREDLINE_ESP_ERR_VERSION = -8,          /* a scheme this firmware does not know */
    CREDLINE_ESP_ERR_MISMATCH = -11         /* check_password: no match */
};

/* What the partition holds. Treat as private; zeroed by credline_esp_clear(). */
struct credline_esp {
    int provisioned;
    uint32_t generation;
    size_t password_len;
    char serial[CREDLINE_ESP_MAX_SERIAL + 1];
    char password[CREDLINE_ESP_MAX_PASSWORD + 1];
    char key_id[CREDLINE_ESP_KEY_ID + 1];
};

/*
 * Read the credential partition (ESP-IDF only: credline_esp_nvs.c). Needs the partition
 * named `partition` (NULL: "credline") in the partition table. A blank partition leaves
 * c->provisioned 0 and returns CREDLINE_ESP_ERR_NOT_PROVISIONED.
 */
int credline_esp_load(struct credline_esp *c, const char *partition);

/*
 * Fill *c from already-read values (what credline_esp_load does after reading NVS; also the
 * host tests' entry). Checks lengths and the scheme. Returns CREDLINE_ESP_OK or an error.
 */
int credline_esp_set(struct credline_esp *c, const char *serial, const char *password,
                     const char *key_id, const char *scheme, uint32_t generation);

/* 1 when a credential was loaded, else 0. */
int credline_esp_is_provisioned(const struct credline_esp *c);

/* Copy the password, NUL-terminated. Returns its length or a negative error. */
int credline_esp_get_password(const struct credline_esp *c, char *buffer, size_t size);

/* Copy the serial, NUL-terminated. Returns its length or a negative error. */
int credline_esp_get_serial(const struct credline_esp *c, char *buffer, size_t size);

/*
 * Check a typed password in constant time (independent of where or whether it differs).
 * Returns CREDLINE_ESP_OK on a match, CREDLINE_ESP_ERR_MISMATCH, or _NOT_PROVISIONED.
 */
int credline_esp_check_password(const struct credline_esp *c, const char *typed, size_t size);

/* Wipe the password from memory (through a volatile pointer, so it is not optimised out). */
void credline_esp_clear(struct credline_esp *c);

#ifdef __cplusplus
}
#endif

#endif /* CREDLINE_ESP_H */
