/* Stub of FreeRTOS's task.h for the example's syntax check (see README.md). */
#ifndef STUB_FREERTOS_TASK_H
#define STUB_FREERTOS_TASK_H
#include "freertos/FreeRTOS.h"
void vTaskDelete(TaskHandle_t task);
#endif
