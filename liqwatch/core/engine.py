"""Risk of a whole account on one venue: every position's liquidation and bankruptcy prices, margin
ratios, brackets and ADL, with cross positions sharing the account's collateral.

The convention everywhere in liqwatch: margin ratio = requirement / margin balance, where the
requirement is the bracket maintenance margin plus the liquidation fee where the venue counts one.
1.0 means liquidation; lower is safer. (OKX's own ``mgnRatio`` is the inverse and is reported as
``margin_ratio_native``.) The model and each venue's choices: docs/venues/README.md.

Coin-margined (inverse) positions (``PositionSpec.inverse``): size Q is the USD face value, prices
are in USD, and margin, maintenance margin, fees and PnL are in the settle coin. With x = 1/P the
equity ``C + s*Q*(1/EP - x)`` and the requirement ``Q*x*(MMR + f) - cum`` are linear in x, so an
inverse position IS a linear position of quantity Q, entry 1/EP and mark 1/P on the opposite side,
whose notional Q*x is the coin notional its brackets are counted in. The engine solves it with the
same exact piecewise solver in x (``_Work``, transformed once per position) and maps the
prices back (P = 1/x); distances and sides stay the user's. See docs/venues/inverse.md.

Collateral pools: cross margin is per settle currency. Positions are grouped by settle currency
(``spec.settle``, else the ``:SETTLE`` of an inverse symbol, else ``venue.settle``) and each pool is
assessed on its own wallet: a cross position's collateral is its pool's wallet and positions only.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import replace
from math import copysign, isnan
from typing import NamedTuple

from liqwatch.core.errors import InputError
from liqwatch.core.model import AccountRisk, AdlInfo, PortfolioRisk, PositionRisk, PositionSpec, Status
from liqwatch.core.numfmt import plain, typed
from liqwatch.core.solver import Leg, bankruptcy_price, solve_price
from liqwatch.core.tiers import Tier
from liqwatch.core.venues import AdlContext, Venue

Wallet = float | Mapping[str, float]
"""A wallet balance: one number (the default pool's, see :func:`pool_wallets`) or one per settle
currency (``{"USDT": 25000, "BTC": 1.5}``)."""


def _ratio(requirement: float, balance: float) -> float | None:
    return requirement / balance if balance > 0 else None


def settle_of(spec: PositionSpec, venue: Venue) -> str:
    """The collateral pool of a position: ``spec.settle``; for an inverse position without one, the
    settle coin of its unified symbol (``BTC/USD:BTC`` -> ``BTC``); else the venue's default."""
    if spec.settle:
        return spec.settle.upper()
    if spec.inverse:
        _, colon, rest = spec.symbol.partition(":")
        coin = rest.split("-")[0].split("#")[0].strip().upper() if colon else ""
        if not coin:
            raise InputError(
                "settle",
                f"{spec.symbol}: an inverse position needs its settle coin (settle, or a symbol like BTC/USD:BTC)",
            )
        return coin
    return venue.settle


def pool_wallets(venue: Venue, specs: Sequence[PositionSpec], wallet_balance: Wallet) -> dict[str, float]:
    """Each pool's wallet. A mapping is taken per currency (upper-cased); a single number is the
    wallet of the venue's default settle currency, or of the only pool the positions use when they
    all settle in one other currency (a BTC wallet behind BTC-margined contracts)."""
    if isinstance(wallet_balance, Mapping):
        out: dict[str, float] = {}
        for name, amount in wallet_balance.items():
            key = str(name).strip().upper()
            out[key] = out.get(key, 0.0) + float(amount)
        return out
    held = {settle_of(spec, venue) for spec in specs}
    target = held.pop() if len(held) == 1 else venue.settle
    return {target: float(wallet_balance)}


def pool_wallet(cross_wallet: float, isolated_margin: float) -> float:
    """A collateral pool's wallet balance, the one definition every surface shows (``calc``, the
    dashboard's card, ``watch``): its cross wallet plus the margin posted to each of its isolated
    positions (their ``isolated_margin``, PnL excluded), so that equity - wallet is the uPnL."""
    return cross_wallet + isolated_margin


def single_pool(specs: Sequence[PositionSpec], venue: Venue) -> bool:
    """True for the common case: linear positions in the venue's default settle currency only (one
    pool; ``settle`` unset or spelt as the venue's)."""
    default = venue.settle
    for spec in specs:  # noqa: SIM110 (a plain loop: no generator frame on the hot path)
        if spec.inverse or (spec.settle is not None and spec.settle != default):
            return False
    return True


def bracket_value(spec: PositionSpec, price: float) -> float:
    """The value compared with the brackets: notional at ``price`` (coin notional Q/P for an inverse
    position), or size for quantity tables (USD face for an inverse one)."""
    if spec.tiers.basis != "notional":
        return spec.size
    return spec.size / price if spec.inverse else spec.size * price


def entry_value(spec: PositionSpec) -> float:
    """The position's value at entry, in the settle currency (Q x EP linear, Q / EP inverse)."""
    return spec.size / spec.entry_price if spec.inverse else spec.size * spec.entry_price


def _amount(value: float, spec: PositionSpec, venue: Venue) -> str:
    if spec.tiers.basis == "notional":
        unit = settle_of(spec, venue) if spec.inverse else venue.settle
        what = "coin notional" if spec.inverse else "position value"
        return f"{what} {plain(value, 10)} {unit}"
    if spec.inverse:
        contracts = f" ({plain(value / spec.contract_size, 10)} contracts)" if spec.contract_size else ""
        return f"position size {plain(value, 10)} USD{contracts}"
    return f"position size {plain(value, 10)} {spec.symbol.split('/')[0]}"


def beyond_table_error(spec: PositionSpec, venue: Venue, value: float, where: str = "") -> InputError:
    """The refusal for a bracket value past the end of the position's table: unknown brackets for
    an incomplete table, above the venue's maximum position for a complete one."""
    table = spec.tiers
    cap = f"{plain(table.limit, 10)}"
    at = f" {where}" if where else ""
    dated = f" ({table.as_of})" if table.as_of else ""
    if not table.complete:
        return InputError(
            "size",
            f"{_amount(value, spec, venue)}{at} passes {cap}, the last cap of the {venue.name} table for "
            f"{spec.symbol}{dated}, which is incomplete: give a full table (--tiers FILE or the position's "
            "tiers), pin the bracket (mmr / maint_amount overrides), or use the venue's current table",
        )
    return InputError(
        "size",
        f"{_amount(value, spec, venue)}{at} is above {venue.name}'s maximum position for {spec.symbol} "
        f"({cap}, the last cap of its table{dated})",
    )


def check_covered(spec: PositionSpec, venue: Venue, leg: Leg, price: float, where: str) -> None:
    """Refuse a price (a liquidation price, a target) whose bracket lies past an incomplete table:
    the requirement there is unknown. Legs with a requirement fixed at entry never move bracket.
    ``price`` is in the leg's space (1/P for an inverse leg, see :func:`solver_leg`)."""
    if leg.fixed_requirement is not None or spec.tiers.complete:
        return
    value = leg.bracket_value(price)
    if spec.tiers.beyond(value):
        raise beyond_table_error(spec, venue, value, where)


def max_leverage_for(spec: PositionSpec) -> float:
    """The largest leverage the bracket of the position allows, valued at entry (when it was opened):
    a position whose mark has since moved it into a higher bracket is not rejected."""
    if spec.max_leverage is not None:
        return spec.max_leverage
    return spec.tiers.lookup(bracket_value(spec, spec.entry_price)).max_leverage


def check_position(spec: PositionSpec, venue: Venue) -> None:
    """Reject inputs that would produce a silently wrong number. Raises InputError naming the field."""
    if venue.size_dependent_tiers:
        spec = venue.sized_spec(spec)
    if spec.inverse:
        _check_inverse(venue, spec)
    if not spec.size > 0:
        raise InputError("size", f"must be > 0, got {typed(spec.size)}")
    if not spec.entry_price > 0:
        raise InputError("entry_price", f"must be > 0, got {typed(spec.entry_price)}")
    if not spec.mark_price > 0:
        raise InputError("mark_price", f"must be > 0, got {typed(spec.mark_price)}")
    if spec.leverage is not None:
        if not spec.leverage > 0:
            raise InputError("leverage", f"must be > 0, got {typed(spec.leverage)}")
        cap = max_leverage_for(spec)
        if spec.leverage > cap + 1e-12:
            raise InputError(
                "leverage",
                f"{plain(spec.leverage)}x is above the {plain(cap)}x maximum of {spec.symbol}'s bracket "
                f"at this position size on {venue.name}",
            )
    if spec.margin_mode == "isolated":
        if spec.isolated_margin is None:
            raise InputError("isolated_margin", "isolated positions need a margin or a leverage")
        if not spec.isolated_margin > 0:
            raise InputError("isolated_margin", f"must be > 0, got {typed(spec.isolated_margin)}")
    if spec.fee_rate < 0:
        raise InputError("fee_rate", f"must be >= 0, got {typed(spec.fee_rate)}")
    if spec.position_side != "both":
        if not venue.supports_hedge_mode:
            raise InputError("position_side", f"{venue.name} has no hedge mode; use 'both'")
        if spec.position_side != spec.side:
            raise InputError(
                "position_side", f"a {spec.position_side} hedge leg cannot be {spec.side}; they must match"
            )
    if spec.adl_lights is not None and not 0 <= spec.adl_lights <= 5:
        raise InputError("adl_lights", f"must be 0-5, got {spec.adl_lights}")


def check_account(specs: Sequence[PositionSpec], venue: Venue) -> None:
    """Refuse position sets no account can hold: two one-way positions of one symbol, two hedge
    legs on one side, or one-way and hedge positions of one symbol together. On venues whose
    positions are keyed by margin mode too (OKX), an isolated and a cross position may coexist.
    Raises InputError naming both indices."""
    if len({spec.symbol for spec in specs}) == len(specs):
        return  # one position per symbol (the usual account): nothing can clash
    seen: dict[tuple[str, str, str], int] = {}
    modes: dict[str, tuple[bool, int]] = {}
    for i, spec in enumerate(specs):
        symbol = spec.symbol  # unified, upper case (liqwatch.markets.find_market)
        key = (symbol, spec.position_side, spec.margin_mode if venue.margin_modes_coexist else "")
        first = seen.setdefault(key, i)
        if first != i:
            what = "one-way position" if spec.position_side == "both" else f"{spec.position_side} hedge leg"
            raise InputError(
                f"positions[{i}]",
                f"positions[{first}] and positions[{i}] are both the {what} of {spec.symbol}; an account holds "
                "one (merge them into one position with the average entry price)",
            )
        hedge = spec.position_side != "both"
        mode, where = modes.setdefault(symbol, (hedge, i))
        if mode != hedge:
            raise InputError(
                f"positions[{i}]",
                f"positions[{where}] and positions[{i}] mix one-way and hedge-mode positions of {spec.symbol}; "
                "a symbol is in one position mode (use position_side both, or long/short for every leg)",
            )


def _check_inverse(venue: Venue, spec: PositionSpec) -> None:
    if not venue.supports_inverse:
        raise InputError(
            "inverse",
            venue.inverse_refusal
            or f"{venue.name} lists no coin-margined (inverse) perpetuals: {spec.symbol} cannot be one there "
            f"(use its linear {venue.settle}-settled market)",
        )
    settle_of(spec, venue)
    n, cs = spec.contracts, spec.contract_size
    if n is not None and cs is not None and abs(n * cs - spec.size) > 1e-9 * max(spec.size, 1.0):
        raise InputError(
            "contracts",
            f"{plain(n)} contracts x {plain(cs)} USD is {plain(n * cs, 10)} USD, but the size (USD face value) is "
            f"{plain(spec.size, 10)}",
        )


def mm_at_entry(venue: Venue, spec: PositionSpec) -> bool:
    """True where the position's maintenance requirement is fixed at its entry price (Bybit
    isolated; for inverse positions where the venue says so)."""
    if spec.margin_mode != "isolated":
        return False
    return venue.inverse_mm_at_entry_isolated if spec.inverse else venue.mm_at_entry_isolated


def solver_price(spec: PositionSpec, price: float) -> float:
    """A price in the solver's space: P for a linear position, x = 1/P for an inverse one (the map
    is its own inverse, so this also maps a solved x back to P)."""
    return 1.0 / price if spec.inverse else price


def solver_leg(venue: Venue, spec: PositionSpec, fixed_requirement: float | None = None) -> Leg:
    """The position as a solver leg: linear as it is; inverse as the linear position it is in
    x = 1/P (opposite side, quantity Q, entry 1/EP). ``fixed_requirement`` for legs whose
    requirement is fixed at entry (:func:`mm_at_entry`)."""
    if spec.inverse:
        return Leg(-spec.sign, spec.size, 1.0 / spec.entry_price, spec.tiers, spec.fee_rate, fixed_requirement)
    return Leg(spec.sign, spec.size, spec.entry_price, spec.tiers, spec.fee_rate, fixed_requirement)


class _Work:
    """Per-position figures at the current mark, computed once, in the solver's space: a linear
    position as it is; an inverse one transformed once into x = 1/P, a linear leg of quantity Q
    (USD face), entry 1/EP, mark 1/P and the opposite side. There value Q/P, PnL
    s*Q*(1/EP - 1/P), MM (Q/P)*MMR - cum and the fee f*Q/P are all in the settle coin; brackets are
    on coin notional Q/P (or on Q for quantity tables). ``sign`` stays the user's (distances are
    on P); ``mark`` and the leg are in the solver's space."""

    __slots__ = (
        "bp",
        "fee",
        "im",
        "inverse",
        "leg",
        "lp",
        "mark",
        "mm",
        "notional",
        "req",
        "risk",
        "sign",
        "spec",
        "tier",
        "upnl",
        "value",
    )

    def __init__(self, spec: PositionSpec, venue: Venue) -> None:
        s = self.sign = 1 if spec.side == "long" else -1
        q = spec.size
        inverse = self.inverse = spec.inverse
        if inverse:
            _check_inverse(venue, spec)
            entry = 1.0 / spec.entry_price
            mark = 1.0 / spec.mark_price
            side = -s  # a long in P is a short in x
            at_entry = venue.inverse_mm_at_entry_isolated
        else:
            entry = spec.entry_price
            mark = spec.mark_price
            side = s
            at_entry = venue.mm_at_entry_isolated
        self.mark = mark
        table = spec.tiers
        self.spec = spec
        self.notional = q * mark
        self.upnl = side * q * (mark - entry)  # inverse: s*Q*(1/EP - 1/P), exactly
        fixed: float | None = None
        if at_entry and spec.margin_mode == "isolated":
            self.value = q * entry if table.basis == "notional" else q
            held = table.holding(self.value)
            if held is None:
                raise beyond_table_error(spec, venue, self.value, "at entry")
            tier = held
            mm = q * entry * tier.mmr - tier.maint_amount
            margin = spec.isolated_margin or 0.0
            f = spec.fee_rate
            if inverse:
                # The fee to close, priced at the bankruptcy price that includes it (Bybit's classic
                # page: BP = (1 + f) Q / (Q/EP + margin) for a long): margin + s*Q*(xe - x) = f*Q*x.
                x_bust = (margin + s * q * entry) / (q * (s + f))
                fee = f * q * x_bust if x_bust > 0 else 0.0
            else:
                fee = f * q * max(0.0, entry - s * margin / q)  # at the bankruptcy price
            fixed = mm + fee
        else:
            self.value = self.notional if table.basis == "notional" else q
            held = table.holding(self.value)
            if held is None:
                raise beyond_table_error(spec, venue, self.value, "at the mark")
            tier = held
            mm = q * mark * tier.mmr - tier.maint_amount
            fee = spec.fee_rate * q * mark
        self.tier = tier
        self.mm = mm
        self.fee = fee
        self.req = mm + fee
        if spec.leverage:
            value = q * entry if venue.initial_margin_at_entry else self.notional
            self.im: float | None = value / spec.leverage
        elif spec.margin_mode == "isolated":
            self.im = spec.isolated_margin
        else:
            self.im = None
        self.leg = Leg(side, q, entry, table, spec.fee_rate, fixed)
        self.lp: float | None = None
        self.bp: float | None = None
        self.risk: PositionRisk | None = None
        """The position's risk once :func:`_pool_risk` built it (kept with a reused work)."""

    def share_bracket(self, total_qty: float, venue: Venue) -> None:
        """Re-bracket this cross leg by the combined size of its symbol's legs."""
        spec = self.spec
        table = spec.tiers
        self.leg.tier_qty = total_qty
        self.value = total_qty * self.mark if table.basis == "notional" else total_qty
        held = table.holding(self.value)
        if held is None:
            raise beyond_table_error(spec, venue, self.value, "(long and short legs combined)")
        self.tier = held
        self.mm = self.notional * self.tier.mmr - self.tier.maint_amount
        self.req = self.mm + self.fee


NEGLIGIBLE_X = 1e-9
"""A solved x below this fraction of 1/EP (a price over a billion times the entry) is float rounding
of a zero root, not a price: a short covered 1x computes M - Q/EP as +/-1 ulp instead of 0."""


def _to_price(x: float | None, x_entry: float) -> float | None:
    """A solved x = 1/P back to a price (x > 0 whenever the solver returns one); None where x is
    indistinguishable from 0 (no price liquidates: see NEGLIGIBLE_X)."""
    return None if x is None or x <= NEGLIGIBLE_X * x_entry else 1.0 / x


def assess(venue: Venue, specs: Sequence[PositionSpec], wallet_balance: Wallet = 0.0) -> PortfolioRisk:
    """Risk of every position and of each collateral pool. ``wallet_balance`` is the cross
    collateral: one number (see :func:`pool_wallets`) or one per settle currency. ``account`` is
    the pool of the venue's default settle currency (else the first pool held); ``pools`` has every
    pool held (those of the positions and of the wallets given)."""
    return assess_solved(venue, specs, wallet_balance)[0]


class SolvedPool(NamedTuple):
    """One collateral pool as :func:`assess` solved it: what a what-if that only moves collateral
    (the funding drift, :func:`shifted_liquidation_prices`) re-solves from, without redoing any
    position's figures at the mark, and what the next assessment of the same account reuses
    (:func:`assess_solved`'s ``previous``)."""

    settle: str
    members: list[int] | None
    """The positions' indices in the specs given (None: every position, in order)."""
    works: list[_Work]
    cross: _Cross
    wallet: float
    account: AccountRisk


def assess_solved(
    venue: Venue,
    specs: Sequence[PositionSpec],
    wallet_balance: Wallet = 0.0,
    previous: Sequence[SolvedPool] | None = None,
) -> tuple[PortfolioRisk, list[SolvedPool]]:
    """:func:`assess`, and each pool it solved (for :func:`shifted_liquidation_prices`).

    ``previous``: the pools of the same account's last assessment (``liqwatch watch``, every
    second). Nothing is recomputed that cannot have changed: a spec given again (the same object:
    its mark, size, tiers unchanged) keeps its figures where they are its own (an isolated
    position: its result object too); a pool whose specs and wallet are all the same keeps every
    result, its account's included; a pool where anything changed re-solves its cross positions
    (each one's price depends on every mark of the pool) and sums its account again. The numbers
    are those of an assessment from scratch, bit for bit."""
    found: list[PositionRisk | None] = [None] * len(specs)
    pools: dict[str, AccountRisk] = {}
    solved: list[SolvedPool] = []
    for name, members, works, cross, wallet, kept in _solved_pools(venue, specs, wallet_balance, previous):
        if kept is not None:  # nothing in the pool changed: its results as they were
            risks = [w.risk for w in works if w.risk is not None]
            account = kept.account
        else:
            risks, account = _pool_risk(venue, works, cross, wallet, name)
        solved.append(SolvedPool(name, members, works, cross, wallet, account))
        if members is None:  # the one pool holds every position, in order
            return PortfolioRisk(venue.name, risks, account, {name: account}), solved
        for i, risk in zip(members, risks, strict=True):
            found[i] = risk
        pools[name] = account
    positions = [p for p in found if p is not None]
    return PortfolioRisk(venue.name, positions, next(iter(pools.values())), pools), solved


def shifted_liquidation_prices(
    venue: Venue, pool: SolvedPool, wallet: float, margins: Sequence[float | None]
) -> list[float | None]:
    """The liquidation price of each of ``pool``'s positions (its order) exactly as
    :func:`liquidation_prices` gives them for the same positions with the pool's cross wallet
    ``wallet`` and each isolated position's margin ``margins[j]`` (None: unchanged, its price as
    solved), the marks held: the same solves from the figures at the mark the pool already has.
    Raises InputError where :func:`liquidation_prices` would (a price past an incomplete table)."""
    return PoolShift(venue, pool).prices(wallet, margins)


class PoolShift:
    """:func:`shifted_liquidation_prices` for one solved pool and many wallets and margins (a
    funding drift's payments): what every one of them shares is taken from the pool once."""

    __slots__ = ("cross", "pool", "venue")

    def __init__(self, venue: Venue, pool: SolvedPool) -> None:
        self.venue = venue
        self.pool = pool
        cross_upnl, cross_req = pool.cross.upnl, pool.cross.requirement
        first, multi = _cross_groups(pool.works)
        # per symbol as _solve_pool solves it: (its legs, the other symbols' uPnL and requirement)
        groups: list[tuple[list[_Work], float, float]] = []
        for w in first.values():
            members = multi.get(w.spec.symbol) if multi else None
            if members is None:
                groups.append(([w], cross_upnl - w.upnl, cross_req - w.req))
                continue
            g_upnl = 0.0
            g_req = 0.0
            for m in members:
                g_upnl += m.upnl
                g_req += m.req
            groups.append((members, cross_upnl - g_upnl, cross_req - g_req))
        self.cross = groups

    def prices(self, wallet: float, margins: Sequence[float | None]) -> list[float | None]:
        venue = self.venue
        prices: dict[int, float | None] = {}  # id(work) -> price in the solver's space, cross legs
        for members, others_upnl, others_req in self.cross:
            # the same operations in the same order as _solve_pool: the same floats
            collateral = wallet + others_upnl - others_req
            if len(members) == 1:
                w = members[0]
                prices[id(w)] = solve_price(collateral, (w.leg,), w.mark)
                continue
            lp = solve_price(collateral, [m.leg for m in members], members[0].mark)
            for m in members:
                prices[id(m)] = lp
        out: list[float | None] = []
        for w, margin in zip(self.pool.works, margins, strict=True):
            spec = w.spec
            if spec.margin_mode != "cross":
                if margin is None:
                    out.append(w.lp)  # unchanged: as solved (and checked) already
                    continue
                leg = w.leg
                if mm_at_entry(venue, spec):  # the requirement fixed at entry counts the margin (the fee)
                    leg = _Work(replace(spec, isolated_margin=margin), venue).leg
                lp = solve_price(margin, (leg,), w.mark)
            else:
                leg = w.leg
                lp = prices[id(w)]
            if lp is not None and not spec.tiers.complete:
                check_covered(spec, venue, leg, lp, "at the liquidation price")
            out.append(_to_price(lp, leg.entry) if w.inverse else lp)
        return out


def _cross_groups(works: list[_Work]) -> tuple[dict[str, _Work], dict[str, list[_Work]]]:
    """Cross positions by symbol, in order of first appearance: ``first`` holds each symbol's first
    leg, ``multi`` the legs of the symbols with more than one (hedge legs). No list per symbol for
    the usual one position per symbol."""
    first: dict[str, _Work] = {}
    multi: dict[str, list[_Work]] = {}
    for w in works:
        spec = w.spec
        if spec.margin_mode == "cross":
            held = first.setdefault(spec.symbol, w)
            if held is not w:
                legs_of = multi.get(spec.symbol)
                if legs_of is None:
                    multi[spec.symbol] = [held, w]
                else:
                    legs_of.append(w)
    return first, multi


def liquidation_prices(venue: Venue, specs: Sequence[PositionSpec], wallet_balance: Wallet = 0.0) -> list[float | None]:
    """Each position's liquidation price exactly as :func:`assess` reports it (the same solve, the
    same refusals), without the rest of its risk: no ADL ranking, no result records. For what-ifs
    that only move collateral and ask again, many times (the funding drift)."""
    found: list[float | None] = [None] * len(specs)
    for _, members, works, _, _, _ in _solved_pools(venue, specs, wallet_balance):
        if members is None:
            return [w.lp for w in works]
        for i, w in zip(members, works, strict=True):
            found[i] = w.lp
    return found


def _solved_pools(
    venue: Venue,
    specs: Sequence[PositionSpec],
    wallet_balance: Wallet,
    previous: Sequence[SolvedPool] | None = None,
) -> Iterator[tuple[str, list[int] | None, list[_Work], _Cross, float, SolvedPool | None]]:
    """Each collateral pool solved (:func:`_solve_pool`), in the order :func:`assess` reports them:
    (settle currency, the positions' indices in ``specs`` — None for the common case of one pool
    holding every position in order —, their figures, the cross sums, the pool's wallet, and the
    pool of ``previous`` kept whole where nothing in it changed, else None)."""
    if venue.size_dependent_tiers:  # the rate follows the size (Deribit's ramp): one table per size
        specs = [venue.sized_spec(spec) for spec in specs]
    before = {pool.settle: pool for pool in previous} if previous else {}
    if not isinstance(wallet_balance, Mapping) and single_pool(specs, venue):
        prev = before.get(venue.settle)
        works, cross, kept = _solve_pool(venue, specs, wallet_balance, prev)
        yield venue.settle, None, works, cross, wallet_balance, kept
        return
    wallets = pool_wallets(venue, specs, wallet_balance)
    groups: dict[str, list[int]] = {}
    for i, spec in enumerate(specs):
        groups.setdefault(settle_of(spec, venue), []).append(i)
    names = [venue.settle] if venue.settle in groups or venue.settle in wallets else []
    names += [name for name in groups if name != venue.settle]
    names += [name for name in wallets if name not in groups and name != venue.settle]
    for name in names or [venue.settle]:
        members = groups.get(name, [])
        wallet = wallets.get(name, 0.0)
        prev = before.get(name)
        works, cross, kept = _solve_pool(venue, [specs[i] for i in members], wallet, prev)
        yield name, members, works, cross, wallet, kept


class _Cross(NamedTuple):
    """A pool's cross account, summed once: what every cross position's figures share."""

    isolated_margin: float
    """Every isolated position's posted margin (part of the pool's wallet balance, not of the cross)."""
    requirement: float
    balance: float
    ratio: float | None
    upnl: float
    """The cross positions' unrealized PnL (``balance`` is the wallet plus this)."""


def _unchanged(prev: SolvedPool, specs: Sequence[PositionSpec], wallet_balance: float) -> bool:
    """The pool's specs are those ``prev`` solved (the same objects, in order) on the same wallet."""
    works = prev.works
    if len(works) != len(specs) or prev.wallet != wallet_balance:
        return False
    if copysign(1.0, prev.wallet) != copysign(1.0, wallet_balance):  # -0.0 and 0.0 sum differently
        return False
    for w, spec in zip(works, specs, strict=True):  # noqa: SIM110 (a plain loop: no generator frame)
        if w.spec is not spec:
            return False
    return True


def _solve_pool(
    venue: Venue, specs: Sequence[PositionSpec], wallet_balance: float, prev: SolvedPool | None = None
) -> tuple[list[_Work], _Cross, SolvedPool | None]:
    """One collateral pool solved: each position's figures at the mark with its liquidation and
    bankruptcy prices (``lp``/``bp``, in prices: an inverse one mapped back from x), and the cross
    account's sums. Raises InputError for a liquidation price past an incomplete table.

    ``prev``: the same pool's last solve. Kept whole (and returned third) where its specs and
    wallet are this call's; else each isolated position whose spec it solved keeps its figures
    (they are its own: margin, entry, size, tiers and mark), and everything else is computed."""
    if prev is not None and _unchanged(prev, specs, wallet_balance):
        return prev.works, prev.cross, prev
    if prev is not None:
        kept = {id(w.spec): w for w in prev.works if w.spec.margin_mode != "cross"}
        works = []
        for spec in specs:
            w = kept.get(id(spec))  # prev holds its specs: an id is not reused while it lives
            works.append(w if w is not None and w.spec is spec else _Work(spec, venue))
    else:
        kept = {}
        works = [_Work(spec, venue) for spec in specs]

    first, multi = _cross_groups(works)
    iso_margin = 0.0
    for w in works:
        if w.spec.margin_mode != "cross":
            iso_margin += w.spec.isolated_margin or 0.0
    if venue.cross_legs_share_bracket:
        for together in multi.values():
            total = sum(w.spec.size for w in together)
            for w in together:
                w.share_bracket(total, venue)
    cross_upnl = 0.0
    cross_req = 0.0
    for w in first.values():
        members = multi.get(w.spec.symbol) if multi else None
        if members is None:
            cross_upnl += w.upnl
            cross_req += w.req
            continue
        for leg in members:
            cross_upnl += leg.upnl
            cross_req += leg.req

    cross_balance = wallet_balance + cross_upnl
    cross_ratio = _ratio(cross_req, cross_balance)

    for w in first.values():
        members = multi.get(w.spec.symbol) if multi else None
        if members is None:
            others_upnl = cross_upnl - w.upnl
            w.lp = solve_price(wallet_balance + others_upnl - (cross_req - w.req), (w.leg,), w.mark)
            w.bp = bankruptcy_price(wallet_balance + others_upnl, (w.leg,))
            continue
        g_upnl = 0.0
        g_req = 0.0
        for leg in members:
            g_upnl += leg.upnl
            g_req += leg.req
        legs = [leg.leg for leg in members]
        collateral = wallet_balance + (cross_upnl - g_upnl) - (cross_req - g_req)
        lp = solve_price(collateral, legs, members[0].mark)
        bp = bankruptcy_price(wallet_balance + (cross_upnl - g_upnl), legs)
        for leg in members:
            leg.lp = lp
            leg.bp = bp

    for w in works:  # in input order: the first position refused is the one named
        spec = w.spec
        if spec.margin_mode != "cross":
            if kept and w.risk is not None and kept.get(id(spec)) is w:
                continue  # solved (and checked) before: its prices are final
            margin = spec.isolated_margin or 0.0
            w.lp = solve_price(margin, (w.leg,), w.mark)
            w.bp = bankruptcy_price(margin, (w.leg,))
        if w.lp is not None and not spec.tiers.complete:
            check_covered(spec, venue, w.leg, w.lp, "at the liquidation price")
        if w.inverse:
            w.lp = _to_price(w.lp, w.leg.entry)
            w.bp = _to_price(w.bp, w.leg.entry)
    return works, _Cross(iso_margin, cross_req, cross_balance, cross_ratio, cross_upnl), None


def _pool_risk(
    venue: Venue, works: list[_Work], cross: _Cross, wallet_balance: float, settle: str
) -> tuple[list[PositionRisk], AccountRisk]:
    """One solved collateral pool's risk: its positions' and its account's (``settle``, ``wallet_balance``)."""
    iso_margin, cross_req, cross_balance, cross_ratio, _ = cross
    positions: list[PositionRisk] = []
    total_upnl = 0.0
    total_req = 0.0
    total_im: float | None = 0.0
    for w in works:
        spec = w.spec
        total_upnl += w.upnl
        total_req += w.req
        if total_im is not None:
            total_im = None if w.im is None else total_im + w.im
        if spec.margin_mode == "cross":
            balance = cross_balance
            ratio = cross_ratio
            collateral = wallet_balance
        else:
            if w.risk is not None:  # a reused isolated work: its result is its own
                positions.append(w.risk)
                continue
            collateral = spec.isolated_margin or 0.0
            balance = collateral + w.upnl
            ratio = _ratio(w.req, balance)
        risk = w.risk = _position_risk(venue, w, w.lp, w.bp, balance, ratio, collateral)
        positions.append(risk)

    total_wallet = pool_wallet(wallet_balance, iso_margin)
    margin_balance = total_wallet + total_upnl
    account = AccountRisk(
        wallet_balance=total_wallet,
        cross_wallet_balance=wallet_balance,
        unrealized_pnl=total_upnl,
        margin_balance=margin_balance,
        maintenance_margin=total_req,
        margin_ratio=_ratio(total_req, margin_balance),
        cross_margin_balance=cross_balance,
        cross_maintenance_margin=cross_req,
        cross_margin_ratio=cross_ratio,
        initial_margin=total_im,
        settle=settle,
    )
    return positions, account


def _position_risk(  # positional: once per position per assessment (and per shock step)
    venue: Venue,
    w: _Work,
    lp: float | None,
    bp: float | None,
    balance: float,
    ratio: float | None,
    collateral: float,
) -> PositionRisk:
    spec = w.spec
    mark = spec.mark_price
    distance = None if lp is None else w.sign * (mark - lp) / mark
    status: Status
    if balance <= 0:
        status = "bankrupt"
    elif ratio is not None and ratio >= 1.0:
        status = "liquidatable"
    else:
        status = "ok"
    # Positional construction throughout: this runs once per position per assessment (and per
    # shock step), where keyword passing is a measurable share of the time.
    value_at_entry = spec.size / spec.entry_price if w.inverse else spec.size * spec.entry_price
    ctx = AdlContext(w.upnl, w.notional, value_at_entry, collateral, balance, w.mm, ratio, w.im)
    score = venue.adl_score(ctx)
    if isnan(score):  # zero PnL times an infinite ratio (a margin balance of ~1e-320): no profit, no rank
        score = 0.0
    if spec.adl_lights is not None:
        adl = AdlInfo(score, spec.adl_lights, "exchange", venue.adl_method)
    else:
        adl = AdlInfo(score, venue.adl_lights_from_score(score), "estimate", venue.adl_method)
    tier: Tier = w.tier
    tiers = spec.tiers.tiers
    pos = tier.index - tiers[0].index + 1
    return PositionRisk(
        spec,
        w.notional,
        w.upnl,
        w.mm,
        w.fee,
        w.im,
        balance,
        ratio,
        venue.native_margin_ratio(w.req, balance) if venue.native_margin_ratio_name else None,
        lp,
        bp,
        distance,
        tier,
        w.value,
        tiers[pos].floor if pos < len(tiers) else None,
        abs(w.notional) / balance if balance > 0 else None,
        status,
        adl,
    )


def position_figures(
    venue: Venue,
    specs: Sequence[PositionSpec],
    liquidation: Sequence[float | None],
    balances: Sequence[float],
    ratio: float | None,
) -> list[PositionRisk]:
    """Each position's figures at its mark exactly as :func:`assess` gives them (notional, PnL, MM,
    fee, initial margin, tier, next tier, ADL), without solving anything: its liquidation price is
    ``liquidation`` (a multi-collateral account's, :func:`liqwatch.core.collateral.assess_collateral`),
    its margin balance ``balances`` (the account's, in the position's settle asset) and its margin
    ratio the account's ``ratio``. No bankruptcy price (None): it is a single-collateral figure.
    Hedge legs of one symbol share their bracket where the venue does (as :func:`assess`)."""
    if venue.size_dependent_tiers:
        specs = [venue.sized_spec(spec) for spec in specs]
    works = [_Work(spec, venue) for spec in specs]
    if venue.cross_legs_share_bracket:
        legs: dict[str, list[_Work]] = {}
        for w in works:
            if w.spec.margin_mode == "cross":
                legs.setdefault(w.spec.symbol, []).append(w)
        for together in legs.values():
            if len(together) > 1:
                total = sum(w.spec.size for w in together)
                for w in together:
                    w.share_bracket(total, venue)
    return [
        _position_risk(venue, w, lp, None, balance, ratio, balance)
        for w, lp, balance in zip(works, liquidation, balances, strict=True)
    ]
