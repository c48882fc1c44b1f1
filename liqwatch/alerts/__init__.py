"""Alerts, by role:

* :mod:`.model` — :class:`Alert`, :class:`Rule` (kinds, severities), the default rules;
* :mod:`.messages` — the wording of each alert;
* :mod:`.engine` — the pure rule engine (snapshots, notices, status events in; alerts out) and its
  typed, persisted :class:`~.engine.EngineState`;
* :mod:`.store` — the state file (atomic writes, platform state dir);
* :mod:`.channels` — notifiers, one module per kind (what a ``[[channels]]`` entry builds);
* :mod:`.dispatcher` — delivery that never blocks the monitor (bounded queues, retries);
* :mod:`.config` — the ``[[alerts]]`` / ``[[channels]]`` config models;
* :mod:`.runner` — the glue ``liqwatch watch`` and the dashboard share.
"""

from __future__ import annotations

from liqwatch.alerts.engine import AlertEngine, EngineState
from liqwatch.alerts.model import Alert, Rule, default_rules
from liqwatch.alerts.store import AlertStore

__all__ = ["Alert", "AlertEngine", "AlertStore", "EngineState", "Rule", "default_rules"]
