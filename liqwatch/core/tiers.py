"""Maintenance-margin tiers: lookup by position value, maintenance amount, next boundary.

A tier table is a list of brackets ordered by their floor. Venues differ in three ways, all
carried by the table itself so that the maths never branches on a venue name:

* ``basis`` — what is compared with the brackets: ``"notional"`` (position value in the quote
  currency: Binance, Bybit, Bitget, Gate, Hyperliquid) or ``"quantity"`` (position size in base
  units: OKX position tiers are counted in contracts; bundled OKX tables are converted to base units
  with the contract value ``ctVal`` when they are loaded).
* ``boundary`` — which side of a bracket is closed: ``"floor_inclusive"`` (floor <= v < cap,
  Binance ``notionalFloor``/``notionalCap``) or ``"cap_inclusive"`` (floor < v <= cap, Bybit's
  ``(previous limit, limit]`` and OKX's integer contract ranges ``0-2000, 2001-4000``).
* ``maint_amount`` — the Binance "cum" / Bybit "MM deduction". When a table does not carry it and
  the venue uses one, it is derived by the recurrence documented by Binance and Bybit:
  ``cum_n = cum_(n-1) + floor_n * (MMR_n - MMR_(n-1))``, ``cum_1 = 0``. With that recurrence the
  maintenance margin ``v * MMR_n - cum_n`` is continuous across boundaries.

Each venue's conventions: docs/venues/README.md and docs/venues/<venue>.md.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

from liqwatch.core.numfmt import plain

Basis = Literal["notional", "quantity"]
Boundary = Literal["floor_inclusive", "cap_inclusive"]

INFINITE_CAP = float("inf")


@dataclass(frozen=True, slots=True)
class Tier:
    """One bracket. ``index`` is 1-based, as venues number them."""

    index: int
    floor: float
    cap: float
    mmr: float
    maint_amount: float
    max_leverage: float


@dataclass(frozen=True, slots=True)
class TierTable:
    """An ordered bracket table with its lookup conventions."""

    tiers: tuple[Tier, ...]
    basis: Basis = "notional"
    boundary: Boundary = "floor_inclusive"
    source: str = ""
    as_of: str = ""
    complete: bool = True
    """False when the table is known to stop short of the venue's last bracket (a truncated
    snapshot): values past its last cap are then unknown, not merely above the venue's maximum."""
    origin: str = ""
    """Where the table came from, as reported in ``tiers_source``: ``bundled``, ``cache``, ``live``,
    ``file``, ``portfolio`` or ``override`` ("" when not stated)."""
    floors: tuple[float, ...] = field(init=False, repr=False, compare=False)
    caps: tuple[float, ...] = field(init=False, repr=False, compare=False)
    last: int = field(init=False, repr=False, compare=False)
    floor_inclusive: bool = field(init=False, repr=False, compare=False)
    limit: float = field(init=False, repr=False, compare=False)
    """The last bracket's cap: where the table ends (infinite for an open-ended table)."""

    def __post_init__(self) -> None:
        if not self.tiers:
            raise ValueError("a tier table needs at least one tier")
        floors = tuple(t.floor for t in self.tiers)
        if list(floors) != sorted(floors):
            raise ValueError("tiers must be ordered by floor")
        object.__setattr__(self, "floors", floors)
        object.__setattr__(self, "caps", tuple(t.cap for t in self.tiers))
        object.__setattr__(self, "last", len(self.tiers) - 1)
        object.__setattr__(self, "floor_inclusive", self.boundary == "floor_inclusive")
        object.__setattr__(self, "limit", self.tiers[-1].cap)

    def beyond(self, value: float) -> bool:
        """True when ``value`` lies past the table's end: at or above the last cap of a
        floor-inclusive table (``floor <= v < cap``), above it for a cap-inclusive one."""
        limit = self.limit
        return value > limit or (value == limit and self.floor_inclusive)

    def with_max_leverage(self, max_leverage: float) -> TierTable:
        """The same brackets with every bracket's max leverage replaced by ``max_leverage`` (a user
        override of the leverage cap on venues whose MMR does not depend on it)."""
        tiers = tuple(replace(t, max_leverage=max_leverage) for t in self.tiers)
        return replace(
            self,
            tiers=tiers,
            source=f"{self.source} (max leverage {plain(max_leverage)}x override)".strip(),
        )

    def position(self, value: float) -> int:
        """0-based position of the bracket that holds ``value`` (in the table's basis).

        Values past the last cap stay in the last bracket (the venue would refuse a larger
        position; the maths keeps the highest rate rather than inventing one). A value that falls
        in a gap of a table with a missing bracket resolves to the bracket whose closed side it
        passed: the one below for floor-inclusive tables, the one above for cap-inclusive ones.
        """
        if self.floor_inclusive:
            i = bisect_right(self.floors, value) - 1
            return i if i > 0 else 0
        i = bisect_left(self.caps, value)  # floor < v <= cap: the first cap >= value
        return i if i < self.last else self.last

    def lookup(self, value: float) -> Tier:
        return self.tiers[self.position(value)]

    def holding(self, value: float) -> Tier | None:
        """The bracket that holds ``value``, or None past the table's end: :meth:`beyond` and
        :meth:`lookup` in one call (once per position per assessment)."""
        limit = self.limit
        if self.floor_inclusive:
            if value >= limit:
                return None
            i = bisect_right(self.floors, value) - 1
            return self.tiers[i if i > 0 else 0]
        if value > limit:
            return None
        i = bisect_left(self.caps, value)
        return self.tiers[i if i < self.last else self.last]

    def next_floor(self, tier: Tier) -> float | None:
        """Where the next bracket starts (in the table's basis), or None for the last one."""
        pos = tier.index - self.tiers[0].index
        if pos + 1 >= len(self.tiers):
            return None
        return self.tiers[pos + 1].floor


def derive_maint_amounts(floors: Sequence[float], mmrs: Sequence[float]) -> list[float]:
    """Binance/Bybit recurrence: cum_n = cum_(n-1) + floor_n * (MMR_n - MMR_(n-1)), cum_1 = 0."""
    cums: list[float] = []
    for n, (floor, mmr) in enumerate(zip(floors, mmrs, strict=True)):
        if n == 0:
            cums.append(0.0)
        else:
            cums.append(cums[-1] + floor * (mmr - mmrs[n - 1]))
    return cums


def build_table(
    rows: Sequence[dict[str, float | None]],
    *,
    basis: Basis = "notional",
    boundary: Boundary = "floor_inclusive",
    derive_maint_amount: bool = True,
    source: str = "",
    as_of: str = "",
    quantity_scale: float = 1.0,
    complete: bool = True,
    origin: str = "",
) -> TierTable:
    """Build a table from ``{"min", "max", "mmr", "max_leverage", "maint_amount"?}`` rows.

    ``maint_amount`` is taken from the rows when every row has it; otherwise it is derived by the
    recurrence (``derive_maint_amount``) or set to zero for venues whose maintenance margin is the
    plain ``value * MMR`` of the position's bracket (OKX, Bitget). ``quantity_scale``
    converts quantity-basis bounds (e.g. OKX contracts) into base units.
    """
    ordered = sorted(rows, key=lambda r: float(r["min"] or 0.0))
    floors = [float(r["min"] or 0.0) * quantity_scale for r in ordered]
    caps = [(float(c) * quantity_scale if (c := r.get("max")) is not None else INFINITE_CAP) for r in ordered]
    mmrs = [float(r["mmr"]) for r in ordered]  # type: ignore[arg-type]
    given = [r.get("maint_amount") for r in ordered]
    if all(g is not None for g in given):
        cums = [float(g) for g in given]  # type: ignore[arg-type]
    elif derive_maint_amount:
        cums = derive_maint_amounts(floors, mmrs)
    else:
        cums = [0.0] * len(ordered)
    tiers = tuple(
        Tier(
            index=i + 1,
            floor=floors[i],
            cap=caps[i],
            mmr=mmrs[i],
            maint_amount=cums[i],
            max_leverage=float(ordered[i]["max_leverage"]),  # type: ignore[arg-type]
        )
        for i in range(len(ordered))
    )
    return TierTable(
        tiers=tiers, basis=basis, boundary=boundary, source=source, as_of=as_of, complete=complete, origin=origin
    )


def flat_table(mmr: float, maint_amount: float, max_leverage: float, source: str = "override") -> TierTable:
    """A single bracket covering every position size: used when the user pins MMR / amount."""
    tier = Tier(index=1, floor=0.0, cap=INFINITE_CAP, mmr=mmr, maint_amount=maint_amount, max_leverage=max_leverage)
    return TierTable(tiers=(tier,), source=source, origin="override")
