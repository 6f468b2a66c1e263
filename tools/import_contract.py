"""The import contract: the project's layers, and a check that every import points down.

Layers, top to bottom (``LAYERS``). A module may import modules of its own layer and of any layer
below it, never above; the modules of a layer may import each other, but no import may close a
loop anywhere (``cycles``). Imports inside functions count like any other: a loop is not dodged
by hiding an import in a function. Besides the layers, some packages are off limits to some
layers (``FORBIDDEN``): the engine never imports the UI libraries, the pages never open the
database themselves.

    .venv/bin/python tools/import_contract.py        # prints each broken rule; exit 1 if any

The checker reads source only (``ast``), so it also runs on a synthetic tree (tests do that).
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent

LAYERS: tuple[tuple[str, ...], ...] = (
    ("app", "app_pages"),  # the router and one module per page
    ("ui",),  # Streamlit widgets, Plotly figures, number formats
    ("engine.cli", "engine.__main__"),  # the engine's one front end
    ("engine.analysis",),  # plans, fits, fronts, scaling tables: what pages ask
    ("engine.data",),  # the run store, uploads, published data
    ("engine.cost",),  # FLOPs, hardware, footprint, carbon, serving, lifetime, the microbenchmark
    ("engine.laws",),  # one module per law family, and their numeric optimisers
    (
        "engine.errors",
        "engine.conventions",
        "engine.formula",
        "engine.paths",
        "engine",
    ),  # what every layer shares
)
"""Each layer's modules, by name prefix (a prefix covers its submodules)."""

FORBIDDEN: Mapping[str, tuple[str, ...]] = {
    "engine": ("streamlit", "plotly"),
    "app_pages": ("duckdb", "psycopg"),
    "ui": ("duckdb", "psycopg"),
}
"""Layer prefix -> top-level packages its modules must not import."""

ROOTS = ("app.py", "app_pages", "ui", "engine")
"""What the contract covers, relative to the repository root."""


@dataclass(frozen=True)
class Import:
    """One import statement: ``source`` imports ``target`` (a module name) at ``line``."""

    source: str
    target: str
    line: int


@dataclass(frozen=True)
class Violation:
    rule: str  # "layer", "forbidden" or "cycle"
    message: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.message}"


def module_files(root: Path, roots: Iterable[str] = ROOTS) -> dict[str, Path]:
    """Module name -> file for every module under ``roots`` (packages by their __init__.py)."""
    out: dict[str, Path] = {}
    for name in roots:
        path = root / name
        files = [path] if path.is_file() else sorted(path.rglob("*.py"))
        for file in files:
            parts = list(file.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = file
    return out


def imports(modules: Mapping[str, Path]) -> list[Import]:
    """Every import in ``modules``, at any depth (inside functions too), resolved to the most
    specific project module it names (``from engine.cost import carbon`` -> engine.cost.carbon);
    imports of other packages are kept under their top-level name (``numpy``)."""
    found: list[Import] = []
    for source, file in modules.items():
        tree = ast.parse(file.read_text(), filename=str(file))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found += [Import(source, _resolve(alias.name, modules), node.lineno) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for alias in node.names:
                    candidate = f"{node.module}.{alias.name}"
                    target = candidate if candidate in modules else _resolve(node.module, modules)
                    found.append(Import(source, target, node.lineno))
    return found


def _resolve(name: str, modules: Mapping[str, Path]) -> str:
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return parts[0]


def layer_of(module: str, layers: Sequence[Sequence[str]] = LAYERS) -> int | None:
    """Index (0 = top) of the layer whose most specific prefix matches ``module``, or None."""
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for index, prefixes in enumerate(layers):
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), index)
    return None if best is None else best[1]


def cycles(edges: Iterable[tuple[str, str]]) -> list[list[str]]:
    """The import loops: strongly connected components with more than one module (or a module
    importing itself), each sorted, by Tarjan's algorithm (iterative)."""
    graph: dict[str, set[str]] = {}
    for a, b in edges:
        graph.setdefault(a, set()).add(b)
        graph.setdefault(b, set())
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1 or node in graph[node]:
                    found.append(sorted(component))
    return found


def check(
    root: Path = REPO_ROOT,
    *,
    roots: Iterable[str] = ROOTS,
    layers: Sequence[Sequence[str]] = LAYERS,
    forbidden: Mapping[str, tuple[str, ...]] = FORBIDDEN,
) -> list[Violation]:
    """Every broken rule under ``root``: imports that point up a layer, imports of a forbidden
    package, and import loops."""
    modules = module_files(root, roots)
    found = imports(modules)
    violations: list[Violation] = []
    for imp in found:
        for prefix, banned in forbidden.items():
            if (imp.source == prefix or imp.source.startswith(prefix + ".")) and imp.target.split(".")[
                0
            ] in banned:
                violations.append(
                    Violation("forbidden", f"{imp.source} (line {imp.line}) imports {imp.target}")
                )
        if imp.target not in modules:
            continue
        here, there = layer_of(imp.source, layers), layer_of(imp.target, layers)
        if here is None or there is None:
            name = imp.source if here is None else imp.target
            violations.append(Violation("layer", f"{name} belongs to no layer"))
        elif there < here:
            violations.append(
                Violation(
                    "layer",
                    f"{imp.source} (line {imp.line}) imports {imp.target}, a layer above it "
                    f"({', '.join(layers[there])} above {', '.join(layers[here])})",
                )
            )
    project_edges = [(i.source, i.target) for i in found if i.target in modules and i.target != i.source]
    # a package's __init__ and its own modules are one unit: `engine` -> `engine.cli` is not a loop back
    edges = [(a, b) for a, b in project_edges if not b.startswith(a + ".") and not a.startswith(b + ".")]
    violations += [Violation("cycle", " -> ".join(c)) for c in cycles(edges)]
    return sorted(set(violations), key=str)


def main(argv: Sequence[str] | None = None) -> int:
    root = Path(argv[0]) if argv else REPO_ROOT
    violations = check(root)
    for v in violations:
        print(v)
    modules = module_files(root)
    print(
        f"import contract: {len(modules)} modules, {len(LAYERS)} layers, "
        f"{len(violations)} broken rule{'s' if len(violations) != 1 else ''}",
        file=sys.stderr,
    )
    return 1 if violations else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
