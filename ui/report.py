"""A self-contained HTML report of one scenario or a comparison, and its PDF.

The report holds what the Plan page shows for each scenario (inputs, recommendation, footprint,
serving), the fronts and the scaling frontier with the scenarios marked (ui.scenario_figures: the
Plan and Scaling pages' figures from the same engine calls), every formula and source the numbers
come from (engine.analysis.registry's entries), and the FLOPwise version and date. Plotly's
JavaScript is the copy bundled with the plotly package, inlined once: the file opens offline, in
any browser, and asks the network for nothing.

Every text from a user or a file (names, authors, notes) and every engine text is escaped, so it
shows as typed. No Streamlit here.

The PDF is the same HTML printed by headless Chromium (``pdf_from_html``), when it is installed
(Debian: ``apt-get install chromium``, what ``make chromium`` runs); otherwise there is no PDF and
the reason says so.
"""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import plotly.io as pio
from plotly.offline import get_plotlyjs

from engine.analysis import plan, registry
from engine.analysis.hyperparams import STEP_LAW
from engine.analysis.scenarios import compare_frame, flopwise_version, scenario_record
from engine.cost import carbon
from engine.cost.hardware import Device
from engine.cost.inference import DEFAULT_SEQ_LEN
from engine.laws.base import COMPUTE_OPTIMAL, LEAST_COMPUTE_FOR_LOSS, Law
from engine.laws.moe import LUDZIEJEWSKI
from engine.laws.precision import PRECISION
from ui import format as fmt
from ui.scenario_figures import Planned, front_caption, front_figure, frontier_figure
from ui.scenario_tables import FRONT_WORDS, comparison_table

SECTIONS = (
    "about",
    "scenarios",
    "inputs",
    "recommendation",
    "footprint",
    "serving",
    "fronts",
    "frontier",
    "formulas",
)
"""Every report has a section with each of these ids (a comparison's per-scenario parts are
grouped under them); the browser test looks for each."""


@dataclass(frozen=True)
class ReportScenario:
    """One scenario of a report: its name, author, note and when it was saved (user text, shown
    as typed), its result re-evaluated (engine.analysis.scenarios.reopen) with the law and device
    it used, and what changed since it was saved."""

    name: str
    result: plan.PlanResult
    law: Law
    device: Device
    author: str = ""
    note: str = ""
    saved_at: datetime | str | None = None
    changes: tuple[str, ...] = field(default_factory=tuple)

    @property
    def planned(self) -> Planned:
        return Planned(self.name, self.result, self.law, self.device)


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _when(value: datetime | str | None) -> str:
    if value is None or value == "":
        return fmt.DASH
    return f"{value:%Y-%m-%d %H:%M} UTC" if isinstance(value, datetime) else str(value)


def _table(rows: Iterable[tuple[str, str]], *, head: tuple[str, str] | None = None) -> str:
    body = "".join(f"<tr><th scope='row'>{_e(k)}</th><td>{_e(v)}</td></tr>" for k, v in rows)
    top = f"<thead><tr><th>{_e(head[0])}</th><th>{_e(head[1])}</th></tr></thead>" if head else ""
    return f"<table class='kv'>{top}<tbody>{body}</tbody></table>"


# --- the sections ------------------------------------------------------------------------------------


def _inputs_rows(s: ReportScenario) -> list[tuple[str, str]]:
    table = comparison_table(compare_frame([scenario_record(s.result, s.law, s.device)], [s.name]))
    kept = table[table["Section"] != "Results"]
    column = kept.columns[1]
    return [(label, value) for label, value in kept[column].items() if value != fmt.DASH]


def _recommendation(s: ReportScenario) -> str:
    r, law = s.result, s.law
    rows = [
        (
            "Law",
            f"{law.info.title} "
            + ("(constants verified against the source)" if law.info.verified else "(NOT verified)"),
        ),
        ("Training compute C", fmt.flops(r.flops)),
        ("Parameters N", fmt.count(r.n_params)),
        ("Training tokens D", fmt.count(r.n_tokens)),
        ("Tokens per parameter", fmt.ratio(r.tokens_per_param)),
        ("Predicted loss (nats/token, on the law's data set)", fmt.loss(r.loss)),
    ]
    rec = STEP_LAW.recommend(r.n_params, r.n_tokens)
    rows += [
        ("Peak learning rate (Step Law)", fmt.sci(rec.learning_rate)),
        (
            "Batch size (Step Law)",
            f"{fmt.count(rec.batch_size_tokens, 'tokens')} "
            f"({fmt.sig(rec.batch_size_sequences(DEFAULT_SEQ_LEN))} sequences of {DEFAULT_SEQ_LEN:,} tokens)",
        ),
    ]
    warning = STEP_LAW.extrapolation_warning(r.n_params, r.n_tokens)
    rule = LEAST_COMPUTE_FOR_LOSS if r.inputs.plan_mode is plan.PlanMode.TARGET_LOSS else COMPUTE_OPTIMAL
    extra = f"<p class='note'>⚠ {_e(warning)}</p>" if warning else ""
    return (
        f"{_table(rows)}<p class='caption'>Chosen by the rule “{_e(rule.title)}” applied to "
        f"{_e(law.info.title)}; the formulas are below.</p>{extra}"
    )


def _footprint(s: ReportScenario) -> str:
    r, t = s.result, s.result.train
    thousandth = lambda x: None if x is None else x / 1000
    rows = [
        ("Training device-hours", fmt.count(t.device_hours)),
        ("Wall-clock days", fmt.sig(t.wall_days)),
        ("Training energy (MWh)", fmt.sig(thousandth(t.energy_kwh))),
        ("Training CO2e, operational (t)", fmt.sig(thousandth(t.co2_kg))),
        ("Training CO2e, embodied (t)", fmt.sig(thousandth(t.embodied_co2_kg))),
        ("Training cost", fmt.money(t.cost_usd)),
        ("Lifetime cost (train + serve)", fmt.money(r.total_cost_usd)),
        ("Lifetime CO2e (t)", fmt.sig(thousandth(r.total_co2_kg))),
        ("Grid intensity (gCO2e/kWh)", f"{fmt.sig(r.grid.g_co2_per_kwh)} ({r.grid.label})"),
    ]
    words = ""
    if r.total_co2_kg is not None:
        parts = [f"{fmt.sig(n)} {e.label}" for n, e in carbon.equivalents(r.total_co2_kg)]
        source = carbon.EQUIVALENTS[0].source
        words = f"<p class='caption'>Lifetime CO2e ≈ {_e('; or '.join(parts))} ({_e(source)}).</p>"
    sources = (
        f"<p class='caption'>Hardware: {_e(s.device.name)}: {_e(s.device.source)}. "
        f"Grid: {_e(r.grid.source)}.</p>"
    )
    return _table(rows) + words + sources


def _serving(s: ReportScenario) -> str:
    r, inf = s.result, s.result.inference
    rows = [
        ("Decode latency (ms/token, batch 1)", fmt.short(inf.decode_s_per_step * 1e3)),
        ("Throughput (tokens/s, batch 1)", fmt.short(inf.tokens_per_s)),
        ("Serving cost per 1M tokens", fmt.money(inf.cost_per_million_tokens_usd)),
        ("Lifetime serving cost", fmt.money(r.serve.cost_usd) if r.serve else fmt.DASH),
        ("Weights (GB)", fmt.sig(inf.weight_bytes / 1e9)),
        (f"KV cache at {inf.context_tokens:,.0f} tokens (GB)", fmt.sig(inf.kv_cache_bytes / 1e9)),
        ("Fits in one device", "yes" if inf.fits_in_memory else "no: model parallelism needed"),
    ]
    if r.lifetime and r.inputs.inference_tokens > 0:
        lt = r.lifetime
        rows.append(
            (
                "Inference-aware alternative (Sardana et al. 2024), same loss",
                f"{fmt.count(lt.n_params, 'params')} on {fmt.count(lt.n_tokens, 'tokens')}: "
                f"{lt.n_params / r.n_params:.0%} of the parameters, "
                f"{lt.n_tokens / r.n_tokens:.2f}× the tokens",
            )
        )
    return _table(rows) + f"<p class='caption'>{_e(inf.explain())}</p>"


def _figure_html(figure: go.Figure, div_id: str) -> str:
    # ui.figures builds without validation, leaving the template a name; to_html needs the template
    spec = figure.to_plotly_json()
    template = spec["layout"].get("template")
    if isinstance(template, str):
        spec["layout"]["template"] = pio.templates[template].to_plotly_json()
    return pio.to_html(
        spec,
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
        default_height="460px",
    )


def _formula_entries(scenarios: Sequence[ReportScenario]) -> list[registry.Entry]:
    laws: dict[str, Law] = {}
    for s in scenarios:
        laws.setdefault(s.law.id, s.law)
    entries = [registry.law_entry(law) for law in laws.values()]
    entries += [registry.law_entry(PRECISION), registry.law_entry(LUDZIEJEWSKI)]
    entries.append(registry.law_entry(STEP_LAW, "hyperparameter law"))
    entries += [registry.formula_entry(f, "allocation rule") for f in registry.ALLOCATION_RULES]
    entries += [registry.formula_entry(f, "cost model") for f in registry.COST_MODELS]
    return entries


def _entry_html(entry: registry.Entry) -> str:
    parts = [
        f"<article class='entry'><h3>{_e(entry.title)}</h3>",
        f"<p class='meta'>{_e(entry.kind)} · <code>{_e(entry.id)}</code> · {_e(entry.verified_words)}</p>",
        f"<pre class='latex'>{_e(entry.latex)}</pre>",
    ]
    if entry.constants:
        parts.append(_table(((n, fmt.constant(v)) for n, v in entry.constants), head=("constant", "value")))
    if entry.inputs:
        parts.append(_table(entry.inputs, head=("input", "meaning")))
    if entry.outputs:
        parts.append(_table(entry.outputs, head=("gives", "meaning")))
    if entry.assumptions:
        parts.append("<ul>" + "".join(f"<li>{_e(a)}</li>" for a in entry.assumptions) + "</ul>")
    for label, text in (
        ("Conventions", entry.conventions),
        ("Training compute", entry.compute_model),
        ("Valid range", entry.valid_range),
        ("Where in the source", entry.source_detail),
        ("Notes", entry.notes),
    ):
        if text:
            parts.append(f"<p><strong>{_e(label)}:</strong> {_e(text)}</p>")
    for problem in entry.problems:
        parts.append(f"<p class='note'>⚠ Not usable: {_e(problem)}</p>")
    if entry.citation:
        url = entry.url if entry.url.startswith(("https://", "http://")) else ""
        link = f" <a href='{_e(url)}'>{_e(url)}</a>" if url else ""
        parts.append(f"<p class='citation'><strong>Source:</strong> {_e(entry.citation)}{link}</p>")
    parts.append("</article>")
    return "".join(parts)


STYLE = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #0f172a; margin: 0 auto;
       max-width: 1100px; padding: 24px; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; } h2 { border-bottom: 2px solid #e2e8f0; padding-bottom: 4px;
margin-top: 2rem; } h3 { margin-bottom: 0.3rem; }
table { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.92rem; }
th, td { border: 1px solid #e2e8f0; padding: 4px 8px; text-align: left; vertical-align: top; }
th[scope=row] { font-weight: 500; background: #f8fafc; }
tr.differs td, tr.differs th { background: #fef3c7; font-weight: 600; }
.caption, .meta { color: #475569; font-size: 0.88rem; } .note { color: #92400e; }
.changes li { color: #92400e; } pre.latex { background: #f8fafc; padding: 6px 8px; white-space: pre-wrap; }
.user { white-space: pre-wrap; } .figure { width: 100%; min-height: 470px; }
.scenario { border-left: 4px solid #cbd5e1; padding-left: 12px; margin-bottom: 1rem; }
@media print { body { max-width: none; padding: 0; } section, article, .figure { break-inside: avoid; } }
"""


def report_html(
    scenarios: Sequence[ReportScenario],
    *,
    title: str | None = None,
    generated_at: datetime | None = None,
    objectives: Sequence[str] = plan.OBJECTIVES,
) -> str:
    """The report of one scenario or a comparison (1 to 6), as one HTML document with Plotly's
    bundled JavaScript inline: header (FLOPwise version, date), the scenarios (name, author, note,
    saved), what changed since each was saved, the comparison table (two or more, the rows that
    differ highlighted), each scenario's inputs, recommendation, footprint and serving, the fronts
    (one per objective: scenario 1's, every scenario marked), the scaling frontier, and every
    formula and source. Sections carry the ids in SECTIONS."""
    if not 1 <= len(scenarios) <= 6:
        raise ValueError(f"a report holds 1 to 6 scenarios; {len(scenarios)} were given")
    now = generated_at or datetime.now(UTC)
    version = flopwise_version()
    single = len(scenarios) == 1
    heading = title or (
        f"FLOPwise scenario: {scenarios[0].name}"
        if single
        else f"FLOPwise comparison of {len(scenarios)} scenarios"
    )
    out = [
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>",
        "<meta name='viewport' content='width=device-width, initial-scale=1'>",
        f"<meta name='generator' content='FLOPwise {_e(version)}'>",
        f"<title>{_e(heading)}</title><style>{STYLE}</style>",
        f"<script type='text/javascript'>{get_plotlyjs()}</script></head><body>",
        f"<header id='about'><h1>{_e(heading)}</h1><p class='meta'>Made by FLOPwise {_e(version)} on "
        f"{now:%Y-%m-%d %H:%M} UTC. Every number below is re-evaluated from the scenario's inputs with the "
        "law constants and device figures it was saved with; the formulas and sources are at the end."
        "</p></header>",
    ]
    # scenarios
    rows = "".join(
        f"<tr><td>{i + 1}</td><td class='user'>{_e(s.name)}</td>"
        f"<td class='user'>{_e(s.author or fmt.DASH)}</td>"
        f"<td class='user'>{_e(s.note or fmt.DASH)}</td><td>{_e(_when(s.saved_at))}</td></tr>"
        for i, s in enumerate(scenarios)
    )
    out.append(
        "<section id='scenarios'><h2>Scenarios</h2><table><thead><tr><th>#</th><th>Name</th><th>Author</th>"
        f"<th>Note</th><th>Saved</th></tr></thead><tbody>{rows}</tbody></table>"
    )
    changed = [(i, s) for i, s in enumerate(scenarios) if s.changes]
    if changed:
        items = "".join(
            f"<li><strong>{i + 1}. {_e(s.name)}:</strong> {_e(change)}</li>"
            for i, s in changed
            for change in s.changes
        )
        out.append(f"<div id='changes'><h3>Changed since saving</h3><ul class='changes'>{items}</ul></div>")
    else:
        out.append(
            "<p class='caption' id='changes'>Nothing changed since saving: law, device, grid and results "
            "are as saved.</p>"
        )
    out.append("</section>")
    if not single:
        frame = compare_frame(
            [scenario_record(s.result, s.law, s.device) for s in scenarios],
            [f"{i + 1}" for i in range(len(scenarios))],
        )
        table = comparison_table(frame)
        head = "".join(f"<th>{_e(c)}</th>" for c in ["Quantity", "Section", *table.columns[1:-1], "Differs"])
        body = "".join(
            f"<tr class='{'differs' if row['Differs'] else ''}'><th scope='row'>{_e(label)}</th>"
            + "".join(f"<td>{_e(v)}</td>" for v in row.to_numpy())
            + "</tr>"
            for label, row in table.iterrows()
        )
        out.append(
            "<section id='comparison'><h2>Side by side</h2><p class='caption'>Columns are the scenarios' "
            "numbers (above); highlighted rows (≠) differ.</p>"
            f"<table class='compare'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>"
        )
    for section, heading_words, render in (
        ("inputs", "Inputs", lambda s: _table(_inputs_rows(s))),
        ("recommendation", "Recommendation", _recommendation),
        ("footprint", "Footprint", _footprint),
        ("serving", "Serving", _serving),
    ):
        out.append(f"<section id='{section}'><h2>{heading_words}</h2>")
        for i, s in enumerate(scenarios):
            name = "" if single else f"<h3>{i + 1}. <span class='user'>{_e(s.name)}</span></h3>"
            out.append(f"<div class='scenario' id='{section}-{i + 1}'>{name}{render(s)}")
            if section == "recommendation":
                out += [f"<p class='note'>{_e(n)}</p>" for n in s.result.notes]
            out.append("</div>")
        out.append("</section>")
    planned = [s.planned for s in scenarios]
    out.append("<section id='fronts'><h2>Pareto fronts</h2>")
    for objective in objectives:
        out.append(f"<h3>Loss against {_e(FRONT_WORDS[objective])}</h3>")
        figure = _figure_html(front_figure(planned, objective), f"front-{objective}")
        out.append(f"<div class='figure'>{figure}</div>")
        out.append(f"<p class='caption'>{_e(front_caption(planned, objective))}</p>")
    out.append("</section>")
    out.append(
        "<section id='frontier'><h2>Scaling frontier</h2>"
        f"<div class='figure'>{_figure_html(frontier_figure(planned), 'frontier-figure')}</div>"
        "<p class='caption'>Lines: each law's compute-optimal N*(C) and D*(C), as on the Scaling laws page. "
        "Stars: the scenarios' training compute, parameters and tokens.</p></section>"
    )
    entries = "".join(_entry_html(e) for e in _formula_entries(scenarios))
    out.append(f"<section id='formulas'><h2>Formulas and sources</h2>{entries}</section>")
    out.append(
        f"<footer><p class='meta'>FLOPwise {_e(version)} · {now:%Y-%m-%d %H:%M} UTC</p></footer>"
        "</body></html>"
    )
    return "".join(out)


# --- PDF -------------------------------------------------------------------------------------------------

CHROMIUM_NAMES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
INSTALL_WORDS = (
    "Install Debian's chromium (sudo apt-get install chromium, what `make chromium` runs) for a PDF; "
    "meanwhile the HTML report prints to PDF from any browser."
)
PDF_TIMEOUT_S = 120.0


def find_chromium(names: Sequence[str] = CHROMIUM_NAMES) -> str | None:
    for name in names:
        path = name if os.path.isabs(name) else shutil.which(name)
        if path and os.access(path, os.X_OK):
            return path
    return None


def pdf_engine(names: Sequence[str] = CHROMIUM_NAMES) -> tuple[str | None, str]:
    """(path to headless Chromium or None, words: which engine and version, or why there is none)."""
    path = find_chromium(names)
    if path is None:
        return None, f"No PDF engine: headless Chromium is not installed. {INSTALL_WORDS}"
    try:
        version = subprocess.run(
            [path, "--version"], capture_output=True, text=True, timeout=30
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        version = ""
    return path, f"{version or 'Chromium'}, headless, at {path}"


def pdf_from_html(
    html_text: str, *, names: Sequence[str] = CHROMIUM_NAMES, timeout_s: float = PDF_TIMEOUT_S
) -> tuple[bytes | None, str]:
    """The report printed to PDF by headless Chromium: (PDF bytes, which engine) or (None, why not:
    no Chromium, or it failed). The page is loaded from a temporary file with a throwaway profile,
    its scripts run (the Plotly figures are drawn) before printing; nothing touches the network."""
    path, words = pdf_engine(names)
    if path is None:
        return None, words
    with tempfile.TemporaryDirectory(prefix="flopwise-pdf-") as tmp:
        source, target = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        source.write_text(html_text, encoding="utf-8")
        command = [
            path,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-extensions",
            f"--user-data-dir={Path(tmp) / 'profile'}",
            "--no-pdf-header-footer",
            "--virtual-time-budget=15000",
            f"--print-to-pdf={target}",
            source.as_uri(),
        ]
        try:
            done = subprocess.run(
                command, capture_output=True, text=True, timeout=timeout_s, env={**os.environ, "HOME": tmp}
            )
        except subprocess.TimeoutExpired:
            return None, f"{words} did not finish printing within {timeout_s:g} s; no PDF"
        except OSError as exc:
            return None, f"{words} could not be started ({exc}); no PDF"
        data = target.read_bytes() if target.exists() else b""
        if not data.startswith(b"%PDF"):
            tail = (done.stderr or "").strip().splitlines()[-1:] or ["no message"]
            return None, f"{words} printed no PDF (exit {done.returncode}: {tail[0]})"
        return data, f"Printed by {words}"


__all__: list[Any] = ["SECTIONS", "ReportScenario", "pdf_engine", "pdf_from_html", "report_html"]
