"""Convert a tier snapshot in the loader format into liqwatch's lazily read bundled form.

    python scripts/build_tier_index.py ../shared/reference/tiers/binance-usdm-2026-03-26.json

writes ``liqwatch/data/tiers/<venue>.json`` (the file-level keys and a small index: unified symbol
-> [native id, byte offset, byte length]) and ``liqwatch/data/tiers/<venue>.jsonl`` (one symbol
entry per line). ``liqwatch.markets`` reads the index, then only the requested symbol's line. Run
at build time only: the product never reads the source file.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "liqwatch" / "data" / "tiers"


def convert(src: Path, out_dir: Path = OUT, extra_notes: str = "", notes: str | None = None) -> tuple[Path, Path]:
    raw: dict[str, Any] = json.loads(src.read_text(encoding="utf-8"))
    venue = str(raw["venue"])
    symbols: dict[str, dict[str, Any]] = raw.pop("symbols")
    header = dict(raw)
    header.setdefault("complete", True)
    if notes is not None:
        header["notes"] = notes
    if extra_notes:
        header["notes"] = f"{header.get('notes', '')} {extra_notes}".strip()
    header["data"] = f"{venue}.jsonl"
    lines: list[bytes] = []
    index: dict[str, list[Any]] = {}
    offset = 0
    for name in sorted(symbols):
        entry = symbols[name]
        if not entry.get("tiers"):
            raise SystemExit(f"{name}: no tiers")
        line = json.dumps(entry, separators=(",", ":"), ensure_ascii=True).encode("ascii")
        index[name] = [str(entry.get("id", name)), offset, len(line)]
        lines.append(line + b"\n")
        offset += len(line) + 1
    header["index"] = index
    data_path = out_dir / f"{venue}.jsonl"
    head_path = out_dir / f"{venue}.json"
    data_path.write_bytes(b"".join(lines))
    head_path.write_text(json.dumps(header, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return head_path, data_path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="a tier snapshot in the loader format (venue, symbols, ...)")
    ap.add_argument("--out", type=Path, default=OUT, help="output directory (default: liqwatch/data/tiers)")
    ap.add_argument("--note", default="", help="text appended to the snapshot's notes")
    ap.add_argument("--notes", default=None, help="replace the snapshot's notes with this text")
    args = ap.parse_args()
    head, data = convert(args.source, args.out, args.note, args.notes)
    print(f"wrote {head} ({head.stat().st_size} bytes) and {data} ({data.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
