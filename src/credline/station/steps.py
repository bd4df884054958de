"""One device's steps, once the station knows what the device needs: write a new one, finish
one whose password is already bound to it, or set it aside. Each step is recorded through
the ledger before the next; a device that goes away is parked for its return.

A mixin of :class:`~credline.station.runner.Station`, which owns the ports and the batch.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import cast

from credline.core.derive import Deriver
from credline.core.device import (
    Credential,
    DeviceFault,
    DeviceHello,
    HookState,
    Link,
    Progressive,
    VerifyMismatch,
)
from credline.core.errors import CheckFailed
from credline.core.ids import Serial
from credline.core.lifecycle import DeviceState
from credline.core.policy import Profile, policy_violations
from credline.core.secret import Password
from credline.labels import Label, LabelDraft, LabelSink, make_label
from credline.station.contracts import LeaseLost, Ledger, StationConfig
from credline.station.events import Event, Phase, PortEvent
from credline.station.queue import Pending, WorkQueue


class Drafting:
    """A device's label being drafted (:meth:`LabelSink.draft`) while the device flashes."""

    def __init__(self, future: Future[LabelDraft | None]) -> None:
        self._future = future
        self._taken = False

    def take(self) -> LabelDraft | None:
        """The draft, to publish (the drafting's own error, such as a full disk, if any)."""
        self._taken = True
        return self._future.result()

    def drop(self) -> None:
        """Discard the draft unless it was taken; it may still be being written."""
        if not self._taken:
            self._taken = True
            self._future.add_done_callback(_discard)


def _discard(future: Future[LabelDraft | None]) -> None:
    # A draft that failed needs nothing undone (the sink removed its temporary), and its
    # device failed first: that is what the operator hears about.
    if future.exception() is None:
        draft = future.result()
        if draft is not None:
            draft.discard()


class DeviceSteps:
    """The steps of one device; the station supplies what they work with."""

    config: StationConfig
    profile: Profile
    deriver: Deriver
    ledger: Ledger
    labels: LabelSink | None
    aside: Executor | None  # drafts labels and records verified steps while devices flash
    queue: WorkQueue
    emit: Callable[[Event], None]

    def _provision(self, port: str, link: Link, hello: DeviceHello, serial: str) -> bool:
        started = time.monotonic()
        credential, fingerprint = self._credential(serial)
        try:
            self.ledger.bind(serial, port, hello.hardware_id, credential.generation,
                             fingerprint)
        except LeaseLost as exc:
            self.queue.finish(serial)
            return self._fail(port, serial, str(exc))
        self.emit(PortEvent(port, Phase.WRITING, serial))
        return self._write_and_finish(port, link, credential, started, verified=False)

    def _adopt(self, port: str, link: Link, hello: DeviceHello, pending: Pending) -> bool:
        """A device whose password is bound to it (an earlier run's, or another station's
        that let it go): prove it, rewrite it if need be, and finish the job."""
        started = time.monotonic()
        if hello.key_id is not None and hello.key_id != self.deriver.key_id \
                and hello.serial == pending.serial:
            return self._fail_row(port, pending.serial, "device holds a record from another "
                                  f"key ({hello.key_id}), not this station's key "
                                  f"{self.deriver.key_id}: wrong key?")
        credential = self._derive(pending.serial, pending.generation)
        self.emit(PortEvent(port, Phase.VERIFYING, pending.serial, "resuming"))
        verified = pending.state is DeviceState.VERIFIED
        if hello.serial == pending.serial:
            try:
                link.verify(credential)
                return self._finish(port, link, credential, started, verified=verified,
                                    locked=hello.state is HookState.LOCKED)
            except VerifyMismatch:
                pass  # a write cut short: the device kept its old record; write it again
            except DeviceFault as exc:
                return self._park(port, pending.serial, exc)
        if hello.state is HookState.LOCKED:
            return self._fail_row(port, pending.serial, f"device {hello.hardware_id} is locked "
                                  "with another record and cannot take its own serial")
        return self._write_and_finish(port, link, credential, started, verified=verified)

    def _write_and_finish(self, port: str, link: Link, credential: Credential, started: float,
                          *, verified: bool) -> bool:
        drafting = self._draft_label(credential)  # while the device flashes, not after LOCK
        try:
            watching = self._watch(port, link, credential.serial)
            try:
                link.put(credential)
                link.verify(credential)
            except VerifyMismatch as exc:
                return self._fail_row(port, credential.serial, str(exc))
            except DeviceFault as exc:
                return self._park(port, credential.serial, exc)
            finally:
                if watching is not None:
                    watching.watch(None)
            return self._finish(port, link, credential, started, verified=verified,
                                locked=False, drafting=drafting)
        finally:
            if drafting is not None:
                drafting.drop()  # unless published: the device never got its label

    def _watch(self, port: str, link: Link, serial: str) -> Progressive | None:
        """A link that reports its progress gets this port's row, in tenths; returns it."""
        # Asked by attribute: isinstance() against a runtime Protocol inspects the class
        # every time, on every device.
        if not callable(getattr(link, "watch", None)):
            return None
        watching = cast(Progressive, link)
        shown = [-1]

        def progress(done: int, total: int) -> None:
            tenth = done * 10 // total if total else 10
            if tenth != shown[0]:
                shown[0] = tenth
                self.emit(PortEvent(port, Phase.WRITING, serial, f"{tenth * 10}%"))

        watching.watch(progress)
        return watching

    def _finish(self, port: str, link: Link, credential: Credential, started: float, *,
                verified: bool, locked: bool, drafting: Drafting | None = None) -> bool:
        """After a VERIFY that matched: commit verified (during LOCK), commit locked, label,
        PASS."""
        serial = credential.serial
        try:
            self._lock_recording_verified(port, link, serial, verified=verified, locked=locked)
            self.ledger.advance(serial, DeviceState.LOCKED, port,
                                seconds=round(time.monotonic() - started, 3))
        except LeaseLost as exc:
            self.queue.finish(serial)
            return self._fail(port, serial, str(exc))
        except VerifyMismatch as exc:  # its replies cannot be believed: set it aside
            return self._fail_row(port, serial, str(exc))
        except DeviceFault as exc:
            return self._park(port, serial, exc)
        self._print_label(port, serial, credential, drafting)
        self.queue.finish(serial)
        self.emit(PortEvent(port, Phase.PASS, serial))
        return True

    def _lock_recording_verified(self, port: str, link: Link, serial: str, *, verified: bool,
                                 locked: bool) -> None:
        """LOCK the device (unless it is) while its verified entry and move are recorded
        on a helper thread: the device spends the time flashing, not waiting for the disk.

        Both are done when this returns, and the locked entry comes after the verified one.
        The device may be locked before the registry holds it verified; a run killed then
        finds it locked with its own record, verifies it again and records both steps. An
        error recording (the lease lost, the registry gone) outranks the device's own.
        """
        recording = None
        if not verified:
            if locked or self.aside is None:  # nothing to overlap
                self.ledger.advance(serial, DeviceState.VERIFIED, port)
            else:
                recording = self.aside.submit(self.ledger.advance, serial,
                                              DeviceState.VERIFIED, port)
        try:
            if not locked:
                self.emit(PortEvent(port, Phase.LOCKING, serial))
                link.lock()
        finally:
            if recording is not None:
                recording.result()

    def _park(self, port: str, serial: str, exc: DeviceFault) -> bool:
        """The device went away after its password was bound to it: finish it when it (the
        same device) comes back, on this station or any other."""
        self.ledger.park(serial)
        self.queue.finish(serial)
        return self._fail(port, serial, f"{exc}; plug the device back in to finish it")

    def _fail_row(self, port: str, serial: str, reason: str) -> bool:
        """Set the device aside for good: its row is this device's own, so it fails."""
        self.queue.finish(serial)
        try:
            self.ledger.fail(serial, port, reason)
        except LeaseLost as exc:
            return self._fail(port, serial, str(exc))
        return self._fail(port, serial, reason)

    def _fail(self, port: str, serial: str, reason: str) -> bool:
        self.emit(PortEvent(port, Phase.FAIL, serial, reason))
        return False

    def _fingerprint_at(self, serial: str) -> Callable[[int], str]:
        """The registry's fingerprint of ``serial``'s password at a generation."""
        product = self.profile.product

        def fingerprint_at(generation: int) -> str:
            return self.deriver.fingerprint(
                self.deriver.password(product, Serial(serial), generation))

        return fingerprint_at

    def _credential(self, serial: str) -> tuple[Credential, str]:
        generation, fingerprint = self.ledger.assign(serial, self._fingerprint_at(serial))
        credential = self._derive(serial, generation)
        problems = policy_violations(credential.password.reveal(), self.profile)
        if problems:
            self.ledger.fail(serial, "-", "password breaks the profile's policy")
            raise CheckFailed(f"the password derived for {serial} breaks the profile's policy "
                              f"({'; '.join(problems)}): stopping the batch")
        return credential, fingerprint

    def _derive(self, serial: str, generation: int) -> Credential:
        password = self.deriver.password(self.profile.product, Serial(serial), generation)
        return Credential(product=str(self.profile.product), serial=serial, password=password,
                          key_id=self.deriver.key_id, generation=generation)

    def _draft_label(self, credential: Credential) -> Drafting | None:
        """The device's label, drafted on another thread (written and fsynced, not named)
        while this one waits for the device; published once the device is locked."""
        if self.labels is None or self.aside is None:
            return None
        label = self._label(credential.serial, credential.generation, credential.password)
        return Drafting(self.aside.submit(self.labels.draft, label))

    def _print_label(self, port: str, serial: str, credential: Credential,
                     drafting: Drafting | None = None) -> None:
        if self.labels is None:
            return
        self.emit(PortEvent(port, Phase.LABEL, serial))
        if drafting is None:
            self.labels.emit(self._label(serial, credential.generation, credential.password))
            return
        draft = drafting.take()  # None: the profile prints PDF sheets only
        if draft is not None:
            draft.publish()

    def _reprint_if_missing(self, port: str, serial: str) -> None:
        """A run killed between LOCK and the label: print the label the device never got."""
        if self.labels is None or self.labels.has(serial):
            return
        generation = dict(self.ledger.locked()).get(serial)
        if generation is not None:
            self.emit(PortEvent(port, Phase.LABEL, serial, "reprinting a missing label"))
            self.labels.emit(self._label(serial, generation))

    def _label(self, serial: str, generation: int,
               password: Password | None = None) -> Label:
        assert self.labels is not None
        if password is None:
            password = self.deriver.password(self.profile.product, Serial(serial), generation)
        return make_label(self.profile, self.labels.spec, serial=serial, password=password,
                          key_id=self.deriver.key_id, batch=self.config.batch,
                          generation=generation)
