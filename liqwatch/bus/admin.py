"""``liqwatch bus init URL``: the streams and KV buckets of :mod:`liqwatch.bus.names`, created once
by someone with JetStream admin rights (watchers and dashboards then need none). Idempotent: what
exists as liqwatch needs it is left alone and said so; a stream whose settings differ is updated."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from liqwatch.bus.connect import connect, no_jetstream, reason, safe_url
from liqwatch.bus.names import BUCKETS, STREAMS, BucketSpec, StreamSpec
from liqwatch.core.errors import InputError

if TYPE_CHECKING:
    from nats.js import JetStreamContext

    from liqwatch.config import BusConfig

FIELD = "bus init"


def _stream_config(spec: StreamSpec, replicas: int = 1) -> Any:
    from nats.js.api import RetentionPolicy, StorageType, StreamConfig

    return StreamConfig(
        name=spec.name,
        subjects=list(spec.subjects),
        retention=RetentionPolicy.LIMITS,
        storage=StorageType.FILE,
        max_age=spec.max_age,
        max_msgs_per_subject=spec.max_msgs_per_subject,
        max_bytes=spec.max_bytes,
        duplicate_window=spec.duplicate_window,
        allow_direct=spec.allow_direct,
        num_replicas=replicas,
    )


def _differs(spec: StreamSpec, have: Any, replicas: int = 1) -> list[str]:
    """The settings of an existing stream that are not ``spec``'s."""
    out = [] if (have.num_replicas or 1) == replicas else ["replicas"]
    if sorted(have.subjects or []) != sorted(spec.subjects):
        out.append("subjects")
    for name in ("max_age", "duplicate_window"):
        if abs(float(getattr(have, name) or 0.0) - getattr(spec, name)) > 1e-3:
            out.append(name)
    for name in ("max_msgs_per_subject", "max_bytes", "allow_direct"):
        if (getattr(have, name) or (False if name == "allow_direct" else -1)) != getattr(spec, name):
            out.append(name)
    return out


async def _stream(js: JetStreamContext, spec: StreamSpec, replicas: int) -> str:
    from nats.js.errors import NotFoundError

    try:
        info = await js.stream_info(spec.name)
    except NotFoundError:
        await js.add_stream(_stream_config(spec, replicas))
        return f"stream {spec.name}: created ({', '.join(spec.subjects)})"
    differs = _differs(spec, info.config, replicas)
    if not differs:
        return f"stream {spec.name}: unchanged"
    await js.update_stream(_stream_config(spec, replicas))
    return f"stream {spec.name}: updated ({', '.join(differs)})"


async def _bucket(js: JetStreamContext, spec: BucketSpec, replicas: int) -> str:
    from nats.js.api import KeyValueConfig, StorageType
    from nats.js.errors import BucketNotFoundError

    try:
        await js.key_value(spec.name)
        info = await js.stream_info(f"KV_{spec.name}")
        if (info.config.num_replicas or 1) == replicas:
            return f"kv {spec.name}: unchanged"
        info.config.num_replicas = replicas
        await js.update_stream(info.config)
        return f"kv {spec.name}: updated (replicas)"
    except BucketNotFoundError:
        pass
    config = KeyValueConfig(
        bucket=spec.name, history=spec.history, ttl=spec.ttl, storage=StorageType.FILE, replicas=replicas
    )
    await js.create_key_value(config)
    return f"kv {spec.name}: created"


async def init_bus(cfg: BusConfig, replicas: int = 1) -> list[str]:
    """Create or check every stream and bucket (``replicas`` copies each: 3 in a 3-node cluster);
    one line each, and a last line saying whether anything changed. Raises InputError with one
    line (unreachable, no JetStream, refused)."""
    from nats.errors import NoRespondersError
    from nats.errors import TimeoutError as NatsTimeout
    from nats.js.errors import APIError, ServiceUnavailableError

    assert cfg.url is not None
    nc = await connect(cfg, field=FIELD)
    lines: list[str] = []
    try:
        js = nc.jetstream(timeout=5.0)
        try:
            await js.account_info()
        except (NoRespondersError, ServiceUnavailableError):
            raise no_jetstream(cfg.url, FIELD) from None
        except NatsTimeout:  # a request the server dropped: most often a permissions violation
            raise InputError(
                FIELD,
                f"the JetStream API at {safe_url(cfg.url)} did not answer (no permission for $JS.API?); "
                "`bus init` needs JetStream admin rights",
            ) from None
        except APIError as exc:
            raise InputError(FIELD, f"JetStream at {safe_url(cfg.url)} refused: {reason(exc)}") from None
        for spec in STREAMS:
            try:
                lines.append(await _stream(js, spec, replicas))
            except (APIError, NatsTimeout, NoRespondersError) as exc:
                raise _refused(cfg.url, f"stream {spec.name}", exc) from None
        for bucket in BUCKETS:
            try:
                lines.append(await _bucket(js, bucket, replicas))
            except (APIError, NatsTimeout, NoRespondersError) as exc:
                raise _refused(cfg.url, f"kv {bucket.name}", exc) from None
    finally:
        await nc.close()
    changed = [line for line in lines if not line.endswith(": unchanged")]
    if changed:
        lines.append(f"bus init: {len(changed)} of {len(lines)} created or updated on {safe_url(cfg.url)}")
    else:
        lines.append(f"bus init: nothing to change on {safe_url(cfg.url)} (every stream and bucket already as needed)")
    return lines


def _refused(url: str, what: str, exc: BaseException) -> InputError:
    why = reason(exc) or "no answer"
    if "replicas" in why.lower() or "peers" in why.lower():  # "replicas > 1 not supported …", "no suitable peers …"
        return InputError(
            FIELD, f"{what}: the server at {safe_url(url)} refused ({why}); --replicas N needs N servers up and joined"
        )
    if type(exc).__name__ in ("TimeoutError", "NoRespondersError"):
        why = "no answer (permission to the JetStream API denied?)"
    return InputError(
        FIELD, f"{what}: the server at {safe_url(url)} refused ({why}); `bus init` needs JetStream admin rights"
    )
