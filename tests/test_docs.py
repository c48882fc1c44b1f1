"""Documentation the code points at exists: every ``docs/...`` path cited under liqwatch/, and one
note per venue (docs/venues/<name>.md)."""

from __future__ import annotations

import re
from pathlib import Path

from liqwatch.core.venues import VENUES

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "liqwatch"
DOCS = ROOT / "docs"

# A cited path: docs/ followed by path characters, ending in a file name with an extension.
# ``<venue>``-style placeholders are expanded to every venue name.
_CITED = re.compile(r"\bdocs/(?:[\w.<>-]+/)*[\w.<>-]+\.\w+")


def _cited_paths() -> dict[str, list[str]]:
    cited: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*")):
        if path.suffix not in {".py", ".json", ".toml", ".md"} or "__pycache__" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        for lineno, line in enumerate(text.splitlines(), 1):
            for match in _CITED.finditer(line):
                where = f"{path.relative_to(ROOT)}:{lineno}"
                cited.setdefault(match.group(0).rstrip("."), []).append(where)
    return cited


def _expand(cited: str) -> list[str]:
    if "<" not in cited:
        return [cited]
    return [re.sub(r"<[^>]+>", name, cited) for name in VENUES]


def test_code_cites_docs() -> None:
    # The venue modules point at their notes: the scan below has something to check.
    cited = _cited_paths()
    for name in VENUES:
        assert f"docs/venues/{name}.md" in cited, f"liqwatch/core/venues/{name}.py should cite its notes"


def test_every_cited_docs_path_exists() -> None:
    missing = [
        f"{path} (cited at {', '.join(where)})"
        for cited, where in _cited_paths().items()
        for path in _expand(cited)
        if not (ROOT / path).is_file()
    ]
    assert not missing, "code cites documents that are not in the repository:\n" + "\n".join(missing)


def test_every_venue_has_its_notes() -> None:
    for name in VENUES:
        note = DOCS / "venues" / f"{name}.md"
        assert note.is_file(), f"docs/venues/{name}.md is missing"
        assert note.read_text(encoding="utf-8").strip(), f"docs/venues/{name}.md is empty"


def test_venue_index_lists_every_venue() -> None:
    index = (DOCS / "venues" / "README.md").read_text(encoding="utf-8")
    for name in VENUES:
        assert f"({name}.md)" in index, f"docs/venues/README.md does not link {name}.md"


_VENUE_LIST = re.compile(r"#\s*((?:binance|bybit|okx|bitget|gate|hyperliquid|deribit)(?:,\s*\w+)+)")


def test_every_venue_list_in_the_docs_names_all_venues() -> None:
    """A comment listing the venues (README, config docstring, example portfolio) lists all of them."""
    found = 0
    for path in (ROOT / "README.md", PACKAGE / "config.py", ROOT / "examples" / "portfolio.toml"):
        for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for match in _VENUE_LIST.finditer(line):
                found += 1
                listed = {name.strip() for name in match.group(1).split(",")}
                assert listed >= set(VENUES), f"{path.name}:{lineno} leaves out {sorted(set(VENUES) - listed)}"
    assert found >= 3


def test_every_screenshot_is_shown_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    unshown = [p.name for p in sorted((ROOT / "screenshots").glob("*.svg")) if f"screenshots/{p.name}" not in readme]
    assert not unshown, f"screenshots/ holds images the README does not show: {unshown}"
