"""Adapters that move credentials onto devices (serial hook; later ESP and Intel HEX)."""
