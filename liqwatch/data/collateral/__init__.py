"""Dated collateral-table snapshots shipped with liqwatch (issue #21): one JSON file per venue, in
the collateral cache's format (:mod:`liqwatch.collateral_cache`) plus provenance keys (``source``,
``complete``, ``notes``). Read by ``liqwatch calc`` for a collateral row given without ``ratio``,
``tiers`` or buffers when the user's cache has no fresher table for the asset."""
