/* Stub of ESP-IDF's esp_log.h for the example's syntax check (see README.md). */
#ifndef STUB_ESP_LOG_H
#define STUB_ESP_LOG_H
#include <stdio.h>
#define ESP_LOGE(tag, ...) ((void)(tag), (void)printf(__VA_ARGS__))
#define ESP_LOGI(tag, ...) ((void)(tag), (void)printf(__VA_ARGS__))
#endif
