"""Meeting-opener check-ins (stub: being written)."""

from __future__ import annotations
