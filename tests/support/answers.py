"""Answers to a service's required questions, so a test can file a request of any service in the catalog."""

from __future__ import annotations

from bot.runtime import Runtime


def required_answers(runtime: Runtime, code: str) -> dict[str, str | list[str]]:
    """The first listed value (or "3" for a free answer) for each required question of ``code``."""
    answers: dict[str, str | list[str]] = {}
    for attribute in runtime.open311.get_service_definition(code).attributes:
        if attribute.required and attribute.variable:
            first = attribute.values[0].key if attribute.values else "3"
            answers[attribute.code] = [first] if attribute.datatype == "multivaluelist" else first
    return answers
