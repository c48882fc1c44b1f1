"""The venue contract: everything in which venues differ, in one small class.

The engine (``liqwatch.core.engine``) never branches on a venue name; it asks the venue object.
Each venue module documents the pages it implements and holds their worked examples in tests;
docs/venues/<name>.md explains each venue's formulas, sources and pitfalls.
"""

from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

from liqwatch.core.tiers import Basis, Boundary

if TYPE_CHECKING:
    from liqwatch.core.model import MarginMode, PositionRisk, PositionSpec


@dataclass(slots=True)
class AdlContext:
    """What a venue's ADL ranking formula may use, for one position."""

    unrealized_pnl: float
    notional: float
    entry_value: float
    collateral: float
    """Isolated margin posted, or the cross wallet balance."""
    equity: float
    """Isolated margin + PnL, or the cross margin balance."""
    maintenance_margin: float
    margin_ratio: float | None
    initial_margin: float | None


def effective_leverage(notional: float, equity: float) -> float | None:
    """|notional| / equity (BitMEX "Effective Leverage = value / equity"; 95 / 5 = 19x).

    One public article prints the inverse (equity / notional), which is the margin fraction, not a
    leverage. None when equity is zero or negative (the position is past bankruptcy)."""
    if equity <= 0:
        return None
    return abs(notional) / equity


def pnl_times_leverage(ctx: AdlContext) -> float:
    """BitMEX-family ranking: PnL% x effective leverage when profitable, PnL% / effective leverage
    when losing. PnL% = unrealized PnL / |entry value|."""
    if ctx.entry_value == 0:
        return 0.0
    pnl_pct = ctx.unrealized_pnl / abs(ctx.entry_value)
    lev = effective_leverage(ctx.notional, ctx.equity)
    if lev is None:  # no equity left: rank by PnL% alone
        return pnl_pct
    return pnl_pct * lev if pnl_pct >= 0 else pnl_pct / lev


class Venue:
    """Defaults follow the common model (docs/venues/README.md); venues override what differs."""

    name: ClassVar[str] = ""
    api_domains: ClassVar[tuple[str, ...]] = ()
    """The domains of the venue's own public API hosts (``api.bybit.com`` is under ``bybit.com``): a
    cached tier table fetched from any other host is labelled so (liqwatch.markets.foreign_source)."""
    public_tiers: ClassVar[bool] = False
    """Its tier tables are public (no keys): ``liqwatch calc`` fetches a missing or stale one
    (liqwatch.tierfetch). Binance's brackets need keys; Deribit has ramps, not tables."""
    label: ClassVar[str] = ""
    settle: ClassVar[str] = "USDT"
    family: ClassVar[str] = ""
    """Short description of the liquidation formula family, shown in the detail views."""

    default_fee_rate: ClassVar[float] = 0.0
    """Liquidation / closing fee rate counted in the maintenance requirement at liquidation."""
    derives_maint_amount: ClassVar[bool] = True
    """True where MM = value x MMR - maintenance amount (Binance cum, Bybit/Gate/HL deduction); False
    where MM = value x MMR of the whole position's bracket (OKX, Bitget)."""
    default_basis: ClassVar[Basis] = "notional"
    default_boundary: ClassVar[Boundary] = "floor_inclusive"
    mm_at_entry_isolated: ClassVar[bool] = False
    """Bybit isolated: MM (and its bracket) is fixed at the entry price, so the liquidation price is
    linear in the entry price."""
    initial_margin_at_entry: ClassVar[bool] = False
    supports_inverse: ClassVar[bool] = True
    """False where the venue lists no coin-margined (inverse) perpetuals: inverse specs are refused."""
    inverse_refusal: ClassVar[str] = ""
    """Why inverse specs are refused where the venue does list coin-margined perpetuals but liqwatch
    cannot price them (Deribit: account-level margin), with the way out; "" = it lists none."""
    inverse_mm_at_entry_isolated: ClassVar[bool] = False
    """Inverse isolated positions: MM (and its bracket) fixed at the entry price, with the fee to close
    priced at the bankruptcy price that includes it (Bybit's classic/v2024 pages). False: MM at the
    liquidation price (the common form, docs/venues/inverse.md)."""
    inverse_family: ClassVar[str] = ""
    """Short description of the coin-margined formula, shown beside ``family`` for inverse markets."""
    supports_hedge_mode: ClassVar[bool] = True
    margin_modes_coexist: ClassVar[bool] = False
    """True where one symbol can hold an isolated and a cross position at once (OKX keys positions
    by instrument, margin mode and position side); elsewhere a symbol has one margin mode."""
    cross_legs_share_bracket: ClassVar[bool] = False
    """Cross mode: the long and short legs of one symbol are bracketed by their combined size (OKX
    "all positions in the same underlying are combined"; Bitget "cross combines long and short").
    Only for venues without maintenance amounts, whose MM is value x MMR of the bracket."""
    collateral_table_source: ClassVar[str] = ""
    """The public endpoint of the venue's collateral-rate table that ``liqwatch tiers update
    --collateral`` caches for ``calc`` ("": liqwatch reads none for this venue)."""
    native_margin_ratio_name: ClassVar[str | None] = None
    """The venue's own name for its margin-ratio figure; set by (only) the venues that override
    :meth:`native_margin_ratio`, which the core calls only where this is set."""
    adl_method: ClassVar[str] = ""
    adl_thresholds: ClassVar[tuple[float, float, float, float]] = (0.05, 0.25, 1.0, 3.0)
    """Score levels that light the 2nd..5th light of the estimate (a losing position shows 1)."""
    adl_exchange_field: ClassVar[str | None] = None

    isolated_leverage_change: ClassVar[str] = "keep_margin"
    """How an isolated position's margin follows a leverage change: ``"keep_margin"`` (Binance:
    lowering leverage needs margin posted first; raising it leaves the margin) or
    ``"reset_margin"`` (Bybit: the position margin is recomputed from the leverage)."""
    partial_model: ClassVar[str] = "full"
    partial_description: ClassVar[str] = "no step-wise rule published: the position is liquidated in full"

    def partial_liquidation_rule(self, margin_mode: MarginMode) -> tuple[str, str]:
        return self.partial_model, self.partial_description

    def partial_target_size(self, p: PositionRisk, price: float) -> float:
        """The size left after one step of the venue's step-wise liquidation, 0 for a full close."""
        model = self.partial_liquidation_rule(p.spec.margin_mode)[0]
        tiers = p.spec.tiers
        index = p.tier.index - tiers.tiers[0].index  # 0-based bracket
        if model == "one_tier_down":
            down = 1
        elif model == "two_tiers_down":
            down = 2 if index >= 2 else 0  # OKX: tiers 1 and 2 are liquidated in full
        elif model == "slices_20pct":
            return 0.8 * p.spec.size if p.spec.size * price > self.partial_threshold else 0.0
        else:
            return 0.0
        if down == 0 or index - down < 0:
            return 0.0
        top = tiers.tiers[index - down].cap  # the top of the bracket it is reduced into
        if tiers.boundary == "floor_inclusive":
            top = math.nextafter(top, 0.0)  # the cap itself belongs to the next bracket
        if tiers.basis != "notional":
            return top
        # notional brackets: linear value = size x price; inverse (coin) value = USD face / price
        return top * price if p.spec.inverse else top / price

    partial_threshold: ClassVar[float] = 0.0

    liquidation_loss_model: ClassVar[str] = ""
    """What a fully liquidated trader loses (``liqwatch.core.loss``): ``"clearance_fee"`` (a fee on
    the amount liquidated, capped by the equity left; the rest may go to the fund), ``"bankruptcy_close"``
    (closed at the bankruptcy price: any equity left at the fill goes to the fund), ``"taker_fee"``
    (the taker fee at the fill, the rest to the fund) or ``"remainder_returned"`` (no fee; what is
    left comes back). ``""``: not modelled (no number is shown)."""
    liquidation_loss_rule: ClassVar[str] = ""
    """The venue's rule in one line, shown next to the figures."""
    liquidation_fee_per_symbol: ClassVar[str | None] = None
    """The exchange-info field holding a per-symbol liquidation fee rate (Binance
    ``liquidationFee``); None where the fee rate is the position's ``fee_rate`` or there is none."""
    size_dependent_tiers: ClassVar[bool] = False
    """True where the maintenance rate is a function of the position's size rather than a bracket
    table (Deribit's margin ramp): the engine then asks :meth:`sized_spec` for each position."""

    def sized_spec(self, spec: PositionSpec) -> PositionSpec:
        """The position with the table of its own size (venues with :attr:`size_dependent_tiers`)."""
        return spec

    def derive_mmr(self, max_leverage: float) -> float | None:
        """A venue that defines MMR from the bracket's max leverage returns it here."""
        return None

    def native_margin_ratio(self, requirement: float, margin_balance: float) -> float | None:
        """The venue's own margin-ratio figure, where its convention differs from liqwatch's."""
        return None

    def adl_score(self, ctx: AdlContext) -> float:
        return pnl_times_leverage(ctx)

    def adl_lights_from_score(self, score: float) -> int:
        """1 + the number of thresholds the score reaches (``adl_thresholds`` ascend; a NaN score
        reaches none)."""
        return 1 if math.isnan(score) else 1 + bisect_right(self.adl_thresholds, score)

    def adl_lights_from_exchange(self, raw: int) -> int:
        """Map the venue's raw ADL indicator to 0-5 lights (identity unless the venue differs)."""
        return max(0, min(5, int(raw)))
