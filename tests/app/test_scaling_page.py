"""The Scaling laws page through AppTest."""

from __future__ import annotations

import pytest

from engine.registry import get_law
from ui import format as fmt
from ui.navigation import PAGES

pytestmark = pytest.mark.app


def metric_values(at, label: str) -> list[str]:
    return [m.value for m in at.metric if m.label == label]


def test_every_registered_page_runs_without_exception(app):
    at = app("scaling.py")
    assert not at.exception
    for page in PAGES:  # the router's own list: a new page is covered automatically
        at.switch_page(str(page.path)).run()
        assert not at.exception, f"{page.title} raised: {at.exception}"
        assert at.title and at.title[0].value == page.title


def test_default_view_shows_the_published_optimum(app):
    at = app("scaling.py")
    expected = get_law("chinchilla").optimal(10**23.76).scalar()
    assert metric_values(at, "N* (parameters)")[0] == fmt.count(expected["n_params"], "params")


def test_moving_the_budget_slider_changes_n_star(app):
    at = app("scaling.py")
    before = metric_values(at, "N* (parameters)")
    at.slider(key="log10_flops").set_value(21.0).run()
    after = metric_values(at, "N* (parameters)")
    assert after != before
    assert after[0] == fmt.count(float(get_law("chinchilla").optimal(1e21).n_params), "params")


def test_a_url_with_a_budget_opens_the_page_at_that_budget(app):
    at = app("scaling.py", log10_flops="22.5", laws=["kaplan", "chinchilla-epoch"])
    assert at.slider(key="log10_flops").value == 22.5
    assert at.multiselect(key="laws").value == ["kaplan", "chinchilla-epoch"]
    kaplan = get_law("kaplan").optimal(10**22.5).scalar()
    assert metric_values(at, "N* (parameters)")[0] == fmt.count(kaplan["n_params"], "params")


def test_target_loss_mode_gives_least_compute_and_explains_unreachable(app):
    at = app("scaling.py", mode="Target loss", target_loss="1.75", laws=["chinchilla", "chinchilla-epoch", "chinchilla-approach1"])
    compute = metric_values(at, "Least compute C")
    assert compute[0] == fmt.flops(float(get_law("chinchilla").target(1.75).flops))
    infos = " ".join(i.value for i in at.info)
    assert "irreducible loss E=1.817" in infos  # Epoch's E is above 1.75
    assert "allocation rule" in infos


def test_unique_token_limit_changes_the_data_constrained_optimum(app):
    at = app("scaling.py", laws=["data-constrained"], log10_flops="23.0")
    free = metric_values(at, "N* (parameters)")[0]
    at.toggle(key="limit_unique").set_value(True).run()
    at.slider(key="log10_unique_tokens").set_value(10.0).run()
    limited = metric_values(at, "N* (parameters)")[0]
    expected = get_law("data-constrained").optimal(1e23, unique_tokens=1e10).scalar()
    assert limited != free and limited == fmt.count(expected["n_params"], "params")


def test_unverified_constants_are_editable(app):
    at = app("scaling.py", laws=["chinchilla-unrounded"])
    before = metric_values(at, "Predicted loss")[0]
    at.number_input(key="scaling_chinchilla-unrounded_E").set_value(1.5).run()
    assert not at.exception
    after = metric_values(at, "Predicted loss")[0]
    expected = get_law("chinchilla-unrounded").with_constants(E=1.5).optimal(10**23.76).scalar()
    assert after != before and after == fmt.loss(expected["loss"])
