"""The Scaling laws page through AppTest.

Expected numbers come from outside the code under test: Hoffmann et al.'s Approach 3 constants
(E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28) through the closed form worked by hand
here, Besiroglu et al.'s worked numbers (shared/reference/laws.md) and Kaplan's Eq. 1.5 minimised
by hand.
"""

from __future__ import annotations

import pytest
from streamlit import dataframe_util

from tests.numbers import number

pytestmark = pytest.mark.app

E, A, B, ALPHA, BETA = 1.69, 406.4, 410.7, 0.34, 0.28


# Besiroglu et al. 2024 (Epoch AI) refit of the same form
EPOCH = {"e": 1.8172, "a": 482.01, "b": 2085.43, "alpha": 0.3478, "beta": 0.3658}


def chinchilla_optimum(
    flops: float, e: float = E, a: float = A, b: float = B, alpha: float = ALPHA, beta: float = BETA
) -> tuple[float, float, float]:
    """N*, D*, loss: N* = G·(C/6)^(beta/(alpha+beta)), G = (alpha·A/(beta·B))^(1/(alpha+beta))."""
    g = (alpha * a / (beta * b)) ** (1 / (alpha + beta))
    n = g * (flops / 6) ** (beta / (alpha + beta))
    d = flops / (6 * n)
    return n, d, e + a / n**alpha + b / d**beta


def chinchilla_least_compute(loss: float) -> float:
    """At the optimum alpha·A/N^alpha = beta·B/D^beta, so L − E = (A/N^alpha)·(1 + alpha/beta)."""
    n = (A * (1 + ALPHA / BETA) / (loss - E)) ** (1 / ALPHA)
    d = (BETA * B * n**ALPHA / (ALPHA * A)) ** (1 / BETA)
    return 6 * n * d


def kaplan_n_star(flops: float) -> float:
    """Eq. 1.5 with Table 2 (alpha_N = 0.076, alpha_D = 0.103, N_c = 6.4e13, D_c = 1.8e13) and
    D = C/6N: minimising over N gives N^(1+p) = p·N_c^p·C/(6·D_c), p = alpha_N/alpha_D."""
    p = 0.076 / 0.103
    return (p * 6.4e13**p * flops / (6 * 1.8e13)) ** (1 / (1 + p))


def metric_values(at, label: str) -> list[str]:
    return [m.value for m in at.metric if m.label == label]


def shown_table(element):
    """What a st.dataframe shows: the Styler's display values where the page formats the table."""
    proto = element.proto.arrow_data
    if proto.HasField("styler") and proto.styler.display_values:
        return dataframe_util.convert_arrow_bytes_to_pandas_df(proto.styler.display_values)
    return element.value


def test_default_view_shows_the_published_optimum_by_hand(app):
    at = app("scaling.py")
    n, d, loss = chinchilla_optimum(10**23.76)  # 32.2 B, 2.98 T, 1.9308
    shown_n = metric_values(at, "N* (parameters)")[0]
    assert shown_n == "32.2 B" and number(shown_n) == pytest.approx(n, rel=2e-3)
    assert metric_values(at, "D* (tokens)")[0] == "2.98 T"
    assert number(metric_values(at, "D* (tokens)")[0]) == pytest.approx(d, rel=2e-3)
    assert metric_values(at, "Tokens per parameter")[0] == f"{d / n:.1f}" == "92.6"
    assert metric_values(at, "Loss (nats/token)")[0] == f"{loss:.4f}" == "1.9308"


def test_metric_values_are_short_with_units_in_the_labels(app):
    at = app("scaling.py", laws=["chinchilla", "kaplan", "chinchilla-epoch", "chinchilla-approach1"])
    for m in at.metric:
        assert len(m.value) <= 8, (m.label, m.value)  # '32.2 B', '1.9308', '1.11e23'
        assert "params" not in m.value and "nats" not in m.value and "tokens" not in m.value
    labels = {m.label for m in at.metric}
    assert {"N* (parameters)", "D* (tokens)", "Loss (nats/token)"} <= labels


def test_the_budget_caption_is_the_sliders_own_value(app):
    at = app("scaling.py")
    # 10^23.76 = 5.754e23, not Chinchilla's 5.76e23 (= 10^23.7604)
    assert any("10^23.76 = 5.75e23 FLOPs" in md.value for md in at.markdown)
    help_text = at.slider(key="log10_flops").help
    assert "5.76e23" in help_text and "10^23.7604" in help_text and "5.75e23" in help_text


def test_moving_the_budget_slider_changes_n_star(app):
    at = app("scaling.py")
    before = metric_values(at, "N* (parameters)")
    at.slider(key="log10_flops").set_value(21.0).run()
    after = metric_values(at, "N* (parameters)")
    assert after != before
    assert after[0] == "1.82 B" and number(after[0]) == pytest.approx(chinchilla_optimum(1e21)[0], rel=3e-3)
    assert any("10^21 = 1.00e21 FLOPs" in md.value for md in at.markdown)


def test_a_url_with_a_budget_opens_the_page_at_that_budget(app):
    at = app("scaling.py", log10_flops="22.5", laws=["kaplan", "chinchilla-epoch"])
    assert at.slider(key="log10_flops").value == 22.5
    assert at.multiselect(key="laws").value == ["kaplan", "chinchilla-epoch"]
    assert metric_values(at, "N* (parameters)")[0] == "45.5 B"
    assert number(metric_values(at, "N* (parameters)")[0]) == pytest.approx(kaplan_n_star(10**22.5), rel=3e-3)


def test_besiroglu_at_1e21_matches_the_worked_number(app):
    at = app("scaling.py", log10_flops="21.0", laws=["chinchilla-epoch"])
    assert metric_values(at, "N* (parameters)") == ["2.78 B"]  # laws.md: 2.778e9
    assert metric_values(at, "D* (tokens)") == ["60 B"]  # 5.999e10
    assert metric_values(at, "Tokens per parameter") == ["21.6"]


@pytest.mark.parametrize(
    ("params", "key", "fallback", "shown"),
    [
        ({"log10_flops": "40"}, "log10_flops", 23.76, "23.76"),
        ({"log10_flops": "many"}, "log10_flops", 23.76, "23.76"),
        ({"mode": "Target loss", "target_loss": "99"}, "target_loss", 2.0, "2"),
        ({"mode": "Guess"}, "mode", "Budget", "Budget"),
    ],
)
def test_out_of_range_link_values_are_said_and_the_fallback_used(app, params, key, fallback, shown):
    at = app("scaling.py", **params)
    assert not at.exception
    warnings = [w.value.replace("\\", "") for w in at.warning]
    notices = [w for w in warnings if f"link's {key} =" in w]
    assert len(notices) == 1, warnings
    assert repr(params[key]) in notices[0] and f"using {shown} instead" in notices[0], notices[0]
    widget = next(w for w in (*at.slider, *at.number_input, *at.radio) if w.key == key)
    assert widget.value == fallback


def test_a_link_value_for_a_control_not_shown_says_nothing(app):
    at = app("scaling.py", mode="Budget", target_loss="99")  # the target is not asked in Budget mode
    assert not at.exception and not at.warning


def test_target_loss_mode_gives_least_compute_and_explains_unreachable(app):
    at = app(
        "scaling.py",
        mode="Target loss",
        target_loss="1.75",
        laws=["chinchilla", "chinchilla-epoch", "chinchilla-approach1"],
    )
    compute = metric_values(at, "Compute (FLOPs)")
    assert number(compute[0]) == pytest.approx(chinchilla_least_compute(1.75), rel=5e-3)
    infos = " ".join(i.value.replace("\\", "") for i in at.info)
    assert "irreducible loss E=1.817" in infos  # Epoch's E is above 1.75
    assert "allocation rule" in infos


def test_target_mode_at_2_nats_by_hand(app):
    at = app("scaling.py", mode="Target loss", target_loss="2.0", laws=["chinchilla"])
    assert metric_values(at, "Compute (FLOPs)") == ["1.11e23"]
    assert chinchilla_least_compute(2.0) == pytest.approx(1.110e23, rel=1e-3)


def test_the_table_is_labelled_formatted_and_has_no_none(app):
    at = app("scaling.py", laws=["chinchilla", "kaplan", "chinchilla-epoch", "chinchilla-approach1"])
    assert not [
        d for d in at.dataframe if "N* (parameters)" in d.value.columns
    ]  # built once its expander opens
    at.session_state["scaling_table_shown"] = True
    at.run()
    table = shown_table(next(d for d in at.dataframe if "N* (parameters)" in d.value.columns))
    assert list(table.columns) == [
        "Law",
        "Constants checked",
        "Compute C (FLOPs)",
        "N* (parameters)",
        "D* (tokens)",
        "Tokens per parameter",
        "Loss (nats/token)",
    ]  # no law has a note here
    cells = table.astype(str).to_numpy().ravel().tolist()
    assert "None" not in cells and "nan" not in cells and "NaN" not in cells
    assert set(table["Compute C (FLOPs)"]) == {"5.75e23"}  # e-notation, not 575439937337159e9
    row = table.set_index("Law").loc["Chinchilla, Approach 3 (Hoffmann et al. 2022)"]
    assert (row["N* (parameters)"], row["D* (tokens)"], row["Loss (nats/token)"]) == (
        "32.2 B",
        "2.98 T",
        "1.9308",
    )
    # an allocation rule predicts no loss: a dash, not 'None'
    assert (
        table.set_index("Law").loc["Chinchilla, Approach 1 power law (N_opt ∝ C^0.5)", "Loss (nats/token)"]
        == "–"
    )


def test_unique_token_limit_changes_the_data_constrained_optimum(app):
    at = app("scaling.py", laws=["data-constrained"], log10_flops="23.0")
    free = metric_values(at, "N* (parameters)")[0]
    at.toggle(key="limit_unique").set_value(True).run()
    at.slider(key="log10_unique_tokens").set_value(10.0).run()
    limited = metric_values(at, "N* (parameters)")[0]
    assert limited != free
    assert any("10 B unique tokens" in c.value for c in at.caption)


def test_unverified_constants_are_editable(app):
    import math

    # Epoch's notebook values (laws.md): ln A, ln B, ln E, alpha, beta
    a, b, e = math.exp(6.0073404), math.exp(6.0179186), math.exp(0.5267228)
    alpha, beta = 0.33917084, 0.2849083
    g = (alpha * a / (beta * b)) ** (1 / (alpha + beta))
    n = g * (10**23.76 / 6) ** (beta / (alpha + beta))
    d = 10**23.76 / (6 * n)
    loss = e + a / n**alpha + b / d**beta
    at = app("scaling.py", laws=["chinchilla-unrounded"])
    assert metric_values(at, "N* (parameters)") == ["40.3 B"]  # the paper's "40B" at Gopher's budget
    assert metric_values(at, "Loss (nats/token)") == [f"{loss:.4f}"]
    at.number_input(key="scaling_chinchilla-unrounded_E").set_value(1.5).run()
    assert not at.exception
    # E moves the loss one for one and leaves the allocation alone
    assert metric_values(at, "Loss (nats/token)") == [f"{loss - e + 1.5:.4f}"]
    assert metric_values(at, "N* (parameters)") == ["40.3 B"]


def test_the_convention_converter_shows_a_model_in_each_convention(app):
    """LLaMA-7B-like: 6.7 B total, V 32,000, d 4,096 tied: 6.57 B non-embedding; on 140 B tokens
    6·N·D = 5.52e21 FLOPs with N non-embedding, 5.63e21 with the last layer (6·6.7e9·1.4e11)."""

    def shown(at) -> list:
        return [row.iloc[1] for t in at.table if t.value.shape[1] == 2 for _, row in t.value.iterrows()]

    at = app("scaling.py")
    values = shown(at)
    assert values[:2] == pytest.approx([6.7e9 - 32_000 * 4096, 6.7e9])  # counts stay numbers (sortable)
    assert "5.52e21" in values and "5.63e21" in values  # FLOPs past 2^53 are shown as text
    at.number_input(key="cv_params").set_value(70.0).run()
    assert shown(at)[0] == pytest.approx(70e9 - 32_000 * 4096)
