"""The plan: the advice as one structure (summary, sections, items, sources) that every renderer
shares (Telegram messages, console, PDF, shared plan, alerts, hand-off). No aiogram here."""
