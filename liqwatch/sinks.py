"""Where ``liqwatch watch``'s records go: sources (venue feeds, demo, replay, bus) → state → sinks.

A sink takes every record with the exact bytes of its JSON line (orjson, newline-terminated), so
that every sink sends the same bytes; stdout is one sink, the bus (:mod:`liqwatch.bus.sink`) one
more. No sink knows about another.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from liqwatch.core.errors import InputError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from liqwatch.config import Config
    from liqwatch.feeds.base import Feed


class Sink(Protocol):
    def write(self, record: dict[str, Any], line: bytes) -> None:
        """Take one record and its JSON line; never blocks, never raises for the sink's trouble."""

    async def close(self) -> None:
        """Deliver what is pending (within the sink's own deadline), then release everything."""


class StdoutSink:
    """The JSON lines on a stream (stdout)."""

    def __init__(self, out: TextIO) -> None:
        from liqwatch.output import write_line

        self.out = out
        self._write = write_line

    def write(self, record: dict[str, Any], line: bytes) -> None:
        self._write(self.out, line)

    async def close(self) -> None:
        return None


async def open_sinks(
    args: argparse.Namespace, config: Config | None, feeds: Sequence[Feed], out: TextIO, err: TextIO | None = None
) -> list[Sink]:
    """stdout (unless ``--quiet``) and the bus where ``--publish`` or a ``[bus]`` url says so (connected,
    names checked: one-line InputError otherwise)."""
    sinks: list[Sink] = []
    publish = getattr(args, "publish", None)
    if publish is not None or (config is not None and config.bus is not None and config.bus.url):
        from liqwatch.bus.sink import open_bus_sink

        sinks.append(await open_bus_sink(args, config, feeds, err))
    elif getattr(args, "quiet", False):
        raise InputError("--quiet", "only with --publish URL (or a [bus] url): nothing would be printed or published")
    elif getattr(args, "group", None) or getattr(args, "replica", None):
        flag = "--group" if getattr(args, "group", None) else "--replica"
        raise InputError(flag, "only with --publish URL or --source URL (or a [bus] url in the config)")
    if not getattr(args, "quiet", False):
        sinks.insert(0, StdoutSink(out))
    return sinks


async def close_sinks(sinks: Sequence[Sink]) -> None:
    for sink in sinks:
        await sink.close()
