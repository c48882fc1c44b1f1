"""PositionHintStream (real ccxt.pro clients) against the fake private-stream servers.

Everything runs on 127.0.0.1; ccxt's rate limiter is stubbed out. Every test also checks that no
API key, secret, passphrase or Binance listen key reaches any event.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

import pytest

from liqwatch.config import AccountConfig, Secrets
from liqwatch.feeds.ccxt_client import AUTH_MESSAGE
from liqwatch.feeds.events import Event, Positions, Status, Tiers
from liqwatch.feeds.private import LISTEN_KEY_EXPIRED, NO_STREAM, PositionHintStream, private_ws_base
from liqwatch.feeds.reconnect import SLOW_RETRY
from liqwatch.feeds.rest import RestClient
from liqwatch.state import State
from liqwatch.venues.binance import private
from tests.fakes.private_server import DEFAULT_PASSPHRASE, DEFAULT_SECRET, FakePrivateServer
from tests.fakes.rest_server import DEFAULT_KEY
from tests.fakes.ws_server import WAIT_TIMEOUT

VENUES = ["binance", "bybit", "okx", "hyperliquid"]
KEYED = ["binance", "bybit", "okx"]
WALLET = "0x" + "ab" * 20


@pytest.fixture(autouse=True)
def _no_throttle(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    from ccxt.async_support.base.exchange import Exchange

    async def throttle(self: Any, cost: Any = None) -> None:
        return None

    monkeypatch.setattr(Exchange, "throttle", throttle)
    monkeypatch.setattr(Exchange, "timeout_on_exit", 0)
    yield


def account(venue: str, fake: FakePrivateServer | None = None, **extra: Any) -> AccountConfig:
    urls: dict[str, Any] = {"rest_url": fake.url, "ws_url": fake.ws_url} if fake is not None else {}
    if venue == "hyperliquid":
        return AccountConfig(name="main", exchange=venue, wallet=WALLET, **urls, **extra)
    return AccountConfig(
        name="main",
        exchange=venue,
        api_key_env="LW_KEY",
        api_secret_env="LW_SECRET",
        passphrase_env="LW_PASS",
        **urls,
        **extra,
    )


def secrets(venue: str, *, key: str = DEFAULT_KEY, secret: str = DEFAULT_SECRET) -> Secrets:
    if venue == "hyperliquid":
        return Secrets(None, None)
    return Secrets(key, secret, DEFAULT_PASSPHRASE)


class Harness:
    """A stream running against a fake, with what it emitted and how often it asked for a resync."""

    def __init__(self, fake: FakePrivateServer, stream_secrets: Secrets) -> None:
        self.fake = fake
        self.secrets = stream_secrets
        self.events: list[Event] = []
        self.resyncs = 0
        self.stream = PositionHintStream(
            account(fake.name, fake),
            stream_secrets,
            self.events.append,
            on_expired=self._expired,
            backoff_initial=0.01,
            backoff_max=0.05,
        )
        self.task: asyncio.Task[None] | None = None

    def _expired(self) -> None:
        self.resyncs += 1

    def statuses(self, state: str | None = None) -> list[Status]:
        return [e for e in self.events if isinstance(e, Status) and (state is None or e.state == state)]

    def hints(self) -> list[Positions]:
        return [e for e in self.events if isinstance(e, Positions)]

    async def until(self, predicate: Callable[[], bool], timeout: float = WAIT_TIMEOUT) -> None:
        async def poll() -> None:
            while not predicate():
                if self.task is not None and self.task.done():
                    self.task.result()
                    raise AssertionError("the stream returned")
                await asyncio.sleep(0.01)

        await asyncio.wait_for(poll(), timeout)

    async def connected(self, count: int = 1) -> None:
        await self.until(lambda: len(self.statuses("connected")) >= count)

    def assert_clean(self) -> None:
        """No secret, passphrase or listen key in any event."""
        text = "\n".join(e.model_dump_json() for e in self.events)
        for value in (DEFAULT_KEY, DEFAULT_SECRET, DEFAULT_PASSPHRASE, *self.fake.issued_keys):
            assert value not in text
        assert all(e.channel == "private" for e in self.statuses())


def run(venue: str, body: Callable[[Harness], Awaitable[None]], **secret_kw: Any) -> Harness:
    async def main() -> Harness:
        async with FakePrivateServer(venue) as fake:
            harness = Harness(fake, secrets(venue, **secret_kw))
            harness.task = asyncio.create_task(harness.stream.run())
            try:
                await body(harness)
            finally:
                harness.task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await harness.task
            harness.assert_clean()
            return harness

    return asyncio.run(asyncio.wait_for(main(), 2 * WAIT_TIMEOUT))  # a safety net: the waits are on conditions


# (symbol, side, size, entry, margin mode, position side, leverage, isolated margin, mark, liq, adl, contract size)
EXPECTED_ETH = {
    # ACCOUNT_UPDATE has no mark, liq price, leverage or ADL: leverage and ADL come from the REST context
    "binance": ("ETH/USDT:USDT", "long", 2.5, 3010.0, "isolated", "long", 10.0, 750.0, None, None, 2, 1.0),
    "bybit": ("ETH/USDT:USDT", "long", 2.5, 3010.0, "cross", "both", 10.0, None, 3025.5, 2711.5, 4, 1.0),
    "okx": ("ETH/USDT:USDT", "long", 2.5, 3010.0, "isolated", "long", 10.0, 750.0, 3025.5, 2711.5, 4, 0.1),
    "hyperliquid": ("ETH/USDC:USDC", "long", 2.5, 3010.0, "isolated", "both", 10.0, 750.0, 3025.0, 2711.5, None, 1.0),
}
VENUE_TS = {"binance": 1764064900.123, "bybit": 1764064900.123, "okx": 1764064900.123, "hyperliquid": 1764064900.123}


@pytest.mark.parametrize("venue", VENUES)
def test_a_pushed_position_change_becomes_a_hint(venue: str) -> None:
    async def body(h: Harness) -> None:
        await h.connected()
        assert await h.fake.push(h.fake.message("change")) == 1
        await h.until(lambda: bool(h.hints()))

    h = run(venue, body)
    (hint,) = h.hints()
    assert hint.complete is False
    assert hint.ts == pytest.approx(VENUE_TS[venue])
    eth = [p for p in hint.positions if p.symbol.startswith("ETH/")]
    assert len(eth) == 1
    p = eth[0]
    row = (
        p.symbol,
        p.side,
        round(p.size, 10),
        p.entry_price,
        p.margin_mode,
        p.position_side,
        p.leverage,
        None if p.isolated_margin is None else round(p.isolated_margin, 8),
        p.mark_price,
        p.exchange_liquidation_price,
        p.adl_lights,
        p.contract_size,
    )
    assert row == EXPECTED_ETH[venue]
    # Hyperliquid pushes its whole state: every open position is in the hint
    assert len(hint.positions) == (3 if venue == "hyperliquid" else 1)
    assert [s.state for s in h.statuses()][:2] == ["connecting", "connected"]
    assert h.resyncs == 0
    if venue == "binance":
        # the user-data stream protocol and GETs only; the shared listen key is never deleted
        assert h.fake.listen_key_calls == ["POST"]
        assert {m for m, path, _ in h.fake.requests if path != "/fapi/v1/listenKey"} == {"GET"}


@pytest.mark.parametrize("venue", VENUES)
def test_a_closed_position_requests_a_resync_instead_of_a_hint(venue: str) -> None:
    async def body(h: Harness) -> None:
        await h.connected()
        if venue == "hyperliquid":  # full-state pushes: a position is closed when it is gone
            await h.fake.push(h.fake.message("change"))
            await h.until(lambda: len(h.hints()) == 1)
            assert h.resyncs == 0
        await h.fake.push(h.fake.message("closed"))
        await h.until(lambda: h.resyncs == 1)
        await asyncio.sleep(0.05)

    h = run(venue, body)
    assert h.resyncs == 1
    # the closed SOL position is never emitted (not even with size 0): REST removes it
    for hint in h.hints():
        assert all(not p.symbol.startswith("SOL/") or venue == "hyperliquid" for p in hint.positions)
    if venue == "hyperliquid":
        assert [p.symbol for p in h.hints()[-1].positions] == ["BTC/USDC:USDC", "ETH/USDC:USDC"]
    else:
        assert h.hints() == []


def test_binance_listen_key_expired_reconnects_with_a_new_key() -> None:
    async def body(h: Harness) -> None:
        await h.connected()
        first = h.fake.listen_key
        await h.fake.expire_listen_key()
        await h.connected(2)
        assert h.fake.listen_key not in (None, first)
        await h.fake.push(h.fake.message("change"))
        await h.until(lambda: bool(h.hints()))

    h = run("binance", body)
    states = [(s.state, s.detail) for s in h.statuses()]
    i = states.index(("disconnected", LISTEN_KEY_EXPIRED))
    assert [s for s, _ in states[i:]] == ["disconnected", "reconnecting", "connecting", "connected"]
    assert h.resyncs == 2  # on expiry, and once the new stream is live
    assert h.fake.listen_key_calls == ["POST", "POST"]
    assert len(h.fake.issued_keys) == 2


def test_binance_failed_listen_key_keepalive_is_an_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(private, "LISTEN_KEY_REFRESH_MS", 150)

    async def body(h: Harness) -> None:
        await h.connected()
        await h.until(lambda: h.fake.listen_key_calls.count("PUT") >= 2)  # kept alive, repeatedly
        h.fake.listen_key = None  # expired without an event: the next PUT gets -1125
        await h.until(lambda: any(s.detail == LISTEN_KEY_EXPIRED for s in h.statuses("disconnected")))
        await h.connected(2)

    h = run("binance", body)
    assert h.resyncs >= 2
    assert "DELETE" not in h.fake.listen_key_calls


@pytest.mark.parametrize("venue", VENUES)
def test_a_drop_reconnects_and_requests_resyncs(venue: str) -> None:
    async def body(h: Harness) -> None:
        await h.connected()
        await h.fake.drop()
        await h.connected(2)
        await h.fake.wait_subscribed(2)
        await h.fake.push(h.fake.message("change"))
        await h.until(lambda: bool(h.hints()))

    h = run(venue, body)
    states = [s.state for s in h.statuses()]
    assert states[:2] == ["connecting", "connected"]
    assert states[2:6] == ["disconnected", "reconnecting", "connecting", "connected"]
    assert "network error" in h.statuses("disconnected")[0].detail
    assert h.resyncs == 2  # when it dropped, and once it was live again
    assert h.fake.ws_connections == 2
    assert h.stream.connections == 2


@pytest.mark.parametrize("venue", KEYED)
def test_rejected_credentials_are_an_auth_error_retried_slowly(venue: str) -> None:
    async def body(h: Harness) -> None:
        await h.until(lambda: bool(h.statuses("error")))

    # Binance: an unknown key (listen key refused); Bybit and OKX: the key is known but the
    # websocket signature is wrong (their REST fakes do not check signatures).
    kw = {"key": "wrong-key-0000000000"} if venue == "binance" else {"secret": "wrong-secret-000000000"}
    h = run(venue, body, **kw)
    (error,) = h.statuses("error")
    assert error.detail == f"{venue} account 'main': {AUTH_MESSAGE}"
    assert h.stream.delays == [SLOW_RETRY]
    assert h.resyncs == 0  # never live: nothing was missed
    assert not h.statuses("connected")
    if venue != "binance":
        assert h.fake.auth_failures == 1


def test_malformed_rows_are_skipped_and_the_stream_goes_on() -> None:
    async def body(h: Harness) -> None:
        await h.connected()
        bad = h.fake.message("change")
        bad["a"]["P"][0]["ep"] = "not-a-price"  # an open position without an entry price
        await h.fake.push(bad)
        await h.until(lambda: h.resyncs == 1)  # it changed and cannot be mapped: re-read
        await h.fake.push(h.fake.message("funding"))  # balance only: nothing to say
        await h.fake.push({"e": "ACCOUNT_UPDATE", "E": 1, "a": {"P": [{"s": "ETHUSDT", "pa": "abc"}]}})
        await h.fake.push({"e": "ACCOUNT_UPDATE", "E": 1, "a": {"P": [{"s": "ETHUSDT"}]}})  # size unknown
        await h.fake.push(h.fake.message("change"))
        await h.until(lambda: bool(h.hints()))

    h = run("binance", body)
    (error,) = h.statuses("error")  # once per connection
    assert error.detail.startswith("skipping malformed private position messages")
    assert h.stream.skipped == 2
    assert h.resyncs == 2  # the unmappable row, and the row without a size (maybe closed)
    assert len(h.hints()) == 1
    assert not h.statuses("disconnected")


@pytest.mark.parametrize(
    ("venue", "stream_secrets"),
    [("gate", secrets("gate")), ("bitget", secrets("bitget")), ("binance", Secrets(None, None))],
)
def test_no_private_stream_means_one_status_and_return(venue: str, stream_secrets: Secrets) -> None:
    events: list[Event] = []
    resyncs: list[int] = []
    stream = PositionHintStream(account(venue), stream_secrets, events.append, on_expired=lambda: resyncs.append(1))
    asyncio.run(asyncio.wait_for(stream.run(), WAIT_TIMEOUT))
    assert [(e.state, e.channel, e.detail) for e in events if isinstance(e, Status)] == [
        ("closed", "private", NO_STREAM)
    ]
    assert len(events) == 1
    assert resyncs == []
    assert not stream.available()


def test_errors_are_redacted() -> None:
    key = "my-listen-key-abcdef0123456789"
    stream = PositionHintStream(account("okx"), secrets("okx"), lambda e: None)
    stream._listen_keys.add(key)
    text = f"okx boom {DEFAULT_KEY} {DEFAULT_SECRET} {DEFAULT_PASSPHRASE} ws://h/private/ws?listenKey={key} {key}"
    error = stream._feed_error(RuntimeError(text))
    for value in (DEFAULT_KEY, DEFAULT_SECRET, DEFAULT_PASSPHRASE, key):
        assert value not in error.message
    assert error.message.startswith("okx account 'main': unexpected failure while watching private positions")


@pytest.mark.parametrize(
    ("venue", "ws_url", "base"),
    [
        ("binance", "wss://fstream.binance.com/market/ws", "wss://fstream.binance.com/ws"),
        ("binance", "ws://127.0.0.1:8080/public/ws", "ws://127.0.0.1:8080/ws"),
        ("binance", "wss://fstream.binancefuture.com/ws", "wss://fstream.binancefuture.com/ws"),
        ("binance", "wss://proxy.example/binance/market/ws/", "wss://proxy.example/binance/ws"),
        ("bybit", "wss://stream.bybit.com/v5/public/linear", "wss://stream.bybit.com/v5/private"),
        ("bybit", "wss://proxy.example/bybit/v5/public/linear", "wss://proxy.example/bybit/v5/private"),
        ("bybit", "ws://127.0.0.1:9", "ws://127.0.0.1:9/v5/private"),
        ("okx", "wss://ws.okx.com:8443/ws/v5/public", "wss://ws.okx.com:8443/ws/v5"),
        ("okx", "wss://wspap.okx.com:8443/ws/v5/public?brokerId=9999", "wss://wspap.okx.com:8443/ws/v5"),
        ("hyperliquid", "wss://api.hyperliquid.xyz/ws", "wss://api.hyperliquid.xyz/ws"),
    ],
)
def test_private_url_mapping(venue: str, ws_url: str, base: str) -> None:
    assert private_ws_base(venue, ws_url) == base


def test_binance_private_url_is_the_2026_layout() -> None:
    import ccxt.pro as ccxt_pro

    ex = ccxt_pro.binanceusdm()
    ex.urls["api"]["ws"]["linear"] = private_ws_base("binance", "ws://127.0.0.1:1/market/ws")
    assert ex.get_private_ws_url("linear", "KEY") == "ws://127.0.0.1:1/private/ws?listenKey=KEY"


# --------------------------------------------------------------------------- the margin each venue's formula uses

# venue: (symbol, the margin its formula uses, its liquidation price: None where the push has none)
RECORDED: dict[str, tuple[str, float, float | None]] = {
    "binance": ("BTC/USDT:USDT", 87.1365894, None),  # the docs' ACCOUNT_UPDATE: iw, no price
    "bybit": ("ETH/USDT:USDT", 192.5865, 2587.08),  # 0.15 x (3,851.73 - bustPrice 2,567.82)
    "okx": ("ETH/USDT:USDT", 30.11, 2722.159673530889),
    "hyperliquid": ("ETH/USDC:USDC", 4.981226, 2866.26936529),  # rawUsd + szi x entryPx
}


@pytest.mark.parametrize("venue", VENUES)
def test_recorded_payloads_through_the_private_stream(venue: str) -> None:
    """The stream maps with the REST rules: a recorded push gives the margin the venue's formula
    uses and, where the venue sends a liquidation price, ours within one tick of it."""
    symbol, margin, venue_lp = RECORDED[venue]
    tiers: list[Tiers] = []

    async def body(h: Harness) -> None:
        if venue == "hyperliquid":  # the payload's own maxLeverage, 50
            universe = [
                {**a, "maxLeverage": 50, "marginTableId": 50} if a["name"] == "ETH" else a
                for a in h.fake.data["meta"]["universe"]
            ]
            h.fake.set("meta", {**h.fake.data["meta"], "universe": universe})
        await h.connected()
        await h.fake.push(h.fake.message("recorded"))
        await h.until(lambda: bool(h.hints()))
        rest = RestClient(account(venue, h.fake), secrets(venue))
        try:
            tiers.extend(await rest.fetch_tiers([symbol]))
        finally:
            await rest.close()

    h = run(venue, body)
    (hint,) = h.hints()
    (data,) = [p for p in hint.positions if p.symbol == symbol]
    assert data.margin_mode == "isolated"
    assert data.isolated_margin == pytest.approx(margin, abs=1e-9)
    assert data.exchange_liquidation_price == venue_lp
    assert data.tick_size is not None
    state = State(lambda: hint.ts)
    for table in tiers:
        state.apply(table)
    state.apply(hint)
    (view,) = [v for v in state.snapshot().positions if v.data.symbol == symbol]
    assert view.risk is not None and view.risk.liquidation_price is not None
    if venue_lp is not None:
        assert abs(view.risk.liquidation_price - venue_lp) <= data.tick_size * (1 + 1e-9)
    assert state.mismatches(state.snapshot()) == []


def test_bybit_stream_without_a_bankruptcy_price_uses_the_accounts_taker_rate() -> None:
    """A UTA isolated push (bustPrice ""): the fee to close comes out of positionBalance at the
    account's taker rate, read once over REST like the rest of the position context."""

    async def body(h: Harness) -> None:
        h.fake.set("account_info", {**h.fake.data["account_info"], "marginMode": "ISOLATED_MARGIN"})
        await h.connected()
        await h.fake.push(h.fake.message("uta"))
        await h.until(lambda: bool(h.hints()))

    h = run("bybit", body)
    (data,) = h.hints()[0].positions
    assert (data.margin_mode, data.exchange_liquidation_price) == ("isolated", 57_300.0)
    assert data.isolated_margin == pytest.approx(1500.0, abs=1e-9)
    assert "/v5/account/fee-rate" in h.fake.paths()
