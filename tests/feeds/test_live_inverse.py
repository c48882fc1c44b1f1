"""A live account holding linear and coin-margined (inverse) positions end to end (issue #12): the
venue feed with ``inverse = true`` against the fake REST and websocket servers, through the monitor
and the state store to `liqwatch watch`'s records: the inverse mark arrives over the venue's inverse
stream, each pool has its wallet, and the venue's liquidation price sits beside ours."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from liqwatch.config import AccountConfig
from liqwatch.core import assess, get_venue
from liqwatch.feeds.events import Balance, Event, MarkPrice, PositionData, Positions, Status
from liqwatch.feeds.live import VenueFeed
from liqwatch.monitor import Monitor
from liqwatch.records import pools_record, snapshot_record
from liqwatch.state import State
from tests.fakes.rest_server import DEFAULT_KEY, FakeRestServer
from tests.fakes.ws_server import WAIT_TIMEOUT, FakeWsServer
from tests.venues.test_inverse_live import CASES, EP, WALLET, put_positions, put_wallet

ENV = {"LW_KEY": DEFAULT_KEY, "LW_SECRET": "fake-secret-abcdef123456", "LW_PASS": "pass-PHRASE-9876"}
INVERSE = "BTC/USD:BTC"
NATIVE = {"binance": "BTCUSD_PERP", "bybit": "BTCUSD", "gate": "BTC_USD"}
INVERSE_PATH = {"bybit": "/v5/public/inverse", "gate": "/v4/ws/btc"}


async def until(predicate: Callable[[], bool], timeout: float = WAIT_TIMEOUT) -> None:
    async def poll() -> None:
        while not predicate():
            await asyncio.sleep(0.02)

    await asyncio.wait_for(poll(), timeout)


@pytest.mark.parametrize("venue", ["binance", "bybit", "gate"])
def test_live_account_with_linear_and_inverse_positions(venue: str) -> None:
    async def body() -> None:
        async with FakeRestServer(venue) as rest, FakeWsServer(venue) as ws:
            rest.add_inverse()
            case = CASES[venue](rest.data)
            put_positions(venue, rest, [case.row], keep_linear=True)
            put_wallet(venue, rest, dict(case.wallet_fields))
            if venue == "bybit":  # a classic account (one wallet per coin): a unified one in cross
                rest.set_mode("classic")  # margin is multi-assets, which liqwatch does not compute yet
            account = AccountConfig(
                name="main",
                exchange=venue,
                api_key_env="LW_KEY",
                api_secret_env="LW_SECRET",
                rest_url=rest.url,
                ws_url=ws.url,
                reconcile_seconds=0.3,
                inverse=True,
            )
            monitor = Monitor([VenueFeed(account, environ=ENV)])
            monitor.start()
            try:
                state = monitor.state
                await until(lambda: NATIVE[venue] in ws.subscribed())
                price = EP + 500.0
                await until(lambda: "main" in state.accounts and INVERSE in state.accounts["main"].marks)

                async def streamed() -> bool:
                    await ws.push_mark(NATIVE[venue], price)
                    mark = state.accounts["main"].marks.get(INVERSE)
                    return mark is not None and mark.price == price

                async with asyncio.timeout(WAIT_TIMEOUT):
                    while not await streamed():
                        await asyncio.sleep(0.02)
                record = snapshot_record(state.snapshot())
            finally:
                await monitor.stop()
            (acc,) = record["accounts"]
            positions = {(p["symbol"], p["side"]): p for p in record["positions"]}
            inverse = positions[(INVERSE, "long")]
            assert inverse["mark_price"] == price  # from the inverse stream, not REST's 61,000
            assert inverse["exchange_liquidation_price"] == pytest.approx(case.liq)
            assert abs(inverse["liquidation_price_diff_ticks"]) <= 1.0
            linear = [p for (symbol, _side), p in positions.items() if not symbol.endswith(":BTC")]
            assert linear and all(p["liquidation_price"] is not None for p in linear if p["margin_mode"] == "isolated")
            assert INVERSE_PATH.get(venue, ws.path) in ws.paths  # the venue's inverse endpoint
            wallets = state.snapshot().accounts[0].wallets
            assert wallets["BTC"] == pytest.approx(WALLET, abs=1e-8) and "USDT" in wallets
            assert acc["exchange"] == venue
            # one pool per settle currency, the keys of calc --json's account.pools
            pools = {p["settle"]: p for p in acc["pools"]}
            assert set(pools) == {"USDT", "BTC"} and acc["pools"][0]["settle"] == "USDT"
            calc_keys = set(pools_record(assess(get_venue("binance"), [], 0.0), get_venue("binance"))["pools"][0])
            assert all(set(p) == calc_keys for p in acc["pools"])
            assert pools["BTC"]["cross_wallet_balance"] == pytest.approx(WALLET, abs=1e-8)
            assert pools["USDT"]["cross_wallet_balance"] == pytest.approx(wallets["USDT"])

    asyncio.run(asyncio.wait_for(body(), 4 * WAIT_TIMEOUT))


def test_live_inverse_position_falls_back_to_the_bundled_coin_margined_table() -> None:
    """The venue gives no brackets for the coin-margined market: the bundled (or cached) inverse
    table prices the position, said in its note, rather than 'no tier table'."""

    async def body() -> None:
        async with FakeRestServer("binance") as rest, FakeWsServer("binance") as ws:
            rest.add_inverse()
            rest.data["dapi_leverageBracket"] = []
            case = CASES["binance"](rest.data)
            put_positions("binance", rest, [case.row], keep_linear=False)
            put_wallet("binance", rest, dict(case.wallet_fields))
            account = AccountConfig(
                name="main",
                exchange="binance",
                api_key_env="LW_KEY",
                api_secret_env="LW_SECRET",
                rest_url=rest.url,
                ws_url=ws.url,
                reconcile_seconds=0.3,
                inverse=True,
            )
            monitor = Monitor([VenueFeed(account, environ=ENV)])
            monitor.start()
            try:
                state = monitor.state

                def priced() -> bool:
                    views = [v for v in state.snapshot().positions if v.data.inverse]
                    return bool(views) and views[0].risk is not None

                await until(priced)
                (view,) = [v for v in state.snapshot().positions if v.data.inverse]
            finally:
                await monitor.stop()
            assert view.risk is not None and view.risk.liquidation_price is not None
            assert view.risk.spec.symbol == INVERSE and view.risk.spec.tiers.basis == "notional"
            assert "bundled tiers" in view.note
            assert view.risk.liquidation_price == pytest.approx(case.liq, rel=1e-6)

    asyncio.run(asyncio.wait_for(body(), 4 * WAIT_TIMEOUT))


def test_watch_account_record_lists_a_pool_per_settle_currency() -> None:
    """`liqwatch watch`'s account record: ``pools`` as calc's (same keys), one per settle currency;
    while a cross pool waits for its wallet, the wallets read so far with nulls for the rest."""
    state = State(clock=lambda: 1_790_000_000.0)
    common = {"account": "main", "exchange": "binance", "ts": 1_790_000_000.0}
    row = PositionData(
        symbol=INVERSE, side="long", size=30_000.0, entry_price=60_000.0, leverage=10.0, inverse=True, settle="BTC"
    )
    state.apply(MarkPrice(**common, symbol=INVERSE, price=60_000.0))
    state.apply(Positions(**common, positions=[row]))
    state.apply(Balance(**common, wallet_balance=1_000.0, currency="USDT"))
    calc_keys = list(pools_record(assess(get_venue("binance"), [], 0.0), get_venue("binance"))["pools"][0])
    (waiting,) = snapshot_record(state.snapshot())["accounts"]
    nulls = dict.fromkeys(calc_keys[2:])
    assert waiting["pools"] == [{"settle": "USDT", "wallet_balance": 1_000.0, **nulls, "cross_wallet_balance": 1_000.0}]
    assert waiting["status"] == "connecting" and waiting["wallet_balance"] is None  # no figures until "ok"
    assert list(waiting["pools"][0]) == calc_keys
    state.apply(Balance(**common, wallet_balance=0.5, currency="BTC"))
    (acc,) = snapshot_record(state.snapshot())["accounts"]
    assert [p["settle"] for p in acc["pools"]] == ["USDT", "BTC"]
    usdt, btc = acc["pools"]
    assert all(list(p) == calc_keys for p in acc["pools"])
    assert usdt["wallet_balance"] == 1_000.0 and usdt["maintenance_margin"] == 0.0
    # the BTC pool: 30,000 USD face at 60,000 on a 0.5 BTC wallet, tier 1 (0.4 %) of the bundled table
    assert btc["cross_wallet_balance"] == 0.5
    assert btc["maintenance_margin"] == pytest.approx(30_000 / 60_000 * 0.004, rel=1e-12)
    assert acc["wallet_balance"] == 1_000.0  # the existing keys stay


def test_a_key_without_coin_m_permission_is_one_note_and_the_linear_account_goes_on() -> None:
    """Default config (coin-margined read where listed), a Binance key without COIN-M permission:
    one ``connected`` note on the REST channel saying so, never an error, and the linear positions
    are priced read after read."""

    async def body() -> list[Event]:
        async with FakeRestServer("binance") as rest, FakeWsServer("binance") as ws:
            rest.add_inverse()
            rest.data["dapi_denied"] = True
            account = AccountConfig(
                name="main",
                exchange="binance",
                api_key_env="LW_KEY",
                api_secret_env="LW_SECRET",
                rest_url=rest.url,
                ws_url=ws.url,
                reconcile_seconds=0.05,
            )
            events: list[Event] = []
            monitor = Monitor([VenueFeed(account, environ=ENV)], on_event=events.append)
            monitor.start()
            try:
                await until(lambda: sum(isinstance(e, Positions) for e in events) >= 3)
                views = monitor.state.snapshot().positions
                assert views and all(not v.data.inverse for v in views)
                assert any(v.risk is not None for v in views)
            finally:
                await monitor.stop()
            return events

    events = asyncio.run(asyncio.wait_for(body(), 4 * WAIT_TIMEOUT))
    notes = [e for e in events if isinstance(e, Status) and "coin-margined" in e.detail]
    (note,) = notes
    assert note.state == "connected" and note.channel == "rest" and "inverse = false" in note.detail
    assert not [e for e in events if isinstance(e, Status) and e.state == "error"]
