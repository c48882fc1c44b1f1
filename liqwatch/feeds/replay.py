"""Recording and replaying sessions: every normalised event as one JSON line.

``--record FILE`` tees the events a monitor receives into FILE; ``--replay FILE [--speed X]`` plays
them back through the same pipeline, keeping their original spacing (divided by ``speed``).
Recorded events carry no secrets: feeds never put credentials into events.
"""

from __future__ import annotations

import asyncio
import math
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from liqwatch.core.errors import InputError
from liqwatch.feeds.base import Sink
from liqwatch.feeds.events import Event, dump_event, parse_event
from liqwatch.numfmt import typed


class Recorder:
    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.count = 0

    def __call__(self, event: Event) -> None:
        self.stream.write(dump_event(event) + "\n")
        self.count += 1
        if self.count % 200 == 0:
            self.stream.flush()

    def close(self) -> None:
        self.stream.flush()


def check_replay_file(path: Path) -> None:
    """Fail early, with one line, when the file is missing or its first event does not parse."""
    try:
        with path.open(encoding="utf-8") as fh:
            first = fh.readline()
    except FileNotFoundError:
        raise InputError("--replay", f"{path}: file not found") from None
    except OSError as exc:
        raise InputError("--replay", f"{path}: {exc.strerror}") from None
    if not first.strip():
        raise InputError("--replay", f"{path}: empty recording")
    try:
        parse_event(first)
    except ValidationError as exc:
        raise InputError("--replay", f"{path} line 1 is not a liqwatch event: {exc.errors()[0]['msg']}") from None


class ReplayFeed:
    name = "replay"

    def __init__(self, path: Path, speed: float = 1.0) -> None:
        if not (speed > 0 and math.isfinite(speed)):
            raise InputError("--speed", f"must be > 0, got {typed(speed)}")
        self.path = path
        self.speed = speed
        self.bad_lines: list[int] = []
        self.done = asyncio.Event()

    async def run(self, sink: Sink) -> None:
        previous: float | None = None
        with self.path.open(encoding="utf-8") as fh:
            for number, line in enumerate(fh, start=1):
                if not line.strip():
                    continue
                try:
                    event = parse_event(line)
                except ValidationError:
                    self.bad_lines.append(number)
                    continue
                if previous is not None and event.ts > previous:
                    await asyncio.sleep((event.ts - previous) / self.speed)
                previous = event.ts if previous is None else max(previous, event.ts)
                sink(event)
        self.done.set()
        await asyncio.Event().wait()  # a finished recording keeps its last state until stopped
