"""Issue #21 point 5 for a portfolio-margin account: its card shows the venue's own effective equity
and the haircut of the venue's collateral rates, labelled as the venue's; the detail of a cross
position shows the venue's liquidation estimate (never ours) and a Collateral block of every coin
the venue reports (amount, price, ratio, value, collateral value, share of the venue's equity)."""

from __future__ import annotations

import asyncio

import pytest

from liqwatch.feeds.events import Status
from liqwatch.numfmt import plain as plain_number
from liqwatch.output import fmt_money, fmt_pct
from liqwatch.tui.app import LiqwatchApp
from liqwatch.tui.widgets.account_strip import AccountCard
from liqwatch.tui.widgets.detail import DetailPanel, DetailText
from liqwatch.tui.widgets.positions import PositionsTable
from tests.tui.test_account_card import card_lines
from tests.tui.test_tui import Clock, plain, until
from tests.venues.test_portfolio_modes import T, _read

EQUITY = 122_607.35137903  # the fixture's papi accountEquity
USDT = (92.27530794 - 10 + 12_000, 650.0, 0.9998, 1.0)  # amount, venue PnL, index price, collateral rate
BTC = (0.26, 0.0, 28_251.9136906, 0.95)


def _app() -> LiqwatchApp:
    app = LiqwatchApp([], clock=Clock(T), refresh_seconds=3600, autostart=False, show_clock=False)
    events = _read("binance")
    connected = Status(account=events[0].account, exchange="binance", ts=T, state="connected", channel="rest")
    for event in (*events, connected):
        app.monitor.state.apply(event)
    return app


def _haircut() -> float:
    return sum((a + p) * price * (1 - r) for a, p, price, r in (USDT, BTC))


@pytest.mark.parametrize(("size", "tail"), [((160, 40), " · connected"), ((50, 40), "")])
def test_the_card_of_a_portfolio_account_shows_the_venues_effective_equity_and_haircut(
    size: tuple[int, int], tail: str
) -> None:
    """Wide: the venue's figures and the feed state; narrower: the figures whole, the state dropped."""
    app = _app()

    async def go() -> list[str]:
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: bool(app.query(AccountCard)))
            card = app.query_one(AccountCard)
            await until(pilot, lambda: "venue eff. equity" in " ".join(card_lines(app, card)))
            return card_lines(app, card)

    lines = asyncio.run(go())
    assert lines[1].startswith("portfolio margin · venue ratio")
    assert lines[3] == f"venue eff. equity {fmt_money(EQUITY)} · haircut {fmt_money(_haircut())}{tail}"


def test_the_detail_of_a_portfolio_position_shows_the_venues_collateral_block() -> None:
    app = _app()

    async def go() -> str:
        async with app.run_test(size=(160, 50)) as pilot:
            table = app.query_one(PositionsTable)
            account = next(iter(app.monitor.state.accounts))
            key = f"{account}|BTC/USDT:USDT|long"
            await until(pilot, lambda: key in table.order)
            table.move_cursor(row=table.order.index(key))
            await until(pilot, lambda: app.query_one(DetailPanel).shown_key == key)
            text = app.query_one("#detail-text", DetailText)
            await until(pilot, lambda: "Collateral (venue)" in plain(text))
            return plain(text)

    shown = asyncio.run(go())
    words = " ".join(shown.split())
    assert "Liquidation price 38,007.2 (the venue's estimate, not liqwatch's)" in words
    title = (
        f"Collateral (venue) · effective equity {fmt_money(EQUITY)} USD (accountEquity), "
        f"haircut {fmt_money(_haircut())}"
    )
    assert title in words
    for name, (amount, pnl, price, ratio) in (("USDT", USDT), ("BTC", BTC)):
        equity = amount + pnl
        shown_equity = f" · equity {plain_number(equity, 8, max_decimals=8)}" if pnl else ""
        want = (
            f"{name} amount {plain_number(amount, 8, max_decimals=8)}{shown_equity} · "
            f"price {plain_number(price, 8, max_decimals=8)} · ratio {fmt_pct(ratio)} · "
            f"value {fmt_money(equity * price)} · collateral value {fmt_money(equity * price * ratio)} · "
            f"share {fmt_pct(equity * price * ratio / EQUITY)}"
        )
        assert want in words, (want, words)
