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


def main() -> None:
    OUT.mkdir(exist_ok=True)
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
