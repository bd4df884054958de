/* Stub of FreeRTOS.h (as ESP-IDF ships it) for the example's syntax check (see README.md). */
#ifndef STUB_FREERTOS_H
#define STUB_FREERTOS_H
#include <stdint.h>
typedef uint32_t TickType_t;
typedef void *QueueHandle_t;
typedef void *TaskHandle_t;
#define portTICK_PERIOD_MS ((TickType_t)10)
#define pdMS_TO_TICKS(ms) ((TickType_t)(ms) / portTICK_PERIOD_MS)
#endif
