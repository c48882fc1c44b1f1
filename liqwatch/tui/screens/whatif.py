"""What-if for the selected position: inputs on top, before → after below, live as you type.

The fields run the scenarios of :data:`liqwatch.scenarios.SCENARIOS` (the same entries as
``liqwatch calc --add-size / --set-leverage / --add-margin / --shock``), chained in that order.
A cross position of a multi-assets account has one field, the collateral shock (``calc
--collateral-shock``): the account recomputed from its collateral with the assets' prices moved."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Grid, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

from liqwatch.core import whatif as wi
from liqwatch.core.collateral import CollateralAsset, CollateralRisk, assess_collateral, shocked
from liqwatch.core.engine import Wallet, assess
from liqwatch.core.errors import InputError
from liqwatch.core.model import PortfolioRisk, PositionRisk, PositionSpec
from liqwatch.core.venues import Venue
from liqwatch.numfmt import plain
from liqwatch.output import change_rows, display_tick, fmt_largest_size, fmt_money, fmt_pct, fmt_price
from liqwatch.percent import percent_value
from liqwatch.scenarios import SCENARIOS, Context, far_price_warning, far_prices

FIELDS = (
    ("add-size", "add size (base units)"),
    ("add-price", "at price (default mark)"),
    ("leverage", "new leverage"),
    ("margin", "margin +/- (isolated)"),
    ("shock", "price shock % (all marks)"),
)
"""Each field's key and label (the label stays beside its field, typed into or not)."""
PLACEHOLDERS = {
    "add-size": "e.g. 0.5",
    "add-price": "empty: the mark",
    "leverage": "e.g. 10",
    "margin": "e.g. 100, or -50 to remove",
    "shock": "e.g. -10",
}
"""What each field takes, shown while it is empty."""


COLLATERAL_FIELDS = (("collateral-shock", "collateral shock (ASSET=%)"),)
"""A multi-assets account's field: ``USDE=-35`` or ``USDE=-35%``, several separated by commas."""
COLLATERAL_PLACEHOLDER = "e.g. USDE=-35, BTC=-10"

PERCENT_FIELDS = frozenset({"shock"})
"""The fields in percent: ``-10``, ``-10%`` and ``-10 %`` are the same (:mod:`liqwatch.percent`)."""


def _float(text: str, percent: bool = False) -> float | None:
    text = text.strip().replace(",", "")
    if not text:
        return None
    value = percent_value(text) if percent else float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


def compare(before: PositionRisk, after: PositionRisk, acc_before: PortfolioRisk, acc_after: PortfolioRisk) -> Table:
    table = Table(expand=False, box=None, pad_edge=False)
    for col, justify in (("", "left"), ("before", "right"), ("", "center"), ("after", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for name, b, a in change_rows(before, after, acc_before, acc_after):
        table.add_row(name, b, "→", a, style="bold yellow" if a != b else "")
    return table


def evaluate(
    venue: Venue, specs: Sequence[PositionSpec], wallet: Wallet, index: int, values: dict[str, str]
) -> RenderableType:
    try:
        parsed = {key: _float(values.get(key, ""), key in PERCENT_FIELDS) for key, _ in FIELDS}
    except ValueError as exc:
        return Text(f"not a number: {exc}", style="bold red")
    specs = list(specs)
    parts: list[RenderableType] = []
    try:
        change: wi.Change | None = None
        if parsed["add-size"] is not None:
            ctx = Context(venue, specs, wallet, index)
            params = {"add_size": parsed["add-size"], "add_price": parsed["add-price"]}
            add: wi.AddSize = SCENARIOS["add_size"].compute(ctx, params)
            parts.append(
                Text(
                    f"max size that still fits the bracket's max leverage: "
                    f"{'no limit' if add.max_add_size is None else fmt_largest_size(specs[index], add.max_add_size)}"
                )
            )
            for _, price, mark in far_prices(SCENARIOS["add_size"], ctx, params):
                parts.append(Text(far_price_warning(ctx, "at price", price, mark), style="bold yellow"))
            change = add
            specs[index] = add.after.positions[index].spec
        if parsed["leverage"] is not None:
            lev: wi.LeverageChange = SCENARIOS["set_leverage"].compute(
                Context(venue, specs, wallet, index), {"set_leverage": parsed["leverage"]}
            )
            verb = "to post" if lev.margin_change >= 0 else "released"
            parts.append(
                Text(
                    f"leverage → {plain(lev.new_leverage)}x: margin {verb} {fmt_money(abs(lev.margin_change))}. "
                    f"{lev.convention}"
                )
            )
            change = _merge(change, lev)
            specs[index] = lev.after.positions[index].spec
        if parsed["margin"] is not None:
            mc: wi.MarginChange = SCENARIOS["add_margin"].compute(
                Context(venue, specs, wallet, index), {"add_margin": parsed["margin"]}
            )
            parts.append(Text(f"most that can be removed: {fmt_money(mc.max_removable)}"))
            change = _merge(change, mc)
            specs[index] = mc.after.positions[index].spec
        if parsed["shock"] is not None:
            move = parsed["shock"] / 100
            # every mark moves: no position chosen (the shock of one symbol is calc's --symbol)
            result: wi.ShockResult = SCENARIOS["shock"].compute(Context(venue, specs, wallet, None), {"shock": [move]})
            step = result.steps[0]
            gone = [specs[i].symbol + " " + specs[i].side for i in step.liquidated]
            parts.append(
                Text(
                    f"all marks {'+' if parsed['shock'] > 0 else ''}{plain(parsed['shock'])}%: account margin ratio "
                    f"{fmt_pct(step.risk.account.margin_ratio)}; liquidated on the way: "
                    f"{', '.join(gone) or 'none'}"
                )
            )
            for event in result.order:
                names = ", ".join(specs[i].symbol + " " + specs[i].side for i in event.indices)
                parts.append(Text(f"  {event.move * 100:+.2f}%  {names} ({event.scope})", style="red"))
            if index not in step.liquidated and change is None:
                before = assess(venue, list(specs), wallet)
                pos = step.survivors.index(index)
                return Group(compare(before.positions[index], step.risk.positions[pos], before, step.risk), *parts)
        if change is None:
            return Group(Text("Type a number in any field to see its effect.", style="dim"), *parts)
        table = compare(change.before.positions[index], change.after.positions[index], change.before, change.after)
        verdict = (
            Text("NOT ALLOWED: " + (change.reason or ""), style="bold white on red") if not change.allowed else Text("")
        )
        notes = [Text("note: " + n, style="dim") for n in change.notes]
        return Group(table, verdict, *parts, *notes)
    except InputError as exc:
        return Text(f"{exc.field}: {exc.message}", style="bold red")


def parse_collateral_shock(text: str, assets: Sequence[CollateralAsset]) -> dict[str, float]:
    """``USDE=-35, BTC=-10%`` -> {"USDE": -35.0, "BTC": -10.0}; raises InputError (field
    ``collateral shock``) naming what is wrong: not ASSET=PCT, an asset the account does not
    hold, an asset given twice."""
    held = [a.asset for a in assets]
    out: dict[str, float] = {}
    for raw in text.split(","):
        if not raw.strip():
            continue
        asset, sep, value = raw.partition("=")
        asset = asset.strip().upper()
        try:
            if not (sep and asset):
                raise ValueError(raw)
            pct = percent_value(value)
        except ValueError:
            raise InputError(
                "collateral shock", f"{raw.strip()!r} is not ASSET=PCT (e.g. USDE=-35 or USDE=-35%)"
            ) from None
        if asset not in held:
            raise InputError("collateral shock", f"the account holds no {asset} (its collateral: {', '.join(held)})")
        if asset in out:
            raise InputError("collateral shock", f"{asset} is given twice")
        out[asset] = pct
    return out


def shock_collateral(assets: Sequence[CollateralAsset], moves: dict[str, float]) -> list[CollateralAsset]:
    """The assets with each moved asset's price moved by its percentage (:func:`shocked`)."""
    return [shocked(a, moves[a.asset]) if a.asset in moves else a for a in assets]


def compare_collateral(before: CollateralRisk, after: CollateralRisk, index: int) -> Table:
    """Before → after: the account's effective equity, haircut and margin ratio, and the
    position's liquidation price and distance."""
    b, a = before.positions[index], after.positions[index]
    tick = display_tick(b.spec)

    def liquidation(risk: CollateralRisk, price: float | None) -> str:
        return f"now ({risk.status})" if risk.status != "ok" else fmt_price(price, tick)

    rows = [
        ("Effective equity", fmt_money(before.effective_equity), fmt_money(after.effective_equity)),
        (
            "Haircut",
            fmt_money(before.equity_usd - before.effective_equity),
            fmt_money(after.equity_usd - after.effective_equity),
        ),
        ("Margin ratio", fmt_pct(before.margin_ratio), fmt_pct(after.margin_ratio)),
        ("Liquidation price", liquidation(before, b.liquidation_price), liquidation(after, a.liquidation_price)),
        ("Distance to liq.", fmt_pct(b.distance_to_liquidation), fmt_pct(a.distance_to_liquidation)),
        ("Status", before.status, after.status),
    ]
    table = Table(expand=False, box=None, pad_edge=False)
    for col, justify in (("", "left"), ("before", "right"), ("", "center"), ("after", "right")):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for name, was, now in rows:
        table.add_row(name, was, "→", now, style="bold yellow" if was != now else "")
    return table


def evaluate_collateral(
    venue: Venue,
    specs: Sequence[PositionSpec],
    assets: Sequence[CollateralAsset],
    index: int,
    values: dict[str, str],
) -> RenderableType:
    """A multi-assets account with its collateral shocked (``assess_collateral`` on the moved
    assets, every mark held)."""
    text = values.get("collateral-shock", "").strip()
    try:
        moves = parse_collateral_shock(text, assets)
        if not moves:
            return Text("Type ASSET=PCT (e.g. USDE=-35) to move a collateral asset's price.", style="dim")
        before = assess_collateral(venue, specs, assets)
        after = assess_collateral(venue, specs, shock_collateral(assets, moves))
    except InputError as exc:
        return Text(f"{exc.field}: {exc.message}", style="bold red")
    said = ", ".join(f"{asset} {'+' if pct > 0 else ''}{plain(pct)}%" for asset, pct in moves.items())
    note = Text(
        f"{said}: every mark and every other price held; 100% = liquidation of every cross position.", style="dim"
    )
    return Group(compare_collateral(before, after, index), Text(""), note)


def _merge(first: wi.Change | None, second: wi.Change) -> wi.Change:
    if first is None:
        return second
    second.before = first.before
    second.allowed = first.allowed and second.allowed
    second.reason = first.reason or second.reason
    return second


class WhatIfScreen(ModalScreen[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "dismiss", "close")]

    def __init__(
        self,
        venue: Venue,
        specs: Sequence[PositionSpec],
        wallet: Wallet,
        index: int,
        collateral: Sequence[CollateralAsset] | None = None,
    ) -> None:
        """``collateral``: the position is a cross position of a multi-assets account with these
        assets (``specs`` its cross positions): the collateral shock is the field."""
        super().__init__()
        self.venue = venue
        self.specs = list(specs)
        self.wallet = wallet
        self.index = index
        self.collateral = None if collateral is None else list(collateral)
        self.fields = FIELDS if collateral is None else COLLATERAL_FIELDS

    def compose(self) -> ComposeResult:
        spec = self.specs[self.index]
        mode = "" if self.collateral is None else " · multi-assets account"
        with Vertical(id="whatif-body"):
            yield Static(
                Text(f"What if — {spec.symbol} {spec.side} {spec.margin_mode}{mode} (Esc to close)", style="bold")
            )
            with Grid(id="whatif-inputs"):
                for key, label in self.fields:
                    yield Label(label, classes="wi-label", id=f"wi-label-{key}")
                    placeholder = PLACEHOLDERS.get(key, COLLATERAL_PLACEHOLDER)
                    yield Input(placeholder=placeholder, id=f"wi-{key}", compact=True)
            with VerticalScroll(id="whatif-result"):
                yield Static(id="wi-result")

    def on_mount(self) -> None:
        self.recompute()
        self.query_one(f"#wi-{self.fields[0][0]}", Input).focus()

    def on_input_changed(self, _: Input.Changed) -> None:
        self.recompute()

    def values(self) -> dict[str, str]:
        return {key: self.query_one(f"#wi-{key}", Input).value for key, _ in self.fields}

    def recompute(self) -> None:
        if self.collateral is not None:
            result = evaluate_collateral(self.venue, self.specs, self.collateral, self.index, self.values())
        else:
            result = evaluate(self.venue, self.specs, self.wallet, self.index, self.values())
        self.query_one("#wi-result", Static).update(result)

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)
