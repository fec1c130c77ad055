"""The KeyValue protocol on Redis, for running several bot processes behind one webhook.

Layout, with the default prefix "ea":

    ea:{namespace}:{key}     one string per value, JSON-encoded (UTF-8, unicode kept as is)
    ea:claims:{namespace}    the claims of a namespace: one sorted set, member = key, score = key

so the namespace "claims" must not be used for ordinary values. aiogram's RedisStorage (the FSM
state in Redis mode, see bot/app.py) writes under "ea:fsm-aiogram:...", apart from these; the
knowledge base's versions are under "ea:kb:..." (bot/kb/shared.py), the shared pace of alerts
and follow-ups under "ea:pacing:..." (bot/pacing.py) and the flood limits under "ea:limits:..."
(bot/storage/limits.py). Follow-ups are ordinary values, "ea:followups:{user id}"
(bot/followup.py).

Durability: `put` returns once Redis has acknowledged the write, so a crash of a bot process loses
nothing; a crash of Redis itself loses what its persistence settings (RDB snapshots, AOF with
`appendfsync everysec`) do not cover. Configure Redis accordingly in production.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any, cast

from aiogram.fsm.storage.base import DefaultKeyBuilder
from aiogram.fsm.storage.redis import RedisStorage
from redis.asyncio import Redis
from redis.exceptions import ResponseError

DEFAULT_PREFIX = "ea"
FSM_PREFIX = "fsm-aiogram"
_GLOB_SPECIAL = re.compile(r"([*?\[\]\\])")


# Compare-and-set on the encoded value. ARGV: expected (encoded), new value, "1" when the
# expected value is "absent" (a stored JSON null counts as absent, as `get` reads it as None).
_REPLACE = """
local current = redis.call('GET', KEYS[1])
if ARGV[3] == '1' then
  if current and current ~= 'null' then return 0 end
elseif current ~= ARGV[1] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[2])
return 1
"""

# One counter of a JSON object of counters. Redis's cjson re-encodes the object: fine for
# counters (integers to 14 significant digits), which is all `incr` is for.
_INCR = """
local raw = redis.call('GET', KEYS[1])
local counters = {}
if raw and raw ~= 'null' then
  if string.sub(raw, 1, 1) ~= '{' then
    return redis.error_reply('not a dict of counters')
  end
  counters = cjson.decode(raw)
end
local count = (tonumber(counters[ARGV[1]]) or 0) + tonumber(ARGV[2])
counters[ARGV[1]] = count
redis.call('SET', KEYS[1], cjson.encode(counters))
return count
"""


def _encode(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _glob_escape(text: str) -> str:
    """Escape what SCAN's MATCH pattern treats as special, so a namespace matches literally."""
    return _GLOB_SPECIAL.sub(r"\\\1", text)


class RedisKeyValue:
    """KeyValue on `redis.asyncio`; several processes may share one Redis (and one prefix).

    Claims: a sorted set per namespace, `ZADD NX` then `ZREMRANGEBYRANK` in one MULTI/EXEC.
    `ZADD NX` is atomic, so when two replicas receive the same update only one gets True. The trim
    keeps exactly the `keep` highest keys (update ids only grow), so memory is bounded by `keep`
    whatever the traffic, and the semantics are those of the journal store: only the last `keep`
    claims are remembered. The other common design, one `SET key 1 NX EX 86400` per claim
    (Telegram gives up re-delivering an update after 24 h), bounds memory by time instead: it grows
    with the update rate (at 100 updates/s, 8.6 M keys) and ignores `keep`, so it was not chosen.
    Claim keys must be integers, as for the journal store.

    `replace` and `incr` are small Lua scripts: Redis runs a script alone, so the read and the
    write inside cannot interleave with another replica's (a WATCH/MULTI retry loop would do the
    same in more round trips). `replace` compares the stored bytes with the encoding of the value
    expected, which is exact for values this class wrote (`json.dumps` of what `json.loads` read
    gives back the same bytes).
    """

    def __init__(self, redis: Redis, prefix: str = DEFAULT_PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix
        self._replace = redis.register_script(_REPLACE)
        self._incr = redis.register_script(_INCR)

    @classmethod
    def from_url(cls, url: str, prefix: str = DEFAULT_PREFIX, **kwargs: Any) -> RedisKeyValue:
        """A store on its own connection pool, closed by `close`."""
        return cls(Redis.from_url(url, **kwargs), prefix)

    def _key(self, namespace: str, key: str) -> str:
        return f"{self.prefix}:{namespace}:{key}"

    def _claims(self, namespace: str) -> str:
        return f"{self.prefix}:claims:{namespace}"

    async def get(self, namespace: str, key: str) -> Any | None:
        raw = await self.redis.get(self._key(namespace, key))
        return None if raw is None else json.loads(raw)

    async def put(self, namespace: str, key: str, value: Any) -> None:
        await self.redis.set(self._key(namespace, key), _encode(value))

    async def replace(self, namespace: str, key: str, expected: Any | None, value: Any) -> bool:
        absent = expected is None
        done = await self._replace(keys=[self._key(namespace, key)],
                                   args=[b"" if absent else _encode(expected), _encode(value),
                                         b"1" if absent else b"0"])
        return bool(done)

    async def incr(self, namespace: str, key: str, field: str, by: int = 1) -> int:
        try:
            return int(await self._incr(keys=[self._key(namespace, key)], args=[field, by]))
        except ResponseError as exc:
            raise ValueError(f"{namespace}:{key}: {exc}") from exc

    async def delete(self, namespace: str, key: str) -> None:
        await self.redis.delete(self._key(namespace, key))

    async def claim(self, namespace: str, key: str, keep: int) -> bool:
        if keep < 1:
            raise ValueError("keep must be at least 1")
        name = self._claims(namespace)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zadd(name, {key: int(key)}, nx=True)
            pipe.zremrangebyrank(name, 0, -keep - 1)  # all but the `keep` highest
            added, _ = await pipe.execute()
        return bool(added)

    async def seen(self, namespace: str, key: str) -> bool:
        return await self.redis.zscore(self._claims(namespace), key) is not None

    async def keys(self, namespace: str) -> AsyncIterator[str]:
        """SCAN, not KEYS: Redis stays responsive however many keys it holds."""
        head = f"{self.prefix}:{namespace}:"
        seen: set[str] = set()  # SCAN may return a key twice
        async for raw in self.redis.scan_iter(match=_glob_escape(head) + "*", count=500):
            name = raw.decode("utf-8") if isinstance(raw, bytes) else str(raw)
            if name not in seen:
                seen.add(name)
                yield name[len(head):]

    async def purge(self) -> bool:
        """Redis deletes at once; its own persistence (RDB/AOF) is the operator's to configure."""
        return True

    async def ping(self) -> None:
        """Raise redis.exceptions.RedisError (e.g. ConnectionError) when Redis cannot be used."""
        await self.redis.ping()

    async def close(self) -> None:
        """Release the connections (Redis itself keeps the data)."""
        await self.redis.aclose(close_connection_pool=True)


class RedisFSMStorage(RedisStorage):
    """aiogram's RedisStorage plus `forget_user`, as KeyValueStorage offers (for /forget)."""

    async def forget_user(self, bot_id: int, user_id: int) -> None:
        """Delete every record of this user on this bot: all chats, threads and destinies.

        A key is `{prefix}:{bot}[:{business}]:{chat}[:{thread}]:{user}:{destiny}:{state|data}`
        (DefaultKeyBuilder with bot id and destiny), so the user id is the third part from the
        end whichever optional parts are present."""
        builder = self.key_builder
        if not isinstance(builder, DefaultKeyBuilder):
            raise TypeError("forget_user needs the DefaultKeyBuilder of redis_fsm_storage")
        sep = builder.separator
        pattern = _glob_escape(f"{builder.prefix}{sep}{bot_id}{sep}") + "*" + \
            _glob_escape(f"{sep}{user_id}{sep}") + "*"
        doomed: set[bytes | str] = set()
        async for name in self.redis.scan_iter(match=pattern, count=500):
            text = name.decode("utf-8") if isinstance(name, bytes) else str(name)
            parts = text.split(sep)
            if len(parts) >= 6 and parts[-3] == str(user_id):
                doomed.add(name)
        if doomed:
            await self.redis.delete(*doomed)


def redis_fsm_storage(url: str, prefix: str = DEFAULT_PREFIX) -> RedisFSMStorage:
    """aiogram's RedisStorage, keyed like KeyValueStorage: bot, business connection, chat,
    thread, user and destiny all in the key, so no two contexts share a record."""
    builder = DefaultKeyBuilder(prefix=f"{prefix}:{FSM_PREFIX}", with_bot_id=True,
                                with_business_connection_id=True, with_destiny=True)
    return cast(RedisFSMStorage, RedisFSMStorage.from_url(url, key_builder=builder))
