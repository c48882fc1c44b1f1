"""What the dashboard remembers between runs: the sort and the filter.

Kept as a small JSON file in the platform's config directory (``platformdirs``), or in
``$LIQWATCH_CONFIG_DIR`` where that is set (tests, several profiles side by side). A missing or
unreadable file means the defaults; the dashboard never fails to start over it.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

ENV = "LIQWATCH_CONFIG_DIR"
FILE = "dashboard.json"


def settings_path() -> Path:
    override = os.environ.get(ENV)
    if override:
        return Path(override).expanduser() / FILE
    if sys.platform.startswith("linux"):
        # platformdirs' rule on Linux (XDG), without importing it before the first frame; a test
        # checks the two agree. Elsewhere platformdirs decides.
        base = os.environ.get("XDG_CONFIG_HOME", "").strip()
        return (Path(base) if base else Path.home() / ".config") / "liqwatch" / FILE
    from platformdirs import user_config_path

    return user_config_path("liqwatch") / FILE


@dataclass
class Settings:
    sort: str = "nearest liquidation"
    filter: str = ""

    @classmethod
    def load(cls, path: Path, sorts: set[str]) -> Settings:
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return cls()
        if not isinstance(raw, dict):
            return cls()
        sort = raw.get("sort")
        text = raw.get("filter")
        return cls(
            sort=sort if isinstance(sort, str) and sort in sorts else cls.sort,
            filter=text if isinstance(text, str) else "",
        )

    def save(self, path: Path) -> str | None:
        """Write the file (atomically); the error's text where it could not be written."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(asdict(self), indent=1), encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            return f"{path}: {exc.strerror or exc}"
        return None
