/* credline_esp_nvs.c - reading the credential partition with ESP-IDF's NVS API (ESP-IDF
 * builds only; not compiled by this repository, which has no ESP-IDF toolchain). */
#include <string.h>

#include "credline_esp.h"
#include "nvs.h"
#include "nvs_flash.h"

static int get_string(nvs_handle_t handle, const char *key, char *buffer, size_t size) {
    size_t length = size;
    esp_err_t err = nvs_get_str(handle, key, buffer, &length);
    if (err == ESP_ERR_NVS_NOT_FOUND) return CREDLINE_ESP_ERR_NOT_PROVISIONED;
    return err == ESP_OK ? CREDLINE_ESP_OK : CREDLINE_ESP_ERR_CORRUPT;
}

int credline_esp_load(struct credline_esp *c, const char *partition) {
    char serial[CREDLINE_ESP_MAX_SERIAL + 1], password[CREDLINE_ESP_MAX_PASSWORD + 1];
    char key_id[CREDLINE_ESP_KEY_ID + 1], scheme[16];
    uint32_t generation = 0;
    nvs_handle_t handle;
    esp_err_t err;
    int rc;
    const char *name = partition != NULL ? partition : CREDLINE_ESP_PARTITION;

    credline_esp_clear(c);
    err = nvs_flash_init_partition(name);
    if (err != ESP_OK) return CREDLINE_ESP_ERR_IO;
    err = nvs_open_from_partition(name, CREDLINE_ESP_NAMESPACE, NVS_READONLY, &handle);
    if (err == ESP_ERR_NVS_NOT_FOUND) return CREDLINE_ESP_ERR_NOT_PROVISIONED;
    if (err != ESP_OK) return CREDLINE_ESP_ERR_IO;
    rc = get_string(handle, "serial", serial, sizeof serial);
    if (rc == CREDLINE_ESP_OK) rc = get_string(handle, "password", password, sizeof password);
    if (rc == CREDLINE_ESP_OK) rc = get_string(handle, "key_id", key_id, sizeof key_id);
    if (rc == CREDLINE_ESP_OK) rc = get_string(handle, "scheme", scheme, sizeof scheme);
    if (rc == CREDLINE_ESP_OK && nvs_get_u32(handle, "gen", &generation) != ESP_OK)
        rc = CREDLINE_ESP_ERR_CORRUPT;
    nvs_close(handle);
    if (rc == CREDLINE_ESP_OK)
        rc = credline_esp_set(c, serial, password, key_id, scheme, generation);
    memset(password, 0, sizeof password); /* the copy in *c is the one kept */
    return rc;
}
