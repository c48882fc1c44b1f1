"""Glue between the monitor and the alerts package, shared by `liqwatch watch` and the dashboard:
evaluate each snapshot, notice and status event, hand alerts to the views and the dispatcher, and
keep the engine's state (and undelivered alerts) on disk so that a restart does not re-send.
``channels`` are the ``[[channels]]`` entries; ``extra`` adds notifiers built in code;
``accounts`` the configured accounts, whose identities (:func:`account_identity`) decide what the
saved state may keep quiet (see :class:`~liqwatch.alerts.engine.AlertEngine`)."""

from __future__ import annotations

import hashlib
import os
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from liqwatch.alerts.channels.base import Notifier
from liqwatch.alerts.config import AlertRuleConfig, ChannelConfig, build_engine, build_notifiers
from liqwatch.alerts.dispatcher import DeliveryFailure, Dispatcher
from liqwatch.alerts.model import Alert
from liqwatch.alerts.store import AlertStore
from liqwatch.feeds.events import Event, Status
from liqwatch.state import Notice, Snapshot

if TYPE_CHECKING:
    from liqwatch.config import AccountConfig
    from liqwatch.market.model import MarketReport

HELD_LIMIT = 10_000
"""Alerts a replica keeps for its channels while the bus decides who publishes them (one another
replica claimed is released only if that replica dies before publishing: a takeover)."""


def account_identity(account: AccountConfig, environ: Mapping[str, str] | None = None) -> str:
    """What makes an account this account, hashed: its exchange, name, network, endpoint, wallet,
    credential source (env var names, keyring entry) and the API key in its env var (the key only
    enters the hash). A test run's ``main`` on a fake server, or the same name on another key, is
    another account."""
    env = os.environ if environ is None else environ
    key = env.get(account.api_key_env, "") if account.api_key_env else ""
    parts = (
        account.exchange,
        account.name,
        "testnet" if account.testnet else "mainnet",
        account.rest_url or "",
        (account.wallet or "").lower(),
        account.keyring or "",
        account.api_key_env or "",
        hashlib.sha256(key.encode()).hexdigest() if key else "",
    )
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:16]


class AlertRunner:
    def __init__(
        self,
        rules: Sequence[AlertRuleConfig] = (),
        channels: Sequence[ChannelConfig] = (),
        *,
        extra: Sequence[Notifier] = (),
        store: AlertStore | None = None,
        accounts: Sequence[AccountConfig] = (),
        on_alert: Callable[[Alert], None] | None = None,
        on_failure: Callable[[DeliveryFailure], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        saved = store.load() if store is not None else {"engine": None, "outbox": {}}
        identities = {a.name: account_identity(a) for a in accounts}
        self.engine = build_engine(rules, saved.get("engine"), identities)
        self.clock = clock
        self.on_alert = on_alert
        built = [*build_notifiers(channels), *extra]
        self.external = bool(built)
        self.dispatcher = Dispatcher(
            built,
            on_delivered=lambda _name, alert: self.engine.mark_delivered(alert.id, self.clock()),
            on_failure=on_failure,
            clock=clock,
        )
        self.dispatcher.restore(saved.get("outbox") or {})
        self._held: OrderedDict[str, Alert] | None = None

    def hold_until_published(self) -> None:
        """Replicas of a bus group (``watch --publish --replica``): deliver through this runner's
        channels only the alerts this replica publishes (:meth:`release`), so that two replicas with
        the same ``[[channels]]`` deliver each alert once. An alert another replica claimed first
        is not delivered here (its cooldown runs as if it had been); one this replica takes over
        from a claimant that died is."""
        if self._held is None:
            self._held = OrderedDict()

    def release(self, alert_id: str) -> None:
        """The bus published ``alert_id`` for this replica: hand it to the channels."""
        if self._held is not None and (alert := self._held.pop(alert_id, None)) is not None:
            self.dispatcher.submit(alert)
            if self.store is not None:
                self.store.sync(self.engine, self.dispatcher)

    def start(self) -> None:
        self.dispatcher.start()

    def _emit(self, alerts: list[Alert]) -> None:
        now = self.clock()
        for alert in alerts:
            if self.on_alert is not None:
                self.on_alert(alert)
            if self.external and self._held is not None:  # until this replica publishes it
                self._held[alert.id] = alert
                while len(self._held) > HELD_LIMIT:  # claimed by another replica long ago
                    self._held.popitem(last=False)
            elif self.external:
                self.dispatcher.submit(alert)
            else:  # printed or shown is delivered: the cooldown starts now
                self.engine.mark_delivered(alert.id, now)
        if alerts and self.store is not None:
            self.store.sync(self.engine, self.dispatcher)

    def on_snapshot(self, snapshot: Snapshot) -> None:
        self._emit(self.engine.evaluate(snapshot, self.clock()))

    def on_market(self, report: MarketReport) -> None:
        """A venue's market report (issue #13): insurance drawdown, ADL risk, mark vs index."""
        self._emit(self.engine.evaluate_market(report, self.clock()))

    def on_position_records(self, records: Sequence[Mapping[str, Any]]) -> None:
        """Position records (``watch``'s snapshot ``positions``): the ``funding`` rule."""
        self._emit(self.engine.evaluate_funding(records, self.clock()))

    def on_notice(self, notice: Notice) -> None:
        self._emit(self.engine.on_notice(notice, self.clock()))

    def on_event(self, event: Event) -> None:
        if isinstance(event, Status):
            self._emit(self.engine.on_status(event, self.clock()))

    async def stop(self) -> None:
        await self.dispatcher.stop(timeout=2.0)
        if self.store is not None:
            self.store.sync(self.engine, self.dispatcher)


__all__ = ["AlertRunner", "account_identity"]
