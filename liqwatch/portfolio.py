"""Portfolio and tier files (JSON or TOML), validated with pydantic at the boundary.

Portfolio file::

    exchange = "binance"          # binance, bybit, okx, bitget, gate, hyperliquid
    wallet_balance = 10000        # cross collateral in the settle currency (default 0)

    [[positions]]
    symbol = "BTC/USDT:USDT"      # or the venue's native id, e.g. BTCUSDT
    side = "long"
    size = 0.5                    # base units, > 0
    entry_price = 60000
    leverage = 10                 # optional; see the README for every optional key

Tier file (``--tiers``): ``{"tiers": {"BTC/USDT:USDT": [{"min_notional": 0, "max_notional": 50000,
"mmr": 0.004, "max_leverage": 125, "maint_amount": 0}, ...]}}``.
"""

from __future__ import annotations

import itertools
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from liqwatch.core.errors import InputError
from liqwatch.core.tiers import TierTable
from liqwatch.core.venues import VENUES, Venue, get_venue
from liqwatch.markets import find_market, table_from_rows
from liqwatch.request import PositionRequest

PositiveFloat = Annotated[float, Field(gt=0, allow_inf_nan=False)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, defer_build=True)


class TierRow(_Strict):
    min_notional: Annotated[float, Field(ge=0, allow_inf_nan=False)] = 0.0
    max_notional: PositiveFloat | None = None
    mmr: Annotated[float, Field(ge=0, lt=1)] | None = None
    max_leverage: PositiveFloat
    maint_amount: FiniteFloat | None = None


def _check_rows(rows: list[TierRow] | None) -> list[TierRow] | None:
    if rows is None:
        return None
    if not rows:
        raise ValueError("a tier table needs at least one tier")
    ordered = sorted(rows, key=lambda r: r.min_notional)
    for low, high in itertools.pairwise(ordered):
        if low.max_notional is not None and low.max_notional > high.min_notional:
            raise ValueError("tiers overlap: each max_notional must be <= the next min_notional")
    for row in ordered:
        if row.max_notional is not None and row.max_notional <= row.min_notional:
            raise ValueError("max_notional must be greater than min_notional")
    return rows


class PositionIn(_Strict):
    symbol: Annotated[str, Field(min_length=1)]
    side: Literal["long", "short"]
    size: PositiveFloat
    entry_price: PositiveFloat
    leverage: PositiveFloat | None = None
    margin_mode: Literal["isolated", "cross"] = "isolated"
    position_side: Literal["both", "long", "short"] = "both"
    isolated_margin: PositiveFloat | None = None
    mark_price: PositiveFloat | None = None
    mmr: Annotated[float, Field(ge=0, lt=1)] | None = None
    maint_amount: FiniteFloat | None = None
    max_leverage: PositiveFloat | None = None
    fee_rate: Annotated[float, Field(ge=0, lt=1)] | None = None
    adl_lights: Annotated[int, Field(ge=0, le=5)] | None = None
    tiers: list[TierRow] | None = None

    _tiers = field_validator("tiers")(_check_rows)

    def request(self) -> PositionRequest:
        data = self.model_dump(exclude={"tiers"})
        rows = [row.model_dump() for row in self.tiers] if self.tiers is not None else None
        return PositionRequest(**data, tiers=rows)


class PortfolioIn(_Strict):
    exchange: str
    wallet_balance: FiniteFloat = 0.0
    positions: Annotated[list[PositionIn], Field(min_length=1)]

    @field_validator("exchange")
    @classmethod
    def _known_exchange(cls, value: str) -> str:
        if value.lower() not in VENUES:
            raise ValueError(f"unknown exchange {value!r} (one of: {', '.join(VENUES)})")
        return value.lower()


class TiersFileIn(_Strict):
    tiers: dict[str, list[TierRow]]

    @field_validator("tiers")
    @classmethod
    def _rows(cls, value: dict[str, list[TierRow]]) -> dict[str, list[TierRow]]:
        for rows in value.values():
            _check_rows(rows)
        return value


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.startswith(("function-", "constrained-")):
            out += f".{part}" if out else part
    return out or "file"


def _one_line(exc: ValidationError, prefix: str = "") -> InputError:
    err = exc.errors(include_url=False)[0]
    loc = _location(tuple(err["loc"]))
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "missing":
        msg = "required field is missing"
    elif err["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling)"
    elif "input" in err and err["type"] not in ("model_type",):
        shown = repr(err["input"])
        if len(shown) <= 40:
            msg = f"{msg} (got {shown})"
    return InputError(f"{prefix}{loc}", msg)


def read_document(path: Path) -> dict[str, Any]:
    """Parse a JSON or TOML file (by extension; content sniffed when the extension is neither)."""
    name = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(name, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(name, f"cannot read file: {exc}") from None
    suffix = path.suffix.lower()
    as_json = suffix == ".json" or (suffix != ".toml" and text.lstrip().startswith(("{", "[")))
    try:
        data = json.loads(text) if as_json else tomllib.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(name, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(name, f"not valid TOML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(name, "the top level must be an object/table")
    return data


def load_portfolio(path: Path) -> PortfolioIn:
    data = read_document(path)
    try:
        return PortfolioIn.model_validate(data)
    except ValidationError as exc:
        raise _one_line(exc) from None


def load_tiers_file(path: Path, venue: Venue) -> dict[str, TierTable]:
    """User tier tables keyed by upper-case unified symbol."""
    data = read_document(path)
    try:
        parsed = TiersFileIn.model_validate(data)
    except ValidationError as exc:
        raise _one_line(exc, prefix="tiers file: ") from None
    tables: dict[str, TierTable] = {}
    for symbol, rows in parsed.tiers.items():
        unified, _ = find_market(venue, symbol)
        tables[unified.upper()] = table_from_rows(venue, [r.model_dump() for r in rows], source=str(path))
    return tables


__all__ = ["PortfolioIn", "PositionIn", "TierRow", "get_venue", "load_portfolio", "load_tiers_file"]
