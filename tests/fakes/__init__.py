"""Fake exchange servers for tests (REST; websocket fakes live alongside)."""
