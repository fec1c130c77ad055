"""A TinyDB storage whose writes are atomic: a crash mid-write leaves the previous file intact.

TinyDB's stock JSONStorage truncates and rewrites the file in place, so a kill mid-write can leave
broken JSON. Here each write goes to a temporary file in the same directory, is fsynced, then
replaces the old file with os.replace (atomic on POSIX and Windows).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from tinydb.storages import Storage


class AtomicJSONStorage(Storage):
    """JSON file storage with write-to-temp-then-rename; the data is cached in memory."""

    def __init__(self, path: str | Path, **json_kwargs: Any) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._json_kwargs = json_kwargs
        self._cache: dict[str, dict[str, Any]] | None = None

    def read(self) -> dict[str, dict[str, Any]] | None:
        if self._cache is None:
            try:
                text = self.path.read_text(encoding="utf-8")
            except FileNotFoundError:
                return None
            self._cache = json.loads(text) if text.strip() else None
        return self._cache

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        payload = json.dumps(data, ensure_ascii=False, **self._json_kwargs)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(payload)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._cache = data

    def close(self) -> None:
        self._cache = None
