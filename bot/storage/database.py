"""The TinyDB of knowledge versions (crash-safe writes) in DATA_DIR."""

from __future__ import annotations

from pathlib import Path

from tinydb import TinyDB

from bot.storage.atomic import AtomicJSONStorage
from bot.storage.journal import StoreDamagedError

KNOWLEDGE_FILE = "knowledge.json"


def open_knowledge_database(data_dir: Path) -> TinyDB:
    """Knowledge versions: written once per version, read when a pinned dialog needs one.
    StoreDamagedError, naming the file, if it is not a TinyDB file."""
    path = data_dir / KNOWLEDGE_FILE
    db = TinyDB(path, storage=AtomicJSONStorage)
    try:
        tables = db.storage.read()
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        db.close()
        raise StoreDamagedError(_DAMAGED.format(path=path, why=f"not JSON: {exc}")) from None
    if tables is not None and not (isinstance(tables, dict) and all(
            isinstance(t, dict) and all(isinstance(d, dict) for d in t.values())
            for t in tables.values())):
        db.close()
        raise StoreDamagedError(_DAMAGED.format(path=path, why="not a TinyDB file"))
    return db


_DAMAGED = ("{path} is damaged ({why}): it keeps the knowledge versions that dialogs in progress "
            "and shared plans use; restore it from a backup, or move it aside to start afresh "
            "(those dialogs then go on with the current version)")
