"""Open the bot's TinyDB database (crash-safe storage) in DATA_DIR."""

from __future__ import annotations

from pathlib import Path

from tinydb import TinyDB

from bot.storage.atomic import AtomicJSONStorage

DB_FILE = "bot.json"
KNOWLEDGE_FILE = "knowledge.json"


def open_database(data_dir: Path) -> TinyDB:
    """The TinyDB for users and dialog state."""
    return TinyDB(data_dir / DB_FILE, storage=AtomicJSONStorage)


def open_knowledge_database(data_dir: Path) -> TinyDB:
    """The knowledge versions, apart: a user's write never rewrites the knowledge base."""
    return TinyDB(data_dir / KNOWLEDGE_FILE, storage=AtomicJSONStorage)
