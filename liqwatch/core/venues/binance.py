"""Binance USDⓈ-M futures.

Liquidation price: Binance FAQ "How to Calculate Liquidation Price of USDⓈ-M Contracts"
(support/faq/b3c689c1f50a44cabb3a84e663b81d93)::

    LP1 = (WB - TMM1 + UPNL1 + cumB + cumL + cumS - Side1BOTH*Position1BOTH*EP1BOTH
           - Position1LONG*EP1LONG + Position1SHORT*EP1SHORT)
        / (Position1BOTH*MMR_B + Position1LONG*MMR_L + Position1SHORT*MMR_S
           - Side1BOTH*Position1BOTH - Position1LONG + Position1SHORT)

WB is the cross wallet balance (cross) or the position's isolated wallet (isolated); TMM1 and UPNL1
are the other cross contracts' maintenance margin and unrealized PnL; in cross mode the hedge legs of
one symbol share one liquidation price. If the bracket at the liquidation price differs from the
assumed one, the FAQ recomputes with that bracket. No liquidation fee enters the formula.

Maintenance margin: notional x MMR - cum, cum_n = floor_n x (MMR_n - MMR_(n-1)) + cum_(n-1).
Brackets (``/fapi/v1/leverageBracket``): notionalFloor <= notional < notionalCap.

ADL ("What Is Auto-Deleveraging (ADL)", FAQ 360033525471, formula quoted on dev.binance.vision
topic 17801)::

    PnL% = max(0, unrealizedProfit) / max(1, walletBalance)
    MarginRatio = MM / (walletBalance + unrealizedProfit)   (0 if the denominator <= 0)
    LeveragePnL = PnL% x MarginRatio

``adlQuantile`` 0-4 (low to high) is shown as 1-5 lights while a position is open.

Sources, tiers, payload fields, test vectors and pitfalls: docs/venues/binance.md.
"""

from __future__ import annotations

from typing import ClassVar

from liqwatch.core.venues.base import AdlContext, Venue


class Binance(Venue):
    name = "binance"
    collateral_table_source = "/fapi/v1/assetIndex"
    api_domains = ("binance.com",)
    label = "Binance USD-M futures"
    family = "Binance FAQ: WB - TMM1 + UPNL1 + cum, bracket re-checked at the liquidation price"
    inverse_family = (
        "Binance COIN-M: WB - TMM1 + UPNL1 + cum = (Q/LP) x MMR; no fee; bracket (coin notional) re-checked at the LP"
    )
    adl_method = "binance-leverage-pnl (PnL% x margin ratio)"
    adl_thresholds: ClassVar[tuple[float, float, float, float]] = (0.002, 0.01, 0.03, 0.1)
    adl_exchange_field = "adlQuantile"
    partial_model = "one_tier_down"
    partial_description = (
        "model of Binance's published protocol: open orders are cancelled, then one IOC order "
        "reduces the position's margin requirement (modelled: down to the top of the next lower "
        "bracket) before a full liquidation; the exact size Binance sends is not published"
    )
    liquidation_loss_model = "clearance_fee"
    liquidation_loss_rule = (
        "Binance: clearance fee (the symbol's liquidationFee) on the amount liquidated, capped by the "
        "margin left; part of any rest may go to the insurance fund (shown as up to)"
    )
    liquidation_fee_per_symbol = "liquidationFee"

    def adl_score(self, ctx: AdlContext) -> float:
        # collateral: isolated wallet or cross wallet; margin_ratio is MM / (wallet + UPnL) of the
        # same scope (None when that denominator is <= 0, which the FAQ scores as 0).
        pnl = ctx.unrealized_pnl
        collateral = ctx.collateral
        ratio = ctx.margin_ratio
        if not pnl > 0.0 or not ratio:  # a loss (or NaN) ranks 0; so does a margin balance <= 0
            return 0.0
        return pnl / (collateral if collateral > 1.0 else 1.0) * ratio

    def adl_lights_from_exchange(self, raw: int) -> int:
        """adlQuantile 0..4 -> 1..5 lights (the UI's five bars, 20% of the queue each)."""
        return max(1, min(5, int(raw) + 1))
