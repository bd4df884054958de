"""Offline batch derivation: a serial list in, a password CSV out (not QA: see credline.qa)."""
