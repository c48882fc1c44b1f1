"""Numbers for people: positional, never in scientific notation (``0.00001676``, not
``1.676e-05``; ``1,000,000,000,000,000``, not ``1e+15``), and never ``-0``.

In the core so that its one-line errors echo numbers this way too (``must be > 0, got
-0.00001``, not ``-1e-05``); :mod:`liqwatch.numfmt` is the same for everyone else.
"""

from __future__ import annotations

import math


def plain(x: float, digits: int = 6, *, max_decimals: int | None = None, grouping: bool = True) -> str:
    """``x`` to ``digits`` significant digits, written out positionally, trailing zeros dropped;
    at most ``max_decimals`` decimals (a coin amount: 8, its smallest unit), so float noise such as
    3.4e-21 reads ``0``. ``∞`` / ``-∞`` for the infinities, ``—`` for NaN, ``0`` for either zero."""
    if math.isnan(x):
        return "—"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude >= digits:  # more whole digits than significant ones: the rest are zeros, not float noise
        mantissa, _, exponent = f"{abs(x):.{digits - 1}e}".partition("e")
        whole = int(mantissa.replace(".", "")) * 10 ** (int(exponent) - digits + 1)
        return ("-" if x < 0 else "") + (f"{whole:,}" if grouping else str(whole))
    decimals = max(0, digits - 1 - magnitude)
    if max_decimals is not None:
        decimals = min(decimals, max_decimals)
    text = f"{x:,.{decimals}f}" if grouping else f"{x:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def fixed(x: float, decimals: int = 2, *, grouping: bool = True) -> str:
    """``x`` to ``decimals`` places (with thousands separators unless not ``grouping``), a value
    that rounds to zero written without its sign (``0.00``, not ``-0.00``)."""
    text = f"{x:,.{decimals}f}" if grouping else f"{x:.{decimals}f}"
    return text[1:] if text.startswith("-") and not text.strip("-0.,") else text


def typed(x: float) -> str:
    """A number echoed back in a one-line error, as it could have been typed: positional to 15
    significant digits, no thousands separators (``-0.00001``, not ``-1e-05``), and ``nan``,
    ``inf`` or ``-inf`` for the values that are not numbers at all."""
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return plain(x, 15, grouping=False)
