"""Driving FLOPwise in Debian's chromium: serve the app, launch the browser, wait for a rerun to
end, work the controls, read charts and metrics.

Shared by the pytest browser tests (tests/browser/conftest.py) and the browser benchmark
(bench/bench_browser.py); no pytest here. The facts behind it are in
shared/reference/browser_timing.md. Never download Playwright's own browser: everything launches
/usr/bin/chromium, and nothing reaches the network.

Typical use::

    with sync_playwright() as p, serve_app(tmp / "app.duckdb") as url:
        browser = launch_chromium(p)
        page = browser.new_page()
        page.goto(url)
        wait_idle(page)
        ms = time_action(page, lambda: press(slider_input(page, "Training compute"), "ArrowRight"))
        assert_no_exception(page)
"""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
HEALTH_TIMEOUT_S = 90.0


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


@contextlib.contextmanager
def serve_app(
    db_path: str | os.PathLike,
    *,
    repo_root: str | os.PathLike = REPO_ROOT,
    log_path: str | os.PathLike | None = None,
    port: int | None = None,
    file_watcher: str = "none",
    env: dict[str, str] | None = None,
) -> Iterator[str]:
    """Run ``streamlit run app.py`` of ``repo_root`` (cwd there, ``FLOPWISE_DB=db_path``, headless,
    on 127.0.0.1) and yield its base URL once ``/_stcore/health`` answers; the server is stopped on
    exit. ``db_path`` is a DuckDB file or a ``postgresql://`` URL (a store on a PostgreSQL server,
    which several servers may share); ``env`` adds to (or overrides) the server's environment.
    ``repo_root`` is also put first on PYTHONPATH, so another checkout serves its own code.
    The server's output goes to ``log_path`` (a temporary file if None); if the server dies or is
    not healthy within 90 s, RuntimeError carries the log's tail. ``file_watcher`` is Streamlit's
    ``server.fileWatcherType``: "none" by default, so that files edited while tests or a benchmark
    run are not reloaded into the running server (a reloaded module breaks st.cache_data's pickles
    of its classes, and the watcher costs CPU)."""
    repo_root = Path(repo_root).resolve()
    port = port or free_port()
    log_path = (
        Path(log_path) if log_path else Path(tempfile.mkstemp(prefix="flopwise-streamlit-", suffix=".log")[1])
    )
    env = {
        **os.environ,
        "FLOPWISE_DB": str(db_path),
        "PYTHONPATH": os.pathsep.join(p for p in (str(repo_root), os.environ.get("PYTHONPATH")) if p),
        **(env or {}),
    }
    url = f"http://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                "app.py",
                "--server.port",
                str(port),
                "--server.address",
                "127.0.0.1",
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                file_watcher,
            ],
            cwd=repo_root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + HEALTH_TIMEOUT_S
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as reply:
                        if reply.status == 200:
                            break
                except OSError:
                    pass
                if proc.poll() is not None:
                    raise RuntimeError(
                        f"the app server exited ({proc.returncode}); {log_path}:\n{_tail(log_path)}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"the app server was not healthy after {HEALTH_TIMEOUT_S:.0f} s; "
                        f"{log_path}:\n{_tail(log_path)}"
                    )
                time.sleep(0.3)
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def launch_chromium(playwright):
    """A headless Debian chromium (sync or async Playwright: returns what ``launch`` returns)."""
    if not CHROMIUM.exists():
        raise RuntimeError(f"Debian's chromium is missing at {CHROMIUM}")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)


# --- waiting for a rerun to end -------------------------------------------------------------

# One evaluate: the polling runs in the page, per animation frame (or every 50 ms where frames are
# throttled), so Python round-trips do not enter the measurement. Besides the idle time it notes
# when the script state was first seen to leave notRunning and to come back (frame resolution).
WAIT_IDLE_JS = """
async ({settleMs, startTimeoutMs, timeoutMs, since, fromInput, require}) => {
  const tCall = performance.now();
  const mark = fromInput && window.__flopwiseMark && window.__flopwiseMark.observed
    ? window.__flopwiseMark : null;
  const input = fromInput && window.__flopwiseMark ? window.__flopwiseMark.input : null;
  const t0 = input ?? since ?? tCall;
  const origin = input != null ? 'input' : since != null ? 'since' : 'call';
  const tick = () => new Promise(r => { requestAnimationFrame(() => r()); setTimeout(r, 50); });
  const state = () => {
    const root = document.querySelector('[data-test-script-state]');
    return root ? root.getAttribute('data-test-script-state') : null;
  };
  const busy = () => {
    if (state() !== 'notRunning') return 'script state ' + state();
    if (document.querySelector('[data-stale="true"]')) return 'stale elements';
    if (document.querySelector('[data-testid="stSkeleton"]')) return 'skeleton';
    if (document.querySelector('[data-testid="stSpinner"]')) return 'spinner';
    for (const gd of document.querySelectorAll('.js-plotly-plot'))
      if (!gd._fullLayout) return 'plot not drawn';
    if (require && !document.querySelector(require)) return 'no ' + require;
    return null;
  };
  let runStart = null, runEnd = null;
  const started = () => {
    if (mark && mark.runStart !== null) { runStart = mark.runStart - t0; return true; }
    if (state() !== 'notRunning') { runStart = performance.now() - t0; return true; }
    return false;
  };
  while (performance.now() - tCall < startTimeoutMs && !started()) await tick();
  let idleSince = null, why = null;
  while (true) {
    const now = performance.now();
    why = busy();
    if (runStart === null) started();
    if (runStart !== null && runEnd === null && state() === 'notRunning')
      runEnd = (mark && mark.runEnd !== null ? mark.runEnd : now) - t0;
    if (why) idleSince = null;
    else if (idleSince === null) idleSince = now;
    else if (now - idleSince >= settleMs)
      return {ms: idleSince - t0, started: runStart !== null, run_start_ms: runStart, run_end_ms: runEnd,
              origin, origin_after_since_ms: since != null ? t0 - since : null};
    if (now - tCall > timeoutMs) return {error: why || 'not settled', started: runStart !== null};
    await tick();
  }
}
"""


def wait_idle_args(
    settle_ms: float = 300,
    start_timeout_ms: float = 1500,
    timeout_ms: float = 60000,
    since: float | None = None,
    require: str | None = None,
    from_input: bool = False,
) -> dict:
    """The argument of WAIT_IDLE_JS."""
    return {
        "settleMs": settle_ms,
        "startTimeoutMs": start_timeout_ms,
        "timeoutMs": timeout_ms,
        "since": since,
        "fromInput": from_input,
        "require": require,
    }


# Starts a mark: notes the page time of the latest user-input event (capture phase, so the app
# cannot hide it) and, through a MutationObserver on the app root, when the script state first
# leaves notRunning and first comes back (a fast rerun cannot slip between two polls); returns the
# time now. time_action measures from the last input its action gave.
MARK_JS = """
() => {
  const w = window;
  if (!w.__flopwiseListening) {
    w.__flopwiseListening = true;
    for (const type of ['keydown', 'pointerdown', 'pointerup', 'mousedown', 'mouseup', 'click', 'input',
                        'change'])
      document.addEventListener(type, () => {
        if (w.__flopwiseMark) w.__flopwiseMark.input = performance.now();
      }, {capture: true, passive: true});
  }
  const root = document.querySelector('[data-test-script-state]');
  if (root && w.__flopwiseObserved !== root) {
    w.__flopwiseObserved = root;
    new MutationObserver(records => {
      const m = w.__flopwiseMark, now = performance.now();
      if (!m) return;
      const state = root.getAttribute('data-test-script-state');
      if (m.runStart === null && (state !== 'notRunning' || records.some(r => r.oldValue === 'notRunning')))
        m.runStart = now;
      if (m.runStart !== null && m.runEnd === null && state === 'notRunning') m.runEnd = now;
    }).observe(root, {attributes: true, attributeFilter: ['data-test-script-state'],
                      attributeOldValue: true});
  }
  w.__flopwiseMark = {input: null, runStart: null, runEnd: null, observed: !!root};
  return performance.now();
}
"""


def _checked(info: dict) -> dict:
    if "error" in info:
        raise TimeoutError(f"the app did not become idle: {info['error']}")
    return info


def wait_idle_info(page, **kwargs) -> dict:
    """wait_idle, with the timeline: ``ms`` (what wait_idle returns), ``started`` (whether the
    script state was seen to leave ``notRunning`` within ``start_timeout_ms`` of the call; False
    with a large ``ms`` can mean no rerun happened), ``run_start_ms`` and ``run_end_ms`` (when the
    state was first seen to leave and to return to ``notRunning``, or None), all from the same
    origin: ``origin`` says which ("input", "since" or "call"; "input" only with
    ``from_input=True``, see time_action), ``origin_after_since_ms`` how long after ``since``."""
    return _checked(page.evaluate(WAIT_IDLE_JS, wait_idle_args(**kwargs)))


def wait_idle(
    page,
    *,
    settle_ms: float = 300,
    start_timeout_ms: float = 1500,
    timeout_ms: float = 60000,
    since: float | None = None,
    require: str | None = None,
) -> float:
    """Wait until the app is idle after an input; milliseconds from the call (or from ``since``, a
    ``performance.now()`` value in the page) until idle began, the settle window not counted.

    First waits up to ``start_timeout_ms`` (from the call) for the app root's
    ``data-test-script-state`` to leave ``notRunning`` (a fast rerun may be over before it is seen:
    then it goes on). Idle: state
    ``notRunning``, no ``[data-stale="true"]``, no skeleton, no spinner, every ``.js-plotly-plot``
    drawn (has ``_fullLayout``) and, if given, an element matching the CSS selector ``require``
    present; all holding for ``settle_ms``. TimeoutError after ``timeout_ms`` says what was still
    busy. Sync Playwright API; ``async_wait_idle_info`` is the async one."""
    return wait_idle_info(
        page,
        settle_ms=settle_ms,
        start_timeout_ms=start_timeout_ms,
        timeout_ms=timeout_ms,
        since=since,
        require=require,
    )["ms"]


def time_action_info(page, action: Callable[[], object], **wait_kwargs) -> dict:
    """time_action with wait_idle_info's timeline, and ``action_ms``, how long ``action()`` itself
    took (Python's clock; Playwright's round-trips, several per click or key press)."""
    t0 = page.evaluate(MARK_JS)
    start = time.perf_counter()
    action()
    action_ms = (time.perf_counter() - start) * 1e3
    return {**wait_idle_info(page, since=t0, from_input=True, **wait_kwargs), "action_ms": action_ms}


def time_action(page, action: Callable[[], object], **wait_kwargs) -> float:
    """Milliseconds from the input ``action()`` gives (a Python callable, e.g. a key press) until
    the app is idle again (wait_idle semantics, settle window subtracted), on the page's clock.
    The origin is the last input event the page saw during the action (keydown, pointer or mouse
    down/up, click, input, change; for a select that is the Enter, for a chart the click), so
    Playwright's own round-trips do not count; without such an event, just before the action."""
    return time_action_info(page, action, **wait_kwargs)["ms"]


async def async_wait_idle_info(page, **kwargs) -> dict:
    """wait_idle_info on the async Playwright API."""
    return _checked(await page.evaluate(WAIT_IDLE_JS, wait_idle_args(**kwargs)))


async def async_time_action_info(page, action: Callable[[], Awaitable[object]], **wait_kwargs) -> dict:
    """time_action_info on the async Playwright API; ``action`` is an async callable."""
    t0 = await page.evaluate(MARK_JS)
    start = time.perf_counter()
    await action()
    action_ms = (time.perf_counter() - start) * 1e3
    return {
        **(await async_wait_idle_info(page, since=t0, from_input=True, **wait_kwargs)),
        "action_ms": action_ms,
    }


def assert_no_exception(page) -> None:
    """AssertionError with the exception text if the page shows an exception element."""
    errors = page.locator('[data-testid="stException"]')
    if errors.count():
        texts = [errors.nth(i).inner_text() for i in range(errors.count())]
        raise AssertionError("the page shows an exception:\n" + "\n---\n".join(texts))


def exception_text(page) -> str | None:
    """The text of the first exception element on the page, or None."""
    errors = page.locator('[data-testid="stException"]')
    return errors.first.inner_text() if errors.count() else None


# --- driving controls ------------------------------------------------------------------------


def _label_pattern(label: str | re.Pattern) -> re.Pattern:
    """A string matches a widget label that starts with it; a pattern is used as given."""
    return label if isinstance(label, re.Pattern) else re.compile("^\\s*" + re.escape(label))


def _widget(page, testid: str, label: str | re.Pattern):
    return (
        page.locator(f'[data-testid="{testid}"]')
        .filter(has=page.locator('[data-testid="stWidgetLabel"]', has_text=_label_pattern(label)))
        .first
    )


def slider_input(page, label: str | re.Pattern, thumb: int = 0):
    """The focusable thumb (an ``input[type="range"]``, role slider) of the slider whose label
    starts with ``label`` (or matches the pattern); ``thumb`` picks the end of a range slider.
    Its ``input_value()`` is the slider's value."""
    return _widget(page, "stSlider", label).locator('input[type="range"]').nth(thumb)


def press(locator, key: str) -> None:
    """Focus ``locator`` and press ``key`` (e.g. "ArrowRight", "End")."""
    locator.focus()
    locator.press(key)


def choose(page, label: str | re.Pattern, option: str) -> None:
    """Pick ``option`` in the selectbox whose label starts with ``label``: click its input, type
    the option, Enter."""
    box = _widget(page, "stSelectbox", label).locator("input").first
    box.click()
    box.fill(option)
    box.press("Enter")


GD = "el => el.classList.contains('js-plotly-plot') ? el : el.querySelector('.js-plotly-plot')"


def _on_plot(chart, body: str, arg=None):
    """Evaluate ``(gd, arg) => body`` on the ``.js-plotly-plot`` element of ``chart`` (that element
    itself or a container of it)."""
    return chart.first.evaluate(f"(el, arg) => {{ const gd = ({GD})(el); return ({body})(gd, arg); }}", arg)


def trace_index(chart, name: str | re.Pattern) -> int:
    """Index in ``gd._fullData`` of the first trace whose name starts with ``name`` (or matches)."""
    names = _on_plot(chart, "gd => gd._fullData.map(t => t.name || '')")
    pattern = _label_pattern(name)
    for i, n in enumerate(names):
        if pattern.search(n):
            return i
    raise LookupError(f"no trace named {name!r}; traces: {names}")


def plot_points(page, chart, trace: int | str) -> tuple[list, list]:
    """The x and y values of a trace as drawn (from ``gd._fullData``, so typed arrays sent as
    base64 ``bdata`` come back decoded); ``trace`` is an index or a name prefix."""
    i = trace if isinstance(trace, int) else trace_index(chart, trace)
    xs, ys = _on_plot(
        chart, "(gd, i) => [Array.from(gd._fullData[i].x || []), Array.from(gd._fullData[i].y || [])]", i
    )
    return xs, ys


POINT_JS = """
(gd, [i, j]) => {
  const tr = gd._fullData[i], L = gd._fullLayout;
  const xa = L[tr.xaxis.replace('x', 'xaxis')], ya = L[tr.yaxis.replace('y', 'yaxis')];
  const x = tr.x[j], y = tr.y[j];
  const lin = (ax, v) => ax.type === 'log' ? Math.log10(v) : (ax.d2l ? ax.d2l(v) : v);
  const box = gd.getBoundingClientRect();
  const lx = xa.l2p(lin(xa, x)), ly = ya.l2p(lin(ya, y));
  return {px: box.left + xa._offset + lx, py: box.top + ya._offset + ly, x: Number(x), y: Number(y),
          inside: lx >= 0 && lx <= xa._length && ly >= 0 && ly <= ya._length};
}
"""


def plot_point_position(chart, trace: int | str, point_index: int) -> dict:
    """Viewport pixels (px, py) and data values (x, y) of a point of a trace, and whether it lies
    inside the plot area (``inside``: the axes' ranges may leave points out)."""
    i = trace if isinstance(trace, int) else trace_index(chart, trace)
    return _on_plot(chart, POINT_JS, [i, point_index])


def visible_points(chart, trace: int | str) -> list[int]:
    """Indices of the trace's points that lie inside the plot area (clickable)."""
    i = trace if isinstance(trace, int) else trace_index(chart, trace)
    return _on_plot(
        chart,
        "(gd, i) => Array.from(gd._fullData[i].x || []).map((_, j) => j)"
        f".filter(j => ({POINT_JS})(gd, [i, j]).inside)",
        i,
    )


def click_plot_point(page, chart, trace_index: int | str, point_index: int) -> tuple[float, float]:
    """Click point ``point_index`` of trace ``trace_index`` (index or name prefix) of the Plotly
    chart ``chart`` (a locator of ``.js-plotly-plot`` or its container): the pixel position comes
    from ``gd._fullData``/``gd._fullLayout`` (``l2p`` of the value, log10 on log axes, plus the
    axis ``_offset`` and the element's bounding box); the mouse moves there (hover first, as a
    user would) and clicks. Returns the point's (x, y) data values. ValueError if the point lies
    outside the plot area (see ``visible_points``)."""
    chart.first.scroll_into_view_if_needed()
    pos = plot_point_position(chart, trace_index, point_index)
    if not pos["inside"]:
        raise ValueError(f"point {point_index} of trace {trace_index!r} is outside the plot area")
    page.mouse.move(pos["px"], pos["py"])
    page.mouse.click(pos["px"], pos["py"])
    return pos["x"], pos["y"]


# --- reading metrics -------------------------------------------------------------------------


def metric_values(page) -> dict[str, str]:
    """Label -> value text of every ``st.metric`` on the page."""
    return page.evaluate("""() => Object.fromEntries(
        Array.from(document.querySelectorAll('[data-testid="stMetric"]')).map(m => [
          (m.querySelector('[data-testid="stMetricLabel"]')?.innerText || '').trim(),
          (m.querySelector('[data-testid="stMetricValue"]')?.innerText || '').trim()]))""")


# Streamlit 1.67 cuts the text with an ellipsis on a div inside stMetricValue / stMetricLabel
# (stMarkdownEllipsis), so the check looks at the element and everything in it.
_CUT_JS = """(part) => Array.from(document.querySelectorAll('[data-testid="stMetric"]'))
    .filter(m => { const el = m.querySelector(`[data-testid="${part}"]`);
                   return el && [el, ...el.querySelectorAll('*')]
                     .some(e => e.scrollWidth > e.clientWidth + 0.5); })
    .map(m => (m.querySelector('[data-testid="stMetricLabel"]')?.innerText || '').trim())"""


def truncated_metrics(page) -> list[str]:
    """Labels of the metrics whose value does not fit its column (scrollWidth > clientWidth of the
    value element or of the ellipsis element inside it)."""
    return page.evaluate(_CUT_JS, "stMetricValue")


def truncated_metric_labels(page) -> list[str]:
    """Labels (as far as they show) of the metrics whose label is cut off ('Weight memory when s…')."""
    return page.evaluate(_CUT_JS, "stMetricLabel")
