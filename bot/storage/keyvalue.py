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
        True once that is done; False when it could not be yet, and the store keeps retrying
        on its own until it is."""
        ...

    async def close(self) -> None:
        """Make everything durable and release the backend."""
        ...
