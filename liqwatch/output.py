"""Presenting risk: the JSON document of ``liqwatch calc --json`` and the human table.

Numbers in JSON are raw floats (never rounded); the human table rounds prices to the market's tick.
rich is imported only when the human table is printed.
"""

from __future__ import annotations

import math
from typing import Any

from liqwatch.core.model import PortfolioRisk, PositionRisk
from liqwatch.core.venues import Venue


def _num(x: float | None) -> float | None:
    if x is None or math.isnan(x) or math.isinf(x):
        return None
    return x


def next_tier_info(p: PositionRisk) -> tuple[float | None, float | None]:
    """(notional where the next bracket starts, distance to it as a fraction of the current value)."""
    nxt = p.next_tier_floor
    if nxt is None:
        return None, None
    spec = p.spec
    if spec.tiers.basis == "notional":
        current = p.bracket_value
        notional = nxt
    else:
        current = spec.size
        notional = nxt * spec.mark_price
    distance = (nxt - current) / current if current > 0 else None
    return notional, distance


def position_dict(p: PositionRisk, venue: Venue) -> dict[str, Any]:
    spec = p.spec
    next_notional, next_distance = next_tier_info(p)
    tier = p.tier
    return {
        "symbol": spec.symbol,
        "side": spec.side,
        "position_side": spec.position_side,
        "size": spec.size,
        "entry_price": spec.entry_price,
        "mark_price": spec.mark_price,
        "margin_mode": spec.margin_mode,
        "leverage": spec.leverage,
        "isolated_margin": spec.isolated_margin,
        "liquidation_price": _num(p.liquidation_price),
        "bankruptcy_price": _num(p.bankruptcy_price),
        "margin_ratio": _num(p.margin_ratio),
        "margin_ratio_native": _num(p.margin_ratio_native),
        "margin_ratio_native_name": venue.native_margin_ratio_name,
        "maintenance_margin": p.maintenance_margin,
        "liquidation_fee": p.liquidation_fee,
        "fee_rate": spec.fee_rate,
        "initial_margin": _num(p.initial_margin),
        "margin_balance": p.margin_balance,
        "unrealized_pnl": p.unrealized_pnl,
        "notional": p.notional,
        "tier": tier.index,
        "mmr": tier.mmr,
        "maint_amount": tier.maint_amount,
        "max_leverage": _num(spec.max_leverage if spec.max_leverage is not None else tier.max_leverage),
        "tier_floor": tier.floor,
        "tier_cap": _num(tier.cap),
        "tier_basis": spec.tiers.basis,
        "next_tier_notional": _num(next_notional),
        "distance_to_next_tier": _num(next_distance),
        "tiers_source": spec.tiers.source,
        "tiers_as_of": spec.tiers.as_of,
        "distance_to_liquidation": _num(p.distance_to_liquidation),
        "effective_leverage": _num(p.effective_leverage),
        "status": p.status,
        "adl": {
            "score": p.adl.score,
            "lights": p.adl.lights,
            "source": p.adl.source,
            "method": p.adl.method,
        },
    }


def portfolio_dict(risk: PortfolioRisk, venue: Venue) -> dict[str, Any]:
    a = risk.account
    return {
        "exchange": risk.venue,
        "formula": venue.family,
        "positions": [position_dict(p, venue) for p in risk.positions],
        "account": {
            "wallet_balance": a.wallet_balance,
            "margin_balance": a.margin_balance,
            "maintenance_margin": a.maintenance_margin,
            "margin_ratio": _num(a.margin_ratio),
            "unrealized_pnl": a.unrealized_pnl,
            "initial_margin": _num(a.initial_margin),
            "cross_wallet_balance": a.cross_wallet_balance,
            "cross_margin_balance": a.cross_margin_balance,
            "cross_maintenance_margin": a.cross_maintenance_margin,
            "cross_margin_ratio": _num(a.cross_margin_ratio),
        },
    }


# ---------------------------------------------------------------- human output


def fmt_price(x: float | None, tick: float | None) -> str:
    """Round to the market's tick for display; 6 significant digits when the tick is unknown."""
    if x is None:
        return "—"
    if tick:
        decimals = max(0, -math.floor(math.log10(tick) + 1e-9))
        return f"{round(x / tick) * tick:,.{decimals}f}"
    if x == 0:
        return "0"
    digits = max(0, 5 - math.floor(math.log10(abs(x))))
    return f"{x:,.{digits}f}"


def fmt_pct(x: float | None, digits: int = 2) -> str:
    return "—" if x is None else f"{x * 100:.{digits}f}%"


def fmt_money(x: float | None) -> str:
    return "—" if x is None else f"{x:,.2f}"


def adl_lights(lights: int, source: str) -> str:
    bar = "●" * lights + "○" * (5 - lights)
    return bar if source == "exchange" else f"{bar} est."


def risk_style(ratio: float | None, status: str) -> str:
    if status != "ok" or ratio is None:
        return "bold white on red"
    if ratio >= 0.85:
        return "bold red"
    if ratio >= 0.7:
        return "red"
    if ratio >= 0.5:
        return "yellow"
    return "green"


def _short(symbol: str) -> str:
    return symbol.split(":", 1)[0]


def _mr_text(p: PositionRisk, venue: Venue) -> str:
    text = fmt_pct(p.margin_ratio)
    if p.status != "ok":
        text += f" {p.status.upper()}"
    return text


def _tier_text(p: PositionRisk) -> str:
    lev = f" · {p.tier.max_leverage:g}x" if math.isfinite(p.tier.max_leverage) else ""
    return f"{p.tier.index} · {p.tier.mmr * 100:.2f}%{lev}"


def _detail_rows(p: PositionRisk, venue: Venue) -> list[tuple[str, str]]:
    spec = p.spec
    tick = spec.tick_size
    next_notional, next_distance = next_tier_info(p)
    rows = [
        ("Position", f"{spec.symbol} {spec.side} {spec.margin_mode}"
         + ("" if spec.position_side == "both" else f" (hedge {spec.position_side} leg)")),
        ("Size / entry / mark", f"{spec.size:g} @ {fmt_price(spec.entry_price, tick)} · mark "
         f"{fmt_price(spec.mark_price, tick)}"),
        ("Liquidation price", fmt_price(p.liquidation_price, tick)
         + ("" if p.liquidation_price is not None else "  (none: collateral covers a move to zero)")),
        ("Bankruptcy price", fmt_price(p.bankruptcy_price, tick)),
        ("Distance to liquidation", fmt_pct(p.distance_to_liquidation)),
        ("Margin ratio", _mr_text(p, venue)
         + (f"  ({venue.native_margin_ratio_name} {p.margin_ratio_native * 100:.2f}%)"
            if p.margin_ratio_native is not None and venue.native_margin_ratio_name else "")),
        ("Margin balance", fmt_money(p.margin_balance)),
        ("Maintenance margin", fmt_money(p.maintenance_margin)
         + (f" + liquidation fee {fmt_money(p.liquidation_fee)}" if p.liquidation_fee else "")),
        ("Initial margin", fmt_money(p.initial_margin)),
        ("Notional / uPnL", f"{fmt_money(p.notional)} / {fmt_money(p.unrealized_pnl)}"),
        ("Tier", f"{_tier_text(p)} · maint. amount {fmt_money(p.tier.maint_amount)}"),
        ("Next tier", "last tier" if next_notional is None
         else f"at notional {fmt_money(next_notional)} (+{(next_distance or 0) * 100:.1f}%)"),
        ("ADL", f"{adl_lights(p.adl.lights, p.adl.source)}  score {p.adl.score:.4g} ({p.adl.method})"),
        ("Formula", venue.family),
        ("Tiers from", f"{spec.tiers.source or 'bundled'} {spec.tiers.as_of}".strip()),
    ]
    return rows


# (header, priority) — lower priority columns are dropped first when the terminal is narrow.
_COLUMNS: tuple[tuple[str, int], ...] = (
    ("Position", 0),
    ("Size", 6),
    ("Entry", 7),
    ("Mark", 3),
    ("Liq.", 0),
    ("Bankr.", 5),
    ("To liq.", 1),
    ("MR", 1),
    ("Tier", 4),
    ("ADL", 2),
    ("uPnL", 8),
)


def _position_cells(p: PositionRisk, venue: Venue) -> list[str]:
    spec = p.spec
    tick = spec.tick_size
    mode = "iso" if spec.margin_mode == "isolated" else "cross"
    hedge = " hedge" if spec.position_side != "both" else ""
    return [
        f"{_short(spec.symbol)} {spec.side} {mode}{hedge}",
        f"{spec.size:g}",
        fmt_price(spec.entry_price, tick),
        fmt_price(spec.mark_price, tick),
        fmt_price(p.liquidation_price, tick),
        fmt_price(p.bankruptcy_price, tick),
        fmt_pct(p.distance_to_liquidation, 1),
        _mr_text(p, venue),
        _tier_text(p),
        adl_lights(p.adl.lights, p.adl.source),
        fmt_money(p.unrealized_pnl),
    ]


def _positions_table(risk: PortfolioRisk, venue: Venue, width: int) -> Any:
    from rich.table import Table

    rows = [_position_cells(p, venue) for p in risk.positions]
    widths = [max(len(h), *(len(r[i]) for r in rows)) + 3 for i, (h, _) in enumerate(_COLUMNS)]
    keep = set(range(len(_COLUMNS)))
    for i in sorted(range(len(_COLUMNS)), key=lambda i: -_COLUMNS[i][1]):
        if sum(widths[j] for j in keep) + 1 <= width or _COLUMNS[i][1] == 0:
            break
        keep.discard(i)
    shown = sorted(keep)
    table = Table(title=f"{venue.label} — liquidation risk on the mark price", title_justify="left")
    for i in shown:
        header = _COLUMNS[i][0]
        table.add_column(header, justify="left" if header in ("Position", "Tier", "ADL") else "right",
                         no_wrap=True)
    for p, cells in zip(risk.positions, rows, strict=True):
        table.add_row(*(cells[i] for i in shown), style=risk_style(p.margin_ratio, p.status))
    return table


def print_human(risk: PortfolioRisk, venue: Venue) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if len(risk.positions) == 1:
        p = risk.positions[0]
        table = Table(title=f"{venue.label} — liquidation risk on the mark price", title_justify="left",
                      show_header=False, style=risk_style(p.margin_ratio, p.status))
        table.add_column("field", style="bold")
        table.add_column("value")
        for key, value in _detail_rows(p, venue):
            table.add_row(key, value)
        console.print(table)
    else:
        console.print(_positions_table(risk, venue, console.width))
    a = risk.account
    line = (
        f"Account: wallet {fmt_money(a.wallet_balance)} · margin balance {fmt_money(a.margin_balance)} · "
        f"maintenance {fmt_money(a.maintenance_margin)} · margin ratio {fmt_pct(a.margin_ratio)}"
    )
    if a.cross_maintenance_margin:
        line += f" · cross margin ratio {fmt_pct(a.cross_margin_ratio)}"
    console.print(line)
    console.print(
        "[dim]Margin ratio = maintenance requirement ÷ margin balance; 100% = liquidation. "
        "'est.' = liqwatch's ADL estimate, not the venue's.[/dim]"
    )
