"""binance: its user-data stream (listen key lifecycle, 2026 private URL) against the fake server."""

from __future__ import annotations

import pytest

from liqwatch.feeds.private import LISTEN_KEY_EXPIRED, private_ws_base
from liqwatch.venues.binance import private
from tests.fakes.private_harness import Harness, run


def test_binance_listen_key_expired_reconnects_with_a_new_key() -> None:
    async def body(h: Harness) -> None:
        await h.connected()
        first = h.fake.listen_key
        await h.fake.expire_listen_key()
        await h.connected(2)
        assert h.fake.listen_key not in (None, first)
        await h.fake.push(h.fake.message("change"))
        await h.until(lambda: bool(h.hints()))

    h = run("binance", body)
    states = [(s.state, s.detail) for s in h.statuses()]
    i = states.index(("disconnected", LISTEN_KEY_EXPIRED))
    assert [s for s, _ in states[i:]] == ["disconnected", "reconnecting", "connecting", "connected"]
    assert h.resyncs == 2  # on expiry, and once the new stream is live
    assert h.fake.listen_key_calls == ["POST", "POST"]
    assert len(h.fake.issued_keys) == 2


def test_binance_failed_listen_key_keepalive_is_an_expiry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(private, "LISTEN_KEY_REFRESH_MS", 150)

    async def body(h: Harness) -> None:
        await h.connected()
        await h.until(lambda: h.fake.listen_key_calls.count("PUT") >= 2)  # kept alive, repeatedly
        h.fake.listen_key = None  # expired without an event: the next PUT gets -1125
        await h.until(lambda: any(s.detail == LISTEN_KEY_EXPIRED for s in h.statuses("disconnected")))
        await h.connected(2)

    h = run("binance", body)
    assert h.resyncs >= 2
    assert "DELETE" not in h.fake.listen_key_calls


def test_binance_private_url_is_the_2026_layout() -> None:
    import ccxt.pro as ccxt_pro

    ex = ccxt_pro.binanceusdm()
    ex.urls["api"]["ws"]["linear"] = private_ws_base("binance", "ws://127.0.0.1:1/market/ws")
    assert ex.get_private_ws_url("linear", "KEY") == "ws://127.0.0.1:1/private/ws?listenKey=KEY"
