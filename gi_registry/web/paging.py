"""Page numbers from the query string, bounded."""

from dataclasses import dataclass
from datetime import date
from math import ceil

from flask import current_app, request


def page_args(max_per_page: int = 200) -> tuple[int, int]:
    page = request.args.get("page", 1, type=int) or 1
    per_page = request.args.get("per_page", current_app.config["PER_PAGE"], type=int) or current_app.config["PER_PAGE"]
    return max(page, 1), min(max(per_page, 1), max_per_page)


def date_arg(name: str) -> date | None:
    """A YYYY-MM-DD query argument, or None when it is missing or malformed."""
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return None


@dataclass
class Pagination:
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(ceil(self.total / self.per_page), 1)
