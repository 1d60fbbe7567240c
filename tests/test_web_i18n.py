"""The web pages' words and dates (backend/web/i18n.py): both languages complete, dates
and times in Europe/Oslo, the Norwegian way."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path

from backend.web import i18n

TEMPLATES = Path(__file__).resolve().parent.parent / "backend" / "web" / "templates"


def test_english_has_every_bokmal_label_and_no_other() -> None:
    assert set(i18n.EN) == set(i18n.NB)
    assert all(i18n.NB.values()) and all(i18n.EN.values())


def test_every_plain_label_a_template_uses_exists() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"\bt\.([a-z_]+)\b", template.read_text()))
        used |= set(re.findall(r"""\bt\[["']([a-z_]+)["']\]""", template.read_text()))
    assert used - set(i18n.NB) == set()


def test_dates_and_times_are_oslos_written_the_norwegian_way() -> None:
    winter = datetime(2026, 1, 31, 23, 30, tzinfo=UTC)  # 00:30 on 1 February in Oslo
    summer = datetime(2026, 7, 1, 6, 5, tzinfo=UTC)  # 08:05 (summer time)
    assert i18n.date_no(winter) == "01.02.2026"
    assert i18n.datetime_no(winter) == "01.02.2026 00:30"
    assert i18n.datetime_no(summer) == "01.07.2026 08:05"
    assert i18n.time_no(summer) == "08:05"
    assert i18n.date_no(date(2026, 6, 1)) == "01.06.2026"
    assert i18n.iso_local(summer) == "2026-07-01T08:05+02:00"
    assert i18n.date_no(None) == ""


def test_the_language_is_the_query_then_the_cookie_then_bokmal() -> None:
    assert i18n.choose_lang("en", "nb") == "en"
    assert i18n.choose_lang(None, "en") == "en"
    assert i18n.choose_lang("fr", None) == "nb"
    assert i18n.Labels("en")["sign_in"] == "Sign in"
    assert i18n.Labels("xx")["sign_in"] == "Logg inn"
    assert i18n.Labels("nb")("days", n=3) == "3 dager"
