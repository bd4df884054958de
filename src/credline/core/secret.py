"""A password that does not print itself.

:class:`Password` keeps the plaintext out of ``repr``, ``str``, f-strings, logs and tracebacks;
code that really needs the characters calls :meth:`Password.reveal` at the one place they go
out (the device, the label, the stdout a user asked for). Equality is constant time.
Pure: no I/O.
"""

from __future__ import annotations

from credline.core.encoding import constant_time_equal, normalize_typed


class Password:
    """A derived password. ``str()`` and ``repr()`` are redacted; use :meth:`reveal`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The plaintext. Call only where the password must leave the process on purpose."""
        return self._value

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Password):
            return NotImplemented
        return constant_time_equal(self._value, other._value)

    def __hash__(self) -> int:
        raise TypeError("Password is not hashable: compare fingerprints instead")

    def __repr__(self) -> str:
        return "Password(<redacted>)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)

    def __reduce__(self) -> str | tuple[object, ...]:
        raise TypeError("Password cannot be pickled")

    def matches_typed(self, typed: str, alphabet: str) -> bool:
        """Whether ``typed`` is this password as a person may type it (constant time).

        Crockford base32 passwords accept Crockford's reading rules (case, O/0, I/L/1,
        hyphens); other alphabets ignore only spaces and grouping hyphens.
        """
        return constant_time_equal(normalize_typed(typed, alphabet), self._value)
