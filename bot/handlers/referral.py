"""Clients sent by an advisor: `/start a_<code>`, and the hand-off of profile and plan to that
advisor, only with the client's consent, which the client can withdraw (a button, or /forget).

A payload that is not a live link of an active advisor gives exactly the normal /start: no error,
no hint that advisors exist.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Mapping
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message, User
from markupsafe import Markup

from bot.advisors.repository import AdvisorRepository, parse_payload
from bot.dialog.engine import DONE, Dialog, DialogState
from bot.dialog.registry import Dialogs
from bot.dialog.specs import question_of
from bot.handlers.commands import begin
from bot.handlers.views import NO_PREVIEW, Views, drop_keyboard
from bot.render.callbacks import HandoffCb
from bot.render.keyboards import handoff_keyboard, withdraw_keyboard
from bot.storage.users import UserRepository

log = logging.getLogger(__name__)
ADVISOR_DEFAULT_LOCALE = "fr"


def answer_rows(views: Views, dialog: Dialog, locale: str, answers: Mapping[str, str],
                only_given: bool = False) -> list[tuple[str, str]]:
    """(question label, answer label) for the questions this profile is asked, or only those
    answered."""
    given = {question_of(step) for step in answers}
    return [(views.renderer.label(locale, f"q.{name}"),
             views.answer_label(dialog, locale, name, answers))
            for name in dialog.recap_questions(answers) if not only_given or name in given]


async def live_link(advisors: AdvisorRepository | None,
                    raw: str | None) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
    """(code, link, advisor) for a well-formed link payload of an active advisor, else None."""
    payload = parse_payload(raw)
    if advisors is None or payload is None or payload.kind != "link":
        return None
    link = await advisors.link(payload.code)
    if link is None:
        return None
    try:
        advisor = await advisors.active_advisor(int(link["advisor_id"]))
    except (KeyError, TypeError, ValueError):
        return None
    return (payload.code, link, advisor) if advisor is not None else None


def _advisor_context(advisor: Mapping[str, Any]) -> dict[str, str]:
    return {"advisor": str(advisor.get("name") or ""),
            "organisation": str(advisor.get("organisation") or "")}


async def _send_to_advisor(bot: Bot, advisor_id: int, text: str) -> int | None:
    """Send to the advisor; a failure (blocked bot, 403...) is logged, never shown to the client."""
    try:
        sent = await bot.send_message(advisor_id, text, link_preview_options=NO_PREVIEW)
    except TelegramAPIError as exc:
        log.warning("hand-off message to advisor %s not sent: %s", advisor_id, exc)
        return None
    return sent.message_id


async def advisor_locale(users: UserRepository, advisor_id: int) -> str:
    return await users.locale(advisor_id) or ADVISOR_DEFAULT_LOCALE


async def after_plan(user: User, chat_id: int, dialog_id: str,
                     advisors: AdvisorRepository | None, views: Views, locale: str) -> None:
    """A referred client saw their plan: count it once per dialog, and ask for the hand-off
    while the client has neither given nor refused consent."""
    referral = await advisors.referral(user.id) if advisors is not None else None
    if advisors is None or referral is None or not referral.get("code"):
        return
    if referral.get("completed_dialog") != dialog_id:
        await advisors.count(str(referral["code"]), "completed")
        referral = await advisors.set_referral(user.id, completed_dialog=dialog_id)
    if referral.get("consent") is not None:
        return
    advisor = await advisors.active_advisor(int(referral["advisor_id"]))
    if advisor is None:
        return
    token = secrets.token_urlsafe(6)[:8]  # a later question makes this one's buttons stale
    await advisors.set_referral(user.id, token=token)
    await views.send(chat_id, views.renderer.render(locale, "handoff_ask",
                                                    **_advisor_context(advisor)),
                     handoff_keyboard(views.renderer, locale, token))


async def hand_off(user: User, advisor_id: int, advisors: AdvisorRepository,
                   users: UserRepository, dialogs: Dialogs, views: Views) -> None:
    """Send the advisor the client's answers, how to reach them and the plan: its summary in
    the message, the whole of it as a PDF document."""
    plan = ((await users.get(user.id)) or {}).get("last_plan") or {}
    answers = {str(k): str(v) for k, v in dict(plan.get("answers") or {}).items()}
    dialog = dialogs.get(str(plan.get("kb_version") or "") or None)
    locale = await advisor_locale(users, advisor_id)
    state = DialogState(dialog_id="handoff", kb_version=dialog.kb.version, step=DONE,
                        answers=answers)
    built = views.plan_of(dialog, state)
    text = views.renderer.render(
        locale, "handoff_advisor", client_id=user.id, client_name=user.full_name,
        username=user.username, rows=answer_rows(views, dialog, locale, answers),
        kb_version=plan.get("kb_version") or dialog.kb.version, date=plan.get("date"),
        summary=Markup(views.summary(locale, dialog, state, built)))
    sent = [await _send_to_advisor(views.bot, advisor_id, text)]
    if sent[0] is not None:
        try:
            sent.append(await views.plan_pdf(advisor_id, locale, dialog, state, built))
        except TelegramAPIError as exc:
            log.warning("hand-off PDF to advisor %s not sent: %s", advisor_id, exc)
    await advisors.set_handoff_message(user.id, advisor_id,
                                       [m for m in sent if m is not None] or None)


async def withdraw(client_id: int, advisors: AdvisorRepository, users: UserRepository,
                   views: Views) -> list[str]:
    """Consent withdrawn from every advisor who received the answers: each hand-off message is
    removed if Telegram still allows it, and each advisor is told, with no detail about the
    client. Returns the names of the advisors told."""
    names: list[str] = []
    for handoff in await advisors.withdraw_consent(client_id):
        try:
            advisor_id = int(handoff["advisor_id"])
        except (KeyError, TypeError, ValueError):
            continue
        sent = handoff.get("message")
        # The message and its PDF (a single id: a hand-off made before the PDF existed).
        for message_id in sent if isinstance(sent, list) else [sent] if sent else []:
            try:
                await views.bot.delete_message(advisor_id, int(message_id))
            except TelegramAPIError as exc:  # older than 48 hours, already deleted...
                log.info("hand-off message to advisor %s not deleted: %s", advisor_id, exc)
        locale = await advisor_locale(users, advisor_id)
        await _send_to_advisor(views.bot, advisor_id,
                               views.renderer.render(locale, "handoff_advisor_withdrawn"))
        advisor = await advisors.advisor(advisor_id)
        if advisor and advisor.get("name"):
            names.append(str(advisor["name"]))
    return names


async def forget_client(client_id: int, advisors: AdvisorRepository | None,
                        users: UserRepository, views: Views) -> None:
    """/forget: withdraw the consent given to every advisor, drop the referral, then the rest
    of the user's traces among advisors' records (shared plans, invitations, referrals of
    other clients, their own advisor account)."""
    if advisors is None:
        return
    if await advisors.referral(client_id) is not None:
        await withdraw(client_id, advisors, users, views)
        await advisors.drop_referral(client_id)
    record = await users.get(client_id) or {}
    await advisors.forget(client_id, shares=[str(code) for code in record.get("shares") or ()])


def build_router() -> Router:
    router = Router(name=__name__)
    router.message.filter(F.chat.type == "private")
    router.callback_query.filter(F.message.chat.type == "private")

    @router.message(CommandStart(deep_link=True, magic=F.args.startswith("a_")))
    async def start_referred(message: Message, command: CommandObject, state: FSMContext,
                             dialogs: Dialogs, views: Views, locale: str,
                             advisors: AdvisorRepository | None = None) -> None:
        found = await live_link(advisors, command.args)
        if found is None or advisors is None or message.from_user is None:
            await begin(message.chat.id, state, dialogs, views, locale, "welcome")
            return
        code, link, advisor = found
        await advisors.open_referral(message.from_user.id, code, int(advisor["id"]))
        await advisors.count(code, "started")
        raw = link.get("prefill")
        prefill = {str(k): str(v) for k, v in raw.items()} if isinstance(raw, dict) else {}
        dialog = dialogs.get()
        rows = answer_rows(views, dialog, locale, dialog.valid_prefill(prefill), only_given=True)
        await begin(message.chat.id, state, dialogs, views, locale, "welcome_referred",
                    prefill=prefill, context={**_advisor_context(advisor), "rows": rows})

    @router.callback_query(HandoffCb.filter())
    async def cb_handoff(query: CallbackQuery, callback_data: HandoffCb, dialogs: Dialogs,
                         users: UserRepository, views: Views, locale: str,
                         advisors: AdvisorRepository | None = None) -> None:
        message = query.message
        client_id = query.from_user.id
        referral = await advisors.referral(client_id) if advisors is not None else None
        action = callback_data.a
        if referral is None:
            valid = False
        elif action in ("yes", "no"):
            valid = referral.get("token") == callback_data.t and referral.get("consent") is None
        else:  # withdraw: the button under any hand-off the client has not withdrawn yet
            valid = any(h.get("token") == callback_data.t for h in referral["handoffs"])
        valid = valid and advisors is not None and message is not None
        if not valid:
            # Already answered, superseded, withdrawn, or forgotten: nothing happens twice.
            await query.answer(views.renderer.label(locale, "toast.handoff_stale"))
            if message is not None:
                await drop_keyboard(views.bot, message.chat.id, message.message_id)
            return
        assert advisors is not None and referral is not None and message is not None
        context: dict[str, Any] = {}
        markup = None
        if action == "withdraw":
            context["advisors"] = await withdraw(client_id, advisors, users, views)
            await query.answer(views.renderer.label(locale, "toast.handoff_withdrawn"))
            template = "handoff_withdrawn"
        else:
            advisor_id = int(referral["advisor_id"])
            advisor = await advisors.active_advisor(advisor_id)
            context = _advisor_context(advisor or await advisors.advisor(advisor_id) or {})
            if action == "yes" and advisor is None:
                # Deactivated since the question: nothing is sent, the question goes stale.
                await advisors.set_referral(client_id, token=None)
                await query.answer()
                template = "handoff_unavailable"
            elif action == "yes":
                # Recorded before sending: a retry after a crash can never send a second one.
                await advisors.add_handoff(client_id, advisor_id, callback_data.t)
                await advisors.count(str(referral["code"]), "shared")
                await hand_off(query.from_user, advisor_id, advisors, users, dialogs, views)
                await query.answer(views.renderer.label(locale, "toast.handoff_done"))
                template = "handoff_done"
                markup = withdraw_keyboard(views.renderer, locale, callback_data.t)
            else:
                await advisors.set_referral(client_id, consent=False,
                                            refused=advisors.clock.stamp())
                await query.answer()
                template = "handoff_declined"
        await drop_keyboard(views.bot, message.chat.id, message.message_id)
        await views.send(message.chat.id, views.renderer.render(locale, template, **context),
                         markup)

    return router
