"""The page registry: one module per page in this folder (not named `pages`, which Streamlit would
run as a legacy multipage app), listed here in the sidebar's order.

A page module defines `render()` and ends with `if __name__ == "__main__": widgets.run_page(render)`
(Streamlit runs a page file as `__main__`). Adding a page is its module plus one line below.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageSpec:
    file: str  # relative to the dashboard package
    title: str  # text key
    icon: str
    url_path: str


PAGES: tuple[PageSpec, ...] = (
    PageSpec("views/overview.py", "page.overview", ":material/dashboard:", "overview"),
    PageSpec("views/markets.py", "page.markets", ":material/candlestick_chart:", "markets"),
    PageSpec("views/news.py", "page.news", ":material/newspaper:", "news"),
    PageSpec("views/models.py", "page.models", ":material/model_training:", "models"),
    PageSpec("views/trading.py", "page.trading", ":material/account_balance_wallet:", "trading"),
    PageSpec("views/automation.py", "page.automation", ":material/schedule:", "automation"),
    PageSpec("views/settings.py", "page.settings", ":material/tune:", "settings"),
    PageSpec("views/reports.py", "page.reports", ":material/description:", "reports"),
    PageSpec("views/replay.py", "page.replay", ":material/history:", "replay"),
    PageSpec("views/memory.py", "page.memory", ":material/menu_book:", "memory"),
)
