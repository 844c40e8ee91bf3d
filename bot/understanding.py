"""The intents pipeline as configured: the one place that turns ``[intents]`` settings into a Pipeline.

Both the running bot (``bot.messaging``) and the ``train | eval | classify`` commands load it from here.
This module stays light (spaCy and the model load inside the call), so ``open311-bot classify`` does not
pay for the web app or the database layer at start-up.
"""

from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from bot.config import IntentsSettings

if TYPE_CHECKING:
    from intents.pipeline import Pipeline

log = logging.getLogger(__name__)


def pipeline_from_settings(intents: IntentsSettings, model_path: Path | None = None) -> Pipeline:
    """The pipeline for these settings (``model_path`` overrides the configured one); loaded once per
    process for the same settings and shared, since it is read-only."""
    geocoder = intents.geocoder
    south, west, north, east = geocoder.boundary
    return _load_pipeline(
        model_path or intents.model_path,
        geocoder.provider,
        # The options dict is not hashable: the cache keys on its canonical JSON.
        json.dumps(geocoder.options, sort_keys=True),
        geocoder.api_key.get_secret_value() if geocoder.api_key else None,
        geocoder.min_delay_seconds,
        geocoder.cache_size,
        (south, west, north, east),
        intents.auto_file_threshold,
        geocoder.boundary_file,
        intents.street_names_file,
        geocoder.city,
    )


@lru_cache(maxsize=4)
def _load_pipeline(
    model_path: Path | None,
    provider: str,
    options_json: str,
    api_key: str | None,
    min_delay_seconds: float,
    cache_size: int,
    boundary: tuple[float, float, float, float],
    auto_file_threshold: float | None,
    limits_file: Path | None,
    street_names_file: Path | None,
    city: str | None,
) -> Pipeline:
    from intents.pipeline import SHIPPED_MODEL_DIR, load_pipeline

    pipeline = load_pipeline(
        model_path,
        geocoder_provider=provider,
        geocoder_options=json.loads(options_json),
        geocoder_api_key=api_key,
        min_delay_seconds=min_delay_seconds,
        cache_size=cache_size,
        boundary=boundary,
        auto_file_threshold=auto_file_threshold,
        limits_file=limits_file,
        street_names_file=street_names_file,
        geocoder_city=city,
    )
    # Which model answers residents is the first thing to know when its answers change after a deploy.
    meta = pipeline.nlp.meta.get("open311", {})
    figures = meta.get("cross_validation", {})
    log.info(
        "model %s (version %s; trained on %s labelled messages and %s added ones: pool labels, corrections;"
        " cross-validated macro-F1 %s); auto-filing at confidence %.3f; geocoder %s",
        model_path or f"{SHIPPED_MODEL_DIR} (shipped)",
        pipeline.nlp.meta.get("version", "?"),
        meta.get("training_examples", "?"),
        meta.get("added_examples", 0),
        f"{figures['macro_f1']:.3f}" if "macro_f1" in figures else "?",
        pipeline.auto_file_threshold,
        provider,
    )
    return pipeline
