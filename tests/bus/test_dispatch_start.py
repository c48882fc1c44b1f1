"""Dispatchers started at the same moment (issue #22: "several dispatchers share the work"): both
find no shared consumer and both create it, the second with another start time, which the server
refuses ("start time can not be updated"); the second binds to the consumer the first created."""

from __future__ import annotations

import asyncio

from liqwatch.bus.dispatch import DURABLE, STREAM, BusDispatcher
from tests.bus.conftest import NatsServer
from tests.bus.test_publish import init


def test_dispatchers_starting_at_once_share_the_one_consumer(nats_server: NatsServer) -> None:
    import nats

    init(nats_server.url)

    async def go() -> None:
        nc = await nats.connect(nats_server.url)
        try:
            js = nc.jetstream()
            for _ in range(3):
                first, second = BusDispatcher(js, [], since=3600.0), BusDispatcher(js, [], since=60.0)
                subs = await asyncio.gather(first.subscribe(), second.subscribe())
                infos = [await sub.consumer_info() for sub in subs]
                assert {info.name for info in infos} == {DURABLE}
                assert infos[0].config.opt_start_time == infos[1].config.opt_start_time  # one consumer
                for sub in subs:
                    await sub.unsubscribe()
                await js.delete_consumer(STREAM, DURABLE)  # the next round starts without it
        finally:
            await nc.close()

    asyncio.run(go())
