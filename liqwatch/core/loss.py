"""What a full liquidation costs the trader, per venue rule (issue #13, backstop.md §3.1).

The fill price of a liquidation is unknown, so the cost is a range between two fills:

* ``best``: the position is filled at its liquidation price (the mark that triggers it);
* ``worst``: it is filled at the bankruptcy price, where the equity behind it is gone (for venues
  whose bankruptcy price includes the taker fee, the price where the equity left is that fee).

With B the margin balance behind the position now (isolated margin + uPnL, or the cross margin
balance), the equity left at a fill price P is::

    E(P) = B + s*Q*(P - mark)                  linear (USDⓈ)
    E(P) = B + s*Q*(1/mark - 1/P)              inverse (coin-margined; Q = USD face, money in coin)

Of it, L = max(E - R_other, 0) is the position's share: R_other is the other cross positions'
requirement, which stays in the account (0 for isolated positions and at the bankruptcy fill,
where the account itself is gone). Each venue splits L (``Venue.liquidation_loss_model``)::

    clearance_fee       fee = min(r * value(P), L)   to fund = L - fee (up to)  (Binance liquidationFee r)
    bankruptcy_close    fee = 0                      to fund = L                (Bybit)
    taker_fee           fee = min(f * value(P), L)   to fund = L - fee          (OKX, Gate, Bitget: taker f)
    remainder_returned  fee = 0                      to fund = 0, L returned    (Hyperliquid)

    value(P) = Q*P (linear) or Q/P (inverse);  returned = E - L (the rest of the account), or E (Hyperliquid)
    loss = s*Q*(EP - P) + E - returned       (inverse: s*Q*(1/P - 1/EP) + E - returned)

The loss is the realised price loss plus what the venue keeps, so ``loss + returned`` is the
collateral behind the position before its uPnL (isolated: the margin posted): an isolated position
never loses more than its margin. Venues that liquidate in steps (tier step-down, IOC reduction,
Hyperliquid's 20 % slices) may close less than the whole position: the figures are then the
full-liquidation worst case, and ``partial`` says so. Pure arithmetic: no I/O.
"""

from __future__ import annotations

from liqwatch.core.engine import settle_of
from liqwatch.core.model import PositionRisk
from liqwatch.core.venues.base import Venue

UNKNOWN_RATE = (
    "liquidation fee rate unknown: fee and insurance fund together take what is left "
    "(liqwatch tiers update reads the venue's rates)"
)


class LossCase:
    """One fill of a full liquidation; money in the settle currency. ``fee`` is None where the fee
    rate is unknown (the fee and ``to_insurance_fund`` together are then what is left).

    Plain classes rather than dataclasses: ``liqwatch calc`` imports this module at every start, and
    creating a dataclass costs about a millisecond of that."""

    __slots__ = ("equity_at_fill", "fee", "fill_price", "loss", "returned", "to_insurance_fund")

    def __init__(
        self,
        fill_price: float,
        loss: float,
        fee: float | None,
        to_insurance_fund: float | None,
        returned: float,
        equity_at_fill: float,
    ) -> None:
        self.fill_price = fill_price
        self.loss = loss
        self.fee = fee
        self.to_insurance_fund = to_insurance_fund
        self.returned = returned
        self.equity_at_fill = equity_at_fill

    def __repr__(self) -> str:
        return (
            f"LossCase(fill_price={self.fill_price!r}, loss={self.loss!r}, fee={self.fee!r}, "
            f"to_insurance_fund={self.to_insurance_fund!r}, returned={self.returned!r})"
        )


class LiquidationLoss:
    """The range of what a full liquidation costs: ``best`` (filled at the liquidation price) and
    ``worst`` (at the bankruptcy price), the venue's ``model`` and ``rule``, and ``partial``: the
    venue may liquidate in steps, so the figures are the full-liquidation worst case."""

    __slots__ = ("best", "currency", "fee_rate", "model", "note", "partial", "rule", "worst")

    def __init__(
        self,
        model: str,
        rule: str,
        currency: str,
        fee_rate: float | None,
        best: LossCase,
        worst: LossCase,
        partial: bool,
        note: str,
    ) -> None:
        self.model = model
        self.rule = rule
        self.currency = currency
        self.fee_rate = fee_rate
        self.best = best
        self.worst = worst
        self.partial = partial
        self.note = note

    def __repr__(self) -> str:
        return (
            f"LiquidationLoss(model={self.model!r}, best={self.best!r}, worst={self.worst!r}, partial={self.partial!r})"
        )


Case = tuple[float, float, float | None, float | None, float, float]
"""(fill price, loss, fee, to insurance fund, returned, equity at the fill): a LossCase as a tuple."""


def _case(
    model: str,
    fill: float,
    equity: float,
    value: float,
    price_loss: float,
    fee_rate: float | None,
    others: float = 0.0,
) -> Case:
    """The venue's split of ``equity`` (the collateral's equity at ``fill``). ``others``: the other
    cross positions' requirement, which stays in the account (0 for isolated and at bankruptcy)."""
    left = equity - others
    left = max(left, 0.0)
    returned = equity - left if equity > left else 0.0  # what stays with the trader beyond the venue's rule
    fee: float | None = 0.0
    fund: float | None = 0.0
    if model == "remainder_returned":
        returned = equity if equity > 0.0 else 0.0
    elif model == "bankruptcy_close":
        fund = equity - returned  # negative: the fund pays the gap
    elif fee_rate is None:  # a per-symbol rate liqwatch does not know: fee + fund = what is left
        if left > 0.0:
            fee = None
            fund = None
    else:
        fee = fee_rate * value
        fee = min(fee, left)
        fund = left - fee
    return (fill, price_loss + equity - returned, fee, fund, returned, equity)


def worst_fill(model: str, p: PositionRisk, fee_rate: float | None) -> float | None:
    """The bankruptcy fill: the price where the equity behind the position is zero, or (venues
    whose bankruptcy price includes the taker fee) where what is left equals that fee."""
    spec = p.spec
    s = 1 if spec.side == "long" else -1
    q = spec.size
    mark = spec.mark_price
    b = p.margin_balance
    f = fee_rate if model == "taker_fee" and fee_rate else 0.0
    if spec.inverse:  # B + s*Q*(1/mark - 1/P) = f*Q/P
        den = b + s * q / mark
        price = q * (s + f) / den if den != 0.0 else 0.0
    else:  # B + s*Q*(P - mark) = f*Q*P
        price = (s * mark - b / q) / (s - f)
    return price if price > 0.0 and price - price == 0.0 else None


Figures = tuple[str, float | None, Case, Case, bool, str, str]
"""(model, fee rate, best, worst, partial, note, currency): :class:`LiquidationLoss` as tuples."""


def liquidation_loss(p: PositionRisk, venue: Venue, fee_rate: float | None = None) -> LiquidationLoss | str:
    """The range of what a full liquidation of ``p`` costs, or why there is none (one line).

    ``fee_rate``: the per-symbol liquidation fee for venues with one (``Venue.liquidation_fee_per_symbol``;
    None: unknown); venues charging the taker fee use the position's ``fee_rate``."""
    found = loss_figures(p, venue, fee_rate)
    if isinstance(found, str):
        return found
    model, rate, best, worst, partial, note, currency = found
    return LiquidationLoss(
        model, venue.liquidation_loss_rule, currency, rate, LossCase(*best), LossCase(*worst), partial, note
    )


def loss_figures(p: PositionRisk, venue: Venue, fee_rate: float | None = None) -> Figures | str:
    """:func:`liquidation_loss` as plain tuples (what the JSON records are built from, once per
    position of a portfolio)."""
    model = venue.liquidation_loss_model
    spec = p.spec
    if not model:
        return f"{venue.name}: no liquidation-loss rule is modelled"
    lp = p.liquidation_price
    if lp is None or lp - lp != 0.0:
        return "no liquidation price: the position is not liquidated at any positive mark"
    rate = spec.fee_rate if model == "taker_fee" else fee_rate if model == "clearance_fee" else None
    bp = worst_fill(model, p, rate)
    if bp is None:
        return "no bankruptcy price: the collateral covers a move to zero"
    s = 1 if spec.side == "long" else -1
    q = spec.size
    mark = spec.mark_price
    b = p.margin_balance
    others = 0.0
    if spec.margin_mode == "cross":  # the other cross positions' requirement stays in the account
        if p.margin_ratio is None:
            return "the cross account is past bankruptcy (margin balance <= 0)"
        others = p.margin_ratio * b - (p.maintenance_margin + p.liquidation_fee)
        others = max(others, 0.0)
    # at the bankruptcy fill the account's equity is zero (or the taker fee) by definition: set exactly
    if spec.inverse:
        inv_ep = 1.0 / spec.entry_price
        best_equity = b + s * q * (1.0 / mark - 1.0 / lp)
        best = _case(model, lp, best_equity, q / lp, s * q * (1.0 / lp - inv_ep), rate, others)
        worst_equity = rate * q / bp if model == "taker_fee" and rate else 0.0
        worst = _case(model, bp, worst_equity, q / bp, s * q * (1.0 / bp - inv_ep), rate)
    else:
        ep = spec.entry_price
        best = _case(model, lp, b + s * q * (lp - mark), q * lp, s * q * (ep - lp), rate, others)
        worst_equity = rate * q * bp if model == "taker_fee" and rate else 0.0
        worst = _case(model, bp, worst_equity, q * bp, s * q * (ep - bp), rate)
    partial = venue.partial_target_size(p, lp) > 0.0
    note = ""
    if partial:
        note = (
            "full-liquidation worst case: "
            + venue.partial_liquidation_rule(spec.margin_mode)[1]
            + ", so a liquidation may close only part of the position and cost less"
        )
    if model == "clearance_fee" and rate is None:
        note += "; " if note else ""
        note += UNKNOWN_RATE
    settle = settle_of(spec, venue)
    return (model, rate, best, worst, partial, note, settle)


__all__ = [
    "UNKNOWN_RATE",
    "Case",
    "Figures",
    "LiquidationLoss",
    "LossCase",
    "liquidation_loss",
    "loss_figures",
    "worst_fill",
]
