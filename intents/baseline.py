"""The yardstick ``open311-bot eval`` prints next to the model: TF-IDF word features + logistic regression,
trained on the same labelled training split and scored on the same file in the same run."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline

from intents.evaluation import Example


class Baseline:
    def __init__(self, seed: int = 13) -> None:
        self._model: Pipeline = make_pipeline(
            TfidfVectorizer(sublinear_tf=True), LogisticRegression(C=10.0, max_iter=2000, random_state=seed)
        )

    def fit(self, examples: Sequence[Example]) -> Baseline:
        if len({e.service_code for e in examples}) < 2:
            raise ValueError("the baseline needs examples of at least two service codes")
        self._model.fit([e.text for e in examples], [e.service_code for e in examples])
        return self

    def predict(self, texts: Sequence[str]) -> tuple[list[str], list[float]]:
        """The best code and its probability for each text."""
        probabilities = self._model.predict_proba(list(texts))
        classes = self._model.classes_
        best = probabilities.argmax(axis=1)
        return [str(classes[i]) for i in best], [float(p) for p in np.max(probabilities, axis=1)]
