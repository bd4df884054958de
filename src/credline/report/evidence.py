"""The evidence pack of one batch for an assessor, and its check.

A pack is a folder: the statement (PDF and Markdown), the batch report (HTML and PDF), the
``batch check`` verdict as JSON, the provenance checkpoint entry (signed by its station)
and every station's public key, the EN 303 645 conformance rows and the TS 103 701 IXIT
1-AuthMech text, and a ``MANIFEST`` of each file's SHA-256, signed (Ed25519) by a station
key, in ``MANIFEST.sig``. :func:`verify_pack` fails on any change to any file, a missing
file or an extra one, and on a checkpoint whose own signature is not its station's.

The pack is built whole in memory and appears as a folder at once (renamed into place), so
an error, such as a missing statement item, leaves nothing behind.
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from credline.core.errors import BadInput, CheckFailed, os_failure
from credline.provenance import canonical, public_bytes

MAGIC = "credline evidence pack v1"
MANIFEST = "MANIFEST"
SIGNATURE = "MANIFEST.sig"


def manifest_text(files: Mapping[str, bytes], signer: str, public_key: bytes,
                  batch_id: str) -> str:
    lines = [MAGIC, f"batch {batch_id}", f"signer {signer} ed25519 {public_key.hex()}"]
    lines += [f"{hashlib.sha256(data).hexdigest()}  {name}" for name, data in
              sorted(files.items())]
    return "\n".join(lines) + "\n"


def checkpoint_file(entry: dict[str, object]) -> bytes:
    """The checkpoint entry as its log holds it (canonical JSON, signature included)."""
    return canonical(entry) + b"\n"


def write_pack(out: Path, files: Mapping[str, bytes], signer: str, key: Ed25519PrivateKey,
               batch_id: str) -> None:
    """Write ``files`` and the signed manifest as the new folder ``out``."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BadInput(f"--out {out}: exists and is not an empty folder; give a new folder")
    manifest = manifest_text(files, signer, public_bytes(key), batch_id).encode()
    everything = {**files, MANIFEST: manifest,
                  SIGNATURE: base64.b64encode(key.sign(manifest)) + b"\n"}
    parent = out.absolute().parent
    sweep_staging(out)
    try:
        staging = Path(tempfile.mkdtemp(prefix=_staging_prefix(out), dir=parent))
        lock = os.open(staging, os.O_RDONLY | os.O_DIRECTORY)
    except OSError as exc:
        raise os_failure(exc, f"--out {out}") from None
    fcntl.flock(lock, fcntl.LOCK_EX)  # held while writing: a sweep leaves this one alone
    try:
        for name, data in everything.items():
            with (staging / name).open("wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
        staging.chmod(0o755)
        if out.exists():
            out.rmdir()
        staging.rename(out)
    except OSError as exc:
        shutil.rmtree(staging, ignore_errors=True)
        raise os_failure(exc, f"--out {out}") from None
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        os.close(lock)


def _staging_prefix(out: Path) -> str:
    return f".{out.name}.pack-"


def sweep_staging(out: Path) -> list[Path]:
    """Remove the half-written packs a killed run left beside ``out`` (nobody holds their
    lock); a pack being written right now is left alone."""
    removed = []
    for path in out.absolute().parent.glob(f"{_staging_prefix(out)}*"):
        try:
            fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        except OSError:
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            shutil.rmtree(path, ignore_errors=True)
            removed.append(path)
        except OSError:
            pass  # a live writer holds it
        finally:
            os.close(fd)
    return removed


@dataclass(frozen=True)
class Verified:
    batch_id: str
    signer: str
    public_key: bytes
    files: int


def _fail(folder: Path, why: str) -> CheckFailed:
    return CheckFailed(f"evidence pack {folder}: {why}")


def _parse(folder: Path, text: str) -> tuple[str, str, bytes, dict[str, str]]:
    lines = text.split("\n")
    if len(lines) < 4 or lines[0] != MAGIC or lines[-1] != "":
        raise _fail(folder, f"{MANIFEST} is not a credline evidence manifest")
    batch, signer_line, *entries = lines[1:-1]
    signer = signer_line.split(" ")
    if not batch.startswith("batch ") or len(signer) != 4 or signer[0] != "signer" or \
            signer[2] != "ed25519":
        raise _fail(folder, f"{MANIFEST} has no batch or signer line")
    try:
        public = bytes.fromhex(signer[3])
    except ValueError:
        raise _fail(folder, f"{MANIFEST}: the signer's key is not hexadecimal") from None
    hashes: dict[str, str] = {}
    for entry in entries:
        digest, sep, name = entry.partition("  ")
        if not sep or len(digest) != 64 or not name or "/" in name or name in hashes or \
                name in (MANIFEST, SIGNATURE):
            raise _fail(folder, f"{MANIFEST} line {entry[:80]!r} is not 'SHA256  NAME'")
        hashes[name] = digest
    return batch.removeprefix("batch "), signer[1], public, hashes


def verify_pack(folder: Path, known_keys: Mapping[str, bytes] | None = None) -> Verified:
    """Check the signature and every hash; CheckFailed names the first problem.

    With ``known_keys`` (station id -> enrolled public key, from the registry), the signer
    must be a station enrolled under that same key; without, the pack is checked against
    the key it names, which proves it unchanged since signing, not who signed it.
    """
    if not folder.is_dir():
        raise BadInput(f"{folder}: not a folder")
    try:
        manifest = (folder / MANIFEST).read_bytes()
        signature = (folder / SIGNATURE).read_bytes()
    except OSError as exc:
        raise _fail(folder, f"cannot read {exc.filename}: {exc.strerror}") from None
    try:
        text = manifest.decode("ascii")
        raw_sig = base64.b64decode(signature.strip(), validate=True)
    except (UnicodeDecodeError, binascii.Error):
        raise _fail(folder, f"{MANIFEST} or {SIGNATURE} is damaged") from None
    batch_id, signer, public, hashes = _parse(folder, text)
    if signature != base64.b64encode(raw_sig) + b"\n":
        raise _fail(folder, f"{SIGNATURE} is damaged")
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(raw_sig, manifest)
    except (InvalidSignature, ValueError):
        raise _fail(folder, f"the signature in {SIGNATURE} does not match {MANIFEST}: the "
                    "manifest was changed or signed by another key") from None
    if known_keys is not None and known_keys.get(signer) != public:
        raise _fail(folder, f"the signer {signer!r} is not enrolled in the registry under "
                    "the key that signed this pack")
    present = {p.name for p in folder.iterdir()} - {MANIFEST, SIGNATURE}
    if present - set(hashes):
        raise _fail(folder, f"{', '.join(sorted(present - set(hashes)))}: not in {MANIFEST} "
                    "(added after signing)")
    if set(hashes) - present:
        raise _fail(folder, f"{', '.join(sorted(set(hashes) - present))}: listed in "
                    f"{MANIFEST} but missing")
    for name, digest in sorted(hashes.items()):
        path = folder / name
        if not path.is_file() or path.is_symlink():
            raise _fail(folder, f"{name}: not a regular file")
        if hashlib.sha256(path.read_bytes()).hexdigest() != digest:
            raise _fail(folder, f"{name}: its SHA-256 is not the one in {MANIFEST} (the file "
                        "was changed after signing)")
    _checkpoint(folder, batch_id, known_keys)
    return Verified(batch_id, signer, public, len(hashes))


def _checkpoint(folder: Path, batch_id: str, known_keys: Mapping[str, bytes] | None) -> None:
    """The checkpoint entry is a checkpoint of this batch, signed by its station's key (the
    registry's, else the one in stations.json)."""
    try:
        entry = json.loads((folder / "checkpoint.jsonl").read_bytes())
        keys = known_keys if known_keys is not None else {
            station: bytes.fromhex(key) for station, key in
            json.loads((folder / "stations.json").read_bytes()).items()}
        unsigned = {k: v for k, v in entry.items() if k != "sig"}
        valid = entry["event"] == "checkpoint" and entry["fields"]["batch"] == batch_id
        Ed25519PublicKey.from_public_bytes(keys[entry["station"]]).verify(
            base64.b64decode(entry["sig"], validate=True), canonical(unsigned))
    except (OSError, ValueError, KeyError, TypeError, AttributeError, binascii.Error,
            InvalidSignature, RecursionError):
        valid = False
    if not valid:
        raise _fail(folder, "checkpoint.jsonl is not a checkpoint of batch "
                    f"{batch_id!r} signed by its station's key")


def stations_file(keys: Mapping[str, bytes]) -> bytes:
    return (json.dumps({station: key.hex() for station, key in sorted(keys.items())},
                       indent=2) + "\n").encode()
