"""The users repository on both backends."""

from __future__ import annotations

from bot.storage.users import UserRepository
from tests.storage.conftest import MakeKV


async def test_user_records_on_every_backend(make_kv: MakeKV) -> None:
    kv = make_kv()
    users = UserRepository(kv)
    assert await users.get(1001) is None and await users.locale(1001) is None
    await users.touch(1001)
    first = await users.get(1001)
    assert first is not None and first["id"] == 1001 and first["active"] is True
    assert "created" in first and "updated" in first
    await users.set_locale(1001, "en")
    await users.update(1001, last_plan={"answers": {"city": "São Paulo"}, "kb": "2026-11"})
    await users.set_active(1001, False)
    await users.touch(2002)
    await kv.close()

    again = UserRepository(make_kv())  # a restart, or another replica
    record = await again.get(1001)
    assert record is not None
    assert record["locale"] == "en" and record["active"] is False
    assert record["last_plan"] == {"answers": {"city": "São Paulo"}, "kb": "2026-11"}
    assert record["created"] == first["created"]
    assert await again.locale(1001) == "en"
    await again.touch(1001)  # a blocked user who comes back
    assert (await again.get(1001) or {}).get("active") is True
    await again.delete(1001)
    assert await again.get(1001) is None
    assert await again.get(2002) is not None
