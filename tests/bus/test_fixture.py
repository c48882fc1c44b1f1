"""The real-server fixture itself: JetStream answers, a SIGKILL restart keeps the store."""

from __future__ import annotations

import asyncio

from tests.bus.conftest import NatsServer


async def _put_and_count(url: str, put: bool) -> int:
    import nats

    nc = await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=1)
    try:
        js = nc.jetstream()
        if put:
            await js.add_stream(name="FIXTURE", subjects=["fixture.>"])
            await js.publish("fixture.a", b"1")
        info = await js.stream_info("FIXTURE")
        return info.state.messages
    finally:
        await nc.close()


def test_server_restarts_on_the_same_port_and_store(nats_server: NatsServer) -> None:
    assert asyncio.run(_put_and_count(nats_server.url, put=True)) == 1
    pid = nats_server.proc.pid if nats_server.proc else None
    port = nats_server.port
    nats_server.restart(kill=True)
    assert nats_server.proc is not None and nats_server.proc.pid != pid
    assert nats_server.port == port
    assert asyncio.run(_put_and_count(nats_server.url, put=False)) == 1
