"""Portfolio and tier files (JSON or TOML), validated at the boundary by pydantic's core.

Portfolio file::

    exchange = "binance"          # binance, bybit, okx, bitget, gate, hyperliquid
    wallet_balance = 10000        # cross collateral in the settle currency (default 0), or one
                                  # amount per settle currency: {USDT = 25000, BTC = 1.5}

    [[positions]]
    symbol = "BTC/USDT:USDT"      # or the venue's native id, e.g. BTCUSDT
    side = "long"
    size = 0.5                    # base units (coin-margined BTC/USD:BTC: USD face value), > 0
    entry_price = 60000           # (or contracts = N: size = N x contract size)
    leverage = 10                 # optional; see the README for every optional key

Tier file (``--tiers``): ``{"tiers": {"BTC/USDT:USDT": [{"min_notional": 0, "max_notional": 50000,
"mmr": 0.004, "max_leverage": 125, "maint_amount": 0}, ...]}}``. A coin-margined market's bounds
and maintenance amounts are in its coin (``BTC/USD:BTC``: BTC notional, as Binance COIN-M publishes).

The schema is written for ``pydantic_core`` (the validation engine of pydantic v2) rather than as
``BaseModel`` classes: the whole document is validated in one call (each distinct ``tiers`` list
once, see ``_dedupe_tiers``), and ``liqwatch calc --portfolio`` does not pay for pydantic's model
machinery at start-up (``from pydantic import BaseModel`` alone costs about as much as the whole
calculation budget). Errors are pydantic's own, reported as one line naming the field.

A large JSON file (``liqwatch calc``: :func:`load_requests`) is first offered to msgspec, which
decodes it straight into typed position requests under the same constraints, each ``tiers`` list
kept raw and parsed and validated once per distinct list (``_typed_requests``); a file it declines
goes the general path above (``_read_json`` then the schema), which reads it or names what is wrong.
The tier lists of such a file are checked by msgspec too (:func:`_typed_tiers`, the schema's
constraints), so a large valid file never imports pydantic's core (issue #22: ~4 % of the
instructions of a 10,000-position run, 72 M of 1.77 G).
"""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NamedTuple, TypedDict

import orjson

from liqwatch.core.errors import InputError
from liqwatch.core.tiers import TierTable
from liqwatch.core.venues import VENUES, Venue
from liqwatch.markets import find_market, table_from_rows

if TYPE_CHECKING:
    from pydantic_core import SchemaValidator, ValidationError
    from pydantic_core import core_schema as cs

    from liqwatch.request import PositionRequest


class TierRowDoc(TypedDict):
    min_notional: float
    max_notional: float | None
    mmr: float | None
    max_leverage: float
    maint_amount: float | None


class PositionDoc(TypedDict):
    symbol: str
    side: Literal["long", "short"]
    size: float | None
    entry_price: float
    leverage: float | None
    margin_mode: Literal["isolated", "cross"]
    position_side: Literal["both", "long", "short"]
    isolated_margin: float | None
    mark_price: float | None
    mmr: float | None
    maint_amount: float | None
    max_leverage: float | None
    fee_rate: float | None
    adl_lights: int | None
    tiers: list[TierRowDoc] | None
    contracts: float | None
    contract_size: float | None
    funding_rate: float | None
    next_funding_time: int | str | None


class CollateralTierDoc(TypedDict):
    min: float
    max: float | None
    ratio: float


class CollateralDoc(TypedDict):
    """One row of ``collateral`` (issue #21): a balance (negative: borrowed) at its USD index price
    (None: the mark of the held position on that base), valued by ``ratio``, ``tiers`` with their
    ``tier_basis``, or Binance's ``bid_buffer`` / ``ask_buffer``."""

    asset: str
    amount: float
    price: float | None
    ratio: float | None
    tiers: list[CollateralTierDoc] | None
    tier_basis: Literal["quantity", "value"] | None
    bid_buffer: float | None
    ask_buffer: float | None


AccountModeDoc = Literal["single", "multi_assets", "portfolio"]


class PortfolioDoc(TypedDict):
    exchange: str
    wallet_balance: float | dict[str, float]
    """One number (one settle currency) or one amount per settle currency (upper-case keys)."""
    positions: list[PositionDoc]
    account_mode: AccountModeDoc
    collateral: list[CollateralDoc] | None


class TiersFileDoc(TypedDict):
    tiers: dict[str, list[TierRowDoc]]


# ----------------------------------------------------------------------------- schema


def _finite(**bounds: float) -> cs.FloatSchema:
    from pydantic_core import core_schema as cs

    return cs.float_schema(allow_inf_nan=False, **bounds)  # type: ignore[arg-type]


def _required(schema: cs.CoreSchema) -> cs.TypedDictField:
    from pydantic_core import core_schema as cs

    return cs.typed_dict_field(schema, required=True)


def _optional(schema: cs.CoreSchema, default: Any = None) -> cs.TypedDictField:
    """An optional key: absent -> ``default``; an explicit null is accepted where the default is."""
    from pydantic_core import core_schema as cs

    inner = cs.nullable_schema(schema) if default is None else schema
    return cs.typed_dict_field(cs.with_default_schema(inner, default=default), required=False)


def _known_exchange(value: str) -> str:
    if value.lower() not in VENUES:
        raise ValueError(f"unknown exchange {value!r} (one of: {', '.join(VENUES)})")
    return value.lower()


_WALLET_HELP = "must be a number or a table of numbers per settle currency, e.g. {USDT = 25000, BTC = 1.5}"


def _wallet(value: Any) -> float | dict[str, float]:
    """``wallet_balance``: a finite number, or a table currency -> finite number (keys upper-cased)."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value - value != 0:
            raise ValueError(f"must be a finite number (got {value!r})")
        return float(value)
    if not isinstance(value, dict) or not value:
        raise ValueError(_WALLET_HELP)
    out: dict[str, float] = {}
    for key, amount in value.items():
        name = str(key).strip().upper()
        if not name.isalnum():
            raise ValueError(f"{key!r} is not a currency code ({_WALLET_HELP})")
        if isinstance(amount, bool) or not isinstance(amount, (int, float)) or amount - amount != 0:
            raise ValueError(f"{key}: must be a finite number (got {amount!r})")
        if name in out:
            raise ValueError(f"{name} is given twice")
        out[name] = float(amount)
    return out


def _rate() -> cs.FloatSchema:
    from pydantic_core import core_schema as cs

    return cs.float_schema(ge=0, lt=1)


@cache
def _tier_list_validator() -> SchemaValidator:
    from pydantic_core import SchemaValidator

    return SchemaValidator(_tier_rows())


def _tier_rows() -> cs.CoreSchema:
    from pydantic_core import core_schema as cs

    row = cs.typed_dict_schema(
        {
            "min_notional": _optional(_finite(ge=0), default=0.0),
            "max_notional": _optional(_finite(gt=0)),
            "mmr": _optional(_rate()),
            "max_leverage": _required(_finite(gt=0)),
            "maint_amount": _optional(_finite()),
        },
        extra_behavior="forbid",
    )
    # Order and overlap are checked where a table is built (once per distinct list, not per position).
    return cs.list_schema(row, min_length=1)


_POSITION_KEYS = (
    "symbol",
    "side",
    "size",
    "entry_price",
    "leverage",
    "margin_mode",
    "position_side",
    "isolated_margin",
    "mark_price",
    "mmr",
    "maint_amount",
    "max_leverage",
    "fee_rate",
    "adl_lights",
    "funding_rate",
    "next_funding_time",
    "tiers",
    "contracts",
    "contract_size",
)
"""The keys a position may have, in the schema's order (:func:`_position_fields`); the fast
readers take their key names from here, without building pydantic's schema."""


def _position_fields() -> dict[str, cs.TypedDictField]:
    """A position's keys (:data:`_POSITION_KEYS`) and their schemas: the one list of what a
    position may say."""
    from pydantic_core import core_schema as cs

    fields: dict[str, cs.TypedDictField] = {
        "symbol": _required(cs.str_schema(min_length=1)),
        "side": _required(cs.literal_schema(["long", "short"])),
        "size": _optional(_finite(gt=0)),  # or contracts (request.build_spec says which is missing)
        "entry_price": _required(_finite(gt=0)),
        "leverage": _optional(_finite(gt=0)),
        "margin_mode": _optional(cs.literal_schema(["isolated", "cross"]), default="isolated"),
        "position_side": _optional(cs.literal_schema(["both", "long", "short"]), default="both"),
        "isolated_margin": _optional(_finite(gt=0)),
        "mark_price": _optional(_finite(gt=0)),
        "mmr": _optional(_finite(ge=0)),  # < 1 checked where the table is built, with a word on percentages
        "maint_amount": _optional(_finite()),
        "max_leverage": _optional(_finite(gt=0)),
        "fee_rate": _optional(_rate()),
        "adl_lights": _optional(cs.int_schema(ge=0, le=5)),
        "funding_rate": _optional(_finite(gt=-1, lt=1)),
        "next_funding_time": _optional(cs.union_schema([cs.int_schema(gt=0), cs.str_schema(min_length=1)])),
        # passed through as given (the same object for equal lists, see ``_read_json``) and
        # validated once per distinct list by ``_dedupe_tiers``
        "tiers": _optional(cs.any_schema()),
        "contracts": _optional(_finite(gt=0)),
        "contract_size": _optional(_finite(gt=0)),
    }
    assert tuple(fields) == _POSITION_KEYS
    return fields


_DOCUMENT_KEYS = ("exchange", "wallet_balance", "positions", "account_mode", "collateral")


def _account_fields() -> dict[str, cs.TypedDictField]:
    """The document keys of a multi-collateral account (issue #21): ``account_mode`` and the
    ``collateral`` rows. Values are checked here; which valuation a row gives (exactly one) and
    each tier table's shape are checked where the rows are built (``liqwatch.collateral_calc``)."""
    from pydantic_core import core_schema as cs

    tier = cs.typed_dict_schema(
        {
            "min": _required(_finite(ge=0)),
            "max": _optional(_finite(gt=0)),  # null or absent (TOML has no null): no end
            "ratio": _required(_finite(ge=0, le=1)),
        },
        extra_behavior="forbid",
    )
    row = cs.typed_dict_schema(
        {
            "asset": _required(cs.str_schema(min_length=1, strip_whitespace=True)),
            "amount": _required(_finite()),
            "price": _optional(_finite(gt=0)),
            "ratio": _optional(_finite(ge=0, le=1)),
            "tiers": _optional(cs.list_schema(tier, min_length=1)),
            "tier_basis": _optional(cs.literal_schema(["quantity", "value"])),
            "bid_buffer": _optional(_finite(ge=0, le=1)),
            "ask_buffer": _optional(_finite(ge=0)),
        },
        extra_behavior="forbid",
    )
    return {
        "account_mode": _optional(cs.literal_schema(["single", "multi_assets", "portfolio"]), default="single"),
        "collateral": _optional(cs.list_schema(row, min_length=1)),
    }


@cache
def _account_validator() -> SchemaValidator:
    """``account_mode`` and ``collateral`` alone (the typed reader's check of the two keys)."""
    from pydantic_core import SchemaValidator
    from pydantic_core import core_schema as cs

    return SchemaValidator(cs.typed_dict_schema(_account_fields(), extra_behavior="forbid"))


@cache
def _portfolio_validator() -> SchemaValidator:
    from pydantic_core import SchemaValidator
    from pydantic_core import core_schema as cs

    position = cs.typed_dict_schema(_position_fields(), extra_behavior="forbid")
    fields = {
        "exchange": _required(cs.no_info_after_validator_function(_known_exchange, cs.str_schema())),
        # absent -> None (0.0 for a single account; refused with a multi-collateral one)
        "wallet_balance": cs.typed_dict_field(
            cs.with_default_schema(cs.no_info_plain_validator_function(_wallet), default=None), required=False
        ),
        "positions": _required(cs.list_schema(position, min_length=1)),
        **_account_fields(),
    }
    assert tuple(fields) == _DOCUMENT_KEYS
    return SchemaValidator(cs.typed_dict_schema(fields, extra_behavior="forbid"))


@cache
def _tiers_file_validator() -> SchemaValidator:
    from pydantic_core import SchemaValidator
    from pydantic_core import core_schema as cs

    document = cs.typed_dict_schema(
        {
            "tiers": _required(cs.dict_schema(cs.str_schema(), _tier_rows())),
        },
        extra_behavior="forbid",
    )
    return SchemaValidator(document)


# ----------------------------------------------------------------------------- errors


def _location(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif not part.startswith(("function-", "constrained-", "nullable", "default")):
            out += f".{part}" if out else part
    return out or "file"


def _one_line(exc: ValidationError, prefix: str = "") -> InputError:
    """The first of pydantic's errors as one line naming the field (``positions[2].size``)."""
    err = exc.errors(include_url=False)[0]
    loc = _location(tuple(err["loc"]))
    if prefix and not prefix.endswith(" "):  # a field path: join the location to it
        prefix, loc = "", prefix + ("" if loc == "file" else loc if loc.startswith("[") else f".{loc}")
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "missing":
        msg = "required field is missing"
    elif err["type"] == "extra_forbidden":
        msg = "unknown field (check the spelling)"
    elif "input" in err and err["type"] not in ("model_type", "dict_type", "json_invalid", "secret_in_value"):
        shown = repr(err["input"])
        if len(shown) <= 40:
            msg = f"{msg} (got {shown})"
    return InputError(f"{prefix}{loc}", msg)


# ----------------------------------------------------------------------------- reading


def _read(path: Path) -> tuple[bytes, bool]:
    """(content, is JSON) by extension; content sniffed when the extension is neither."""
    name = str(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise InputError(name, "file not found") from None
    except OSError as exc:
        raise InputError(name, f"cannot read file: {exc.strerror or exc}") from None
    suffix = path.suffix.lower()
    as_json = suffix == ".json" or (suffix != ".toml" and raw.lstrip()[:1] in (b"{", b"["))
    return raw, as_json


def _parse(path: Path, raw: bytes, as_json: bool) -> Any:
    name = str(path)
    if as_json:
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # the json module words the error better (and agrees on what is valid)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(name, f"cannot read file: {exc}") from None
    if as_json:
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise InputError(name, f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    import tomllib  # only TOML files pay for the parser

    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(name, f"not valid TOML: {exc}") from None


FAST_JSON_BYTES = 64 * 1024
"""Portfolio JSON files larger than this are read by :func:`_read_json`; a small one is parsed
faster than msgspec is imported."""


@cache
def _json_reader() -> Any:
    """A msgspec decoder for a portfolio JSON file that builds every value as the json module
    would, except each position's ``tiers``, which it keeps as the raw bytes of the list. Nothing
    is validated here (every value is ``Any``; pydantic's schema does that next); the keys are the
    schema's own."""
    import msgspec

    unset: Any = msgspec.UNSET
    position = msgspec.defstruct(
        "PositionJson",
        [(name, Any, unset) for name in _POSITION_KEYS if name != "tiers"] + [("tiers", msgspec.Raw, unset)],
        forbid_unknown_fields=True,
    )
    document = msgspec.defstruct(
        "PortfolioJson",
        [(name, list[position] if name == "positions" else Any, unset) for name in _DOCUMENT_KEYS],  # type: ignore[valid-type]
        forbid_unknown_fields=True,
    )
    return msgspec.json.Decoder(document)


def _read_json(raw: bytes) -> Any:
    """A portfolio JSON document as plain values, with equal ``tiers`` lists (equal bytes) parsed
    once and shared as one list object; None when the fast reader cannot take the file (invalid
    JSON, an unknown key, a top level that is not an object): the general path then parses it
    and names what is wrong.

    Why: a portfolio exported by a tool repeats one tier list per position. Parsed whole (orjson),
    10,000 positions' lists are 50,000 dicts and 34 MB; raw, they are slices of the file, and
    parsing each distinct list once takes 13 ms where orjson and a dedupe took 35 ms."""
    import msgspec

    try:
        doc = _json_reader().decode(raw)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return None
    positions = doc.positions
    if not isinstance(positions, list):
        return None
    unset: Any = msgspec.UNSET
    raw_tiers = []
    for position in positions:
        raw_tiers.append(position.tiers)
        position.tiers = unset
    out: dict[str, Any] = msgspec.to_builtins(doc)  # UNSET keys (absent in the file) are left out
    parse = msgspec.json.decode
    lists: dict[bytes, Any] = {}
    for position, tiers in zip(out.get("positions", ()), raw_tiers, strict=True):
        if tiers is unset:
            continue
        key = bytes(tiers)
        rows = lists.get(key)
        if rows is None:
            rows = lists[key] = parse(key)
        position["tiers"] = rows
    return out


def _validate(
    validator: SchemaValidator,
    path: Path,
    prefix: str = "",
    fast_json: bool = False,
    read: tuple[bytes, bool] | None = None,
) -> Any:
    """The document at ``path`` validated (``read``: its content and JSON-ness, already read)."""
    from pydantic_core import ValidationError

    raw, as_json = read if read is not None else _read(path)
    data = _read_json(raw) if fast_json and as_json and len(raw) > FAST_JSON_BYTES else None
    if data is None:
        data = _parse(path, raw, as_json)
    try:
        return validator.validate_python(data)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        if first["type"] == "dict_type" and not first["loc"]:
            raise InputError(str(path), "the top level must be an object/table") from None
        raise _one_line(exc, prefix) from None


def _dedupe_tiers(positions: list[PositionDoc]) -> None:
    """Validate each position's ``tiers`` list, once per distinct list: equal lists (found by a
    cheap key, then compared in C) share one validated list object, and so one table."""
    from pydantic_core import ValidationError

    validator = _tier_list_validator()
    seen: dict[Any, list[tuple[Any, list[TierRowDoc]]]] = {}
    last: tuple[Any, list[TierRowDoc]] | None = None  # the usual case: the same list as before
    for i, position in enumerate(positions):
        rows: Any = position["tiers"]
        if rows is None:
            continue
        if last is not None and (rows is last[0] or rows == last[0]):
            position["tiers"] = last[1]
            continue
        try:
            key: Any = (len(rows), tuple(rows[-1].items()))
            hash(key)
        except (AttributeError, TypeError, IndexError, KeyError):
            key = None  # not a non-empty list of flat objects: the validator says what is wrong
        known = seen.get(key, ()) if key is not None else ()
        for raw, done in known:
            if raw == rows:
                position["tiers"] = done
                last = (raw, done)
                break
        else:
            try:
                done = validator.validate_python(rows)
            except ValidationError as exc:
                raise _one_line(exc, prefix=f"positions[{i}].tiers") from None
            if key is not None:
                seen.setdefault(key, []).append((rows, done))
            position["tiers"] = done
            last = (rows, done)


def load_portfolio(path: Path, read: tuple[bytes, bool] | None = None) -> PortfolioDoc:
    doc: PortfolioDoc = _validate(_portfolio_validator(), path, fast_json=True, read=read)
    _dedupe_tiers(doc["positions"])
    _check_account(doc["account_mode"], doc["wallet_balance"] is not None, doc["collateral"] is not None)
    if doc["wallet_balance"] is None:
        doc["wallet_balance"] = 0.0
    return doc


def _check_account(mode: str, wallet_given: bool, collateral_given: bool) -> None:
    """The keys a portfolio's ``account_mode`` allows, each refusal one line naming the key."""
    if mode == "single":
        if collateral_given:
            raise InputError(
                "collateral",
                'a collateral list needs account_mode "multi_assets" (a single account is its wallet_balance)',
            )
        return
    if wallet_given:
        raise InputError(
            "wallet_balance",
            f'not with account_mode "{mode}": the collateral list is the wallet (give the settle asset, '
            'e.g. {"asset": "USDT", "amount": 25000, "price": 1, "ratio": 1})',
        )
    if not collateral_given:
        raise InputError(
            "collateral",
            f'required with account_mode "{mode}": list each asset as '
            '{"asset", "amount", "price", "ratio"} (the collateral list is the wallet)',
        )


class PortfolioRequests(NamedTuple):
    """A portfolio file as ``liqwatch calc`` takes it: the venue's name, the wallet and one request
    per position (each with the attributes of :class:`liqwatch.request.PositionRequest`)."""

    exchange: str
    wallet_balance: float | dict[str, float]
    positions: list[PositionRequest]
    account_mode: AccountModeDoc = "single"
    collateral: list[CollateralDoc] | None = None


def load_requests(path: Path) -> PortfolioRequests:
    """:func:`load_portfolio` as position requests, for ``liqwatch calc``. A large JSON file is
    decoded straight into typed requests by msgspec (:func:`_typed_requests`): about half the time
    of a plain parse, pydantic's validation and a request built per position. A file it cannot take
    as valid goes the general path, which names what is wrong."""
    raw, as_json = _read(path)
    if as_json and len(raw) > FAST_JSON_BYTES:
        found = _typed_requests(raw)
        if found is not None:
            return found
    doc = load_portfolio(path, (raw, as_json))  # the bytes already read
    from liqwatch.request import PositionRequest

    requests = [PositionRequest(**p) for p in doc["positions"]]
    return PortfolioRequests(doc["exchange"], doc["wallet_balance"], requests, doc["account_mode"], doc["collateral"])


@cache
def _typed_reader() -> Any:
    """A msgspec decoder of a whole portfolio JSON document into typed position requests, with the
    schema's constraints (:func:`_position_fields`) as msgspec's and each ``tiers`` list kept raw.
    It accepts a subset of what the schema accepts (strict types: no numeric strings, no 3.0 for
    an integer; numbers out of float range refused), so a document it takes is one the general
    path takes with the same values; anything else is left to the general path."""
    import msgspec
    from msgspec import Meta

    positive = Annotated[float, Meta(gt=0)]
    rate = Annotated[float, Meta(ge=0, lt=1)]
    types: dict[str, tuple[Any, Any]] = {  # name -> (type, default); no default: required
        "symbol": (Annotated[str, Meta(min_length=1)], msgspec.NODEFAULT),
        "side": (Literal["long", "short"], msgspec.NODEFAULT),
        "size": (positive | None, None),
        "entry_price": (positive, msgspec.NODEFAULT),
        "leverage": (positive | None, None),
        "margin_mode": (Literal["isolated", "cross"], "isolated"),
        "position_side": (Literal["both", "long", "short"], "both"),
        "isolated_margin": (positive | None, None),
        "mark_price": (positive | None, None),
        "mmr": (Annotated[float, Meta(ge=0, le=sys.float_info.max)] | None, None),  # as the general path
        "maint_amount": (float | None, None),
        "max_leverage": (positive | None, None),
        "fee_rate": (rate | None, None),
        "adl_lights": (Annotated[int, Meta(ge=0, le=5)] | None, None),
        "funding_rate": (Annotated[float, Meta(gt=-1, lt=1)] | None, None),
        "next_funding_time": (Annotated[int, Meta(gt=0)] | Annotated[str, Meta(min_length=1)] | None, None),
        "tiers": (msgspec.Raw, msgspec.Raw(b"null")),
        "contracts": (positive | None, None),
        "contract_size": (positive | None, None),
    }
    assert tuple(types) == _POSITION_KEYS, "the typed reader's keys are the schema's"
    position = msgspec.defstruct(
        "TypedPosition",
        [(name, kind, default) for name, (kind, default) in types.items()],
        forbid_unknown_fields=True,
        kw_only=True,
        # a request's attributes a file does not give (a class attribute: never read from the file)
        namespace={"exchange_liquidation_price": None},
        gc=False,  # scalars and a tier list: no cycle can pass through a request (16 bytes less each, untracked)
    )
    document = msgspec.defstruct(
        "TypedPortfolio",
        [
            ("exchange", str, msgspec.NODEFAULT),
            ("wallet_balance", Any, msgspec.UNSET),
            ("positions", Annotated[list[position], Meta(min_length=1)], msgspec.NODEFAULT),  # type: ignore[valid-type]
            ("account_mode", Any, msgspec.UNSET),  # checked by the schema's own validator (_account_fields)
            ("collateral", Any, msgspec.UNSET),
        ],
        forbid_unknown_fields=True,
        kw_only=True,
    )
    return msgspec.json.Decoder(document)


@cache
def _typed_tiers() -> Any:
    """A msgspec decoder of one raw ``tiers`` list into the rows pydantic's schema gives
    (:func:`_tier_rows`: every key, defaults filled, numbers as floats), under the same
    constraints. It takes a subset of what the schema takes (no numeric strings, no booleans), so
    a large file's usual tier lists are checked without importing pydantic's core (~4 % of a
    10,000-position run); a list it declines is left to the schema, which takes it or words the refusal."""
    import msgspec
    from msgspec import Meta

    positive = Annotated[float, Meta(gt=0)]
    row = msgspec.defstruct(
        "TierRow",
        [  # the schema's keys, in its order (a row is built as a dict in this order)
            ("min_notional", Annotated[float, Meta(ge=0)], 0.0),
            ("max_notional", positive | None, None),
            ("mmr", Annotated[float, Meta(ge=0, lt=1)] | None, None),
            ("max_leverage", positive, msgspec.NODEFAULT),
            ("maint_amount", float | None, None),
        ],
        forbid_unknown_fields=True,
        kw_only=True,
    )
    return msgspec.json.Decoder(Annotated[list[row], Meta(min_length=1)])  # type: ignore[valid-type]


def _tier_list(raw: bytes, where: str) -> list[TierRowDoc]:
    """One raw ``tiers`` list validated (:func:`_typed_tiers`, else pydantic's schema); a refusal
    is one line naming ``where`` (``positions[3].tiers``)."""
    import msgspec

    try:
        rows: list[TierRowDoc] = msgspec.to_builtins(_typed_tiers().decode(raw))
        return rows
    except msgspec.ValidationError:
        pass  # the schema decides, and words its refusal
    from pydantic_core import ValidationError

    try:
        checked: list[TierRowDoc] = _tier_list_validator().validate_python(msgspec.json.decode(raw))
    except ValidationError as exc:
        raise _one_line(exc, prefix=where) from None
    return checked


def _typed_requests(raw: bytes) -> PortfolioRequests | None:
    """The document as requests, or None when the typed reader does not take it (the general path
    then reads it and words the error). Equal ``tiers`` lists (equal bytes) are parsed and
    validated once and shared as one list object (one table, ``request.TableCache``). pydantic's
    core is imported only for what msgspec declines (``account_mode`` and ``collateral`` are
    checked by the schema's own validator)."""
    import msgspec

    unset: Any = msgspec.UNSET
    try:
        doc = _typed_reader().decode(raw)
        exchange = _known_exchange(doc.exchange)
        wallet_given = doc.wallet_balance is not unset
        wallet = _wallet(doc.wallet_balance) if wallet_given else 0.0
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError):
        return None
    account: dict[str, Any] = {}
    if doc.account_mode is not unset:
        account["account_mode"] = doc.account_mode
    if doc.collateral is not unset:
        account["collateral"] = doc.collateral
    if account:
        from pydantic_core import ValidationError

        try:
            account = _account_validator().validate_python(account)
        except ValidationError:
            return None
    else:
        account = {"account_mode": "single"}
    mode = account["account_mode"]
    collateral = account.get("collateral")
    lists: dict[bytes, Any] = {b"null": None}
    last: Any = None  # (raw, rows) of the previous position: an exported file repeats one list
    for i, position in enumerate(doc.positions):
        tiers = position.tiers
        if last is not None and tiers == last[0]:  # compares the bytes, without copying them
            position.tiers = last[1]
            continue
        key = bytes(tiers)
        rows = lists.get(key, lists)
        if rows is lists:
            rows = lists[key] = _tier_list(key, f"positions[{i}].tiers")
        position.tiers = rows
        last = (tiers, rows)
    _check_account(mode, wallet_given, collateral is not None)
    return PortfolioRequests(exchange, wallet, doc.positions, mode, collateral)


def load_tiers_file(path: Path, venue: Venue) -> dict[str, TierTable]:
    """User tier tables keyed by upper-case unified symbol."""
    doc: TiersFileDoc = _validate(_tiers_file_validator(), path, prefix="tiers file: ")
    tables: dict[str, TierTable] = {}
    for symbol, rows in doc["tiers"].items():
        unified, _ = find_market(venue, symbol, inverse=True)  # a coin-margined table's bounds are in its coin
        try:
            tables[unified.upper()] = table_from_rows(venue, rows, source=str(path))
        except InputError as exc:
            raise InputError(f"tiers file: tiers.{symbol}", exc.message) from None
    return tables


__all__ = [
    "CollateralDoc",
    "PortfolioDoc",
    "PortfolioRequests",
    "PositionDoc",
    "TierRowDoc",
    "load_portfolio",
    "load_requests",
    "load_tiers_file",
]
