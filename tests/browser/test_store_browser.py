"""The app and the CLI share one store file: a CLI ingest while the app serves it succeeds and the
page shows the new runs at its next rerun; a page opened while another process holds the file
says it is waiting and then shows the page, never a traceback."""

from __future__ import annotations

import re

import pytest

from engine.data.store import open_store
from tests.browser import harness
from tests.browser.harness import assert_no_exception, metric_values, wait_idle
from tests.unit.test_store_concurrency import ROWS, cli, hold_lock, sweep

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shared_db(tmp_path_factory):
    db = tmp_path_factory.mktemp("shared") / "shared.duckdb"
    open_store(db).close()
    with harness.serve_app(db) as url:
        yield db, url


def sidebar_runs(page) -> int:
    text = page.get_by_text(re.compile(r"Run store: [\d,]+ runs")).first.inner_text()
    return int(re.search(r"Run store: ([\d,]+) runs", text).group(1).replace(",", ""))


def test_cli_ingest_while_the_app_serves_the_same_file(page, shared_db, tmp_path):
    db, url = shared_db
    page.goto(f"{url}/runs")
    page.get_by_role("heading", name="Runs", exact=True).wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=90_000)
    before = sidebar_runs(page)
    file = tmp_path / "sweep.csv"
    sweep(file, 5)
    proc = cli("ingest", str(file), "--db", str(db), "--json")
    assert proc.wait(timeout=120) == 0, proc.stderr.read()
    page.reload()  # the next rerun reads the store again
    page.get_by_role("heading", name="Runs", exact=True).wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=90_000)
    assert sidebar_runs(page) == before + ROWS
    assert_no_exception(page)


def test_a_page_opened_while_another_process_writes_waits_then_shows(page, shared_db, tmp_path):
    db, url = shared_db
    file = tmp_path / "other.csv"
    sweep(file, 6)
    holder = hold_lock(db, 5.0)
    try:
        page.goto(f"{url}/scaling")
        page.get_by_text(re.compile("The run store is busy: process \\d+ is writing")).wait_for(
            timeout=30_000
        )
        assert_no_exception(page)
    finally:
        holder.wait(timeout=30)
    page.get_by_role("heading", name="Scaling laws", exact=True).wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=90_000)
    assert page.get_by_text("The run store is busy").count() == 0
    assert_no_exception(page)


def test_upload_store_and_delete_in_the_browser(page, shared_db, tmp_path):
    _db, url = shared_db
    file = tmp_path / "journey.csv"
    file.write_text("params,tokens,loss\n1e8,2e9,3.1\n1e9,2e10,2.6\nnot a number,2e10,2.5\n")
    page.goto(f"{url}/runs")
    page.get_by_role("heading", name="Runs", exact=True).wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=90_000)
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(file))
    page.get_by_text("Accepted rows").wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=90_000)
    shown = metric_values(page)
    assert (
        shown["Accepted rows"] == "2" and shown["Rejected rows"] == "1"
    )  # the bad row named, the good ones kept
    page.get_by_role("button", name="Store 2 rows").click()
    page.get_by_text(re.compile(r"Stored 2 runs as upload u-")).wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=90_000)
    page.get_by_text(re.compile(r"^Your uploads \(\d+\)$")).click()
    wait_idle(page, timeout_ms=90_000)
    page.get_by_role("button", name="Delete this upload and its runs").wait_for(timeout=30_000)
    # the most recent upload is first in the list: this one
    page.get_by_role("button", name="Delete this upload and its runs").click()
    page.get_by_text(re.compile(r"Deleted journey\.csv \(u-[0-9a-f]+\) and its 2 runs")).wait_for(
        timeout=60_000
    )
    assert_no_exception(page)
