"""What a feed reads of an account, and the secrets it signs with.

The venue adapters and the feed plumbing take an :class:`Account` (``liqwatch.config.AccountConfig``
is one) rather than the config model itself: the config validates an account against the venue
registry, the registry's homes hold the feeds' adapters, and those adapters only read a few fields,
so they depend on this module and never on :mod:`liqwatch.config` (no import circle, type-only
imports included; ``tests/test_import_graph.py``).
"""

from __future__ import annotations

from typing import Protocol


class Account(Protocol):
    """The fields of a configured account a feed or venue adapter reads (read-only)."""

    @property
    def name(self) -> str: ...
    @property
    def exchange(self) -> str: ...
    @property
    def testnet(self) -> bool: ...
    @property
    def rest_url(self) -> str | None: ...
    @property
    def ws_url(self) -> str | None: ...
    @property
    def wallet(self) -> str | None: ...
    @property
    def inverse(self) -> bool | None: ...


class Secrets:
    """API credentials, kept out of every repr, log line and error message."""

    __slots__ = ("_key", "_passphrase", "_secret")

    def __init__(self, key: str | None, secret: str | None, passphrase: str | None = None) -> None:
        self._key = key
        self._secret = secret
        self._passphrase = passphrase

    def __repr__(self) -> str:
        return "Secrets(***)"

    __str__ = __repr__

    def ccxt_options(self) -> dict[str, str]:
        out: dict[str, str] = {}
        if self._key:
            out["apiKey"] = self._key
        if self._secret:
            out["secret"] = self._secret
        if self._passphrase:
            out["password"] = self._passphrase
        return out

    def redact(self, text: str) -> str:
        """``text`` with any secret replaced by ``***`` (for error messages from libraries)."""
        for value in (self._key, self._secret, self._passphrase):
            if value and len(value) >= 4:
                text = text.replace(value, "***")
        return text
