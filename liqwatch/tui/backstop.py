"""Each position's backstop (issue #13): the insurance pool behind it, its symbol's ADL state, and
its mark against the index and its funding, from the venue's latest :class:`MarketReport`.

The positions table shows a compact form of it (a marker in the ADL cell, the pool's drawdown in
the Pool column); the detail shows it in full.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from liqwatch.numfmt import plain
from liqwatch.output import money_in

if TYPE_CHECKING:
    from liqwatch.market.model import AdlRisk, InsurancePool, MarketReport, SymbolMarket

DRAWDOWN_LEVELS = ((0.30, "bold white on red"), (0.20, "bold red"), (0.10, "yellow"))
"""A pool's drawdown from its 8-hour maximum and its colour (the ``insurance_drawdown`` levels)."""
ADL_MARKERS = {1: ("!", "bold yellow"), 2: ("!!", "bold white on red")}
"""The ADL cell's marker by the venue's ADL severity: 1 close to ADL (rating high, Bybit near its
trigger), 2 ADL active."""


@dataclass(frozen=True, slots=True)
class Backstop:
    """What a venue's latest market report says about one position's symbol."""

    exchange: str
    pool: InsurancePool | None
    adl: AdlRisk | None
    market: SymbolMarket | None
    has_pools: bool
    """The report lists pools at all (else the venue publishes none: see ``notes``)."""
    notes: tuple[str, ...]


def _ids(symbol: str) -> set[str]:
    """A unified symbol and the venue ids it goes by (``BTCUSDT``, ``BTC-USDT``, ``BTC_USDT``,
    ``BTC-USDT-SWAP``)."""
    base, _, rest = symbol.partition("/")
    quote = rest.split(":", 1)[0]
    if not quote:
        return {symbol}
    return {symbol, f"{base}{quote}", f"{base}-{quote}", f"{base}_{quote}", f"{base}-{quote}-SWAP"}


def backstop_of(report: MarketReport, symbol: str) -> Backstop:
    ids = _ids(symbol)
    adl = next((a for a in report.adl_risk if a.symbol in ids), None)
    market = next((s for s in report.symbols if s.symbol in ids), None)
    return Backstop(
        report.exchange,
        report.pool_of(symbol),
        adl,
        market,
        bool(report.insurance),
        tuple(report.notes),
    )


def adl_marker(backstop: Backstop | None) -> tuple[str, str]:
    """The ADL cell's marker (text, style): ``!`` close to ADL, ``!!`` ADL active, else none."""
    if backstop is None or backstop.adl is None:
        return "", ""
    return ADL_MARKERS.get(backstop.adl.severity, ("", ""))


def drawdown_style(drawdown: float | None) -> str:
    if drawdown is None:
        return ""
    return next((style for level, style in DRAWDOWN_LEVELS if drawdown >= level), "")


def pool_cell(backstop: Backstop | None) -> tuple[str, str]:
    """The Pool column (text, style): the pool's drawdown from its 8-hour maximum (``v`` after a
    vault, not an insurance fund), ``none`` where the venue publishes no fund, ``?`` where no pool
    names the symbol, blank before the venue's first report."""
    if backstop is None:
        return "", ""
    pool = backstop.pool
    if pool is None:
        return ("?", "dim") if backstop.has_pools else ("none", "dim")
    dd = pool.drawdown_8h
    text = "↓—" if dd is None else f"↓{dd * 100:.1f}%"
    return text + (" v" if pool.kind == "vault" else ""), drawdown_style(dd)


def utc(ts: float | None) -> str:
    if ts is None:
        return "time not given"
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(ts))


def pct(value: float | None, digits: int = 2, signed: bool = True) -> str:
    if value is None:
        return "—"
    return f"{value * 100:+.{digits}f}%" if signed else f"{value * 100:.{digits}f}%"


def backstop_rows(backstop: Backstop | None, exchange: str, symbol: str) -> list[tuple[str, str]]:
    """The detail's Backstop block: the pool (name, balance, drawdown, 24 h change, source and
    time), the symbol's ADL state, mark vs index and funding."""
    if backstop is None:
        return [("Insurance pool", f"no market data from {exchange} yet")]
    rows: list[tuple[str, str]] = []
    pool = backstop.pool
    if pool is None:
        if backstop.has_pools:
            rows.append(("Insurance pool", f"none of {exchange}'s pools lists {symbol.split(':', maxsplit=1)[0]}"))
        else:
            say = "; ".join(backstop.notes) or f"{exchange} publishes no insurance fund"
            rows.append(("Insurance pool", f"none: {say}"))
    else:
        kind = "vault, not an insurance fund" if pool.kind == "vault" else "insurance fund"
        rows.append(("Insurance pool", f"{pool.pool} ({pool.asset} {kind})"))
        usd = (
            f" (${pool.balance_usd:,.0f})" if pool.balance_usd is not None and pool.balance_usd != pool.balance else ""
        )
        rows.append(("Pool balance", f"{money_in(pool.balance, pool.asset)}{usd}"))
        rows.append(("Drawdown 8h", "—" if pool.drawdown_8h is None else f"{pool.drawdown_8h * 100:.1f}% from max"))
        rows.append(("Change 24h", pct(pool.change_24h, 1) if pool.change_24h is not None else "— (no 24 h history)"))
        rows.append(("Pool source", f"{pool.source}, as of {utc(pool.as_of)}"))
        if pool.kind == "vault" and backstop.notes:
            rows.append(("Note", "; ".join(backstop.notes)))
    adl = backstop.adl
    if adl is None:
        rows.append(("Venue ADL", f"{exchange} publishes no ADL state for this symbol"))
    else:
        rows.append(("Venue ADL", f"{adl.level.upper() if adl.severity else adl.level} — {adl.detail}"))
        rows.append(("ADL source", f"{adl.source}, as of {utc(adl.as_of)}"))
    market = backstop.market
    if market is None:
        rows.append(("Mark vs index", "not in the venue's report"))
        return rows
    index = "" if market.index_price is None else f" (index {plain(market.index_price)})"
    rows.append(("Mark vs index", pct(market.divergence) + index))
    if market.funding_rate is None:
        rows.append(("Funding", "—"))
    else:
        every = "" if market.funding_interval_h is None else f" per {plain(market.funding_interval_h)} h"
        nxt = "" if market.next_funding_time is None else f", next {utc(market.next_funding_time)}"
        rows.append(("Funding", f"{pct(market.funding_rate, 4)}{every}{nxt}"))
    return rows
