"""Pausing the cyclic garbage collector around bulk work that creates many acyclic objects."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def gc_paused() -> Iterator[None]:
    """Bulk work (a shock builds one risk record per position per step: 100k objects for 1,000
    positions x 100 steps; a 10,000-position portfolio file builds a dict per field) makes the cyclic
    collector re-scan everything allocated so far, again and again: ~40% of such a run. None of
    these objects forms a cycle, so reference counting frees what is dropped; the previous state
    is restored afterwards (the collector stays on for a caller that had it on)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
