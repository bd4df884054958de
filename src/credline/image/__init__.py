"""Per-device flash images for lines that program with tools other than the hook's UART: the
ESP32 NVS partition (:mod:`credline.image.nvs`), its place in the product's flash
(:mod:`credline.image.layout`) and the bulk writer (:mod:`credline.image.bulk`); and Intel HEX
files for gang programmers (:mod:`credline.image.hex`). Never opens a port or a registry
itself."""
