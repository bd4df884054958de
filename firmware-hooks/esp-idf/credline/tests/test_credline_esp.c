/* Host tests of the component's portable part (the ESP-IDF reader is not built here). */
#include <stdio.h>
#include <string.h>

#include "credline_esp.h"

static int failures;
#define CHECK(cond) do { if (!(cond)) { printf("FAIL %s:%d %s\n", __FILE__, __LINE__, #cond); \
                                        failures++; } } while (0)

int main(void) {
    struct credline_esp c;
    char buffer[80];
    const char *pw = "7K2Q9XW4MMP3";

    credline_esp_clear(&c);
    CHECK(credline_esp_is_provisioned(&c) == 0);
    CHECK(credline_esp_check_password(&c, pw, 12) == CREDLINE_ESP_ERR_NOT_PROVISIONED);
    CHECK(credline_esp_get_password(&c, buffer, sizeof buffer) ==
          CREDLINE_ESP_ERR_NOT_PROVISIONED);

    CHECK(credline_esp_set(&c, "SN1", pw, "a1b2c3d4e5f60718", "credline-v2", 0) ==
          CREDLINE_ESP_ERR_VERSION);
    CHECK(credline_esp_is_provisioned(&c) == 0);
    CHECK(credline_esp_set(&c, "", pw, "a1b2c3d4e5f60718", "credline-v1", 0) ==
          CREDLINE_ESP_ERR_CORRUPT);

    CHECK(credline_esp_set(&c, "SN1", pw, "a1b2c3d4e5f60718", "credline-v1", 7) ==
          CREDLINE_ESP_OK);
    CHECK(credline_esp_is_provisioned(&c) == 1);
    CHECK(credline_esp_get_password(&c, buffer, sizeof buffer) == 12);
    CHECK(strcmp(buffer, pw) == 0);
    CHECK(credline_esp_get_password(&c, buffer, 12) == CREDLINE_ESP_ERR_BUFFER);
    CHECK(credline_esp_get_serial(&c, buffer, sizeof buffer) == 3);
    CHECK(credline_esp_check_password(&c, pw, 12) == CREDLINE_ESP_OK);
    CHECK(credline_esp_check_password(&c, "7K2Q9XW4MMP4", 12) == CREDLINE_ESP_ERR_MISMATCH);
    CHECK(credline_esp_check_password(&c, "7K2Q9XW4MMP", 11) == CREDLINE_ESP_ERR_MISMATCH);
    CHECK(credline_esp_check_password(&c, "7K2Q9XW4MMP3X", 13) == CREDLINE_ESP_ERR_MISMATCH);
    credline_esp_clear(&c);
    CHECK(credline_esp_is_provisioned(&c) == 0);
    CHECK(c.password[0] == 0);
    if (failures == 0) printf("credline_esp: all tests passed\n");
    return failures == 0 ? 0 : 1;
}
