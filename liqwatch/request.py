"""Turning what a user asked for (flags or a portfolio file) into the core's PositionSpec.

Both input paths end here, so defaults (isolated margin = size x entry / leverage, mark = entry, the
venue's fee rate) and the domain checks are applied once. pydantic is not imported here: the flag
path of ``liqwatch calc`` stays as light as ``import pydantic`` itself.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from liqwatch.core.engine import Wallet, check_position, entry_value, max_leverage_for
from liqwatch.core.errors import InputError
from liqwatch.core.model import MarginMode, PositionSide, PositionSpec, Side
from liqwatch.core.numfmt import plain, typed
from liqwatch.core.tiers import TierTable
from liqwatch.core.venues import Venue
from liqwatch.data.contracts import INVERSE, LINEAR_CONTRACT_SIZE
from liqwatch.markets import (
    Market,
    Sources,
    contract_size_for,
    find_market,
    resolve_table,
    table_from_rows,
)

Rows = Sequence[Mapping[str, Any]]

_UNIT_CONTRACTS = frozenset(name for name, size in LINEAR_CONTRACT_SIZE.items() if size == 1.0)
"""Venues whose linear contract is one base unit: a size is its own number of contracts."""


def _bracket_value(market: Market | None, size: float, mark: float, inverse: bool) -> float:
    """The value an override's bracket is looked up by: notional at the mark (linear), the value in
    coin Q / mark (coin-margined, notional tables) or the USD face value (coin-margined, tables in
    contracts, loaded as USD)."""
    if not inverse:
        return size * mark
    if market is not None and market.table.basis == "quantity":
        return size
    return size / mark


@dataclass(slots=True)
class PositionRequest:
    symbol: str
    side: Side
    size: float | None
    """Base units (linear) or the USD face value (coin-margined); or give ``contracts``."""
    entry_price: float
    leverage: float | None = None
    margin_mode: MarginMode = "isolated"
    position_side: PositionSide = "both"
    isolated_margin: float | None = None
    mark_price: float | None = None
    mmr: float | None = None
    maint_amount: float | None = None
    max_leverage: float | None = None
    fee_rate: float | None = None
    adl_lights: int | None = None
    tiers: Rows | None = field(default=None)
    exchange_liquidation_price: float | None = None
    contracts: float | None = None
    """The size in contracts (size = contracts x contract size); instead of ``size``."""
    contract_size: float | None = None
    """Overrides the bundled contract size (base units, or USD for a coin-margined market)."""
    funding_rate: float | None = None
    """The funding rate per payment (issue #13): not part of the spec; calc reads it from here."""
    next_funding_time: int | str | None = None
    """Epoch milliseconds or an ISO 8601 time (UTC when no offset is given)."""


class TableCache:
    """Tables built from per-position tier lists, one per list object. ``load_portfolio`` already
    makes equal lists one shared object (each distinct list is validated once), so a lookup by
    identity is all that is left to do here."""

    __slots__ = ("_tables",)

    def __init__(self) -> None:
        self._tables: dict[int, tuple[Rows, TierTable]] = {}

    def get(self, rows: Rows) -> TierTable | None:
        hit = self._tables.get(id(rows))
        return hit[1] if hit is not None and hit[0] is rows else None

    def put(self, rows: Rows, table: TierTable) -> None:
        self._tables[id(rows)] = (rows, table)  # the rows are held, so their id stays theirs


def _check_numbers(req: PositionRequest, field_prefix: str) -> None:
    for name in (
        "size",
        "entry_price",
        "mark_price",
        "leverage",
        "isolated_margin",
        "max_leverage",
        "contracts",
        "contract_size",
    ):
        value = getattr(req, name)
        if value is not None and not (value > 0 and math.isfinite(value)):
            raise InputError(f"{field_prefix}{name}", f"must be a finite number > 0, got {typed(value)}")
    for name in ("mmr", "maint_amount", "fee_rate"):
        value = getattr(req, name)
        if value is not None and not math.isfinite(value):
            raise InputError(f"{field_prefix}{name}", f"must be a finite number, got {typed(value)}")
    if req.fee_rate is not None and not 0 <= req.fee_rate < 1:
        raise InputError(f"{field_prefix}fee_rate", f"must be in [0, 1), got {typed(req.fee_rate)}")


def check_funding_rate(rate: float | None, field_name: str = "funding_rate") -> float | None:
    """A funding rate per payment: a finite number in (-1, 1) (0.0001 = 0.01 %). Raises InputError."""
    if rate is not None and not (math.isfinite(rate) and -1.0 < rate < 1.0):
        raise InputError(field_name, f"must be a finite number in (-1, 1), e.g. 0.0001 for 0.01 %, got {typed(rate)}")
    return rate


def parse_funding_time(value: int | float | str | None, field_name: str = "next_funding_time") -> float | None:
    """Epoch milliseconds (an integer, as the venues' APIs give it) or an ISO 8601 time such as
    2026-12-01T16:00:00Z (UTC when no offset is given) -> seconds since the epoch (what every time
    in liqwatch's JSON is: ``ts``, the market lines' ``next_funding_time``). Raises InputError."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise InputError(field_name, f"must be epoch milliseconds or an ISO 8601 time, got {value!r}")
    if isinstance(value, int | float):
        if not (math.isfinite(value) and value > 0):
            raise InputError(field_name, f"must be epoch milliseconds > 0, got {typed(value)}")
        return value / 1000.0
    text = value.strip()
    if text.isdigit():
        return int(text) / 1000.0
    from datetime import UTC, datetime  # only when a time is given: calc's cold start stays light

    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise InputError(
            field_name, f"must be epoch milliseconds or an ISO 8601 time (2026-12-01T16:00:00Z), got {value!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def build_spec(
    venue: Venue,
    req: PositionRequest,
    user_tables: Mapping[str, TierTable] | None = None,
    field_prefix: str = "",
    table_cache: TableCache | None = None,
    validated: bool = False,
    known: Sources | None = None,
    notes: list[InputError] | None = None,
    *,
    flags: bool = False,
) -> PositionSpec:
    """Resolve symbol, tiers and defaults, then run the core's checks. Raises InputError; an input
    that is used but deserves a word is appended to ``notes`` (when given) as an InputError.

    ``table_cache`` lets identical per-position tier lists build one table. ``validated``: the
    numbers were checked by the portfolio file's schema (finite, > 0, rates in [0, 1)) already.
    ``known``: the bundled and cached tables taken once for many positions (``markets.sources``).
    ``flags``: the request came from calc's flags, which a message names (``--contracts``) where
    it would name a file's field (``contracts``)."""
    if not validated:
        _check_numbers(req, field_prefix)
    try:
        symbol, market = find_market(venue, req.symbol, known, inverse=True)
    except InputError as exc:
        raise InputError(f"{field_prefix}{exc.field}", exc.message) from None
    mark = req.mark_price if req.mark_price is not None else req.entry_price
    # find_market returns a quote-USD symbol only as a coin-margined BASE/USD:BASE market
    inverse = market.inverse if market is not None else "/USD:" in symbol
    size = req.size
    contracts = req.contracts
    contract_size = req.contract_size
    if contracts is None and contract_size is None and not inverse and venue.name in _UNIT_CONTRACTS:
        contract_size = 1.0  # linear, one base unit per contract: the size is its number of contracts
        contracts = size
    else:
        if contract_size is None:
            contract_size = contract_size_for(venue, symbol, market, inverse)
        if contracts is not None:
            if size is not None:
                raise InputError(f"{field_prefix}contracts", "give a size or a number of contracts, not both")
            if contract_size is None:
                unit = "USD" if inverse else symbol.partition("/")[0]
                raise InputError(
                    f"{field_prefix}contract_size",
                    f"no bundled contract size for {symbol} on {venue.name}: give contract_size ({unit} per "
                    f"contract) or the size{' in USD' if inverse else ''}",
                )
            size = contracts * contract_size
        elif size is not None and contract_size is not None:
            contracts = size / contract_size
        if inverse and size is not None and contract_size is not None:
            family = INVERSE.get(venue.name)
            if family is not None and family.whole_contracts:
                _check_whole_contracts(req, symbol, size, contract_size, family.label, field_prefix, flags)
    if size is None:
        raise InputError(f"{field_prefix}size", "required field is missing (or give contracts)")
    position_table: TierTable | None = None
    if req.tiers is not None:
        position_table = table_cache.get(req.tiers) if table_cache is not None else None
        if position_table is None:
            try:
                position_table = table_from_rows(venue, req.tiers, source="portfolio file", origin="portfolio")
            except InputError as exc:
                raise InputError(f"{field_prefix}{exc.field}", exc.message) from None
            if table_cache is not None:
                table_cache.put(req.tiers, position_table)
    if position_table is not None and req.mmr is None and req.maint_amount is None and req.max_leverage is None:
        table = position_table  # resolve_table's answer, without its call (once per position of a file)
    else:
        table = resolve_table(
            venue,
            symbol,
            market,
            position_tiers=position_table,
            user_tables=user_tables,
            mmr=req.mmr,
            maint_amount=req.maint_amount,
            max_leverage=req.max_leverage,
            bracket_value=_bracket_value(market, size, mark, inverse),
            field_prefix=field_prefix,
            percent_sign=flags,  # calc's --mmr reads 0.5%; a file's mmr is a number
        )
    margin = req.isolated_margin
    if req.margin_mode == "isolated" and margin is None:
        if req.leverage is None:
            raise InputError(f"{field_prefix}leverage", "an isolated position needs a leverage or its margin")
        # in the settle currency: Q / (entry x leverage) coins for a coin-margined position
        margin = size / (req.entry_price * req.leverage) if inverse else size * req.entry_price / req.leverage
    spec = PositionSpec(  # positional: this runs once per position of a portfolio file
        symbol,
        req.side,
        size,
        req.entry_price,
        mark,
        table,
        req.margin_mode,
        req.position_side,
        req.leverage,
        margin if req.margin_mode == "isolated" else None,
        venue.default_fee_rate if req.fee_rate is None else req.fee_rate,
        req.max_leverage,
        req.adl_lights,
        req.exchange_liquidation_price,
        market.tick_size if market else None,
        inverse,
        symbol.partition("/")[0].upper() if inverse else None,
        contracts,
        contract_size,
    )
    try:
        check_position(spec, venue)
    except InputError as exc:
        raise InputError(f"{field_prefix}{exc.field}", exc.message) from None
    if req.margin_mode == "isolated" and req.isolated_margin is not None:
        check_margin_leverage(venue, spec, req.leverage, field_prefix, notes)
    return spec


MARGIN_SLACK = 1e-3
"""How far (a fraction) the leverage a given isolated margin implies may exceed the stated one (or
the bracket's maximum) without a word: a margin copied from a venue's screen, rounded to the cent."""

MARGIN_SHORTFALL = 2.0
"""A given isolated margin whose implied leverage is more than this many times the stated one (or
the bracket's maximum) -- less than half the initial margin -- is refused as a contradiction
(``--margin 100`` on a 60,000 position is 600x, not the 20x given). Between the two it is used,
with a warning: venues take fees and funding from isolated margin, so a real position's margin
falls below size x entry / leverage (Hyperliquid's API reports 20.4x margin on a 20x position)."""


def check_margin_leverage(
    venue: Venue,
    spec: PositionSpec,
    leverage: float | None,
    field_prefix: str = "",
    notes: list[InputError] | None = None,
) -> None:
    """An isolated margin that is given (``--margin`` / ``isolated_margin``) is what the maths uses;
    check it against the leverage (the stated one, else the bracket's maximum). More than the
    initial margin (value at entry / leverage) is legitimate -- added margin lowers the effective
    leverage. Less, by more than :data:`MARGIN_SHORTFALL`, is refused (InputError naming the margin
    field); by less than that (fees, funding) it is appended to ``notes`` as a warning."""
    margin = spec.isolated_margin
    if not margin:
        return
    value = entry_value(spec)
    implied = value / margin
    stated = leverage if leverage is not None else max_leverage_for(spec)
    if implied <= stated * (1.0 + MARGIN_SLACK):
        return
    ccy = spec.symbol.partition(":")[2].partition("-")[0] or venue.settle
    what = f"{plain(margin, 10)} {ccy} on a {plain(value, 10)} {ccy} position (at entry) is {plain(implied, 4)}x"
    above = (
        f"above the leverage {plain(stated)}x"
        if leverage is not None
        else f"above the {plain(stated)}x maximum of {spec.symbol}'s bracket on {venue.name}"
    )
    if implied > stated * MARGIN_SHORTFALL:
        least = f"{plain(value / stated, 10)} {ccy}"
        way_out = (
            f"give one of them, or a margin of at least {least} (more is fine: added isolated margin lowers "
            "the leverage)"
            if leverage is not None
            else f"post at least {least}"
        )
        raise InputError(f"{field_prefix}isolated_margin", f"{what}, {above}: {way_out}")
    if notes is not None:
        notes.append(
            InputError(
                f"{field_prefix}isolated_margin",
                f"{what}, {above}: the margin is used (fees and funding are taken from isolated margin)",
            )
        )


def _check_whole_contracts(
    req: PositionRequest, symbol: str, size: float, contract_size: float, label: str, field_prefix: str, flags: bool
) -> None:
    """Refuse a coin-margined size that is not a whole number of contracts on a venue that trades
    none but whole ones (a ``--size`` of 1 on BTCUSD_PERP is 1 USD, a hundredth of a contract, not
    1 BTC): one line naming what the size is in there and the nearest whole counts (numbers as
    they are typed: no thousands separators)."""
    count = size / contract_size
    if is_whole(count):
        return
    size_name, count_name, sep = ("--size", "--contracts", " ") if flags else ("size", "contracts", " = ")
    if req.contracts is not None:
        low, high = math.floor(count), math.ceil(count)
        options = f"{high}" if low < 1 else f"{low} or {high}"
        raise InputError(
            f"{field_prefix}contracts",
            f"no fractional contracts on {label}: give {count_name}{sep}{options}, not {typed(req.contracts)}",
        )
    message = whole_contracts_refusal(
        size,
        contract_size,
        label,
        market=req.symbol.strip(),
        coin=symbol.partition("/")[0],
        price=req.entry_price,  # the size read as coins, at the entry
        size_name=size_name,
        give=f"{size_name}{sep}",
        count_give=f"{count_name}{sep}",
    )
    if message is not None:
        raise InputError(f"{field_prefix}size", message)


def is_whole(count: float) -> bool:
    """Whether ``count`` contracts is a whole number of them (to float noise)."""
    return abs(count - round(count)) <= 1e-9 * max(1.0, count)


def whole_contracts_refusal(
    size: float,
    contract_size: float,
    label: str,
    *,
    market: str,
    coin: str,
    price: float,
    size_name: str,
    give: str,
    count_give: str | None,
    what: str = "position",
) -> str | None:
    """The one-line refusal of a coin-margined ``size`` (USD face value) that is not a whole number
    of ``contract_size`` contracts on a venue that trades none but whole ones (None when it is
    whole): what the size is in on ``market``, and the nearest whole sizes. ``size_name`` is what
    the message calls the size (``--size``), ``give`` what goes before a size to type (``--size``
    and a space), ``count_give`` the same for a count of contracts (None: no such flag, the counts
    are said in words); ``price`` reads a size below one contract as coins."""
    count = size / contract_size
    if is_whole(count):
        return None
    low, high = math.floor(count), math.ceil(count)
    unit = f"in USD (contracts × {typed(contract_size)} USD)"

    def contracts(n: int) -> str:
        return f"{n} contract{'' if n == 1 else 's'}"

    if low < 1:
        wanted = round(size * price / contract_size)
        if wanted >= 1:
            sized = f"{give}{typed(wanted * contract_size)}"
            way = f"for {typed(size)} {coin} of exposure give " + (
                f"{count_give}{wanted} or {sized}" if count_give is not None else f"{sized} ({contracts(wanted)})"
            )
        else:
            smallest = f"{give}{typed(contract_size)}"
            way = f"the smallest {what} is " + (
                f"{count_give}1 ({smallest})" if count_give is not None else f"{smallest} ({contracts(1)})"
            )
        return f"on {market} {size_name} is {unit}: {typed(size)} is below one contract; {way}"
    counts = f"{count_give}{low} or {high}" if count_give is not None else f"{low} or {contracts(high)}"
    return (
        f"on {market} {size_name} is {unit} and there are no fractional contracts on {label}: {typed(size)} is "
        f"{plain(count, 6)} contracts; give {give}{typed(low * contract_size)} or "
        f"{typed(high * contract_size)} ({counts})"
    )


def account_wallet(venue: Venue, specs: Sequence[PositionSpec], wallet: Wallet) -> Wallet:
    """The wallet as the core takes it: the number as given when every position settles in the
    venue's currency, else one amount per settle currency. Raises InputError("wallet_balance")
    for a cross position whose currency has no amount, or one number for several currencies."""
    default = venue.settle
    if not isinstance(wallet, (int, float)):
        for i, spec in enumerate(specs):
            ccy = spec.settle or default
            if spec.margin_mode == "cross" and ccy not in wallet:
                raise InputError(
                    "wallet_balance",
                    f"no {ccy} amount for the cross position positions[{i}] ({spec.symbol}): add {ccy} = <amount>",
                )
        return wallet
    settles = {spec.settle for spec in specs}
    if settles in ({None}, {default}):
        return wallet
    cross = sorted({spec.settle or default for spec in specs if spec.margin_mode == "cross"})
    if len(cross) > 1:
        example = ", ".join(f"{ccy} = ..." for ccy in cross)
        raise InputError(
            "wallet_balance",
            f"one number is one settle currency, but the cross positions settle in {' and '.join(cross)}: "
            f"give one amount per currency, e.g. {{{example}}}",
        )
    held = sorted({spec.settle or default for spec in specs})
    ccy = cross[0] if cross else held[0] if len(held) == 1 else default
    return {ccy: float(wallet)}
