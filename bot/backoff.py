"""Exponential backoff, capped, with optional jitter: the one delay rule for everything retried (the outbox's
sends, submissions to a remote city)."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    first_seconds: float = 2.0
    factor: float = 2.0
    max_seconds: float = 600.0
    # Each delay is spread by up to this fraction so that many retries do not hit the city in step.
    jitter: float = 0.2

    def delay(self, attempt: int, *, rng: random.Random | None = None) -> float:
        """Seconds to wait after the ``attempt``-th failure (1 = the first failure)."""
        base = min(self.max_seconds, self.first_seconds * self.factor ** max(0, attempt - 1))
        spread = (rng or random).uniform(-self.jitter, self.jitter) if self.jitter else 0.0
        return max(0.0, base * (1.0 + spread))
