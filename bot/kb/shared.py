"""Knowledge versions shared by every replica through Redis (when REDIS_URL is set).

Layout, with the default prefix "ea":

    ea:kb:live              the live version (a string)
    ea:kb:versions          sorted set: version -> when it was published (ms), the last KEEP kept
    ea:kb:version:{v}       that version's collections and its audit entry, zlib-compressed JSON
    ea:kb:digests           hash: version -> SHA-256 of its collections (canonical JSON)
    ea:kb:lock              held (SET NX PX, a token) by the replica applying a change

Each replica keeps its own files (KNOWLEDGE_DIR, DATA_DIR) in step with Redis: it polls
`ea:kb:live` every second (one GET) and adopts a new version within about a second. A poll was
chosen over publish/subscribe because a subscriber that is reconnecting misses messages, and a
replica that starts, restarts or loses Redis for a while must catch up anyway: the same GET
covers all of it, at one request a second per replica.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import secrets
import time
import zlib
from collections.abc import AsyncIterator
from typing import Any

from redis.asyncio import Redis

from bot.storage.redis import DEFAULT_PREFIX

KEEP_VERSIONS = 20  # as the local store keeps (bot/kb/store.py)
LOCK_MS = 60_000  # an apply takes well under a second; a replica killed holding it frees it then
LOCK_WAIT_SECONDS = 20.0

# Make `version` live if the live one is still `expected` ("" for none): store the version,
# list it, move the pointer, drop versions beyond KEEP. A version name Redis already holds with
# other contents (two replicas numbering their changes alike) is refused. KEYS: live, versions,
# this version's key, digests. ARGV: version, expected, payload, now (ms), keep, key prefix of
# versions, digest.
_PUBLISH = """
local known = redis.call('HGET', KEYS[4], ARGV[1])
if known and known ~= ARGV[7] then return 0 end
local live = redis.call('GET', KEYS[1]) or ''
if live == ARGV[1] then return 1 end
if live ~= ARGV[2] then return 0 end
redis.call('SET', KEYS[3], ARGV[3])
redis.call('HSET', KEYS[4], ARGV[1], ARGV[7])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('SET', KEYS[1], ARGV[1])
local extra = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[5])
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[2], 0, extra - 1)
  for _, v in ipairs(old) do
    if v ~= ARGV[1] then
      redis.call('DEL', ARGV[6] .. v)
      redis.call('HDEL', KEYS[4], v)
      redis.call('ZREM', KEYS[2], v)
    end
  end
end
return 1
"""

_UNLOCK = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


class LockTimeout(Exception):
    """Another replica held the knowledge lock for longer than LOCK_WAIT_SECONDS."""


def digest(raw: dict[str, Any]) -> str:
    """The identity of a version's contents, whatever the key order it was read in."""
    canonical = json.dumps(raw, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _pack(raw: dict[str, Any], entry: dict[str, Any] | None) -> bytes:
    data = json.dumps({"raw": raw, "audit": entry}, ensure_ascii=False, separators=(",", ":"))
    return zlib.compress(data.encode("utf-8"), 6)


def _unpack(blob: bytes) -> dict[str, Any]:
    value = json.loads(zlib.decompress(blob).decode("utf-8"))
    if not isinstance(value, dict) or not isinstance(value.get("raw"), dict):
        raise ValueError("not a stored knowledge version")
    return value


class SharedKnowledge:
    """The versions and the live pointer in Redis; every write is one atomic script."""

    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis = redis
        self._live = f"{prefix}:kb:live"
        self._versions = f"{prefix}:kb:versions"
        self._version_prefix = f"{prefix}:kb:version:"
        self._lock = f"{prefix}:kb:lock"
        self._digests = f"{prefix}:kb:digests"
        self._publish = redis.register_script(_PUBLISH)
        self._unlock = redis.register_script(_UNLOCK)

    async def live(self) -> str | None:
        value = await self.redis.get(self._live)
        if value is None:
            return None
        return value.decode("utf-8") if isinstance(value, bytes) else str(value)

    async def versions(self) -> list[str]:
        """Stored versions, oldest first."""
        return [v.decode("utf-8") if isinstance(v, bytes) else str(v)
                for v in await self.redis.zrange(self._versions, 0, -1)]

    async def get(self, version: str) -> dict[str, Any] | None:
        """{"raw": collections, "audit": the entry of the apply that made it, or None}; None
        when Redis does not hold this version or its record does not read."""
        blob = await self.redis.get(self._version_prefix + version)
        if not isinstance(blob, bytes):  # absent (a client decoding responses is not ours)
            return None
        try:
            return _unpack(blob)
        except (zlib.error, ValueError, UnicodeDecodeError):
            return None

    async def publish(self, version: str, raw: dict[str, Any], expected: str | None,
                      entry: dict[str, Any] | None = None) -> bool:
        """Make `version` live if the live version is still `expected` (None: no version yet);
        True also when `version`, with these contents, is live already. False: another replica
        moved the base on, or made another version of the same name."""
        done = await self._publish(
            keys=[self._live, self._versions, self._version_prefix + version, self._digests],
            args=[version, expected or "", _pack(raw, entry), int(time.time() * 1000),
                  KEEP_VERSIONS, self._version_prefix, digest(raw)])
        return bool(done)

    @contextlib.asynccontextmanager
    async def lock(self, wait: float = LOCK_WAIT_SECONDS) -> AsyncIterator[None]:
        """One replica at a time changes the base (the command line included)."""
        token = secrets.token_hex(8)
        deadline = time.monotonic() + wait
        while not await self.redis.set(self._lock, token, nx=True, px=LOCK_MS):
            if time.monotonic() >= deadline:
                raise LockTimeout(f"the knowledge base is being changed elsewhere ({wait:.0f} s)")
            await asyncio.sleep(0.05)
        try:
            yield
        finally:
            await self._unlock(keys=[self._lock], args=[token])
