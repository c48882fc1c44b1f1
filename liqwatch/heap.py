"""The garbage collector of a long-running process (``liqwatch watch``, the dashboard).

Once such a process runs, almost everything alive (modules, classes, the feeds', the state's and
the alerts' objects: ~100,000 of them) lives as long as it does, while each second allocates
thousands of short-lived objects (records, risk figures, rows). Python's defaults then work
against it: the youngest generation is collected every 700 allocations (dozens of times a second
for a 2,000-position book), and every full collection walks all the long-lived objects again.
:func:`settle` collects what start-up left behind, freezes the rest out of the collector's reach
(:func:`gc.freeze`) and collects the youngest generation every :data:`YOUNG_GC` allocations.
Reference counting still frees everything acyclic at once; only cycles wait a little longer.
"""

from __future__ import annotations

import gc

YOUNG_GC = 100_000
"""Allocations between collections of the youngest generation once settled: at most some ten
megabytes of cyclic garbage wait for it. ``watch --demo`` on 2,000 positions allocates tens of
thousands of objects a second that live one second (the last snapshot's records and figures): at
10,000 each was walked by a collection of the youngest generation a dozen times a second."""


def settle() -> None:
    """Collect, freeze what is alive, and collect the youngest generation less often (see the
    module's docstring). Call once, when the process has started up and shown its first data."""
    gc.collect()
    gc.freeze()
    _, older, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_GC, older, oldest)


__all__ = ["YOUNG_GC", "settle"]
