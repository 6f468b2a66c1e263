"""The app's pages, in menu order. app.py builds st.navigation from this list, and the smoke
test runs every entry, so a page added here is tested without further work."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

# Pages live in app_pages/, not pages/: a pages/ folder beside the main script switches
# Streamlit to its legacy multipage mode for the first session after a server start.
PAGES_DIR = Path(__file__).resolve().parent.parent / "app_pages"


@dataclass(frozen=True)
class PageSpec:
    file: str
    title: str
    icon: str
    url_path: str
    default: bool = False

    @property
    def path(self) -> Path:
        return PAGES_DIR / self.file


# Streamlit serves the default page only at "/", yet reserves its url_path; so the home page is
# registered under HOME_ALIAS for "/" and once more, hidden from the menu, under its own path
# (/plan), so that a link to /plan opens it too.
HOME_ALIAS = "home"

# Icons are Material Symbols, a font Streamlit serves itself: emoji depend on the reader's fonts
# (Debian's chromium without an emoji font draws them as empty boxes).


PAGES = (
    PageSpec("plan.py", "Plan", ":material/explore:", "plan", default=True),
    PageSpec("scenarios.py", "Scenarios", ":material/bookmarks:", "scenarios"),
    PageSpec("scaling.py", "Scaling laws", ":material/show_chart:", "scaling"),
    PageSpec("precision.py", "Precision", ":material/tune:", "precision"),
    PageSpec("moe.py", "Mixture of experts", ":material/hub:", "moe"),
    PageSpec("inference.py", "Inference", ":material/speed:", "inference"),
    PageSpec("runs.py", "Runs", ":material/science:", "runs"),
    PageSpec("hardware.py", "Hardware", ":material/memory:", "hardware"),
    PageSpec("methodology.py", "Methodology", ":material/functions:", "methodology"),
)
