"""REST access to a venue through ccxt: positions, balance, tiers and mark prices as events.

ccxt is imported lazily, inside :meth:`RestClient.open` (``liqwatch calc`` never imports it).
Every ccxt failure becomes a :class:`FeedError` with one redacted line: no API key, secret or
passphrase can reach a message. Read-only by construction — only fetch calls are made (see
:mod:`liqwatch.feeds.rest_venues` for what each venue's adapter reads from which field).

``rest_url`` (config) replaces the scheme and host of every REST base URL ccxt knows for the venue,
keeping the path (``https://fapi.binance.com/fapi/v1`` -> ``<rest_url>/fapi/v1``, templated
``https://api.{hostname}`` -> ``<rest_url>``); websocket URLs are left alone. Without ``rest_url``,
``testnet = true`` switches ccxt to the venue's sandbox.
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Final

from pydantic import ValidationError

from liqwatch.config import AccountConfig, Secrets
from liqwatch.feeds.events import Balance, MarkPrice, Positions, Tiers
from liqwatch.feeds.rest_venues import ADAPTERS, DataError, VenueRest

FEED_ERROR_KINDS: Final = frozenset(
    {"auth", "permission", "maintenance", "rate_limit", "network", "exchange", "config"}
)

AUTH_MESSAGE: Final = "authentication failed: check the API key, secret and IP whitelist"
_MAX_DETAIL = 240
_QUERY = re.compile(r"\?\S*")
_SPACE = re.compile(r"\s+")
# ccxt's HTTP error text: "<id> <METHOD> <url> <status> <reason> <body>"
_HTTP_STATUS = re.compile(r"^\S+ (?:GET|POST|PUT|DELETE|PATCH) \S+ (\d{3})\b")


class FeedError(Exception):
    """A feed failure, one clear line. ``kind`` is one of :data:`FEED_ERROR_KINDS`."""

    def __init__(self, kind: str, message: str) -> None:
        if kind not in FEED_ERROR_KINDS:
            raise ValueError(f"unknown FeedError kind {kind!r}")
        message = _SPACE.sub(" ", message).strip()
        super().__init__(message)
        self.kind = kind
        self.message = message

    def __str__(self) -> str:
        return self.message


def override_urls(urls: Any, rest_url: str) -> Any:
    """``urls`` (ccxt ``urls['api']``, nested) with every http(s) base pointed at ``rest_url``."""
    base = rest_url.rstrip("/")
    if isinstance(urls, dict):
        return {key: override_urls(value, rest_url) for key, value in urls.items()}
    if isinstance(urls, str) and urls.startswith(("http://", "https://")):
        rest = urls.split("://", 1)[1]
        path = rest[rest.find("/") :] if "/" in rest else ""
        return base + path
    return urls


class RestClient:
    """One account's REST view of its venue, through a ccxt async client."""

    def __init__(self, account: AccountConfig, secrets: Secrets) -> None:
        self.account = account
        self._secrets = secrets
        self._venue: VenueRest = ADAPTERS[account.exchange]
        self._has_keys = "apiKey" in secrets.ccxt_options()
        self._ex: Any = None
        self._opening = asyncio.Lock()

    def __repr__(self) -> str:
        return f"RestClient({self.account.exchange}, {self.account.name!r})"

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Create the ccxt client and load the venue's perpetual markets (idempotent)."""
        async with self._opening:
            if self._ex is None:
                self._ex = await self._open()

    async def _open(self) -> Any:
        import ccxt.async_support as ccxt_async

        venue = self._venue
        config: dict[str, Any] = {
            "enableRateLimit": True,
            "options": venue.options(),
            **venue.config(self.account),
            **self._secrets.ccxt_options(),
        }
        ex = getattr(ccxt_async, venue.ccxt_id)(config)
        # Currencies are not needed; on several venues they are a private, wallet-scoped call.
        ex.has["fetchCurrencies"] = False
        try:
            if self.account.rest_url:
                ex.urls["api"] = override_urls(ex.urls["api"], self.account.rest_url)
            elif self.account.testnet:
                try:
                    ex.set_sandbox_mode(True)
                except ccxt_async.NotSupported:
                    raise FeedError(
                        "config", self._prefix() + "no testnet in ccxt for this venue; set rest_url"
                    ) from None
            async with self._mapped("loading markets"):
                await ex.load_markets()
        except BaseException:
            await ex.close()
            raise
        return ex

    async def close(self) -> None:
        ex, self._ex = self._ex, None
        if ex is not None:
            await ex.close()

    async def __aenter__(self) -> RestClient:
        await self.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _client(self) -> Any:
        if self._ex is None:
            await self.open()
        return self._ex

    # ------------------------------------------------------------------ data

    async def fetch_positions(self) -> Positions:
        """A complete snapshot of every open linear position."""
        ex = await self._client()
        async with self._mapped("fetching positions"):
            positions = await self._venue.positions(ex, self.account)
            return Positions(
                account=self.account.name, exchange=self.account.exchange, ts=time.time(), positions=positions
            )

    async def fetch_balance(self) -> Balance:
        """The cross wallet balance in the settle currency (see the venue adapters)."""
        ex = await self._client()
        async with self._mapped("fetching the balance"):
            wallet, currency, ts = await self._venue.balance(ex, self.account)
            return Balance(
                account=self.account.name,
                exchange=self.account.exchange,
                ts=ts or time.time(),
                wallet_balance=wallet,
                currency=currency,
            )

    async def fetch_tiers(self, symbols: list[str]) -> list[Tiers]:
        """The venue's live tiers for ``symbols``; [] when it cannot give them (no keys where they
        are private, not supported, any error): the caller falls back to bundled tiers."""
        if not symbols or (self._venue.tiers_need_keys and not self._has_keys):
            return []
        try:
            ex = await self._client()
            async with self._mapped("fetching tiers"):
                found = await self._venue.tiers(ex, list(symbols), self._has_keys)
                now = time.time()
                return [
                    Tiers(
                        account=self.account.name,
                        exchange=self.account.exchange,
                        ts=now,
                        symbol=symbol,
                        basis=basis,
                        tiers=rows,
                        source="exchange",
                        note=note,
                    )
                    for symbol, basis, rows, note in found
                ]
        except FeedError:
            return []

    async def fetch_marks(self, symbols: list[str]) -> list[MarkPrice]:
        """Mark prices (never last or mid) for ``symbols`` the venue lists."""
        if not symbols:
            return []
        ex = await self._client()
        async with self._mapped("fetching mark prices"):
            marks = await self._venue.marks(ex, list(symbols))
            now = time.time()
            return [
                MarkPrice(account=self.account.name, exchange=self.account.exchange, ts=ts or now, symbol=s, price=p)
                for s, p, ts in marks
            ]

    # ------------------------------------------------------------------ errors

    def _prefix(self) -> str:
        return f"{self.account.exchange} account '{self.account.name}': "

    def _error(self, kind: str, text: str) -> FeedError:
        return FeedError(kind, self._secrets.redact(self._prefix() + text))

    def _detail(self, exc: BaseException) -> str:
        text = self._secrets.redact(str(exc) or type(exc).__name__)
        text = _SPACE.sub(" ", _QUERY.sub("", text)).strip()
        if len(text) > _MAX_DETAIL:
            text = text[: _MAX_DETAIL - 3] + "..."
        return text

    @asynccontextmanager
    async def _mapped(self, doing: str) -> AsyncIterator[None]:
        """Translate whatever ccxt (or a malformed payload) raises into one FeedError."""
        try:
            yield
        except FeedError:
            raise
        except Exception as exc:
            raise self._translate(exc, doing) from None

    def _translate(self, exc: Exception, doing: str) -> FeedError:
        import aiohttp
        import ccxt.async_support as ccxt_async

        detail = self._detail(exc)
        # ccxt reports refused connections and DNS failures as ExchangeNotAvailable (and other
        # transport failures as ExchangeError): the cause tells a network problem from the venue's.
        if isinstance(exc.__cause__, OSError | aiohttp.ClientError) and not isinstance(exc, ccxt_async.RequestTimeout):
            return self._error("network", f"network error while {doing} ({detail})")
        if isinstance(exc, ccxt_async.PermissionDenied):
            return self._error("permission", f"permission denied while {doing}: the key needs read access ({detail})")
        if isinstance(exc, ccxt_async.AuthenticationError):
            return self._error("auth", AUTH_MESSAGE)
        if isinstance(exc, ccxt_async.OnMaintenance):
            return self._error("maintenance", f"exchange under maintenance while {doing} ({detail})")
        # A bare HTTP 429/418 (no venue payload) is a rate limit whatever class ccxt picked for it
        # (its OKX table says ExchangeNotAvailable).
        status = _HTTP_STATUS.match(str(exc))
        throttled = status is not None and status.group(1) in ("429", "418")
        if throttled and not isinstance(exc, ccxt_async.AuthenticationError):
            return self._error("rate_limit", f"rate limited while {doing} ({detail})")
        if isinstance(exc, ccxt_async.RateLimitExceeded | ccxt_async.DDoSProtection):
            # Binance reports a revoked key (-2015) as DDoSProtection once a session has authenticated.
            if "-2015" in str(exc):
                return self._error("auth", AUTH_MESSAGE)
            return self._error("rate_limit", f"rate limited while {doing} ({detail})")
        if isinstance(exc, ccxt_async.ExchangeNotAvailable):
            return self._error("maintenance", f"exchange unavailable while {doing} ({detail})")
        if isinstance(exc, ccxt_async.NetworkError | TimeoutError | OSError):
            return self._error("network", f"network error while {doing} ({detail})")
        if isinstance(exc, ccxt_async.BaseError):
            return self._error("exchange", f"exchange error while {doing} ({detail})")
        if isinstance(exc, DataError | ValidationError | KeyError | TypeError | ValueError):
            return self._error("exchange", f"unexpected response while {doing} ({type(exc).__name__}: {detail})")
        return self._error("exchange", f"unexpected failure while {doing} ({type(exc).__name__}: {detail})")
