"""Hyperliquid perpetuals (USDC).

Docs "Liquidations" (hyperliquid.gitbook.io/hyperliquid-docs/trading/liquidations)::

    liq = price - side x margin_available / position_size / (1 - l x side)
    l = 1 / MAINTENANCE_LEVERAGE,  maintenance margin = half the initial margin at max leverage
    margin_available = isolated_margin - maintenance_margin_required          (isolated)
                     = account_value - maintenance_margin_required            (cross)

i.e. MMR = 1 / (2 x max leverage of the bracket) and no fee: the common model with f = 0 (with
price = entry and zero PnL it reduces exactly to (EP - M/Q) / (1 - l) for a long). Margin tables
(``meta.marginTables``: lowerBound + maxLeverage) give brackets by notional; the deduction is
cumulative as on centralised venues. One-way positions only.

ADL: no per-position indicator is published; the docs rank by unrealized PnL and leverage, which
the estimate follows (PnL% x effective leverage).

Sources, tiers, payload fields, test vectors and pitfalls: docs/venues/hyperliquid.md.
"""

from __future__ import annotations

from liqwatch.core.venues.base import Venue


class Hyperliquid(Venue):
    name = "hyperliquid"
    api_domains = ("hyperliquid.xyz",)
    public_tiers = True
    label = "Hyperliquid"
    settle = "USDC"
    family = "Hyperliquid: MMR = 1 / (2 x max leverage), account value - MM"
    supports_hedge_mode = False
    supports_inverse = False
    partial_model = "slices_20pct"
    partial_threshold = 100_000.0
    partial_description = (
        "model of Hyperliquid's docs: a position over 100,000 USDC has 20% sent to the book as a "
        "market order, then a 30 s cooldown; smaller positions are liquidated in full"
    )
    adl_method = "pnl%-x-effective-leverage (estimate; Hyperliquid publishes no ADL rank)"
    liquidation_loss_model = "remainder_returned"
    liquidation_loss_rule = (
        "Hyperliquid: no clearance fee; market liquidation returns the remaining collateral (a "
        "backstop liquidation by the liquidator vault returns nothing)"
    )

    def derive_mmr(self, max_leverage: float) -> float | None:
        return 1.0 / (2.0 * max_leverage)
