"""The what-if scenarios, one table for every surface.

Each :class:`Scenario` names its parameters (the ``liqwatch calc`` flags; the first one selects the
scenario), the core function of :mod:`liqwatch.core.whatif` it runs and how its result becomes the
``"what_if"`` record. ``liqwatch calc`` builds its flags, its checks and its JSON from
:data:`SCENARIOS`; the dashboard's what-if screen runs the same entries (``add_size``,
``set_leverage``, ``add_margin``, ``shock``) as the user types. Human rendering stays with each
surface (:mod:`liqwatch.cli.whatif`, :mod:`liqwatch.tui.screens.whatif`).

The record of a scenario is the calc document's ``"what_if"`` object: ``"scenario"``, ``"position"``
and then the scenario's own fields — ``"before"`` / ``"after"`` in the shape of the plain calc
document for the scenarios that change the account.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from liqwatch.core.engine import Wallet, assess
from liqwatch.core.errors import InputError
from liqwatch.core.model import PortfolioRisk, PositionSpec
from liqwatch.core.numfmt import plain, typed
from liqwatch.core.venues import Venue
from liqwatch.percent import fraction_arg, percent_arg, percent_value
from liqwatch.records import num, portfolio_record

if TYPE_CHECKING:  # `liqwatch calc` builds its flags from this table on every run: the core's
    # what-if module loads only when a scenario runs
    from liqwatch.core import whatif as wi
    from liqwatch.core.funding import FundingDrift


class Context:
    """What a scenario runs on: the account's positions and wallet (one amount, or one per settle
    currency) and the chosen position (None: every position, for the scenarios that allow it)."""

    def __init__(
        self,
        venue: Venue,
        specs: Sequence[PositionSpec],
        wallet: Wallet,
        index: int | None,
        current: PortfolioRisk | None = None,
        funding_rates: Sequence[float | None] | None = None,
    ) -> None:
        self.venue = venue
        self.specs = list(specs)
        self.wallet = wallet
        self.index = index
        self._current = current
        self.funding_rates = funding_rates
        """Each position's funding rate per payment (None: not given), for ``funding_periods``."""

    @property
    def current(self) -> PortfolioRisk:
        """The account as it is now (assessed once)."""
        if self._current is None:
            self._current = assess(self.venue, self.specs, self.wallet)
        return self._current

    def position(self) -> int:
        assert self.index is not None, "this scenario applies to one position"
        return self.index


class Param:
    """One parameter: its calc flag and the argparse keywords that define it."""

    # plain classes, not dataclasses: calc builds its flags from this table on every run, and a
    # dataclass costs about a millisecond of its cold start to create
    __slots__ = ("flag", "name", "options")

    def __init__(self, flag: str, options: Mapping[str, Any]) -> None:
        self.flag = flag
        self.options = options
        self.name = flag.lstrip("-").replace("-", "_")
        """The parameter's key (argparse's ``dest``): ``--add-size`` -> ``add_size``."""


_NO_PARSE: Mapping[str, Callable[[Any], Any]] = {}


class Scenario:
    """One scenario: ``params`` (the first selects it; the others only go with it), ``compute``
    (runs the core function on the parsed parameters), ``record`` (the scenario's fields of the
    ``"what_if"`` record), ``every_position`` (in a portfolio without ``--symbol`` it applies to
    every position) and ``parse`` (how a surface's raw value of a parameter becomes the value
    ``compute`` takes: calc parses ``--shock`` strings and ``--beta`` pairs; others are as given)."""

    __slots__ = ("compute", "every_position", "name", "params", "parse", "prices", "record")

    def __init__(
        self,
        name: str,
        params: tuple[Param, ...],
        compute: Callable[[Context, Mapping[str, Any]], Any],
        record: Callable[[Context, Mapping[str, Any], Any], dict[str, Any]],
        *,
        every_position: bool = False,
        parse: Mapping[str, Callable[[Any], Any]] = _NO_PARSE,
        prices: tuple[str, ...] = (),
    ) -> None:
        self.name = name
        self.params = params
        self.compute = compute
        self.record = record
        self.every_position = every_position
        self.parse = parse
        self.prices = prices
        """The parameters that are prices of the chosen position's market (:func:`far_prices`)."""

    @property
    def flag(self) -> str:
        return self.params[0].flag


def change_record(ctx: Context, change: wi.Change) -> dict[str, Any]:
    """``before``, ``after`` and the verdict of a scenario that changes one position."""
    return {
        "before": portfolio_record(change.before, ctx.venue),
        "after": portfolio_record(change.after, ctx.venue),
        "allowed": change.allowed,
        "reason": change.reason,
        "notes": change.notes,
    }


# ---------------------------------------------------------------------- add_size


def _whole_lot(ctx: Context) -> tuple[float, str] | None:
    """(USD per contract, the family's name) where the chosen position is coin-margined on a venue
    that trades whole contracts only (``InverseFamily.whole_contracts``); None elsewhere."""
    spec = ctx.specs[ctx.position()]
    if not spec.inverse:
        return None
    from liqwatch.data.contracts import INVERSE

    family = INVERSE.get(ctx.venue.name)
    if family is None or not family.whole_contracts:
        return None
    size = spec.contract_size or family.contract_size(spec.symbol.partition("/")[0])
    return (size, family.label) if size else None


def _check_whole_add(ctx: Context, size: float, price: float | None) -> None:
    """Refuse an added size that is not a whole number of contracts where the venue trades none
    but whole ones, in the words of calc's ``--size`` refusal (:func:`liqwatch.request.whole_contracts_refusal`)."""
    lot = _whole_lot(ctx)
    if lot is None or not math.isfinite(size) or size <= 0:
        return  # the core refuses a size that is no size
    from liqwatch.request import whole_contracts_refusal

    spec = ctx.specs[ctx.position()]
    message = whole_contracts_refusal(
        size,
        lot[0],
        lot[1],
        market=spec.symbol,
        coin=spec.symbol.partition("/")[0],
        price=price if price is not None and math.isfinite(price) and price > 0 else spec.mark_price,
        size_name="the added size",
        give="",
        count_give=None,
        what="addition",
    )
    if message is not None:
        raise InputError("add_size", message)


def _whole_floor(ctx: Context, size: float, allowed: Callable[[float], bool]) -> float:
    """``size`` (a largest size to add) down to whole contracts where the venue trades no fraction
    of one; as it is elsewhere. A count a hair under a whole one (float noise) keeps that count
    when ``allowed`` accepts it."""
    lot = _whole_lot(ctx)
    if lot is None or not math.isfinite(size):
        return size
    contract = lot[0]
    count = math.floor(size / contract)
    if (count + 1) * contract - size <= 1e-9 * max(1.0, size) and allowed((count + 1) * contract):
        count += 1
    return count * contract


def _add_size(ctx: Context, p: Mapping[str, Any]) -> wi.AddSize:
    from liqwatch.core import whatif as wi

    index, price = ctx.position(), p.get("add_price")
    _check_whole_add(ctx, p["add_size"], price)
    add = wi.add_size(ctx.venue, ctx.specs, ctx.wallet, index, p["add_size"], price)
    if add.max_add_size is not None:
        add.max_add_size = _whole_floor(
            ctx,
            add.max_add_size,
            lambda x: wi.add_size(ctx.venue, ctx.specs, ctx.wallet, index, x, price, with_max=False).allowed,
        )
    return add


def _add_size_record(ctx: Context, p: Mapping[str, Any], add: wi.AddSize) -> dict[str, Any]:
    return {
        **change_record(ctx, add),
        "added_size": add.added_size,
        "price": add.price,
        "new_entry_price": add.new_entry_price,
        "margin_added": add.margin_added,
        "max_add_size": num(add.max_add_size),
    }


# ---------------------------------------------------------------------- set_leverage


def _set_leverage(ctx: Context, p: Mapping[str, Any]) -> wi.LeverageChange:
    from liqwatch.core import whatif as wi

    return wi.change_leverage(ctx.venue, ctx.specs, ctx.wallet, ctx.position(), p["set_leverage"])


def _set_leverage_record(ctx: Context, p: Mapping[str, Any], lev: wi.LeverageChange) -> dict[str, Any]:
    return {
        **change_record(ctx, lev),
        "new_leverage": lev.new_leverage,
        "margin_change": lev.margin_change,
        "releasable_margin": lev.releasable_margin,
        "convention": lev.convention,
        "liquidation_price_moves": lev.liquidation_price_moves,
        "max_position_value": num(lev.max_position_value),
        "max_position_value_inclusive": None if lev.max_position_value is None else lev.max_position_inclusive,
    }


# ---------------------------------------------------------------------- add_margin


def _add_margin(ctx: Context, p: Mapping[str, Any]) -> wi.MarginChange:
    from liqwatch.core import whatif as wi

    return wi.add_margin(ctx.venue, ctx.specs, ctx.wallet, ctx.position(), p["add_margin"])


def _add_margin_record(ctx: Context, p: Mapping[str, Any], mc: wi.MarginChange) -> dict[str, Any]:
    return {**change_record(ctx, mc), "amount": mc.amount, "max_removable": mc.max_removable}


# ---------------------------------------------------------------------- shock


def _shock(ctx: Context, p: Mapping[str, Any]) -> wi.ShockResult:
    """Every mark moved by each of ``p["shock"]`` (fractions); ``p["beta"]`` per symbol. With a
    chosen position only its symbol moves."""
    from liqwatch.core import whatif as wi

    symbols = {ctx.specs[ctx.index].symbol} if ctx.index is not None else None
    betas = p.get("beta") or None
    if betas:
        _check_betas(ctx, betas, symbols)
    return wi.shock(ctx.venue, ctx.specs, ctx.wallet, p["shock"], betas=betas, symbols=symbols)


def _check_betas(ctx: Context, betas: Mapping[str, float], moving: set[str] | None) -> None:
    """Refuse a beta that would be ignored: for a symbol the account does not hold, or (with
    ``--symbol``) for one whose mark does not move."""
    held = list(dict.fromkeys(s.symbol for s in ctx.specs))
    for symbol in betas:
        if symbol not in held:
            shown = ", ".join(held[:5]) + (f" and {len(held) - 5} more" if len(held) > 5 else "")
            raise InputError("beta", f"{symbol} is not held: the account holds {shown}")
        if moving is not None and symbol not in moving:
            only = ", ".join(sorted(moving))
            raise InputError("beta", f"{symbol} does not move: with --symbol only {only} is shocked")


def _shock_record(ctx: Context, p: Mapping[str, Any], result: wi.ShockResult) -> dict[str, Any]:
    venue, specs = ctx.venue, ctx.specs
    steps = []
    for step in result.steps:
        doc = portfolio_record(step.risk, venue, step.survivors)
        steps.append(
            {"move": step.move, "account": doc["account"], "liquidated": step.liquidated, "positions": doc["positions"]}
        )
    extreme = max(result.steps, key=lambda st: abs(st.move))
    return {
        "before": portfolio_record(ctx.current, venue),
        "after": portfolio_record(extreme.risk, venue, extreme.survivors),
        "moves": p["shock"],
        "betas": p.get("beta") or {},
        "steps": steps,
        "order": [
            {"move": e.move, "positions": e.indices, "symbols": [specs[i].symbol for i in e.indices], "scope": e.scope}
            for e in result.order
        ],
    }


# ---------------------------------------------------------------------- target_margin_ratio


def _target_margin_ratio(ctx: Context, p: Mapping[str, Any]) -> dict[str, Any]:
    from liqwatch.core import whatif as wi

    venue, specs, wallet, ratio = ctx.venue, ctx.specs, ctx.wallet, p["target_margin_ratio"]
    if ratio > 1 and math.isfinite(ratio):  # a percentage typed without its sign
        typed = plain(ratio, grouping=False)
        raise InputError(
            "target_margin_ratio",
            f"{typed} is a margin ratio of {plain(ratio * 100, 10)} %, past liquidation (100 %): give a fraction "
            f"up to 1 or a percentage with its sign (for {typed} %: {plain(ratio / 100, grouping=False)} or {typed}%)",
        )
    chosen = [ctx.index] if ctx.index is not None else list(range(len(specs)))
    targets = []
    for i in chosen:
        targets.append(target_record(i, specs[i], wi.target_mark(venue, specs, wallet, i, ratio)))
    down = wi.target_move(venue, specs, wallet, ratio, down=True)
    up = wi.target_move(venue, specs, wallet, ratio, down=False)
    scope = "cross" if any(s.margin_mode == "cross" for s in specs) else "account"
    return {
        "target_margin_ratio": ratio,
        "targets": targets,
        "account_scope": scope,
        "account_move_down": down,
        "account_move_up": up,
    }


def _as_is(ctx: Context, p: Mapping[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    return result


# ---------------------------------------------------------------------- target_distance


class DistanceResult:
    """The largest ``size`` to add before liquidation comes within ``distance`` of the mark, what
    limits it, and the add-size scenario of that size."""

    __slots__ = ("add", "distance", "limit", "size")

    def __init__(self, distance: float, size: float, limit: str, add: wi.AddSize) -> None:
        self.distance = distance
        self.size = size
        self.limit = limit
        self.add = add


def _target_distance(ctx: Context, p: Mapping[str, Any]) -> DistanceResult:
    """``p["target_distance"]`` in percent of the mark."""
    from liqwatch.core import whatif as wi

    index = ctx.position()
    distance = p["target_distance"] / 100.0
    if not (distance > 0 and math.isfinite(distance)):
        raise InputError("target_distance", f"must be > 0, got {typed(p['target_distance'])}")
    size, limit = wi.max_add_for_distance(ctx.venue, ctx.specs, ctx.wallet, index, distance)
    whole = _whole_floor(ctx, size, lambda x: False)  # the distance answer is already the most: floor it
    add = wi.add_size(ctx.venue, ctx.specs, ctx.wallet, index, whole)
    size = whole
    return DistanceResult(distance, size, limit, add)


def _target_distance_record(ctx: Context, p: Mapping[str, Any], r: DistanceResult) -> dict[str, Any]:
    return {
        **change_record(ctx, r.add),
        "target_distance": r.distance,
        "max_add_size": r.size,
        "limited_by": r.limit,
        "price": r.add.price,
        "new_entry_price": r.add.new_entry_price,
    }


# ---------------------------------------------------------------------- ladder


def _ladder(ctx: Context, p: Mapping[str, Any]) -> list[wi.LadderRung]:
    from liqwatch.core import whatif as wi

    return wi.ladder(ctx.current)


def _ladder_record(ctx: Context, p: Mapping[str, Any], rungs: list[wi.LadderRung]) -> dict[str, Any]:
    return {
        "ladder": [
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
    }


# ---------------------------------------------------------------------- partial


def _partial(ctx: Context, p: Mapping[str, Any]) -> wi.PartialPreview:
    from liqwatch.core import whatif as wi

    return wi.partial_liquidation(ctx.venue, ctx.specs, ctx.wallet, ctx.position())


def _partial_record(ctx: Context, p: Mapping[str, Any], preview: wi.PartialPreview) -> dict[str, Any]:
    return {
        "partial": {
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
    }


# ---------------------------------------------------------------------- funding_periods


def _funding_periods(ctx: Context, p: Mapping[str, Any]) -> list[FundingDrift | None]:
    """Every position with a rate pays ``p["funding_periods"]`` times (marks held where they are)."""
    from liqwatch.core.funding import MAX_PERIODS, liquidation_prices_after

    n = p["funding_periods"]
    if not 1 <= n <= MAX_PERIODS:
        raise InputError("funding_periods", f"must be 1-{MAX_PERIODS}, got {n}")
    rates = ctx.funding_rates
    if not rates or all(r is None for r in rates):
        raise InputError(
            "funding_periods", "needs a funding rate: --funding-rate R (or funding_rate per position of the file)"
        )
    if ctx.index is not None and rates[ctx.index] is None:
        raise InputError("funding_periods", f"the chosen position ({ctx.specs[ctx.index].symbol}) has no funding rate")
    return liquidation_prices_after(ctx.venue, ctx.specs, ctx.wallet, rates, n)


def _funding_periods_record(ctx: Context, p: Mapping[str, Any], drifts: list[FundingDrift | None]) -> dict[str, Any]:
    current = ctx.current.positions
    rows = []
    for i, drift in enumerate(drifts):
        if drift is None or (ctx.index is not None and i != ctx.index):
            continue
        spec = ctx.specs[i]
        rows.append(
            {
                "index": i,
                "symbol": spec.symbol,
                "side": spec.side,
                "margin_mode": spec.margin_mode,
                "rate": drift.rate,
                "payment": drift.payment,
                "paid_total": drift.payment * len(drift.liquidation_price_after),
                "liquidation_price": num(current[i].liquidation_price),
                "liquidation_price_after": [num(x) for x in drift.liquidation_price_after],
            }
        )
    return {"funding_periods": p["funding_periods"], "positions": rows}


# ---------------------------------------------------------------------- the table


def parse_shocks(values: list[str]) -> list[float]:
    """``-10``, ``-10%``, ``5.5`` or ranges ``FROM:TO:STEP`` such as ``-30%:0%:5%`` (percent) ->
    sorted unique fractions."""
    moves: set[float] = set()
    for raw in values:
        parts = raw.split(":")
        try:
            numbers = [percent_value(x) for x in parts]
        except ValueError:
            raise InputError("shock", f"{raw!r} is not a percentage or a FROM:TO:STEP range") from None
        if not all(math.isfinite(x) for x in numbers):
            raise InputError("shock", f"{raw!r} must be finite")
        if len(numbers) == 1:
            moves.add(numbers[0])
        elif len(numbers) == 3:
            start, stop, step = numbers
            if step <= 0:
                raise InputError("shock", f"the step of {raw!r} must be > 0")
            count = math.floor(abs(stop - start) / step + 1e-9)
            if count > 10_000:
                raise InputError("shock", f"{raw!r} has more than 10,000 steps")
            sign = 1.0 if stop >= start else -1.0
            for i in range(count + 1):
                moves.add(round(start + sign * i * step, 10))
        else:
            raise InputError("shock", f"{raw!r} is not a percentage or a FROM:TO:STEP range")
    return sorted(m / 100.0 for m in moves)


def parse_betas(values: list[str] | None) -> dict[str, float]:
    """``SYMBOL=B`` pairs -> {unified symbol: beta}."""
    from liqwatch.core.symbols import to_unified
    from liqwatch.markets import inverse_unified

    out: dict[str, float] = {}
    for raw in values or []:
        symbol, sep, value = raw.partition("=")
        unified = (inverse_unified(symbol) or to_unified(symbol)) if sep else None
        try:
            beta = float(value)
        except ValueError:
            beta = math.nan
        if unified is None or not math.isfinite(beta):
            raise InputError("beta", f"{raw!r} is not SYMBOL=NUMBER (e.g. ETH/USDT:USDT=1.3)")
        if unified in out:
            raise InputError(
                "beta",
                f"{unified} is given twice ({plain(out[unified], 10)} and {plain(beta, 10)}): give one",
            )
        out[unified] = beta
    return out


SCENARIOS: dict[str, Scenario] = {
    sc.name: sc
    for sc in (
        Scenario(
            "add_size",
            (
                Param(
                    "--add-size",
                    {
                        "type": float,
                        "metavar": "QTY",
                        "help": "add QTY to the position (base units; coin-margined: USD face value)",
                    },
                ),
                Param(
                    "--add-price",
                    {"type": float, "metavar": "P", "help": "price of the added size (default: mark)"},
                ),
            ),
            _add_size,
            _add_size_record,
            prices=("add_price",),
        ),
        Scenario(
            "set_leverage",
            (Param("--set-leverage", {"type": float, "metavar": "X", "help": "change the position's leverage to X"}),),
            _set_leverage,
            _set_leverage_record,
        ),
        Scenario(
            "add_margin",
            (
                Param(
                    "--add-margin",
                    {
                        "type": float,
                        "metavar": "AMT",
                        "help": "isolated margin to add, in the settle currency (negative removes)",
                    },
                ),
            ),
            _add_margin,
            _add_margin_record,
        ),
        Scenario(
            "shock",
            (
                Param(
                    "--shock",
                    {
                        "action": "append",
                        "metavar": "PCT",
                        "help": "move marks by PCT percent, -10 or -10%% (repeatable, or a range FROM:TO:STEP such "
                        "as -30:0:5)",
                    },
                ),
                Param(
                    "--beta",
                    {"action": "append", "metavar": "SYMBOL=B", "help": "per-symbol beta for --shock (default 1)"},
                ),
            ),
            _shock,
            _shock_record,
            every_position=True,
            parse={"shock": parse_shocks, "beta": parse_betas},
        ),
        Scenario(
            "target_margin_ratio",
            (
                Param(
                    "--target-margin-ratio",
                    {
                        "type": fraction_arg,
                        "metavar": "R",
                        "help": "solve for the mark where the margin ratio is R (0.8 or 80%%)",
                    },
                ),
            ),
            _target_margin_ratio,
            _as_is,
            every_position=True,
        ),
        Scenario(
            "target_distance",
            (
                Param(
                    "--target-distance",
                    {
                        "type": percent_arg,
                        "metavar": "PCT",
                        "help": "solve for the size that can be added before liquidation comes within PCT percent "
                        "of mark (5 or 5%%)",
                    },
                ),
            ),
            _target_distance,
            _target_distance_record,
        ),
        Scenario(
            "ladder",
            (
                Param(
                    "--ladder",
                    {"action": "store_true", "help": "every liquidation/bankruptcy price as a distance"},
                ),
            ),
            _ladder,
            _ladder_record,
            every_position=True,
        ),
        Scenario(
            "partial",
            (Param("--partial", {"action": "store_true", "help": "preview the venue's step-wise liquidation"}),),
            _partial,
            _partial_record,
        ),
        Scenario(
            "funding_periods",
            (
                Param(
                    "--funding-periods",
                    {
                        "type": int,
                        "metavar": "N",
                        "help": "the liquidation price after each of N funding payments (needs --funding-rate, "
                        "or funding_rate per position)",
                    },
                ),
            ),
            _funding_periods,
            _funding_periods_record,
            every_position=True,
        ),
    )
}
"""Every what-if scenario by name, in the order calc lists their flags."""


FAR_FROM_MARK = 0.5
"""A what-if price more than this fraction away from the position's mark (above 1.5x or below 0.5x
of it) is taken, with a warning that says how far (:func:`far_prices`): a price typed for another
market (60000 into a 0.6 market) is the usual cause."""


def far_prices(scenario: Scenario, ctx: Context, params: Mapping[str, Any]) -> list[tuple[Param, float, float]]:
    """(parameter, price, mark) of each price parameter given more than :data:`FAR_FROM_MARK`
    away from the chosen position's mark."""
    if ctx.index is None:
        return []
    mark = ctx.specs[ctx.index].mark_price
    far = []
    for param in scenario.params:
        price = params.get(param.name) if param.name in scenario.prices else None
        if price is not None and abs(price / mark - 1.0) > FAR_FROM_MARK:
            far.append((param, float(price), mark))
    return far


def far_price_warning(ctx: Context, name: str, price: float, mark: float) -> str:
    """The warning for a what-if price far from the chosen position's mark (:func:`far_prices`),
    ``name`` the field as the surface calls it (calc: ``--add-price``): ``warning: --add-price
    60,000 is +9,999,900 % from the mark 0.6 of DOGE/USDT:USDT (more than 50 % away): check it is
    this market's price``."""
    from liqwatch.numfmt import plain
    from liqwatch.output import display_tick, fmt_price

    spec = ctx.specs[ctx.position()]
    move = (price / mark - 1.0) * 100.0
    how_far = f"{move:+,.0f}" if abs(move) >= 1000 else f"{move:+.1f}"
    return (
        f"warning: {name} {plain(price, 10)} is {how_far} % from the mark {fmt_price(mark, display_tick(spec))} "
        f"of {spec.symbol} (more than {plain(FAR_FROM_MARK * 100)} % away): check it is this market's price"
    )


def run(scenario: Scenario, ctx: Context, params: Mapping[str, Any]) -> tuple[Any, dict[str, Any]]:
    """(the core result, the ``"what_if"`` record) of ``scenario`` on ``ctx``."""
    result = scenario.compute(ctx, params)
    record: dict[str, Any] = {"scenario": scenario.name, "position": ctx.index}
    record.update(scenario.record(ctx, params, result))
    return result, record


__all__ = [
    "FAR_FROM_MARK",
    "SCENARIOS",
    "Context",
    "DistanceResult",
    "Param",
    "Scenario",
    "change_record",
    "far_price_warning",
    "far_prices",
    "parse_betas",
    "parse_shocks",
    "run",
]


def target_record(index: int, spec: PositionSpec, mark: float | None) -> dict[str, Any]:
    """One position's row of a ``--target-margin-ratio`` answer: the mark at which the ratio is
    reached (``None``: no mark does it) and the move from today's."""
    return {
        "index": index,
        "symbol": spec.symbol,
        "side": spec.side,
        "margin_mode": spec.margin_mode,
        "mark_price": spec.mark_price,
        "target_mark": mark,
        "move_from_mark": None if mark is None else mark / spec.mark_price - 1,
    }
