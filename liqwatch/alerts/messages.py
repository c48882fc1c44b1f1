"""The wording of every alert the engine fires (one function per rule; the level comes last)."""

from __future__ import annotations

import math

from liqwatch.numfmt import plain

Where = tuple[str, str, str]
"""(account, symbol, side) of a position."""


def pct(x: float | None) -> str:
    if x is None or math.isnan(x):
        return "?"
    return "∞" if math.isinf(x) else f"{x * 100:.1f}%"


def num(x: float | None) -> str:
    return "?" if x is None or not math.isfinite(x) else f"{plain(x)}"


def _where(where: Where) -> str:
    return " ".join(where)


def cross_ratio(account: str, value: float | None, legs: str, level: float) -> str:
    return f"{account}: cross margin ratio {pct(value)} ≥ {pct(level)} ({legs})"


def isolated_ratio(where: Where, value: float | None, level: float) -> str:
    return f"{_where(where)}: margin ratio {pct(value)} ≥ {pct(level)} (isolated)"


def distance(where: Where, value: float, prices: tuple[float, float | None], level: float) -> str:
    shown = f"mark {num(prices[0])}, liquidation {num(prices[1])}"
    return f"{_where(where)}: {pct(value)} from liquidation ({shown}) ≤ {pct(level)}"


def adl(where: Where, lights: int, source: str, level: float) -> str:
    origin = "venue" if source == "exchange" else "estimated"
    return f"{_where(where)}: ADL {lights}/5 lights ({origin}) ≥ {plain(level)}"


def stale(account: str, age: float, n_open: int, symbols: list[str], level: float) -> str:
    shown = ", ".join(symbols[:5]) + (" …" if len(symbols) > 5 else "")
    plural = "s" if n_open != 1 else ""
    return (
        f"{account}: mark prices stale for {age:.0f} s (≥ {plain(level)} s) with {n_open} position{plural} open: "
        f"{shown}"
    )


def no_data(account: str, age: float, why: tuple[str, str], level: float) -> str:
    """A stale alert for an account without figures: ``why`` is its status and the reason."""
    status, reason = why
    what = "no data yet (connecting)" if status == "connecting" else "no data"
    return f"{account}: {what} for {age:.0f} s (≥ {plain(level)} s): {reason}"


def tier_change(where: Where, old: int, new: int, old_mmr: float, new_mmr: float) -> str:
    rates = f"{plain(old_mmr * 100, 3)}% → {plain(new_mmr * 100, 3)}%"
    return f"{_where(where)}: tier {old} → {new} (maintenance margin rate {rates})"


def position_lost(account: str, notice_message: str) -> str:
    return f"{account}: {notice_message}"


def connection_failed(account: str, exchange: str, feed_channel: str, detail: str | None) -> str:
    shown = f": {detail}" if detail else ""
    return f"{account} ({exchange}): {feed_channel} connection failed{shown}"


def insurance_drawdown(exchange: str, pool: str, balance: float, asset: str, value: float, level: float) -> str:
    return (
        f"{exchange} insurance pool {pool}: {pct(value)} below its 8-hour maximum (≥ {pct(level)}); "
        f"balance {balance:,.2f} {asset}"
    )


def adl_risk(exchange: str, symbol: str, venue_level: str, detail: str, level: float) -> str:
    what = "ADL active" if level >= 2 else "close to ADL"
    return f"{exchange} {symbol}: {what} ({venue_level}: {detail})"


def divergence(exchange: str, symbol: str, value: float, mark: float | None, index: float | None, level: float) -> str:
    return f"{exchange} {symbol}: mark {num(mark)} is {pct(value)} from the index {num(index)} (≥ {pct(level)})"


def funding(where: Where, value: float, lp: float, after: float, rate: float | None, level: float) -> str:
    shown = "" if rate is None else f" at funding rate {plain(rate * 100, 4)}%"
    return (
        f"{_where(where)}: the next funding payment{shown} moves the liquidation price {num(lp)} → {num(after)}, "
        f"{pct(value)} of the distance to it (≥ {pct(level)})"
    )


def collateral_depeg(
    account: str, exchange: str, asset: str, price: float, reference: float, source: str, value: float, level: float
) -> str:
    """``source``: where the reference comes from (a USD stablecoin, or the venues whose price it is)."""
    direction = "below" if price < reference else "above"
    return (
        f"{account}: collateral {asset} at {num(price)} on {exchange}, {pct(value)} {direction} its reference "
        f"{num(reference)} ({source}) (≥ {pct(level)})"
    )


def collateral_haircut(
    account: str,
    equity: float,
    high: float,
    window: float,
    gross: float,
    most: list[tuple[str, float]],
    value: float,
    level: float,
) -> str:
    """``most``: the assets whose collateral value fell the most since the high, and by how much (USD)."""
    span = f"{plain(window / 3600)} h" if window >= 3600 and window % 3600 == 0 else f"{plain(window)} s"
    down = "; down most: " + ", ".join(f"{asset} {num(fall)} USD" for asset, fall in most) if most else ""
    return (
        f"{account}: effective equity {num(equity)} USD is {pct(value)} below its high of the last {span} "
        f"({num(high)} USD) with no position change (≥ {pct(level)}){down}; collateral {num(gross)} USD before "
        "haircuts"
    )
