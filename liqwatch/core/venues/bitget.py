"""Bitget USDT-M futures.

Liquidation price: Bitget support article 12560603808759 (2025-09-18)::

    LP = (positionMargin - Q x EP x dir) / (Q x (MMR + takerFee - dir))      dir = +1 long, -1 short

which is the common model with f = the taker fee. Isolated liquidation: margin + UPnL < MM; cross:
cross equity < sum of MM. MM = tier MMR x position value at mark (no maintenance amount). A newer
revision adds an undefined "pre-calculated offset" to the margin term; it is not modelled.

ADL (article 12560603800805): profitable: ROI x account maintenance-margin rate; losing:
ROI / account maintenance-margin rate; ROI = UPnL / |position value at entry|.

Sources, tiers, payload fields, test vectors and pitfalls: docs/venues/bitget.md.
"""

from __future__ import annotations

from typing import ClassVar

from liqwatch.core.model import MarginMode
from liqwatch.core.venues.base import AdlContext, Venue


class Bitget(Venue):
    name = "bitget"
    collateral_table_source = "/api/v2/mix/market/discount-rate"
    api_domains = ("bitget.com",)
    public_tiers = True
    label = "Bitget USDT-M"
    family = "Bitget: (margin - Q x EP x dir) / (Q x (MMR + taker - dir))"
    inverse_family = (
        "Bitget coin-M: the USDT-M formula in coin (CoinMainIndexPrice placement unverified), taker in the trigger"
    )
    default_fee_rate = 0.0006
    derives_maint_amount = False
    cross_legs_share_bracket = True
    adl_method = "bitget-roi x/÷ maintenance-margin rate"
    liquidation_loss_model = "taker_fee"
    liquidation_loss_rule = "Bitget: taker fee at the fill; what is left goes to the insurance fund (risk margin)"
    adl_thresholds: ClassVar[tuple[float, float, float, float]] = (0.0002, 0.001, 0.003, 0.01)

    def partial_liquidation_rule(self, margin_mode: MarginMode) -> tuple[str, str]:
        if margin_mode == "cross":
            return "two_tiers_down", (
                "model of Bitget's risk handling (cross): orders cancelled, hedged legs netted, then "
                "leverage reduced by two tiers before a flash-order liquidation"
            )
        return "full", "Bitget isolated: no partial step is published; liquidated in full"

    def adl_score(self, ctx: AdlContext) -> float:
        if ctx.entry_value == 0:
            return 0.0
        roi = ctx.unrealized_pnl / abs(ctx.entry_value)
        rate = ctx.margin_ratio
        if rate is None or rate <= 0:
            return roi
        return roi * rate if roi >= 0 else roi / rate
