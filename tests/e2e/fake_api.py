"""A strict fake Telegram Bot API server for end-to-end tests of the aiogram bot.

The real bot talks HTTP to this server exactly as it would to api.telegram.org
(``TelegramAPIServer.from_base(await fake.start())``). The fake answers with complete,
valid objects and rejects what Telegram would reject, with Telegram's own error texts
(taken from tdlib/telegram-bot-api and tdlib/td, see the project's reference notes).

Three kinds of findings are recorded:

* ``fake.errors``: requests answered with an error (what Telegram would also refuse);
* ``fake.violations``: things Telegram tolerates but the docs forbid, or that the fake
  cannot check (unknown parameters, unescaped ``>``/``&``, ...);
* ``fake.requests``: every call with its parsed parameters and the JSON response.

Tests drive the user side with ``send_message``, ``press_button``, ``send_sticker``,
``send_photo``, ``send_document`` and ``push_update``, then ``await fake.wait_idle()``
before asserting. In webhook mode (after setWebhook, getUpdates answers 409 as Telegram does)
the test plays Telegram's POST: ``take_updates()``, post each one, then ``delivered(update_id)``
(tests/e2e/replicas.py does it for several bot processes). Photos and documents the bot
sends (``sendPhoto``, ``sendDocument``, multipart upload) are in ``fake.photos(chat_id)``
and ``fake.documents(chat_id)``. Files the fake holds bytes of (the user's documents, what
the bot sent) are served by getFile and ``GET /file/bot<token>/<file_path>``;
``fake.downloads`` lists the paths fetched.

Error texts are Telegram's where the sources give them (text, HTML, keyboards, edits,
callbacks, commands, chat actions). A few rare ones are best guesses, marked "approximate"
where they are raised. Methods of the spec that the fake does not implement answer
501 "Not Implemented: ..." and are recorded as violations.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import itertools
import json
import mimetypes
import os
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from aiogram.types import Update
from aiohttp import web

__all__ = [
    "BOT_USERNAME",
    "DEFAULT_TOKEN",
    "BotMessage",
    "Call",
    "CallbackQueryRecord",
    "InlineQueryRecord",
    "FakeBotAPI",
    "HtmlParseError",
    "Rejection",
    "TelegramError",
    "parse_html",
]

DEFAULT_TOKEN = "123456:TEST"
BOT_USERNAME = "export_advisor_test_bot"
BOT_FIRST_NAME = "Export Advisor (test)"

SPEC_ENV = "TELEGRAM_BOT_API_SPEC"
_SPEC_CANDIDATES = (
    Path(__file__).with_name("api.json"),
    # ../shared beside the project's root, as on developers' machines and in CI
    Path(__file__).resolve().parents[3] / "shared" / "telegram-bot-api" / "api.json",
)

# Parameters of the methods the fake implements, from the Bot API 10.1 spec (api.json).
# Used when api.json is not available; "!" marks a required parameter, "json" a
# JSON-serialized object or array. test_fake_api checks this table against api.json.
EMBEDDED_METHODS: dict[str, str] = {
    "getMe": "",
    "getUpdates": "offset:int limit:int timeout:int allowed_updates:json",
    "deleteWebhook": "drop_pending_updates:bool",
    "setWebhook": (
        "url:str! certificate:file ip_address:str max_connections:int allowed_updates:json"
        " drop_pending_updates:bool secret_token:str"
    ),
    "setMyCommands": "commands:json! scope:json language_code:str",
    "getMyCommands": "scope:json language_code:str",
    "deleteMyCommands": "scope:json language_code:str",
    "sendMessage": (
        "business_connection_id:str chat_id:int|str! message_thread_id:int"
        " direct_messages_topic_id:int text:str! parse_mode:str entities:json"
        " link_preview_options:json disable_notification:bool protect_content:bool"
        " allow_paid_broadcast:bool message_effect_id:str suggested_post_parameters:json"
        " reply_parameters:json reply_markup:json"
    ),
    "editMessageText": (
        "business_connection_id:str chat_id:int|str message_id:int inline_message_id:str"
        " text:str parse_mode:str entities:json link_preview_options:json rich_message:json"
        " reply_markup:json"
    ),
    "editMessageReplyMarkup": (
        "business_connection_id:str chat_id:int|str message_id:int inline_message_id:str"
        " reply_markup:json"
    ),
    "answerCallbackQuery": "callback_query_id:str! text:str show_alert:bool url:str cache_time:int",
    "sendChatAction": (
        "business_connection_id:str chat_id:int|str! message_thread_id:int action:str!"
    ),
    "deleteMessage": "chat_id:int|str! message_id:int!",
    "answerInlineQuery": (
        "inline_query_id:str! results:json! cache_time:int is_personal:bool next_offset:str"
        " button:json"
    ),
    "sendPhoto": (
        "business_connection_id:str chat_id:int|str! message_thread_id:int"
        " direct_messages_topic_id:int photo:file|str! caption:str parse_mode:str"
        " caption_entities:json show_caption_above_media:bool has_spoiler:bool"
        " disable_notification:bool protect_content:bool allow_paid_broadcast:bool"
        " message_effect_id:str suggested_post_parameters:json reply_parameters:json"
        " reply_markup:json"
    ),
    "sendDocument": (
        "business_connection_id:str chat_id:int|str! message_thread_id:int"
        " direct_messages_topic_id:int document:file|str! thumbnail:file|str caption:str"
        " parse_mode:str caption_entities:json disable_content_type_detection:bool"
        " disable_notification:bool protect_content:bool allow_paid_broadcast:bool"
        " message_effect_id:str suggested_post_parameters:json reply_parameters:json"
        " reply_markup:json"
    ),
    "getFile": "file_id:str!",
}
EMBEDDED_VERSION = "Bot API 10.1 (embedded table)"

# Removed from the docs but still honoured by Telegram; aiogram 3.31 sends some of them.
LEGACY_PARAMS = frozenset(
    {"reply_to_message_id", "allow_sending_without_reply", "disable_web_page_preview"}
)

CHAT_ACTIONS = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
# getUpdates without allowed_updates (or with an empty list) delivers all but these.
NOT_DELIVERED_BY_DEFAULT = frozenset({"chat_member", "message_reaction", "message_reaction_count"})

INLINE_ACTION_FIELDS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)

# These may be empty: the user's input field then shows only the bot's username.
SWITCH_FIELDS = frozenset({"switch_inline_query", "switch_inline_query_current_chat"})
MAX_INLINE_RESULTS = 50
MAX_INLINE_RESULT_ID_BYTES = 64
MAX_TEXT_LENGTH = 4096
MAX_CAPTION_LENGTH = 1024
MAX_PHOTO_BYTES = 10 * 1024 * 1024
MAX_DOCUMENT_BYTES = 50 * 1024 * 1024  # uploads by bots (sendDocument)
MAX_DOWNLOAD_BYTES = 20 * 1024 * 1024  # getFile: "bots can download files of up to 20MB"
# aiohttp's request body limit: a 50 MB file plus its multipart framing and other fields.
MAX_REQUEST_BYTES = MAX_DOCUMENT_BYTES + 1024 * 1024
PHOTO_SIZE_STEPS = (90, 320, 800, 1280, 2560)  # Telegram's s, m, x, y, w thumbnails
MAX_RAW_TEXT_BYTES = 1 << 15
MAX_CALLBACK_DATA_BYTES = 64
MAX_CALLBACK_ANSWER_LENGTH = 200
MAX_INLINE_ROW = 8
MAX_INLINE_BUTTONS = 100
MAX_REPLY_ROW = 12
MAX_REPLY_BUTTONS = 300
LONG_POLL_MAX_TIMEOUT = 50
WEBHOOK_PORTS = frozenset({443, 80, 88, 8443})
WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")
WEBHOOK_CONFLICT = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)

QUERY_TOO_OLD = "Bad Request: query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "Bad Request: message is not modified: specified new message content and reply markup"
    " are exactly the same as a current content and reply markup of the message"
)
INLINE_BUTTON_ERROR = "Bad Request: can't parse inline keyboard button: "
KEYBOARD_BUTTON_ERROR = "Bad Request: can't parse keyboard button: "


# --------------------------------------------------------------------------------------
# Records


class TelegramError(Exception):
    """An error answer: ``{"ok": false, "error_code": code, "description": ...}``."""

    def __init__(
        self, code: int, description: str, parameters: dict[str, Any] | None = None
    ) -> None:
        super().__init__(description)
        self.code = code
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "ok": False,
            "error_code": self.code,
            "description": self.description,
        }
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class Call(NamedTuple):
    """One API request: canonical method name, parameters as received, JSON response."""

    method: str
    params: dict[str, str]
    response: dict[str, Any]


class Rejection(NamedTuple):
    """A request the fake answered with an error, as Telegram would have."""

    method: str
    params: dict[str, str]
    description: str


@dataclass
class BotMessage:
    """A message the bot sent, as the fake stores it."""

    chat_id: int
    message_id: int
    date: int
    text: str  # raw text as sent (the HTML source when parse_mode=HTML)
    plain_text: str  # the text the user sees (tags removed, entities decoded, trimmed)
    entities: list[dict[str, Any]]
    parse_mode: str | None
    reply_markup: dict[str, Any] | None  # as sent (inline or reply keyboard)
    edited: int = 0
    edit_date: int | None = None
    deleted: bool = False
    reply_to: dict[str, Any] | None = None
    photo: list[dict[str, Any]] | None = None  # PhotoSize list; then text/plain_text: caption
    photo_data: bytes | None = None  # the uploaded image
    document: dict[str, Any] | None = None  # Document; then text/plain_text: caption
    document_data: bytes | None = None  # the uploaded file

    @property
    def inline_markup(self) -> dict[str, Any] | None:
        """The inline keyboard, the only markup Telegram returns inside a Message."""
        if self.reply_markup is not None and "inline_keyboard" in self.reply_markup:
            return self.reply_markup
        return None


@dataclass
class CallbackQueryRecord:
    """A callback query created by ``press_button`` and how the bot answered it."""

    id: str
    user_id: int
    message_id: int
    data: str
    created: float
    answered: bool = False
    answer: dict[str, str] | None = None


@dataclass
class InlineQueryRecord:
    """An inline query created by ``send_inline_query`` and the results the bot answered."""

    id: str
    user_id: int
    query: str
    created: float
    answered: bool = False
    results: list[dict[str, Any]] | None = None
    answer: dict[str, str] | None = None


@dataclass
class _User:
    id: int
    first_name: str
    language_code: str | None
    username: str | None = None
    next_message_id: int = 1
    user_messages: dict[int, dict[str, Any]] = field(default_factory=dict)
    bot_messages: dict[int, BotMessage] = field(default_factory=dict)


@dataclass
class _StoredFile:
    """A file the fake holds bytes for: served by getFile and the download route."""

    file_id: str
    file_unique_id: str
    kind: str  # "document" or "photo": a file_id is only re-sendable as its own kind
    data: bytes
    size: int  # as Telegram reports it (a user's document may declare more than its bytes)
    file_name: str | None = None
    mime_type: str | None = None
    file_path: str | None = None  # set by the first getFile

    def document_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"file_id": self.file_id, "file_unique_id": self.file_unique_id}
        if self.file_name is not None:
            data["file_name"] = self.file_name
        if self.mime_type is not None:
            data["mime_type"] = self.mime_type
        data["file_size"] = self.size
        return data


@dataclass
class _Param:
    types: tuple[str, ...]
    required: bool


@dataclass
class _Method:
    name: str
    params: dict[str, _Param]


@dataclass
class _Poller:
    request: web.Request
    event: asyncio.Event = field(default_factory=asyncio.Event)
    conflict: bool = False


# --------------------------------------------------------------------------------------
# Telegram HTML (a port of the rules of TDLib's parse_html, MessageEntity.cpp)


class HtmlParseError(ValueError):
    """Raised with TDLib's message; the API wraps it in "Bad Request: can't parse entities: "."""


_HTML_TAGS = frozenset(
    {
        "a",
        "b",
        "strong",
        "i",
        "em",
        "s",
        "strike",
        "del",
        "u",
        "ins",
        "tg-spoiler",
        "tg-emoji",
        "tg-time",
        "span",
        "pre",
        "code",
        "blockquote",
    }
)
_SIMPLE_ENTITY = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
}
_TD_SPACES = " \t\r\n\0\v"  # td::is_space
_NAMED_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_HEX = "0123456789abcdefABCDEF"
_DIGITS = "0123456789"
_TRIM = " \t\n\r\v\f"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, the unit of entity offsets."""
    return len(text.encode("utf-16-le", "surrogatepass")) // 2


@dataclass
class ParsedText:
    text: str
    entities: list[dict[str, Any]]
    warnings: list[str]


def _decode_html_entity(text: str, pos: int) -> tuple[str, int] | None:
    """Decode the entity at ``text[pos] == "&"``; None when Telegram keeps the "&" as is."""
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    end = pos + 1
    if at(pos + 1) == "#":
        end += 1
        code = 0
        if at(pos + 2) == "x":
            end += 1
            while at(end) in _HEX and at(end) != "\0":
                code = code * 16 + int(at(end), 16)
                end += 1
        else:
            while at(end) in _DIGITS and at(end) != "\0":
                code = code * 10 + int(at(end))
                end += 1
        if code == 0 or code >= 0x10FFFF or end - pos >= 10:
            return None
        char = chr(code)
    else:
        while at(end).isascii() and at(end).isalpha():
            end += 1
        named = _NAMED_ENTITIES.get(text[pos + 1 : end])
        if named is None:
            return None
        char = named
    if at(end) == ";":
        end += 1
    return char, end


def parse_html(text: str) -> ParsedText:
    """Parse Telegram HTML into plain text and entities (offsets in UTF-16 units).

    Follows TDLib: a ``<`` always starts a tag; unknown tags, unclosed or unmatched tags
    are errors with TDLib's messages and UTF-8 byte offsets; only &lt; &gt; &amp; &quot;
    and numeric entities are decoded; a bare ``>`` or undecodable ``&`` is kept (and
    reported as a warning, since the docs require escaping them).
    """
    n = len(text)

    def at(k: int) -> str:
        return text[k] if k < n else "\0"

    def byte_offset(k: int) -> int:
        return len(text[:k].encode("utf-8", "surrogatepass"))

    out: list[str] = []
    u16 = 0
    stack: list[tuple[str, str, int, int]] = []  # tag, argument, utf16 offset, out index
    entities: list[dict[str, Any]] = []
    warnings: list[str] = []
    bad_surrogate = False
    i = 0
    while i < n:
        c = text[i]
        if c == "&":
            decoded = _decode_html_entity(text, i)
            if decoded is not None:
                char, i = decoded
                if 0xD800 <= ord(char) <= 0xDFFF:
                    bad_surrogate = True
                out.append(char)
                u16 += 2 if ord(char) > 0xFFFF else 1
                continue
            warnings.append(f"unescaped '&' at byte offset {byte_offset(i)}")
        if c != "<":
            if c == ">":
                warnings.append(f"unescaped '>' at byte offset {byte_offset(i)}")
            out.append(c)
            u16 += 2 if ord(c) > 0xFFFF else 1
            i += 1
            continue

        begin = i
        i += 1
        if at(i) != "/":
            while at(i) not in _TD_SPACES and at(i) != ">":
                i += 1
            if at(i) == "\0":
                raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
            tag = text[begin + 1 : i].lower()
            if tag not in _HTML_TAGS:
                raise HtmlParseError(
                    f'Unsupported start tag "{tag}" at byte offset {byte_offset(begin)}'
                )
            argument = ""
            attributes: dict[str, str] = {}
            while at(i) != ">":
                while at(i) != "\0" and at(i) in _TD_SPACES:
                    i += 1
                if at(i) == ">":
                    break
                name_begin = i
                while at(i) not in _TD_SPACES and at(i) not in "=>/\"'":
                    i += 1
                name = text[name_begin:i]
                if not name:
                    raise HtmlParseError(
                        f'Empty attribute name in the tag "{tag}" at byte offset '
                        f"{byte_offset(begin)}"
                    )
                while at(i) != "\0" and at(i) in _TD_SPACES:
                    i += 1
                if at(i) != "=":
                    if at(i) == "\0":
                        raise HtmlParseError(
                            f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}'
                        )
                    if tag == "blockquote" and name == "expandable":
                        argument = "1"
                    continue
                i += 1
                while at(i) != "\0" and at(i) in _TD_SPACES:
                    i += 1
                if at(i) == "\0":
                    raise HtmlParseError(
                        f'Unclosed start tag "{tag}" at byte offset {byte_offset(begin)}'
                    )
                if at(i) not in "'\"":
                    token_begin = i
                    while at(i) != "\0" and (at(i).isascii() and at(i).isalnum() or at(i) in ".-"):
                        i += 1
                    value = text[token_begin:i].lower()
                    if at(i) not in _TD_SPACES and at(i) != ">":
                        offset = byte_offset(token_begin)
                        message = f"Unexpected end of name token at byte offset {offset}"
                        raise HtmlParseError(message)
                else:
                    quote = at(i)
                    i += 1
                    chars: list[str] = []
                    while at(i) != quote and at(i) != "\0":
                        if at(i) == "&":
                            decoded = _decode_html_entity(text, i)
                            if decoded is not None:
                                chars.append(decoded[0])
                                i = decoded[1]
                                continue
                        chars.append(at(i))
                        i += 1
                    if at(i) == quote:
                        i += 1
                    value = "".join(chars)
                if at(i) == "\0":
                    raise HtmlParseError(f"Unclosed start tag at byte offset {byte_offset(begin)}")
                attributes[name] = value
                if tag == "a" and name == "href":
                    argument = value
                elif tag == "code" and name == "class" and value.startswith("language-"):
                    argument = value[9:]
                elif tag == "span" and name == "class" and value.startswith("tg-"):
                    argument = value[3:]
                elif (tag == "tg-emoji" and name == "emoji-id") or (
                    tag == "tg-time" and name == "unix"
                ):
                    argument = value
                elif tag == "blockquote" and name == "expandable":
                    argument = "1"
            if tag == "span" and argument != "spoiler":
                raise HtmlParseError(
                    f'Tag "span" must have class "tg-spoiler" at byte offset {byte_offset(begin)}'
                )
            if tag == "tg-time" and "format" in attributes:
                argument = f"{argument}|{attributes['format']}"
            stack.append((tag, argument, u16, len(out)))
            i += 1  # skip ">"
            continue

        # an end tag
        if not stack:
            raise HtmlParseError(f"Unexpected end tag at byte offset {byte_offset(begin)}")
        while at(i) not in _TD_SPACES and at(i) != ">":
            i += 1
        end_name = text[begin + 2 : i].lower()
        while at(i) != "\0" and at(i) in _TD_SPACES:
            i += 1
        if at(i) != ">":
            raise HtmlParseError(f"Unclosed end tag at byte offset {byte_offset(begin)}")
        i += 1
        tag, argument, start, out_start = stack.pop()
        if end_name and end_name != tag:
            raise HtmlParseError(
                f"Unmatched end tag at byte offset {byte_offset(begin)}, "
                f'expected "</{tag}>", found "</{end_name}>"'
            )
        if u16 > start:
            _add_entity(entities, tag, argument, start, u16 - start, "".join(out[out_start:]))
    if stack:
        raise HtmlParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    if bad_surrogate:
        raise HtmlParseError(
            "Text contains invalid Unicode characters after decoding HTML entities, "
            "check for unmatched surrogate code units"
        )
    for entity in entities:
        if entity["type"] == "code":
            entity.pop("language", None)
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return ParsedText("".join(out), entities, warnings)


def _add_entity(
    entities: list[dict[str, Any]], tag: str, argument: str, offset: int, length: int, inner: str
) -> None:
    entity: dict[str, Any] = {"offset": offset, "length": length}
    last = entities[-1] if entities else None
    same_range = last is not None and last["offset"] == offset and last["length"] == length
    if tag in _SIMPLE_ENTITY:
        entity["type"] = _SIMPLE_ENTITY[tag]
    elif tag == "tg-emoji":
        if not re.fullmatch(r"-?\d{1,19}", argument) or int(argument) == 0:
            raise HtmlParseError("Invalid custom emoji identifier specified")
        entity.update(type="custom_emoji", custom_emoji_id=argument)
    elif tag == "tg-time":
        unix, _, fmt = argument.partition("|")
        if not re.fullmatch(r"\d{1,12}", unix):
            return  # not a valid date: no entity
        entity.update(type="date_time", unix_time=int(unix))
        if fmt:
            entity["date_time_format"] = fmt
    elif tag == "a":
        url = argument or inner
        if not url.strip():
            return
        if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
            url = "http://" + url
        entity.update(type="text_link", url=url)
    elif tag == "pre":
        if last is not None and same_range and last["type"] == "code" and last.get("language"):
            last["type"] = "pre"
            return
        entity["type"] = "pre"
    elif tag == "code":
        if last is not None and same_range and last["type"] == "pre" and argument:
            last["language"] = argument
            return
        entity["type"] = "code"
        if argument:
            entity["language"] = argument
    elif tag == "blockquote":
        entity["type"] = "expandable_blockquote" if argument else "blockquote"
    entities.append(entity)


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Strip leading/trailing whitespace as Telegram does, keeping entities aligned."""
    stripped = text.strip(_TRIM)
    if stripped == text:
        return text, entities
    lead = len(text) - len(text.lstrip(_TRIM))
    shift = utf16_len(text[:lead])
    total = utf16_len(stripped)
    kept: list[dict[str, Any]] = []
    for entity in entities:
        start = max(0, entity["offset"] - shift)
        end = min(total, entity["offset"] + entity["length"] - shift)
        if end > start:
            kept.append({**entity, "offset": start, "length": end - start})
    return stripped, kept


# --------------------------------------------------------------------------------------
# Helpers


def _wire(value: Any) -> str | None:
    """A JSON-body value as Telegram sees it (the same string aiogram would send)."""
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(value, ensure_ascii=False)


def _lenient_int(value: str | None) -> int:
    """Telegram's to_integer: leading integer, anything else is 0."""
    if not value:
        return 0
    match = re.match(r"\s*(-?\d+)", value)
    return int(match.group(1)) if match else 0


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in ("true", "1")


def _update_kind(update: dict[str, Any]) -> str:
    kinds = [key for key in update if key != "update_id"]
    return kinds[0] if kinds else "unknown"


@functools.lru_cache(maxsize=1)
def _load_methods() -> tuple[dict[str, _Method], str, bool]:
    """Method table keyed by lower-case name, spec version, and whether api.json was found."""
    candidates = [Path(p) for p in [os.environ.get(SPEC_ENV)] if p] + list(_SPEC_CANDIDATES)
    for path in candidates:
        if path.is_file():
            spec = json.loads(path.read_text(encoding="utf-8"))
            methods: dict[str, _Method] = {}
            for name, method in spec["methods"].items():
                params = {
                    f["name"]: _Param(tuple(f["types"]), bool(f["required"]))
                    for f in method.get("fields", [])
                }
                methods[name.lower()] = _Method(name, params)
            return methods, str(spec.get("version", "Bot API")), True
    return embedded_methods(), EMBEDDED_VERSION, False


_TYPE_NAMES = {
    "int": "Integer",
    "str": "String",
    "bool": "Boolean",
    "float": "Float",
    "file": "InputFile",
}


def embedded_methods() -> dict[str, _Method]:
    """The embedded parameter table, in the same shape as the spec-derived one."""
    methods: dict[str, _Method] = {}
    for name, text in EMBEDDED_METHODS.items():
        params: dict[str, _Param] = {}
        for item in text.split():
            pname, _, types = item.partition(":")
            required = types.endswith("!")
            kinds = tuple(_TYPE_NAMES.get(t, "JSON") for t in types.rstrip("!").split("|"))
            params[pname] = _Param(kinds, required)
        methods[name.lower()] = _Method(name, params)
    return methods


def _image_dimensions(data: bytes) -> tuple[int, int] | None:
    """(width, height) of a PNG or JPEG image; None for anything Telegram could not process."""
    if data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR" and len(data) >= 24:
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        return (width, height) if width and height else None
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            length = int.from_bytes(data[i + 2 : i + 4], "big")
            if marker in (0xC0, 0xC1, 0xC2):
                height = int.from_bytes(data[i + 5 : i + 7], "big")
                width = int.from_bytes(data[i + 7 : i + 9], "big")
                return (width, height) if width and height else None
            i += 2 + length
    return None


def _type_ok(types: tuple[str, ...], value: str) -> bool:
    for kind in types:
        if kind == "String" or kind == "InputFile":
            return True
        if kind == "Integer" and re.fullmatch(r"-?\d+", value):
            return True
        if kind == "Float":
            with contextlib.suppress(ValueError):
                float(value)
                return True
        if kind == "Boolean" and value.lower() in ("true", "false", "1", "0"):
            return True
        if kind not in ("Integer", "Float", "Boolean"):  # object / array: JSON-serialized
            with contextlib.suppress(ValueError):
                json.loads(value)
                return True
    return False


# Telegram names a document's MIME type after its extension. The stdlib defaults (not the
# system's mime.types, so every machine agrees), plus the office formats they lack.
_MIME_TYPES = mimetypes.MimeTypes()
_EXTRA_MIME_TYPES = {
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}


def _guess_mime_type(file_name: str) -> str:
    suffix = Path(file_name).suffix.lower()
    guessed = _EXTRA_MIME_TYPES.get(suffix) or _MIME_TYPES.guess_type(f"x{suffix}")[0]
    return guessed or "application/octet-stream"


def _file_path_suffix(file_name: str | None) -> str:
    """The extension Telegram keeps in a document's file_path ("" when it has none)."""
    suffix = Path(file_name or "").suffix
    return suffix.lower() if re.fullmatch(r"\.[A-Za-z0-9]{1,10}", suffix) else ""


Handler = Callable[[dict[str, str], web.Request], Awaitable[Any]]
# The file parts of a multipart request, by part name: (filename, content).
_FILES: Any = web.RequestKey("files", dict) if hasattr(web, "RequestKey") else "files"


# --------------------------------------------------------------------------------------
# The server


class FakeBotAPI:
    """In-process fake of api.telegram.org for one bot, served by aiohttp on 127.0.0.1."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        callback_timeout: float = 15.0,
        first_update_id: int = 100_000_001,
    ) -> None:
        self.token = token
        self.bot_id = int(token.split(":", 1)[0])
        self.callback_timeout = callback_timeout
        self.base_url = ""
        self.requests: list[Call] = []
        # Called with each answered request (not failures injected by fail_next): lets a load
        # generator wait for replies without polling.
        self.listeners: list[Callable[[Call], None]] = []
        self.errors: list[Rejection] = []
        self.violations: list[str] = []
        self.callbacks: dict[str, CallbackQueryRecord] = {}
        self.inline_queries: dict[str, InlineQueryRecord] = {}
        self.chat_actions: list[tuple[int, str]] = []
        self.bot_commands: dict[tuple[str, str], list[dict[str, str]]] = {}
        self.injected: list[dict[str, Any]] = []
        self.downloads: list[str] = []  # file_paths served by the download route, in order
        self._methods, self.spec_version, self.spec_loaded = _load_methods()
        self._users: dict[int, _User] = {}
        self._queue: list[dict[str, Any]] = []
        self._undelivered: set[int] = set()
        self._last_update_id = first_update_id - 1
        self._callback_ids = itertools.count(4_382_910_573_829_105)
        self._inline_ids = itertools.count(5_917_304_228_610_337)
        self._file_ids = itertools.count(1)
        self._allowed_updates: frozenset[str] | None = None
        # The setWebhook parameters in force (None: no webhook, getUpdates works).
        self.webhook: dict[str, str] | None = None
        self._queued = asyncio.Event()  # set when an update is queued (webhook deliverers)
        self._pollers: list[_Poller] = []
        self._failures: dict[str, list[TelegramError]] = {}
        self._inflight = 0
        self._last_activity = time.monotonic()
        self._closing = False
        self._runner: web.AppRunner | None = None
        self._handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "deleteWebhook": self._delete_webhook,
            "setWebhook": self._set_webhook,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "sendMessage": self._send_message,
            "editMessageText": self._edit_message_text,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "deleteMessage": self._delete_message,
            "answerInlineQuery": self._answer_inline_query,
            "sendPhoto": self._send_photo,
            "sendDocument": self._send_document,
            "getFile": self._get_file,
        }
        self._uploaded: dict[str, bytes] = {}  # file_id -> image, for re-sending by file_id
        self._files: dict[str, _StoredFile] = {}  # file_id -> bytes getFile can hand out
        self._file_paths: dict[str, _StoredFile] = {}  # file_path -> file, once getFile'd
        self._file_path_ids = itertools.count(0)

    # ---- lifecycle -------------------------------------------------------------------

    async def start(self) -> str:
        """Start serving on a random 127.0.0.1 port; return the base URL for aiogram."""
        app = web.Application(client_max_size=MAX_REQUEST_BYTES)
        app.router.add_route("*", r"/bot{token}/{method}", self._dispatch)
        app.router.add_route("GET", r"/file/bot{token}/{path:.+}", self._download)
        app.router.add_route("*", r"/{tail:.*}", self._not_found)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        self._closing = False
        return self.base_url

    async def stop(self) -> None:
        """Release parked long polls and stop the server."""
        self._closing = True
        self._wake_pollers()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeBotAPI:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    # ---- control API: the user side --------------------------------------------------

    def send_message(
        self, user_id: int, text: str, *, language_code: str = "fr", first_name: str = "Test"
    ) -> int:
        """The user sends ``text`` in the private chat; returns the update_id."""
        user = self._user(user_id, first_name=first_name, language_code=language_code)
        message = self._new_user_message(user)
        message["text"] = text
        command = re.match(r"/[A-Za-z0-9_]{1,64}(@[A-Za-z0-9_]{3,32})?(?=\s|$)", text)
        if command:
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": command.end()}]
        return self._enqueue({"message": message})

    def send_sticker(self, user_id: int, *, emoji: str = "👍") -> int:
        """The user sends a sticker; returns the update_id."""
        user = self._user(user_id)
        message = self._new_user_message(user)
        n = next(self._file_ids)
        message["sticker"] = {
            "file_id": f"CAACAgIAAxkBAAIB{n:06d}",
            "file_unique_id": f"AgADsticker{n}",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "set_name": "TestStickers",
            "file_size": 23_456,
        }
        return self._enqueue({"message": message})

    def send_photo(self, user_id: int, *, caption: str | None = None) -> int:
        """The user sends a photo (two sizes), optionally captioned; returns the update_id."""
        user = self._user(user_id)
        message = self._new_user_message(user)
        n = next(self._file_ids)
        message["photo"] = [
            {
                "file_id": f"AgACAgIAAxkBAAIC{n:06d}s",
                "file_unique_id": f"AQADphoto{n}s",
                "width": 90,
                "height": 67,
                "file_size": 1_234,
            },
            {
                "file_id": f"AgACAgIAAxkBAAIC{n:06d}m",
                "file_unique_id": f"AQADphoto{n}m",
                "width": 800,
                "height": 600,
                "file_size": 56_789,
            },
        ]
        if caption:
            message["caption"] = caption
        return self._enqueue({"message": message})

    def send_document(
        self,
        user_id: int,
        data: bytes,
        *,
        file_name: str | None = "file.json",
        mime_type: str | None = "application/json",
        caption: str | None = None,
        declared_size: int | None = None,
        language_code: str | None = None,
    ) -> int:
        """The user sends a file; returns the update_id.

        The bot can fetch ``data`` with getFile and the download route. ``declared_size``
        is the ``file_size`` Telegram reports (default ``len(data)``): set it above 20 MB to
        see getFile refuse the file without building one that big.
        """
        if declared_size is not None and declared_size < 0:
            raise ValueError("declared_size must not be negative")
        user = self._user(user_id, language_code=language_code)
        message = self._new_user_message(user)
        n = next(self._file_ids)
        stored = _StoredFile(
            f"BQACAgIAAxkBAAID{n:06d}",
            f"AgADdoc{n}",
            "document",
            bytes(data),
            len(data) if declared_size is None else declared_size,
            file_name,
            mime_type,
        )
        self._files[stored.file_id] = stored
        message["document"] = stored.document_dict()
        if caption:
            message["caption"] = caption
        return self._enqueue({"message": message})

    def press_button(self, user_id: int, message_id: int, callback_data: str) -> int:
        """The user presses the inline button with ``callback_data`` under a bot message.

        Raises ValueError if the message or the button does not exist (a test bug).
        Returns the update_id; the query is in ``fake.callbacks`` by its id.
        """
        user = self._users.get(user_id)
        message = user.bot_messages.get(message_id) if user else None
        if user is None or message is None or message.deleted:
            raise ValueError(f"no bot message {message_id} in chat {user_id}")
        if all(data != callback_data for _, data in self.buttons(message)):
            raise ValueError(
                f"message {message_id} has no button with callback_data {callback_data!r}; "
                f"buttons: {self.buttons(message)}"
            )
        query_id = str(next(self._callback_ids))
        self.callbacks[query_id] = CallbackQueryRecord(
            query_id, user_id, message_id, callback_data, time.monotonic()
        )
        return self._enqueue(
            {
                "callback_query": {
                    "id": query_id,
                    "from": self._user_dict(user),
                    "message": self._message_dict(message),
                    "chat_instance": str(-(7_000_000_000_000_000_000 + user_id)),
                    "data": callback_data,
                }
            }
        )

    def send_inline_query(
        self, user_id: int, query: str = "", *, language_code: str | None = None
    ) -> int:
        """The user types ``@bot query`` in any chat; returns the update_id.

        The query is in ``fake.inline_queries`` by its id; answer it once, with
        answerInlineQuery, within ``callback_timeout``.
        """
        user = self._user(user_id, language_code=language_code)
        query_id = str(next(self._inline_ids))
        self.inline_queries[query_id] = InlineQueryRecord(
            query_id, user_id, query[:256], time.monotonic()
        )
        return self._enqueue(
            {
                "inline_query": {
                    "id": query_id,
                    "from": self._user_dict(user),
                    "query": query[:256],
                    "offset": "",
                    "chat_type": "sender",
                }
            }
        )

    def push_update(self, update: dict[str, Any]) -> int:
        """Queue any update (``update_id`` is assigned if missing); returns the update_id."""
        update = json.loads(json.dumps(update))
        update_id = update.pop("update_id", None)
        if update_id is not None and update_id <= self._last_update_id:
            raise ValueError(f"update_id {update_id} must exceed {self._last_update_id}")
        for value in update.values():
            if isinstance(value, dict):
                self._register_from_payload(value)
        return self._enqueue(update, update_id)

    # ---- control API: failures, inspection, waiting ----------------------------------

    def fail_next(
        self, method: str, code: int, description: str, *, retry_after: int | None = None
    ) -> None:
        """Answer the next call of ``method`` with this error (once; calls queue up).

        Such answers are recorded in ``requests`` but not in ``errors``.
        """
        parameters = {"retry_after": retry_after} if retry_after is not None else None
        error = TelegramError(code, description, parameters)
        self._failures.setdefault(method.lower(), []).append(error)

    def messages(self, chat_id: int, *, include_deleted: bool = False) -> list[BotMessage]:
        """The bot's messages in a chat, oldest first."""
        user = self._users.get(chat_id)
        if user is None:
            return []
        found = sorted(user.bot_messages.values(), key=lambda m: m.message_id)
        return [m for m in found if include_deleted or not m.deleted]

    def last_message(self, chat_id: int) -> BotMessage:
        """The bot's latest (not deleted) message in a chat; LookupError if none."""
        found = self.messages(chat_id)
        if not found:
            raise LookupError(f"the bot sent no message to chat {chat_id}")
        return found[-1]

    @staticmethod
    def buttons(message: BotMessage) -> list[tuple[str, str | None]]:
        """(text, callback_data) of every inline button, row by row (None: not a callback)."""
        markup = message.inline_markup or {}
        return [
            (button.get("text", ""), button.get("callback_data"))
            for row in markup.get("inline_keyboard", [])
            for button in row
        ]

    def documents(self, chat_id: int) -> list[BotMessage]:
        """The documents the bot sent in a chat, oldest first."""
        return [m for m in self.messages(chat_id) if m.document is not None]

    def calls(self, method: str) -> list[Call]:
        """Recorded calls of one method (name matched case-insensitively)."""
        return [c for c in self.requests if c.method.lower() == method.lower()]

    def unanswered_callbacks(self) -> list[CallbackQueryRecord]:
        """Callback queries the bot has not answered yet."""
        return [q for q in self.callbacks.values() if not q.answered]

    def commands(self, language_code: str = "", scope: str = "default") -> list[dict[str, str]]:
        """Commands registered with setMyCommands for a scope key and language."""
        return self.bot_commands.get((scope, language_code), [])

    async def wait_idle(self, quiet: float = 0.15, timeout: float = 10.0) -> None:
        """Wait until every queued update was delivered and the bot has been quiet.

        Quiet means: no API request other than getUpdates in flight or arrived (and no
        update delivered) for ``quiet`` seconds. Raises TimeoutError otherwise.
        """
        deadline = time.monotonic() + timeout
        while True:
            now = time.monotonic()
            if not self._undelivered and self._inflight == 0 and now - self._last_activity >= quiet:
                return
            if now >= deadline:
                raise TimeoutError(
                    f"fake Bot API not idle after {timeout}s: undelivered updates "
                    f"{sorted(self._undelivered)}, requests in flight {self._inflight}, "
                    f"pollers parked {len(self._pollers)}"
                )
            await asyncio.sleep(0.01)

    # ---- HTTP ------------------------------------------------------------------------

    async def _not_found(self, request: web.Request) -> web.Response:
        error = TelegramError(404, "Not Found")
        self.errors.append(Rejection(request.path, {}, error.description))
        return web.json_response(error.payload(), status=404)

    async def _download(self, request: web.Request) -> web.Response:
        """``GET /file/bot<token>/<file_path>``: the bytes of a file getFile handed out."""
        self._inflight += 1
        self._touch()
        try:
            path = request.match_info["path"]
            if request.match_info["token"] != self.token:
                error = TelegramError(401, "Unauthorized")
            else:
                stored = self._file_paths.get(path)
                if stored is not None:
                    self.downloads.append(path)
                    return web.Response(
                        body=stored.data,
                        content_type=stored.mime_type or "application/octet-stream",
                    )
                error = TelegramError(404, "Not Found")
            self.errors.append(Rejection("download", {"file_path": path}, error.description))
            return web.json_response(error.payload(), status=error.code)
        finally:
            self._inflight -= 1
            self._touch()

    async def _dispatch(self, request: web.Request) -> web.Response:
        raw_method = request.match_info["method"]
        method = self._methods.get(raw_method.lower())
        name = method.name if method else raw_method
        polling = name == "getUpdates"
        if not polling:
            self._inflight += 1
            self._touch()
        try:
            params: dict[str, str] = {}
            try:
                params = await self._read_params(request)
                if request.match_info["token"] != self.token:
                    raise TelegramError(401, "Unauthorized")
                if method is None:
                    raise TelegramError(404, "Not Found: method not found")
                failures = self._failures.get(name.lower())
                if failures:
                    error = failures.pop(0)
                    self.requests.append(Call(name, params, error.payload()))
                    return web.json_response(error.payload(), status=error.code)
                self._check_params(method, params, request.get(_FILES, {}))
                handler = self._handlers.get(name)
                if handler is None:
                    self.violations.append(f"{name}: called, but the fake does not implement it")
                    raise TelegramError(
                        501, f"Not Implemented: the fake Bot API does not implement {name}"
                    )
                payload: dict[str, Any] = {"ok": True, "result": await handler(params, request)}
                status = 200
            except TelegramError as exc:
                payload, status = exc.payload(), exc.code
                self.errors.append(Rejection(name, params, exc.description))
            call = Call(name, params, payload)
            self.requests.append(call)
            for listener in self.listeners:
                listener(call)
            return web.json_response(
                payload, status=status, dumps=lambda o: json.dumps(o, ensure_ascii=False)
            )
        finally:
            if not polling:
                self._inflight -= 1
                self._touch()

    @staticmethod
    async def _read_params(request: web.Request) -> dict[str, str]:
        """Query string, then urlencoded / multipart / JSON body, as Telegram accepts."""
        params: dict[str, str] = dict(request.query)
        if not request.body_exists:
            return params
        if request.content_type == "application/json":
            try:
                body = json.loads(await FakeBotAPI._read_text(request) or "{}")
            except ValueError as exc:
                # approximate error text
                raise TelegramError(400, "Bad Request: can't parse JSON encoded request") from exc
            if not isinstance(body, dict):
                # approximate error text
                raise TelegramError(400, "Bad Request: JSON object expected in request body")
            for key, value in body.items():
                wired = _wire(value)
                if wired is not None:
                    params[key] = wired
        else:
            try:
                form = await request.post()
            except web.HTTPRequestEntityTooLarge as exc:
                raise TelegramError(413, "Request Entity Too Large") from exc
            files: dict[str, tuple[str, bytes]] = {}
            for key, value in form.items():
                if isinstance(value, web.FileField):
                    # A file part: named by the parameter itself, or by an attach:// name.
                    files[key] = (value.filename or key, value.file.read())
                else:
                    params[key] = str(value)
            request[_FILES] = files
        return params

    @staticmethod
    async def _read_text(request: web.Request) -> str:
        try:
            return await request.text()
        except web.HTTPRequestEntityTooLarge as exc:
            raise TelegramError(413, "Request Entity Too Large") from exc

    def _check_params(
        self,
        method: _Method,
        params: dict[str, str],
        files: dict[str, tuple[str, bytes]] | None = None,
    ) -> None:
        """Spec checks: unknown or mistyped parameters are violations, missing ones errors.

        File parts are not parameters of their own unless named like one (a direct upload);
        those named by ``attach://`` are looked up by the method."""
        files = files or {}
        attached = {v[len("attach://") :] for v in params.values() if v.startswith("attach://")}
        for key in files:
            spec = method.params.get(key)
            if spec is None and key not in attached:
                self.violations.append(
                    f"{method.name}: unknown parameter {key!r} (a file part neither a parameter "
                    "nor attached; Telegram ignores it)"
                )
            elif spec is not None and "InputFile" not in spec.types:
                self.violations.append(f"{method.name}: file part {key!r} is not an InputFile")
        for key, value in params.items():
            spec = method.params.get(key)
            if spec is None:
                if key not in LEGACY_PARAMS:
                    self.violations.append(
                        f"{method.name}: unknown parameter {key!r} (not in {self.spec_version}; "
                        "Telegram ignores it)"
                    )
            elif not _type_ok(spec.types, value):
                self.violations.append(
                    f"{method.name}: parameter {key!r}={value[:80]!r} is not of type "
                    f"{' or '.join(spec.types)}"
                )
        for key, spec in method.params.items():
            if spec.required and not params.get(key) and key not in files:
                raise TelegramError(400, self._missing_message(key))

    @staticmethod
    def _missing_message(key: str) -> str:
        return {
            "chat_id": "Bad Request: chat_id is empty",
            "text": "Bad Request: message text is empty",
            "message_id": "Bad Request: message identifier is not specified",
            "action": "Bad Request: wrong parameter action in request",
            "callback_query_id": QUERY_TOO_OLD,
            "photo": "Bad Request: there is no photo in the request",
            "document": "Bad Request: there is no document in the request",
            "file_id": "Bad Request: file_id not specified",  # approximate error text
        }.get(key, f'Bad Request: parameter "{key}" is required')

    # ---- updates ---------------------------------------------------------------------

    def _touch(self) -> None:
        self._last_activity = time.monotonic()

    def _enqueue(self, update: dict[str, Any], update_id: int | None = None) -> int:
        if update_id is None:
            update_id = self._last_update_id + 1
        full = {"update_id": update_id, **update}
        Update.model_validate(full)  # raises if aiogram could not read it
        self._last_update_id = update_id
        self._queue.append(full)
        self._undelivered.add(update_id)
        self.injected.append(full)
        self._touch()
        self._wake_pollers()
        self._queued.set()
        return update_id

    def _wake_pollers(self) -> None:
        for poller in self._pollers:
            poller.event.set()

    def _confirm(self, offset: int) -> None:
        if offset > 0:
            dropped = [u for u in self._queue if u["update_id"] < offset]
            self._queue = [u for u in self._queue if u["update_id"] >= offset]
        elif offset < 0:
            keep = -offset
            dropped = self._queue[:-keep] if keep < len(self._queue) else []
            self._queue = self._queue[len(dropped) :]
        else:
            return
        for update in dropped:
            self._undelivered.discard(update["update_id"])

    def _pending(self, limit: int) -> list[dict[str, Any]]:
        allowed = self._allowed_updates
        batch: list[dict[str, Any]] = []
        for update in list(self._queue):
            kind = _update_kind(update)
            ok = kind in allowed if allowed else kind not in NOT_DELIVERED_BY_DEFAULT
            if not ok:
                self._queue.remove(update)
                self._undelivered.discard(update["update_id"])
                self.violations.append(
                    f"getUpdates: update {update['update_id']} ({kind}) dropped: not in "
                    f"allowed_updates {sorted(allowed or [])}"
                )
                continue
            batch.append(update)
            if len(batch) >= limit:
                break
        return batch

    async def _get_updates(self, params: dict[str, str], request: web.Request) -> Any:
        if self.webhook is not None:
            raise TelegramError(409, WEBHOOK_CONFLICT)
        offset = _lenient_int(params.get("offset"))
        limit = min(max(_lenient_int(params.get("limit")) or 100, 1), 100)
        timeout = min(max(_lenient_int(params.get("timeout")), 0), LONG_POLL_MAX_TIMEOUT)
        if "allowed_updates" in params:
            try:
                allowed = json.loads(params["allowed_updates"])
            except ValueError:
                allowed = []
            valid = isinstance(allowed, list) and allowed
            self._allowed_updates = frozenset(str(a) for a in allowed) if valid else None
        self._confirm(offset)
        for poller in self._pollers:  # a newer getUpdates terminates the parked one
            poller.conflict = True
            poller.event.set()
        batch = self._pending(limit)
        if not batch and timeout > 0 and not self._closing:
            poller = _Poller(request)
            self._pollers.append(poller)
            try:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(poller.event.wait(), timeout)
            finally:
                self._pollers.remove(poller)
            if poller.conflict and self._client_alive(request):
                raise TelegramError(
                    409,
                    "Conflict: terminated by other getUpdates request; make sure that only one "
                    "bot instance is running",
                )
            batch = [] if poller.conflict else self._pending(limit)
        if self._closing or not self._client_alive(request):
            return []
        for update in batch:
            self._undelivered.discard(update["update_id"])
        if batch:
            self._touch()
        return batch

    @staticmethod
    def _client_alive(request: web.Request) -> bool:
        transport = request.transport
        return transport is not None and not transport.is_closing()

    async def _delete_webhook(self, params: dict[str, str], request: web.Request) -> Any:
        if _is_true(params.get("drop_pending_updates")):
            self._confirm(self._last_update_id + 1)
        self.webhook = None
        return True

    async def _set_webhook(self, params: dict[str, str], request: web.Request) -> Any:
        """Telegram's checks of the URL and the secret (it also resolves the host and refuses
        private addresses: the fake cannot, tests use a name that does not resolve)."""
        url = urlsplit(params["url"])
        if url.scheme != "https" or not url.hostname:
            raise TelegramError(400, "Bad Request: bad webhook: An HTTPS URL must be provided "
                                     "for webhook")
        try:
            port = url.port or 443
        except ValueError as exc:
            raise TelegramError(400, "Bad Request: bad webhook: Wrong port number specified "
                                     "in the URL") from exc  # approximate error text
        if port not in WEBHOOK_PORTS:
            raise TelegramError(400, "Bad Request: bad webhook: Webhook can be set up only on "
                                     "ports 80, 88, 443 or 8443")
        secret = params.get("secret_token")
        if secret is not None and secret != "":
            if len(secret) > 256:
                raise TelegramError(400, "Bad Request: secret token is too long")
            if not WEBHOOK_SECRET.fullmatch(secret):
                raise TelegramError(400, "Bad Request: secret token contains unallowed "
                                         "characters")
        max_connections = params.get("max_connections")
        if max_connections is not None and not 1 <= _lenient_int(max_connections) <= 100:
            # approximate error text
            raise TelegramError(400, "Bad Request: max_connections must be between 1 and 100")
        if "allowed_updates" in params:
            try:
                allowed = json.loads(params["allowed_updates"])
            except ValueError:
                allowed = []
            valid = isinstance(allowed, list) and allowed
            self._allowed_updates = frozenset(str(a) for a in allowed) if valid else None
        if _is_true(params.get("drop_pending_updates")):
            self._confirm(self._last_update_id + 1)
        self.webhook = dict(params)
        for poller in self._pollers:  # a parked getUpdates ends, as the webhook takes over
            poller.conflict = True
            poller.event.set()
        return True

    # ---- webhook delivery (the test plays Telegram's HTTPS POST) -----------------------

    def take_updates(self, limit: int = 100) -> list[dict[str, Any]]:
        """Webhook mode: the queued updates (allowed_updates applied), oldest first, off the
        queue, for the test to POST to the bot. They stay undelivered for ``wait_idle`` until
        ``delivered(update_id)``: Telegram forgets an update once the webhook answered 2xx."""
        batch = self._pending(limit)
        taken = {u["update_id"] for u in batch}
        self._queue = [u for u in self._queue if u["update_id"] not in taken]
        if not self._queue:
            self._queued.clear()
        return batch

    def delivered(self, update_id: int) -> None:
        """The webhook answered 2xx for this update."""
        self._undelivered.discard(update_id)
        self._touch()

    async def wait_queued(self) -> None:
        """Until an update is queued (returns at once when one already is)."""
        if self._queue:
            return
        self._queued.clear()
        await self._queued.wait()

    # ---- users, chats, messages ------------------------------------------------------

    def _user(
        self, user_id: int, *, first_name: str | None = None, language_code: str | None = None
    ) -> _User:
        if user_id <= 0:
            raise ValueError("user ids are positive")
        user = self._users.get(user_id)
        if user is None:
            user = _User(user_id, first_name or "Test", language_code or "fr")
            self._users[user_id] = user
        if first_name is not None:
            user.first_name = first_name
        if language_code is not None:
            user.language_code = language_code
        return user

    def _register_from_payload(self, payload: dict[str, Any]) -> None:
        sender = payload.get("from")
        chat = payload.get("chat") or (payload.get("message") or {}).get("chat")
        if isinstance(sender, dict) and not sender.get("is_bot"):
            self._user(int(sender["id"]), first_name=sender.get("first_name"))
        if isinstance(chat, dict) and chat.get("type") == "private":
            user = self._user(int(chat["id"]), first_name=chat.get("first_name"))
            message_id = payload.get("message_id")
            from_user = (payload.get("from") or {}).get("id") == user.id
            if isinstance(message_id, int) and from_user:
                user.user_messages[message_id] = payload
                user.next_message_id = max(user.next_message_id, message_id + 1)

    def _user_dict(self, user: _User) -> dict[str, Any]:
        data: dict[str, Any] = {"id": user.id, "is_bot": False, "first_name": user.first_name}
        if user.username:
            data["username"] = user.username
        if user.language_code:
            data["language_code"] = user.language_code
        return data

    @staticmethod
    def _chat_dict(user: _User) -> dict[str, Any]:
        data: dict[str, Any] = {"id": user.id, "type": "private", "first_name": user.first_name}
        if user.username:
            data["username"] = user.username
        return data

    def _bot_user(self, *, full: bool = False) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": BOT_FIRST_NAME,
            "username": BOT_USERNAME,
        }
        if full:
            data.update(
                can_join_groups=True,
                can_read_all_group_messages=False,
                supports_inline_queries=False,
                can_connect_to_business=False,
                has_main_web_app=False,
                has_topics_enabled=False,
                allows_users_to_create_topics=False,
            )
        return data

    def _new_user_message(self, user: _User) -> dict[str, Any]:
        message_id = user.next_message_id
        user.next_message_id += 1
        message: dict[str, Any] = {
            "message_id": message_id,
            "from": self._user_dict(user),
            "chat": self._chat_dict(user),
            "date": int(time.time()),
        }
        user.user_messages[message_id] = message
        return message

    def _message_dict(self, message: BotMessage) -> dict[str, Any]:
        user = self._users[message.chat_id]
        data: dict[str, Any] = {
            "message_id": message.message_id,
            "from": self._bot_user(),
            "chat": self._chat_dict(user),
            "date": message.date,
        }
        if message.reply_to is not None:
            data["reply_to_message"] = message.reply_to
        if message.edit_date is not None:
            data["edit_date"] = message.edit_date
        if message.photo is not None or message.document is not None:
            if message.photo is not None:
                data["photo"] = message.photo
            if message.document is not None:
                data["document"] = message.document
            if message.plain_text:
                data["caption"] = message.plain_text
            if message.entities:
                data["caption_entities"] = message.entities
        else:
            data["text"] = message.plain_text
            if message.entities:
                data["entities"] = message.entities
        if message.inline_markup is not None:
            data["reply_markup"] = message.inline_markup
        return data

    def _chat(self, params: dict[str, str]) -> _User:
        """The private chat named by chat_id; "chat not found" unless the user wrote first."""
        raw = params.get("chat_id", "").strip()
        if not raw:
            raise TelegramError(400, "Bad Request: chat_id is empty")
        if re.fullmatch(r"-?\d+", raw):
            user = self._users.get(int(raw))
            if user is not None:
                return user
        raise TelegramError(400, "Bad Request: chat not found")

    # ---- text and markup -------------------------------------------------------------

    def _formatted(
        self,
        method: str,
        params: dict[str, str],
        key: str = "text",
        entities_key: str = "entities",
    ) -> tuple[str, list[dict[str, Any]]]:
        """Parse text (or caption) + parse_mode/entities; raise Telegram's parsing errors."""
        text = params.get(key, "")
        if len(text.encode("utf-8", "surrogatepass")) > MAX_RAW_TEXT_BYTES:
            raise TelegramError(400, "Bad Request: text is too long")
        parse_mode = params.get("parse_mode", "").strip()
        mode = parse_mode.lower()
        if mode not in ("", "none", "html", "markdown", "markdownv2"):
            raise TelegramError(400, "Bad Request: unsupported parse_mode")
        if entities_key in params:
            try:
                entities = json.loads(params[entities_key])
            except ValueError as exc:
                raise TelegramError(400, "Bad Request: can't parse entities JSON object") from exc
            if not isinstance(entities, list) or not all(
                isinstance(e, dict) and {"type", "offset", "length"} <= e.keys() for e in entities
            ):
                raise TelegramError(400, "Bad Request: can't parse entities JSON object")
            if mode not in ("", "none"):
                self.violations.append(f"{method}: both entities and parse_mode sent")
            return _trim(text, entities)
        if mode == "html":
            try:
                parsed = parse_html(text)
            except HtmlParseError as exc:
                raise TelegramError(400, f"Bad Request: can't parse entities: {exc}") from exc
            self.violations.extend(f"{method}: {w} in {text[:60]!r}" for w in parsed.warnings)
            return _trim(parsed.text, parsed.entities)
        if mode in ("markdown", "markdownv2"):
            self.violations.append(f"{method}: parse_mode {parse_mode} is not emulated")
        return _trim(text, [])

    @staticmethod
    def _check_length(plain: str) -> None:
        if not plain:
            raise TelegramError(400, "Bad Request: text must be non-empty")
        if len(plain) > MAX_TEXT_LENGTH:
            raise TelegramError(400, "Bad Request: message is too long")

    def _markup(
        self, method: str, params: dict[str, str], *, inline_only: bool
    ) -> dict[str, Any] | None:
        """Parse reply_markup the way the Bot API server does (before any chat lookup)."""
        raw = params.get("reply_markup")
        if raw is None or raw == "":
            return None
        try:
            markup = json.loads(raw)
        except ValueError as exc:
            raise TelegramError(
                400, "Bad Request: can't parse reply keyboard markup JSON object"
            ) from exc
        if not isinstance(markup, dict):
            raise TelegramError(400, "Bad Request: object expected as reply markup")
        if "inline_keyboard" in markup:
            rows = markup["inline_keyboard"]
            if not isinstance(rows, list):
                raise TelegramError(
                    400,
                    'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be '
                    "an Array",
                )
            for row in rows:
                if not isinstance(row, list):
                    raise TelegramError(
                        400,
                        'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must '
                        "be an Array of Arrays",
                    )
                for button in row:
                    self._check_inline_button(method, button)
            return markup
        if inline_only:
            raise TelegramError(400, "Bad Request: inline keyboard expected")
        if "keyboard" in markup:
            rows = markup["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
                raise TelegramError(
                    400,
                    'Bad Request: field "keyboard" of the ReplyKeyboardMarkup must be an Array '
                    "of Arrays",
                )
            for row in rows:
                for button in row:
                    if isinstance(button, str):
                        continue
                    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                        raise TelegramError(400, KEYBOARD_BUTTON_ERROR + 'Can\'t find field "text"')
            return markup
        if not any(k in markup for k in ("remove_keyboard", "hide_keyboard", "force_reply")):
            self.violations.append(f"{method}: reply_markup of unknown kind {sorted(markup)}")
        return markup

    def _check_inline_button(self, method: str, button: Any) -> None:
        if not isinstance(button, dict):
            raise TelegramError(400, INLINE_BUTTON_ERROR + "InlineKeyboardButton must be an Object")
        if "text" not in button:
            raise TelegramError(400, INLINE_BUTTON_ERROR + 'Can\'t find field "text"')
        if not isinstance(button["text"], str):
            raise TelegramError(400, INLINE_BUTTON_ERROR + 'Field "text" must be of type String')
        actions = [
            k
            for k in INLINE_ACTION_FIELDS
            if button.get(k) not in (None, "", False)
            or (k in SWITCH_FIELDS and button.get(k) == "")
        ]
        if not actions:
            raise TelegramError(
                400, INLINE_BUTTON_ERROR + "Text buttons are unallowed in the inline keyboard"
            )
        if len(actions) > 1:
            self.violations.append(
                f"{method}: inline button {button['text']!r} has several actions {actions}"
            )
        if not button["text"].strip():
            self.violations.append(f"{method}: inline button with empty text")
        unknown = set(button) - {"text", "icon_custom_emoji_id", "style", *INLINE_ACTION_FIELDS}
        if unknown:
            self.violations.append(f"{method}: inline button has unknown fields {sorted(unknown)}")
        style = button.get("style")
        if style is not None and style not in ("danger", "success", "primary"):
            self.violations.append(f"{method}: inline button style {style!r} is not allowed")

    @staticmethod
    def _check_markup_limits(markup: dict[str, Any] | None) -> None:
        """Checks Telegram's servers make after the request was parsed."""
        if markup is None:
            return
        if "inline_keyboard" in markup:
            rows, per_row, total = markup["inline_keyboard"], MAX_INLINE_ROW, MAX_INLINE_BUTTONS
        elif "keyboard" in markup:
            rows, per_row, total = markup["keyboard"], MAX_REPLY_ROW, MAX_REPLY_BUTTONS
        else:
            return
        if any(len(row) > per_row for row in rows) or sum(len(r) for r in rows) > total:
            raise TelegramError(400, "Bad Request: reply markup is too long")
        if "inline_keyboard" not in markup:
            return
        for row in rows:
            for button in row:
                data = button.get("callback_data")
                if isinstance(data, str) and len(data.encode("utf-8")) > MAX_CALLBACK_DATA_BYTES:
                    raise TelegramError(400, "Bad Request: BUTTON_DATA_INVALID")
                url = button.get("url")
                if url and not re.match(r"(?i)^(https?|tg)://[^\s]+$", str(url)):
                    raise TelegramError(400, "Bad Request: BUTTON_URL_INVALID")

    # ---- methods ---------------------------------------------------------------------

    async def _get_me(self, params: dict[str, str], request: web.Request) -> Any:
        return self._bot_user(full=True)

    async def _send_message(self, params: dict[str, str], request: web.Request) -> Any:
        plain, entities = self._formatted("sendMessage", params)
        markup = self._markup("sendMessage", params, inline_only=False)
        user = self._chat(params)
        reply_to = self._reply_to(user, params)
        self._check_length(plain)
        self._check_markup_limits(markup)
        message_id = user.next_message_id
        user.next_message_id += 1
        mode = params.get("parse_mode") or None
        message = BotMessage(
            user.id,
            message_id,
            int(time.time()),
            params["text"],
            plain,
            entities,
            mode,
            markup,
            reply_to=reply_to,
        )
        user.bot_messages[message_id] = message
        return self._message_dict(message)

    async def _send_photo(self, params: dict[str, str], request: web.Request) -> Any:
        """A photo by upload (direct file part or ``attach://name``) or by a known file_id."""
        files: dict[str, tuple[str, bytes]] = request.get(_FILES, {})
        plain, entities = self._formatted("sendPhoto", params, "caption", "caption_entities")
        markup = self._markup("sendPhoto", params, inline_only=False)
        user = self._chat(params)
        data = self._photo_bytes(params.get("photo", ""), files)
        reply_to = self._reply_to(user, params)
        if len(plain) > MAX_CAPTION_LENGTH:
            raise TelegramError(400, "Bad Request: message caption is too long")
        self._check_markup_limits(markup)
        sizes = self._photo_sizes(data)
        return self._captioned(user, params, plain, entities, markup, reply_to,
                               photo=sizes, photo_data=data)

    def _captioned(
        self,
        user: _User,
        params: dict[str, str],
        plain: str,
        entities: list[dict[str, Any]],
        markup: dict[str, Any] | None,
        reply_to: dict[str, Any] | None,
        **media: Any,
    ) -> Any:
        """Store a captioned media message (photo, document) the bot sent; its Message."""
        message_id = user.next_message_id
        user.next_message_id += 1
        message = BotMessage(
            user.id,
            message_id,
            int(time.time()),
            params.get("caption", ""),
            plain,
            entities,
            params.get("parse_mode") or None,
            markup,
            reply_to=reply_to,
            **media,
        )
        user.bot_messages[message_id] = message
        return self._message_dict(message)

    def _photo_bytes(self, photo: str, files: dict[str, tuple[str, bytes]]) -> bytes:
        if not photo and "photo" in files:
            return files["photo"][1]
        if photo.startswith("attach://"):
            name = photo[len("attach://") :]
            if not name:
                raise TelegramError(400, "Bad Request: empty attachment name specified")
            if name not in files:
                # approximate error text (tdlib/telegram-bot-api: attachment not found)
                raise TelegramError(400, "Bad Request: there is no photo in the request")
            return files[name][1]
        if photo in self._uploaded:
            return self._uploaded[photo]
        if re.match(r"(?i)^https?://", photo):
            self.violations.append("sendPhoto: photo by HTTP URL is not emulated")
            # approximate error text
            raise TelegramError(400, "Bad Request: failed to get HTTP URL content")
        if not photo:
            raise TelegramError(400, "Bad Request: there is no photo in the request")
        raise TelegramError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    def _photo_sizes(self, data: bytes) -> list[dict[str, Any]]:
        """Telegram's PhotoSize list: thumbnails up to the original size, smallest first."""
        if len(data) > MAX_PHOTO_BYTES:
            raise TelegramError(400, "Bad Request: file is too big")  # approximate error text
        dimensions = _image_dimensions(data)
        if dimensions is None:
            raise TelegramError(400, "Bad Request: IMAGE_PROCESS_FAILED")
        width, height = dimensions
        if width + height > 10_000 or max(width, height) > 20 * min(width, height):
            raise TelegramError(400, "Bad Request: PHOTO_INVALID_DIMENSIONS")
        n = next(self._file_ids)
        sizes: list[dict[str, Any]] = []
        for step, letter in zip(PHOTO_SIZE_STEPS, "smxyw", strict=True):
            longest = max(width, height)
            scale = min(1.0, step / longest)
            file_id = f"AgACAgIAAxkDAAIB{n:06d}{letter}"
            unique_id = f"AQADbot{n}{letter}"
            size = {
                "file_id": file_id,
                "file_unique_id": unique_id,
                "width": max(1, round(width * scale)),
                "height": max(1, round(height * scale)),
                "file_size": max(1, round(len(data) * scale * scale)),
            }
            sizes.append(size)
            self._uploaded[file_id] = data
            # getFile hands out the uploaded image itself for every size
            self._files[file_id] = _StoredFile(file_id, unique_id, "photo", data, len(data))
            if longest <= step:
                break
        return sizes

    def photos(self, chat_id: int) -> list[BotMessage]:
        """The photos the bot sent in a chat, oldest first."""
        return [m for m in self.messages(chat_id) if m.photo is not None]

    async def _send_document(self, params: dict[str, str], request: web.Request) -> Any:
        """A file by upload (direct file part or ``attach://name``) or by a known file_id."""
        files: dict[str, tuple[str, bytes]] = request.get(_FILES, {})
        plain, entities = self._formatted("sendDocument", params, "caption", "caption_entities")
        markup = self._markup("sendDocument", params, inline_only=False)
        user = self._chat(params)
        stored = self._document_file(params.get("document", ""), files)
        if params.get("thumbnail"):
            self.violations.append("sendDocument: thumbnail is not emulated")
        reply_to = self._reply_to(user, params)
        if len(plain) > MAX_CAPTION_LENGTH:
            raise TelegramError(400, "Bad Request: message caption is too long")
        self._check_markup_limits(markup)
        self._files[stored.file_id] = stored
        return self._captioned(user, params, plain, entities, markup, reply_to,
                               document=stored.document_dict(), document_data=stored.data)

    def _document_file(self, document: str, files: dict[str, tuple[str, bytes]]) -> _StoredFile:
        """The file named by sendDocument's ``document``: a new upload or a known document."""
        upload: tuple[str, bytes] | None = None
        if not document and "document" in files:
            upload = files["document"]
        elif document.startswith("attach://"):
            name = document[len("attach://") :]
            if not name:
                raise TelegramError(400, "Bad Request: empty attachment name specified")
            if name not in files:
                # approximate error text (tdlib/telegram-bot-api: attachment not found)
                raise TelegramError(400, "Bad Request: there is no document in the request")
            upload = files[name]
        if upload is not None:
            file_name, data = upload
            if not data:
                # approximate error text
                raise TelegramError(400, "Bad Request: file must be non-empty")
            if len(data) > MAX_DOCUMENT_BYTES:
                raise TelegramError(400, "Bad Request: file is too big")  # approximate error text
            n = next(self._file_ids)
            return _StoredFile(
                f"BQACAgIAAxkDAAID{n:06d}",
                f"AgADbotdoc{n}",
                "document",
                data,
                len(data),
                file_name,
                _guess_mime_type(file_name),
            )
        known = self._files.get(document)
        if known is not None:
            if known.kind != "document":
                # approximate error text
                raise TelegramError(400, "Bad Request: type of file mismatch")
            return known  # re-sent by file_id: the same file
        if re.match(r"(?i)^https?://", document):
            self.violations.append("sendDocument: document by HTTP URL is not emulated")
            # approximate error text
            raise TelegramError(400, "Bad Request: failed to get HTTP URL content")
        if not document:
            raise TelegramError(400, "Bad Request: there is no document in the request")
        raise TelegramError(400, "Bad Request: wrong file identifier/HTTP URL specified")

    async def _get_file(self, params: dict[str, str], request: web.Request) -> Any:
        """A File with a file_path for the download route, for files the fake holds bytes of.

        Those are the documents the user sent (``send_document``) and the documents and
        photos the bot sent; a user's photo (``send_photo``) has no bytes, so it is unknown.
        """
        stored = self._files.get(params["file_id"])
        if stored is None:
            # approximate error text: Telegram answers this for ids it cannot decode, and
            # "wrong file_id or the file is temporarily unavailable" when a download fails
            raise TelegramError(400, "Bad Request: invalid file_id")
        if stored.size > MAX_DOWNLOAD_BYTES:
            raise TelegramError(400, "Bad Request: file is too big")
        if stored.file_path is None:
            n = next(self._file_path_ids)
            if stored.kind == "photo":
                stored.file_path = f"photos/file_{n}.jpg"
            else:
                stored.file_path = f"documents/file_{n}{_file_path_suffix(stored.file_name)}"
            self._file_paths[stored.file_path] = stored
        return {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "file_size": stored.size,
            "file_path": stored.file_path,
        }

    def _reply_to(self, user: _User, params: dict[str, str]) -> dict[str, Any] | None:
        target: int | None = None
        allow_missing = _is_true(params.get("allow_sending_without_reply"))
        if params.get("reply_parameters"):
            try:
                reply = json.loads(params["reply_parameters"])
            except ValueError as exc:
                raise TelegramError(
                    400, "Bad Request: can't parse reply parameters JSON object"
                ) from exc
            if not isinstance(reply, dict) or not isinstance(reply.get("message_id"), int):
                # approximate error text
                raise TelegramError(400, "Bad Request: can't parse reply parameters JSON object")
            if reply.get("chat_id") not in (None, user.id, str(user.id)):
                self.violations.append("sendMessage: reply_parameters.chat_id names another chat")
            target = reply["message_id"]
            allow_missing = allow_missing or bool(reply.get("allow_sending_without_reply"))
        elif params.get("reply_to_message_id"):
            target = _lenient_int(params["reply_to_message_id"])
        if target is None:
            return None
        if target in user.user_messages:
            return dict(user.user_messages[target])
        bot_message = user.bot_messages.get(target)
        if bot_message is not None and not bot_message.deleted:
            snapshot = self._message_dict(bot_message)
            snapshot.pop("reply_to_message", None)
            return snapshot
        if allow_missing:
            return None
        raise TelegramError(400, "Bad Request: message to be replied not found")

    def _target(self, params: dict[str, str]) -> tuple[_User, int]:
        if params.get("inline_message_id"):
            raise TelegramError(400, "Bad Request: MESSAGE_ID_INVALID")
        if not params.get("chat_id"):
            raise TelegramError(400, "Bad Request: chat_id is empty")
        message_id = _lenient_int(params.get("message_id"))
        if message_id <= 0:
            raise TelegramError(400, "Bad Request: message identifier is not specified")
        return self._chat(params), message_id

    @staticmethod
    def _editable(user: _User, message_id: int) -> BotMessage:
        message = user.bot_messages.get(message_id)
        if message is None or message.deleted:
            if message_id in user.user_messages:
                raise TelegramError(400, "Bad Request: message can't be edited")
            raise TelegramError(400, "Bad Request: message to edit not found")
        return message

    async def _edit_message_text(self, params: dict[str, str], request: web.Request) -> Any:
        if params.get("rich_message"):
            self.violations.append("editMessageText: rich_message is not emulated")
        if not params.get("inline_message_id"):
            if not params.get("chat_id"):
                raise TelegramError(400, "Bad Request: chat_id is empty")
            if _lenient_int(params.get("message_id")) <= 0:
                raise TelegramError(400, "Bad Request: message identifier is not specified")
        if not params.get("text"):
            raise TelegramError(400, "Bad Request: message text is empty")
        plain, entities = self._formatted("editMessageText", params)
        markup = self._markup("editMessageText", params, inline_only=True)
        user, message_id = self._target(params)
        message = self._editable(user, message_id)
        if message.photo is not None or message.document is not None:
            raise TelegramError(400, "Bad Request: there is no text in the message to edit")
        self._check_length(plain)
        self._check_markup_limits(markup)
        current = (message.plain_text, message.entities, message.inline_markup)
        if (plain, entities, markup) == current:
            raise TelegramError(400, NOT_MODIFIED)
        message.text = params["text"]
        message.plain_text = plain
        message.entities = entities
        message.parse_mode = params.get("parse_mode") or None
        message.reply_markup = markup  # no reply_markup: Telegram removes the inline keyboard
        message.edited += 1
        message.edit_date = int(time.time())
        return self._message_dict(message)

    async def _edit_message_reply_markup(self, params: dict[str, str], request: web.Request) -> Any:
        markup = self._markup("editMessageReplyMarkup", params, inline_only=True)
        user, message_id = self._target(params)
        message = self._editable(user, message_id)
        self._check_markup_limits(markup)
        if markup == message.inline_markup:
            raise TelegramError(400, NOT_MODIFIED)
        message.reply_markup = markup
        message.edited += 1
        message.edit_date = int(time.time())
        return self._message_dict(message)

    async def _answer_callback_query(self, params: dict[str, str], request: web.Request) -> Any:
        query = self.callbacks.get(params["callback_query_id"])
        expired = query is not None and time.monotonic() - query.created > self.callback_timeout
        if query is None or query.answered or expired:
            raise TelegramError(400, QUERY_TOO_OLD)
        text = params.get("text", "")
        if len(text) > MAX_CALLBACK_ANSWER_LENGTH:
            raise TelegramError(400, "Bad Request: MESSAGE_TOO_LONG")
        if params.get("url"):
            self.violations.append("answerCallbackQuery: url is not emulated (games only)")
        query.answered = True
        query.answer = {k: v for k, v in params.items() if k != "callback_query_id"}
        return True

    async def _answer_inline_query(self, params: dict[str, str], request: web.Request) -> Any:
        try:
            results = json.loads(params["results"])
        except ValueError as exc:
            # approximate error text
            raise TelegramError(400, "Bad Request: can't parse results JSON object") from exc
        if not isinstance(results, list):
            # approximate error text
            raise TelegramError(400, 'Bad Request: field "results" must be an Array')
        if len(results) > MAX_INLINE_RESULTS:
            raise TelegramError(400, "Bad Request: RESULTS_TOO_MUCH")
        ids: set[str] = set()
        for result in results:
            self._check_inline_result(result, ids)
        query = self.inline_queries.get(params["inline_query_id"])
        expired = query is not None and time.monotonic() - query.created > self.callback_timeout
        if query is None or query.answered or expired:
            raise TelegramError(400, QUERY_TOO_OLD)
        query.answered = True
        query.results = results
        query.answer = {k: v for k, v in params.items() if k not in ("inline_query_id", "results")}
        return True

    def _check_inline_result(self, result: Any, ids: set[str]) -> None:
        """An InlineQueryResultArticle as Telegram checks it; other kinds are not emulated."""
        if not isinstance(result, dict) or not isinstance(result.get("type"), str):
            # approximate error text
            raise TelegramError(
                400, "Bad Request: can't parse InlineQueryResult: must be an Object"
            )
        if result["type"] != "article":
            kind = result["type"]
            self.violations.append(f"answerInlineQuery: result type {kind!r} not emulated")
            return
        result_id = result.get("id")
        if not isinstance(result_id, str) or not result_id:
            raise TelegramError(400, "Bad Request: RESULT_ID_EMPTY")
        if len(result_id.encode("utf-8")) > MAX_INLINE_RESULT_ID_BYTES:
            raise TelegramError(400, "Bad Request: RESULT_ID_INVALID")
        if result_id in ids:
            raise TelegramError(400, "Bad Request: RESULT_ID_DUPLICATE")
        ids.add(result_id)
        if not isinstance(result.get("title"), str) or not result["title"].strip():
            raise TelegramError(400, "Bad Request: RESULT_TITLE_EMPTY")
        content = result.get("input_message_content")
        if not isinstance(content, dict):
            # approximate error text
            raise TelegramError(
                400, 'Bad Request: can\'t parse InlineQueryResult: Field "input_message_content" '
                "must be of type Object"
            )
        if not isinstance(content.get("message_text"), str):
            self.violations.append("answerInlineQuery: input_message_content is not a text")
            return
        params = {"text": content["message_text"]}
        if content.get("parse_mode"):
            params["parse_mode"] = str(content["parse_mode"])
        if content.get("entities") is not None:
            params["entities"] = json.dumps(content["entities"])
        plain, _ = self._formatted("answerInlineQuery", params)
        if not plain:
            raise TelegramError(400, "Bad Request: MESSAGE_EMPTY")
        if len(plain) > MAX_TEXT_LENGTH:
            raise TelegramError(400, "Bad Request: MESSAGE_TOO_LONG")
        markup = result.get("reply_markup")
        if markup is not None:
            checked = self._markup(
                "answerInlineQuery", {"reply_markup": json.dumps(markup)}, inline_only=True
            )
            self._check_markup_limits(checked)

    async def _send_chat_action(self, params: dict[str, str], request: web.Request) -> Any:
        action = params["action"]
        if action not in CHAT_ACTIONS:
            raise TelegramError(400, "Bad Request: wrong parameter action in request")
        user = self._chat(params)
        self.chat_actions.append((user.id, action))
        return True

    async def _delete_message(self, params: dict[str, str], request: web.Request) -> Any:
        user = self._chat(params)
        message_id = _lenient_int(params.get("message_id"))
        message = user.bot_messages.get(message_id)
        if message is not None and not message.deleted:
            message.deleted = True
            return True
        if user.user_messages.pop(message_id, None) is not None:
            return True
        raise TelegramError(400, "Bad Request: message to delete not found")

    # ---- commands --------------------------------------------------------------------

    def _scope_key(self, params: dict[str, str]) -> str:
        raw = params.get("scope")
        if not raw:
            return "default"
        try:
            scope = json.loads(raw)
        except ValueError:
            scope = None
        if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
            # approximate error text
            raise TelegramError(400, "Bad Request: can't parse BotCommandScope JSON object")
        kind = scope["type"]
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            return kind
        if kind in ("chat", "chat_administrators", "chat_member"):
            user = self._chat({"chat_id": str(scope.get("chat_id", ""))})
            suffix = f":{scope.get('user_id')}" if kind == "chat_member" else ""
            return f"{kind}:{user.id}{suffix}"
        # approximate error text
        raise TelegramError(400, "Bad Request: unsupported bot command scope type")

    @staticmethod
    def _language(params: dict[str, str]) -> str:
        code = params.get("language_code", "")
        if code and not re.fullmatch(r"[a-z]{2}", code):
            raise TelegramError(400, "Bad Request: invalid language code specified")
        return code

    async def _set_my_commands(self, params: dict[str, str], request: web.Request) -> Any:
        try:
            commands = json.loads(params["commands"])
        except ValueError as exc:
            # approximate error text
            raise TelegramError(400, "Bad Request: can't parse commands JSON object") from exc
        if not isinstance(commands, list):
            raise TelegramError(400, 'Bad Request: field "commands" must be an Array')
        key = (self._scope_key(params), self._language(params))
        if len(commands) > 100:
            # approximate error text
            raise TelegramError(400, "Bad Request: BOT_COMMANDS_TOO_MUCH")
        cleaned: list[dict[str, str]] = []
        for item in commands:
            if not isinstance(item, dict):
                raise TelegramError(400, "Bad Request: can't parse BotCommand: must be an Object")
            for name in ("command", "description"):
                if not isinstance(item.get(name), str):
                    raise TelegramError(
                        400,
                        f'Bad Request: can\'t parse BotCommand: Field "{name}" must be '
                        "of type String",
                    )
            command = item["command"].strip()
            if command.startswith("/"):
                command = command[1:]
                self.violations.append(f"setMyCommands: command {item['command']!r} has a '/'")
            description = item["description"].strip()
            if not command:
                raise TelegramError(400, "Bad Request: command must be non-empty")
            if len(command) > 32:
                raise TelegramError(400, "Bad Request: command length must not exceed 32")
            if not description:
                raise TelegramError(400, "Bad Request: command description must be non-empty")
            if len(description) > 256:
                raise TelegramError(
                    400, "Bad Request: command description length must not exceed 256"
                )
            if not re.fullmatch(r"[a-z0-9_]+", command):
                raise TelegramError(400, "Bad Request: BOT_COMMAND_INVALID")
            cleaned.append({"command": command, "description": description})
        if cleaned:
            self.bot_commands[key] = cleaned
        else:
            self.bot_commands.pop(key, None)
        return True

    async def _get_my_commands(self, params: dict[str, str], request: web.Request) -> Any:
        key = (self._scope_key(params), self._language(params))
        return self.bot_commands.get(key, [])

    async def _delete_my_commands(self, params: dict[str, str], request: web.Request) -> Any:
        key = (self._scope_key(params), self._language(params))
        self.bot_commands.pop(key, None)
        return True
