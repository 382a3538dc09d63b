"""The store gets the search index's flush events through an entry point, and refuses to
run without them rather than let the index fall behind."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from earshot.errors import ConfigError
from earshot.store import hooks


def test_the_search_hook_is_registered_by_entry_point() -> None:
    assert "search" in hooks.load_session_hooks()
    from earshot.search import sync

    assert event.contains(Session, "after_flush", sync._after_flush)


def test_missing_entry_points_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    def nothing(**_: Any) -> list[Any]:
        return []

    monkeypatch.setattr(hooks, "entry_points", nothing)
    with pytest.raises(ConfigError, match="pip install -e"):
        hooks.load_session_hooks.__wrapped__()
