"""Saved scenarios in the store (engine.data.scenarios): names unique and kept as typed, every
write whole or not at all, and a v3 database migrated to hold them; each test on a DuckDB file and
on a real PostgreSQL server."""

from __future__ import annotations

import duckdb
import pytest

from engine.data import pg
from engine.data import scenarios as sc
from engine.data.store import SCHEMA_VERSION, open_store


@pytest.fixture
def db_path(store_url):
    """This module's stores: a DuckDB file, then a PostgreSQL database (conftest.store_url)."""
    return store_url


@pytest.fixture
def store(db_path):
    with open_store(db_path) as s:
        yield s


RECORD = {"plan": {"inputs": {"log10_flops": 23.0}}, "point": {"loss": 2.03}, "record_version": 1}

HOSTILE = (
    "<script>alert(1)</script>",
    "'; DROP TABLE scenarios; --",
    "**bold** [link](https://example.com) $x^2$ :red[no]",
    "Ünïcödé ✓ 计划 🚀",
    "%{x} {0} %s \\n",
)


def test_saved_scenarios_list_newest_first_with_what_was_given(store):
    con = store.cursor()
    first = sc.save_scenario(con, "first", "ana", "a note\non two lines", RECORD)
    second = sc.save_scenario(con, "second", "", "", {**RECORD, "point": {"loss": 1.9}})
    rows = sc.list_scenarios(con)
    assert [r["name"] for r in rows] == ["second", "first"]
    got = sc.get_scenario(con, first)
    assert (got["name"], got["author"], got["note"], got["record"]) == (
        "first",
        "ana",
        "a note\non two lines",
        RECORD,
    )
    assert sc.get_scenario(con, second)["record"]["point"] == {"loss": 1.9}
    assert first.startswith("scn-") and len(first) == 4 + 16 and first != second


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_names_are_stored_exactly_as_given(store, name):
    con = store.cursor()
    scenario_id = sc.save_scenario(con, name, name, name, RECORD)
    assert sc.get_scenario(con, scenario_id)["name"] == name
    assert sc.find_scenario(con, name)["scenario_id"] == scenario_id
    assert con.execute("SELECT count(*) FROM scenarios").fetchone() == (1,)  # the table is still there


def test_a_taken_name_is_refused_and_nothing_is_stored(store):
    con = store.cursor()
    sc.save_scenario(con, "plan A", "ana", "", RECORD)
    with pytest.raises(sc.ScenarioNameError, match=r"a scenario named 'plan A' exists already"):
        sc.save_scenario(con, "  plan A ", "bo", "other", RECORD)  # surrounding spaces do not make it new
    assert sc.count_scenarios(con) == 1
    assert sc.list_scenarios(con)[0]["author"] == "ana"


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "needs a name"),
        ("   ", "needs a name"),
        ("x" * 121, "at most 120 characters; this one has 121"),
        ("two\nlines", "control characters"),
        ("tab\there", "control characters"),
        ("nul\x00", "control characters"),
        (None, "must be text"),
    ],
)
def test_bad_names_are_refused_with_the_reason(store, name, reason):
    con = store.cursor()
    with pytest.raises(sc.ScenarioNameError, match=reason):
        sc.save_scenario(con, name, "", "", RECORD)
    assert sc.count_scenarios(con) == 0


def test_authors_notes_and_records_are_checked(store):
    con = store.cursor()
    with pytest.raises(sc.ScenarioError, match="the author has at most 120 characters"):
        sc.save_scenario(con, "n", "a" * 121, "", RECORD)
    with pytest.raises(sc.ScenarioError, match="the author cannot hold control characters"):
        sc.save_scenario(con, "n", "a\nb", "", RECORD)
    with pytest.raises(sc.ScenarioError, match="record must be a non-empty dict"):
        sc.save_scenario(con, "n", "", "", {})
    with pytest.raises(sc.ScenarioError, match="record must be JSON data"):
        sc.save_scenario(con, "n", "", "", {"x": object()})
    assert sc.count_scenarios(con) == 0
    assert sc.get_scenario(con, sc.save_scenario(con, "n", "", "x" * 4000, RECORD))["note"] == "x" * 4000


def test_rename_keeps_names_unique(store):
    con = store.cursor()
    a = sc.save_scenario(con, "a", "", "", RECORD)
    sc.save_scenario(con, "b", "", "", RECORD)
    assert sc.rename_scenario(con, a, " <i>c</i> ") == "<i>c</i>"
    assert sc.get_scenario(con, a)["name"] == "<i>c</i>"
    with pytest.raises(sc.ScenarioNameError, match="'b' exists already"):
        sc.rename_scenario(con, a, "b")
    assert sc.rename_scenario(con, a, "<i>c</i>") == "<i>c</i>"  # its own name: nothing to do
    with pytest.raises(sc.ScenarioNotFoundError, match="no saved scenario 'scn-missing'"):
        sc.rename_scenario(con, "scn-missing", "d")
    assert sorted(r["name"] for r in sc.list_scenarios(con)) == ["<i>c</i>", "b"]


def test_duplicates_get_free_names_and_the_same_content(store):
    con = store.cursor()
    original = sc.save_scenario(con, "plan", "ana", "note", RECORD)
    copies = [sc.duplicate_scenario(con, original) for _ in range(3)]
    names = [sc.get_scenario(con, c)["name"] for c in copies]
    assert names == ["plan (copy)", "plan (copy 2)", "plan (copy 3)"]
    named = sc.get_scenario(con, sc.duplicate_scenario(con, original, "other"))
    assert (named["author"], named["note"], named["record"]) == ("ana", "note", RECORD)
    with pytest.raises(sc.ScenarioNameError, match="exists already"):
        sc.duplicate_scenario(con, original, "plan")
    long = sc.save_scenario(con, "y" * 120, "", "", RECORD)
    assert sc.get_scenario(con, sc.duplicate_scenario(con, long))["name"] == "y" * 113 + " (copy)"


def test_delete_removes_it_and_says_which(store):
    con = store.cursor()
    keep = sc.save_scenario(con, "keep", "", "", RECORD)
    gone = sc.save_scenario(con, "gone", "", "", RECORD)
    assert sc.delete_scenario(con, gone) == "gone"
    with pytest.raises(sc.ScenarioNotFoundError, match="may have been deleted"):
        sc.get_scenario(con, gone)
    with pytest.raises(sc.ScenarioNotFoundError):
        sc.delete_scenario(con, gone)
    assert [r["scenario_id"] for r in sc.list_scenarios(con)] == [keep]


def test_scenarios_persist_across_connections(db_path):
    with open_store(db_path, load_published_data=False) as s:
        with s.connect() as con:
            sc.save_scenario(con, "kept", "ana", "", RECORD)
    with open_store(db_path, load_published_data=False) as s:
        with s.connect() as con:
            assert [r["name"] for r in sc.list_scenarios(con)] == ["kept"]


def test_a_version_3_database_is_migrated_to_hold_scenarios(db_path):
    assert SCHEMA_VERSION == 5  # v4 added scenarios (v5: DuckDB's runs in two tables)
    with open_store(db_path, load_published_data=False):
        pass
    # make it what a v3 FLOPwise left: no scenarios table
    con = pg.connect(db_path, wait_s=10) if pg.is_url(db_path) else duckdb.connect(str(db_path))
    con.execute("DROP TABLE scenarios")
    con.execute("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    con.close()
    with open_store(db_path, load_published_data=False) as s:
        con = s.cursor()
        assert con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone() == ("5",)
        sc.save_scenario(con, "after migration", "", "", RECORD)
        assert sc.count_scenarios(con) == 1
