"""The import contract (tools/import_contract.py): the tree keeps it, and the checker catches a
back-arrow, a forbidden import and a loop in a synthetic tree."""

from __future__ import annotations

from pathlib import Path

from tools import import_contract as contract


def test_the_tree_keeps_the_contract():
    assert [str(v) for v in contract.check()] == []


def test_every_module_belongs_to_a_layer_and_the_engine_has_its_folders():
    modules = contract.module_files(contract.REPO_ROOT)
    assert all(contract.layer_of(m) is not None for m in modules)
    layers = {contract.LAYERS[contract.layer_of(m)][0] for m in modules}
    assert {"engine.laws", "engine.cost", "engine.data", "engine.analysis"} <= layers
    # the engine's top level holds only the front end and what every layer shares
    top = {
        m
        for m in modules
        if m.count(".") == 1 and m.startswith("engine.") and modules[m].name != "__init__.py"
    }
    assert top == {
        "engine.cli",
        "engine.__main__",
        "engine.errors",
        "engine.conventions",
        "engine.formula",
        "engine.paths",
    }


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def test_a_law_importing_the_cost_layer_is_a_back_arrow(tmp_path):
    root = _tree(
        tmp_path,
        {
            "engine/__init__.py": "",
            "engine/laws/__init__.py": "",
            "engine/cost/__init__.py": "",
            "engine/cost/flops.py": "from engine.laws.base import X\n",
            "engine/laws/base.py": (
                "X = 1\n\ndef f():\n    from engine.cost import flops  # hidden in a function: "
                "still counted\n"
            ),
        },
    )
    found = [str(v) for v in contract.check(root, roots=("engine",))]
    assert any(v.startswith("layer: engine.laws.base (line 4) imports engine.cost.flops") for v in found), (
        found
    )
    assert "cycle: engine.cost.flops -> engine.laws.base" in found


def test_the_engine_importing_streamlit_and_a_page_importing_duckdb_are_forbidden(tmp_path):
    root = _tree(
        tmp_path,
        {
            "engine/__init__.py": "",
            "engine/analysis/__init__.py": "",
            "engine/analysis/plan.py": "import streamlit as st\n",
            "app_pages/plan.py": "import duckdb\nfrom engine.analysis import plan\n",
        },
    )
    found = [str(v) for v in contract.check(root, roots=("engine", "app_pages"))]
    assert "forbidden: engine.analysis.plan (line 1) imports streamlit" in found
    assert "forbidden: app_pages.plan (line 1) imports duckdb" in found
    assert len(found) == 2  # the page importing the engine is an arrow pointing down: allowed


def test_a_loop_inside_one_layer_is_found():
    assert contract.cycles([("a", "b"), ("b", "c"), ("c", "a"), ("c", "d")]) == [["a", "b", "c"]]
    assert contract.cycles([("a", "b"), ("b", "c")]) == []
