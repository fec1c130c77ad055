"""Typed answers: amounts, head counts and fuzzy names, table-driven."""

from __future__ import annotations

import pytest

from bot.dialog.matching import Matcher, normalise
from bot.dialog.parsing import parse_amount, parse_count


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2M", 2_000_000), ("2 M€", 2_000_000), ("1,5 M€", 1_500_000), ("1.5m", 1_500_000),
        ("500k", 500_000), ("500 000 €", 500_000), ("500.000", 500_000), ("30 k€", 30_000),
        ("3 millions", 3_000_000), ("environ 40k", 40_000), ("2 mds", 2_000_000_000),
        ("12", 12), ("800 keur", 800_000), ("€800k", 800_000), ("€ 2M", 2_000_000),
        ("abc", None), ("-5", None), ("", None), ("5 bananes", None), ("1" * 60, None),
    ],
)
def test_parse_amount(text: str, expected: float | None) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("12", 12), ("12 salariés", 12), ("about 30 people", 30), ("0", 0), ("8 ETP", 8),
     ("douze", 12), ("cinq salariés", 5), ("twelve employees", 12), ("dix-sept", 17),
     ("moins de dix", 9), ("12 pommes", None), ("cinq pommes", None), ("", None), ("-3", None)],
)
def test_parse_count(text: str, expected: int | None) -> None:
    assert parse_count(text) == expected


def test_normalise_strips_accents_case_and_punctuation() -> None:
    assert normalise("  États-Unis !") == "etats unis"
    assert normalise("SÃO  Paulo") == "sao paulo"


MATCHER = Matcher([("us", "USA"), ("us", "États-Unis"), ("us", "united states"),
                   ("sg", "Singapour"), ("sg", "Singapore"), ("cn", "Chine"), ("cn", "China"),
                   ("sp", "São Paulo")])


@pytest.mark.parametrize(
    ("text", "key", "sure"),
    [("USA", "us", True), ("usa", "us", True), ("etats unis", "us", True),
     ("ÉTATS-UNIS", "us", True), ("Singapour", "sg", True), ("singapor", "sg", True),
     ("Sao Paulo", "sp", True), ("chin", "cn", False)],
)
def test_matcher_finds_names(text: str, key: str, sure: bool) -> None:
    found = MATCHER.match(text)
    assert found is not None and found.key == key and found.sure is sure


@pytest.mark.parametrize("text", ["xyz", "", "<b>", "a" * 5000, "🙂", "Atlantide"])
def test_matcher_rejects_junk(text: str) -> None:
    assert MATCHER.match(text) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [("10 millions d'euros", 10_000_000), ("moins de 1 M€", 999_999), ("plus de 500M", 500_000_001),
     ("pas de CA", 0), ("rien", 0), ("less than 1m", 999_999), ("1 000 000", 1_000_000)],
)
def test_parse_amount_phrases(text: str, expected: float) -> None:
    assert parse_amount(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1 000", 1000), ("moins de 10", 9), ("plus de 250", 251), ("une vingtaine", 20),
     ("solo", 1), ("just me", 1), ("entre 10 et 49", 29), ("10-49", 29), ("10 à 49", 29)],
)
def test_parse_count_phrases(text: str, expected: int) -> None:
    assert parse_count(text) == expected
