"""Bybit linear USDT perpetuals.

Isolated liquidation price: Bybit help "Liquidation Price (USDT Contract)"::

    LP_long  = EP - (IM - MM) / Q - ExtraMargin / Q
    LP_short = EP + (IM - MM) / Q + ExtraMargin / Q
    IM = Q x EP / leverage,  MM = Q x EP x MMR - MM deduction      (both at the ENTRY price)

IM + extra margin is the position margin posted, so LP = EP - s x (margin - MM_entry) / Q. The
bracket (risk limit) is chosen by the position value at entry, ``(previous limit, limit]``.
Worked example: long 1 BTC @ 20,000, 50x, MMR 0.5% -> IM 400, MM 100, LP 19,700. A real ETHUSDT
position (0.15 @ 3,851.73, 3x) gives LP 2,587.08 and bankruptcy 2,567.82 on the exchange.

The fee to close (Q x bankruptcy price x taker) is reserved inside the position margin but is NOT
used in the liquidation price on the real payloads checked; newer UTA pages add it. liqwatch uses
the fee-free form by default; ``fee_rate`` adds the fee to close to the requirement.

Bankruptcy price: BP_long = EP x (1 - 1/lev), i.e. EP - s x margin / Q.

Cross (UTA): liquidation when account MM / account margin balance reaches 100%; the common model
with MM at the mark price and the bracket at the mark value.

MM deduction: MMdeduction_n = RiskLimit_(n-1) x (MMR_n - MMR_(n-1)) + MMdeduction_(n-1).

ADL: ``adlRankIndicator`` 1-5 (0 = no position) is the light level. The estimate ranks "highest
profit and effective leverage": PnL% x effective leverage when profitable, / when losing.

Inverse (BTCUSD, 1 contract = 1 USD; margin, MM and PnL in BTC): the UTA isolated page's 2026
version (MM at the liquidation price; the fee to close is added to IM and MM alike, so it cancels)::

    LP_long  = Qty x (1 + MMR) / [Qty/EP + Qty/EP/lev + Extra + MMded]
    LP_short = Qty x (1 - MMR) / [Qty/EP - Qty/EP/lev - Extra - MMded]

which is the common inverse form (docs/venues/inverse.md) with f = 0 and cum = MM deduction: 60,000
USD long @ 50,000, 10x, MMR 0.5% -> 45,681.82. The page's 2024 version fixes MM at entry
(``LP_long = Qty / [PV + (IM - MM)]`` -> 45,662.10): :class:`BybitInverse2024`, also the classic
account's formula (isolated 7,881.77; cross with the taker fee at the fee-inclusive bankruptcy
price: BP 5,718.57, LP 5,739.08). Until a real payload decides, the 2026 form is the default.

Sources, tiers, payload fields, test vectors and pitfalls: docs/venues/bybit.md, docs/venues/inverse.md.
"""

from __future__ import annotations

from liqwatch.core.venues.base import Venue


class Bybit(Venue):
    name = "bybit"
    collateral_table_source = "/v5/spot-margin-trade/collateral"
    api_domains = ("bybit.com", "bytick.com")
    public_tiers = True
    label = "Bybit linear"
    family = "Bybit: MM fixed at entry (isolated); account MM / margin balance (cross)"
    default_boundary = "cap_inclusive"
    mm_at_entry_isolated = True
    initial_margin_at_entry = True
    adl_method = "pnl%-x-effective-leverage (Bybit ranking: profit and effective leverage)"
    adl_exchange_field = "adlRankIndicator"
    isolated_leverage_change = "reset_margin"
    partial_model = "one_tier_down"
    partial_description = (
        "model of Bybit's laddered liquidation: the risk-limit tier is lowered (the position "
        "reduced to the top of the next lower tier) to cut maintenance margin before a full "
        "liquidation"
    )
    liquidation_loss_model = "bankruptcy_close"
    liquidation_loss_rule = (
        "Bybit: closed at the bankruptcy price, the whole position margin is lost; a fill better than "
        "the bankruptcy price pays the excess into the insurance fund (no separate liquidation fee)"
    )
    inverse_family = "Bybit inverse (UTA 2026): Qty x (1 +/- MMR) / (Qty/EP +/- margin +/- MM deduction)"


class BybitInverse2024(Bybit):
    """Bybit's other published inverse form (UTA isolated page, 2024 version; the classic account's
    pages): MM fixed at the entry price, ``LP_long = Qty / [PV + (IM - MM)]``, and a fee to close
    (when a fee rate is given) priced at the bankruptcy price that includes it. Not registered in
    ``VENUES``: kept so both published versions stay tested until a real payload decides."""

    inverse_mm_at_entry_isolated = True
    inverse_family = "Bybit inverse (2024 / classic): MM at entry, Qty / (PV +/- (margin - MM))"
