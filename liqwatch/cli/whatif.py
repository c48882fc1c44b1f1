"""`liqwatch calc` what-if scenarios: choose the position, run the scenario of
:data:`liqwatch.scenarios.SCENARIOS`, print it.

JSON: the plain calc document (the account as it is now) plus a ``"what_if"`` object with
``"scenario"``, ``"before"`` and ``"after"`` in the same shape as the plain output, and the
scenario's own fields (``"max_add_size"``, ``"order"``, ``"steps"``, ...).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from liqwatch.cli.common import fail
from liqwatch.core import whatif as wi
from liqwatch.core.engine import Wallet
from liqwatch.core.errors import InputError
from liqwatch.core.model import PositionSpec
from liqwatch.core.venues import Venue
from liqwatch.numfmt import fixed, plain
from liqwatch.output import (
    _Term,
    change_rows,
    display_tick,
    fmt_amount,
    fmt_largest_size,
    fmt_pct,
    fmt_price,
    pools_of,
    render_table,
    risk_style,
    venue_title,
    write_json,
)
from liqwatch.records import RecordExtras, portfolio_record, settle_currency
from liqwatch.scenarios import SCENARIOS, Context, DistanceResult, Scenario, far_price_warning, far_prices, run


def select_position(
    args: argparse.Namespace, venue: Venue, specs: Sequence[PositionSpec], scenario: Scenario
) -> int | None:
    """The position a scenario applies to: the only one, or the one --symbol (and --side) names."""
    flag = scenario.flag
    if args.portfolio is None:
        return 0
    if args.symbol is None:
        if scenario.every_position:
            return None
        if len(specs) == 1:
            return 0
        fail(f"{flag}: name the position with --symbol (and --side in hedge mode)")
    from liqwatch.markets import find_market

    try:
        unified, _ = find_market(venue, args.symbol, inverse=True)
    except InputError as exc:
        fail(f"--symbol: {exc.message}")
    matches = [i for i, s in enumerate(specs) if s.symbol.upper() == unified.upper()]
    if args.side is not None:
        matches = [i for i in matches if specs[i].side == args.side]
    if not matches:
        side = f" {args.side}" if args.side else ""
        fail(f"--symbol: no{side} {unified} position in {args.portfolio}")
    if len(matches) > 1:
        fail(f"--side: {unified} has a long and a short leg; say which with --side")
    return matches[0]


def _as_given(value: Any) -> Any:
    return value


def run_scenario(
    args: argparse.Namespace,
    name: str,
    venue: Venue,
    specs: list[PositionSpec],
    wallet: Wallet,
    *,
    extras: RecordExtras | None = None,
    rates: Sequence[float | None] | None = None,
) -> list[str]:
    """Run and print the scenario ``name``; its warnings (lines for stderr, printed by the caller
    after the stale-table ones). Exits with one line for a bad input."""
    scenario = SCENARIOS[name]
    index = select_position(args, venue, specs, scenario)
    try:
        ctx = Context(venue, specs, wallet, index, funding_rates=rates)
        base = portfolio_record(ctx.current, venue, extras=extras)
        params = {p.name: scenario.parse.get(p.name, _as_given)(getattr(args, p.name)) for p in scenario.params}
        result, what = run(scenario, ctx, params)
    except InputError as exc:
        field = "--" + exc.field.replace("_", "-")
        fail(f"{field}: {exc.message}")
    if args.json:
        write_json({**base, "what_if": what}, sys.stdout)
    else:
        RENDER[name](_Term(sys.stdout), ctx, params, result, what)
    return [far_price_warning(ctx, param.flag, price, mark) for param, price, mark in far_prices(scenario, ctx, params)]


# ---------------------------------------------------------------------------- per scenario

Render = Callable[[_Term, Context, Mapping[str, Any], Any, dict[str, Any]], None]


def _show_add_size(term: _Term, ctx: Context, p: Mapping[str, Any], add: wi.AddSize, what: dict[str, Any]) -> None:
    spec = ctx.specs[ctx.position()]
    tick = display_tick(spec)
    ccy = settle_currency(spec, ctx.venue)
    extra = [
        f"Add {_size(spec, add.added_size)} at {fmt_price(add.price, tick)}: new entry "
        f"{fmt_price(add.new_entry_price, tick)}, margin added {fmt_amount(add.margin_added, ccy)}",
        "Largest size that can be added within the bracket's max leverage: "
        + ("no bracket limit" if add.max_add_size is None else _size(spec, add.max_add_size, largest=True)),
    ]
    _render_change(term, ctx.venue, add, extra)


def _show_set_leverage(
    term: _Term, ctx: Context, p: Mapping[str, Any], lev: wi.LeverageChange, what: dict[str, Any]
) -> None:
    verb = "to post" if lev.margin_change >= 0 else "released"
    ccy = settle_currency(ctx.specs[ctx.position()], ctx.venue)
    extra = [
        f"Leverage → {plain(lev.new_leverage)}x: margin {verb} {fmt_amount(abs(lev.margin_change), ccy)}",
        lev.convention,
    ]
    if lev.releasable_margin:
        extra.append(f"Releasable afterwards: {fmt_amount(lev.releasable_margin, ccy)}")
    if lev.max_position_value is not None:
        spec = ctx.specs[ctx.position()]
        at = plain(lev.new_leverage)
        bound = "up to" if lev.max_position_inclusive else "below"  # floor <= value < cap: the cap is not allowed
        if spec.tiers.basis == "quantity":  # the table counts the position's size, not its value
            extra.append(f"Position size allowed at {at}x: {bound} {_size(spec, lev.max_position_value)}")
        else:
            extra.append(f"Position value allowed at {at}x: {bound} {fmt_amount(lev.max_position_value, ccy)}")
    if not lev.liquidation_price_moves:
        extra.append("The liquidation price does not move.")
    _render_change(term, ctx.venue, lev, extra)


def _show_add_margin(
    term: _Term, ctx: Context, p: Mapping[str, Any], mc: wi.MarginChange, what: dict[str, Any]
) -> None:
    ccy = settle_currency(ctx.specs[ctx.position()], ctx.venue)
    extra = [
        f"Margin {'added' if mc.amount >= 0 else 'removed'}: {fmt_amount(abs(mc.amount), ccy)}",
        f"Most that can be removed now: {fmt_amount(mc.max_removable, ccy)}",
    ]
    _render_change(term, ctx.venue, mc, extra)


def _show_shock(term: _Term, ctx: Context, p: Mapping[str, Any], result: wi.ShockResult, what: dict[str, Any]) -> None:
    _render_shock(term, ctx.venue, ctx.specs, result)


def _show_targets(term: _Term, ctx: Context, p: Mapping[str, Any], result: Any, what: dict[str, Any]) -> None:
    _render_targets(term, ctx.venue, ctx.specs, what)


def _show_distance(term: _Term, ctx: Context, p: Mapping[str, Any], r: DistanceResult, what: dict[str, Any]) -> None:
    extra = [
        f"Largest size to add at the mark before liquidation comes within {plain(p['target_distance'])}% "
        f"of the mark: {_size(ctx.specs[ctx.position()], r.size, largest=True)} (limited by {r.limit})"
    ]
    _render_change(term, ctx.venue, r.add, extra)


def _show_ladder(
    term: _Term, ctx: Context, p: Mapping[str, Any], rungs: list[wi.LadderRung], what: dict[str, Any]
) -> None:
    _render_ladder(term, ctx.specs, rungs)


def _show_partial(
    term: _Term, ctx: Context, p: Mapping[str, Any], preview: wi.PartialPreview, what: dict[str, Any]
) -> None:
    _render_partial(term, ctx.specs[ctx.position()], preview)


def _show_funding_periods(term: _Term, ctx: Context, p: Mapping[str, Any], result: Any, what: dict[str, Any]) -> None:
    rows_doc = what["positions"]
    n = what["funding_periods"]
    shown = rows_doc[:4]
    step = max(1, -(-n // 24))  # at most ~24 rows: every step-th payment and the last
    ks = sorted({*range(step, n + 1, step), n})
    rows = []
    for k in ks:
        cells = [str(k)]
        for r in shown:
            cells.append(fmt_price(r["liquidation_price_after"][k - 1], display_tick(ctx.specs[r["index"]])))
        rows.append(cells)
    render_table(
        term,
        headers=["Payments", *(f"Liq. {_short(ctx.specs[r['index']])}" for r in shown)],
        rows=rows,
        right=[True] * (len(shown) + 1),
        styles=[None] * len(rows),
        title=f"{ctx.venue.label} — liquidation price over {n} funding payments (marks held)",
    )
    for r in rows_doc:
        spec = ctx.specs[r["index"]]
        ccy = settle_currency(spec, ctx.venue)
        verb = "pays" if r["payment"] < 0 else "receives"
        term.line(
            f"{_label(spec)}: rate {r['rate'] * 100:+.4f}% — {verb} {fmt_amount(abs(r['payment']), ccy)} per payment, "
            f"{fmt_amount(abs(r['paid_total']), ccy)} over {n}; liquidation price "
            f"{fmt_price(r['liquidation_price'], display_tick(spec))} now"
        )
    if len(rows_doc) > len(shown):
        term.line(f"({len(rows_doc) - len(shown)} more positions in --json)", "dim")


RENDER: dict[str, Render] = {
    "add_size": _show_add_size,
    "set_leverage": _show_set_leverage,
    "add_margin": _show_add_margin,
    "shock": _show_shock,
    "target_margin_ratio": _show_targets,
    "target_distance": _show_distance,
    "ladder": _show_ladder,
    "partial": _show_partial,
    "funding_periods": _show_funding_periods,
}
"""The human output of each scenario of :data:`SCENARIOS` (a test checks none is missing)."""


# ---------------------------------------------------------------------------- human output


def _size(spec: PositionSpec, size: float, *, short: bool = False, largest: bool = False) -> str:
    """A size in the position's unit: base units, or (coin-margined) USD face value and contracts.
    ``short`` (a narrow column): the USD face value to the dollar, without contracts. ``largest``
    (a "largest size" answer): the digits shown are rounded down, so the number as printed, typed
    back into ``--add-size``, is still allowed."""
    if largest:
        return fmt_largest_size(spec, size)
    if spec.inverse:
        if short:
            return f"{fixed(size, 0)} USD"
        text = f"{plain(size, 10)} USD"
        if spec.contract_size:
            text += f" ({plain(size / spec.contract_size, 10)} contracts)"
        return text
    return f"{plain(size, 6 if short else 10)} {spec.symbol.partition('/')[0]}"


def _label(spec: PositionSpec) -> str:
    mode = "iso" if spec.margin_mode == "isolated" else "cross"
    return f"{spec.symbol.split(':')[0]} {spec.side} {mode}"


def _short(spec: PositionSpec) -> str:
    return f"{spec.symbol.split('/')[0]} {'L' if spec.side == 'long' else 'S'}"


def _render_change(term: _Term, venue: Venue, change: wi.Change, extra: list[str]) -> None:
    i = change.index
    before = change.before.positions[i]
    after = change.after.positions[i]
    ccy = settle_currency(before.spec, venue)
    rows = [[name, b, "→", a] for name, b, a in change_rows(before, after, change.before, change.after, currency=ccy)]
    styles: list[str | None] = ["bold" if r[1] != r[3] else None for r in rows]
    render_table(
        term,
        headers=["", "Before", "", "After"],
        rows=rows,
        right=[False, True, False, True],
        styles=styles,
        title=f"{venue_title(venue, [before.spec])} — what if: {_label(before.spec)}",
    )
    for line in extra:
        term.line(line)
    if not change.allowed:
        term.line(f"NOT ALLOWED: {change.reason}", "liquidating")
    for note in change.notes:
        term.line(f"Note: {note}", "dim")


def _render_shock(term: _Term, venue: Venue, specs: Sequence[PositionSpec], result: wi.ShockResult) -> None:
    cross = [i for i, s in enumerate(specs) if s.margin_mode == "cross"][:3]
    first = pools_of(result.steps[0].risk, venue) if result.steps else []
    currencies = [ccy for ccy, _ in first]
    several = len(currencies) > 1
    headers = ["Move"]
    for ccy in currencies:  # one balance / ratio column group per collateral pool
        headers += [f"{ccy} balance", f"{ccy} MR"] if several else ["Balance", "Acct MR", "Cross MR"]
    headers += [*(f"Liq. {_short(specs[i])}" for i in cross), "Liquidated"]
    rows = []
    styles: list[str | None] = []
    for step in result.steps:
        by_index = dict(zip(step.survivors, step.risk.positions, strict=True))
        lps = []
        for i in cross:
            p = by_index.get(i)
            lps.append("liquidated" if p is None else fmt_price(p.liquidation_price, display_tick(specs[i])))
        gone = ", ".join(_short(specs[i]) for i in step.liquidated) or "—"
        by_ccy = dict(pools_of(step.risk, venue))
        cells = [f"{step.move * 100:+.2f}%"]
        for ccy in currencies:
            a = by_ccy.get(ccy)
            if a is None:  # the pool's last position was liquidated
                cells += ["—", "—"] if several else ["—", "—", "—"]
                continue
            cells += [fmt_amount(a.margin_balance, ccy, short=True), fmt_pct(a.margin_ratio)]
            if not several:  # one pool: its cross margin ratio beside the account's
                cells.append(fmt_pct(a.cross_margin_ratio) if a.cross_maintenance_margin else "—")
        rows.append([*cells, *lps, gone])
        worst = max((p.margin_ratio or 0.0 for p in step.risk.positions), default=0.0)
        styles.append(risk_style(worst, "ok") if step.liquidated == [] else "danger")
    render_table(
        term,
        headers=headers,
        rows=rows,
        right=[True] * (len(headers) - 1) + [False],
        styles=styles,
        title=f"{venue_title(venue, specs)} — price shock (liquidated positions are closed at their liquidation price)",
    )
    if result.order:
        term.line("Liquidation order:", "bold")
        for e in result.order:
            names = ", ".join(_label(specs[i]) for i in e.indices)
            term.line(f"  {e.move * 100:+.3f}%  {names} ({e.scope})")
    else:
        term.line("No position liquidates within these moves.")


def _render_targets(term: _Term, venue: Venue, specs: Sequence[PositionSpec], what: dict[str, Any]) -> None:
    ratio = what["target_margin_ratio"]
    rows = []
    for t in what["targets"]:
        spec = specs[t["index"]]
        tick = display_tick(spec)
        move = t["move_from_mark"]
        rows.append(
            [
                _label(spec),
                fmt_price(spec.mark_price, tick),
                fmt_price(t["target_mark"], tick),
                "—" if move is None else f"{move * 100:+.2f}%",
            ]
        )
    render_table(
        term,
        headers=["Position", "Mark", f"Mark at MR {plain(ratio * 100)}%", "Move"],
        rows=rows,
        right=[False, True, True, True],
        styles=[None] * len(rows),
        title=f"{venue_title(venue, specs)} — where the margin ratio reaches {plain(ratio * 100)}%",
    )
    scope = "cross account" if what["account_scope"] == "cross" else "account"
    if what.get("account_move_unavailable"):  # a multi-assets account whose move is not linear
        term.line(f"The {scope}'s common move is not computed: {what['account_move_unavailable']}")
        return
    for key, word in (("account_move_down", "fall"), ("account_move_up", "rise")):
        move = what[key]
        term.line(
            f"The {scope} margin ratio reaches {plain(ratio * 100)}% on a common {word} of "
            + ("— (never, within -100% … +1000%)" if move is None else f"{move * 100:+.2f}%")
        )


def _render_ladder(term: _Term, specs: Sequence[PositionSpec], rungs: list[wi.LadderRung]) -> None:
    rows = []
    for r in rungs:
        tick = display_tick(specs[r.index])
        rows.append(
            [
                _label(specs[r.index]),
                fmt_price(r.mark_price, tick),
                fmt_price(r.liquidation_price, tick),
                fmt_pct(r.distance_to_liquidation),
                fmt_price(r.bankruptcy_price, tick),
                fmt_pct(r.distance_to_bankruptcy),
            ]
        )
    render_table(
        term,
        headers=["Position", "Mark", "Liq.", "To liq.", "Bankr.", "To bankr."],
        rows=rows,
        right=[False, True, True, True, True, True],
        styles=[None] * len(rows),
        title="Liquidation ladder (nearest first)",
    )


def _render_partial(term: _Term, spec: PositionSpec, preview: wi.PartialPreview) -> None:
    term.line(f"Step-wise liquidation preview — {_label(spec)}", "bold")
    term.line(preview.description, "dim")
    if preview.at_price is None:
        term.line("No liquidation price: nothing to preview.")
        return
    term.line(f"At the liquidation price {fmt_price(preview.at_price, display_tick(spec))}:")
    rows = [
        [
            f"{i + 1}",
            _size(spec, st.closed_size, short=True),
            _size(spec, st.remaining_size, short=True),
            "—" if st.tier_after is None else str(st.tier_after),
            fmt_pct(st.margin_ratio_after),
        ]
        for i, st in enumerate(preview.steps)
    ]
    render_table(
        term,
        headers=["Step", "Closed", "Remaining", "Tier after", "MR after"],
        rows=rows,
        right=[True] * 5,
        styles=[None] * len(rows),
    )
    term.line("Fully liquidated." if preview.fully_liquidated else "The remainder survives (margin ratio < 100%).")


__all__ = ["RENDER", "run_scenario", "select_position"]
