"""Saved Plan scenarios in the run store: save, list, get, rename, duplicate and delete.

A scenario is a name (unique, as typed), an author, a note, when it was saved, and its record: a
JSON-safe dict (what :func:`engine.analysis.scenarios.scenario_record` builds: inputs, law and its
constants, device, results). This module keeps every SQL statement on the ``scenarios`` table, in
plain SQL with ``?`` parameters on a connection from :mod:`engine.data.store`, so that another
backend can sit behind the same functions. Each write is one transaction: it happens whole or not.

Names, authors and notes are stored exactly as given (surrounding whitespace of a name aside), so a
name like ``<b>**x**</b>`` stays that text; pages show it as plain text.
"""

from __future__ import annotations

import json
import unicodedata
import uuid
from datetime import UTC, datetime
from typing import Any

from engine.data.store import Connection, transaction
from engine.errors import FlopwiseError

NAME_MAX = 120
AUTHOR_MAX = 120
NOTE_MAX = 4000


class ScenarioError(FlopwiseError, ValueError):
    """A scenario that cannot be saved, found or changed; the message says which and why."""


class ScenarioNameError(ScenarioError):
    """A name that is empty, too long, holds control characters, or is taken."""


class ScenarioNotFoundError(ScenarioError):
    """No saved scenario has that id (deleted meanwhile, perhaps by another user)."""


def _has_control(text: str, *, newlines: bool = False) -> bool:
    return any(unicodedata.category(ch) == "Cc" and not (newlines and ch in "\n\t\r") for ch in text)


def check_name(name: Any) -> str:
    """The name to store: ``name`` without surrounding whitespace, 1 to NAME_MAX characters, no
    control characters (a newline, a tab, NUL); ScenarioNameError saying which rule it breaks."""
    if not isinstance(name, str):
        raise ScenarioNameError(f"a scenario name must be text, got {type(name).__name__}")
    name = name.strip()
    if not name:
        raise ScenarioNameError("a scenario needs a name (1 to 120 characters)")
    if len(name) > NAME_MAX:
        raise ScenarioNameError(
            f"a scenario name has at most {NAME_MAX} characters; this one has {len(name)}"
        )
    if _has_control(name):
        raise ScenarioNameError("a scenario name cannot hold control characters (a newline, a tab)")
    return name


def _check_text(label: str, value: Any, limit: int, *, newlines: bool) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ScenarioError(f"the {label} must be text, got {type(value).__name__}")
    if len(value) > limit:
        raise ScenarioError(f"the {label} has at most {limit:,} characters; this one has {len(value):,}")
    if _has_control(value, newlines=newlines):
        raise ScenarioError(f"the {label} cannot hold control characters")
    return value


def _record_text(record: Any) -> str:
    if not isinstance(record, dict) or not record:
        raise ScenarioError("a scenario's record must be a non-empty dict (inputs, law, device, results)")
    try:
        return json.dumps(record, allow_nan=True)
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"a scenario's record must be JSON data: {exc}") from None


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _taken(con: Connection, name: str) -> bool:
    return con.execute("SELECT 1 FROM scenarios WHERE name = ?", [name]).fetchone() is not None


def _taken_error(name: str) -> ScenarioNameError:
    return ScenarioNameError(f"a scenario named {name!r} exists already; choose another name")


def _insert(con: Connection, name: str, author: str, note: str, record_text: str) -> str:
    scenario_id = f"scn-{uuid.uuid4().hex[:16]}"
    try:
        with transaction(con):
            if _taken(con, name):
                raise _taken_error(name)
            con.execute(
                "INSERT INTO scenarios (scenario_id, name, author, note, created_at, record) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                [scenario_id, name, author, note, _now(), record_text],
            )
    except ScenarioError:
        raise
    except Exception:
        if _taken(con, name):  # another writer took the name between the check and the insert
            raise _taken_error(name) from None
        raise
    return scenario_id


def save_scenario(con: Connection, name: str, author: str, note: str, record: dict) -> str:
    """Save a scenario under a new, unique ``name``; returns its id (``scn-`` and 16 hex digits).

    ScenarioNameError for an empty, over-long or taken name (nothing stored); ScenarioError for an
    author or note that is not text or too long, or a record that is not JSON data."""
    name = check_name(name)
    author = _check_text("author", author, AUTHOR_MAX, newlines=False)
    note = _check_text("note", note, NOTE_MAX, newlines=True)
    return _insert(con, name, author, note, _record_text(record))


def _row(row: tuple) -> dict:
    scenario_id, name, author, note, created_at, record = row
    return {
        "scenario_id": scenario_id,
        "name": name,
        "author": author,
        "note": note,
        "created_at": created_at,
        "record": json.loads(record),
    }


_COLUMNS = "scenario_id, name, author, note, created_at, record"


def list_scenarios(con: Connection) -> list[dict]:
    """Every saved scenario, newest first: scenario_id, name, author, note, created_at (UTC, naive)
    and record (the dict saved)."""
    rows = con.execute(f"SELECT {_COLUMNS} FROM scenarios ORDER BY created_at DESC, name").fetchall()
    return [_row(r) for r in rows]


def get_scenario(con: Connection, scenario_id: str) -> dict:
    """One saved scenario (as ``list_scenarios`` gives each); ScenarioNotFoundError if none has that id."""
    row = con.execute(f"SELECT {_COLUMNS} FROM scenarios WHERE scenario_id = ?", [scenario_id]).fetchone()
    if row is None:
        raise ScenarioNotFoundError(f"no saved scenario {scenario_id!r} (it may have been deleted)")
    return _row(row)


def find_scenario(con: Connection, name: str) -> dict | None:
    """The saved scenario named exactly ``name`` (surrounding whitespace aside), or None."""
    row = con.execute(f"SELECT {_COLUMNS} FROM scenarios WHERE name = ?", [str(name).strip()]).fetchone()
    return None if row is None else _row(row)


def rename_scenario(con: Connection, scenario_id: str, new_name: str) -> str:
    """Give a saved scenario another unique name; returns the name stored. Renaming to its own
    name changes nothing."""
    new_name = check_name(new_name)
    with transaction(con):
        current = get_scenario(con, scenario_id)
        if current["name"] == new_name:
            return new_name
        if _taken(con, new_name):
            raise _taken_error(new_name)
        con.execute("UPDATE scenarios SET name = ? WHERE scenario_id = ?", [new_name, scenario_id])
    return new_name


def copy_name(con: Connection, name: str) -> str:
    """A free name for a copy of ``name``: 'NAME (copy)', else 'NAME (copy 2)', 'NAME (copy 3)'…
    (shortened so that it stays within NAME_MAX)."""
    for k in range(1, 10_000):
        suffix = " (copy)" if k == 1 else f" (copy {k})"
        candidate = name[: NAME_MAX - len(suffix)] + suffix
        if not _taken(con, candidate):
            return candidate
    raise ScenarioNameError(f"no free name for a copy of {name!r}")  # pragma: no cover: 10,000 copies


def duplicate_scenario(con: Connection, scenario_id: str, new_name: str | None = None) -> str:
    """A copy of a saved scenario (author, note and record) under ``new_name`` (default: ``copy_name``),
    saved now; returns the copy's id."""
    original = get_scenario(con, scenario_id)
    name = check_name(new_name) if new_name is not None else copy_name(con, original["name"])
    return _insert(con, name, original["author"], original["note"], _record_text(original["record"]))


def delete_scenario(con: Connection, scenario_id: str) -> str:
    """Delete a saved scenario; returns the name it had. ScenarioNotFoundError if there is none."""
    with transaction(con):
        name = get_scenario(con, scenario_id)["name"]
        con.execute("DELETE FROM scenarios WHERE scenario_id = ?", [scenario_id])
    return name


def count_scenarios(con: Connection) -> int:
    row = con.execute("SELECT count(*) FROM scenarios").fetchone()
    return int(row[0]) if row else 0
