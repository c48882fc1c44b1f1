"""liqwatch on a NATS JetStream bus (issue #22; ``pip install 'liqwatch[bus]'``).

The data path is sources → state → sinks; the bus is one more of each:

* :mod:`liqwatch.bus.names` — subjects, streams and buckets, the group/account name rule (no nats),
* :mod:`liqwatch.bus.connect` — one connection from a ``[bus]`` table or flags, errors in one line,
* :mod:`liqwatch.bus.admin` — ``liqwatch bus init URL`` (streams and KV buckets, idempotent),
* :mod:`liqwatch.bus.sink` — ``watch --publish``: every record ``watch`` prints, on its subject,
* :mod:`liqwatch.bus.source` — ``watch --source``: the bus back as ``watch``'s JSON lines,
* :mod:`liqwatch.bus.feed` — ``liqwatch --source``: the bus as the dashboard's feed (STALE groups, alerts),
* :mod:`liqwatch.bus.claims` — replicas of a group claim each alert so that it is published once,
* :mod:`liqwatch.bus.dispatch` — ``alerts dispatch``: the bus's alerts through the channels.

Only these modules import ``nats``; calc, the core and the dashboard without ``--source`` never
load them (tests check).
"""
