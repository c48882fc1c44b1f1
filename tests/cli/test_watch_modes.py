"""Issue #21, safety: an account that is not single-collateral (multi-assets, portfolio margin, a
mode that could not be read) never shows a liqwatch margin ratio, liquidation, bankruptcy price or
distance: watch's JSON has nulls and says why, the card shows the mode and the venue's ratio, and
the margin-ratio alert runs on the venue's ratio. A single account's records are today's plus the
added keys."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest

from liqwatch.alerts.engine import AlertEngine
from liqwatch.feeds.events import AccountMode, Balance, Event, MarkPrice, PositionData, Positions
from liqwatch.records import snapshot_record
from liqwatch.state import MODE_NOTES, POOLED_NOTE, State
from liqwatch.tui.app import LiqwatchApp
from liqwatch.tui.widgets.account_strip import AccountCard
from tests.tui.test_account_card import card_lines
from tests.tui.test_tui import Clock, until

T = 1_764_000_000.0
VENUE_LIQ = 48_250.0  # the venue's own estimate on the cross BTC position (Binance liquidationPrice)
POSITIONS: list[dict[str, Any]] = [
    {"symbol": "BTC/USDT:USDT", "side": "long", "size": 0.5, "entry_price": 60_000.0, "margin_mode": "cross",
     "leverage": 10.0, "exchange_liquidation_price": VENUE_LIQ},
    {"symbol": "ETH/USDT:USDT", "side": "long", "size": 10.0, "entry_price": 3_000.0, "margin_mode": "isolated",
     "leverage": 10.0, "isolated_margin": 3_000.0},
]  # fmt: skip
MARKS = {"BTC/USDT:USDT": 61_000.0, "ETH/USDT:USDT": 3_050.0}
ADDED_ACCOUNT_KEYS = ("mode", "mode_detail", "margin_ratio_venue", "margin_ratio_diff", "note")
ADDED_POSITION_KEYS = ("liquidation_price_venue",)
NULL_FIGURES = ("liquidation_price", "bankruptcy_price", "margin_ratio", "distance_to_liquidation")


def _events(mode: AccountMode | None) -> list[Event]:
    base: list[Event] = [] if mode is None else [mode]
    return [
        *base,
        Balance(account="main", exchange="binance", ts=T, wallet_balance=14_000.0),
        Positions(account="main", exchange="binance", ts=T, positions=[PositionData(**p) for p in POSITIONS]),
        *(MarkPrice(account="main", exchange="binance", ts=T, symbol=s, price=p) for s, p in MARKS.items()),
    ]


def _mode(mode: str, ratio: float | None = 0.123, detail: str = "", **inputs: Any) -> AccountMode:
    return AccountMode(
        account="main",
        exchange="binance",
        ts=T,
        mode=mode,  # type: ignore[arg-type]
        mode_detail=detail or f"binance {mode}",
        margin_ratio_venue=ratio,
        venue_inputs=inputs,
    )


def _state(mode: AccountMode | None) -> State:
    state = State(clock=lambda: T)
    for event in _events(mode):
        state.apply(event)
    return state


def _record(mode: AccountMode | None) -> dict[str, Any]:
    return snapshot_record(_state(mode).snapshot())


@pytest.mark.parametrize("mode", ["multi_assets", "portfolio", "unknown"])
def test_an_account_that_is_not_single_has_no_figure_of_ours(mode: str) -> None:
    record = _record(_mode(mode, detail="binance multiAssetsMargin true (Multi-Assets Mode)"))
    single = _record(None)
    (acc,) = record["accounts"]
    assert acc["status"] == "ok"
    assert acc["mode"] == mode and acc["mode_detail"] == "binance multiAssetsMargin true (Multi-Assets Mode)"
    assert acc["margin_ratio_venue"] == 0.123 and acc["margin_ratio_diff"] is None
    assert acc["note"] == MODE_NOTES[mode]
    for key in ("margin_balance", "maintenance_margin", "margin_ratio", "cross_margin_ratio"):
        assert acc[key] is None, key
    assert all(p["margin_ratio"] is None and p["maintenance_margin"] is None for p in acc["pools"])
    btc, eth = record["positions"]
    for key in NULL_FIGURES:
        assert btc[key] is None, key
    assert btc["liquidation_price_venue"] == btc["exchange_liquidation_price"] == VENUE_LIQ  # labelled the venue's
    assert btc["note"].startswith(MODE_NOTES[mode])
    # the isolated position keeps its own figures: its margin is its own, whatever the mode
    assert eth == single["positions"][1]
    assert eth["liquidation_price"] is not None


def test_the_multi_assets_note_is_the_issue_text() -> None:
    assert MODE_NOTES["multi_assets"] == (
        "multi-assets account: liqwatch does not compute it yet; the venue's ratio is shown"
    )


def test_a_single_account_is_todays_record_plus_the_added_keys() -> None:
    """Byte-identical apart from the added keys: without a mode event (the demo, a replay) and with
    a ``single`` one, the records hold today's keys with today's values."""
    before = _record(None)
    after = _record(_mode("single", ratio=None, detail="binance multiAssetsMargin false (Single-Asset Mode)"))
    for acc in (before["accounts"][0], after["accounts"][0]):
        assert set(ADDED_ACCOUNT_KEYS) <= set(acc)
    strip = lambda doc: {  # noqa: E731
        "accounts": [{k: v for k, v in a.items() if k not in ADDED_ACCOUNT_KEYS} for a in doc["accounts"]],
        "positions": [{k: v for k, v in p.items() if k not in ADDED_POSITION_KEYS} for p in doc["positions"]],
    }
    assert strip(before) == strip(after)
    acc = after["accounts"][0]
    assert acc["mode"] == "single" and acc["note"] is None and acc["margin_ratio"] is not None
    assert before["accounts"][0]["mode"] == "single" and before["accounts"][0]["mode_detail"] is None


def test_our_ratio_against_the_venues_is_a_diff_logged_once(caplog: pytest.LogCaptureFixture) -> None:
    ours = _record(None)["accounts"][0]["margin_ratio"]
    venue = ours * 1.05  # 5 % away: logged (over 1 % of the ratio)
    state = _state(_mode("single", ratio=venue, totalMaintMargin=1.5, totalMarginBalance=2.5))
    with caplog.at_level(logging.WARNING, logger="liqwatch.state"):
        record = snapshot_record(state.snapshot())
        snapshot_record(state.snapshot())
    acc = record["accounts"][0]
    assert acc["margin_ratio_venue"] == venue
    assert acc["margin_ratio_diff"] == pytest.approx(ours - venue, rel=1e-12)
    (line,) = [r.getMessage() for r in caplog.records]
    assert "binance account 'main'" in line and "totalMaintMargin 1.5" in line and "totalMarginBalance 2.5" in line
    assert "\n" not in line

    caplog.clear()
    close = _state(_mode("single", ratio=ours * 1.005))  # 0.5 %: not logged
    with caplog.at_level(logging.WARNING, logger="liqwatch.state"):
        snapshot_record(close.snapshot())
    assert caplog.records == []


def test_the_margin_ratio_alert_runs_on_the_venue_ratio_when_ours_is_null() -> None:
    engine = AlertEngine()
    fired = engine.evaluate(_state(_mode("multi_assets", ratio=0.9)).snapshot(), T)
    ratio = [a for a in fired if a.rule == "margin_ratio"]
    assert [a.level for a in ratio] == ["0.85"]
    assert "the venue's ratio: multi_assets account" in ratio[0].message
    # no venue ratio: nothing to run on (never our absent figure, never an "all clear")
    quiet = AlertEngine().evaluate(_state(_mode("portfolio", ratio=None)).snapshot(), T)
    assert [a for a in quiet if a.rule == "margin_ratio"] == []


def test_the_card_says_the_mode_and_the_venue_ratio_instead_of_figures() -> None:
    clock = Clock(T)
    app = LiqwatchApp([], clock=clock, refresh_seconds=3600, autostart=False, show_clock=False)
    for event in _events(_mode("multi_assets", ratio=0.123)):
        app.monitor.state.apply(event)

    async def card() -> list[str]:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: bool(app.query(AccountCard)))
            widget = app.query_one(AccountCard)
            await until(pilot, lambda: "venue ratio" in " ".join(card_lines(app, widget)))
            return card_lines(app, widget)

    lines = asyncio.run(card())
    assert lines[1] == "multi-assets · venue ratio 12.30%"
    assert "equity" not in " ".join(lines) and lines[2].endswith("venue")


def test_a_live_multi_assets_account_end_to_end() -> None:
    """Real ccxt and websockets clients against the fake Binance: the feed reads the mode at
    connect (multiAssetsMargin true) before any figure is computed, and the venue ratio from the
    balance's /fapi/v3/account; watch's record says so and prints no figure of ours."""
    from liqwatch.config import AccountConfig
    from liqwatch.feeds.live import VenueFeed
    from liqwatch.monitor import Monitor
    from tests.fakes.rest_server import DEFAULT_KEY, FakeRestServer
    from tests.fakes.ws_server import WAIT_TIMEOUT, FakeWsServer

    async def body() -> dict[str, Any]:
        async with FakeRestServer("binance") as rest, FakeWsServer("binance") as ws:
            rest.set_mode("multi_assets")
            account = AccountConfig(
                name="main",
                exchange="binance",
                api_key_env="LW_KEY",
                api_secret_env="LW_SECRET",
                rest_url=rest.url,
                ws_url=ws.url,
                reconcile_seconds=0.3,
            )
            seen: list[Event] = []
            feed = VenueFeed(account, environ={"LW_KEY": DEFAULT_KEY, "LW_SECRET": "s"})
            monitor = Monitor([feed], on_event=seen.append)
            monitor.start()
            try:
                state = monitor.state

                async def ready() -> None:
                    while not ("main" in state.accounts and state.accounts["main"].positions):
                        await asyncio.sleep(0.02)

                await asyncio.wait_for(ready(), WAIT_TIMEOUT)
                first_mode = next(i for i, e in enumerate(seen) if e.type == "account_mode")
                first_positions = next(i for i, e in enumerate(seen) if e.type == "positions")
                assert first_mode < first_positions  # the mode is known before the first figure
                return snapshot_record(state.snapshot())
            finally:
                await monitor.stop()

    record = asyncio.run(body())
    (acc,) = record["accounts"]
    assert acc["mode"] == "multi_assets" and acc["mode_detail"] == "binance multiAssetsMargin true (Multi-Assets Mode)"
    assert acc["margin_ratio_venue"] == pytest.approx(262.575 / 26252.5, rel=1e-12)
    # the assets and /fapi/v1/assetIndex rates were read: liqwatch's own figures, from the collateral
    assert acc["note"] == POOLED_NOTE
    assert acc["margin_ratio"] == pytest.approx(acc["maintenance_margin"] / acc["margin_balance"], rel=1e-12)
    assert acc["margin_ratio_diff"] == pytest.approx(acc["margin_ratio"] - acc["margin_ratio_venue"], rel=1e-12)
    cross = [p for p in record["positions"] if p["margin_mode"] == "cross"]
    assert cross and all(p["note"] == POOLED_NOTE for p in cross)
    assert all(p["bankruptcy_price"] is None and p["margin_ratio"] is None for p in cross)  # single-collateral ones
    assert all(p["liquidation_price"] is not None for p in cross)
    assert any(p["liquidation_price_venue"] is not None for p in cross)


def test_a_multi_assets_account_without_collateral_rows_has_no_figure_of_ours() -> None:
    """No collateral rows (a venue liqwatch cannot value, or a BNFCR credit without a rate): no
    figure of ours, the issue's note."""
    state = _state(None)
    event = _mode("multi_assets", ratio=0.01)
    state.apply(event)
    record = snapshot_record(state.snapshot())
    assert record["accounts"][0]["margin_ratio"] is None and record["accounts"][0]["note"] == MODE_NOTES["multi_assets"]


# Hand-derived Binance Multi-Assets account (rules: Binance FAQ "How to calculate margin in
# Multi-Assets Mode", https://www.binance.com/en/support/faq/how-to-calculate-margin-in-multi-assets-mode-c983a9268cfa4e70a4916c276bb3b7bc:
# Account Equity = sum min(equity x bidRate, equity x askRate), MM in USD at the ask rate; its
# USDTUSD numbers: index 0.99, bid rate 0.99 x 0.99 = 0.9801, ask rate 0.99 x 1.005 = 0.99495).
# One cross BTC long 0.5 @ 60,000, mark 61,000; collateral 14,000 USDT and 0.1 BTC (index 61,000,
# 5 % buffers). Bracket 1 of BTCUSDT: MMR 0.4 %, no maintenance amount.
#   USDT equity 14,000 + 0.5 x 1,000 = 14,500 -> x 0.9801 = 14,211.45
#   BTC 0.1 x 61,000 x 0.95 = 5,795                -> effective equity 20,006.45
#   MM 0.5 x 61,000 x 0.004 = 122 USDT x 0.99495 = 121.3839 USD -> ratio 121.3839 / 20,006.45
# Liquidation (BTC collateral moves with the mark, p = P): the USDT equity turns negative first
# (14,000 + 0.5 (P - 60,000) < 0 below 32,000), valued at the ask rate 0.99495:
#   0.99495 (0.5 P - 16,000) + 0.1 x 0.95 P = 0.5 x 0.004 x 0.99495 P
#   P = 15,919.2 / (0.497475 + 0.095 - 0.0019899) = 26,959.30...
HAND_POSITION = {"symbol": "BTC/USDT:USDT", "side": "long", "size": 0.5, "entry_price": 60_000.0,
                 "margin_mode": "cross", "leverage": 10.0}  # fmt: skip


def test_a_binance_multi_assets_account_by_hand() -> None:
    from liqwatch.feeds.events import CollateralRow

    state = State(clock=lambda: T)
    mode = _mode("multi_assets", ratio=0.0061).model_copy(
        update={
            "collateral": [
                CollateralRow(asset="USDT", amount=14_000.0, price=0.99, bid_buffer=0.01, ask_buffer=0.005),
                CollateralRow(asset="BTC", amount=0.1, price=61_000.0, bid_buffer=0.05, ask_buffer=0.05),
            ]
        }
    )
    for event in (
        mode,
        Balance(account="main", exchange="binance", ts=T, wallet_balance=14_000.0),
        Positions(account="main", exchange="binance", ts=T, positions=[PositionData(**HAND_POSITION)]),
        MarkPrice(account="main", exchange="binance", ts=T, symbol="BTC/USDT:USDT", price=61_000.0),
    ):
        state.apply(event)
    record = snapshot_record(state.snapshot())
    (acc,) = record["accounts"]
    (btc,) = record["positions"]
    assert acc["margin_balance"] == pytest.approx(14_500 * 0.9801 + 0.1 * 61_000 * 0.95, rel=1e-12)
    assert acc["maintenance_margin"] == pytest.approx(0.5 * 61_000 * 0.004 * 0.99495, rel=1e-12)
    assert acc["margin_ratio"] == pytest.approx(121.3839 / 20_006.45, rel=1e-12)
    assert acc["margin_ratio_diff"] == pytest.approx(121.3839 / 20_006.45 - 0.0061, rel=1e-9)
    liq = 0.99495 * 16_000 / (0.99495 * 0.5 + 0.1 * 0.95 - 0.5 * 0.004 * 0.99495)
    assert btc["liquidation_price"] == pytest.approx(liq, rel=1e-9)
    assert btc["distance_to_liquidation"] == pytest.approx((61_000 - liq) / 61_000, rel=1e-9)
    assert btc["bankruptcy_price"] is None and btc["margin_ratio"] is None


def test_the_dashboard_charts_the_venue_ratio_and_offers_no_what_if_for_a_multi_assets_account() -> None:
    """The card's history is the venue's ratio (not the isolated-only ratio the core assessed), the
    ladder leaves the account out, and the what-if on its isolated position says why it is refused."""
    clock = Clock(T)
    app = LiqwatchApp([], clock=clock, refresh_seconds=3600, autostart=False, show_clock=False)
    for event in _events(_mode("multi_assets", ratio=0.123)):
        app.monitor.state.apply(event)

    async def go() -> tuple[list[float], list[str]]:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: bool(app.query(AccountCard)))
            app._record(app.monitor.state.snapshot())
            ratios = [p[1] for p in app.ratios.points("main")]
            table = app.query_one("PositionsTable")
            notes: list[str] = []
            app.notify = lambda message, **kw: notes.append(str(message))  # type: ignore[method-assign]
            for _ in range(2):  # each row: the cross BTC (no figures) and the isolated ETH
                app.action_whatif()
                await pilot.press("down")
            assert table is not None
            return ratios, notes

    ratios, notes = asyncio.run(go())
    assert ratios == [0.123]
    assert notes and all("multi_assets account" in n for n in notes)


def test_the_card_of_a_multi_assets_account_computed_from_its_collateral() -> None:
    from liqwatch.feeds.events import CollateralRow

    clock = Clock(T)
    app = LiqwatchApp([], clock=clock, refresh_seconds=3600, autostart=False, show_clock=False)
    rows = [CollateralRow(asset="USDT", amount=14_000.0, price=0.99, bid_buffer=0.01, ask_buffer=0.005)]
    for event in _events(_mode("multi_assets", ratio=0.0061).model_copy(update={"collateral": rows})):
        app.monitor.state.apply(event)

    async def card() -> list[str]:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: bool(app.query(AccountCard)))
            widget = app.query_one(AccountCard)
            await until(pilot, lambda: "eff. equity" in " ".join(card_lines(app, widget)))
            return card_lines(app, widget)

    lines = asyncio.run(card())
    assert lines[1].startswith("multi-assets · eff. equity ")
    assert lines[2].endswith("(venue 0.61%)")
