"""Deribit perpetuals: the USDC linear perpetuals (``BTC_USDC-PERPETUAL``) with Deribit's published
margin ramp, and what liqwatch can and cannot say about the inverse ones (``BTC-PERPETUAL``).

Deribit's margin is account level (standard margin, per collateral currency): liquidation starts
when the account's maintenance margin exceeds its equity, and positions are then reduced step-wise
until it no longer does. There are no brackets; the margin rates grow with the position size
(support.deribit.com "Linear Perpetual", article 25944738177565)::

    MMR(Q) = 1% + Q_BTC x 0.005%         IMR(Q) = 2% + Q_BTC x 0.005%        (BTC_USDC-PERPETUAL)
    MMR(Q) = 2% + Q_SOL x 0.0005%        IMR(Q) = 4% + Q_SOL x 0.0005%       (SOL_USDC-PERPETUAL)

    25 BTC   -> MM 1.125% = 0.28125 BTC, IM 2.125% = 0.53125 BTC
    350 BTC  -> IM 3.75%  = 13.125 BTC
    6,000 SOL -> IM 7%    = 420 SOL

For one position the rate depends on its size only, not on the price, so the maintenance margin in
USDC is Q x P x MMR(Q): linear in the mark. liqwatch gives the engine a one-bracket table per
position (:meth:`Deribit.sized_spec`, size basis, MMR(Q), max leverage 1/IMR(Q)); the account's
equity at the mark then equals its maintenance margin at exactly the common model's price::

    C + s x Q x (LP - EP) = Q x LP x MMR(Q)   ->   LP = (C - s x Q x EP) / (Q x (MMR(Q) - s))

with no fee (Deribit charges its liquidation fee on top, from what is left) and no maintenance
amount. A what-if that changes the size re-derives the rate from the ramp.

Inverse perpetuals (BTC-PERPETUAL, ETH-PERPETUAL; 10 USD contracts, settled in the coin): their
current margin parameters are not published in a form that can be recomputed (the older futures
page's ramp is not the current one), and the account may be on portfolio margin (scenario based,
no closed form). liqwatch does not compute a liquidation price for them: it shows Deribit's
``estimated_liquidation_price`` (labelled as the venue's) and the account's margin ratio from its
own summary, maintenance margin / equity (:func:`account_margin_ratio`).

ADL: Deribit publishes no per-position ranking; the estimate is PnL% x effective leverage.

Sources, payload fields, test vectors and pitfalls: docs/venues/deribit.md.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING

from liqwatch.core.numfmt import plain
from liqwatch.core.tiers import INFINITE_CAP, Tier, TierTable
from liqwatch.core.venues.base import Venue

if TYPE_CHECKING:
    from liqwatch.core.model import PositionSpec


@dataclass(frozen=True, slots=True)
class Ramp:
    """Deribit's size-dependent margin rates for one linear perpetual: rate = base + per_unit x Q,
    Q the position size in the base coin."""

    mm_base: float
    im_base: float
    per_unit: float
    unit: str
    """The base coin Q is counted in."""

    def mmr(self, size: float) -> float:
        return self.mm_base + self.per_unit * size

    def imr(self, size: float) -> float:
        return self.im_base + self.per_unit * size

    def describe(self) -> str:
        return (
            f"Deribit margin ramp: MM {plain(self.mm_base * 100)}% + {plain(self.per_unit * 100)}% per {self.unit}, "
            f"IM {plain(self.im_base * 100)}% + {plain(self.per_unit * 100)}% per {self.unit}"
        )


RAMPS: dict[str, Ramp] = {
    "BTC/USDC:USDC": Ramp(mm_base=0.01, im_base=0.02, per_unit=0.00005, unit="BTC"),
    "SOL/USDC:USDC": Ramp(mm_base=0.02, im_base=0.04, per_unit=0.000005, unit="SOL"),
}
"""The linear perpetuals whose ramp Deribit publishes with worked examples (support article
25944738177565). Others (ETH_USDC-PERPETUAL, ...) have no bundled ramp: calc asks for ``--mmr``."""

_OWN_TABLE_ORIGINS = frozenset({"override", "file", "portfolio"})
"""Tables the user stated (``--mmr``, ``--tiers``, a portfolio's tiers): used as given."""


def ramp_table(ramp: Ramp, size: float, base: TierTable | None = None) -> TierTable:
    """The one-bracket table of a position of ``size`` (base coin): MMR(Q), max leverage 1/IMR(Q),
    no maintenance amount, on a size basis (the rate does not move with the price)."""
    tier = Tier(
        index=1,
        floor=0.0,
        cap=INFINITE_CAP,
        mmr=ramp.mmr(size),
        maint_amount=0.0,
        max_leverage=1.0 / ramp.imr(size),
    )
    return TierTable(
        tiers=(tier,),
        basis="quantity",
        boundary="cap_inclusive",
        source=f"{ramp.describe()}; at {plain(size, 10)} {ramp.unit}",
        as_of=base.as_of if base is not None else "",
        origin=base.origin if base is not None else "",
    )


def account_margin_ratio(maintenance_margin: float | None, equity: float | None) -> float | None:
    """Deribit account: maintenance margin / equity (liqwatch's convention, 1.0 = liquidation
    starts). None when either is missing or the equity is not positive."""
    if maintenance_margin is None or equity is None or equity <= 0:
        return None
    return maintenance_margin / equity


class Deribit(Venue):
    name = "deribit"
    api_domains = ("deribit.com",)
    label = "Deribit"
    settle = "USDC"
    family = "Deribit: account MM = equity; linear MMR = base + slope x size (published ramp), no fee"
    supports_hedge_mode = False  # one position per instrument
    supports_inverse = False
    """Deribit lists inverse perpetuals, but margins them at account level with parameters it does
    not publish in a recomputable form: the core refuses them (:attr:`inverse_refusal`)."""
    size_dependent_tiers = True
    default_basis = "quantity"
    default_boundary = "cap_inclusive"
    derives_maint_amount = False
    adl_method = "pnl%-x-effective-leverage (estimate; Deribit publishes no ADL rank)"
    partial_description = (
        "Deribit reduces an account's positions step-wise until its maintenance margin is below its "
        "equity, but publishes no step size: modelled as a full close"
    )
    inverse_refusal = (
        "Deribit margins its inverse perpetuals at account level with parameters it does not publish in "
        "a form liqwatch can recompute, so liqwatch gives no liquidation price for them (Deribit's own "
        "estimated_liquidation_price is the venue's figure): use the USDC linear perpetual, e.g. BTC/USDC:USDC"
    )

    def ramp(self, symbol: str) -> Ramp | None:
        return RAMPS.get(symbol.upper())

    def sized_spec(self, spec: PositionSpec) -> PositionSpec:
        """The position with the one-bracket table of its size, where Deribit's ramp applies and
        the user did not state the table; else the position as it is."""
        ramp = RAMPS.get(spec.symbol.upper())
        if ramp is None or spec.inverse or spec.tiers.origin in _OWN_TABLE_ORIGINS:
            return spec
        current = spec.tiers.tiers[0]
        if (
            len(spec.tiers.tiers) == 1
            and spec.tiers.basis == "quantity"
            and current.mmr == ramp.mmr(spec.size)
            and current.max_leverage == 1.0 / ramp.imr(spec.size)
        ):
            return spec  # already the table of this size
        table = ramp_table(ramp, spec.size, spec.tiers)
        if spec.max_leverage is not None:
            table = table.with_max_leverage(spec.max_leverage)
        return dataclasses.replace(spec, tiers=table)
