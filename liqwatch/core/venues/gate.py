"""Gate USDT-margined perpetuals.

Liquidation price: Gate help 27724 "liquidation price / bankruptcy price" (linear)::

    LP = (EP -/+ Margin / ContractMultiplier / Size) / [1 -/+ (MMR + takerFee)]   (- long, + short)

Size in contracts times the multiplier is the base quantity Q, so this is the common model with
f = the taker fee (0.075% in Gate's worked reply). Bankruptcy price: the same with MMR + taker = 0.

Maintenance margin: since Gate's 2025-07-29 risk-limit upgrade, MM is graded over the brackets:
value x maintenance_rate - deduction (API ``risk_limit_tiers``: ``risk_limit`` is the bracket's
maximum position value, so brackets are (previous limit, limit]; ``deduction`` is the "maintenance
margin quick calculation deduction", which follows the same recurrence as Binance's cum). The
single-bracket help formula above is that with deduction 0. ADL: a position's ``adl_ranking``
(1-5) is shown as the light level where the payload carries it (the live adapter reads it);
otherwise liqwatch estimates it as PnL% x effective leverage (BitMEX family), labelled as such.

Sources, tiers, payload fields, test vectors and pitfalls: docs/venues/gate.md.
"""

from __future__ import annotations

from liqwatch.core.venues.base import Venue


class Gate(Venue):
    name = "gate"
    collateral_table_source = "/api/v4/unified/currency_discount_tiers"
    api_domains = ("gateio.ws", "gate.io", "gate.com")
    public_tiers = True
    label = "Gate USDT perpetual"
    family = "Gate: (EP -/+ margin / Q) / (1 -/+ (MMR + taker))"
    inverse_family = "Gate BTC-settled: Size x EP x (1 +/- MMR +/- taker) / (Size +/- Margin x EP)"
    default_fee_rate = 0.00075
    default_boundary = "cap_inclusive"
    adl_method = "pnl%-x-effective-leverage (estimate)"
    liquidation_loss_model = "taker_fee"
    liquidation_loss_rule = (
        "Gate: liquidation order at the bankruptcy price including the "
        "taker fee; what is left goes to the insurance fund"
    )
