"""OKX USDT-margined perpetual swaps.

Margin ratio (API v5 ``mgnRatio``, isolated)::

    mgnRatio = (margin + UPL) / (ctVal x |contracts| x mark x (tier MMR + fee rate))

Liquidation when mgnRatio <= 100% (higher is safer: the inverse of liqwatch's convention, reported as
the native value). MM = position value x MMR of the position's tier, with no maintenance amount.
Position tiers are counted in contracts (``minSz``/``maxSz``, inclusive integer ranges 0-2000,
2001-4000), so the bracket does not move with price. Solving for the price gives the common model
with f = the fee rate::

    LP_long  = (EP - M / Q) / (1 - (MMR + f)),   LP_short = (EP + M / Q) / (1 + (MMR + f))

Cross (single-currency): (balance + UPL - ...) / (MM + liquidation fee) <= 100%.
ADL: the position field ``adl`` (0-5; older docs 1-5) is the light level. Estimate: return rate
divided by the native margin ratio (third-party summary of OKX's ranking, unverified).

Sources, tiers, payload fields, test vectors and pitfalls: docs/venues/okx.md.
"""

from __future__ import annotations

from typing import ClassVar

from liqwatch.core.venues.base import AdlContext, Venue


class Okx(Venue):
    name = "okx"
    collateral_table_source = "/api/v5/public/discount-rate-interest-free-quota"
    api_domains = ("okx.com",)
    public_tiers = True
    label = "OKX swap"
    family = "OKX: (margin + UPL) / (value x (MMR + fee)), tiers in contracts"
    inverse_family = "OKX coin-margined: (margin + UPL) / ((Q/P) x (MMR + fee)), tiers in contracts, no amount"
    default_fee_rate = 0.0005
    derives_maint_amount = False
    cross_legs_share_bracket = True
    margin_modes_coexist = True
    default_basis = "quantity"
    default_boundary = "cap_inclusive"
    native_margin_ratio_name = "mgnRatio"
    adl_method = "okx-return-rate / mgnRatio"
    liquidation_loss_model = "taker_fee"
    liquidation_loss_rule = (
        "OKX: liquidation fee = position value x taker fee rate at "
        "the fill, paid into the insurance fund with what is left"
    )
    adl_thresholds: ClassVar[tuple[float, float, float, float]] = (0.002, 0.01, 0.03, 0.1)
    adl_exchange_field = "adl"
    partial_model = "two_tiers_down"
    partial_description = (
        "model of OKX's published rule: positions in tier 3 or above are reduced two tiers at a "
        "time until the margin ratio recovers; tier 1 and 2 positions are liquidated in full"
    )

    def native_margin_ratio(self, requirement: float, margin_balance: float) -> float | None:
        if requirement <= 0:
            return None
        return margin_balance / requirement

    def adl_score(self, ctx: AdlContext) -> float:
        base = ctx.initial_margin if ctx.initial_margin else ctx.collateral
        if not base or ctx.margin_ratio is None:
            return 0.0
        return (ctx.unrealized_pnl / base) * ctx.margin_ratio
