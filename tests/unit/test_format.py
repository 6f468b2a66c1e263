"""Numbers as a careful reader expects them: page units, no false precision, user text as typed."""

from __future__ import annotations

import math

import pytest

from ui import format as fmt


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (3.2189e10, "32.2 B"),
        (1.5e9, "1.5 B"),
        (999.96e9, "1 T"),
        (7.05e12, "7.05 T"),
        (12_345.0, "12.3 k"),
        (0.5, "0.5"),
        (math.nan, "–"),
        (None, "–"),
    ],
)
def test_counts_use_k_m_b_t_never_g(value, text):
    assert fmt.count(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (652_937.9, "$653,000"),
        (3.54e6, "$3.54 M"),
        (1.2e9, "$1.2 B"),
        (9.781, "$9.78"),
        (0.04213, "$0.0421"),
        (None, "–"),
    ],
)
def test_money_is_short_and_three_significant_figures(value, text):
    assert fmt.money(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (1_838_108.1, "1.84 million"),
        (6543.2, "6,540"),
        (0.01234, "0.0123"),
        (2.856, "2.86"),
        (0.0, "0"),
    ],
)
def test_sig_has_no_false_precision(value, text):
    assert fmt.sig(value) == text


def test_budgets_in_e_notation_and_rates_that_do_not_round_to_zero():
    assert fmt.sci(1397236736293715700) == "1.40e18" and fmt.flops(5.76e23) == "5.76e23 FLOPs"
    assert fmt.rate(0.31, "tokens/s") == "0.31 tokens/s"
    assert (
        fmt.configuration(16.0, 4.0) == "16 experts, 4-bit"
        and fmt.configuration(1.0, 16.0) == "dense, 16-bit"
    )


def test_user_text_is_escaped_for_markdown():
    hostile = "**bold** [link](http://x) $E=mc^2$ <b>"
    escaped = fmt.plain(hostile)
    assert (
        "\\*\\*bold\\*\\*" in escaped
        and "\\[link\\]" in escaped
        and "\\$" in escaped
        and "\\<b\\>" in escaped
    )


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (406.4, "406.4"),
        (6.4e13, "6.4e13"),
        (0.0598, "0.0598"),
        (1.2e-5, "1.2e-5"),
        (-0.713, "-0.713"),
        (float(math.exp(6.0073404)), "406.401"),
        (math.nan, "–"),
    ],
)
def test_a_laws_constants_read_as_printed(value, text):
    assert fmt.constant(value) == text
