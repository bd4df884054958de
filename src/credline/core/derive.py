"""credline-v1: the normative derivation (see docs/derivation.md).

    C   = u16be(len P) ‖ P ‖ u16be(len S) ‖ S ‖ u32be(generation)
    OKM = KBKDF-CTR-HMAC-SHA256(K, Label="credline/v1/password", Context=C, L=256 bits)
    password = OKM mod |A|^n, in base |A|, n digits, most significant first
    Kf  = KBKDF-CTR-HMAC-SHA256(K, Label="credline/v1/fingerprint", Context="", L=256 bits)
    fingerprint = hex(HMAC-SHA256(Kf, UTF-8 password))

Pure: no I/O. Needs only a :class:`~credline.keystore.base.MasterKey`'s ``mac``; never
sees a key. Inputs arrive as validated :class:`ProductId` / :class:`Serial`.
"""

from __future__ import annotations

from credline.core.encoding import Encoder, encoder_for
from credline.core.ids import ProductId, Serial
from credline.core.kbkdf import HmacSha256, Prf, kbkdf_counter
from credline.core.keys import MasterKey
from credline.core.policy import PasswordFormat
from credline.core.secret import Password

SCHEME = "credline-v1"
PASSWORD_LABEL = b"credline/v1/password"
FINGERPRINT_LABEL = b"credline/v1/fingerprint"
OKM_BYTES = 32
MAX_GENERATION = 0xFFFFFFFF

# With L = 32 bytes the KBKDF is one PRF call: counter 1 ‖ Label ‖ 0x00 ‖ C ‖ u32be(256).
_PASSWORD_PREFIX = (1).to_bytes(4, "big") + PASSWORD_LABEL + b"\x00"
_L_BITS = (OKM_BYTES * 8).to_bytes(4, "big")


def context(product: str, serial: str, generation: int) -> bytes:
    """C = u16be(len P) ‖ P ‖ u16be(len S) ‖ S ‖ u32be(generation)."""
    if not 0 <= generation <= MAX_GENERATION:
        raise ValueError(f"generation {generation} outside 0..{MAX_GENERATION}")
    p = product.encode("utf-8")
    s = serial.encode("utf-8")
    return (len(p).to_bytes(2, "big") + p + len(s).to_bytes(2, "big") + s
            + generation.to_bytes(4, "big"))


def password_message(product: str, serial: str, generation: int) -> bytes:
    """The single PRF input whose HMAC is the OKM (counter, fixed input, all of it)."""
    return _PASSWORD_PREFIX + context(product, serial, generation) + _L_BITS


def okm(prf: Prf, product: ProductId, serial: Serial, generation: int = 0) -> bytes:
    """The 32-byte output keying material, by the general SP 800-108 routine."""
    return kbkdf_counter(prf, PASSWORD_LABEL, context(product, serial, generation), OKM_BYTES)


def fingerprint_key(prf: Prf) -> bytes:
    """Kf: the KBKDF with Label "credline/v1/fingerprint" and an empty context."""
    return kbkdf_counter(prf, FINGERPRINT_LABEL, b"", OKM_BYTES)


class Deriver:
    """A master key bound to a password format: the object batches and stations derive with."""

    __slots__ = ("_fingerprint", "encoder", "format", "key")

    def __init__(self, key: MasterKey, fmt: PasswordFormat) -> None:
        self.key = key
        self.format = fmt
        self.encoder: Encoder = encoder_for(fmt.alphabet, fmt.length)
        self._fingerprint = HmacSha256(fingerprint_key(key.mac))

    @property
    def key_id(self) -> str:
        return self.key.key_id

    def password(self, product: ProductId, serial: Serial, generation: int = 0) -> Password:
        return Password(self.password_text(product, serial, generation))

    def password_text(self, product: str, serial: str, generation: int = 0) -> str:
        """The plaintext, for hot loops over already-validated ids; prefer :meth:`password`."""
        return self.encoder.encode(self.key.mac(password_message(product, serial, generation)))

    def fingerprint_hmac(self) -> HmacSha256:
        """HMAC-SHA256 under Kf (fingerprints only; Kf cannot derive passwords)."""
        return self._fingerprint

    def fingerprint(self, password: Password | str) -> str:
        text = password.reveal() if isinstance(password, Password) else password
        return self._fingerprint.mac(text.encode("utf-8")).hex()

