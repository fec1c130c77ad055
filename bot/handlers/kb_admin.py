"""Admins keep the knowledge base true from Telegram: /kb (state, export, rollback) and JSON
uploads (validated, diffed, applied on confirmation, live at once).

Only ADMIN_IDS reach this router: anyone else's /kb is an unknown command and their documents
are ordinary messages, handled by the routers after this one.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import secrets
from collections.abc import Callable
from typing import Any, ParamSpec, TypeVar

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject
from aiogram.types import BufferedInputFile, CallbackQuery, Document, Message, User

from bot.handlers.views import Views, drop_keyboard
from bot.kb.admin import Applied, KnowledgeAdmin, Proposal, Unreadable, dump
from bot.kb.changes import MAX_UPLOAD_BYTES, Refusal, RefusalKind
from bot.kb.loader import JsonRefused, parse_json
from bot.kb.reload import Reloader
from bot.kb.shared import LockTimeout
from bot.kb.snapshot import KnowledgeBase
from bot.kb.stale import StaleRecord, find, fingerprint, for_editing, stale_records, title
from bot.render.callbacks import KbCb
from bot.render.keyboards import (
    kb_confirm_keyboard,
    kb_home_keyboard,
    kb_stale_keyboard,
    kb_versions_keyboard,
)
from bot.render.split import pack
from bot.storage.keyvalue import KeyValue

log = logging.getLogger(__name__)
PENDING = "kb_pending"  # per admin: the one change waiting for Apply or Cancel
STALE = "kb_stale"  # per admin: the re-verification walk (queue of records, counts, token)
SHOWN_PROBLEMS = 20
HISTORY_SHOWN = 5
P = ParamSpec("P")
T = TypeVar("T")


async def is_admin(event: Message | CallbackQuery,
                   admin_ids: frozenset[int] = frozenset()) -> bool:
    # async on purpose: aiogram runs a plain-function filter in a worker thread
    # (aiogram/dispatcher/event/handler.py, CallableObject.call), for every update.
    return event.from_user is not None and event.from_user.id in admin_ids


def who(user: User) -> str:
    return f"telegram:{user.id}" + (f" @{user.username}" if user.username else "")


async def show_refusal(views: Views, chat_id: int, locale: str, refusal: Refusal) -> None:
    problems = [str(p) for p in refusal.problems]
    text = views.renderer.render(locale, "kb_refused", kind=refusal.kind.value,
                                 detail=refusal.detail, problems=problems[:SHOWN_PROBLEMS],
                                 more=max(0, len(problems) - SHOWN_PROBLEMS),
                                 limit_kb=MAX_UPLOAD_BYTES // 1024)
    await views.send_parts(chat_id, pack([text]))


async def engine(views: Views, chat_id: int, locale: str, kb_admin: KnowledgeAdmin,
                 call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T | None:
    """Run an engine call off the loop. If the live files or a backup do not read, tell the
    admin which file, why and what to do, and return None: nothing was changed."""
    try:
        return await asyncio.to_thread(call, *args, **kwargs)
    except Unreadable as exc:
        problems = [str(p) for p in exc.problems]
        backups = await asyncio.to_thread(kb_admin.backups)
        await views.send_parts(chat_id, pack([views.renderer.render(
            locale, "kb_unreadable", backup=exc.backup, problems=problems[:SHOWN_PROBLEMS],
            more=max(0, len(problems) - SHOWN_PROBLEMS),
            latest=next((v for v in backups if v != exc.backup), None))]))
        return None


async def change(views: Views, chat_id: int, locale: str, kb_admin: KnowledgeAdmin,
                 reloader: Reloader | None, call: Callable[P, Applied], *args: P.args,
                 **kwargs: P.kwargs) -> Applied | None:
    """An apply, rollback or re-check through `engine`, made live at once. With Redis, under
    its knowledge lock and on its live version, so every replica gets the new version; None
    when the files do not read (the admin was told) or another replica kept the lock."""
    try:
        async with reloader.applying() if reloader is not None else contextlib.nullcontext():
            result = await engine(views, chat_id, locale, kb_admin, call, *args, **kwargs)
            if (result is not None and result.status == "applied" and result.kb is not None
                    and result.raw is not None and reloader is not None):
                await reloader.publish(result.kb, result.raw)
    except LockTimeout:
        await views.send(chat_id, views.renderer.render(locale, "kb_busy"))
        return None
    return result


async def offer(views: Views, kv: KeyValue, chat_id: int, admin_id: int, locale: str,
                proposal: Proposal, title: str, pending: dict[str, Any]) -> None:
    """The diff with Apply / Cancel, or why it cannot be applied, or that nothing changes."""
    if proposal.refusal is not None:
        await show_refusal(views, chat_id, locale, proposal.refusal)
        return
    if proposal.diff.empty:
        await views.send(chat_id, views.renderer.render(locale, "kb_no_change",
                                                        version=proposal.base_version))
        return
    token = secrets.token_urlsafe(6)[:8]
    await kv.put(PENDING, str(admin_id), {**pending, "token": token,
                                          "base": proposal.base_version})
    text = views.renderer.render(locale, "kb_diff", title=title, base=proposal.base_version,
                                 diff=proposal.diff, counts=proposal.diff.counts(),
                                 stale=len(proposal.report.stale) if proposal.report else 0)
    await views.send_parts(chat_id, pack([text]),
                           kb_confirm_keyboard(views.renderer, locale, token))


async def download(bot: Bot, document: Document) -> bytes | None:
    """The document's bytes; None when over the limit (checked before and after download)."""
    if document.file_size is not None and document.file_size > MAX_UPLOAD_BYTES:
        return None
    try:
        file = await bot.get_file(document.file_id)
    except TelegramBadRequest as exc:
        if "too big" in exc.message:  # over the Bot API's 20 MB download limit
            return None
        raise
    if file.file_size is not None and file.file_size > MAX_UPLOAD_BYTES:
        return None
    buffer = io.BytesIO()
    assert file.file_path is not None
    await bot.download_file(file.file_path, buffer)
    data = buffer.getvalue()
    return data if len(data) <= MAX_UPLOAD_BYTES else None


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private", is_admin)
    router.callback_query.filter(F.message.chat.type == "private", is_admin)

    @router.message(Command("kb"))
    async def cmd_kb(message: Message, command: CommandObject, views: Views, kv: KeyValue,
                     locale: str, kb_admin: KnowledgeAdmin | None = None) -> None:
        if kb_admin is None or message.from_user is None:
            return
        if (command.args or "").strip().lower() == "stale":
            await start_walk(views, kv, message.chat.id, message.from_user.id, locale, kb_admin)
            return
        status = await engine(views, message.chat.id, locale, kb_admin, kb_admin.status,
                              HISTORY_SHOWN)
        if status is None:
            return
        text = views.renderer.render(locale, "kb_home", version=status.report.version,
                                     kb=status.kb, report=status.report,
                                     history=status.history, backups=status.backups)
        await views.send_parts(message.chat.id, pack([text]),
                               kb_home_keyboard(views.renderer, locale, len(status.report.stale)))

    @router.message(F.document)
    async def on_document(message: Message, bot: Bot, views: Views, kv: KeyValue, locale: str,
                          kb_admin: KnowledgeAdmin | None = None) -> None:
        document = message.document
        if kb_admin is None or document is None or message.from_user is None:
            return
        data = await download(bot, document)
        if data is None:
            await show_refusal(views, message.chat.id, locale, Refusal(
                RefusalKind.too_big, f"{document.file_size or '?'} bytes"))
            return
        proposal = await engine(views, message.chat.id, locale, kb_admin,
                                kb_admin.propose_upload, data, document.file_name)
        if proposal is None:
            return
        await offer(views, kv, message.chat.id, message.from_user.id, locale, proposal,
                    document.file_name or "", {"action": "apply", "changes": proposal.changes,
                                               "file": document.file_name or ""})

    @router.callback_query(KbCb.filter(F.a.in_({"apply", "cancel"})))
    async def cb_decide(query: CallbackQuery, callback_data: KbCb, views: Views, kv: KeyValue,
                        locale: str, kb_admin: KnowledgeAdmin | None = None,
                        reloader: Reloader | None = None) -> None:
        message = query.message
        pending = await kv.get(PENDING, str(query.from_user.id))
        if (message is None or kb_admin is None or not isinstance(pending, dict)
                or pending.get("token") != callback_data.t):
            await query.answer(views.renderer.label(locale, "toast.stale"))
            if message is not None:
                await drop_keyboard(views.bot, message.chat.id, message.message_id)
            return
        await query.answer()
        await kv.delete(PENDING, str(query.from_user.id))
        await drop_keyboard(views.bot, message.chat.id, message.message_id)
        if callback_data.a == "cancel":
            await views.send(message.chat.id, views.renderer.render(locale, "kb_cancelled"))
            return
        chat_id = message.chat.id
        if pending.get("action") == "rollback":
            result = await change(views, chat_id, locale, kb_admin, reloader, kb_admin.rollback,
                                  pending["version"], who(query.from_user),
                                  base_version=pending["base"])
        else:
            result = await change(views, chat_id, locale, kb_admin, reloader, kb_admin.apply,
                                  pending["changes"], who(query.from_user),
                                  base_version=pending["base"], source=pending.get("file", ""))
        if result is None:
            return
        await report_applied(views, message.chat.id, locale, result)

    @router.callback_query(KbCb.filter(F.a == "export"))
    async def cb_export(query: CallbackQuery, bot: Bot, views: Views, locale: str,
                        kb_admin: KnowledgeAdmin | None = None) -> None:
        await query.answer()
        if kb_admin is None or query.message is None:
            return
        files = await asyncio.to_thread(kb_admin.files)
        for name, data in files:
            await bot.send_document(query.message.chat.id, BufferedInputFile(data, filename=name))
        await views.send(query.message.chat.id, views.renderer.render(
            locale, "kb_exported", count=len(files), version=_meta_version(files)))

    @router.callback_query(KbCb.filter(F.a == "versions"))
    async def cb_versions(query: CallbackQuery, views: Views, locale: str,
                          kb_admin: KnowledgeAdmin | None = None) -> None:
        await query.answer()
        if kb_admin is None or query.message is None:
            return
        versions = kb_admin.backups()
        await views.send(query.message.chat.id,
                         views.renderer.render(locale, "kb_versions", versions=versions),
                         kb_versions_keyboard(views.renderer, locale, versions)
                         if versions else None)

    @router.callback_query(KbCb.filter(F.a == "rollback"))
    async def cb_rollback(query: CallbackQuery, callback_data: KbCb, views: Views,
                          kv: KeyValue, locale: str,
                          kb_admin: KnowledgeAdmin | None = None) -> None:
        if kb_admin is None or query.message is None:
            await query.answer()
            return
        try:
            proposal = await engine(views, query.message.chat.id, locale, kb_admin,
                                    kb_admin.propose_rollback, callback_data.t)
        except LookupError:
            await query.answer(views.renderer.label(locale, "toast.stale"))
            return
        await query.answer()
        if proposal is None:
            return
        await offer(views, kv, query.message.chat.id, query.from_user.id, locale, proposal,
                    views.renderer.label(locale, "kb.rollback_title", version=callback_data.t),
                    {"action": "rollback", "version": callback_data.t})

    @router.callback_query(KbCb.filter(F.a == "stale"))
    async def cb_stale(query: CallbackQuery, views: Views, kv: KeyValue, locale: str,
                       kb_admin: KnowledgeAdmin | None = None) -> None:
        await query.answer()
        if kb_admin is not None and query.message is not None:
            await start_walk(views, kv, query.message.chat.id, query.from_user.id, locale,
                             kb_admin)

    @router.callback_query(KbCb.filter(F.a.in_({"s_ok", "s_edit", "s_skip"})))
    async def cb_stale_step(query: CallbackQuery, callback_data: KbCb, bot: Bot, views: Views,
                            kv: KeyValue, locale: str, kb_admin: KnowledgeAdmin | None = None,
                            reloader: Reloader | None = None) -> None:
        message = query.message
        state = await kv.get(STALE, str(query.from_user.id))
        # Each item shown has its own token: a button of an earlier item (a double tap, an
        # older walk) never acts on the record shown after it.
        if (message is None or kb_admin is None or not isinstance(state, dict)
                or state.get("token") != callback_data.t or not state.get("queue")):
            await query.answer(views.renderer.label(locale, "toast.stale"))
            if message is not None:
                await drop_keyboard(views.bot, message.chat.id, message.message_id)
            return
        await query.answer()
        await drop_keyboard(views.bot, message.chat.id, message.message_id)
        chat_id = message.chat.id
        collection, rid = state["queue"][0]
        shown = state.get("title", "")
        if callback_data.a == "s_ok":
            result = await change(views, chat_id, locale, kb_admin, reloader, recheck,
                                  kb_admin, collection, rid, state.get("seen", ""),
                                  who(query.from_user))
            if result is None:
                return  # the admin was told which file does not read; the item stays due
            if result.status in ("changed", "conflict"):
                # Changed (or gone) since it was shown: nothing recorded; shown again as it
                # stands now if it is still due.
                raw = await engine(views, chat_id, locale, kb_admin, kb_admin.read)
                gone = raw is not None and find(raw, collection, rid) is None
                await views.send(chat_id, views.renderer.render(
                    locale, "kb_stale_checked", status="changed", title=shown,
                    today=kb_admin.today, version="", gone=gone))
            elif result.status == "refused":
                # The base as a whole does not pass `kb check` (another record's error): the
                # reason, and the walk moves on (a retry would be refused the same way).
                problems = [str(p) for p in result.refusal.problems] if result.refusal else []
                await views.send_parts(chat_id, pack([views.renderer.render(
                    locale, "kb_stale_checked", status="refused", title=shown,
                    today=kb_admin.today, version=result.version, gone=False,
                    problems=problems[:SHOWN_PROBLEMS],
                    more=max(0, len(problems) - SHOWN_PROBLEMS))]))
                state["skipped"] = state.get("skipped", 0) + 1
                state["queue"].pop(0)
            else:  # applied, or no_change (the base already says it was checked today)
                await views.send(chat_id, views.renderer.render(
                    locale, "kb_stale_checked", status=result.status, title=shown,
                    today=kb_admin.today, version=result.version, gone=False))
                state["checked"] = state.get("checked", 0) + 1
                state["queue"].pop(0)
        elif callback_data.a == "s_edit":
            raw = await engine(views, chat_id, locale, kb_admin, kb_admin.read)
            if raw is None:
                return
            document = for_editing(raw, collection, rid)
            if document is not None:
                await bot.send_document(chat_id, BufferedInputFile(
                    dump(document), filename=f"{collection}.json"),
                    caption=views.renderer.render(locale, "kb_stale_edit", title=shown))
                state["edited"] = state.get("edited", 0) + 1
            state["queue"].pop(0)
        else:
            state["skipped"] = state.get("skipped", 0) + 1
            state["queue"].pop(0)
        await show_next(views, kv, chat_id, query.from_user.id, locale, kb_admin, state)

    return router


async def start_walk(views: Views, kv: KeyValue, chat_id: int, admin_id: int, locale: str,
                     kb_admin: KnowledgeAdmin) -> None:
    """The records past the horizon, oldest first, one at a time (`/kb stale`). A new walk
    replaces the admin's earlier one (its buttons become stale)."""
    loaded = await engine(views, chat_id, locale, kb_admin, kb_admin.load)
    if loaded is None:
        return
    items = stale_records(loaded[0], kb_admin.today)
    state: dict[str, Any] = {"total": len(items),
                             "queue": [[i.collection, i.id] for i in items],
                             "checked": 0, "edited": 0, "skipped": 0}
    await show_next(views, kv, chat_id, admin_id, locale, kb_admin, state)


def recheck(kb_admin: KnowledgeAdmin, collection: str, rid: str | None, seen: str,
            by: str) -> Applied:
    """`KnowledgeAdmin.recheck`, its None (the record changed or went since it was shown) as
    status "changed", so that `engine`'s None means only "the files do not read"."""
    return kb_admin.recheck(collection, rid, seen, by) or Applied("changed", "")


def shown_title(views: Views, kb: KnowledgeBase, item: StaleRecord, locale: str) -> str:
    """The record's name in the admin's language; for a single-object collection (vie_costs,
    no name of its own) the collection's label."""
    name = title(kb, item, locale)
    if name:
        return name
    label = views.renderer.label(locale, f"kb.collection.{item.collection}")
    return label[:1].upper() + label[1:]


async def show_next(views: Views, kv: KeyValue, chat_id: int, admin_id: int, locale: str,
                    kb_admin: KnowledgeAdmin, state: dict[str, Any]) -> None:
    """The first record of the queue that is still due (the base may have moved on), or the
    end of the walk. The walk is kept per admin in kv: it survives a restart."""
    loaded = await engine(views, chat_id, locale, kb_admin, kb_admin.load)
    if loaded is None:
        return
    kb, raw = loaded
    due = {(i.collection, i.id): i for i in stale_records(kb, kb_admin.today)}
    queue = state["queue"]
    while queue and (queue[0][0], queue[0][1]) not in due:
        queue.pop(0)
    if not queue:
        await kv.delete(STALE, str(admin_id))
        await views.send(chat_id, views.renderer.render(
            locale, "kb_stale_done", total=state["total"], checked=state["checked"],
            edited=state["edited"], skipped=state["skipped"],
            months=kb.meta.verification_horizon_months))
        return
    item: StaleRecord = due[(queue[0][0], queue[0][1])]
    state["token"] = secrets.token_urlsafe(6)[:8]
    state["seen"] = fingerprint(raw, item.collection, item.id)
    state["title"] = shown_title(views, kb, item, locale)
    await kv.put(STALE, str(admin_id), state)
    text = views.renderer.render(locale, "kb_stale_item", item=item, title=state["title"],
                                 position=state["total"] - len(queue) + 1,
                                 total=state["total"], today=kb_admin.today)
    await views.send_parts(chat_id, pack([text]),
                           kb_stale_keyboard(views.renderer, locale, state["token"]))


def _meta_version(files: list[tuple[str, bytes]]) -> str:
    """The version named in the exported meta.json ("" when it does not read)."""
    for name, data in files:
        if name == "meta.json":
            try:
                meta = parse_json(data.decode("utf-8"), name)
            except (JsonRefused, UnicodeDecodeError):
                return ""
            return str(meta.get("version", "")) if isinstance(meta, dict) else ""
    return ""


async def report_applied(views: Views, chat_id: int, locale: str, result: Applied) -> None:
    if result.status == "refused" and result.refusal is not None:
        await show_refusal(views, chat_id, locale, result.refusal)
        return
    await views.send(chat_id, views.renderer.render(
        locale, "kb_applied", status=result.status, version=result.version,
        previous=result.previous, counts=result.diff.counts()))
