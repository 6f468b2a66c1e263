"""engine/ never imports the UI: not streamlit, not plotly (and only engine.data.store imports duckdb)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

from engine.paths import REPO_ROOT

ENGINE = REPO_ROOT / "engine"


def test_importing_every_engine_module_loads_no_ui_library():
    modules = sorted(
        ".".join(p.relative_to(REPO_ROOT).with_suffix("").parts)
        for p in ENGINE.rglob("*.py")
        if p.name != "__main__.py"
    )
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "print(json.dumps(sorted(k for k in sys.modules if k.split('.')[0] in ('streamlit', 'plotly'))))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert json.loads(out.stdout) == []
    assert len(modules) >= 8  # the check really imported the engine


def test_import_engine_alone_is_light():
    code = (
        "import engine, sys; print(sorted(k for k in ('streamlit', 'plotly', 'duckdb') if k in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"


def test_no_engine_source_imports_ui_and_only_store_imports_duckdb():
    ui = re.compile(r"^\s*(import|from)\s+(streamlit|plotly)\b", re.M)
    db = re.compile(r"^\s*(import|from)\s+duckdb\b", re.M)
    for path in ENGINE.rglob("*.py"):
        text = path.read_text()
        assert not ui.search(text), f"{path} imports a UI library"
        if path.name != "store.py":
            assert not db.search(text), f"{path} imports duckdb; only engine/data/store.py may"


def test_pages_hold_no_sql():
    sql = re.compile(r"\b(SELECT|INSERT|DELETE|UPDATE)\b\s+.*\b(FROM|INTO|SET)\b")
    for path in (REPO_ROOT / "app_pages").glob("*.py"):
        assert not sql.search(path.read_text()), f"{path} holds SQL; use engine.data.store"
