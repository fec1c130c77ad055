"""The TinyDB of knowledge versions (crash-safe writes) in DATA_DIR."""

from __future__ import annotations

from pathlib import Path

from tinydb import TinyDB

from bot.storage.atomic import AtomicJSONStorage

KNOWLEDGE_FILE = "knowledge.json"


def open_knowledge_database(data_dir: Path) -> TinyDB:
    """Knowledge versions: written once per version, read when a pinned dialog needs one."""
    return TinyDB(data_dir / KNOWLEDGE_FILE, storage=AtomicJSONStorage)
