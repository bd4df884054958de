/* ESP-IDF integration example: the credline hook on UART0 with its two slots in a data
 * partition named "credline" (two 4 KiB sectors). Add to partitions.csv:
 *     credline, data, 0x40, , 0x2000,
 * and build the hook's sources as a component (see CMakeLists.txt beside this file). */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "credline_hook.h"
#include "driver/uart.h"
#include "esp_log.h"
#include "esp_mac.h"
#include "esp_partition.h"
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"

#define PROV_UART UART_NUM_0
static const char *TAG = "credline";
static const esp_partition_t *partition;

static int flash_read(void *ctx, uint32_t addr, void *buf, uint32_t size) {
    (void)ctx;
    return esp_partition_read(partition, addr, buf, size) == ESP_OK ? 0 : -1;
}

static int flash_prog(void *ctx, uint32_t addr, const void *buf, uint32_t size) {
    (void)ctx;
    return esp_partition_write(partition, addr, buf, size) == ESP_OK ? 0 : -1;
}

static int flash_erase(void *ctx, uint32_t addr) {
    (void)ctx;
    return esp_partition_erase_range(partition, addr, partition->erase_size) == ESP_OK ? 0 : -1;
}

static void uart_send(void *ctx, const uint8_t *data, size_t size) {
    (void)ctx;
    uart_write_bytes(PROV_UART, (const char *)data, size);
}

static struct credline_storage storage;
static struct credline_hook hook;

/* Start as a task at boot when in provisioning mode (a strap pin, or no record yet). It serves
 * the UART until the next reset, also after LOCK: a locked device still answers HELLO, so a
 * second station run is told "already locked" instead of "no answer". PUT stays refused. */
void credline_provisioning_task(void *arg) {
    uint8_t buf[128];
    char hwid[13];
    uint8_t mac[6];
    (void)arg;
    partition = esp_partition_find_first(ESP_PARTITION_TYPE_DATA, 0x40, "credline");
    if (!partition) { ESP_LOGE(TAG, "no credline partition"); vTaskDelete(NULL); }
    storage.context = NULL;
    storage.read = flash_read;
    storage.prog = flash_prog;
    storage.erase = flash_erase;
    storage.sector_size = partition->erase_size;
    storage.slot_a = 0;
    storage.slot_b = partition->erase_size;
    esp_efuse_mac_get_default(mac);
    snprintf(hwid, sizeof hwid, "%02X%02X%02X%02X%02X%02X", mac[0], mac[1], mac[2], mac[3],
             mac[4], mac[5]);
    uart_driver_install(PROV_UART, 1024, 1024, 0, NULL, 0);
    if (credline_hook_init(&hook, &storage, uart_send, NULL, hwid) != CREDLINE_OK) {
        ESP_LOGE(TAG, "credline storage unreadable");
        vTaskDelete(NULL);
    }
    for (;;) {   /* the application reads credline_is_locked(&hook) to know it is done */
        int n = uart_read_bytes(PROV_UART, buf, (uint32_t)sizeof buf, pdMS_TO_TICKS(100));
        if (n > 0) credline_hook_feed(&hook, buf, (size_t)n);
    }
}

/* The application's login check: constant time, never logs the password. */
bool app_check_login(const char *typed) {
    return credline_check_password(&hook, typed, strlen(typed)) == CREDLINE_OK;
}
