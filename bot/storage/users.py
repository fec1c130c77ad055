"""Users repository: the language a user chose, and when they were first and last seen."""

from __future__ import annotations

import datetime as dt
from typing import Any

from tinydb import Query, TinyDB


class UserRepository:
    def __init__(self, db: TinyDB) -> None:
        self._table = db.table("users")

    def get(self, user_id: int) -> dict[str, Any] | None:
        doc = self._table.get(Query().id == user_id)
        return dict(doc) if isinstance(doc, dict) else None

    def locale(self, user_id: int) -> str | None:
        user = self.get(user_id)
        return user.get("locale") if user else None

    def set_locale(self, user_id: int, locale: str) -> None:
        self._upsert(user_id, locale=locale)

    def touch(self, user_id: int) -> None:
        """Record a visit; at most one write per user per day."""
        today = dt.date.today().isoformat()
        user = self.get(user_id)
        if user is None:
            self._upsert(user_id, first_seen=today, last_seen=today)
        elif user.get("last_seen") != today:
            self._upsert(user_id, last_seen=today)

    def _upsert(self, user_id: int, **fields: Any) -> None:
        self._table.upsert({"id": user_id, **fields}, Query().id == user_id)
