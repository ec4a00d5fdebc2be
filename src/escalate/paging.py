"""Reading cases page by page: `Desk.cases` returns an iterator built here."""

from __future__ import annotations

from collections.abc import Iterator

import attrs

from .model import Case
from .stores.base import CaseQuery, Store

__all__ = ["PAGE_SIZE", "pages"]

#: How many cases one store read returns while iterating.
PAGE_SIZE = 500


def pages(store: Store, query: CaseQuery, page_size: int = PAGE_SIZE) -> Iterator[Case]:
    """Every case matching `query`, oldest first, read from `store` one page at a time.

    Each page is one `Store.find` call whose `after` is the last id of the page before, so
    cases opened while iterating appear at the end and no case is returned twice.
    """
    left = query.limit
    after = query.after
    while left is None or left > 0:
        size = page_size if left is None else min(page_size, left)
        page = store.find(attrs.evolve(query, after=after, limit=size))
        yield from page
        if len(page) < size:
            return
        after = page[-1].id
        if left is not None:
            left -= len(page)
