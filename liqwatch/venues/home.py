"""What a venue is to liqwatch: one :class:`VenueHome` per ``liqwatch/venues/<venue>/`` folder."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from liqwatch.core.venues.base import Venue
from liqwatch.feeds.private_wire import PrivateProtocol
from liqwatch.feeds.venue_rest import VenueRest
from liqwatch.feeds.wire import MarkProtocol

Credentials = Literal["key_secret", "key_secret_passphrase", "wallet"]
"""How an account of the venue is read: an API key and secret; those and a passphrase; or a
public wallet address (no key at all)."""

NETWORKS = ("mainnet", "testnet")


@dataclass(frozen=True)
class VenueHome:
    """Everything liqwatch knows about one venue, looked up by name (:func:`liqwatch.venues.get_home`)."""

    name: str
    """The config's ``exchange`` value, the CLI's ``--exchange`` choice, the key of every lookup."""
    maths: Venue
    """The pure formulas (``liqwatch/core/venues/<venue>.py``; also in ``liqwatch.core.venues.VENUES``)."""
    rest: VenueRest
    """The ccxt REST adapter (``rest.py``): positions, balance, tiers, marks."""
    marks: type[MarkProtocol]
    """The mark-price websocket protocol (``marks.py``)."""
    private: PrivateProtocol | None
    """The private position stream (``private.py``), or None: see :attr:`no_private`."""
    credentials: Credentials
    ws_urls: Mapping[str, str]
    """Default public websocket URL per network (``mainnet``, ``testnet``); REST URLs are ccxt's."""
    symbol_forms: Mapping[str, str]
    """Examples: unified symbol -> the venue's native id (a test converts them)."""
    aliases: tuple[str, ...] = ()
    """Other names the venue goes by (its ccxt id where that differs)."""
    no_private: str = ""
    """Why there is no private stream (required when :attr:`private` is None)."""

    @property
    def label(self) -> str:
        return self.maths.label

    @property
    def ccxt_id(self) -> str:
        return self.rest.ccxt_id

    def ws_url(self, testnet: bool = False) -> str:
        return self.ws_urls["testnet" if testnet else "mainnet"]

    def __post_init__(self) -> None:
        for part in (self.maths, self.rest, self.marks, self.private):
            if part is not None and part.name != self.name:
                raise ValueError(f"venue {self.name!r}: {type(part).__name__} is named {part.name!r}")
        if self.private is None and not self.no_private:
            raise ValueError(f"venue {self.name!r}: say why it has no private stream (no_private)")
        if set(self.ws_urls) != set(NETWORKS):
            raise ValueError(f"venue {self.name!r}: ws_urls needs exactly {NETWORKS}")
