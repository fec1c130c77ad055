"""The small key-value interface every durable backend offers (the embedded journal, Redis).

Values are JSON-serialisable; keys are grouped in namespaces ('fsm', 'users', 'updates'...).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol


class KeyValue(Protocol):
    async def get(self, namespace: str, key: str) -> Any | None:
        """The stored value, or None."""
        ...

    async def put(self, namespace: str, key: str, value: Any) -> None:
        """Store a value; once this returns, a crash of the process does not lose it."""
        ...

    async def delete(self, namespace: str, key: str) -> None:
        """Remove a key; removing a missing key is not an error."""
        ...

    async def replace(self, namespace: str, key: str, expected: Any | None, value: Any) -> bool:
        """Store `value` only if the stored value still equals `expected` (None: absent), in
        one atomic step: False, and nothing written, when another writer changed it first."""
        ...

    async def incr(self, namespace: str, key: str, field: str, by: int = 1) -> int:
        """Add `by` to one counter of a dict of counters (created when absent), atomically;
        the new count. No increment is lost however many processes count at once."""
        ...

    async def claim(self, namespace: str, key: str, keep: int) -> bool:
        """Mark a key as seen; False when it already was. Only the last `keep` claims of a
        namespace are remembered (for update ids, which only grow)."""
        ...

    async def seen(self, namespace: str, key: str) -> bool:
        """Whether the key was claimed (and is still remembered)."""
        ...

    def keys(self, namespace: str) -> AsyncIterator[str]:
        """Every key of a namespace."""
        ...

    async def purge(self) -> bool:
        """Make deletions final on disk too (after /forget): no copy of deleted data remains.
        True once done; False if it could not be done now (the store retries until it is)."""
        ...

    async def close(self) -> None:
        """Make everything durable and release the backend."""
        ...
