"""Numbers for people: positional, never in scientific notation (``0.00001676``, not
``1.676e-05``; ``1,000,000,000,000,000``, not ``1e+15``), and never ``-0``.

`liqwatch calc` formats its one-line errors with it as well as its table. :func:`plain` and
:func:`fixed` live in the core (:mod:`liqwatch.core.numfmt`), whose errors use them too.
"""

from __future__ import annotations

import math

from liqwatch.core.numfmt import fixed, plain, typed


def plain_down(x: float, digits: int = 10, *, grouping: bool = True) -> str:
    """``x`` (>= 0) to ``digits`` significant digits rounded toward zero, written out positionally
    (thousands separators unless not ``grouping``): a "largest size" answer shown this way, typed
    back in, is still allowed (rounding to nearest can step over the limit)."""
    from decimal import ROUND_DOWN, Decimal  # only for these answers: not on calc's start

    if not math.isfinite(x):
        return plain(x, digits, grouping=grouping)
    d = Decimal(repr(x))
    if not d:
        return "0"
    shown = d.quantize(Decimal(1).scaleb(d.adjusted() - digits + 1), rounding=ROUND_DOWN).normalize()
    return f"{shown:,f}" if grouping else f"{shown:f}"


__all__ = ["fixed", "plain", "plain_down", "typed"]
