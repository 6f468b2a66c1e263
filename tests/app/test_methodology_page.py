"""The Methodology page through AppTest: every law and every cost model or allocation rule is listed
with the engine's own LaTeX, the search filters by any of their texts, and flags and user text
show as they should."""

from __future__ import annotations

import pytest

from engine.analysis import registry
from engine.data.store import list_fits, save_fit
from ui import format as fmt

pytestmark = pytest.mark.app

PAGE = "methodology.py"
SEARCH = "methodology_search"
FIT_NAME = "methodology sweep"


@pytest.fixture(scope="module", autouse=True)
def saved_fit():
    from ui import db

    with db.get_store().connect() as con:
        if FIT_NAME not in {f["name"] for f in list_fits(con)}:
            save_fit(
                con,
                FIT_NAME,
                "chinchilla",
                40,
                {
                    "params": {"E": 1.8, "A": 400.0, "B": 900.0, "alpha": 0.33, "beta": 0.31},
                    "selection": {"sources": ["user"]},
                },
            )


def stored_fits() -> list:
    from ui import db

    with db.get_store().connect() as con:
        return [law for law, _ in registry.saved_fit_laws(list_fits(con)).values()]


def shown_latex(at) -> list[str]:
    """What each st.latex draws (AppTest keeps it between $$ lines)."""
    return [e.value.strip().removeprefix("$$").removesuffix("$$").strip() for e in at.latex]


def headings(at) -> list[str]:
    return [
        m.value.removeprefix("#### ").replace("\\", "") for m in at.markdown if m.value.startswith("#### ")
    ]


def texts(elements) -> str:
    return " ".join(e.value for e in elements).replace("\\", "")


def search(at, query: str):
    at.text_input(key=SEARCH).set_value(query).run()
    assert not at.exception
    return at


def test_every_law_and_formula_is_listed_with_the_engines_latex(app):
    at = app(PAGE)
    assert not at.exception and not at.error
    latex = shown_latex(at)
    for law in registry.LAWS.values():
        assert law.info.equation in latex, law.id
        assert law.info.title in headings(at)
    for law in registry.HYPERPARAM_LAWS:
        assert law.info.equation in latex
    for formula in registry.FORMULAS.values():
        assert formula.latex in latex, formula.id
        assert formula.title in headings(at)
    # the footprint's assumptions come from the engine's constants, not from the page
    assert registry.TRAINING_FOOTPRINT.assumptions[1] in texts(at.markdown)
    total = sum(len(entries) for _, entries in registry.methodology(stored_fits()))
    assert f"{total} of {total} shown." in texts(at.caption)


def test_searching_kaplan_leaves_kaplans_law_and_not_chinchillas(app):
    at = search(app(PAGE), "Kaplan")
    shown = headings(at)
    assert registry.LAWS["kaplan"].info.title in shown
    assert not any(title.startswith("Chinchilla") for title in shown)
    assert registry.LAWS["kaplan"].info.equation in shown_latex(at)
    assert registry.LAWS["chinchilla"].info.equation not in shown_latex(at)
    total = sum(len(entries) for _, entries in registry.methodology(stored_fits()))
    assert f"{len(shown)} of {total} shown for “Kaplan”." in texts(at.caption)
    assert len(shown) < total


def test_the_search_ignores_case_and_needs_every_word(app):
    at = search(app(PAGE), "kv CACHE Million mfu_DECODE")
    assert headings(at) == [registry.FORMULAS["serving-roofline"].title]


def test_the_search_reads_the_link(app):
    at = app(PAGE, **{SEARCH: "Muennighoff"})
    assert registry.LAWS["data-constrained"].info.title in headings(at)
    assert not any(title.startswith("Kaplan") for title in headings(at))


def test_nonsense_says_nothing_matches(app):
    at = search(app(PAGE), "qqxzv")
    assert headings(at) == [] and shown_latex(at) == []
    assert "Nothing matches “qqxzv”" in texts(at.info)
    assert "0 of" in texts(at.caption)


def test_the_search_text_is_shown_as_typed(app):
    query = "**x** [y](http://e.com) $z$"
    at = search(app(PAGE), query)
    assert any(fmt.plain(query) in i.value for i in at.info)  # escaped: no emphasis, link or LaTeX from it


def test_a_law_whose_constants_are_not_verified_says_so(app):
    unverified = next(law for law in registry.LAWS.values() if not law.info.verified)
    at = search(app(PAGE), unverified.id)
    assert unverified.info.title in headings(at)
    assert "⚠ not verified" in texts(at.markdown)
    verified = search(app(PAGE), "kaplan et al. 2020, L(N")
    assert "verified against the source" in texts(verified.markdown) and "⚠ not verified" not in texts(
        verified.markdown
    )


def test_a_saved_fit_is_listed_as_your_fit_not_verified(app):
    at = search(app(PAGE), FIT_NAME)
    assert headings(at) == [f"Your fit: {FIT_NAME} (not verified)"]
    assert "your fit (not verified)" in texts(at.markdown)
    assert registry.LAWS["chinchilla"].info.equation in shown_latex(at)  # a fit has the Chinchilla form
