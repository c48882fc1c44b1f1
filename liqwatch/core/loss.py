"""What a full liquidation costs the trader, per venue rule (issue #13, backstop.md §3.1).

The fill price of a liquidation is unknown, so the cost is a range between two fills:

* ``best``: the position is filled at its liquidation price (the mark that triggers it);
* ``worst``: it is filled at the bankruptcy price, where the equity behind it is gone (for venues
  whose bankruptcy price includes the taker fee, the price where the equity left is that fee).

With B the margin balance behind the position now (isolated margin + uPnL, or the cross margin
balance), the equity left at a fill price P is::

    E(P) = B + s*Q*(P - mark)                  linear (USDⓈ)
    E(P) = B + s*Q*(1/mark - 1/P)              inverse (coin-margined; Q = USD face, money in coin)

and each venue splits it (``Venue.liquidation_loss_model``)::

    clearance_fee       fee = min(r * value(P), E)   to fund = E - fee (up to)  returned = 0   (Binance)
    bankruptcy_close    fee = 0                      to fund = E                returned = 0   (Bybit)
    taker_fee           fee = min(f * value(P), E)   to fund = E - fee          returned = 0   (OKX, Gate, Bitget)
    remainder_returned  fee = 0                      to fund = 0                returned = E   (Hyperliquid)

    value(P) = Q*P (linear) or Q/P (inverse);  loss = s*Q*(EP - P) + fee + to fund   (inverse: s*Q*(1/P - 1/EP))

The loss is the realised price loss plus what the venue keeps, so ``loss + returned`` is the
collateral behind the position before its uPnL (isolated: the margin posted): an isolated position
never loses more than its margin. Venues that liquidate in steps (tier step-down, IOC reduction,
Hyperliquid's 20 % slices) may close less than the whole position: the figures are then the
full-liquidation worst case, and ``partial`` says so. Pure arithmetic: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from liqwatch.core.model import PositionRisk
from liqwatch.core.venues.base import Venue


@dataclass(slots=True)
class LossCase:
    """One fill of a full liquidation; money in the settle currency."""

    fill_price: float
    loss: float
    fee: float | None
    """None where the fee rate is unknown (the fee and ``to_insurance_fund`` together are then
    ``equity_at_fill``)."""
    to_insurance_fund: float | None
    returned: float
    equity_at_fill: float


@dataclass(slots=True)
class LiquidationLoss:
    model: str
    rule: str
    currency: str
    fee_rate: float | None
    best: LossCase
    worst: LossCase
    partial: bool
    """The venue may liquidate in steps: the figures are the full-liquidation worst case."""
    note: str


def _case(model: str, p: PositionRisk, fill: float, fee_rate: float | None, bankrupt: bool = False) -> LossCase:
    """The split at ``fill``; ``bankrupt``: the fill is :func:`worst_fill`, where the equity left is
    zero (or the taker fee) by definition (set exactly, not left to rounding)."""
    spec = p.spec
    s = 1 if spec.side == "long" else -1
    q = spec.size
    mark = spec.mark_price
    if spec.inverse:
        equity = p.margin_balance + s * q * (1.0 / mark - 1.0 / fill)
        value = q / fill
        price_loss = s * q * (1.0 / fill - 1.0 / spec.entry_price)
    else:
        equity = p.margin_balance + s * q * (fill - mark)
        value = q * fill
        price_loss = s * q * (spec.entry_price - fill)
    if bankrupt:
        equity = fee_rate * value if model == "taker_fee" and fee_rate else 0.0
    left = equity if equity > 0.0 else 0.0
    fee: float | None
    fund: float | None
    returned = 0.0
    if model == "remainder_returned":
        fee = 0.0
        fund = 0.0
        returned = left
    elif model == "bankruptcy_close":
        fee = 0.0
        fund = equity  # negative: the fund pays the gap
    elif fee_rate is None:  # clearance_fee with an unknown rate: fee + fund = what is left
        fee = None
        fund = None
    else:
        fee = fee_rate * value
        fee = min(fee, left)
        fund = left - fee
    loss = price_loss + left if fund is None else price_loss + (fee or 0.0) + fund
    return LossCase(fill, loss, fee, fund, returned, equity)


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


def liquidation_loss(p: PositionRisk, venue: Venue, fee_rate: float | None = None) -> LiquidationLoss | str:
    """The range of what a full liquidation of ``p`` costs, or why there is none (one line).

    ``fee_rate``: the per-symbol liquidation fee for venues with one (``Venue.liquidation_fee_per_symbol``;
    None: unknown); venues charging the taker fee use the position's ``fee_rate``."""
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
    best = _case(model, p, lp, rate)
    worst = _case(model, p, bp, rate, bankrupt=True)
    partial = venue.partial_target_size(p, lp) > 0.0
    notes = []
    if partial:
        notes.append(
            "full-liquidation worst case: "
            + venue.partial_liquidation_rule(spec.margin_mode)[1]
            + ", so a liquidation may close only part of the position and cost less"
        )
    if model == "clearance_fee" and rate is None:
        notes.append(
            f"the {venue.liquidation_fee_per_symbol} of {spec.symbol} is unknown: fee and insurance fund "
            "together take the equity left at the fill (liqwatch tiers update reads the current rates)"
        )
    settle = spec.settle or (spec.symbol.split("/")[0] if spec.inverse else venue.settle)
    return LiquidationLoss(model, venue.liquidation_loss_rule, settle, rate, best, worst, partial, "; ".join(notes))


__all__ = ["LiquidationLoss", "LossCase", "liquidation_loss", "worst_fill"]
