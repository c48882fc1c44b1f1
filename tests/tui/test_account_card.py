"""Issue #20.1: an account card never looks calm without data: "no data" and the whole cause, not
equity 0.00."""

from __future__ import annotations

import asyncio

import pytest

from liqwatch.config import AccountConfig
from liqwatch.feeds.live import VenueFeed
from liqwatch.tui.app import LiqwatchApp
from liqwatch.tui.widgets.account_strip import AccountCard
from tests.tui.test_tui import until


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
            assert card.has_class("-stale")

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
