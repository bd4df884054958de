"""Lost devices: retire a serial, or re-issue it at the next generation, as one logged step.

Write-ahead, like every station move: the signed ``device.retired`` or ``device.reissued``
entry goes to the station's log first (fsynced), then the registry moves and acknowledges
it, so ``audit verify`` can replay the step. Only a row whose device may hold its password and
is not done can be retired: the states from which :data:`credline.core.lifecycle.MOVES` reaches
*retired* (written, verified, failed). A retired password is never issued again (the
registry's UNIQUE(product, fingerprint) covers retired rows); a re-issued serial gets a new
row at the next generation, so a new password, reserved by nobody until a station takes it.

Everything is checked before anything is written; never sees a password.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from credline.core.errors import BadInput
from credline.core.lifecycle import DeviceState, sources
from credline.provenance import ProvenanceLog, line_hash_of
from credline.registry import Ack, Device, IllegalTransition, Registry

RETIRABLE = sources(DeviceState.RETIRED)


@dataclass(frozen=True)
class Lost:
    """A lost device's serial, its batch, and why it is given up."""

    batch: str
    serial: str
    reason: str
    operator: str = ""


def retire(registry: Registry, log: ProvenanceLog, lost: Lost) -> Device:
    """Retire the serial's row; returns it, retired."""
    row = _retirable(registry, lost, reissue=False)
    ack = _record(log, "device.retired", row, lost)
    return _move(lambda: registry.retire(row.product, row.serial, lost.reason,
                                         log.station_id, ack), row, ack)


def reissue(registry: Registry, log: ProvenanceLog, lost: Lost) -> Device:
    """Retire the serial's row and open it again at the next generation; returns the new
    row (reserved by nobody)."""
    row = _retirable(registry, lost, reissue=True)
    ack = _record(log, "device.reissued", row, lost, new_generation=row.generation + 1)
    return _move(lambda: registry.reissue(row.product, row.serial, lost.reason,
                                          log.station_id, ack), row, ack)


def _retirable(registry: Registry, lost: Lost, *, reissue: bool) -> Device:
    if not lost.reason.strip():
        raise BadInput("--reason is required: say why the device is given up (it goes into "
                       "the signed log)")
    batch = registry.require_batch(lost.batch)
    product = str(batch["product"])
    row = registry.device(product, lost.serial)
    if row is None or row.batch_id != lost.batch:
        where = "" if row is None else f" (it belongs to batch {row.batch_id!r})"
        raise BadInput(f"serial {lost.serial!r} of {product} is not in batch "
                       f"{lost.batch!r}{where}")
    if row.state not in RETIRABLE:
        allowed = ", ".join(sorted(state.value for state in RETIRABLE))
        raise BadInput(f"serial {lost.serial!r} of {product} is {row.state} in batch "
                       f"{lost.batch!r}: only a row that is {allowed} can be retired or "
                       "re-issued")
    if reissue and batch["state"] == "closed":
        raise BadInput(f"batch {lost.batch!r} is closed: a serial re-issued in it could "
                       "never be provisioned; retire it instead and give the device a "
                       "serial of an open batch")
    return row


def _record(log: ProvenanceLog, event: str, row: Device, lost: Lost, **extra: int) -> Ack:
    entry = log.append(event, batch=row.batch_id, product=row.product, serial=row.serial,
                       operator=lost.operator, reason=lost.reason, generation=row.generation,
                       **extra)
    return Ack(log.station_id, int(entry["seq"]), line_hash_of(entry))


def _move(move: Callable[[], Device], row: Device, ack: Ack) -> Device:
    try:
        return move()
    except IllegalTransition as exc:
        # The entry is written and the row changed under us: say so, the audit will too.
        raise BadInput(f"log entry {ack.seq} records giving up serial {row.serial!r}, but the "
                       f"registry refused it: {exc}; check with 'credline audit verify'"
                       ) from None
