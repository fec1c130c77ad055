"""Open the bot's TinyDB database (crash-safe storage) in DATA_DIR."""

from __future__ import annotations

from pathlib import Path

from tinydb import TinyDB

from bot.storage.atomic import AtomicJSONStorage

DB_FILE = "bot.json"


def open_database(data_dir: Path) -> TinyDB:
    """One TinyDB for users, FSM state and knowledge versions."""
    return TinyDB(data_dir / DB_FILE, storage=AtomicJSONStorage)
