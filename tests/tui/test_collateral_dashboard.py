"""Issue #21 point 5: a multi-assets account on the dashboard. The card shows the mode, effective
equity and haircut; the detail of its cross positions has a Collateral block; the what-if moves a
collateral asset's price; the demo's multi-assets account shows the danger of its collateral on its
card while its liquidation prices stay far from the marks."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from liqwatch.alerts.model import default_rule
from liqwatch.core.bands import BANDS
from liqwatch.core.collateral import CollateralAsset, CollateralRisk, assess_collateral, shocked, value_asset
from liqwatch.core.venues import get_venue
from liqwatch.feeds.demo import CRASH_SECONDS, CRASH_START, DemoAccount, DemoMarket
from liqwatch.numfmt import plain as plain_number
from liqwatch.output import display_tick, fmt_money, fmt_pct, fmt_price
from liqwatch.state import State
from liqwatch.tui.app import LiqwatchApp
from liqwatch.tui.screens.whatif import WhatIfScreen, evaluate_collateral
from liqwatch.tui.widgets.account_strip import DANGER_BANDS, AccountCard
from liqwatch.tui.widgets.detail import DetailPanel, DetailText
from liqwatch.tui.widgets.positions import PositionsTable
from tests.tui.test_account_card import card_lines
from tests.tui.test_tui import Clock, plain, plain_text, until

MA = "demo-binance-ma"
BINANCE = get_venue("binance")


def _app(ticks: int, clock: Clock) -> tuple[LiqwatchApp, DemoMarket]:
    market = DemoMarket(7)
    for _ in range(ticks):
        market.step()
    app = LiqwatchApp([], clock=clock, refresh_seconds=3600, autostart=False, show_clock=False)
    for event in market.initial_events(clock.t):
        app.monitor.state.apply(event)
    return app, market


def _account(market: DemoMarket) -> DemoAccount:
    return next(a for a in market.accounts if a.name == MA)


def _expected(market: DemoMarket) -> tuple[CollateralRisk, list[CollateralAsset]]:
    """The account as the core computes it from the demo's own positions and collateral."""
    acc = _account(market)
    assets = market.collateral_assets(acc)
    return assess_collateral(BINANCE, market.specs(acc), assets), assets


def _card(app: LiqwatchApp) -> AccountCard:
    return app.query_one(f"#acct-{abs(hash(MA))}", AccountCard)


async def _select(pilot, app: LiqwatchApp, side: str) -> None:  # type: ignore[no-untyped-def]
    table = app.query_one(PositionsTable)
    key = f"{MA}|BTC/USDT:USDT|{side}"
    await until(pilot, lambda: key in table.order)
    table.move_cursor(row=table.order.index(key))
    await until(pilot, lambda: app.query_one(DetailPanel).shown_key == key)


def test_the_card_shows_the_mode_effective_equity_and_haircut() -> None:
    async def go() -> tuple[list[str], bool]:
        app, _ = _app(38, Clock())  # in the crash: USDE at 2/3 on the simulated venue
        async with app.run_test(size=(160, 50)) as pilot:
            await until(pilot, lambda: len(app.query(AccountCard)) == 4)
            card = _card(app)
            await until(pilot, lambda: "haircut" in " ".join(card_lines(app, card)))
            return card_lines(app, card), card.has_class("-danger")

    lines, danger = asyncio.run(go())
    market = DemoMarket(7)
    for _ in range(38):
        market.step()
    risk, _ = _expected(market)
    assert risk.margin_ratio is not None
    assert lines[0] == f"{MA} (binance)"
    assert lines[1] == f"multi-assets · eff. equity {fmt_money(risk.effective_equity)}"
    # the gauge on our ratio, the simulated venue's beside it
    assert lines[2].startswith("MR ") and lines[2].endswith(
        f" {fmt_pct(risk.margin_ratio)} (venue {fmt_pct(risk.margin_ratio)})"
    )
    haircut = sum(v.value_usd - v.collateral_value_usd for v in risk.assets)
    assert lines[3] == f"haircut {fmt_money(haircut)} · connected"
    assert danger == (BANDS.band(risk.margin_ratio) in DANGER_BANDS) and danger


@pytest.mark.parametrize("size", [(80, 24), (120, 40)])
def test_narrow_cards_keep_every_figure_whole(size: tuple[int, int]) -> None:
    """Four cards across 80 or 120 columns: the multi-assets card's lines take their narrower
    forms, never a cut figure (compact at 80x24: the name line and the ratio line)."""

    async def go() -> list[str]:
        app, _ = _app(0, Clock())
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: len(app.query(AccountCard)) == 4)
            card = _card(app)
            await until(pilot, lambda: "MR " in " ".join(card_lines(app, card)))
            await pilot.pause()
            return card_lines(app, card)

    lines = asyncio.run(go())
    risk, _ = _expected(DemoMarket(7))
    ratio = fmt_pct(risk.margin_ratio)
    shown = " ".join(lines)
    assert not any("…" in line for line in lines[1:])  # the name line alone is cut at the edge
    assert f" {ratio}" in shown
    if size[1] >= 32:
        assert lines[1].endswith(fmt_money(risk.effective_equity))
        assert f"haircut {fmt_money(risk.equity_usd - risk.effective_equity)}" in lines[3]


def test_the_detail_shows_a_collateral_block_of_value_asset_figures() -> None:
    clock = Clock()

    async def go() -> tuple[str, bool, bool]:
        app, _ = _app(30, clock)
        async with app.run_test(size=(160, 50)) as pilot:
            await _select(pilot, app, "long")
            text = app.query_one("#detail-text", DetailText)
            shown = plain(text)
            block = text._blocks[1]
            clock.t += 2.0  # the marks age: the figures' block changes, the collateral's does not
            app.refresh_view()
            await until(pilot, lambda: "2s old" in plain(text))
            kept = text._blocks[1] is block
            return shown, kept, text._blocks[0] is not block

    shown, kept, figures_redone = asyncio.run(go())
    market = DemoMarket(7)
    for _ in range(30):
        market.step()
    risk, assets = _expected(market)
    acc = _account(market)
    pnl = sum(s.sign * s.size * (s.mark_price - s.entry_price) for s in market.specs(acc))  # settled in USDT
    assert f"Collateral · effective equity {fmt_money(risk.effective_equity)} USD" in shown
    words = " ".join(shown.split())  # each asset's line wraps under itself in the narrow detail
    for asset in assets:
        v = value_asset(asset, pnl if asset.asset == "USDT" else 0.0)
        equity = f" · equity {plain_number(v.equity, 8, max_decimals=8)}" if v.equity != v.amount else ""
        want = (
            f"{v.asset} amount {plain_number(v.amount, 8, max_decimals=8)}{equity} · "
            f"price {plain_number(v.price, 8, max_decimals=8)} · ratio {fmt_pct(v.ratio)} · "
            f"value {fmt_money(v.value_usd)} · collateral value {fmt_money(v.collateral_value_usd)} · "
            f"share {fmt_pct(v.collateral_value_usd / risk.effective_equity)}"
        )
        assert want in words, (want, words)
    lp = risk.positions[0].liquidation_price
    assert f"Liquidation price  {fmt_price(lp, display_tick(risk.positions[0].spec))}" in shown
    assert kept and figures_redone


def test_the_what_if_shocks_a_collateral_asset() -> None:
    async def go() -> tuple[str, str, str]:
        app, _ = _app(0, Clock())
        async with app.run_test(size=(150, 42)) as pilot:
            await _select(pilot, app, "short")
            await pilot.press("w")
            await until(pilot, lambda: isinstance(app.screen, WhatIfScreen))
            screen = app.screen
            assert isinstance(screen, WhatIfScreen)
            box = screen.query_one("#wi-collateral-shock")
            await until(pilot, lambda: app.focused is box)
            results: list[str] = []
            for typed in ("USDE=-35", "%", ", USDX=-5"):
                await pilot.press(*typed)
                await until(pilot, lambda: _current(screen))
                results.append(plain(screen.query_one("#wi-result")))
            return results[0], results[1], results[2]

    first, with_sign, unknown = asyncio.run(go())
    before, assets = _expected(DemoMarket(7))
    specs = [p.spec for p in before.positions]
    after = assess_collateral(BINANCE, specs, [shocked(a, -35.0) if a.asset == "USDE" else a for a in assets])
    tick = display_tick(specs[1])
    for name, was, now in (
        ("Effective equity", fmt_money(before.effective_equity), fmt_money(after.effective_equity)),
        ("Margin ratio", fmt_pct(before.margin_ratio), fmt_pct(after.margin_ratio)),
        (
            "Liquidation price",
            fmt_price(before.positions[1].liquidation_price, tick),
            fmt_price(after.positions[1].liquidation_price, tick),
        ),
    ):
        assert any(row.split() == [*name.split(), was, "→", now] for row in first.splitlines()), (name, first)
    assert after.effective_equity < before.effective_equity
    assert with_sign == first  # -35 and -35% are the same move
    assert unknown.strip() == "collateral shock: the account holds no USDX (its collateral: USDT, USDE, BTC)"


def _current(screen: WhatIfScreen) -> bool:
    assert screen.collateral is not None
    expected = evaluate_collateral(screen.venue, screen.specs, screen.collateral, screen.index, screen.values())
    return plain(screen.query_one("#wi-result")) == plain_text(expected)


def test_a_collateral_shock_of_minus_100_percent_is_refused_in_one_line() -> None:
    _, assets = _expected(DemoMarket(7))
    market = DemoMarket(7)
    specs = market.specs(_account(market))
    got = plain_text(evaluate_collateral(BINANCE, specs, assets, 0, {"collateral-shock": "USDE=-100"}))
    assert got.strip() == "collateral-shock.USDE: must be above -100 %, got -100.0"
    got = plain_text(evaluate_collateral(BINANCE, specs, assets, 0, {"collateral-shock": "USDE"}))
    assert got.strip() == "collateral shock: 'USDE' is not ASSET=PCT (e.g. USDE=-35 or USDE=-35%)"
    # past liquidation after the move: said so, not a blank liquidation price
    after = assess_collateral(BINANCE, specs, [shocked(a, -60.0) if a.asset == "USDE" else a for a in assets])
    assert after.status != "ok"
    got = plain_text(evaluate_collateral(BINANCE, specs, assets, 0, {"collateral-shock": "USDE=-60"}))
    row = next(line for line in got.splitlines() if line.startswith("Liquidation price"))
    assert row.split("→")[1].strip() == f"now ({after.status})", row


def test_in_the_demo_crash_the_card_shows_the_collateral_danger_while_the_positions_look_safe() -> None:
    """The seeded demo, second by second through the crash, as the dashboard's state store sees it:
    at some tick the multi-assets account's ratio is in a danger band while both its positions are
    still open and each one's liquidation price is further from its mark than the distance alert's
    first level (a hedged pair: one leg's liquidation lies on its winning side, a negative
    distance of the same size). The danger is the collateral's: with USDE at its pre-crash price the
    same positions and marks are out of the danger bands; and before the crash the card is safe."""
    warning = default_rule("distance").levels[0]
    market = DemoMarket(7)
    seen: list[int] = []
    for tick in range(1, int(CRASH_START + CRASH_SECONDS) + 1):
        market.step()
        state = State(clock=lambda: 0.0)
        for event in market.initial_events(0.0):
            state.apply(event)
        snap = state.snapshot()
        view = next(a for a in snap.accounts if a.name == MA)
        risk = view.collateral_risk
        assert risk is not None and view.mode == "multi_assets"
        band = BANDS.band(risk.margin_ratio)
        if tick <= CRASH_START:
            assert band == "safe", (tick, risk.margin_ratio)
            continue
        positions = [p for p in snap.positions if p.account == MA]
        if band not in DANGER_BANDS or len(positions) != 2:
            continue
        far = all(
            p.collateral is not None
            and p.collateral.distance_to_liquidation is not None
            and abs(p.collateral.distance_to_liquidation) > warning
            for p in positions
        )
        now = market.collateral_assets(_account(market))
        held = [replace(a, price=1.0) if a.asset == "USDE" else a for a in now]
        pegged = assess_collateral(BINANCE, market.specs(_account(market)), held)
        if far and BANDS.band(pegged.margin_ratio) not in DANGER_BANDS:
            seen.append(tick)
    assert seen, "the multi-assets card never showed the collateral's danger ahead of its positions"
