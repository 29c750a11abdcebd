"""Jinja2 filters for the pages (number and date formatting, level/access labels)."""

from __future__ import annotations

from datetime import date, datetime

from starlette.templating import Jinja2Templates


def fmt_number(value: float | int | None, unit: str = "") -> str:
    """3.0 -> '3', 9.4 -> '9.4', with an optional unit; '' for None."""
    if value is None:
        return ""
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return f"{text} {unit}".strip()


def fmt_date(value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M UTC")
    return value.isoformat()


def configure_templates(templates: Jinja2Templates) -> Jinja2Templates:
    env = templates.env
    env.filters["num"] = fmt_number
    env.filters["date"] = fmt_date
    env.trim_blocks = True
    env.lstrip_blocks = True
    return templates
