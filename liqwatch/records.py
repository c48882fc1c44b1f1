"""The JSON records of a position and an account: one builder each, for every surface.

``liqwatch calc --json`` prints :func:`position_record` / :func:`account_record` (inside
:func:`portfolio_record`); the what-if ``before`` / ``after`` / ``steps`` documents are
:func:`portfolio_record` too (with each survivor's ``index``). ``liqwatch watch`` prints
:func:`live_position_record` / :func:`live_account_record`: the same risk fields (same names, same
meaning, nulls where the core gave no number) framed by what only a live feed knows — account,
exchange, the mark's age, the venue's own liquidation price and a note.

Numbers are raw floats, never rounded; :func:`num` maps the non-finite values the core can produce
(the open end of a tier table) to null. Human rendering lives in :mod:`liqwatch.output`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from liqwatch.core.engine import pool_wallet, settle_of
from liqwatch.core.loss import Case, Figures, LiquidationLoss, LossCase, loss_figures
from liqwatch.core.model import AccountRisk, PortfolioRisk, PositionRisk, PositionSpec
from liqwatch.core.venues import VENUES, Venue, get_venue

if TYPE_CHECKING:  # the state store imports this module: no import back at run time
    from liqwatch.core.funding import FundingDrift
    from liqwatch.liqfees import FeeRates
    from liqwatch.views import AccountView, PositionView, Snapshot


def num(x: float | None) -> float | None:
    """``x``, or None for None, NaN and the infinities (JSON has no such numbers)."""
    return x if x is None or x - x == 0.0 else None  # x - x is NaN for NaN and the infinities


NEGATIVE_ZERO = (b"-0.0,", b"-0.0}", b"-0.0]")
"""How -0.0 reads in JSON (orjson and the json module alike) as a whole number: a document
holding none of these has no negative zero (one without can still, inside a string, hold one)."""


_NEGATIVE_ZERO_TEXT = tuple(z.decode() for z in NEGATIVE_ZERO)


def has_negative_zero(data: bytes | str) -> bool:
    """Whether JSON text may hold a -0.0 (a fast scan; a string value can give a false alarm)."""
    if isinstance(data, str):
        return any(z in data for z in _NEGATIVE_ZERO_TEXT)
    return any(z in data for z in NEGATIVE_ZERO)


def unsigned_zeros(doc: Any) -> Any:
    """``doc`` with every -0.0 made 0.0: dicts and lists in place, tuples as lists. The record
    builders write the fields that can be -0.0 (a short at its entry has a PnL of -size x 0: the
    PnL, the ADL score, a funding payment) as ``x + 0.0``, which is 0.0 for -0.0 and ``x`` for any
    other number; this is the writers' safety net for anything else, called only when
    :func:`has_negative_zero` finds one in the JSON written (then written again)."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            if type(value) is float:
                if value == 0.0:
                    doc[key] = 0.0
            elif isinstance(value, dict | list | tuple):
                doc[key] = unsigned_zeros(value)
        return doc
    if isinstance(doc, list | tuple):
        items = doc if isinstance(doc, list) else list(doc)
        for i, value in enumerate(items):
            if type(value) is float:
                if value == 0.0:
                    items[i] = 0.0
            elif isinstance(value, dict | list | tuple):
                items[i] = unsigned_zeros(value)
        return items
    if type(doc) is float and doc == 0.0:
        return 0.0
    return doc


def settle_currency(spec: PositionSpec, venue: Venue) -> str:
    """The currency of a position's money fields (margin, PnL, maintenance): its settle currency
    (the coin of a coin-margined market, the ``:SETTLE`` of a linear symbol, else the venue's). A
    symbol without a ``:SETTLE`` part (``XRPUSDT``) settles in the venue's currency, or, coin-margined,
    in its base coin: never in a currency named after the whole symbol."""
    if spec.settle:
        return spec.settle
    _, colon, tail = spec.symbol.rpartition(":")
    if colon and tail.strip():
        return tail.strip()
    if spec.inverse:
        base = spec.symbol.partition("/")[0].strip()
        if base and base != spec.symbol.strip():
            return base
    return venue.settle


def contracts_of(spec: PositionSpec) -> float | None:
    """The position's size in contracts: as given when it still matches the size (a what-if that
    changed the size leaves the given count behind), else size / contract size; None when the
    contract size is unknown."""
    cs = spec.contract_size
    given = spec.contracts
    if cs and (given is None or given * cs != spec.size):
        return spec.size / cs
    return given


def next_tier_info(p: PositionRisk) -> tuple[float | None, float | None]:
    """(notional where the next bracket starts, in the settle currency — the coin for a coin-margined
    position —, distance to it as a fraction of the current value)."""
    nxt = p.next_tier_floor
    if nxt is None:
        return None, None
    spec = p.spec
    if spec.tiers.basis == "notional":
        current = p.bracket_value
        notional = nxt
    else:
        current = spec.size
        notional = nxt / spec.mark_price if spec.inverse else nxt * spec.mark_price
    distance = (nxt - current) / current if current > 0 else None
    return notional, distance


# ---------------------------------------------------------------------- calc


_POSITION_RECORD: dict[str, Any] = dict.fromkeys(
    (
        "symbol",
        "side",
        "position_side",
        "size",
        "settle",
        "inverse",
        "contracts",
        "contract_size",
        "notional_usd",
        "entry_price",
        "mark_price",
        "margin_mode",
        "leverage",
        "isolated_margin",
        "liquidation_price",
        "bankruptcy_price",
        "margin_ratio",
        "margin_ratio_native",
        "margin_ratio_native_name",
        "maintenance_margin",
        "liquidation_fee",
        "fee_rate",
        "initial_margin",
        "margin_balance",
        "unrealized_pnl",
        "notional",
        "tier",
        "mmr",
        "maint_amount",
        "max_leverage",
        "tier_floor",
        "tier_cap",
        "tier_basis",
        "next_tier_notional",
        "distance_to_next_tier",
        "tiers_source",
        "tiers_source_detail",
        "tiers_as_of",
        "distance_to_liquidation",
        "effective_leverage",
        "status",
        "adl",
        "liquidation_loss",
        "liquidation_loss_unavailable",
        "funding",
        "funding_unavailable",
    )
)
"""Every key of a position record, in the document's order, each None: :func:`position_record`
copies it (one presized copy is a third cheaper than a 45-key dict display, which grows its table
four times as it fills) and fills the first 41 keys; :class:`LossFunding` sets the last four."""


def position_record(p: PositionRisk, venue: Venue) -> dict[str, Any]:
    """One position as ``calc --json`` prints it. Every quantity the core derives by a division (a
    ratio, a price, a distance) is mapped to null when not finite (as :func:`num` does, written out
    here: this runs once per position of a portfolio file): a margin balance of ~1e-320 makes a
    ratio infinite, and the open end of a table (``tier_cap``, an override's ``max_leverage``) is.

    ``liquidation_loss`` / ``funding`` and their ``*_unavailable`` reasons are left None here:
    :class:`LossFunding` fills them (every document that prints a record runs it)."""
    spec = p.spec
    tier = p.tier
    table = spec.tiers
    adl = p.adl
    nxt = p.next_tier_floor
    if nxt is None:
        next_notional = next_distance = None
    else:  # next_tier_info, inline
        if table.basis == "notional":
            current = p.bracket_value
            next_notional = nxt
        else:  # the size; its value: coin-margined Q / P, linear size x P
            current = spec.size
            next_notional = nxt / spec.mark_price if spec.inverse else nxt * spec.mark_price
        next_distance = (nxt - current) / current if current > 0 else None
    # x - x is 0.0 for a finite x, NaN for NaN and the infinities
    lp = p.liquidation_price
    bp = p.bankruptcy_price
    ratio = p.margin_ratio
    native = p.margin_ratio_native
    im = p.initial_margin
    max_lev = tier.max_leverage
    cap = tier.cap
    distance = p.distance_to_liquidation
    eff = p.effective_leverage
    score = adl.score
    inverse = spec.inverse
    contracts = spec.contracts  # contracts_of, inline
    cs = spec.contract_size
    if cs and (contracts is None or contracts * cs != spec.size):
        contracts = spec.size / cs
    doc = _POSITION_RECORD.copy()  # presized, keys in order: stores below only fill it
    doc["symbol"] = spec.symbol
    doc["side"] = spec.side
    doc["position_side"] = spec.position_side
    doc["size"] = spec.size
    doc["settle"] = spec.settle or spec.symbol.rpartition(":")[2] or venue.settle  # settle_currency, inline
    doc["inverse"] = inverse
    doc["contracts"] = contracts
    doc["contract_size"] = spec.contract_size
    doc["notional_usd"] = spec.size if inverse else p.notional
    doc["entry_price"] = spec.entry_price
    doc["mark_price"] = spec.mark_price
    doc["margin_mode"] = spec.margin_mode
    doc["leverage"] = spec.leverage
    doc["isolated_margin"] = spec.isolated_margin
    doc["liquidation_price"] = lp if lp is None or lp - lp == 0.0 else None
    doc["bankruptcy_price"] = bp if bp is None or bp - bp == 0.0 else None
    doc["margin_ratio"] = ratio if ratio is None or ratio - ratio == 0.0 else None
    doc["margin_ratio_native"] = native if native is None or native - native == 0.0 else None
    doc["margin_ratio_native_name"] = venue.native_margin_ratio_name
    doc["maintenance_margin"] = p.maintenance_margin
    doc["liquidation_fee"] = p.liquidation_fee
    doc["fee_rate"] = spec.fee_rate
    doc["initial_margin"] = im if im is None or im - im == 0.0 else None
    doc["margin_balance"] = p.margin_balance
    doc["unrealized_pnl"] = p.unrealized_pnl + 0.0  # + 0.0: a short at its entry makes -0.0, JSON gets 0.0
    doc["notional"] = p.notional
    doc["tier"] = tier.index
    doc["mmr"] = tier.mmr
    doc["maint_amount"] = tier.maint_amount
    doc["max_leverage"] = max_lev if max_lev - max_lev == 0.0 else None
    doc["tier_floor"] = tier.floor
    doc["tier_cap"] = cap if cap - cap == 0.0 else None
    doc["tier_basis"] = table.basis
    finite = next_notional is None or next_notional - next_notional == 0.0
    doc["next_tier_notional"] = next_notional if finite else None
    finite = next_distance is None or next_distance - next_distance == 0.0
    doc["distance_to_next_tier"] = next_distance if finite else None
    doc["tiers_source"] = table.origin or "bundled"
    doc["tiers_source_detail"] = table.source
    doc["tiers_as_of"] = table.as_of
    doc["distance_to_liquidation"] = distance if distance is None or distance - distance == 0.0 else None
    doc["effective_leverage"] = eff if eff is None or eff - eff == 0.0 else None
    doc["status"] = p.status
    doc["adl"] = {
        "score": score + 0.0 if score - score == 0.0 else None,
        "lights": adl.lights,
        "source": adl.source,
        "method": adl.method,
    }
    return doc


def account_record(a: AccountRisk) -> dict[str, Any]:
    """One collateral pool (the account, for a single-currency account) as ``calc --json`` prints it."""
    return {
        "wallet_balance": a.wallet_balance,
        "margin_balance": a.margin_balance,
        "maintenance_margin": a.maintenance_margin,
        "margin_ratio": num(a.margin_ratio),
        "unrealized_pnl": a.unrealized_pnl + 0.0,
        "initial_margin": num(a.initial_margin),
        "cross_wallet_balance": a.cross_wallet_balance,
        "cross_margin_balance": a.cross_margin_balance,
        "cross_maintenance_margin": a.cross_maintenance_margin,
        "cross_margin_ratio": num(a.cross_margin_ratio),
    }


def portfolio_record(
    risk: PortfolioRisk,
    venue: Venue,
    indices: Sequence[int] | None = None,
    extras: RecordExtras | None = None,
) -> dict[str, Any]:
    """The whole ``calc --json`` document; ``indices`` (what-if survivors) adds each position's
    ``index`` in the original portfolio; ``extras``: funding and liquidation-fee data of the run."""
    positions = [position_record(p, venue) for p in risk.positions]
    LossFunding(risk, venue, extras).add(positions)
    if indices is not None:
        for pos, i in zip(positions, indices, strict=True):
            pos["index"] = i
    doc = portfolio_shell(risk, venue)
    doc["positions"] = positions
    return doc


def portfolio_shell(risk: PortfolioRisk, venue: Venue) -> dict[str, Any]:
    """Every key of :func:`portfolio_record`'s document, in its order, with ``positions`` empty:
    what a caller streaming the positions piece by piece writes around them."""
    inverse_only = bool(risk.positions) and all(p.spec.inverse for p in risk.positions)
    return {
        "exchange": risk.venue,
        "formula": venue.inverse_family if inverse_only and venue.inverse_family else venue.family,
        "positions": [],
        "account": pools_record(risk, venue),
    }


def pools_record(risk: PortfolioRisk, venue: Venue) -> dict[str, Any]:
    """The ``account`` section: the default pool's fields (:func:`account_record`; the venue's
    settle currency, or the only pool held) with its ``settle``, and ``pools``: every collateral
    pool, the default one first, as ``{"settle": ..., **account_record}``. Money is in each pool's
    settle currency; cross collateral never crosses pools."""
    default = account_record(risk.account)
    pools = risk.pools
    if not pools:
        default_settle = venue.settle
        entries = [{"settle": default_settle, **default}]
    else:
        default_settle = next((ccy for ccy, a in pools.items() if a is risk.account), venue.settle)
        entries = [{"settle": default_settle, **default}]
        entries += [{"settle": ccy, **account_record(a)} for ccy, a in pools.items() if a is not risk.account]
    return {"settle": default_settle, **default, "pools": entries}


# ---------------------------------------------------------------------- loss and funding (issue #13)


class RecordExtras:
    """What a run knows beyond the positions: per-symbol liquidation fee rates and, per position of
    the assessed portfolio (its order), the funding drift (None: no rate given) and next time."""

    __slots__ = ("fee_rates", "funding", "funding_note", "next_funding_time")

    def __init__(
        self,
        fee_rates: FeeRates | None = None,
        funding: Sequence[FundingDrift | None] | None = None,
        next_funding_time: Sequence[float | None] | None = None,
        funding_note: str | None = None,
    ) -> None:
        self.fee_rates = fee_rates
        self.funding = funding
        self.next_funding_time = next_funding_time
        self.funding_note = funding_note


def _case_record(c: LossCase) -> dict[str, Any]:
    return _case_doc((c.fill_price, c.loss, c.fee, c.to_insurance_fund, c.returned, c.equity_at_fill))


def _case_doc(c: Case) -> dict[str, Any]:
    fill, loss, fee, fund, returned, equity = c
    if equity - equity != 0.0 or loss - loss != 0.0:  # only absurd inputs (1e308) get here
        return {"loss": num(loss), "fee": num(fee), "to_insurance_fund": num(fund), "returned": num(returned),
                "fill_price": num(fill)}  # fmt: skip
    return {"loss": loss, "fee": fee, "to_insurance_fund": fund, "returned": returned, "fill_price": fill}


def loss_record(loss: LiquidationLoss) -> dict[str, Any]:
    """A position's ``liquidation_loss`` object."""
    return {
        "model": loss.model,
        "rule": loss.rule,
        "currency": loss.currency,
        "fee_rate": loss.fee_rate,
        "best": _case_record(loss.best),
        "worst": _case_record(loss.worst),
        "partial_liquidation": loss.partial,
        "note": loss.note,
    }


def figures_record(f: Figures, venue: Venue) -> dict[str, Any]:
    """:func:`loss_record` from the core's plain figures (the same object)."""
    model, rate, best, worst, partial, note, currency = f
    return {
        "model": model,
        "rule": venue.liquidation_loss_rule,
        "currency": currency,
        "fee_rate": rate,
        "best": _case_doc(best),
        "worst": _case_doc(worst),
        "partial_liquidation": partial,
        "note": note,
    }


def position_loss(p: PositionRisk, venue: Venue, fee_rates: FeeRates | None, hedged: bool) -> Figures | str:
    """The loss model's figures for one position, or why there are none."""
    if hedged:
        return "cross hedge legs of one symbol are liquidated together: not modelled per leg"
    rate = None
    if venue.liquidation_fee_per_symbol:
        if fee_rates is None:
            from liqwatch.liqfees import FeeRates

            fee_rates = FeeRates(venue)
        rate = fee_rates.rate(p.spec.symbol)
    return loss_figures(p, venue, rate)


def funding_record(drift: FundingDrift, next_time: float | None, currency: str | None = None) -> dict[str, Any]:
    """A position's ``funding`` object (``next_time``: seconds since the epoch; ``currency``: the
    payment's, the settle currency)."""
    return {
        "rate": drift.rate,
        "next_time": next_time,
        "next_payment": drift.payment + 0.0,
        "currency": currency,
        "liquidation_price_after": [num(x) for x in drift.liquidation_price_after],
    }


def _hedged_symbols(risk: PortfolioRisk) -> set[str]:
    seen: set[str] = set()
    twice: set[str] = set()
    for p in risk.positions:
        spec = p.spec
        if spec.margin_mode == "cross" and spec.position_side != "both":
            (twice if spec.symbol in seen else seen).add(spec.symbol)
    return twice


class LossFunding:
    """Adds ``liquidation_loss`` (with ``liquidation_loss_unavailable``: why it is null) and
    ``funding`` (with ``funding_unavailable``) to position records of ``risk``, a piece at a time
    (``calc --json`` streams large documents)."""

    __slots__ = ("drifts", "fee_rates", "hedged", "note", "positions", "times", "venue")

    def __init__(self, risk: PortfolioRisk, venue: Venue, extras: RecordExtras | None) -> None:
        self.venue = venue
        self.positions = risk.positions
        fee_rates = extras.fee_rates if extras is not None else None
        if fee_rates is None and venue.liquidation_fee_per_symbol:
            from liqwatch.liqfees import FeeRates

            fee_rates = FeeRates(venue)
        self.fee_rates = fee_rates
        self.drifts = extras.funding if extras is not None else None
        self.times = extras.next_funding_time if extras is not None else None
        self.note = extras.funding_note if extras is not None else None
        self.hedged = _hedged_symbols(risk) if risk.positions else set()

    def add(self, docs: Sequence[dict[str, Any]], start: int = 0) -> None:
        """``docs``: the records of ``risk.positions[start : start + len(docs)]``."""
        venue, fee_rates, hedged = self.venue, self.fee_rates, self.hedged
        drifts, times, note = self.drifts, self.times, self.note
        rate_of = fee_rates.rate if fee_rates is not None and venue.liquidation_fee_per_symbol else None
        rule = venue.liquidation_loss_rule
        for i, doc in enumerate(docs, start):
            p = self.positions[i]
            spec = p.spec
            if hedged and spec.symbol in hedged:
                loss = position_loss(p, venue, fee_rates, True)
            else:  # position_loss's common case, inline: this runs once per position of a portfolio
                # the symbol's fee rate is looked up only where there is a liquidation to charge it on
                rate = rate_of(spec.symbol) if rate_of is not None and p.liquidation_price is not None else None
                loss = loss_figures(p, venue, rate)
            if isinstance(loss, str):
                doc["liquidation_loss"] = None
                doc["liquidation_loss_unavailable"] = loss
            else:  # figures_record, inline
                model, rate, best, worst, partial, why, currency = loss
                doc["liquidation_loss"] = {
                    "model": model,
                    "rule": rule,
                    "currency": currency,
                    "fee_rate": rate,
                    "best": _case_doc(best),
                    "worst": _case_doc(worst),
                    "partial_liquidation": partial,
                    "note": why,
                }
                doc["liquidation_loss_unavailable"] = None
            drift = drifts[i] if drifts is not None else None
            if drift is not None:
                doc["funding"] = funding_record(
                    drift, times[i] if times is not None else None, settle_of(p.spec, venue)
                )
                doc["funding_unavailable"] = None
            else:
                doc["funding"] = None
                doc["funding_unavailable"] = note


# ---------------------------------------------------------------------- watch


def diff_ticks(view: PositionView) -> float | None:
    """(ours - the venue's liquidation price) / the market's tick; None when either price or the
    tick is unknown."""
    risk = view.risk
    venue_lp = view.data.exchange_liquidation_price
    if risk is None or venue_lp is None:
        return None
    ours = num(risk.liquidation_price)
    tick = risk.spec.tick_size
    if ours is None or not tick:
        return None
    return num((ours - venue_lp) / tick)


def live_position_record(view: PositionView, fees: _LiveFees | None = None) -> dict[str, Any]:
    """One position as ``liqwatch watch`` prints it: the position as the feed reported it, the
    risk fields of :func:`position_record` (null until the risk is computed) and the live ones.
    ``fees``: the venue and its liquidation fee rates per exchange name, shared by the records of
    one snapshot (looked up here when not given)."""
    data = view.data
    risk = view.risk
    pooled = view.collateral  # a multi-assets account's cross position, from its collateral
    ours = (
        num(pooled.liquidation_price) if pooled is not None else None if risk is None else num(risk.liquidation_price)
    )
    venue_lp = data.exchange_liquidation_price
    doc = _LIVE_RECORD.copy()  # presized, keys in order (the loss and funding ones filled): stores only
    doc["account"] = view.account
    doc["exchange"] = view.exchange
    doc["symbol"] = data.symbol
    doc["side"] = data.side
    doc["position_side"] = data.position_side
    doc["margin_mode"] = data.margin_mode
    doc["size"] = data.size
    doc["entry_price"] = data.entry_price
    doc["mark_price"] = view.mark_price
    doc["mark_age_s"] = None if view.mark_age_s is None else round(view.mark_age_s, 3)
    doc["stale"] = view.stale
    doc["liquidation_price"] = ours
    doc["exchange_liquidation_price"] = venue_lp
    doc["liquidation_price_venue"] = venue_lp
    if venue_lp is not None:  # diff_ticks, inline
        doc["liquidation_price_diff"] = None if ours is None else ours - venue_lp
        tick = None if risk is None else risk.spec.tick_size
        ticks = None
        if risk is not None and tick:
            core_lp = num(risk.liquidation_price)  # the risk core's (not the collateral's)
            ticks = None if core_lp is None else num((core_lp - venue_lp) / tick)
        doc["liquidation_price_diff_ticks"] = ticks
    if risk is None:
        doc["margin_ratio"] = num(view.venue_margin_ratio)
        if pooled is not None:
            doc["distance_to_liquidation"] = num(pooled.distance_to_liquidation)
        doc["status"] = "unknown"
    else:
        adl = risk.adl
        doc["bankruptcy_price"] = num(risk.bankruptcy_price)
        doc["margin_ratio"] = num(risk.margin_ratio)
        doc["tier"] = risk.tier.index
        doc["distance_to_liquidation"] = (
            num(pooled.distance_to_liquidation) if pooled is not None else num(risk.distance_to_liquidation)
        )
        doc["unrealized_pnl"] = risk.unrealized_pnl + 0.0
        doc["status"] = risk.status
        doc["adl"] = {"score": num(adl.score + 0.0), "lights": adl.lights, "source": adl.source}
    doc["note"] = view.note if venue_lp is not None else f"{view.note}; {_NO_VENUE_LP}" if view.note else _NO_VENUE_LP
    # the position's inputs as the feed read them (issue #22: a dashboard on the bus recomputes
    # the risk, what-if and ladder of a received position from these)
    doc["leverage"] = data.leverage
    doc["isolated_margin"] = data.isolated_margin
    doc["contract_size"] = data.contract_size
    doc["contracts"] = data.contracts
    doc["tick_size"] = data.tick_size
    doc["taker_fee_rate"] = data.fee_rate
    doc["inverse"] = data.inverse
    doc["settle"] = data.settle
    if risk is not None:
        _fill_loss(doc, risk, view.exchange, fees)
    return doc


_NO_VENUE_LP = "the venue gave no liquidation price; liqwatch's is shown"


LIVE_FUNDING_NOTE = (
    "no funding rate known for this symbol yet (liqwatch watch reads it from the venue's market data; "
    "none with --no-market or --replay)"
)
"""Why a live position's ``funding`` is null (the market-data feed of issue #13 brings the rate)."""

_LIVE_LOSS_UNKNOWN: dict[str, Any] = {
    "liquidation_loss": None,
    "liquidation_loss_unavailable": "no risk figures yet",
    "funding": None,
    "funding_unavailable": LIVE_FUNDING_NOTE,
}
"""A live position's loss and funding fields before anything is known: the loss is then filled in
from its risk (:func:`_fill_loss`), the funding from the market data (:func:`add_live_funding`)."""

_LIVE_RECORD: dict[str, Any] = dict.fromkeys(
    (
        "account",
        "exchange",
        "symbol",
        "side",
        "position_side",
        "margin_mode",
        "size",
        "entry_price",
        "mark_price",
        "mark_age_s",
        "stale",
        "liquidation_price",
        "exchange_liquidation_price",
        "liquidation_price_venue",
        "liquidation_price_diff",
        "liquidation_price_diff_ticks",
        "bankruptcy_price",
        "margin_ratio",
        "tier",
        "distance_to_liquidation",
        "unrealized_pnl",
        "status",
        "adl",
        "note",
        *_LIVE_LOSS_UNKNOWN,
        "leverage",
        "isolated_margin",
        "contract_size",
        "contracts",
        "tick_size",
        "taker_fee_rate",
        "inverse",
        "settle",
    )
)
"""Every key of a live position record, in the line's order, each None but the loss and funding
ones (:data:`_LIVE_LOSS_UNKNOWN`): :func:`live_position_record` copies it and fills it in place."""
_LIVE_RECORD.update(_LIVE_LOSS_UNKNOWN)

_LIVE_FEES: dict[str, tuple[float, FeeRates]] = {}
LIVE_FEES_RECHECK = 60.0
"""Seconds a live session keeps one look at the per-symbol liquidation fee rates."""


def live_fee_rates(venue: Venue) -> FeeRates:
    """The venue's liquidation fee rates for a live session, looked at again every minute (a
    ``liqwatch tiers update`` meanwhile is seen)."""
    import time

    now = time.monotonic()
    hit = _LIVE_FEES.get(venue.name)
    if hit is not None and now - hit[0] < LIVE_FEES_RECHECK:
        return hit[1]
    from liqwatch.liqfees import FeeRates

    rates = FeeRates(venue)
    _LIVE_FEES[venue.name] = (now, rates)
    return rates


_LiveFees = dict[str, tuple[Venue, "FeeRates"]]
"""Per exchange name (as the views spell it): the venue and :func:`live_fee_rates` of one snapshot."""


def _live_fees(fees: _LiveFees, exchange: str) -> tuple[Venue, FeeRates]:
    hit = fees.get(exchange)
    if hit is None:
        venue = get_venue(exchange)
        hit = fees[exchange] = (venue, live_fee_rates(venue))
    return hit


def live_loss_fields(view: PositionView, fees: _LiveFees | None = None) -> dict[str, Any]:
    """``liquidation_loss`` / ``liquidation_loss_unavailable`` and ``funding`` / ``funding_unavailable``
    of a live position (cross hedge legs are refused: the other leg is not in view here).
    ``fees``: as :func:`live_position_record`'s."""
    out = dict(_LIVE_LOSS_UNKNOWN)
    if view.risk is not None:
        _fill_loss(out, view.risk, view.exchange, fees)
    return out


def _fill_loss(doc: dict[str, Any], risk: PositionRisk, exchange: str, fees: _LiveFees | None) -> None:
    """``liquidation_loss`` / ``liquidation_loss_unavailable`` of a position whose risk is known,
    written into ``doc`` (which has both keys already)."""
    venue, rates = _live_fees({} if fees is None else fees, exchange)
    spec = risk.spec
    if spec.margin_mode == "cross" and spec.position_side != "both":
        loss = position_loss(risk, venue, rates, True)
    else:  # position_loss and figures_record, inline: once per position every second
        # the symbol's fee rate is looked up only where there is a liquidation to charge it on
        per_symbol = venue.liquidation_fee_per_symbol and risk.liquidation_price is not None
        loss = loss_figures(risk, venue, rates.rate(spec.symbol) if per_symbol else None)
    if isinstance(loss, str):
        doc["liquidation_loss_unavailable"] = loss
        return
    doc["liquidation_loss"] = figures_record(loss, venue)
    doc["liquidation_loss_unavailable"] = None


def account_wallet(view: AccountView) -> float | None:
    """The account's wallet as every surface shows it (the dashboard's card, ``watch``'s
    ``wallet_balance``; ``calc`` prints the same field of the same pool): the default pool's
    ``wallet_balance`` from the risk core — the cross wallet plus every isolated position's margin,
    so that equity - wallet is the unrealized PnL. None while the account has no figures."""
    return None if view.risk is None else view.risk.account.wallet_balance


def live_account_record(view: AccountView) -> dict[str, Any]:
    """One account as ``liqwatch watch`` prints it: its figures are the default pool's (``pools[0]``,
    in its currency), null while ``status`` is not ``ok`` (``connecting``, ``error``: ``error`` then
    says why, whole)."""
    risk = view.risk
    computed = view.computed
    a = None if risk is None or not computed else risk.account
    pooled = view.collateral_risk  # a multi-assets account computed from its collateral (USD)
    return {
        "account": view.name,
        "exchange": view.exchange,
        "status": view.data_status,
        "wallet_balance": account_wallet(view),
        "margin_balance": pooled.effective_equity if pooled is not None else None if a is None else a.margin_balance,
        "maintenance_margin": (
            pooled.maintenance_margin_usd if pooled is not None else None if a is None else a.maintenance_margin
        ),
        "margin_ratio": num(pooled.margin_ratio) if pooled is not None else None if a is None else num(a.margin_ratio),
        "cross_margin_ratio": (
            num(pooled.margin_ratio) if pooled is not None else None if a is None else num(a.cross_margin_ratio)
        ),
        "feed": view.status,
        "stale": view.stale,
        "error": view.detail or None,
        "pools": live_pools(view) if computed else [{**e, **_NO_POOL_FIGURES} for e in live_pools(view)],
        "mode": view.mode,
        "mode_detail": view.mode_detail,
        "margin_ratio_venue": num(view.margin_ratio_venue),
        "margin_ratio_diff": num(view.margin_ratio_diff),
        "note": view.mode_note,
        "account_status_venue": view.account_status_venue,
        "margin_ratio_native": num(view.margin_ratio_native),
        "margin_ratio_native_name": view.margin_ratio_native_name,
        "liquidation_trigger": view.liquidation_trigger,
        "collateral": live_collateral(view),
        "effective_equity_venue": None if view.collateral_venue is None else view.collateral_venue.effective_equity,
        "effective_equity_venue_name": None
        if view.collateral_venue is None
        else view.collateral_venue.effective_equity_name,
    }


def live_collateral(view: AccountView) -> list[dict[str, Any]]:
    """The account's collateral coins, calc's ``account.collateral`` keys plus ``equity`` (amount +
    the PnL settled in the coin, what ``value_usd`` is of) and ``source``: ``"liqwatch"`` for a
    ``multi_assets`` account liqwatch computes from them, ``"venue"`` for a ``portfolio`` account's
    coins as the venue reports them (its fields and published rates); [] for any other account."""
    if view.collateral_risk is not None:
        assets, source = view.collateral_risk.assets, "liqwatch"
    elif view.collateral_venue is not None:
        assets, source = view.collateral_venue.assets, "venue"
    else:
        return []
    return [
        {
            "asset": v.asset,
            "amount": v.amount,
            "price": v.price,
            "value_usd": v.value_usd,
            "collateral_value_usd": v.collateral_value_usd,
            "ratio": num(v.ratio),
            "equity": v.equity,
            "source": source,
        }
        for v in assets
    ]


_NO_POOL_FIGURES = dict.fromkeys(
    (
        "margin_balance",
        "maintenance_margin",
        "margin_ratio",
        "unrealized_pnl",
        "initial_margin",
        "cross_wallet_balance",
        "cross_margin_balance",
        "cross_maintenance_margin",
        "cross_margin_ratio",
    )
)


def live_pools(view: AccountView) -> list[dict[str, Any]]:
    """One entry per settle currency, the keys of ``calc --json``'s ``account.pools``
    (:func:`pools_record`): the pools of the assessed positions, then any other currency whose
    wallet the feed read: its ``cross_wallet_balance`` as read, its ``wallet_balance`` the same one
    definition (:func:`~liqwatch.core.engine.pool_wallet`: plus the margins of its isolated
    positions; null where one is unknown), nulls for what only assessed positions give."""
    venue = VENUES.get(view.exchange.lower())
    default = venue.settle if venue is not None else "USDT"
    entries: list[dict[str, Any]] = []
    if view.risk is not None and venue is not None:
        entries = pools_record(view.risk, venue)["pools"]
    seen = {e["settle"] for e in entries}
    wallets = dict(view.wallets)
    if view.wallet_balance is not None:
        wallets.setdefault(default, view.wallet_balance)
    for ccy in sorted(wallets, key=lambda c: (c != default, c)):
        if ccy not in seen:
            cross = wallets[ccy]
            margin = view.isolated.get(ccy, 0.0)
            wallet = None if margin is None else pool_wallet(cross, margin)
            entries.append(
                {"settle": ccy, "wallet_balance": wallet, **_NO_POOL_FIGURES} | {"cross_wallet_balance": cross}
            )
    return entries


def snapshot_record(snap: Snapshot) -> dict[str, Any]:
    """A ``{"type": "snapshot"}`` line of ``liqwatch watch``."""
    fees: _LiveFees = {}  # one look per venue and snapshot, not one per position
    positions = [live_position_record(p, fees) for p in snap.positions]
    if _LIVE_FUNDING:
        add_live_funding(positions, snap)
    return {
        "type": "snapshot",
        "ts": snap.ts,
        "accounts": [live_account_record(a) for a in snap.accounts],
        "positions": positions,
    }


class SnapshotLines:
    """``liqwatch watch``'s snapshot records and their JSON lines, second after second, doing no
    work a record that did not change does not need: a position whose view holds the same risk
    result, data, note and mark as last time (the state store and the risk core keep those objects
    while nothing behind them changes) and the same liquidation fee rates reuses its record, and
    where its funding object is the same too, its serialised bytes: only its ``mark_age_s`` and
    ``stale`` are written anew. The line is byte for byte ``orjson.dumps`` of the record."""

    __slots__ = ("_kept", "reused", "reused_bytes")

    def __init__(self) -> None:
        self._kept: dict[tuple[str, str, str], list[Any]] = {}
        """Per (account, symbol, side): [risk, data, note, collateral, venue ratio, mark, fee
        rates, the record last written (None for a position that changed again), its funding and
        funding_unavailable when its bytes were kept, head, tail] (head and tail: those bytes
        before its ``mark_age_s`` value and from its ``liquidation_price`` key on; None until
        written on their own)."""
        self.reused = 0
        """Records of the last snapshot reused (not rebuilt)."""
        self.reused_bytes = 0
        """Of those, the records whose bytes were reused (not serialised again)."""

    def snapshot(self, snap: Snapshot) -> tuple[dict[str, Any], bytes]:
        """The ``{"type": "snapshot"}`` record of ``snap`` (:func:`snapshot_record`'s) and its line."""
        import orjson

        fees: _LiveFees = {}
        kept = self._kept
        fresh: dict[tuple[str, str, str], list[Any]] = {}
        positions: list[dict[str, Any]] = []
        entries: list[list[Any]] = []
        reused = 0
        for view in snap.positions:
            data = view.data
            key = (view.account, data.symbol, data.side)
            entry = kept.get(key)
            risk = view.risk
            same = (
                entry is not None
                and entry[0] is risk
                and entry[1] is data
                and entry[5] == view.mark_price
                and entry[2] == view.note
                and entry[3] is view.collateral
                and entry[4] == view.venue_margin_ratio
                and entry[6] is (None if risk is None else _live_fees(fees, view.exchange)[1])
            )
            if same and entry is not None and entry[7] is not None:
                doc = entry[7].copy()  # the record last written (its funding is set below, as for a new one)
                doc["mark_age_s"] = None if view.mark_age_s is None else round(view.mark_age_s, 3)
                doc["stale"] = view.stale
                doc["funding"] = None
                doc["funding_unavailable"] = LIVE_FUNDING_NOTE
                entry[7] = doc
                reused += 1
            elif same and entry is not None:  # quiet since the last snapshot: its record is kept from now on
                doc = entry[7] = live_position_record(view, fees)
            else:
                doc = live_position_record(view, fees)
                # a position that changed again (its mark moves every second) keeps no record: holding
                # thousands of records for nothing would only be the garbage collector's work
                kept_doc = doc if entry is None else None
                rates = None if risk is None else fees[view.exchange][1]  # looked up by the record
                entry = [risk, data, view.note, view.collateral, view.venue_margin_ratio, view.mark_price, rates]
                entry += [kept_doc, None, None, None, None]
            fresh[key] = entry
            positions.append(doc)
            entries.append(entry)
        self._kept = fresh  # the positions held now only
        self.reused = reused
        if _LIVE_FUNDING:
            add_live_funding(positions, snap)
        record = {
            "type": "snapshot",
            "ts": snap.ts,
            "accounts": [live_account_record(a) for a in snap.accounts],
            "positions": positions,
        }
        if not reused:  # every record is new (every mark moved): one call writes them all
            self.reused_bytes = 0
            return record, orjson.dumps(record, option=orjson.OPT_APPEND_NEWLINE)
        dumps = orjson.dumps
        parts: list[bytes] = []
        again = 0
        for doc, entry in zip(positions, entries, strict=True):
            head = entry[10]
            if head is not None and entry[8] is doc["funding"] and entry[9] == doc["funding_unavailable"]:
                age = doc["mark_age_s"]
                stale = b',"stale":true' if doc["stale"] else b',"stale":false'
                parts.append(head + (b"null" if age is None else dumps(age)) + stale + entry[11])
                again += 1
                continue
            line = dumps(doc)
            # orjson writes the keys in order, without spaces; a key cannot occur inside a string
            # (its quotes would be escaped there)
            start = line.index(b',"mark_age_s":') + len(b',"mark_age_s":')
            entry[8], entry[9] = doc["funding"], doc["funding_unavailable"]
            entry[10], entry[11] = line[:start], line[line.index(b',"liquidation_price":', start) :]
            parts.append(line)
        self.reused_bytes = again
        head = b'{"type":"snapshot","ts":' + dumps(snap.ts) + b',"accounts":' + dumps(record["accounts"])
        return record, head + b',"positions":[' + b",".join(parts) + b"]}\n"


# ---------------------------------------------------------------------- live funding (issue #13)

_LIVE_FUNDING: dict[tuple[str, str], tuple[float, float | None]] = {}


def set_live_funding(exchange: str, symbol: str, rate: float | None, next_time: float | None = None) -> None:
    """Record the latest funding rate of ``symbol`` on ``exchange`` (unified symbol) and the next
    payment's time (seconds since the epoch) as a market-data poller reads them; ``rate`` None
    forgets it. ``liqwatch watch`` records then carry ``funding``."""
    key = (exchange.lower(), symbol.upper())
    if rate is None or rate - rate != 0.0:
        _LIVE_FUNDING.pop(key, None)
    else:
        _LIVE_FUNDING[key] = (rate, next_time)


def clear_live_funding() -> None:
    """Forget every live funding rate (a watch run ends: the next one starts without them)."""
    _LIVE_FUNDING.clear()
    _FUNDING_PROJECTIONS.clear()


def note_market_funding(report: Any) -> None:
    """Take the funding rates of a market report (``liqwatch.market.model.MarketReport``: its
    ``exchange`` and ``symbols[].funding_rate`` / ``next_funding_time``) for the live records."""
    exchange = str(getattr(report, "exchange", ""))
    for s in getattr(report, "symbols", ()) or ():
        set_live_funding(exchange, s.symbol, s.funding_rate, s.next_funding_time)


FUNDING_REFRESH_S = 10.0
"""How long a live account's funding projection is reused while its positions and rates stay the
same: three re-assessments of the whole account per snapshot were a third of `liqwatch watch`'s
CPU on 2,000 positions, for figures that move with the marks only by the payment's share."""

_FundingKey = tuple[str, str, str, str, float]
_FUNDING_PROJECTIONS: dict[str, tuple[float, tuple[Any, ...], dict[_FundingKey, dict[str, Any]]]] = {}


def _funding_key(spec: PositionSpec) -> _FundingKey:
    return (spec.symbol, spec.side, spec.position_side, spec.margin_mode, spec.size)


def add_live_funding(records: list[dict[str, Any]], snap: Snapshot) -> None:
    """``funding`` of each live position whose symbol has a known rate: the payment and the
    liquidation price after 1-3 payments, re-assessed over the position's whole account (each
    pool on its own wallet). An account's projection is recomputed when its positions or rates
    change, else at most every :data:`FUNDING_REFRESH_S` seconds."""
    from liqwatch.core.errors import InputError
    from liqwatch.core.funding import liquidation_prices_after
    from liqwatch.core.venues import get_venue

    found: dict[int, dict[str, Any]] = {}
    for account in snap.accounts:
        risk = account.risk
        if risk is None or not risk.positions:
            continue
        specs = [p.spec for p in risk.positions]
        exchange = account.exchange.lower()
        known = [_LIVE_FUNDING.get((exchange, s.symbol.upper())) for s in specs]
        if not any(known):
            continue
        keys = [_funding_key(s) for s in specs]  # once per position: the cache's shape and the look-ups
        shape = (tuple(keys), tuple(known))
        cached = _FUNDING_PROJECTIONS.get(account.name)
        if cached is not None and cached[1] == shape and 0 <= snap.ts - cached[0] < FUNDING_REFRESH_S:
            by_key = cached[2]
        else:
            rates = [None if k is None else k[0] for k in known]
            venue = get_venue(account.exchange)
            wallet: float | dict[str, float] = (
                dict(account.wallets) if account.wallets else (account.wallet_balance or 0.0)
            )
            try:
                drifts = liquidation_prices_after(venue, specs, wallet, rates, 3, account.solved)
            except InputError:
                _FUNDING_PROJECTIONS.pop(account.name, None)
                continue  # a drifted liquidation price past an incomplete table: no figure
            by_key = {}  # each position's `funding` object, built once per projection (read-only)
            for p, key, drift, k in zip(risk.positions, keys, drifts, known, strict=True):
                if drift is not None and k is not None:
                    by_key[key] = funding_record(drift, k[1], settle_of(p.spec, venue))
            _FUNDING_PROJECTIONS[account.name] = (snap.ts, shape, by_key)
        for p, key in zip(risk.positions, keys, strict=True):
            hit = by_key.get(key)
            if hit is not None:
                found[id(p)] = hit
    for doc, view in zip(records, snap.positions, strict=True):
        hit = None if view.risk is None else found.get(id(view.risk))
        if hit is not None:
            doc["funding"] = hit
            doc["funding_unavailable"] = None
