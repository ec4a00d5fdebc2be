"""Management reports: the names of escalate.reporting, importable as escalate.report too."""

from __future__ import annotations

from . import reporting as _reporting
from .reporting import *  # noqa: F403 - the same public names, one list to keep

__all__ = _reporting.__all__
