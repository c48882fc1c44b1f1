"""``liqwatch calc`` on a multi-collateral account: the command's flow (what-if scenarios, JSON or
table, one-line refusals) over :mod:`liqwatch.collateral_calc`'s account model and printing.

Here, in the CLI package, so that :mod:`liqwatch.collateral_calc` never imports the CLI back (no
import circle, type-only imports included; ``tests/test_import_graph.py``). Kept light: imported by
``liqwatch calc`` only for such an account; no ccxt, Textual or websockets.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from liqwatch.collateral_calc import (
    _TABLE_ONLY,
    FUNDING_NOTE,
    MultiAccount,
    MultiChange,
    _pct,
    _usd,
    add_size_change,
    apply_shocks,
    build_assets,
    document,
    file_field,
    flag_field,
    parse_collateral_shocks,
    partial_preview,
    print_account,
    print_collateral_shock,
    print_shock,
    set_leverage_change,
    shock_document,
    stale_table_warning,
    target_distance_change,
    target_document,
)
from liqwatch.core.collateral import AccountMode, CollateralAsset, liability_warnings
from liqwatch.core.errors import InputError
from liqwatch.core.model import AccountRisk
from liqwatch.core.numfmt import plain

if TYPE_CHECKING:
    from liqwatch.core import whatif as wi
    from liqwatch.core.model import PositionSpec
    from liqwatch.core.venues import Venue


def run_multi(
    args: Any,
    venue: Venue,
    specs: list[PositionSpec],
    rows: Sequence[Mapping[str, Any]],
    mode: str,
    rates: Sequence[float | None],
) -> list[str]:
    """``liqwatch calc`` on a multi-collateral account: the answer on stdout (JSON or table), plain,
    ``--collateral-shock`` or ``--shock``; every bad input one line and exit 2. Returns the
    warnings for stderr."""
    from liqwatch.cli.common import FLAG_FOR_FIELD, chosen_scenario, fail
    from liqwatch.output import write_json
    from liqwatch.scenarios import SCENARIOS

    from_file = args.portfolio is not None

    flags = {param.name: param.flag for sc in SCENARIOS.values() for param in sc.params}

    def refuse(exc: InputError) -> None:
        field = exc.field
        if field in flags:  # a what-if flag's value: named as single mode names it
            fail(f"{flags[field]}: {exc.message}")
        if from_file:
            fail(f"{args.portfolio}: {field}: {exc.message}")
        if field.startswith("positions[0]."):
            field = field.removeprefix("positions[0].")
            field = FLAG_FOR_FIELD.get(field, "--" + field.replace("_", "-"))
        elif not field.startswith("--"):
            field = FLAG_FOR_FIELD.get(field, "--" + field.replace("_", "-"))
        fail(f"{field}: {exc.message}")

    account_mode: AccountMode = "multi_assets" if mode == "multi_assets" else "portfolio"
    scenario = chosen_scenario(args)
    if scenario is not None and args.collateral_shock is not None:
        fail(f"--collateral-shock: one what-if scenario per run (also given: {SCENARIOS[scenario].flag})")
    if scenario == "add_margin":
        fail(f"--add-margin: {ADD_MARGIN_REFUSAL}")
    if scenario == "funding_periods":
        fail(f"--funding-periods: {FUNDING_PERIODS_REFUSAL}")
    if scenario is None and (args.symbol is not None or args.side is not None) and from_file:
        fail("--symbol: with --portfolio, --symbol/--side only select the position for a what-if scenario")
    funding_given = any(r is not None for r in rates)
    warnings: list[str] = []
    if funding_given:
        warnings.append(f"warning: funding: {FUNDING_NOTE}")
    try:
        assets = build_assets(rows, specs, venue, file_field if from_file else flag_field)
        warnings += stale_table_warning(venue.name, assets)
        account = MultiAccount(venue, specs, assets, account_mode)
        warnings += [f"warning: {line}" for line in liability_warnings(account.risk)]
        if args.collateral_shock is not None:
            shocks = parse_collateral_shocks(args.collateral_shock)
            after = MultiAccount(venue, specs, apply_shocks(assets, shocks), account_mode)
            if args.json:
                base = document(account, funding_given)
                what = {"collateral_shock": shocks, "after": document(after, funding_given)}
                write_json({**base, "what_if": what}, sys.stdout)
            else:
                print_collateral_shock(account, after, shocks)
            return warnings
        if scenario is not None:
            from liqwatch.cli.whatif import select_position

            index = select_position(args, venue, specs, SCENARIOS[scenario])
            head: dict[str, Any] = {"scenario": scenario, "position": index}
            base = document(account, funding_given)
        if scenario == "shock":
            from liqwatch.scenarios import parse_betas, parse_shocks

            symbols = {specs[index].symbol} if index is not None else None
            moves = parse_shocks(args.shock)
            betas = parse_betas(args.beta)
            what, steps, trigger = shock_document(venue, specs, assets, account_mode, moves, betas, symbols)
            if args.json:
                write_json({**base, "what_if": {**head, "before": base, **what}}, sys.stdout)
            else:
                print_account(account)
                print_shock(venue, account, steps, trigger)
            return warnings
        if scenario == "ladder":
            from liqwatch.core.model import PortfolioRisk
            from liqwatch.core.whatif import ladder
            from liqwatch.scenarios import Context, _ladder_record

            rungs = ladder(PortfolioRisk(venue.name, account.positions, _TABLE_ONLY))
            if args.json:
                ctx = Context(venue, specs, 0.0, index)
                write_json({**base, "what_if": {**head, **_ladder_record(ctx, {}, rungs)}}, sys.stdout)
            else:
                from liqwatch.cli.whatif import _render_ladder
                from liqwatch.output import _Term

                print_account(account)
                _render_ladder(_Term(sys.stdout), specs, rungs)
            return warnings
        if scenario in ONE_POSITION:
            assert index is not None  # select_position names one position for these
            result, warnings_of = one_position(args, venue, specs, assets, account_mode, scenario, index, account)
            warnings += warnings_of
            if args.json:
                write_json({**base, "what_if": {**head, **result.record()}}, sys.stdout)
            else:
                render_one_position(venue, scenario, result, args)
            return warnings
        if scenario == "target_margin_ratio":
            what = target_document(venue, specs, assets, account_mode, args.target_margin_ratio, index)
            if args.json:
                write_json({**base, "what_if": {**head, **what}}, sys.stdout)
            else:
                from liqwatch.cli.whatif import _render_targets
                from liqwatch.output import _Term

                print_account(account)
                _render_targets(_Term(sys.stdout), venue, specs, what)
            return warnings
    except InputError as exc:
        refuse(exc)
    if args.json:
        write_json(document(account, funding_given), sys.stdout)
    else:
        print_account(account)
    return warnings


ADD_MARGIN_REFUSAL = (
    "a multi_assets account is one cross pool: no position has margin of its own to add to or take "
    "from; add collateral with --collateral ASSET=AMOUNT[@PRICE] (a collateral row of the file) instead"
)
FUNDING_PERIODS_REFUSAL = (
    "the funding drift of a multi_assets account is not computed yet: add the payments to the settle "
    "asset's amount (--collateral, or its collateral row) and run calc again"
)
ONE_POSITION = ("add_size", "set_leverage", "target_distance", "partial")
"""The one-position what-ifs computed for a multi-collateral account (:func:`one_position`)."""


class _PartialResult:
    """``--partial``'s answer with the record single mode writes for it."""

    __slots__ = ("preview", "spec", "venue")

    def __init__(self, venue: Venue, spec: PositionSpec, preview: wi.PartialPreview) -> None:
        self.venue = venue
        self.spec = spec
        self.preview = preview

    def record(self) -> dict[str, Any]:
        from liqwatch.scenarios import Context, _partial_record

        return _partial_record(Context(self.venue, [], 0.0, None), {}, self.preview)


def one_position(
    args: Any,
    venue: Venue,
    specs: Sequence[PositionSpec],
    assets: Sequence[CollateralAsset],
    mode: AccountMode,
    scenario: str,
    index: int,
    account: MultiAccount,
) -> tuple[MultiChange | _PartialResult, list[str]]:
    """Run ``--add-size``, ``--set-leverage``, ``--target-distance`` or ``--partial`` on position
    ``index``; (the result, warnings for stderr: a far ``--add-price``)."""
    from liqwatch.scenarios import SCENARIOS, Context, far_price_warning, far_prices

    if scenario == "add_size":
        params = {"add_size": args.add_size, "add_price": args.add_price}
        ctx = Context(venue, specs, 0.0, index)
        warnings = [far_price_warning(ctx, p.flag, x, m) for p, x, m in far_prices(SCENARIOS[scenario], ctx, params)]
        change = add_size_change(venue, specs, assets, mode, index, args.add_size, args.add_price, before=account)
        return change, warnings
    if scenario == "set_leverage":
        return set_leverage_change(venue, specs, assets, mode, index, args.set_leverage), []
    if scenario == "target_distance":
        return target_distance_change(venue, specs, assets, mode, index, args.target_distance), []
    return _PartialResult(venue, specs[index], partial_preview(venue, specs, assets, mode, index)), []


def _as_change(change: MultiChange) -> wi.Change:
    """The change as single mode's human table reads it: each side's positions and the account's
    margin ratio as its "Account MR"."""
    from liqwatch.core import whatif as wi
    from liqwatch.core.model import PortfolioRisk

    def portfolio(account: MultiAccount) -> PortfolioRisk:
        r = account.risk
        acc = AccountRisk(0.0, 0.0, 0.0, r.effective_equity, r.maintenance_margin_usd, r.margin_ratio, 0.0, 0.0,
                          r.margin_ratio, None)  # fmt: skip
        return PortfolioRisk(account.venue.name, account.positions, acc)

    out = wi.Change(change.kind, change.index, portfolio(change.before), portfolio(change.after))
    out.allowed, out.reason, out.notes = change.allowed, change.reason, change.notes
    return out


def render_one_position(venue: Venue, scenario: str, result: MultiChange | _PartialResult, args: Any) -> None:
    """The human output of :func:`one_position`: single mode's before / after table (or its partial
    preview), its lines, and the account's margin ratio and effective equity before and after."""
    from liqwatch.cli.whatif import _render_change, _render_partial, _size
    from liqwatch.output import _Term, display_tick, fmt_amount, fmt_largest_size, fmt_price
    from liqwatch.records import settle_currency

    term = _Term(sys.stdout)
    if isinstance(result, _PartialResult):
        _render_partial(term, result.spec, result.preview)
        return
    spec = result.before.specs[result.index]
    tick = display_tick(spec)
    f = result.fields
    ccy = settle_currency(spec, venue)
    extra: list[str] = []
    if scenario == "add_size":
        largest = f["max_add_size"]
        extra = [
            f"Add {_size(spec, f['added_size'])} at {fmt_price(f['price'], tick)}: new entry "
            f"{fmt_price(f['new_entry_price'], tick)}, no margin posted (the collateral pool backs it)",
            "Largest size that can be added within the bracket's max leverage: "
            + ("no bracket limit" if largest is None else fmt_largest_size(spec, largest)),
        ]
    elif scenario == "set_leverage":
        verb = "to hold" if f["margin_change"] >= 0 else "released"
        extra = [
            f"Leverage → {plain(f['new_leverage'])}x: initial margin {verb} {fmt_amount(abs(f['margin_change']), ccy)}",
            f["convention"],
        ]
        if f["max_position_value"] is not None:
            at = plain(f["new_leverage"])
            bound = "up to" if f["max_position_value_inclusive"] else "below"
            if spec.tiers.basis == "quantity":
                extra.append(f"Position size allowed at {at}x: {bound} {_size(spec, f['max_position_value'])}")
            else:
                extra.append(f"Position value allowed at {at}x: {bound} {fmt_amount(f['max_position_value'], ccy)}")
        if not f["liquidation_price_moves"]:
            extra.append("The liquidation price does not move.")
    else:
        extra = [
            f"Largest size to add at the mark before liquidation comes within {plain(args.target_distance)}% "
            f"of the mark: {fmt_largest_size(spec, f['max_add_size'])} (limited by {f['limited_by']})"
        ]
    b, a = result.before.risk, result.after.risk
    extra.append(
        f"Account ({b.mode}): margin ratio {_pct(b.margin_ratio)} → {_pct(a.margin_ratio)}; effective equity "
        f"{_usd(b.effective_equity)} → {_usd(a.effective_equity)}; maintenance {_usd(b.maintenance_margin_usd)} "
        f"→ {_usd(a.maintenance_margin_usd)}"
    )
    _render_change(term, venue, _as_change(result), extra)
