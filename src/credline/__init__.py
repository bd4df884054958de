"""credline: unique per-device passwords for factory lines, and the proof.

The pure core: :mod:`credline.ids`, :mod:`credline.kbkdf`, :mod:`credline.derive`,
:mod:`credline.encoding`, :mod:`credline.policy`, :mod:`credline.secret`. Adapters around it
touch keys, files, ports and databases; :mod:`credline.cli` is the thin face.
"""

__version__ = "0.1.0"
