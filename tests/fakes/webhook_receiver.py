"""A local HTTP receiver on 127.0.0.1 (an ephemeral port) that records what alert notifiers send
it, and can fail on demand."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web


class Receiver:
    """Records each POST (path, body, headers); while ``fail`` is set answers 500 instead."""

    def __init__(self) -> None:
        self.hits: list[tuple[str, bytes, dict[str, str]]] = []
        self.attempts = 0
        self.fail = False
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.attempts += 1
        if self.fail:
            return web.Response(status=500, text=f"down: {request.path}")  # echoes the secret path
        self.hits.append((request.path, body, dict(request.headers)))
        return web.Response(text="ok")

    def alerts(self, path: str = "/hook/SECRET") -> list[dict[str, Any]]:
        return [json.loads(body) for p, body, _ in self.hits if p == path]


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    rec = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", rec.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    rec.url = f"http://{host}:{port}"
    try:
        yield rec
    finally:
        await runner.cleanup()
