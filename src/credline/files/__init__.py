"""Files credline reads and writes: profiles, serial lists, and outputs written whole or
not at all."""
