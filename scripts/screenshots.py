"""Regenerate screenshots/ from the real program (`make screenshots`).

The dashboard at each terminal size (80x24, 100x30, 120x40, 160x50), at the crash moment and after
it, and its screens; `liqwatch calc` on the bundled example portfolio and on a single position,
with colour forced, its terminal output converted to SVG with rich (a development-time tool here;
the calculator itself does not import rich).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from rich.console import Console
from rich.text import Text

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the dashboard shots drive the demo with the tests' clock driver
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


TUI_SHOTS: dict[str, tuple[tuple[int, int], int, list[str]]] = {
    # name: (terminal size, simulated seconds into the seed-7 demo, keys pressed)
    "dashboard": ((160, 50), 20, []),
    "dashboard-80x24": ((80, 24), 20, []),
    "dashboard-100x30": ((100, 30), 20, []),
    "dashboard-120x40": ((120, 40), 20, []),
    "dashboard-160x50": ((160, 50), 20, []),
    "dashboard-crash": ((120, 40), 31, []),
    "dashboard-after-crash": ((160, 50), 38, []),
    "detail-narrow": ((120, 40), 20, []),  # open under the table from 32 lines
    "detail": ((160, 50), 20, ["down", "down"]),
    "backstop": ((160, 72), 40, ["down", "down", "down"]),
    # the multi-assets account in the crash: its card red, its position's Collateral block (the
    # pair sorts last: no single-collateral distance); before the crash, its what-if of USDE -35 %
    "collateral": ((160, 72), 38, ["ctrl+end"]),
    "whatif-collateral": ((150, 42), 20, ["ctrl+end", "w", *"USDE=-35"]),
    "whatif": ((150, 42), 0, ["w", "2", "0", "0", "0", "0", "tab", "tab", "tab", "tab", "-", "3"]),
    "ladder": ((150, 42), 20, ["l"]),
    "alerts": ((120, 40), 38, ["A"]),
    "help": ((150, 42), 0, ["question_mark"]),
}
"""The dashboard's shots: the demo's clock is driven tick by tick through the app's own sink (the
crash at 25 s is the same every time with the seed), never slept on."""


async def _tui_shot(name: str, size: tuple[int, int], ticks: int, keys: list[str]) -> None:
    from tests.tui.driver import Clock, demo_app, run_to

    clock = Clock()
    app, market = demo_app(clock)
    async with app.run_test(size=size, notifications=True) as pilot:
        await run_to(pilot, market, clock, ticks)
        await pilot.pause()
        if keys:
            await pilot.press(*keys)
            await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause()
        app.save_screenshot(f"{name}.svg", str(OUT))
    print(f"wrote screenshots/{name}.svg")


def main() -> None:
    OUT.mkdir(exist_ok=True)
    import asyncio

    for name, (size, ticks, keys) in TUI_SHOTS.items():
        asyncio.run(_tui_shot(name, size, ticks, keys))
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
