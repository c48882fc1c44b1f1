"""Issue #20: an account card never looks calm without data (#20.1: "no data" and the whole cause,
not equity 0.00), and its wallet is the one watch and calc show (#20.3: equity - wallet = uPnL)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from liqwatch.cli import main as cli_main
from liqwatch.config import AccountConfig
from liqwatch.feeds.events import Balance, Event, MarkPrice, PositionData, Positions
from liqwatch.feeds.live import VenueFeed
from liqwatch.output import fmt_amount, fmt_money
from liqwatch.records import snapshot_record
from liqwatch.tui.app import LiqwatchApp
from liqwatch.tui.widgets.account_strip import AccountCard
from tests.tui.test_tui import Clock, until


def card_lines(app: LiqwatchApp, card: AccountCard) -> list[str]:
    """The card's content as drawn on the screen (its own width, not a wide console's)."""
    strips = app.screen._compositor.render_strips()
    region = card.content_region
    return [strips[y].text[region.x : region.right].rstrip() for y in range(region.y, region.bottom)]


def _keyless(name: str = "main") -> VenueFeed:
    """A Binance account whose key variable is not set: its feed says so once and stops."""
    account = AccountConfig(
        name=name,
        exchange="binance",
        api_key_env="BINANCE_KEY",
        api_secret_env="BINANCE_SECRET",
        rest_url="http://127.0.0.1:9",  # never reached: the missing key stops the feed first
        ws_url="ws://127.0.0.1:9",
    )
    return VenueFeed(account, environ={})


@pytest.mark.parametrize("size", [(60, 40), (160, 40)])
def test_a_card_without_data_says_no_data_and_keeps_the_cause(size: tuple[int, int]) -> None:
    """Four narrow cards (the minimum width) or one wide one: the cause wraps inside the card."""

    async def go() -> None:
        feeds = [_keyless(f"acct{i}") for i in range(4 if size[0] < 100 else 1)]
        app = LiqwatchApp(feeds, refresh_seconds=0.05, show_clock=False)
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: len(app.query(AccountCard)) == len(feeds))
            card = app.query(AccountCard).first()
            await until(pilot, lambda: "BINANCE_KEY" in " ".join(card_lines(app, card)))
            lines = card_lines(app, card)
            shown = " ".join(lines)
            assert "equity" not in shown and "0.00" not in shown
            assert lines[1].startswith("no data")
            # the whole cause, wrapped inside the card's four lines (it was cut at 60 characters)
            assert "environment variable BINANCE_KEY is not set" in shown
            assert card.has_class("-stale") and not card.has_class("-danger")  # unknown, not a risk band

    asyncio.run(go())


def test_a_compact_card_without_data_keeps_the_cause_on_its_second_line() -> None:
    async def go() -> None:
        app = LiqwatchApp([_keyless()], refresh_seconds=0.05, show_clock=False)
        async with app.run_test(size=(100, 24)) as pilot:
            await until(pilot, lambda: bool(app.query(AccountCard)))
            card = app.query_one(AccountCard)
            await until(pilot, lambda: "BINANCE_KEY" in " ".join(card_lines(app, card)))
            first, second = card_lines(app, card)
            assert first == "main no data"
            assert second == "environment variable BINANCE_KEY is not set"

    asyncio.run(go())


def test_a_long_error_is_cut_with_an_ellipsis_after_its_cause() -> None:
    from liqwatch.feeds.events import Status

    async def go() -> None:
        app = LiqwatchApp([], refresh_seconds=0.05, show_clock=False)
        cause = "authentication failed: the API key was rejected"
        detail = f"binance account 'main': {cause} " + "(more detail here) " * 12 + "(retrying in 300 s)"
        app.monitor.state.apply(
            Status(account="main", exchange="binance", ts=1.0, state="error", channel="rest", detail=detail)
        )
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: bool(app.query(AccountCard)))
            card = app.query_one(AccountCard)
            await until(pilot, lambda: "…" in " ".join(card_lines(app, card)))
            lines = card_lines(app, card)
            assert len(lines) == 4 and lines[1].startswith("no data")
            assert " ".join(lines[2:]).startswith(cause)  # the cause first, the account not repeated
            assert lines[-1].endswith("…")

    asyncio.run(go())


# ---------------------------------------------------------------- issue #20.3: one wallet

CROSS_WALLET = 14_000.0
POSITIONS: list[dict[str, Any]] = [  # a Binance account holding cross and isolated positions
    {"symbol": "BTC/USDT:USDT", "side": "long", "size": 0.5, "entry_price": 60_000.0, "margin_mode": "cross",
     "leverage": 10.0, "mark_price": 61_000.0},
    {"symbol": "ETH/USDT:USDT", "side": "long", "size": 10.0, "entry_price": 3_000.0, "margin_mode": "isolated",
     "leverage": 10.0, "isolated_margin": 3_000.0, "mark_price": 3_050.0},
    {"symbol": "SOL/USDT:USDT", "side": "short", "size": 100.0, "entry_price": 150.0, "margin_mode": "isolated",
     "leverage": 5.0, "isolated_margin": 3_000.0, "mark_price": 148.0},
]  # fmt: skip
WALLET = CROSS_WALLET + 3_000.0 + 3_000.0  # the README's: cross wallet plus every isolated margin


def _events(ts: float) -> list[Event]:
    data = [PositionData(**{k: v for k, v in p.items() if k != "mark_price"}) for p in POSITIONS]
    return [
        Balance(account="main", exchange="binance", ts=ts, wallet_balance=CROSS_WALLET),
        Positions(account="main", exchange="binance", ts=ts, positions=data),
        *(
            MarkPrice(account="main", exchange="binance", ts=ts, symbol=p["symbol"], price=p["mark_price"])
            for p in POSITIONS
        ),
    ]


def test_card_watch_and_calc_show_one_wallet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Cross and isolated positions: the card's wallet, watch's account ``wallet_balance`` (= its
    pool's) and calc's (JSON and table) are one figure, the cross wallet plus every isolated margin,
    and equity - wallet is the positions' uPnL. The card and watch said 14,000 (the cross wallet)
    beside an equity that counted the isolated margins: +6,000 of profit that was not there."""
    clock = Clock()
    app = LiqwatchApp([], clock=clock, refresh_seconds=3600, autostart=False, show_clock=False)
    for event in _events(clock.t):
        app.monitor.state.apply(event)

    # watch
    record = snapshot_record(app.monitor.state.snapshot())
    (account,) = record["accounts"]
    upnl = sum(p["unrealized_pnl"] for p in record["positions"])
    assert account["status"] == "ok"
    assert account["wallet_balance"] == account["pools"][0]["wallet_balance"] == pytest.approx(WALLET)
    assert account["pools"][0]["cross_wallet_balance"] == CROSS_WALLET
    assert account["margin_balance"] - account["wallet_balance"] == pytest.approx(upnl, abs=1e-9)

    # calc, on the same positions and cross wallet
    book = tmp_path / "book.json"
    book.write_text(json.dumps({"exchange": "binance", "wallet_balance": CROSS_WALLET, "positions": POSITIONS}))
    assert cli_main(["calc", "--portfolio", str(book), "--json"]) == 0
    calc = json.loads(capsys.readouterr().out)["account"]
    assert calc["wallet_balance"] == pytest.approx(account["wallet_balance"])
    assert calc["margin_balance"] == pytest.approx(account["margin_balance"])
    assert cli_main(["calc", "--portfolio", str(book)]) == 0
    assert f"Account: wallet {fmt_amount(WALLET, 'USDT')} · margin balance" in capsys.readouterr().out

    # the card
    async def card_text() -> str:
        async with app.run_test(size=(160, 40)) as pilot:
            await until(pilot, lambda: bool(app.query(AccountCard)))
            card = app.query_one(AccountCard)
            await until(pilot, lambda: "equity" in " ".join(card_lines(app, card)))
            return card_lines(app, card)[1]

    shown = asyncio.run(card_text())
    assert shown == f"equity {fmt_money(account['margin_balance'])}  wallet {fmt_money(WALLET)}"


@pytest.mark.parametrize("size", [(80, 24), (100, 24)])
def test_a_compact_card_keeps_its_margin_ratio_whole(size: tuple[int, int]) -> None:
    """At 80x24 a long account name and its feed state stay on the first line (they wrapped and
    pushed the margin ratio out of demo-hyperliquid's card); the equity shows only where it fits
    whole, never cut."""
    from tests.tui.test_tui import demo_app

    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=size) as pilot:
            await until(pilot, lambda: len(app.query(AccountCard)) == 4)
            await pilot.pause()
            for card in app.query(AccountCard):
                first, second = card_lines(app, card)
                view = next(v for v in app.snapshot.accounts if card.id == f"acct-{abs(hash(v.name))}")
                assert view.risk is not None
                if view.collateral_risk is not None:  # multi-assets (issue #21): our ratio, the venue's beside
                    ratio = view.collateral_risk.margin_ratio
                    assert ratio is not None
                    assert second.startswith("MR ") and f"{ratio * 100:.2f}%" in second, (first, second)
                    assert second.endswith("%)") or second.endswith("%"), second
                    continue
                ratio = view.risk.account.margin_ratio
                assert second.startswith("MR ") and f"{ratio * 100:.2f}%" in second, (first, second)
                balance = fmt_money(view.risk.account.margin_balance)
                assert second.endswith(f"% {balance}") or second.endswith("%"), second

    asyncio.run(go())


def test_four_cards_at_120_columns_keep_their_margin_ratio_whole() -> None:
    """The demo's four accounts at 120x40: a card's equity/wallet line wrapped and pushed its margin
    ratio out of the card; each line now takes the widest form that fits whole."""
    from tests.tui.test_tui import demo_app

    async def go() -> None:
        app = demo_app()
        async with app.run_test(size=(120, 40)) as pilot:
            await until(pilot, lambda: len(app.query(AccountCard)) == 4)
            await pilot.pause()
            for card in app.query(AccountCard):
                view = next(v for v in app.snapshot.accounts if card.id == f"acct-{abs(hash(v.name))}")
                lines = card_lines(app, card)
                assert view.risk is not None or view.collateral_risk is not None
                if view.collateral_risk is not None:
                    continue  # its own card (test_collateral_dashboard)
                ratio = view.risk.account.margin_ratio
                assert any(line.startswith("MR") and f"{ratio * 100:.2f}%" in line for line in lines), lines
                assert any(fmt_money(view.risk.account.margin_balance) in line for line in lines), lines

    asyncio.run(go())
