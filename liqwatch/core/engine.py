"""Risk of a whole account on one venue: every position's liquidation and bankruptcy prices, margin
ratios, brackets and ADL, with cross positions sharing the account's collateral.

The convention everywhere in liqwatch: margin ratio = requirement / margin balance, where the
requirement is the bracket maintenance margin plus the liquidation fee where the venue counts one.
1.0 means liquidation; lower is safer. (OKX's own ``mgnRatio`` is the inverse and is reported as
``margin_ratio_native``.) The model and each venue's choices: docs/venues/README.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from math import isnan

from liqwatch.core.errors import InputError
from liqwatch.core.model import AccountRisk, AdlInfo, PortfolioRisk, PositionRisk, PositionSpec, Status
from liqwatch.core.solver import Leg, bankruptcy_price, solve_price
from liqwatch.core.tiers import Tier
from liqwatch.core.venues import AdlContext, Venue


def _ratio(requirement: float, balance: float) -> float | None:
    return requirement / balance if balance > 0 else None


def bracket_value(spec: PositionSpec, price: float) -> float:
    """The value compared with the brackets: notional at ``price``, or size for quantity tables."""
    return spec.size * price if spec.tiers.basis == "notional" else spec.size


def _amount(value: float, spec: PositionSpec, venue: Venue) -> str:
    unit = venue.settle if spec.tiers.basis == "notional" else spec.symbol.split("/")[0]
    what = "position value" if spec.tiers.basis == "notional" else "position size"
    return f"{what} {value:,.10g} {unit}"


def beyond_table_error(spec: PositionSpec, venue: Venue, value: float, where: str = "") -> InputError:
    """The refusal for a bracket value past the end of the position's table: unknown brackets for
    an incomplete table, above the venue's maximum position for a complete one."""
    table = spec.tiers
    cap = f"{table.limit:,.10g}"
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
    the requirement there is unknown. Legs with a requirement fixed at entry never move bracket."""
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
    if not spec.size > 0:
        raise InputError("size", f"must be > 0, got {spec.size:g}")
    if not spec.entry_price > 0:
        raise InputError("entry_price", f"must be > 0, got {spec.entry_price:g}")
    if not spec.mark_price > 0:
        raise InputError("mark_price", f"must be > 0, got {spec.mark_price:g}")
    if spec.leverage is not None:
        if not spec.leverage > 0:
            raise InputError("leverage", f"must be > 0, got {spec.leverage:g}")
        cap = max_leverage_for(spec)
        if spec.leverage > cap + 1e-12:
            raise InputError(
                "leverage",
                f"{spec.leverage:g}x is above the {cap:g}x maximum of {spec.symbol}'s bracket "
                f"at this position size on {venue.name}",
            )
    if spec.margin_mode == "isolated":
        if spec.isolated_margin is None:
            raise InputError("isolated_margin", "isolated positions need a margin or a leverage")
        if not spec.isolated_margin > 0:
            raise InputError("isolated_margin", f"must be > 0, got {spec.isolated_margin:g}")
    if spec.fee_rate < 0:
        raise InputError("fee_rate", f"must be >= 0, got {spec.fee_rate:g}")
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


class _Work:
    """Per-position figures at the current mark, computed once."""

    __slots__ = ("bp", "fee", "im", "leg", "lp", "mm", "notional", "req", "sign", "spec", "tier", "upnl", "value")

    def __init__(self, spec: PositionSpec, venue: Venue) -> None:
        s = self.sign = 1 if spec.side == "long" else -1
        q = spec.size
        ep = spec.entry_price
        mark = spec.mark_price
        table = spec.tiers
        self.spec = spec
        self.notional = q * mark
        self.upnl = s * q * (mark - ep)
        fixed: float | None = None
        if venue.mm_at_entry_isolated and spec.margin_mode == "isolated":
            self.value = q * ep if table.basis == "notional" else q
            if table.beyond(self.value):
                raise beyond_table_error(spec, venue, self.value, "at entry")
            tier = table.tiers[table.position(self.value)]
            mm = q * ep * tier.mmr - tier.maint_amount
            margin = spec.isolated_margin or 0.0
            bust = max(0.0, ep - s * margin / q)
            fee = spec.fee_rate * q * bust
            fixed = mm + fee
        else:
            self.value = self.notional if table.basis == "notional" else q
            if table.beyond(self.value):
                raise beyond_table_error(spec, venue, self.value, "at the mark")
            tier = table.tiers[table.position(self.value)]
            mm = q * mark * tier.mmr - tier.maint_amount
            fee = spec.fee_rate * q * mark
        self.tier = tier
        self.mm = mm
        self.fee = fee
        self.req = mm + fee
        if spec.leverage:
            value = q * ep if venue.initial_margin_at_entry else self.notional
            self.im: float | None = value / spec.leverage
        elif spec.margin_mode == "isolated":
            self.im = spec.isolated_margin
        else:
            self.im = None
        self.leg = Leg(s, q, ep, table, spec.fee_rate, fixed)
        self.lp: float | None = None
        self.bp: float | None = None

    def share_bracket(self, total_qty: float, venue: Venue) -> None:
        """Re-bracket this cross leg by the combined size of its symbol's legs."""
        spec = self.spec
        table = spec.tiers
        self.leg.tier_qty = total_qty
        self.value = total_qty * spec.mark_price if table.basis == "notional" else total_qty
        if table.beyond(self.value):
            raise beyond_table_error(spec, venue, self.value, "(long and short legs combined)")
        self.tier = table.tiers[table.position(self.value)]
        self.mm = self.notional * self.tier.mmr - self.tier.maint_amount
        self.req = self.mm + self.fee


def assess(venue: Venue, specs: Sequence[PositionSpec], wallet_balance: float = 0.0) -> PortfolioRisk:
    """Risk of every position and of the account. ``wallet_balance`` is the cross collateral."""
    works = [_Work(spec, venue) for spec in specs]

    groups: dict[str, list[_Work]] = {}
    iso_margin = 0.0
    for w in works:
        if w.spec.margin_mode == "cross":
            groups.setdefault(w.spec.symbol, []).append(w)
        else:
            iso_margin += w.spec.isolated_margin or 0.0
    if venue.cross_legs_share_bracket:
        for members in groups.values():
            if len(members) > 1:
                total = sum(w.spec.size for w in members)
                for w in members:
                    w.share_bracket(total, venue)
    cross_upnl = 0.0
    cross_req = 0.0
    for members in groups.values():
        for w in members:
            cross_upnl += w.upnl
            cross_req += w.req

    cross_balance = wallet_balance + cross_upnl
    cross_ratio = _ratio(cross_req, cross_balance)

    for members in groups.values():
        if len(members) == 1:
            w = members[0]
            others_upnl = cross_upnl - w.upnl
            w.lp = solve_price(wallet_balance + others_upnl - (cross_req - w.req), (w.leg,), w.spec.mark_price)
            w.bp = bankruptcy_price(wallet_balance + others_upnl, (w.leg,))
            continue
        g_upnl = 0.0
        g_req = 0.0
        for w in members:
            g_upnl += w.upnl
            g_req += w.req
        legs = [w.leg for w in members]
        collateral = wallet_balance + (cross_upnl - g_upnl) - (cross_req - g_req)
        lp = solve_price(collateral, legs, members[0].spec.mark_price)
        bp = bankruptcy_price(wallet_balance + (cross_upnl - g_upnl), legs)
        for w in members:
            w.lp = lp
            w.bp = bp

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
            lp = w.lp
            bp = w.bp
            if lp is not None and not spec.tiers.complete:
                check_covered(spec, venue, w.leg, lp, "at the liquidation price")
            balance = cross_balance
            ratio = cross_ratio
            collateral = wallet_balance
        else:
            margin = spec.isolated_margin or 0.0
            lp = solve_price(margin, (w.leg,), spec.mark_price)
            if lp is not None and not spec.tiers.complete:
                check_covered(spec, venue, w.leg, lp, "at the liquidation price")
            bp = bankruptcy_price(margin, (w.leg,))
            balance = margin + w.upnl
            ratio = _ratio(w.req, balance)
            collateral = margin
        positions.append(_position_risk(venue, w, lp, bp, balance, ratio, collateral))

    total_wallet = wallet_balance + iso_margin
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
    )
    return PortfolioRisk(venue=venue.name, positions=positions, account=account)


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
    ctx = AdlContext(w.upnl, w.notional, spec.size * spec.entry_price, collateral, balance, w.mm, ratio, w.im)
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
        venue.native_margin_ratio(w.req, balance),
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
