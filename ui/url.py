"""URL-bound widgets that say when a shared link's value cannot be used.

Streamlit drops a query parameter its widget cannot take (out of range, not an option) and shows
the widget's default without a word. ``LinkCheck`` reads the raw parameter first, creates the
widget bound to the URL under its key, and collects a notice naming the parameter, the value
the link gave and the value used instead; ``show()`` puts the notices at the top of the page.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import streamlit as st

from engine.errors import number_problem
from ui.format import plain

BOUND = {"bind": "query-params"}


class LinkCheck:
    """Creates URL-bound widgets (``where`` is ``st`` or a column) and collects link notices."""

    def __init__(self) -> None:
        self.area = st.container()
        self.notices: list[str] = []

    def _raw(self, key: str) -> str | None:
        values = st.query_params.get_all(key)
        return values[0] if values else None

    def _note(self, key: str, raw: str, problem: str, used: Any) -> None:
        # the value itself ('23.76', '1,024'), not rounded to three figures
        shown = f"{used:,g}" if isinstance(used, (int, float)) and not isinstance(used, bool) else str(used)
        self.notices.append(f"The link's {key} = {plain(repr(raw))} {problem}; using {plain(shown)} instead.")

    def _check_number(self, key: str, lo: float, hi: float, value: Any) -> None:
        raw = self._raw(key)
        if raw is not None and (problem := number_problem(raw, lo, hi, low_inclusive=True, text=True)):
            self._note(key, raw, problem, st.session_state.get(key, value))

    def _check_option(self, key: str, options: Sequence[Any], fallback: Any) -> None:
        raw = self._raw(key)
        if raw is not None and raw not in {str(o) for o in options}:
            self._note(key, raw, "is not one of the choices", st.session_state.get(key, fallback))

    def slider(
        self,
        where: Any,
        label: str,
        lo: float,
        hi: float,
        value: float,
        step: float | None = None,
        *,
        key: str,
        **kwargs: Any,
    ) -> Any:
        self._check_number(key, lo, hi, value)
        return where.slider(label, lo, hi, value, step, key=key, **BOUND, **kwargs)

    def number_input(
        self,
        where: Any,
        label: str,
        lo: float,
        hi: float,
        value: float,
        step: float | None = None,
        *,
        key: str,
        **kwargs: Any,
    ) -> Any:
        self._check_number(key, lo, hi, value)
        return where.number_input(label, lo, hi, value, step, key=key, **BOUND, **kwargs)

    def selectbox(
        self, where: Any, label: str, options: Sequence[Any], *, key: str, index: int = 0, **kwargs: Any
    ) -> Any:
        self._check_option(key, options, options[index] if options else None)
        return where.selectbox(label, options, index=index, key=key, **BOUND, **kwargs)

    def radio(
        self, where: Any, label: str, options: Sequence[Any], *, key: str, index: int = 0, **kwargs: Any
    ) -> Any:
        self._check_option(key, options, options[index])
        return where.radio(label, options, index=index, key=key, **BOUND, **kwargs)

    def select_slider(
        self,
        where: Any,
        label: str,
        options: Sequence[Any],
        *,
        key: str,
        value: Any,
        format_func: Any = str,
        **kwargs: Any,
    ) -> Any:
        """The URL holds the option's label (``format_func`` of it), so the check compares labels."""
        raw = self._raw(key)
        if raw is not None and raw not in {str(format_func(o)) for o in options}:
            self._note(key, raw, "is not one of the choices", format_func(st.session_state.get(key, value)))
        return where.select_slider(
            label, options, value=value, format_func=format_func, key=key, **BOUND, **kwargs
        )

    def note(self, text: str) -> None:
        """A notice of the page's own (e.g. a link's scenario B that cannot be read)."""
        self.notices.append(text)

    def show(self) -> None:
        for text in self.notices:
            self.area.warning(text, icon="🔗")
