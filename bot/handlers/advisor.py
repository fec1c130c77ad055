"""Export advisors: /advisor (personal link and QR code, targeted-link builder, statistics), the
admin sub-commands, and invitations (/start i_<code>).

    /advisor                      an active advisor's link, its QR code, the builder
    /advisor stats                per link: started, completed, shared, follow-ups asked,
                                  done, need help (counts only)
    /advisor invite [org]         admins: a one-time invitation link
    /advisor add <id> <name> ; <org>, deactivate <id>, activate <id>, list   admins

Anyone else gets the same friendly refusal, whatever the sub-command: nothing is revealed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramBadRequest
from aiogram.filters import Command, CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import BufferedInputFile, CallbackQuery, InlineKeyboardMarkup, Message

from bot.advisors.links import INVITE_PREFIX, LINK_PREFIX, deep_link, qr_png
from bot.advisors.repository import AdvisorRepository, parse_payload
from bot.dialog.registry import Dialogs
from bot.handlers.commands import begin
from bot.handlers.views import NO_PREVIEW, Views
from bot.kb.snapshot import KnowledgeBase
from bot.render.callbacks import AdvisorCb
from bot.render.keyboards import advisor_builder_keyboard, advisor_menu_keyboard
from bot.render.split import pack
from bot.render.templates import Renderer

log = logging.getLogger(__name__)
ADMIN_SUBCOMMANDS = frozenset({"invite", "add", "deactivate", "activate", "list"})
PREFILL_KEYS = ("sector", "target_region", "target_country", "target_city")


# --- labels and links ----------------------------------------------------------------------


def _name(table: Mapping[str, Any], rid: str, locale: str) -> str | None:
    record = table.get(rid)
    return record.name.get(locale) if record is not None else None


def prefill_label(renderer: Renderer, locale: str, kb: KnowledgeBase,
                  prefill: Mapping[str, str]) -> str:
    """"SaaS · San Francisco", "Any sector · Asia"; "General link" for an empty prefill."""
    if not prefill:
        return renderer.label(locale, "adv.general")
    sector = (_name(kb.sectors, prefill.get("sector", ""), locale)
              or renderer.label(locale, "adv.any_sector"))
    place = None
    for key, table in (("target_city", kb.cities), ("target_country", kb.countries),
                       ("target_region", kb.world_regions)):
        place = _name(table, prefill.get(key, ""), locale)
        if place:
            break
    return f"{sector} · {place or renderer.label(locale, 'adv.any_place')}"


def valid_prefill(kb: KnowledgeBase, data: AdvisorCb) -> dict[str, str] | None:
    """The builder's choices as a prefill (dialog answer ids), or None if they do not hold
    together in this knowledge base (a forged or outdated button)."""
    prefill: dict[str, str] = {}
    if data.s:
        if data.s not in kb.sectors:
            return None
        prefill["sector"] = data.s
    if data.r:
        if data.r not in kb.world_regions:
            return None
        prefill["target_region"] = data.r
    if data.c:
        country = kb.countries.get(data.c)
        if country is None or not data.r or country.world_region != data.r:
            return None
        prefill["target_country"] = data.c
    if data.t:
        city = kb.cities.get(data.t)
        if city is None or not data.c or city.country != data.c:
            return None
        prefill["target_city"] = data.t
    return prefill


async def bot_username(bot: Bot) -> str:
    me = await bot.me()
    return me.username or ""


async def send_link(bot: Bot, views: Views, chat_id: int, locale: str, url: str,
                    label: str) -> None:
    """The link's QR code, captioned with what it is and the link itself."""
    caption = views.renderer.render(locale, "advisor_qr", label=label, url=url)
    await bot.send_photo(chat_id, BufferedInputFile(qr_png(url), filename="qr.png"),
                         caption=caption)


async def edit_or_send(bot: Bot, views: Views, message: Message | None, chat_id: int, text: str,
                       markup: InlineKeyboardMarkup | None) -> None:
    """Replace the builder's message (a new one if it cannot be edited)."""
    if message is not None:
        try:
            await bot.edit_message_text(text=text, chat_id=chat_id,
                                        message_id=message.message_id, reply_markup=markup,
                                        link_preview_options=NO_PREVIEW)
            return
        except TelegramBadRequest as exc:
            if "not modified" in exc.message:
                return  # the same button pressed twice
            log.debug("builder message not edited: %s", exc.message)
    await views.send(chat_id, text, markup)


# --- admin sub-commands --------------------------------------------------------------------


def _user_id(text: str) -> int | None:
    text = text.strip()
    return int(text) if text.isdigit() and 0 < int(text) < 1 << 53 else None


async def admin_command(sub: str, rest: str, *, bot: Bot, views: Views, advisors: AdvisorRepository,
                        chat_id: int, admin_id: int, locale: str) -> None:
    render = views.renderer.render
    if sub == "invite":
        code = await advisors.create_invite(admin_id, rest)
        url = deep_link(await bot_username(bot), INVITE_PREFIX, code)
        await views.send(chat_id, render(locale, "advisor_invite", url=url,
                                         organisation=rest.strip()[:80]))
        return
    if sub == "list":
        records = await advisors.all_advisors()
        await views.send_parts(chat_id, pack([render(locale, "advisor_list", advisors=records)]))
        return
    if sub == "add":
        head, _, organisation = rest.partition(";")
        id_text, _, name = head.strip().partition(" ")
        user_id = _user_id(id_text)
        if user_id is None or not name.strip():
            await views.send(chat_id, render(locale, "advisor_usage", admin=True, advisor=False))
            return
        record = await advisors.register(user_id, name, organisation)
        await views.send(chat_id, render(locale, "advisor_admin_done", action="added",
                                         advisor=record))
        return
    # activate / deactivate
    user_id = _user_id(rest)
    if user_id is None:
        await views.send(chat_id, render(locale, "advisor_usage", admin=True, advisor=False))
        return
    found = await advisors.set_active(user_id, sub == "activate")
    changed = await advisors.advisor(user_id) if found else None
    await views.send(chat_id, render(locale, "advisor_admin_done",
                                     action=sub if found else "unknown",
                                     advisor=changed or {"id": user_id}))


# --- the advisor's own views ---------------------------------------------------------------


async def show_home(bot: Bot, views: Views, advisors: AdvisorRepository, dialogs: Dialogs,
                    chat_id: int, advisor: Mapping[str, Any], locale: str) -> None:
    code = await advisors.create_link(int(advisor["id"]), {})
    url = deep_link(await bot_username(bot), LINK_PREFIX, code)
    renderer = views.renderer
    await views.send(chat_id, renderer.render(locale, "advisor_home", advisor=advisor, url=url),
                     advisor_menu_keyboard(renderer, locale))
    await send_link(bot, views, chat_id, locale, url,
                    prefill_label(renderer, locale, dialogs.get().kb, {}))


async def show_stats(views: Views, advisors: AdvisorRepository, dialogs: Dialogs, chat_id: int,
                     advisor: Mapping[str, Any], locale: str) -> None:
    kb = dialogs.get().kb
    rows = []
    for code in advisor.get("links", []):
        link = await advisors.link(code)
        if link is None:
            continue
        counts = await advisors.stats(code)
        rows.append({"label": prefill_label(views.renderer, locale, kb, link.get("prefill", {})),
                     **counts})
    text = views.renderer.render(locale, "advisor_stats", rows=rows)
    for part in pack([text]):
        await views.send(chat_id, part)


def builder_step(renderer: Renderer, locale: str, kb: KnowledgeBase,
                 data: AdvisorCb) -> tuple[str, str, InlineKeyboardMarkup] | None:
    """(step name, choices so far, keyboard) of the next builder step; None: nothing left to
    choose, make the link."""
    def names(records: Any) -> list[tuple[str, str]]:
        return [(r.id, r.name.get(locale)) for r in records]

    if data.a == "b":
        return "sector", "", advisor_builder_keyboard(
            renderer, locale, names(kb.sectors.values()), "btn.adv_any_sector",
            AdvisorCb(a="s"), AdvisorCb(a="s"), "s", None)
    so_far = prefill_label(renderer, locale, kb, valid_prefill(kb, data) or {})
    if data.a == "s":
        return "region", so_far, advisor_builder_keyboard(
            renderer, locale, names(kb.world_regions.values()), "btn.adv_any_place",
            AdvisorCb(a="f", s=data.s), AdvisorCb(a="r", s=data.s), "r", AdvisorCb(a="b"))
    if data.a == "r":
        return "country", so_far, advisor_builder_keyboard(
            renderer, locale, names(kb.countries_in(data.r)), "btn.adv_any_country",
            AdvisorCb(a="f", s=data.s, r=data.r), AdvisorCb(a="c", s=data.s, r=data.r), "c",
            AdvisorCb(a="s", s=data.s))
    if data.a == "c" and kb.cities_in(data.c):
        return "city", so_far, advisor_builder_keyboard(
            renderer, locale, names(kb.cities_in(data.c)), "btn.adv_any_city",
            AdvisorCb(a="f", s=data.s, r=data.r, c=data.c),
            AdvisorCb(a="f", s=data.s, r=data.r, c=data.c), "t",
            AdvisorCb(a="r", s=data.s, r=data.r))
    return None


# --- the router ----------------------------------------------------------------------------


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")

    @router.message(CommandStart(deep_link=True, magic=F.args.startswith(INVITE_PREFIX + "_")))
    async def start_invite(message: Message, command: CommandObject, state: FSMContext,
                           dialogs: Dialogs, views: Views, locale: str,
                           advisors: AdvisorRepository | None = None) -> None:
        """A valid unused invitation makes the user an advisor; anything else is a plain
        /start, with no hint that the payload meant something."""
        payload = parse_payload(command.args)
        record = None
        if (payload is not None and payload.kind == "invite" and advisors is not None
                and message.from_user is not None):
            record = await advisors.redeem_invite(payload.code, message.from_user.id,
                                                  message.from_user.full_name)
        if record is None:
            await begin(message.chat.id, state, dialogs, views, locale, "welcome")
            return
        await views.send(message.chat.id,
                         views.renderer.render(locale, "advisor_welcome", advisor=record))

    @router.message(Command("advisor"))
    async def cmd_advisor(message: Message, command: CommandObject, bot: Bot, views: Views,
                          dialogs: Dialogs, locale: str,
                          admin_ids: frozenset[int] = frozenset(),
                          advisors: AdvisorRepository | None = None) -> None:
        chat_id = message.chat.id
        render = views.renderer.render
        user_id = message.from_user.id if message.from_user else 0
        is_admin = user_id in admin_ids
        advisor = await advisors.active_advisor(user_id) if advisors is not None else None
        sub, _, rest = (command.args or "").strip().partition(" ")
        sub = sub.lower()
        if advisors is None or (advisor is None and not is_admin) or (
                sub in ADMIN_SUBCOMMANDS and not is_admin):
            await views.send(chat_id, render(locale, "advisor_refused"))
            return
        if sub in ADMIN_SUBCOMMANDS:
            await admin_command(sub, rest, bot=bot, views=views, advisors=advisors,
                                chat_id=chat_id, admin_id=user_id, locale=locale)
        elif advisor is not None and sub == "":
            await show_home(bot, views, advisors, dialogs, chat_id, advisor, locale)
        elif advisor is not None and sub == "stats":
            await show_stats(views, advisors, dialogs, chat_id, advisor, locale)
        else:
            await views.send(chat_id, render(locale, "advisor_usage", admin=is_admin,
                                             advisor=advisor is not None))

    @router.callback_query(AdvisorCb.filter())
    async def cb_advisor(query: CallbackQuery, callback_data: AdvisorCb, bot: Bot, views: Views,
                         dialogs: Dialogs, locale: str,
                         advisors: AdvisorRepository | None = None) -> None:
        renderer = views.renderer
        advisor = (await advisors.active_advisor(query.from_user.id)
                   if advisors is not None else None)
        message = query.message if isinstance(query.message, Message) else None
        if advisors is None or advisor is None or message is None:
            await query.answer(renderer.label(locale, "toast.adv_refused"))
            return
        chat_id = message.chat.id
        data = callback_data
        if data.a == "st":
            await query.answer()
            await show_stats(views, advisors, dialogs, chat_id, advisor, locale)
            return
        kb = dialogs.get().kb
        prefill = valid_prefill(kb, data)
        if prefill is None or data.a not in ("b", "s", "r", "c", "f"):
            await query.answer(renderer.label(locale, "toast.stale"))
            return
        await query.answer()
        step = builder_step(renderer, locale, kb, data)
        if step is not None:
            name, so_far, markup = step
            text = renderer.render(locale, "advisor_builder", step=name, so_far=so_far)
            if data.a == "b":
                await views.send(chat_id, text, markup)
            else:
                await edit_or_send(bot, views, message, chat_id, text, markup)
            return
        code = await advisors.create_link(int(advisor["id"]), prefill)
        url = deep_link(await bot_username(bot), LINK_PREFIX, code)
        label = prefill_label(renderer, locale, kb, prefill)
        await edit_or_send(bot, views, message, chat_id,
                           renderer.render(locale, "advisor_link", label=label, url=url), None)
        await send_link(bot, views, chat_id, locale, url, label)

    return router
