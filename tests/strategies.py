"""The hypothesis strategies the property tests draw from, in one place.

Grouped by what they feed: the ingest (hostile files), the laws (budgets), the Pareto front,
strict JSON and the inference-aware optimum. A test imports the ones it needs by name."""

from __future__ import annotations

from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

# --- the ingest: hostile files ---------------------------------------------------------------

HOSTILE_NAMES = [
    "params",
    "tokens",
    "loss",
    "flops",
    "'; DROP TABLE runs; --",
    '" OR 1=1 --',
    '=HYPERLINK("x")',
    "+cmd|' /C calc'!A0",
    "@SUM(1)",
    "ﾊﾟﾗﾒｰﾀ",
    "loss\x00",
    "params\n",
    "Ｌｏｓｓ",
    "",
    " ",
    "N",
    "D",
    "C",
]
"""Column names: the recognised ones, SQL and spreadsheet-formula injection, odd Unicode, blanks."""

random_bytes = st.binary(max_size=2000)
"""Any file at all, up to 2 kB."""

cells = st.one_of(
    st.sampled_from(
        [
            "",
            "nan",
            "inf",
            "-inf",
            "1e9",
            "70M",
            "1.3B",
            "-5",
            "0",
            "3.2",
            "abc",
            "=1+1",
            "1,000",
            "1e400",
            "2.5e-400",
            "   ",
            "NULL",
            "True",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=12),
)
"""One CSV cell: numbers in the notations people write, non-numbers, overflow, any text."""

hostile_headers = st.lists(st.sampled_from(HOSTILE_NAMES) | st.text(max_size=15), min_size=1, max_size=8)
garbage_rows = st.lists(st.lists(cells, min_size=0, max_size=9), max_size=25)
"""Rows of any width (0 to 9 cells), up to 25 of them."""

three_cell_rows = st.lists(st.tuples(cells, cells, cells), min_size=1, max_size=30)
"""Rows for a file whose three columns are recognised (N, D, loss) but whose values are garbage."""

sizes = st.floats(min_value=1e4, max_value=1e13, allow_nan=False)
losses = st.floats(min_value=0.01, max_value=19.0, allow_nan=False)
valid_runs = st.lists(st.tuples(sizes, sizes, losses), min_size=1, max_size=20, unique_by=lambda r: r[2])
"""(N, D, loss) runs the ingest must accept and read back exactly, distinct losses."""

delimiters = st.sampled_from([",", ";", "\t"])
decimal_commas = st.booleans()
encodings = st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "utf-16-be"])

row_widths = st.lists(st.integers(min_value=1, max_value=7), min_size=1, max_size=30)
"""Fields per row of a four-column file: ragged rows are 1-3 or 5-7 wide."""
ragged_delimiters = st.sampled_from([",", ";"])

number_text = st.from_regex(
    r"\A[ ]?[+-]?[0-9,]{0,8}\.?[0-9]{0,3}([eE][+-]?[0-9]{1,3})?[ ]?[kKmMbBgGtTpPxX]?[ ]?\Z"
)
"""Text shaped like a number: signs, thousands commas, decimals, exponents, suffixes (and bad ones)."""
quantity_cells = st.lists(number_text | cells, min_size=1, max_size=40)

# --- the laws: budgets ------------------------------------------------------------------------

log10_flops = st.floats(min_value=17.0, max_value=28.0, allow_nan=False)
"""A training budget, log10 FLOPs, from 1e17 to 1e28."""

log10_flops_step = st.floats(min_value=0.01, max_value=3.0)
"""How much larger a second budget is, in decades."""

log10_n_offsets = st.floats(min_value=-3.0, max_value=3.0)
"""How far from the optimum along an isoFLOP line, in decades of N."""

unique_tokens = st.one_of(st.none(), st.floats(min_value=9.0, max_value=13.0).map(lambda x: 10.0**x))
"""No unique-data limit, or 1e9 to 1e13 unique tokens."""

# --- the Pareto front --------------------------------------------------------------------------

pareto_values = st.sampled_from([0.0, 1.0, 2.0, 3.0]) | st.floats(-1e6, 1e6, allow_nan=False)
"""Coordinates with many ties (the small whole numbers) and any finite values."""

point_sets = st.integers(1, 3).flatmap(
    lambda k: arrays(float, st.tuples(st.integers(1, 60), st.just(k)), elements=pareto_values)
)
"""1 to 60 points in 1 to 3 dimensions."""

seeds = st.integers(0, 2**32 - 1)
large_set_sizes = st.integers(16_385, 60_000)
"""Above the size where pareto_mask prefilters."""
tie_flags = st.booleans()
"""Whether to round the points onto a coarse grid (many exact ties)."""

# --- strict JSON -------------------------------------------------------------------------------

json_leaves = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True), st.integers(), st.none(), st.text(max_size=5)
)
"""Leaves a fit's result may hold: any float (NaN and infinities included), ints, None, text."""


def _json_containers(inner: st.SearchStrategy) -> st.SearchStrategy:
    # a def, not a lambda: hypothesis reads the source to check that extend uses its argument, and
    # warned (wrongly) that a multi-line lambda did not
    return st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=4))


nested_json = st.recursive(json_leaves, _json_containers, max_leaves=20)
"""Lists and dicts of those, nested, up to 20 leaves."""

# --- the inference-aware optimum (Sardana et al. 2024) ----------------------------------------

target_losses = st.floats(1.8, 3.0)
"""A target loss above the Chinchilla law's irreducible E = 1.69."""

log10_inference_tokens = st.floats(0, 14)
"""Tokens served over the model's life, log10 (0 standing for none)."""
