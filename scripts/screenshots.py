"""Regenerate screenshots/ from the real program (`make screenshots`).

Runs `liqwatch calc` on the bundled example portfolio and on a single position, with colour
forced, and converts the terminal output to SVG with rich (a development-time tool here; the
calculator itself does not import rich).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "screenshots"

SHOTS = {
    "calc-whatif-add": ["calc", "--portfolio", "examples/portfolio.toml", "--symbol", "SOLUSDT", "--add-size", "300"],
    "calc-shock": ["calc", "--portfolio", "examples/portfolio.toml", "--shock", "-40:10:10"],
    "calc-portfolio": ["calc", "--portfolio", "examples/portfolio.toml"],
    "calc-position": [
        "calc",
        "--exchange",
        "binance",
        "--symbol",
        "BTCUSDT",
        "--side",
        "long",
        "--size",
        "2",
        "--entry",
        "64200",
        "--leverage",
        "25",
        "--mark",
        "62650",
    ],
}


TUI_SHOTS = {
    # name: (simulated seconds into the demo, keys pressed)
    "dashboard": (0, []),
    "dashboard-after-crash": (38, []),
    "detail": (0, ["down", "down"]),
    "whatif": (0, ["w", "2", "0", "0", "0", "0", "tab", "tab", "tab", "tab", "-", "3"]),
    "ladder": (0, ["l"]),
    "help": (0, ["question_mark"]),
}


async def _tui_shot(name: str, ticks: int, keys: list[str]) -> None:
    from liqwatch.feeds.demo import DemoMarket
    from liqwatch.tui.app import LiqwatchApp

    now = 1_790_000_000.0
    market = DemoMarket(7)
    for _ in range(ticks):
        market.step()
    app = LiqwatchApp([], clock=lambda: now, refresh_seconds=3600, autostart=False, show_clock=False)
    for event in market.initial_events(now):
        app.monitor.state.apply(event)
    async with app.run_test(size=(150, 42)) as pilot:
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
            await pilot.pause()
        app.save_screenshot(f"{name}.svg", str(OUT))
    print(f"wrote screenshots/{name}.svg")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    import asyncio

    for name, (ticks, keys) in TUI_SHOTS.items():
        asyncio.run(_tui_shot(name, ticks, keys))
    for name, args in SHOTS.items():
        width = 150 if name in ("calc-portfolio", "calc-shock") else 90
        env = {**os.environ, "COLUMNS": str(width), "LIQWATCH_FORCE_COLOR": "1"}
        env.pop("NO_COLOR", None)
        out = subprocess.run(
            [sys.executable, "-m", "liqwatch.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        ).stdout
        console = Console(record=True, width=width, file=open(os.devnull, "w"), force_terminal=True)  # noqa: SIM115
        console.print(Text.from_ansi(out))
        console.save_svg(str(OUT / f"{name}.svg"), title=f"liqwatch {' '.join(args[:3])}")
        print(f"wrote screenshots/{name}.svg")


if __name__ == "__main__":
    main()
