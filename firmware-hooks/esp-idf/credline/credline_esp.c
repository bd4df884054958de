/* credline_esp.c - the portable part of the ESP component: no ESP-IDF call, built and
 * tested on the host (make -C firmware-hooks esp-component). */
#include "credline_esp.h"

#include <string.h>

static void wipe(void *p, size_t n) {
    volatile unsigned char *v = (volatile unsigned char *)p;
    while (n--) *v++ = 0;
}

static int copy_checked(char *dst, size_t cap, const char *src) {
    size_t n = strlen(src);
    if (n == 0 || n > cap) return CREDLINE_ESP_ERR_CORRUPT;
    memcpy(dst, src, n + 1);
    return (int)n;
}

int credline_esp_set(struct credline_esp *c, const char *serial, const char *password,
                     const char *key_id, const char *scheme, uint32_t generation) {
    int n;
    credline_esp_clear(c);
    if (strcmp(scheme, CREDLINE_ESP_SCHEME) != 0) return CREDLINE_ESP_ERR_VERSION;
    if (copy_checked(c->serial, CREDLINE_ESP_MAX_SERIAL, serial) < 0 ||
        copy_checked(c->key_id, CREDLINE_ESP_KEY_ID, key_id) < 0) {
        credline_esp_clear(c);
        return CREDLINE_ESP_ERR_CORRUPT;
    }
    n = copy_checked(c->password, CREDLINE_ESP_MAX_PASSWORD, password);
    if (n < 0) {
        credline_esp_clear(c);
        return CREDLINE_ESP_ERR_CORRUPT;
    }
    c->password_len = (size_t)n;
    c->generation = generation;
    c->provisioned = 1;
    return CREDLINE_ESP_OK;
}

int credline_esp_is_provisioned(const struct credline_esp *c) {
    return c->provisioned ? 1 : 0;
}

static int copy_out(const struct credline_esp *c, const char *what, char *buffer,
                    size_t size) {
    size_t n;
    if (!c->provisioned) return CREDLINE_ESP_ERR_NOT_PROVISIONED;
    n = strlen(what);
    if (size < n + 1) return CREDLINE_ESP_ERR_BUFFER;
    memcpy(buffer, what, n + 1);
    return (int)n;
}

int credline_esp_get_password(const struct credline_esp *c, char *buffer, size_t size) {
    return copy_out(c, c->password, buffer, size);
}

int credline_esp_get_serial(const struct credline_esp *c, char *buffer, size_t size) {
    return copy_out(c, c->serial, buffer, size);
}

int credline_esp_check_password(const struct credline_esp *c, const char *typed, size_t size) {
    unsigned char a[CREDLINE_ESP_MAX_PASSWORD], b[CREDLINE_ESP_MAX_PASSWORD];
    unsigned diff = 0;
    size_t i;
    if (!c->provisioned) return CREDLINE_ESP_ERR_NOT_PROVISIONED;
    /* Fixed-size buffers: the time depends on neither where nor whether they differ. */
    memset(a, 0, sizeof a);
    memset(b, 0, sizeof b);
    memcpy(a, c->password, c->password_len);
    memcpy(b, typed, size < sizeof b ? size : sizeof b);
    for (i = 0; i < sizeof a; i++) diff |= (unsigned)(a[i] ^ b[i]);
    diff |= (unsigned)(size != c->password_len);
    wipe(a, sizeof a);
    wipe(b, sizeof b);
    return diff == 0 ? CREDLINE_ESP_OK : CREDLINE_ESP_ERR_MISMATCH;
}

void credline_esp_clear(struct credline_esp *c) {
    wipe(c, sizeof *c);
}
