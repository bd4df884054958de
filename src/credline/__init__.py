"""credline: unique per-device passwords for factory lines, and the proof.

The tree is the architecture:

- :mod:`credline.core`: pure (ids, derivation, encoding, policy, profile schema, lifecycle,
  record, framing, protocol, device types); no port, disk, clock or adapter;
- adapters, each named for what it adapts: :mod:`credline.keystore`,
  :mod:`credline.transport`, :mod:`credline.registry`, :mod:`credline.provenance`,
  :mod:`credline.labels`, :mod:`credline.files`, :mod:`credline.bulk`;
- :mod:`credline.station`: the one orchestrator (runner, queue, ledger, assembly, identity,
  events, screen); :mod:`credline.qa`: batch checks; :mod:`credline.cli`: the thin face, the
  only place that prints.
"""

__version__ = "0.1.0"
