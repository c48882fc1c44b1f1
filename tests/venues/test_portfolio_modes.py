"""Issue #21 point 4, portfolio margin on every venue that offers it: through real ccxt clients
against the fake venue servers (the venues' published shapes, tests/fixtures/<venue>/modes.json and
binance/papi.json cite each), the account says its mode, the venue's ratio (``margin_ratio_venue``)
and the venue's status where it gives one; its cross positions carry the venue's liquidation estimate
labelled as the venue's (``liquidation_price_venue``) and no single-collateral figure of ours; the
margin-ratio alert fires on the venue's ratio against the venue's own liquidation level."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from liqwatch.alerts.engine import AlertEngine
from liqwatch.alerts.model import Alert, Rule
from liqwatch.feeds.events import Event
from liqwatch.feeds.rest import RestClient
from liqwatch.records import snapshot_record
from liqwatch.state import MODE_NOTES, State
from tests.fakes.rest_harness import run
from tests.fakes.rest_server import FakeRestServer

T = 1_764_000_000.0
NOTE = MODE_NOTES["portfolio"]
OURS = ("liquidation_price", "bankruptcy_price", "margin_ratio", "distance_to_liquidation")
ACCOUNT_OURS = ("margin_balance", "maintenance_margin", "margin_ratio", "cross_margin_ratio")


def _okx_liq(fake: FakeRestServer) -> None:
    # OKX sends each position's estimate as liqPx (GET /api/v5/account/positions,
    # https://www.okx.com/docs-v5/en/#trading-account-rest-api-get-positions); the default fixture's
    # cross legs leave it empty
    rows = fake.data["positions"]
    for row, liq in zip(rows, ("41000.5", "80000.1"), strict=False):
        row["liqPx"] = liq


# venue, the venue's ratio (liqwatch's convention), its status, {(symbol, side) of a cross position:
# the venue's liquidation estimate as sent (None where it sends none)}, payload tweak
CASES: list[tuple[str, float | None, str | None, dict[tuple[str, str], float | None], Any]] = [
    # Binance PM: 1 / uniMMR of GET /papi/v1/account, accountStatus; papi positions' liquidationPrice
    ("binance", 1 / 5167.92171923, "NORMAL",
     {("BTC/USDT:USDT", "long"): 38_007.16308568, ("ETH/USDT:USDT", "short"): 4_512.8}, None),
    # Bybit PORTFOLIO_MARGIN: accountMMRate; "liqPrice ... is empty in portfolio margin mode"
    # (https://bybit-exchange.github.io/docs/v5/position): no estimate to label
    ("bybit", 0.0412, None, {("BTC/USDT:USDT", "long"): None, ("SOL/USDT:USDT", "short"): None}, None),
    # OKX acctLv 4: 1 / mgnRatio of /api/v5/account/balance
    ("okx", 1 / 12.5, None, {("BTC/USDT:USDT", "long"): 41_000.5, ("BTC/USDT:USDT", "short"): 80_000.1}, _okx_liq),
    # Gate unified portfolio: 1 / total_maintenance_margin_rate of /unified/accounts
    ("gate", 1 / 8.0, None, {("BTC/USDT:USDT", "long"): 48_213.5, ("BTC/USDT:USDT", "short"): 48_213.5}, None),
    # Deribit cross_pm: total_maintenance_margin_usd / total_margin_balance_usd;
    # estimated_liquidation_price per position
    ("deribit", 12_900.0 / 430_000.0, None,
     {("BTC/USDC:USDC", "long"): 53_687.0, ("SOL/USDC:USDC", "short"): 445.0}, None),
    # Hyperliquid portfolioMargin (pre-alpha): no ratio read (only third-party shapes of
    # spotClearinghouseState.portfolioMarginRatio exist, its direction and trigger unpublished)
    ("hyperliquid", None, None, {("BTC/USDC:USDC", "long"): None, ("SOL/USDC:USDC", "short"): 1_021.9}, None),
]  # fmt: skip


def _read(venue: str, tweak: Any = None, **fields: Any) -> list[Event]:
    """One REST cycle of a portfolio-margin account (positions, balances, mode and ratio, marks),
    as the live feed sinks it."""

    def setup(fake: FakeRestServer) -> None:
        fake.set_mode("portfolio")
        if tweak is not None:
            tweak(fake)
        for name, payload in fields.items():
            fake.data[name] = {**fake.data[name], **payload}

    async def body(fake: FakeRestServer, client: RestClient) -> list[Event]:
        positions, balances = await client.fetch_account_balances()
        mode = await client.fetch_account_mode()
        marks = await client.fetch_marks(sorted({p.symbol for p in positions.positions}))
        return [mode, *balances, positions, *marks]

    return run(venue, body, setup=setup, inverse=False)


def _state(events: list[Event]) -> State:
    state = State(clock=lambda: T)
    for event in events:
        state.apply(event)
    return state


def _ratio_alerts(state: State, *rules: Rule) -> list[Alert]:
    engine = AlertEngine(list(rules), defaults=not rules)
    # the account's cross ratio (an isolated position's own ratio alert names its symbol)
    return [a for a in engine.evaluate(state.snapshot(), T) if a.rule == "margin_ratio" and a.symbol is None]


@pytest.mark.parametrize(("venue", "ratio", "status", "liqs", "tweak"), CASES, ids=[c[0] for c in CASES])
def test_a_portfolio_margin_account_shows_the_venues_figures_and_none_of_ours(
    venue: str, ratio: float | None, status: str | None, liqs: dict[tuple[str, str], float | None], tweak: Any
) -> None:
    state = _state(_read(venue, tweak))
    record = snapshot_record(state.snapshot())
    (acc,) = record["accounts"]
    assert acc["status"] == "ok" and acc["mode"] == "portfolio" and acc["note"] == NOTE
    assert acc["account_status_venue"] == status
    if ratio is None:
        assert acc["margin_ratio_venue"] is None
    else:
        assert acc["margin_ratio_venue"] == pytest.approx(ratio, rel=1e-12)
    for key in ACCOUNT_OURS:  # no single-collateral figure of ours
        assert acc[key] is None, key
    assert acc["margin_ratio_diff"] is None
    cross = {(p["symbol"], p["side"]): p for p in record["positions"] if p["margin_mode"] == "cross"}
    assert set(liqs) <= set(cross)
    for key, liq in liqs.items():
        p = cross[key]
        assert p["liquidation_price_venue"] == p["exchange_liquidation_price"] == liq, key  # the venue's, as sent
        assert p["note"].startswith(NOTE)
    for p in cross.values():
        for key in OURS:
            assert p[key] is None, (p["symbol"], key)

    # the margin-ratio alert runs on the venue's ratio (against the venue's liquidation level)
    if ratio is None:
        assert _ratio_alerts(state, Rule("margin_ratio", (1e-9,), consecutive=1)) == []
        return
    trigger = acc["liquidation_trigger"]
    (alert,) = _ratio_alerts(state, Rule("margin_ratio", (ratio * trigger / 2,), consecutive=1))
    assert alert.value == pytest.approx(ratio * trigger, rel=1e-12)
    assert "the venue's ratio: portfolio account" in alert.message and "\n" not in alert.message


def test_binance_pm_alerts_against_uni_mmr_1_05_not_against_1() -> None:
    """uniMMR 1.2 (Binance PM Pro: "105 % - 120 %: new orders refused"): margin_ratio_venue is
    1 / 1.2 = 0.833 (below the 0.85 level), but Binance liquidates at uniMMR 1.05, i.e. at
    margin_ratio_venue 0.952: against that level the account is at 1.05 / 1.2 = 0.875, past 0.85."""
    state = _state(_read("binance", papi_account={"uniMMR": "1.20000000", "accountStatus": "MARGIN_CALL"}))
    (acc,) = snapshot_record(state.snapshot())["accounts"]
    assert acc["margin_ratio_venue"] == pytest.approx(1 / 1.2, rel=1e-12)
    assert (acc["margin_ratio_native"], acc["margin_ratio_native_name"]) == (1.2, "uniMMR")
    assert acc["liquidation_trigger"] == 1.05 and acc["account_status_venue"] == "MARGIN_CALL"
    (alert,) = _ratio_alerts(state)
    assert alert.level == "0.85" and alert.value == pytest.approx(1.05 / 1.2, rel=1e-12)
    assert "uniMMR 1.2 against the venue's liquidation at uniMMR 1.05" in alert.message


def test_binance_pm_at_uni_mmr_1_05_is_the_venues_liquidation_level() -> None:
    state = _state(_read("binance", papi_account={"uniMMR": "1.05000000", "accountStatus": "ACTIVE_LIQUIDATION"}))
    (alert,) = _ratio_alerts(state)
    assert alert.value == pytest.approx(1.0, rel=1e-12) and alert.severity == "critical"


def test_other_venues_portfolio_ratio_is_against_100_percent() -> None:
    """Only Binance PM liquidates elsewhere than at liqwatch's 1.0: every other portfolio mode has
    ``liquidation_trigger`` 1 and no native figure of its own in watch's record."""
    for venue in ("bybit", "okx", "gate", "deribit"):
        (acc,) = snapshot_record(_state(_read(venue)).snapshot())["accounts"]
        assert acc["liquidation_trigger"] == 1.0, venue
        assert acc["margin_ratio_native"] is None and acc["margin_ratio_native_name"] is None, venue


def test_the_card_of_a_binance_pm_account_says_its_status_and_the_venues_level() -> None:
    from liqwatch.tui.app import LiqwatchApp
    from liqwatch.tui.widgets.account_strip import AccountCard
    from tests.tui.test_account_card import card_lines
    from tests.tui.test_tui import Clock, until

    # uniMMR 1.45: 1 / 1.45 = 0.690 is below the danger band (0.7), 1.05 / 1.45 = 0.724 is in it
    events = _read("binance", papi_account={"uniMMR": "1.45000000", "accountStatus": "MARGIN_CALL"})
    app = LiqwatchApp([], clock=Clock(T), refresh_seconds=3600, autostart=False, show_clock=False)
    for event in events:
        app.monitor.state.apply(event)

    async def card() -> tuple[list[str], bool]:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: bool(app.query(AccountCard)))
            widget = app.query_one(AccountCard)
            await until(pilot, lambda: "venue ratio" in " ".join(card_lines(app, widget)))
            return card_lines(app, widget), widget.has_class("-danger")

    lines, danger = asyncio.run(card())
    assert lines[1] == "portfolio margin · venue ratio 68.97% · MARGIN_CALL"
    assert lines[2].endswith(" venue (liq. at 95.24%)")
    assert danger  # against the venue's liquidation level, not against 1.0


def test_a_binance_pm_accounts_private_stream_is_papis() -> None:
    """The position hints of a portfolio-margin account come from the PM user-data stream: the
    listen key of POST /papi/v1/listenKey (fapi's refuses a PM key), the socket /pm/ws/<key>;
    its ACCOUNT_UPDATE rows are hints as on fapi."""
    from tests.fakes.private_harness import Harness, secrets
    from tests.fakes.private_server import FakePrivateServer
    from tests.fakes.ws_server import WAIT_TIMEOUT

    async def main() -> tuple[Harness, list[str]]:
        async with FakePrivateServer("binance") as fake:
            fake.set_mode("portfolio")
            h = Harness(fake, secrets("binance"))
            h.task = asyncio.create_task(h.stream.run())
            try:
                await h.connected()
                await fake.push(fake.message("change"))
                await h.until(lambda: bool(h.hints()))
            finally:
                h.task.cancel()
                with pytest.raises(asyncio.CancelledError):
                    await h.task
            h.assert_clean()
            return h, fake.paths()

    h, paths = asyncio.run(asyncio.wait_for(main(), 2 * WAIT_TIMEOUT))
    assert "/papi/v1/listenKey" in paths and "/fapi/v1/listenKey" not in paths
    assert h.fake.ws_connections == 1 and not h.statuses("error")
    (hint,) = h.hints()
    assert [(p.symbol, p.side, p.size) for p in hint.positions] == [("ETH/USDT:USDT", "long", 2.5)]


def test_a_live_binance_pm_account_end_to_end() -> None:
    """The live feed (real ccxt and websockets clients against the fake Binance) of a PM account:
    its positions come through papi, watch's record says the mode, the venue's ratio, native figure,
    trigger and status, and each cross position the venue's liquidation price, none of ours."""
    from liqwatch.config import AccountConfig
    from liqwatch.feeds.live import VenueFeed
    from liqwatch.monitor import Monitor
    from tests.fakes.rest_server import DEFAULT_KEY
    from tests.fakes.ws_server import WAIT_TIMEOUT, FakeWsServer

    async def body() -> dict[str, Any]:
        async with FakeRestServer("binance") as rest, FakeWsServer("binance") as ws:
            rest.set_mode("portfolio")
            account = AccountConfig(
                name="main",
                exchange="binance",
                api_key_env="LW_KEY",
                api_secret_env="LW_SECRET",
                rest_url=rest.url,
                ws_url=ws.url,
                inverse=False,
            )
            monitor = Monitor([VenueFeed(account, environ={"LW_KEY": DEFAULT_KEY, "LW_SECRET": "s"})])
            monitor.start()
            try:
                state = monitor.state

                async def ready() -> None:
                    while not ("main" in state.accounts and state.accounts["main"].positions):
                        await asyncio.sleep(0.02)

                await asyncio.wait_for(ready(), WAIT_TIMEOUT)
                return snapshot_record(state.snapshot())
            finally:
                await monitor.stop()

    record = asyncio.run(body())
    (acc,) = record["accounts"]
    assert acc["status"] == "ok" and acc["error"] is None
    assert (acc["mode"], acc["account_status_venue"], acc["liquidation_trigger"]) == ("portfolio", "NORMAL", 1.05)
    assert acc["margin_ratio_venue"] == pytest.approx(1 / 5167.92171923, rel=1e-12)
    assert (acc["margin_ratio_native"], acc["margin_ratio_native_name"]) == (5167.92171923, "uniMMR")
    assert acc["margin_ratio"] is None and acc["wallet_balance"] == 12_000.0
    got = {
        (p["symbol"], p["side"]): (p["liquidation_price_venue"], p["liquidation_price"]) for p in record["positions"]
    }
    assert got == {("BTC/USDT:USDT", "long"): (38_007.16308568, None), ("ETH/USDT:USDT", "short"): (4_512.8, None)}


def test_a_multi_assets_account_quoting_its_ratio_the_other_way_up_has_it_as_native() -> None:
    """OKX acctLv 3 ``mgnRatio`` and Gate multi_currency ``total_maintenance_margin_rate`` (equity /
    MM) are watch's ``margin_ratio_native`` as sent, beside ``margin_ratio_venue`` (their inverse)."""
    for venue, native, name in (
        ("okx", 149.019, "mgnRatio"),
        ("gate", 16499.135678363399, "total_maintenance_margin_rate"),
    ):

        def setup(fake: FakeRestServer) -> None:
            fake.set_mode("multi_assets")

        async def body(fake: FakeRestServer, client: RestClient) -> list[Event]:
            positions, balances = await client.fetch_account_balances()
            return [await client.fetch_account_mode(), *balances, positions]

        (acc,) = snapshot_record(_state(run(venue, body, setup=setup, inverse=False)).snapshot())["accounts"]
        assert (acc["margin_ratio_native"], acc["margin_ratio_native_name"]) == (native, name), venue
        assert acc["margin_ratio_venue"] == pytest.approx(1 / native, rel=1e-12) and acc["liquidation_trigger"] == 1.0


def test_a_binance_pm_account_without_positions_is_still_watched_on_its_ratio() -> None:
    """uniMMR covers the whole account (margin loans too): a PM account holding no futures position
    still gets the margin-ratio alert on the venue's ratio."""

    def no_positions(fake: FakeRestServer) -> None:
        fake.data["papi"]["um_positionRisk"] = []

    state = _state(_read("binance", no_positions, papi_account={"uniMMR": "1.10000000"}))
    (alert,) = _ratio_alerts(state)
    assert alert.value == pytest.approx(1.05 / 1.1, rel=1e-12) and alert.level == "0.85"
    assert alert.message.startswith("main: cross margin ratio 95.5% ≥ 85.0% (no cross position; the venue's ratio")


def test_a_pm_record_read_back_from_the_bus_keeps_the_venues_status_native_figure_and_trigger() -> None:
    """A dashboard on the bus rebuilds the account from watch's record: the same venue ratio,
    status, uniMMR and trigger (the card and the alert of a remote dashboard say the same)."""
    from liqwatch.bus.feed import snapshot_events

    events = _read("binance", papi_account={"uniMMR": "1.20000000", "accountStatus": "MARGIN_CALL"})
    sent = snapshot_record(_state(events).snapshot()) | {"group": "g1", "ts": T}
    (acc,) = snapshot_record(_state(snapshot_events(sent)).snapshot())["accounts"]
    keys = ("mode", "margin_ratio_venue", "account_status_venue", "margin_ratio_native", "margin_ratio_native_name")
    assert {k: acc[k] for k in (*keys, "liquidation_trigger")} == {
        **{k: sent["accounts"][0][k] for k in keys},
        "liquidation_trigger": 1.05,
    }
    assert acc["account_status_venue"] == "MARGIN_CALL" and acc["margin_ratio_native"] == 1.2
