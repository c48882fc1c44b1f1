"""Data sources: every venue, the embedded demo market and recorded sessions, behind one interface.

A feed turns whatever its source speaks (ccxt REST, a venue's websocket, a simulation, a file) into
normalised :mod:`liqwatch.feeds.events` and hands them to a sink; the state store
(:mod:`liqwatch.state`) applies them and the risk core recomputes from the store. Data flows one
way: feed -> state -> risk -> view/alerts.
"""
