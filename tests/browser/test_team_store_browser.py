"""Two app servers on one PostgreSQL store (a real server, tests/pg.py), with eight CLI ingests
writing to it at the same time: every row of every upload stored, and each server's pages see the
other's upload and the CLI's at their next rerun, with exact counts."""

from __future__ import annotations

import re

import pytest

from engine.data.store import list_uploads, open_store, run_counts, upload_bytes
from tests.browser import harness
from tests.browser.harness import assert_no_exception, wait_idle
from tests.unit.test_store_concurrency import ROWS, cli, sweep

pytestmark = [pytest.mark.browser, pytest.mark.slow]

WRITERS = 8


@pytest.fixture(scope="module")
def two_servers(pg_cluster, tmp_path_factory):
    """The URL of a new database on the test server (published data loaded) and two app servers
    on two ports, both with FLOPWISE_DB at it."""
    url = pg_cluster.create_database()
    open_store(url).close()
    logs = tmp_path_factory.mktemp("team-logs")
    with (
        harness.serve_app(url, log_path=logs / "one.log") as one,
        harness.serve_app(url, log_path=logs / "two.log") as two,
    ):
        yield url, one, two


def sidebar_runs(page) -> int:
    text = page.get_by_text(re.compile(r"Run store: [\d,]+ runs")).first.inner_text()
    return int(re.search(r"Run store: ([\d,]+) runs", text).group(1).replace(",", ""))


def open_runs(page, base: str) -> int:
    page.goto(f"{base}/runs")
    page.get_by_role("heading", name="Runs", exact=True).wait_for(timeout=60_000)
    wait_idle(page, timeout_ms=90_000)
    assert_no_exception(page)
    return sidebar_runs(page)


def test_an_upload_through_one_server_and_eight_cli_ingests_are_seen_by_both(browser, two_servers, tmp_path):
    url, one, two = two_servers
    assert one != two
    pages = [browser.new_context(viewport={"width": 1400, "height": 1000}).new_page() for _ in (one, two)]
    try:
        before = [open_runs(p, base) for p, base in zip(pages, (one, two))]
        with open_store(url, load_published_data=False) as store:
            published = sum(run_counts(store.cursor()).values())
        assert before == [published, published]

        # an upload through server one's Runs page, while eight CLI ingests write to the same store
        upload = tmp_path / "through-one.csv"
        sweep(upload, 40)
        files = []
        for seed in range(WRITERS):
            files.append(tmp_path / f"cli-{seed}.csv")
            sweep(files[-1], 50 + seed)
        procs = [cli("ingest", str(f), "--db", url, "--json") for f in files]
        page = pages[0]
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(upload))
        page.get_by_role("button", name=f"Store {ROWS:,} rows").click()
        page.get_by_text(re.compile(r"Stored [\d,]+ runs as upload u-")).wait_for(timeout=120_000)
        outcomes = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
        assert [code for code, _ in outcomes] == [0] * WRITERS, [err[-400:] for _, err in outcomes]

        # every row of every upload is in the store, and the original bytes with them
        with open_store(url, load_published_data=False) as store:
            con = store.cursor()
            assert run_counts(con)["user"] == (WRITERS + 1) * ROWS
            uploads = list_uploads(con)
            assert len(uploads) == WRITERS + 1 and (uploads["n_accepted"] == ROWS).all()
            through_one = uploads[uploads.file_name == "through-one.csv"].upload_id.item()
            assert upload_bytes(con, through_one) == upload.read_bytes()

        # both servers' next rerun shows them: the other's upload, the CLI's ones, exact counts
        expected = published + (WRITERS + 1) * ROWS
        for p, base in zip(pages, (one, two)):
            assert open_runs(p, base) == expected
    finally:
        for p in pages:
            p.context.close()
