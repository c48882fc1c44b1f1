"""Reading venue payloads: numbers as venues print them, and the loose JSON shapes around them.

One place for what every REST adapter, mark protocol and private stream needs; the position
enums are the core's (:mod:`liqwatch.core.model`)."""

from __future__ import annotations

import math
from typing import Any

from liqwatch.core.model import MarginMode, PositionSide

__all__ = ["DataError", "MarginMode", "PositionSide", "as_dict", "as_list", "lights", "ms_to_s", "num", "positive"]


def num(value: object) -> float | None:
    """A finite float from a venue value (str/int/float), None for None, "" or garbage."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        f = float(value)
    elif isinstance(value, str):
        text = value.strip()
        if not text:
            return None
        try:
            f = float(text)
        except ValueError:
            return None
    else:
        return None
    return f if math.isfinite(f) else None


def positive(value: object) -> float | None:
    """``num`` but None unless > 0 (venues print 0/"0"/"" for "no price")."""
    f = num(value)
    return f if f is not None and f > 0 else None


def lights(value: object, offset: int = 0) -> int | None:
    """A venue ADL indicator as 0-5 lights (None when absent or out of range)."""
    f = num(value)
    if f is None:
        return None
    n = int(f) + offset
    return n if 0 <= n <= 5 else None


def ms_to_s(value: object) -> float | None:
    f = positive(value)
    return f / 1000.0 if f is not None else None


def as_dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def as_list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


class DataError(ValueError):
    """A venue payload liqwatch cannot use (mapped to FeedError kind "exchange")."""
