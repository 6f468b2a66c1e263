"""Every formula a page shows comes from the engine: each page's "How … is computed" panels, opened,
draw the LaTeX the engine declares beside its code (registry.LAWS, HYPERPARAM_LAWS, FORMULAS), and
no page draws LaTeX of its own. The serving caption states the engine's own default shape."""

from __future__ import annotations

import pytest

from engine.analysis import registry
from engine.cost import inference
from ui.navigation import PAGES
from ui.widgets import explain_key

pytestmark = pytest.mark.app

ENGINE_LATEX = (
    {law.info.equation for law in registry.LAWS.values()}
    | {law.info.equation for law in registry.HYPERPARAM_LAWS}
    | {formula.latex for formula in registry.FORMULAS.values()}
    | {law.info.equation for law in registry.COMPRESSION_LAWS}
    | {formula.latex for formula in registry.COMPRESSION_FORMULAS}
)


def drawn(elements) -> list[str]:
    """What each st.latex in ``elements`` draws (AppTest keeps it between $$ lines)."""
    return [e.value.strip().removeprefix("$$").removesuffix("$$").strip() for e in elements]


def open_explanations(at):
    """Open every "How the … " panel (built only while open) and rerun."""
    labels = [e.label for e in at.expander if e.label.startswith("How the ")]
    assert labels, "the page has no explanation panel"
    for label in labels:
        at.session_state[explain_key(label)] = True
    at.run()
    assert not at.exception
    return {e.label: e for e in at.expander if e.label in labels}


def test_the_plan_pages_panels_draw_the_engines_formulas(app):
    panels = open_explanations(app(inference_tokens_t="1.0"))
    law = registry.get_law("chinchilla-epoch")  # the Plan page's default law
    expected = {
        "How the model was chosen": [
            registry.FORMULAS["compute-optimal-allocation"].latex,
            law.info.equation,
        ],
        "How the learning rate and batch size were chosen": [registry.HYPERPARAM_LAWS[0].info.equation],
        "How the footprint is computed": [registry.FORMULAS["training-footprint"].latex],
        "How the serving numbers are computed": [
            registry.FORMULAS["serving-roofline"].latex,
            registry.FORMULAS["serving-device-hours"].latex,
            registry.FORMULAS["serving-strategy"].latex,
        ],
        "How the inference-aware alternative is computed": [registry.FORMULAS["lifetime-optimum"].latex],
    }
    assert set(panels) == set(expected)
    for label, formulas in expected.items():
        assert drawn(panels[label].latex) == formulas, label
    # the inputs table lists the engine's symbols of the formula, in its order, with this scenario's values
    footprint = panels["How the footprint is computed"].table[0].value
    assert list(footprint.index) == list(registry.FORMULAS["training-footprint"].symbols)
    assert (
        footprint.loc["PUE", "value here"] == "1.10" and footprint.loc["C", "value here"] == "1.00e23 FLOPs"
    )
    # and its assumptions, the engine's words
    assumptions = " ".join(m.value for m in panels["How the footprint is computed"].markdown).replace(
        "\\", ""
    )
    assert all(a in assumptions for a in registry.FORMULAS["training-footprint"].assumptions)


def test_in_target_loss_mode_the_model_is_the_least_compute_that_reaches_it(app):
    at = app(plan_mode="Target loss", target_loss="2.1")
    panels = open_explanations(at)
    assert (
        drawn(panels["How the model was chosen"].latex)[0]
        == registry.FORMULAS["least-compute-for-loss"].latex
    )


def test_the_precision_pages_weight_memory_is_the_engines(app):
    panels = open_explanations(app("precision.py"))
    assert drawn(panels["How the weight memory is computed"].latex) == [
        registry.FORMULAS["kbit-weight-memory"].latex
    ]


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.file)
def test_no_page_draws_a_formula_of_its_own(app, page):
    at = app(page.file)
    if any(e.label.startswith("How the ") for e in at.expander):
        open_explanations(at)
    own = [latex for latex in drawn(at.latex) if latex not in ENGINE_LATEX]
    assert own == [], f"{page.title} draws LaTeX that is not the engine's"


def test_the_serving_caption_states_the_engines_default_context_and_kv_heads(app):
    at = app()
    caption = next(c.value for c in at.caption if "KV cache" in c.value).replace("\\", "")
    assert f"at {inference.DEFAULT_SEQ_LEN:,} tokens of context" in caption
    assert f"{inference.DEFAULT_KV_HEADS} KV heads of {inference.DEFAULT_HEAD_DIM}" in caption
    assert "shape assumed from N" in caption
    # and the engine's own description of the roofline says the same
    assumptions = " ".join(registry.FORMULAS["serving-roofline"].assumptions)
    assert (
        f"{inference.DEFAULT_SEQ_LEN:,} tokens" in assumptions
        and f"{inference.DEFAULT_KV_HEADS} KV heads" in assumptions
    )
