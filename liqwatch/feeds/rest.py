"""REST access to a venue through ccxt: positions, balance, tiers and mark prices as events.

ccxt is imported lazily, inside :meth:`RestClient.open` (``liqwatch calc`` never imports it).
Failures become one redacted :class:`~liqwatch.feeds.ccxt_client.FeedError` line
(:mod:`liqwatch.feeds.ccxt_client`, which also says how ``rest_url`` and ``testnet`` aim the
client). Read-only by construction — only fetch calls are made (see each venue's
``liqwatch/venues/<venue>/rest.py`` for what its adapter reads from which field).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from liqwatch.config import AccountConfig, Secrets
from liqwatch.feeds.ccxt_client import ErrorTranslator, FeedError, new_exchange, point_at
from liqwatch.feeds.events import AccountMode, AccountModeName, Balance, CollateralRow, MarkPrice, Positions, Tiers
from liqwatch.feeds.venue_rest import EMPTY_SNAPSHOT, InverseUnavailable, PositionSnapshot, VenueRest
from liqwatch.venues import get_home

log = logging.getLogger(__name__)

TRANSIENT_KINDS = frozenset({"network", "rate_limit", "maintenance"})
"""Failures of the coin-margined part that pass: retried like any other, the part kept."""


def _passing(error: FeedError, cause: BaseException | None) -> bool:
    """A failure another try may not see: a network, rate-limit or maintenance kind, or what ccxt
    says may pass (``OperationFailed``: e.g. Binance -1001 "Internal error; ... try again")."""
    if error.kind in TRANSIENT_KINDS:
        return True
    import ccxt.async_support as ccxt_async

    return isinstance(cause, ccxt_async.OperationFailed)


__all__ = ["RestClient"]

_NOT_FOUND = re.compile(r"\b404\b")
MODE_RETRY = 600.0
"""Seconds before a mode that could not be read (``unknown``) is asked again."""


class RestClient:
    """One account's REST view of its venue, through a ccxt async client."""

    def __init__(self, account: AccountConfig, secrets: Secrets) -> None:
        self.account = account
        self._secrets = secrets
        self._venue: VenueRest = get_home(account.exchange).rest
        self._errors = ErrorTranslator(account, secrets.redact)
        self._has_keys = "apiKey" in secrets.ccxt_options()
        self._ex: Any = None
        self._opening = asyncio.Lock()
        self.cache_tiers = True
        """Write the tier tables read into the tier cache (``liqwatch tiers``)."""
        self.cache_writes: list[asyncio.Future[None]] = []
        """The cache writes started (tests wait on them)."""
        self._mode: tuple[AccountModeName, str] | None = None
        self._mode_at = 0.0
        self.notes: list[str] = []
        """Things to say once (the feed reports and clears them): the coin-margined perpetuals
        that could not be read."""

    def __repr__(self) -> str:
        return f"RestClient({self.account.exchange}, {self.account.name!r})"

    # ------------------------------------------------------------------ lifecycle

    async def open(self) -> None:
        """Create the ccxt client and load the venue's perpetual markets (idempotent)."""
        async with self._opening:
            if self._ex is None:
                self._ex = await self._open()

    async def _open(self) -> Any:
        venue = self._venue
        try:
            return await self._load(venue.account_options(self.account))
        except FeedError as exc:
            if (
                _passing(exc, exc.__context__)
                or not venue.reads_inverse(self.account)
                or venue.account_options(self.account) == venue.options()
            ):
                raise
            ex = await self._load(venue.options())  # the linear markets alone: their failure is raised
            self._drop_inverse(exc)
            return ex

    def _inverse_failed(self, exc: InverseUnavailable, doing: str) -> None:
        """The coin-margined part failed: a passing failure (network, rate limit, maintenance) is
        raised like any other (the feed retries); any other drops that part (:meth:`_drop_inverse`)."""
        error = self._errors.translate(exc.cause, doing)
        if _passing(error, exc.cause):
            raise error from None
        self._drop_inverse(error)

    def _drop_inverse(self, error: FeedError) -> None:
        """Read the account without its coin-margined perpetuals from now on, and say so once."""
        self.account = self.account.model_copy(update={"inverse": False})
        self.notes.append(
            f"coin-margined (inverse) perpetuals not read: {error}; the linear ones are "
            "(set inverse = false for this account to stop trying)"
        )

    async def _load(self, options: dict[str, Any]) -> Any:
        import ccxt.async_support as ccxt_async

        venue = self._venue
        ex = new_exchange(ccxt_async, venue, self.account, self._secrets, options=options)
        try:
            point_at(
                ex,
                self.account,
                no_sandbox=ccxt_async.NotSupported,
                no_sandbox_message="no testnet in ccxt for this venue; set rest_url",
            )
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
        return self._positions(await self._snapshot())

    async def fetch_balance(self) -> Balance:
        """The cross wallet balance in the settle currency (see the venue adapters); reads the
        positions too where the venue's balance needs them (the live feed uses :meth:`fetch_account`)."""
        snapshot = await self._snapshot() if self._venue.balance_uses_positions else EMPTY_SNAPSHOT
        return await self._balance(snapshot)

    async def fetch_account(self) -> tuple[Positions, Balance]:
        """Positions, then the balance from that same read of them (no second positions fetch)."""
        snapshot = await self._snapshot()
        positions = self._positions(snapshot)
        return positions, await self._balance(snapshot)

    async def fetch_account_balances(self) -> tuple[Positions, list[Balance]]:
        """Positions, then every pool's balance from that same read of them: the settle
        currency's first, then each coin wallet where the account reads inverse perpetuals."""
        snapshot = await self._snapshot()
        positions = self._positions(snapshot)
        ex = await self._client()
        async with self._mapped("fetching the balance"):
            try:
                found = await self._venue.balances(ex, self.account, snapshot)
                figures = await self._venue.account_figures(ex, self.account)
            except InverseUnavailable as exc:
                self._inverse_failed(exc, "fetching the coin-margined wallets")
                return await self.fetch_account_balances()
        now = time.time()
        return positions, [
            Balance(
                account=self.account.name,
                exchange=self.account.exchange,
                ts=ts or now,
                wallet_balance=wallet,
                currency=currency,
                maintenance_margin=figures.get(currency, (None, None))[0],
                equity=figures.get(currency, (None, None))[1],
            )
            for wallet, currency, ts in found
        ]

    async def fetch_account_mode(self) -> AccountMode:
        """The account's margin mode (read at connect: once, again every :data:`MODE_RETRY` seconds
        while it is ``unknown``) and the venue's own account ratio (every call; read after
        :meth:`fetch_account_balances` of the same cycle, whose answer an adapter may reuse).
        A mode the venue refuses to tell (permission, an endpoint error or one it does not have,
        e.g. on a testnet) is ``unknown`` with the reason; a network, rate-limit or maintenance
        failure is raised for the feed to retry. A ratio that
        cannot be read is None (said in ``venue_inputs["error"]``)."""
        ex = await self._client()
        now = time.monotonic()
        if self._mode is None or (self._mode[0] == "unknown" and now - self._mode_at >= MODE_RETRY):
            try:
                self._mode = await self._venue.account_mode(ex, self.account)
            except Exception as exc:
                error = self._errors.translate(exc, "reading the account mode")
                # the feed retries a passing failure; an endpoint that is not there (ccxt: HTTP 404
                # as ExchangeNotAvailable) is not one: unknown, asked again after MODE_RETRY
                if error.kind in TRANSIENT_KINDS and not _NOT_FOUND.search(str(exc)):
                    raise error from None
                self._mode = ("unknown", f"the account mode could not be read: {error}")
            self._mode_at = now
        assert self._mode is not None
        mode, detail = self._mode
        ratio: float | None = None
        inputs: dict[str, float | str | None] = {}
        try:
            ratio, inputs = await self._venue.venue_ratio(ex, self.account, mode)
        except Exception as exc:  # optional: our figures (single) or the refusal stand without it
            inputs = {"error": str(self._errors.translate(exc, "reading the venue's account ratio"))}
        if ratio is not None and ratio - ratio != 0.0:
            ratio = None
        collateral: list[CollateralRow] = []
        try:
            collateral = await self._venue.collateral(ex, self.account, mode)
        except Exception as exc:  # optional: the venue's ratio stands alone, and the reason is said
            reason = str(self._errors.translate(exc, "reading the collateral"))
            inputs = {**inputs, "collateral_error": reason}
        return AccountMode(
            account=self.account.name,
            exchange=self.account.exchange,
            ts=time.time(),
            mode=mode,
            mode_detail=detail,
            margin_ratio_venue=ratio,
            venue_inputs=inputs,
            collateral=collateral,
            account_status_venue=self._venue.account_status(mode, inputs),
        )

    def _positions(self, snapshot: PositionSnapshot) -> Positions:
        return Positions(
            account=self.account.name, exchange=self.account.exchange, ts=time.time(), positions=snapshot.positions
        )

    async def _snapshot(self) -> PositionSnapshot:
        ex = await self._client()
        async with self._mapped("fetching positions"):
            try:
                return await self._venue.snapshot(ex, self.account)
            except InverseUnavailable as exc:
                self._inverse_failed(exc, "fetching the coin-margined positions")
                return await self._venue.snapshot(ex, self.account)

    async def _balance(self, snapshot: PositionSnapshot) -> Balance:
        ex = await self._client()
        async with self._mapped("fetching the balance"):
            wallet, currency, ts = await self._venue.balance(ex, self.account, snapshot)
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
                self._cache_tiers(ex, found)
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

    def _cache_tiers(self, ex: Any, found: list[tuple[str, Any, list[Any], str]]) -> None:
        """What live mode read goes into the tier cache too (``liqwatch tiers``), written on a worker
        thread so the feed does not wait for the disk; a failure is logged, never raised."""
        if not found or not self.cache_tiers:
            return
        from liqwatch.tiers_update import live_entries, save_entries

        venue = self.account.exchange
        try:
            entries = live_entries(self._venue, ex, found, self.account.rest_url or self._venue.public_host)
        except Exception as exc:  # a payload the cache format cannot hold: the feed goes on
            log.warning("tier cache: %s tables not cached: %s", venue, exc)
            return

        def write() -> None:
            try:
                save_entries(venue, entries)
            except Exception as exc:  # disk full, permissions...: the feed goes on
                log.warning("tier cache: %s tables not written: %s", venue, exc)

        self.cache_writes = [f for f in self.cache_writes if not f.done()]
        self.cache_writes.append(asyncio.get_running_loop().run_in_executor(None, write))

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

    @asynccontextmanager
    async def _mapped(self, doing: str) -> AsyncIterator[None]:
        """Translate whatever ccxt (or a malformed payload) raises into one FeedError."""
        try:
            yield
        except FeedError:
            raise
        except Exception as exc:
            raise self._errors.translate(exc, doing) from None
