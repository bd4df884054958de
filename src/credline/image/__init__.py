"""Per-device images written to flash by tools other than the hook: the ESP32 NVS partition
(:mod:`credline.image.nvs`), its place in the product's flash (:mod:`credline.image.layout`)
and the bulk writer (:mod:`credline.image.bulk`). Never opens a port or a registry itself."""
