"""PositionHintStream (real ccxt.pro clients) plumbing against the fake private-stream servers:
reconnects, rejected credentials, malformed rows, venues without a stream, redaction.

Everything runs on 127.0.0.1; ccxt's rate limiter is stubbed out. Every test also checks that no
API key, secret, passphrase or Binance listen key reaches any event. Each venue's wire format:
tests/venues/test_private_wires.py and tests/venues/<venue>/test_<venue>_private.py."""

from __future__ import annotations

import asyncio

import pytest

from liqwatch.config import Secrets
from liqwatch.feeds.ccxt_client import AUTH_MESSAGE
from liqwatch.feeds.events import Event, Status
from liqwatch.feeds.private import NO_STREAM, PositionHintStream
from liqwatch.feeds.reconnect import SLOW_RETRY
from tests.fakes.private_harness import KEYED, VENUES, Harness, account, run, secrets
from tests.fakes.private_server import DEFAULT_PASSPHRASE, DEFAULT_SECRET
from tests.fakes.rest_server import DEFAULT_KEY
from tests.fakes.ws_server import WAIT_TIMEOUT


@pytest.mark.parametrize("venue", VENUES)
def test_a_drop_reconnects_and_requests_resyncs(venue: str) -> None:
    async def body(h: Harness) -> None:
        await h.connected()
        await h.fake.drop()
        await h.connected(2)
        await h.fake.wait_subscribed(2)
        await h.fake.push(h.fake.message("change"))
        await h.until(lambda: bool(h.hints()))

    h = run(venue, body)
    states = [s.state for s in h.statuses()]
    assert states[:2] == ["connecting", "connected"]
    assert states[2:6] == ["disconnected", "reconnecting", "connecting", "connected"]
    assert "network error" in h.statuses("disconnected")[0].detail
    assert h.resyncs == 2  # when it dropped, and once it was live again
    assert h.fake.ws_connections == 2
    assert h.stream.connections == 2


@pytest.mark.parametrize("venue", KEYED)
def test_rejected_credentials_are_an_auth_error_retried_slowly(venue: str) -> None:
    async def body(h: Harness) -> None:
        await h.until(lambda: bool(h.statuses("error")))

    # Binance: an unknown key (listen key refused); Bybit and OKX: the key is known but the
    # websocket signature is wrong (their REST fakes do not check signatures).
    kw = {"key": "wrong-key-0000000000"} if venue == "binance" else {"secret": "wrong-secret-000000000"}
    h = run(venue, body, **kw)
    (error,) = h.statuses("error")
    assert error.detail == f"{venue} account 'main': {AUTH_MESSAGE}"
    assert h.stream.delays == [SLOW_RETRY]
    assert h.resyncs == 0  # never live: nothing was missed
    assert not h.statuses("connected")
    if venue != "binance":
        assert h.fake.auth_failures == 1


def test_malformed_rows_are_skipped_and_the_stream_goes_on() -> None:
    async def body(h: Harness) -> None:
        await h.connected()
        bad = h.fake.message("change")
        bad["a"]["P"][0]["ep"] = "not-a-price"  # an open position without an entry price
        await h.fake.push(bad)
        await h.until(lambda: h.resyncs == 1)  # it changed and cannot be mapped: re-read
        await h.fake.push(h.fake.message("funding"))  # balance only: nothing to say
        await h.fake.push({"e": "ACCOUNT_UPDATE", "E": 1, "a": {"P": [{"s": "ETHUSDT", "pa": "abc"}]}})
        await h.fake.push({"e": "ACCOUNT_UPDATE", "E": 1, "a": {"P": [{"s": "ETHUSDT"}]}})  # size unknown
        await h.fake.push(h.fake.message("change"))
        await h.until(lambda: bool(h.hints()))

    h = run("binance", body)
    (error,) = h.statuses("error")  # once per connection
    assert error.detail.startswith("skipping malformed private position messages")
    assert h.stream.skipped == 2
    assert h.resyncs == 2  # the unmappable row, and the row without a size (maybe closed)
    assert len(h.hints()) == 1
    assert not h.statuses("disconnected")


@pytest.mark.parametrize(
    ("venue", "stream_secrets"),
    [("gate", secrets("gate")), ("bitget", secrets("bitget")), ("binance", Secrets(None, None))],
)
def test_no_private_stream_means_one_status_and_return(venue: str, stream_secrets: Secrets) -> None:
    events: list[Event] = []
    resyncs: list[int] = []
    stream = PositionHintStream(account(venue), stream_secrets, events.append, on_expired=lambda: resyncs.append(1))
    asyncio.run(asyncio.wait_for(stream.run(), WAIT_TIMEOUT))
    assert [(e.state, e.channel, e.detail) for e in events if isinstance(e, Status)] == [
        ("closed", "private", NO_STREAM)
    ]
    assert len(events) == 1
    assert resyncs == []
    assert not stream.available()


def test_errors_are_redacted() -> None:
    key = "my-listen-key-abcdef0123456789"
    stream = PositionHintStream(account("okx"), secrets("okx"), lambda e: None)
    stream._listen_keys.add(key)
    text = f"okx boom {DEFAULT_KEY} {DEFAULT_SECRET} {DEFAULT_PASSPHRASE} ws://h/private/ws?listenKey={key} {key}"
    error = stream._feed_error(RuntimeError(text))
    for value in (DEFAULT_KEY, DEFAULT_SECRET, DEFAULT_PASSPHRASE, key):
        assert value not in error.message
    assert error.message.startswith("okx account 'main': unexpected failure while watching private positions")
