"""`liqwatch calc` what-if scenarios: choose the position, run the core scenario, print it.

JSON: the plain calc document (the account as it is now) plus a ``"what_if"`` object with
``"scenario"``, ``"before"`` and ``"after"`` in the same shape as the plain output, and the
scenario's own fields (``"max_add_size"``, ``"order"``, ``"steps"``, ...).
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from liqwatch.core import whatif as wi
from liqwatch.core.engine import assess
from liqwatch.core.errors import InputError
from liqwatch.core.model import PortfolioRisk, PositionSpec
from liqwatch.core.venues import Venue
from liqwatch.output import (
    _Term,
    change_rows,
    display_tick,
    fmt_money,
    fmt_pct,
    fmt_price,
    portfolio_dict,
    render_table,
    risk_style,
    write_json,
)

ALL_POSITION_SCENARIOS = {"--shock", "--target-margin-ratio", "--ladder"}


def _fail(message: str) -> NoReturn:
    sys.stderr.write(f"liqwatch: error: {message}\n")
    raise SystemExit(2)


def select_position(args: argparse.Namespace, venue: Venue, specs: Sequence[PositionSpec], flag: str) -> int | None:
    """The position a scenario applies to: the only one, or the one --symbol (and --side) names."""
    if args.portfolio is None:
        return 0
    if args.symbol is None:
        if flag in ALL_POSITION_SCENARIOS:
            return None
        if len(specs) == 1:
            return 0
        _fail(f"{flag}: name the position with --symbol (and --side in hedge mode)")
    from liqwatch.markets import find_market

    try:
        unified, _ = find_market(venue, args.symbol)
    except InputError as exc:
        _fail(f"--symbol: {exc.message}")
    matches = [i for i, s in enumerate(specs) if s.symbol.upper() == unified.upper()]
    if args.side is not None:
        matches = [i for i in matches if specs[i].side == args.side]
    if not matches:
        side = f" {args.side}" if args.side else ""
        _fail(f"--symbol: no{side} {unified} position in {args.portfolio}")
    if len(matches) > 1:
        _fail(f"--side: {unified} has a long and a short leg; say which with --side")
    return matches[0]


def run_scenario(args: argparse.Namespace, flag: str, venue: Venue, specs: list[PositionSpec], wallet: float) -> int:
    index = select_position(args, venue, specs, flag)
    try:
        doc, render = _compute(args, flag, venue, specs, wallet, index)
    except InputError as exc:
        field = "--" + exc.field.replace("_", "-")
        _fail(f"{field}: {exc.message}")
    if args.json:
        write_json(doc, sys.stdout)
    else:
        render()
    return 0


def _doc(risk: PortfolioRisk, venue: Venue, indices: Sequence[int] | None = None) -> dict[str, Any]:
    doc = portfolio_dict(risk, venue)
    if indices is not None:
        for pos, i in zip(doc["positions"], indices, strict=True):
            pos["index"] = i
    return doc


def _num(x: float | None) -> float | None:
    return None if x is None or not math.isfinite(x) else x


def _compute(
    args: argparse.Namespace,
    flag: str,
    venue: Venue,
    specs: list[PositionSpec],
    wallet: float,
    index: int | None,
) -> tuple[dict[str, Any], Any]:
    current = assess(venue, specs, wallet)
    base = _doc(current, venue)
    what: dict[str, Any] = {"scenario": flag.lstrip("-").replace("-", "_"), "position": index}
    term = _Term(sys.stdout)

    def change_doc(change: wi.Change) -> None:
        what.update(
            before=_doc(change.before, venue),
            after=_doc(change.after, venue),
            allowed=change.allowed,
            reason=change.reason,
            notes=change.notes,
        )

    if flag == "--add-size":
        assert index is not None
        add = wi.add_size(venue, specs, wallet, index, args.add_size, args.add_price)
        change_doc(add)
        what.update(
            added_size=add.added_size,
            price=add.price,
            new_entry_price=add.new_entry_price,
            margin_added=add.margin_added,
            max_add_size=_num(add.max_add_size),
        )
        extra = [
            f"Add {add.added_size:g} at {fmt_price(add.price, display_tick(specs[index]))}: new entry "
            f"{fmt_price(add.new_entry_price, display_tick(specs[index]))}, margin added {fmt_money(add.margin_added)}",
            "Largest size that can be added within the bracket's max leverage: "
            + ("no bracket limit" if add.max_add_size is None else f"{add.max_add_size:,.6g}"),
        ]
        return {**base, "what_if": what}, lambda: _render_change(term, venue, add, extra)

    if flag == "--set-leverage":
        assert index is not None
        lev = wi.change_leverage(venue, specs, wallet, index, args.set_leverage)
        change_doc(lev)
        what.update(
            new_leverage=lev.new_leverage,
            margin_change=lev.margin_change,
            releasable_margin=lev.releasable_margin,
            convention=lev.convention,
            liquidation_price_moves=lev.liquidation_price_moves,
            max_position_value=_num(lev.max_position_value),
        )
        verb = "to post" if lev.margin_change >= 0 else "released"
        extra = [f"Leverage → {lev.new_leverage:g}x: margin {verb} {fmt_money(abs(lev.margin_change))}", lev.convention]
        if lev.releasable_margin:
            extra.append(f"Releasable afterwards: {fmt_money(lev.releasable_margin)}")
        if lev.max_position_value is not None:
            extra.append(f"Largest position value at {lev.new_leverage:g}x: {fmt_money(lev.max_position_value)}")
        if not lev.liquidation_price_moves:
            extra.append("The liquidation price does not move.")
        return {**base, "what_if": what}, lambda: _render_change(term, venue, lev, extra)

    if flag == "--add-margin":
        assert index is not None
        mc = wi.add_margin(venue, specs, wallet, index, args.add_margin)
        change_doc(mc)
        what.update(amount=mc.amount, max_removable=mc.max_removable)
        extra = [
            f"Margin {'added' if mc.amount >= 0 else 'removed'}: {fmt_money(abs(mc.amount))}",
            f"Most that can be removed now: {fmt_money(mc.max_removable)}",
        ]
        return {**base, "what_if": what}, lambda: _render_change(term, venue, mc, extra)

    if flag == "--shock":
        from liqwatch.cli import parse_betas, parse_shocks

        moves = parse_shocks(args.shock)
        betas = parse_betas(args.beta)
        symbols = {specs[index].symbol} if index is not None else None
        result = wi.shock(venue, specs, wallet, moves, betas=betas or None, symbols=symbols)
        steps = []
        for step in result.steps:
            doc = _doc(step.risk, venue, step.survivors)
            steps.append(
                {
                    "move": step.move,
                    "account": doc["account"],
                    "liquidated": step.liquidated,
                    "positions": doc["positions"],
                }
            )
        extreme = max(result.steps, key=lambda st: abs(st.move))
        what.update(
            before=base,
            after=_doc(extreme.risk, venue, extreme.survivors),
            moves=moves,
            betas=betas,
            steps=steps,
            order=[
                {
                    "move": e.move,
                    "positions": e.indices,
                    "symbols": [specs[i].symbol for i in e.indices],
                    "scope": e.scope,
                }
                for e in result.order
            ],
        )
        return {**base, "what_if": what}, lambda: _render_shock(term, venue, specs, current, result)

    if flag == "--target-margin-ratio":
        ratio = args.target_margin_ratio
        chosen = [index] if index is not None else list(range(len(specs)))
        targets = []
        for i in chosen:
            mark = wi.target_mark(venue, specs, wallet, i, ratio)
            spec = specs[i]
            targets.append(
                {
                    "index": i,
                    "symbol": spec.symbol,
                    "side": spec.side,
                    "margin_mode": spec.margin_mode,
                    "mark_price": spec.mark_price,
                    "target_mark": mark,
                    "move_from_mark": None if mark is None else mark / spec.mark_price - 1,
                }
            )
        down = wi.target_move(venue, specs, wallet, ratio, down=True)
        up = wi.target_move(venue, specs, wallet, ratio, down=False)
        scope = "cross" if any(s.margin_mode == "cross" for s in specs) else "account"
        what.update(
            target_margin_ratio=ratio, targets=targets, account_scope=scope, account_move_down=down, account_move_up=up
        )
        return {**base, "what_if": what}, lambda: _render_targets(term, venue, specs, what)

    if flag == "--target-distance":
        assert index is not None
        distance = args.target_distance / 100.0
        if not (distance > 0 and math.isfinite(distance)):
            raise InputError("target_distance", f"must be > 0, got {args.target_distance:g}")
        size, limit = wi.max_add_for_distance(venue, specs, wallet, index, distance)
        add = wi.add_size(venue, specs, wallet, index, size)
        change_doc(add)
        what.update(
            target_distance=distance,
            max_add_size=size,
            limited_by=limit,
            price=add.price,
            new_entry_price=add.new_entry_price,
        )
        extra = [
            f"Largest size to add at the mark before liquidation comes within {args.target_distance:g}% "
            f"of the mark: {size:,.6g} (limited by {limit})"
        ]
        return {**base, "what_if": what}, lambda: _render_change(term, venue, add, extra)

    if flag == "--ladder":
        rungs = wi.ladder(current)
        what["ladder"] = [
            {
                "index": r.index,
                "symbol": r.symbol,
                "side": r.side,
                "margin_mode": r.margin_mode,
                "mark_price": r.mark_price,
                "liquidation_price": r.liquidation_price,
                "bankruptcy_price": r.bankruptcy_price,
                "distance_to_liquidation": r.distance_to_liquidation,
                "distance_to_bankruptcy": r.distance_to_bankruptcy,
            }
            for r in rungs
        ]
        return {**base, "what_if": what}, lambda: _render_ladder(term, specs, rungs)

    assert flag == "--partial" and index is not None
    preview = wi.partial_liquidation(venue, specs, wallet, index)
    what["partial"] = {
        "model": preview.model,
        "description": preview.description,
        "at_price": preview.at_price,
        "fully_liquidated": preview.fully_liquidated,
        "steps": [
            {
                "closed_size": st.closed_size,
                "remaining_size": st.remaining_size,
                "tier_after": st.tier_after,
                "margin_ratio_after": st.margin_ratio_after,
            }
            for st in preview.steps
        ],
    }
    return {**base, "what_if": what}, lambda: _render_partial(term, specs[index], preview)


# ---------------------------------------------------------------------------- human output


def _label(spec: PositionSpec) -> str:
    mode = "iso" if spec.margin_mode == "isolated" else "cross"
    return f"{spec.symbol.split(':')[0]} {spec.side} {mode}"


def _short(spec: PositionSpec) -> str:
    return f"{spec.symbol.split('/')[0]} {'L' if spec.side == 'long' else 'S'}"


def _render_change(term: _Term, venue: Venue, change: wi.Change, extra: list[str]) -> None:
    i = change.index
    before = change.before.positions[i]
    after = change.after.positions[i]
    rows = [[name, b, "→", a] for name, b, a in change_rows(before, after, change.before, change.after)]
    styles: list[str | None] = ["bold" if r[1] != r[3] else None for r in rows]
    render_table(
        term,
        headers=["", "Before", "", "After"],
        rows=rows,
        right=[False, True, False, True],
        styles=styles,
        title=f"{venue.label} — what if: {_label(before.spec)}",
    )
    for line in extra:
        term.line(line)
    if not change.allowed:
        term.line(f"NOT ALLOWED: {change.reason}", "liquidating")
    for note in change.notes:
        term.line(f"Note: {note}", "dim")


def _render_shock(
    term: _Term, venue: Venue, specs: Sequence[PositionSpec], now: PortfolioRisk, result: wi.ShockResult
) -> None:
    cross = [i for i, s in enumerate(specs) if s.margin_mode == "cross"][:3]
    headers = [
        "Move",
        "Balance",
        "Acct MR",
        "Cross MR",
        *(f"Liq. {_short(specs[i])}" for i in cross),
        "Liquidated",
    ]
    rows = []
    styles: list[str | None] = []
    for step in result.steps:
        by_index = dict(zip(step.survivors, step.risk.positions, strict=True))
        a = step.risk.account
        lps = []
        for i in cross:
            p = by_index.get(i)
            lps.append("liquidated" if p is None else fmt_price(p.liquidation_price, display_tick(specs[i])))
        gone = ", ".join(_short(specs[i]) for i in step.liquidated) or "—"
        rows.append(
            [
                f"{step.move * 100:+.2f}%",
                fmt_money(a.margin_balance),
                fmt_pct(a.margin_ratio),
                fmt_pct(a.cross_margin_ratio) if a.cross_maintenance_margin else "—",
                *lps,
                gone,
            ]
        )
        worst = max((p.margin_ratio or 0.0 for p in step.risk.positions), default=0.0)
        styles.append(risk_style(worst, "ok") if step.liquidated == [] else "danger")
    render_table(
        term,
        headers=headers,
        rows=rows,
        right=[True] * (len(headers) - 1) + [False],
        styles=styles,
        title=f"{venue.label} — price shock (liquidated positions are closed at their liquidation price)",
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
        headers=["Position", "Mark", f"Mark at MR {ratio * 100:g}%", "Move"],
        rows=rows,
        right=[False, True, True, True],
        styles=[None] * len(rows),
        title=f"{venue.label} — where the margin ratio reaches {ratio * 100:g}%",
    )
    scope = "cross account" if what["account_scope"] == "cross" else "account"
    for key, word in (("account_move_down", "fall"), ("account_move_up", "rise")):
        move = what[key]
        term.line(
            f"The {scope} margin ratio reaches {ratio * 100:g}% on a common {word} of "
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
            f"{st.closed_size:,.6g}",
            f"{st.remaining_size:,.6g}",
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


__all__ = ["run_scenario", "select_position"]
