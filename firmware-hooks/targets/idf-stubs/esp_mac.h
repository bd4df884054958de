/* Stub of ESP-IDF's esp_mac.h for the example's syntax check (see README.md). */
#ifndef STUB_ESP_MAC_H
#define STUB_ESP_MAC_H
#include <stdint.h>
#include "esp_err.h"
esp_err_t esp_efuse_mac_get_default(uint8_t *mac);
#endif
