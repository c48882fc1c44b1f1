"""The alert engine's state, and alerts not yet delivered, in a small JSON file in the platform's
state dir (``~/.local/state/liqwatch/alerts.json`` on Linux), or in ``$LIQWATCH_STATE_DIR`` where
that is set (tests, several profiles side by side), written atomically (temporary file, fsync,
rename), so a restart neither re-sends nor loses alerts. What a restored state may keep quiet is
the engine's rule (:meth:`liqwatch.alerts.engine.AlertEngine.__init__`: it vouches only for alerts
delivered within their cooldown, for the same account identity).

The file: ``{"engine": EngineState.to_dict() or null, "outbox": {notifier key: [alert record, ...]}}``.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

from liqwatch.alerts.engine import AlertEngine, EngineState

ENV_DIR = "LIQWATCH_STATE_DIR"


def default_store_path() -> Path:
    override = os.environ.get(ENV_DIR)
    if override:
        return Path(override).expanduser() / "alerts.json"
    from platformdirs import user_state_path

    return user_state_path("liqwatch") / "alerts.json"


class Outbox(Protocol):
    """What :meth:`AlertStore.sync` needs of a dispatcher: its undelivered alerts."""

    @property
    def version(self) -> int: ...

    def outbox(self) -> dict[str, list[dict[str, Any]]]: ...


class AlertStore:
    """Loads and saves the state file (see the module docstring)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path or default_store_path()
        self._saved: tuple[int, int] | None = None

    def load(self) -> dict[str, Any]:
        """``{"engine": state dict or None, "outbox": {notifier key: [alert record, ...]}}``; a
        missing, unreadable or corrupt file loads as empty."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = None
        if not isinstance(data, dict):
            return {"engine": None, "outbox": {}}
        outbox = data.get("outbox")
        return {"engine": data.get("engine"), "outbox": outbox if isinstance(outbox, dict) else {}}

    def load_engine_state(self) -> dict[str, Any] | None:
        """The saved engine state as stored (:meth:`EngineState.from_dict` reads it)."""
        state = self.load()["engine"]
        return state if isinstance(state, dict) else None

    def save(
        self,
        engine_state: EngineState | Mapping[str, Any],
        outbox: Mapping[str, list[dict[str, Any]]] | None = None,
    ) -> None:
        state = engine_state.to_dict() if isinstance(engine_state, EngineState) else engine_state
        payload = json.dumps({"engine": state, "outbox": outbox or {}}, separators=(",", ":"))
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".alerts-", suffix=".tmp", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(payload)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def sync(self, engine: AlertEngine, outbox: Outbox | None = None) -> bool:
        """Save if the engine (or ``outbox``, a :class:`~liqwatch.alerts.dispatcher.Dispatcher`)
        changed since the last save; returns whether it wrote."""
        versions = (engine.version, 0 if outbox is None else outbox.version)
        if versions == self._saved:
            return False
        self.save(engine.state, outbox.outbox() if outbox is not None else None)
        self._saved = versions
        return True
