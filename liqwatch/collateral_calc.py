"""``liqwatch calc`` for a multi-collateral account (issue #21 point 3): the boundary between the
portfolio file / flags and :mod:`liqwatch.core.collateral`, and the account's JSON and table.

A ``multi_assets`` account is assessed in one solve (:func:`liqwatch.core.collateral.assess_collateral`):
the account's effective equity, its maintenance margin in USD, its margin ratio, and each cross
position's liquidation price with the collateral that moves with its mark. Each position's other
figures (notional, PnL, MM, tier, ADL) are the engine's at the mark
(:func:`liqwatch.core.engine.position_figures`); single-collateral figures (a bankruptcy price, a
per-position liquidation loss) are not printed for such an account. ``portfolio`` mode is refused:
the venue's requirement comes from risk scenarios liqwatch cannot reproduce.

Kept light: imported by ``liqwatch calc`` only for such an account; no ccxt, Textual or websockets.
"""

from __future__ import annotations

import math
import sys
import textwrap
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from liqwatch.core.collateral import (
    AccountMode,
    CollateralAsset,
    CollateralRisk,
    CollateralTier,
    assess_collateral,
    shocked,
    underlying_of,
)
from liqwatch.core.errors import InputError
from liqwatch.core.model import AccountRisk
from liqwatch.core.numfmt import plain, typed
from liqwatch.percent import split_percent

if TYPE_CHECKING:
    from liqwatch.core import whatif as wi
    from liqwatch.core.model import PositionSpec
    from liqwatch.core.venues import Venue

Where = Callable[[int, str], str]
"""How a collateral row's field is named in an error: ``collateral[2].price`` (file) or
``--collateral`` (flags)."""

PORTFOLIO_REFUSAL = (
    'account_mode "portfolio": the venue sets a portfolio-margin account\'s requirement from its own '
    "risk scenarios, which nobody outside can reproduce, so calc computes no liquidation price for it; "
    "`liqwatch` (live) shows the venue's own account ratio instead (uniMMR, accountMMRate, mgnRatio)"
)

NO_TABLE = (
    "no ratio, tiers or bid_buffer/ask_buffer for {asset}, and {what}: give "
    '"ratio", "tiers" (with "tier_basis") or "bid_buffer" and "ask_buffer"{way_out}'
)
NO_BUNDLE = "liqwatch bundles no {venue} collateral table"
BUNDLE_LACKS = "the bundled {venue} collateral table (as of {as_of}) has no {asset}"
CACHE_WAY_OUT = (
    ", or cache the venue's table with `liqwatch tiers update --exchange {venue} --collateral` "
    "(the {venue} collateral cache {state})"
)
NO_SOURCE_WAY_OUT = " (liqwatch reads collateral tables of {venues} only)"


def table_valuation(venue: str, asset: str) -> tuple[dict[str, Any] | None, str]:
    """(the asset's valuation from the venue's collateral tables, its source in words) or (None,
    ""). Of the user's cache (``liqwatch tiers update --collateral``) and the table bundled with
    liqwatch, the one that holds the asset values it; if both do, the fresher by ``as_of`` (the
    cache on a tie). Read once per venue per process."""
    found = _table_for(venue, asset)
    if found is None:
        return None, ""
    kind, data = found
    what = f"{venue} cache" if kind == "cache" else f"bundled {venue} table"
    return data["assets"][asset], f"{what} as of {data.get('as_of', '?')} ({data.get('source_url', '?')})"


def _table_for(venue: str, asset: str) -> tuple[str, dict[str, Any]] | None:
    """("cache" or "bundled", the table) of the table that values ``asset``, or None."""
    tables = [("cache", _collateral_cache(venue)), ("bundled", _bundled(venue))]
    holding = [(kind, data) for kind, data in tables if data is not None and asset in data["assets"]]
    if not holding:
        return None
    return max(holding, key=lambda t: str(t[1].get("as_of", "")))  # the first (the cache) on a tie


_BUNDLES: dict[str, dict[str, Any] | None] = {}


def _bundled(venue: str) -> dict[str, Any] | None:
    """The venue's bundled collateral table (``liqwatch/data/collateral``), read once."""
    if venue not in _BUNDLES:
        from liqwatch.collateral_cache import read_bundled

        _BUNDLES[venue] = read_bundled(venue)
    return _BUNDLES[venue]


_CACHE_READS: dict[tuple[str, int, int], dict[str, Any] | None] = {}


def _collateral_cache(venue: str) -> dict[str, Any] | None:
    """The venue's collateral cache, parsed once per version of the file (its mtime and size)."""
    from liqwatch import collateral_cache

    try:
        stat = collateral_cache.collateral_path(venue).stat()
    except OSError:
        return None
    key = (venue, stat.st_mtime_ns, stat.st_size)
    if key not in _CACHE_READS:
        _CACHE_READS[key] = collateral_cache.read_collateral(venue)
    return _CACHE_READS[key]


def stale_table_warning(venue: str, assets: Sequence[CollateralAsset]) -> list[str]:
    """One stderr line per collateral table (cached or bundled) that valued a row and is over
    :data:`liqwatch.markets.STALE_DAYS` days old (as stale tier tables are said)."""
    from liqwatch.markets import STALE_DAYS, _day_number

    groups: dict[tuple[str, str], list[str]] = {}
    for a in assets:
        found = _table_for(venue, a.asset) if a.source else None
        if found is not None:
            groups.setdefault((found[0], str(found[1].get("as_of", ""))), []).append(a.asset)
    if not groups:
        return []
    import time

    from liqwatch.collateral_cache import table_venues

    today = int(time.time() // 86400)
    if venue in table_venues():
        refresh = f"refresh it with `liqwatch tiers update --exchange {venue} --collateral`"
    else:
        refresh = 'give the rows their own "ratio" or "tiers" where the venue has changed them'
    lines = []
    for (kind, as_of), used in groups.items():
        day = _day_number(as_of[:10])
        if day is None or today - day <= STALE_DAYS:
            continue
        lines.append(
            f"warning: the {venue} collateral table ({', '.join(used)}) is {today - day} days old "
            f"({kind}, as of {as_of}); {refresh}"
        )
    return lines


def _no_table(asset: str, venue: str) -> str:
    from liqwatch.collateral_cache import table_venues

    bundle = _bundled(venue)
    if bundle is None:
        what = NO_BUNDLE.format(venue=venue)
    else:
        what = BUNDLE_LACKS.format(venue=venue, as_of=bundle.get("as_of", "?"), asset=asset)
    sources = table_venues()
    if venue in sources:
        state = "is empty" if _collateral_cache(venue) is None else f"has no {asset}"
        way_out = CACHE_WAY_OUT.format(venue=venue, state=state)
    else:
        way_out = NO_SOURCE_WAY_OUT.format(venues=", ".join(sources))
    return NO_TABLE.format(asset=asset, what=what, way_out=way_out)


def file_field(i: int, name: str) -> str:
    return f"collateral[{i}]" + (f".{name}" if name else "")


def flag_field(i: int, name: str) -> str:
    return "--collateral-ratio" if name == "ratio" else "--collateral"


# ----------------------------------------------------------------------------- input


def parse_collateral_flags(values: Sequence[str], ratios: Sequence[str]) -> list[dict[str, Any]]:
    """``--collateral ASSET=AMOUNT[@PRICE]`` (repeatable) and ``--collateral-ratio ASSET=R``
    (0.95 or 95%) -> collateral rows as a portfolio file gives them."""
    rows: list[dict[str, Any]] = []
    seen: dict[str, dict[str, Any]] = {}
    for raw in values:
        asset, sep, rest = raw.partition("=")
        amount_text, at, price_text = rest.partition("@")
        asset = asset.strip().upper()
        try:
            if not (sep and asset):
                raise ValueError(raw)
            amount = float(amount_text)
            price = float(price_text) if at else None
        except ValueError:
            raise InputError("--collateral", f"{raw!r} is not ASSET=AMOUNT[@PRICE] (e.g. BTC=0.5@60000)") from None
        if not math.isfinite(amount):
            raise InputError("--collateral", f"{raw!r}: the amount must be a finite number")
        if price is not None and not (math.isfinite(price) and price > 0):
            raise InputError("--collateral", f"{raw!r}: the price must be > 0")
        if asset in seen:
            raise InputError("--collateral", f"{asset} is given twice; give one --collateral per asset")
        row: dict[str, Any] = {"asset": asset, "amount": amount, "price": price}
        seen[asset] = row
        rows.append(row)
    for raw in ratios:
        asset, sep, value = raw.partition("=")
        asset = asset.strip().upper()
        try:
            if not (sep and asset):
                raise ValueError(raw)
            number, sign = split_percent(value)
        except ValueError:
            raise InputError("--collateral-ratio", f"{raw!r} is not ASSET=RATIO (e.g. BTC=0.95 or BTC=95%)") from None
        if asset not in seen:
            raise InputError("--collateral-ratio", f"{asset} has no --collateral {asset}=AMOUNT[@PRICE]")
        seen[asset]["ratio"] = number / 100.0 if sign else number
    return rows


def parse_collateral_shocks(values: Sequence[str]) -> dict[str, float]:
    """``--collateral-shock ASSET=PCT`` (``-35`` or ``-35%``) -> {ASSET: percent}."""
    out: dict[str, float] = {}
    for raw in values:
        asset, sep, value = raw.partition("=")
        asset = asset.strip().upper()
        try:
            if not (sep and asset):
                raise ValueError(raw)
            pct = split_percent(value)[0]
        except ValueError:
            raise InputError("--collateral-shock", f"{raw!r} is not ASSET=PCT (e.g. USDE=-35 or USDE=-35%)") from None
        if not (math.isfinite(pct) and pct > -100.0):
            raise InputError("--collateral-shock", f"{raw!r}: the move must be above -100 %")
        if asset in out:
            raise InputError("--collateral-shock", f"{asset} is given twice")
        out[asset] = pct
    return out


def build_assets(
    rows: Sequence[Mapping[str, Any]], specs: Sequence[PositionSpec], venue: Venue, where: Where = file_field
) -> list[CollateralAsset]:
    """The collateral rows as core assets. A row without a price takes the mark of the held
    position whose base it is; one without a valuation takes the venue's cached or bundled table
    (:func:`table_valuation`), else it is refused in one line naming the way out."""
    marks: dict[str, float] = {}
    for spec in specs:
        marks.setdefault(underlying_of(spec), spec.mark_price)
    assets: list[CollateralAsset] = []
    seen: set[str] = set()
    for i, row in enumerate(rows):
        name = str(row["asset"]).strip().upper()
        if name in seen:
            raise InputError(where(i, "asset"), f"{name} is listed twice; give one row per asset")
        seen.add(name)
        price = row.get("price")
        if price is None:
            price = marks.get(name)
            if price is None:
                raise InputError(
                    where(i, "price"),
                    f"{name} has no price and no held position on {name}: give its USD index price "
                    + ('("price": ...)' if where is file_field else f"(--collateral {name}=AMOUNT@PRICE)"),
                )
        tiers = row.get("tiers")
        ratio = row.get("ratio")
        bid, ask = row.get("bid_buffer"), row.get("ask_buffer")
        basis = row.get("tier_basis")
        if basis is not None and not tiers:
            raise InputError(where(i, "tier_basis"), "only with tiers")
        source = ""
        if ratio is None and not tiers and bid is None and ask is None:
            entry, source = table_valuation(venue.name, name)
            if entry is None:
                raise InputError(where(i, "ratio"), _no_table(name, venue.name))
            tiers = entry.get("tiers")
            basis = entry.get("tier_basis", "quantity") if tiers else None
            bid, ask = entry.get("bid_buffer"), entry.get("ask_buffer")
        try:
            assets.append(
                CollateralAsset(
                    name,
                    float(row["amount"]),
                    float(price),
                    ratio=ratio,
                    tiers=tuple(CollateralTier(t["min"], t["max"], t["ratio"]) for t in tiers or ()),
                    tier_basis=basis or "quantity",
                    bid_buffer=bid,
                    ask_buffer=ask,
                    source=source,
                )
            )
        except InputError as exc:  # collateral.BTC.tiers[1].max -> collateral[2].tiers[1].max
            if source:  # the cached table is at fault, not the user's row
                raise InputError(where(i, "ratio"), f"{source}: {exc.field}: {exc.message}") from None
            rest = exc.field.removeprefix(f"collateral.{name}").lstrip(".")
            raise InputError(where(i, rest), exc.message) from None
    return assets


def apply_shocks(assets: Sequence[CollateralAsset], shocks: Mapping[str, float]) -> list[CollateralAsset]:
    """The assets with each shocked asset's price moved (a depeg): ``--collateral-shock``."""
    held = [a.asset for a in assets]
    for name in shocks:
        if name not in held:
            raise InputError("--collateral-shock", f"{name} is not in the collateral list (held: {', '.join(held)})")
    return [shocked(a, shocks[a.asset]) if a.asset in shocks else a for a in assets]


# ----------------------------------------------------------------------------- assessment


class MultiAccount:
    """A multi-collateral account assessed once: the core's account and each position's record
    figures (the engine's at the mark, with the collateral solve's liquidation price)."""

    __slots__ = ("assets", "positions", "risk", "specs", "venue")

    def __init__(
        self, venue: Venue, specs: Sequence[PositionSpec], assets: Sequence[CollateralAsset], mode: AccountMode
    ) -> None:
        from liqwatch.core.engine import position_figures

        risk = assess_collateral(venue, specs, assets, mode)
        self.specs = list(specs)
        price = {a.asset: a.price for a in assets}
        eff = risk.effective_equity
        balances = [eff / price[p.settle] for p in risk.positions]  # the account's equity in each settle asset
        lps = [p.liquidation_price for p in risk.positions]
        positions = position_figures(venue, specs, lps, balances, risk.margin_ratio)
        for p, cp in zip(positions, risk.positions, strict=True):
            p.margin_ratio = risk.margin_ratio  # the account's: every cross position liquidates with it
            same = risk.native_name is not None and risk.native_name == venue.native_margin_ratio_name
            p.margin_ratio_native = risk.margin_ratio_native if same else None
            p.distance_to_liquidation = cp.distance_to_liquidation
            p.status = risk.status
            p.liquidation_price = cp.liquidation_price
        self.venue = venue
        self.assets = list(assets)
        self.risk = risk
        self.positions = positions


def account_record(risk: CollateralRisk) -> dict[str, Any]:
    """The JSON ``account`` of a multi-collateral account (money in USD)."""
    return {
        "mode": risk.mode,
        "effective_equity": risk.effective_equity,
        "equity_usd": risk.equity_usd,
        "haircut_usd": risk.equity_usd - risk.effective_equity,
        "maintenance_margin": risk.maintenance_margin_usd,
        "margin_ratio": _num(risk.margin_ratio),
        "margin_ratio_native": _num(risk.margin_ratio_native),
        "margin_ratio_native_name": risk.native_name,
        "liquidation_trigger": risk.trigger,
        "status": risk.status,
        "currency": "USD",
        "collateral": [
            {
                "asset": v.asset,
                "amount": v.amount,
                "price": v.price,
                "value_usd": v.value_usd,
                "collateral_value_usd": v.collateral_value_usd,
                "ratio": _num(v.ratio),
            }
            for v in risk.assets
        ],
    }


def _num(x: float | None) -> float | None:
    return x if x is None or math.isfinite(x) else None


FUNDING_NOTE = "the funding drift of a multi-collateral account is not computed yet"
BANKRUPTCY_NOTE = (
    "no venue defines a bankruptcy price for a position of a multi-assets pool: the account is liquidated "
    "as a whole (every cross position at once) when its margin ratio reaches 100 %, and no venue publishes "
    "a price at which the pool's effective equity counts as zero for one position"
)
LOSS_NOTE = (
    "a multi-collateral account is liquidated as a whole (every cross position at once): the loss "
    "per position is not modelled"
)


def document(account: MultiAccount, funding_given: bool = False) -> dict[str, Any]:
    """The whole ``calc --json`` document: the single account's top-level keys and every position
    key, with the multi-collateral ``account``."""
    from liqwatch.records import position_record

    venue = account.venue
    positions = []
    for p, cp in zip(account.positions, account.risk.positions, strict=True):
        doc = position_record(p, venue)
        doc["liquidation_loss"] = None
        doc["liquidation_loss_unavailable"] = LOSS_NOTE
        doc["funding"] = None
        doc["funding_unavailable"] = FUNDING_NOTE if funding_given else None
        doc["liquidation_price_below"] = _num(cp.liquidation_price_below)
        doc["liquidation_price_above"] = _num(cp.liquidation_price_above)
        doc["collateral_co_moving"] = cp.co_moving
        doc["maintenance_requirement_usd"] = cp.requirement_usd
        doc["bankruptcy_price_unavailable"] = BANKRUPTCY_NOTE
        positions.append(doc)
    record = account_record(account.risk)
    tables = tables_record(account.assets)
    if tables:
        record["collateral_tables"] = tables
    return {
        "exchange": venue.name,
        "formula": venue.family,
        "positions": positions,
        "account": record,
    }


def tables_record(assets: Sequence[CollateralAsset]) -> list[dict[str, Any]]:
    """Per asset valued from a cached or bundled venue table (not given in the file or flags): where from."""
    return [{"asset": a.asset, "source": a.source} for a in assets if a.source]


# ----------------------------------------------------------------------------- one position's what-ifs


class MultiChange:
    """Before / after of a what-if on one position (``index``) of a multi-collateral account, in
    the shape of :class:`liqwatch.core.whatif.Change` (``allowed``, ``reason``, ``notes``) and the
    scenario's own figures (``fields``: the JSON keys single mode gives)."""

    __slots__ = ("after", "allowed", "before", "fields", "index", "kind", "notes", "reason")

    def __init__(self, kind: str, index: int, before: MultiAccount, after: MultiAccount) -> None:
        self.kind = kind
        self.index = index
        self.before = before
        self.after = after
        self.allowed = True
        self.reason: str | None = None
        self.notes: list[str] = []
        self.fields: dict[str, Any] = {}

    def record(self) -> dict[str, Any]:
        """The ``what_if`` fields after ``scenario`` and ``position``: ``before``, ``after``,
        ``allowed``, ``reason``, ``notes`` and the scenario's own keys."""
        return {
            "before": document(self.before),
            "after": document(self.after),
            "allowed": self.allowed,
            "reason": self.reason,
            "notes": self.notes,
            **self.fields,
        }


CROSS_NOTE = "multi-assets cross: no margin is posted; the collateral pool backs the larger position"
NO_LEVERAGE_NOTE = "no leverage given: the bracket's max leverage is not checked"


def _index(specs: Sequence[PositionSpec], index: int) -> PositionSpec:
    if not 0 <= index < len(specs):
        raise InputError("position", f"no position #{index} (the account has {len(specs)})")
    return specs[index]


def add_size_change(
    venue: Venue,
    specs: Sequence[PositionSpec],
    assets: Sequence[CollateralAsset],
    mode: AccountMode,
    index: int,
    size: float,
    price: float | None = None,
    *,
    before: MultiAccount | None = None,
    with_max: bool = True,
) -> MultiChange:
    """``--add-size`` on a multi-collateral account: ``size`` more at ``price`` (default mark),
    the entry volume-weighted, no margin posted (the pool backs it), the account re-assessed with
    the collateral solve; allowed within the bracket's max leverage (the single-mode rules of
    :mod:`liqwatch.core.whatif`), and the largest size the same path accepts."""
    from liqwatch.core import whatif as wi
    from liqwatch.core.engine import bracket_value, max_leverage_for

    spec = _index(specs, index)
    if not (size >= 0 and math.isfinite(size)):
        raise InputError("add_size", f"must be a finite number >= 0, got {typed(size)}")
    at = spec.mark_price if price is None else price
    if not (at > 0 and math.isfinite(at)):
        raise InputError("add_price", f"must be a finite number > 0, got {typed(at)}")
    if before is None:
        before = MultiAccount(venue, specs, assets, mode)
    new_entry, _ = wi._averaged(spec, size, at)
    new_spec = wi.resized(spec, spec.size + size, entry_price=new_entry) if size else spec
    new_specs = list(specs)
    new_specs[index] = new_spec
    after = MultiAccount(venue, new_specs, assets, mode) if size else before
    change = MultiChange("add_size", index, before, after)
    change.notes.append(CROSS_NOTE)
    change.fields = {
        "added_size": size,
        "price": at,
        "new_entry_price": new_entry,
        "margin_added": 0.0,
        "max_add_size": None,
    }
    lev = wi._leverage_of(spec)
    if lev is None:
        change.notes.append(NO_LEVERAGE_NOTE)
        return change
    if with_max:
        change.fields["max_add_size"] = _num(largest_multi_add(venue, specs, assets, mode, index, lev, at, before))
    limit = max_leverage_for(new_spec)
    if not wi._leverage_allowed(lev, limit):
        change.allowed = False
        change.reason = (
            f"{plain(lev)}x is above the {plain(limit)}x maximum of the bracket the position would reach "
            f"(tier {new_spec.tiers.lookup(bracket_value(new_spec, new_spec.entry_price)).index})"
        )  # the bracket max_leverage_for reads: at entry, as the venue checks an order
    return change


def largest_multi_add(
    venue: Venue,
    specs: Sequence[PositionSpec],
    assets: Sequence[CollateralAsset],
    mode: AccountMode,
    index: int,
    leverage: float,
    price: float,
    before: MultiAccount | None = None,
) -> float | None:
    """The largest size the add-size path accepts at ``price`` (None: no bracket limits it):
    :func:`liqwatch.core.whatif.max_allowed_add`, re-checked (and bisected down) through
    :func:`add_size_change` as single mode does (:func:`liqwatch.core.whatif.largest_accepted`)."""
    from liqwatch.core import whatif as wi

    def accepted(x: float) -> bool:
        try:
            return add_size_change(venue, specs, assets, mode, index, x, price, before=before, with_max=False).allowed
        except InputError:
            return False

    return wi.largest_accepted(wi.max_allowed_add(specs[index], leverage, price), accepted)


def set_leverage_change(
    venue: Venue,
    specs: Sequence[PositionSpec],
    assets: Sequence[CollateralAsset],
    mode: AccountMode,
    index: int,
    leverage: float,
) -> MultiChange:
    """``--set-leverage`` on a multi-collateral (cross) account: the leverage sets the initial
    margin held against the pool and the largest position the bracket allows; the maintenance
    margin and the liquidation price come from the collateral solve and do not move."""
    from liqwatch.core import whatif as wi
    from liqwatch.core.engine import max_leverage_for

    spec = _index(specs, index)
    if not (leverage > 0 and math.isfinite(leverage)):
        raise InputError("set_leverage", f"must be a finite number > 0, got {typed(leverage)}")
    before = MultiAccount(venue, specs, assets, mode)
    new_specs = list(specs)
    new_specs[index] = replace(spec, leverage=leverage)
    after = MultiAccount(venue, new_specs, assets, mode)
    change = MultiChange("set_leverage", index, before, after)
    cap = max_leverage_for(spec)
    if not wi._leverage_allowed(leverage, cap):
        change.allowed = False
        change.reason = (
            f"{plain(leverage)}x is above the {plain(cap)}x maximum of the position's bracket "
            f"(tier {before.positions[index].tier.index})"
        )
    old_im = before.positions[index].initial_margin or 0.0
    new_im = after.positions[index].initial_margin or 0.0
    max_value = wi.max_value_for_leverage(spec, leverage)
    change.fields = {
        "new_leverage": leverage,
        "margin_change": new_im - old_im,
        "releasable_margin": 0.0,
        "convention": (
            "multi-assets cross: the liquidation price does not depend on leverage; leverage sets the initial "
            "margin held against the collateral pool and the largest position the bracket allows"
        ),
        "liquidation_price_moves": after.positions[index].liquidation_price
        != before.positions[index].liquidation_price,
        "max_position_value": _num(max_value),
        "max_position_value_inclusive": None if max_value is None else not spec.tiers.floor_inclusive,
    }
    return change


def target_distance_change(
    venue: Venue,
    specs: Sequence[PositionSpec],
    assets: Sequence[CollateralAsset],
    mode: AccountMode,
    index: int,
    pct: float,
) -> MultiChange:
    """``--target-distance PCT``: the largest size that can be added at the mark before the
    position's liquidation price (the account's, with co-moving collateral; either side of the
    mark) comes within PCT percent of the mark, searched as single mode searches
    (:func:`liqwatch.core.whatif.search_add`) within the largest add the add-size path accepts;
    the answer is that path's scenario of the size found."""
    from liqwatch.core import whatif as wi

    spec = _index(specs, index)
    distance = pct / 100.0
    if not (distance > 0 and math.isfinite(distance)):
        raise InputError("target_distance", f"must be > 0, got {typed(pct)}")
    before = MultiAccount(venue, specs, assets, mode)
    mark = spec.mark_price

    def dist(size: float) -> float:
        if size == 0.0:
            lp = before.positions[index].liquidation_price
        else:
            try:
                change = add_size_change(venue, specs, assets, mode, index, size, before=before, with_max=False)
            except InputError:
                return -math.inf  # past the table's end: not a size the add-size path takes
            lp = change.after.positions[index].liquidation_price
        return math.inf if lp is None else abs(mark - lp) / mark

    lev = wi._leverage_of(spec)
    cap = None if lev is None else largest_multi_add(venue, specs, assets, mode, index, lev, mark, before)
    size, limit = wi.search_add(dist, distance, cap, spec.size)
    change = add_size_change(venue, specs, assets, mode, index, size, before=before, with_max=False)
    change.fields = {
        "target_distance": distance,
        "max_add_size": size,
        "limited_by": limit,
        "price": change.fields["price"],
        "new_entry_price": change.fields["new_entry_price"],
    }
    return change


PARTIAL_NOTE = (
    ". Multi-assets: modelled on the whole pool, at the position's liquidation price (every other mark "
    "held, the collateral on its base moved with it); each step's closed part realises its PnL and pays "
    "the liquidation fee in the settle asset, and the account margin ratio is recomputed."
)


def partial_preview(
    venue: Venue,
    specs: Sequence[PositionSpec],
    assets: Sequence[CollateralAsset],
    mode: AccountMode,
    index: int,
) -> wi.PartialPreview:
    """What the venue's step-wise rule closes of position ``index`` at its liquidation price, until
    the account's margin ratio is back under 100 % or the position is closed. A model of the
    published rule, as in single mode (:func:`liqwatch.core.whatif.partial_liquidation`)."""
    from liqwatch.core import whatif as wi
    from liqwatch.core.collateral import moved, settle_asset

    spec = _index(specs, index)
    model, description = venue.partial_liquidation_rule(spec.margin_mode)
    before = MultiAccount(venue, specs, assets, mode)
    lp = before.positions[index].liquidation_price
    preview = wi.PartialPreview(model, description + PARTIAL_NOTE, lp, [], False)
    if lp is None:
        return preview
    current, pool = moved(specs, assets, spec.symbol, lp)
    settle = settle_asset(spec, venue)
    size = spec.size
    for _ in range(64):
        at = MultiAccount(venue, current, pool, mode)
        p = at.positions[index]
        target = venue.partial_target_size(p, lp) if model != "full" else 0.0
        if not 0 < target < size:  # the rule does not reduce this position: it is closed
            preview.steps.append(wi.PartialStep(size, 0.0, None, None))
            preview.fully_liquidated = True
            return preview
        cur = current[index]
        closed = size - target
        realised = cur.sign * closed * (lp - cur.entry_price) - closed * lp * cur.fee_rate
        pool = [replace(a, amount=a.amount + realised) if a.asset == settle else a for a in pool]
        current = list(current)
        current[index] = wi.resized(cur, target)
        after = MultiAccount(venue, current, pool, mode)
        ratio = _num(after.risk.margin_ratio)
        preview.steps.append(wi.PartialStep(closed, target, after.positions[index].tier.index, ratio))
        size = target
        if ratio is not None and ratio < 1.0:
            return preview
    return preview


# ----------------------------------------------------------------------------- moves


def moved_account(
    specs: Sequence[PositionSpec],
    assets: Sequence[CollateralAsset],
    move: float,
    betas: Mapping[str, float] | None = None,
    symbols: set[str] | None = None,
) -> tuple[list[PositionSpec], list[CollateralAsset]]:
    """The account with every mark (``symbols``' only, when given) moved by ``move`` (a fraction,
    times the symbol's beta) and each collateral asset that is a moved position's base moved with
    its mark; every other price held."""
    factors: dict[str, float] = {}
    out: list[PositionSpec] = []
    for spec in specs:
        if symbols is not None and spec.symbol not in symbols:
            out.append(spec)
            continue
        factor = 1.0 + move * (betas.get(spec.symbol, 1.0) if betas else 1.0)
        if not factor > 0.0:
            raise InputError("shock", f"{typed(move * 100)} % moves {spec.symbol}'s mark to or below zero")
        factors.setdefault(underlying_of(spec), factor)
        out.append(replace(spec, mark_price=spec.mark_price * factor))
    return out, [replace(a, price=a.price * factors[a.asset]) if a.asset in factors else a for a in assets]


MOVE_LIMIT_DOWN = 1.0
"""``--target-margin-ratio``'s common move is searched down to every mark at zero (exclusive) ..."""
MOVE_LIMIT_UP = 10.0
"""... and up to +1,000 %, as the single-account solver."""


def target_document(
    venue: Venue,
    specs: Sequence[PositionSpec],
    assets: Sequence[CollateralAsset],
    mode: AccountMode,
    ratio: float,
    index: int | None,
) -> dict[str, Any]:
    """``--target-margin-ratio R`` on a multi-collateral account: each position's mark at which the
    account's ratio reaches R (its symbol moving, with the collateral on its base; exact, the
    liquidation solve at trigger / R), and the common move of every mark (with co-moving
    collateral) at which it does, exactly (:func:`liqwatch.core.collateral_moves.common_move`)."""
    if not (math.isfinite(ratio) and 0.0 < ratio <= 1.0):
        raise InputError(
            "target_margin_ratio",
            f"{typed(ratio)}: give a margin ratio above 0 and up to 1 (100 % = liquidation), e.g. 0.8 or 80%",
        )
    from liqwatch.core.collateral import target_marks
    from liqwatch.scenarios import target_record

    marks = target_marks(venue, specs, assets, ratio, mode)
    chosen = [index] if index is not None else list(range(len(specs)))
    targets = []
    for i in chosen:
        targets.append(target_record(i, specs[i], marks[i]))

    from liqwatch.core.collateral_moves import NonLinearMove, common_move

    def move(down: bool) -> float | None:
        limit = MOVE_LIMIT_DOWN if down else MOVE_LIMIT_UP
        return common_move(venue, specs, assets, ratio, mode, down=down, limit=limit, field="target_margin_ratio")

    unavailable: dict[str, str] = {}
    try:
        down, up = move(True), move(False)
    except NonLinearMove as exc:  # the targets per position stand; the common move is said not solved
        down = up = None
        unavailable["account_move_unavailable"] = exc.message.removesuffix("; move the other markets only (--symbol)")
    return {
        "target_margin_ratio": ratio,
        "targets": targets,
        "account_scope": "cross",
        "account_move_down": down,
        "account_move_up": up,
        **unavailable,
    }


# ----------------------------------------------------------------------------- --shock


def shock_document(
    venue: Venue,
    specs: Sequence[PositionSpec],
    assets: Sequence[CollateralAsset],
    mode: AccountMode,
    moves: Sequence[float],
    betas: Mapping[str, float],
    symbols: set[str] | None,
) -> tuple[dict[str, Any], list[tuple[float, MultiAccount | None]], dict[bool, float | None]]:
    """``--shock`` on a multi-collateral account: every mark (or ``symbols``' only) moved by each
    move (a fraction, times the symbol's beta), and the collateral asset that is a moved position's
    base moved with its mark. The account liquidates as a whole when its margin ratio reaches 100 %
    (the move solved exactly, :func:`liqwatch.core.collateral_moves.common_move`); past that move
    a step has no account and no positions (what is left depends on the venue's fills). Returns the
    ``what_if`` document, the steps and the liquidating move on each side (True: down)."""
    held = list(dict.fromkeys(s.symbol for s in specs))
    for symbol in betas:
        if symbol not in held:
            raise InputError("beta", f"{symbol} is not held: the account holds {', '.join(held[:5])}")
        if symbols is not None and symbol not in symbols:
            only = ", ".join(sorted(symbols))
            raise InputError("beta", f"{symbol} does not move: with --symbol only {only} is shocked")

    def at(move: float) -> tuple[list[PositionSpec], list[CollateralAsset]]:
        return moved_account(specs, assets, move, betas, symbols)

    from liqwatch.core.collateral_moves import common_move

    trigger: dict[bool, float | None] = {True: None, False: None}
    for down in (True, False):
        furthest = max((abs(m) for m in moves if (m < 0.0 if down else m > 0.0)), default=0.0)
        trigger[down] = common_move(
            venue, specs, assets, 1.0, mode, down=down, limit=furthest, betas=betas or None, symbols=symbols
        )
    steps: list[tuple[float, MultiAccount | None]] = []
    docs = []
    all_indices = list(range(len(specs)))
    for move in moves:
        hit = trigger[move < 0.0] if move != 0.0 else (0.0 if trigger[True] == 0.0 else None)
        gone = hit is not None and abs(hit) <= abs(move)
        if gone:
            steps.append((move, None))
            docs.append({"move": move, "account": None, "liquidated": all_indices, "positions": []})
            continue
        moved_specs, moved_assets = at(move)
        account = MultiAccount(venue, moved_specs, moved_assets, mode)
        steps.append((move, account))
        doc = document(account)
        docs.append({"move": move, "account": doc["account"], "liquidated": [], "positions": doc["positions"]})
    extreme = max(range(len(moves)), key=lambda k: abs(moves[k])) if moves else None
    after: dict[str, Any] | None = None
    if extreme is not None:
        account_after = steps[extreme][1]
        after = (
            document(account_after)
            if account_after is not None
            else {"exchange": venue.name, "formula": venue.family, "positions": [], "account": None}
        )
    names = [s.symbol for s in specs]
    hits = sorted((hit for hit in trigger.values() if hit is not None and hit != 0.0), key=abs)
    order = [{"move": hit, "positions": all_indices, "symbols": names, "scope": "cross account"} for hit in hits]
    what = {"after": after, "moves": list(moves), "betas": dict(betas), "steps": docs, "order": order}
    return what, steps, trigger


# ----------------------------------------------------------------------------- human


_TABLE_ONLY = AccountRisk(0.0, 0.0, 0.0, 0.0, 0.0, None, 0.0, 0.0, None, None)
"""The account slot of a ``PortfolioRisk`` built only to hand positions to the table and the
ladder, which read ``positions`` alone (a multi-collateral account is not a single pool)."""


def _usd(x: float | None) -> str:
    if x is None or not math.isfinite(x):
        return "—"
    return f"-${-x:,.2f}" if x < 0 else f"${x:,.2f}"


def _amount(x: float) -> str:
    text = f"{x:,.8f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _pct(x: float | None) -> str:
    return "—" if x is None or not math.isfinite(x) else f"{x * 100:.2f}%"


def account_lines(risk: CollateralRisk) -> list[str]:
    """The account block line: mode, effective equity, haircut, maintenance, margin ratio."""
    line = (
        f"Account ({risk.mode}): effective equity {_usd(risk.effective_equity)} · "
        f"haircut {_usd(risk.equity_usd - risk.effective_equity)} · "
        f"maintenance {_usd(risk.maintenance_margin_usd)} · margin ratio {_pct(risk.margin_ratio)}"
    )
    if risk.native_name and risk.margin_ratio_native is not None:
        line += f" ({risk.native_name} {risk.margin_ratio_native * 100:.2f}%)"
    if risk.status != "ok":
        line += f" {risk.status.upper()}"
    return [line]


def collateral_rows(risk: CollateralRisk) -> tuple[list[str], list[list[str]]]:
    """(headers, rows) of the collateral table; an ``Equity`` column (amount + the PnL settled in
    the asset, what its value is of) where some asset's differs from its amount."""
    with_equity = any(v.equity != v.amount for v in risk.assets)
    headers = ["Asset", "Amount", *(["Equity"] if with_equity else []), "Price", "Ratio", "Value", "Collateral value"]
    rows = [
        [
            v.asset,
            _amount(v.amount),
            *([_amount(v.equity)] if with_equity else []),
            f"{v.price:,.8g}",
            _pct(v.ratio),
            _usd(v.value_usd),
            _usd(v.collateral_value_usd),
        ]
        for v in risk.assets
    ]
    return headers, rows


def print_account(account: MultiAccount, title_suffix: str = "", stream: Any = None) -> None:
    """The positions (one: its detail card; several: the table), the account block and the
    collateral table."""
    from liqwatch.core.model import PortfolioRisk
    from liqwatch.output import _detail_rows, _positions_table, _Term, render_table, risk_style, venue_title

    venue = account.venue
    term = _Term(stream if stream is not None else sys.stdout)
    positions = account.positions
    title = (
        f"{venue_title(venue, [p.spec for p in positions])} {account.risk.mode} account — liquidation risk "
        f"on the mark price{title_suffix}"
    )
    if len(positions) == 1:
        p = positions[0]
        rows = [
            [k, "— (no venue defines one for a multi-assets pool)" if k == "Bankruptcy price" else v]
            for k, v in _detail_rows(p, venue)
            if k != "Margin balance"
        ]
        render_table(
            term,
            headers=None,
            rows=rows,
            right=[False, False],
            styles=[risk_style(p.margin_ratio, p.status)] * len(rows),
            title=title,
            wrap=True,
        )
    else:
        _positions_table(term, PortfolioRisk(venue.name, positions, _TABLE_ONLY), venue, title)
    for line in account_lines(account.risk):
        for part in textwrap.wrap(line, term.width):
            term.line(part)
    headers, rows = collateral_rows(account.risk)
    render_table(
        term,
        headers=headers,
        rows=rows,
        right=[h != "Asset" for h in headers],
        styles=[None] * len(rows),
    )
    for table in tables_record(account.assets):
        for part in textwrap.wrap(f"{table['asset']} valued from the {table['source']}", term.width):
            term.line(part, "dim")
    note = (
        "Margin ratio = maintenance margin (USD) ÷ effective equity (collateral after haircuts); 100% = "
        "liquidation of every cross position. A liquidation price moves the position's mark and the "
        "collateral on the same base with it, every other price held."
    )
    for part in textwrap.wrap(note, term.width):
        term.line(part, "dim")


def print_shock(
    venue: Venue,
    before: MultiAccount,
    steps: list[tuple[float, MultiAccount | None]],
    trigger: dict[bool, float | None],
) -> None:
    from liqwatch.output import _Term, render_table, risk_style

    term = _Term(sys.stdout)
    now = before.risk
    rows = [["now", _usd(now.effective_equity), _usd(now.maintenance_margin_usd), _pct(now.margin_ratio), now.status]]
    styles: list[str | None] = [risk_style(now.margin_ratio, now.status)]
    for move, account in steps:
        label = f"{move * 100:+g}%"
        if account is None:
            rows.append([label, "—", "—", "—", "liquidated"])
            styles.append(risk_style(None, "bankrupt"))
            continue
        r = account.risk
        rows.append([label, _usd(r.effective_equity), _usd(r.maintenance_margin_usd), _pct(r.margin_ratio), r.status])
        styles.append(risk_style(r.margin_ratio, r.status))
    render_table(
        term,
        headers=["Move", "Effective equity", "Maintenance", "Margin ratio", "Status"],
        rows=rows,
        right=[True, True, True, True, False],
        styles=styles,
        title=f"What if every mark moves ({before.risk.mode} account: collateral on a position's base moves with it)",
    )
    for down in (True, False):
        hit = trigger[down]
        if hit is not None:
            term.line(f"The whole account liquidates at a move of {hit * 100:+.4g}% (margin ratio 100%).")


def print_collateral_shock(before: MultiAccount, after: MultiAccount, shocks: Mapping[str, float]) -> None:
    moves = ", ".join(f"{name} {pct:+g}%" for name, pct in shocks.items())
    print_account(after, f" — what if {moves}")
    b, a = before.risk, after.risk
    print(
        f"Margin ratio {_pct(b.margin_ratio)} → {_pct(a.margin_ratio)}; effective equity "
        f"{_usd(b.effective_equity)} → {_usd(a.effective_equity)}"
    )


__all__ = [
    "NO_TABLE",
    "PORTFOLIO_REFUSAL",
    "MultiAccount",
    "account_record",
    "apply_shocks",
    "build_assets",
    "document",
    "parse_collateral_flags",
    "parse_collateral_shocks",
    "print_account",
    "shock_document",
]
