"""Alerts: a pure rule engine over state snapshots (:mod:`.rules`), delivery that never blocks the
monitor (:mod:`.channels`), and the ``[[alerts]]`` / ``[[channels]]`` config models (:mod:`.config`)."""

from __future__ import annotations

from liqwatch.alerts.rules import Alert, AlertEngine, AlertStore, Rule, default_rules

__all__ = ["Alert", "AlertEngine", "AlertStore", "Rule", "default_rules"]
