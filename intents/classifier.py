"""The service classifier: a spaCy pipeline component mapping a message to a service code with a calibrated
confidence and the next best alternatives.

The component is a linear model over TF-IDF–weighted features (``intents.features``) whose scores are
turned into probabilities by a softmax with a temperature fitted on cross-validated, held-out scores
(``intents.calibration``): among messages given confidence c, about c of them are right. It sets
``doc.cats`` to those probabilities, so it composes with anything else that reads spaCy's ``cats``.

The weights are plain arrays serialised beside the pipeline (``service_classifier/weights.npz`` and
``vocabulary.json``), not pickles: loading a model never runs code from the model directory. A model trained
with the sentence encoder holds a copy of its ONNX graph and tokenizer there too, checked by sha256 on load.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from spacy.language import Language
from spacy.tokens import Doc

from intents.encoder import EncoderError, SentenceEncoder, sha256_file
from intents.features import Reading, pair_features, read_message, token_features, words
from intents.keywords import keyword_cues
from intents.types import Prediction

COMPONENT_NAME = "service_classifier"
OTHER = "other"
ALTERNATIVES = 3
_WEIGHTS_FILE = "weights.npz"
_VOCABULARY_FILE = "vocabulary.json"
# Words whose feature indices are remembered: all of Boston's 188,000 pool messages use 33,000 distinct words
# (digits folded), and an entry costs about 300 bytes (the indices are the vocabulary's own int objects).
_TOKEN_CACHE_SIZE = 50_000

FloatArray = npt.NDArray[np.float32]
# Arrays a loaded model keeps in float16 (see LinearTextModel.load).
_KEPT_HALF = frozenset({"idf", "coef", "embeddings", "static_table", "shortcut_coef"})


@dataclass(frozen=True, slots=True)
class _Features:
    """The blocks of one message every head reads (the sentence encoder's are computed only when needed)."""

    indices: list[int]  # sparse TF-IDF features present
    values: FloatArray
    embedded: FloatArray  # word2vec average
    static: FloatArray  # MiniLM-distilled word table sum
    cues: FloatArray  # guide cue indicators


@dataclass
class Shortcut:
    """The same linear model without the sentence encoder's blocks (the encoder embedding and the guide
    prior), trained and calibrated on its own. A message it is at least ``threshold`` sure of is answered
    without running the encoder, which takes most of a message's time (only in English: a message read
    through its Spanish or Chinese gloss always gets the whole model). Training sets ``threshold`` to the
    lowest confidence above which, in cross-validation, the shortcut's answers were right at least as often
    as the whole model's on the same messages (``intents.training``), so it costs no right answer there."""

    coef: FloatArray  # (n_features, n_classes), float16 once loaded: it is read a few rows at a time
    intercept: FloatArray  # (n_classes,)
    embedding_coef: FloatArray  # (dim, n_classes)
    static_coef: FloatArray  # (static_dim, n_classes)
    cue_coef: FloatArray  # (n_cues, n_classes)
    temperature: float
    threshold: float

    def probabilities(self, features: _Features) -> FloatArray:
        scores = _linear_scores(
            features, self.intercept, self.coef, self.embedding_coef, self.static_coef, self.cue_coef
        )
        return softmax(scores, self.temperature)


def _linear_scores(
    features: _Features,
    intercept: FloatArray,
    coef: FloatArray,
    embedding_coef: FloatArray,
    static_coef: FloatArray,
    cue_coef: FloatArray,
) -> FloatArray:
    """The scores of every block but the encoder's, under one head's weights (the whole model's or the
    shortcut's)."""
    scores = intercept + features.embedded @ embedding_coef + features.static @ static_coef
    scores = scores + features.cues @ cue_coef
    if features.indices:
        scores = scores + features.values @ coef[features.indices].astype(np.float32, copy=False)
    return np.asarray(scores, dtype=np.float32)


@dataclass
class LinearTextModel:
    """Sparse TF-IDF features plus two dense sums of word vectors (word2vec learnt from the pool; a static
    table distilled from MiniLM), the MiniLM sentence embedding itself and its cosines to the guide's example
    messages → per-class scores → temperature softmax. Trained by ``intents.training``."""

    classes: list[str]
    vocabulary: dict[str, int]
    idf: FloatArray  # (n_features,)
    coef: FloatArray  # (n_features, n_classes)
    intercept: FloatArray  # (n_classes,)
    # Word vectors learnt from the unlabelled pool, each already multiplied by its word's IDF weight.
    embedding_vocabulary: dict[str, int]
    embeddings: FloatArray  # (n_words, dim)
    embedding_coef: FloatArray  # (dim, n_classes), the dense features' weight folded in
    # Rows of the MiniLM-distilled word table (``intents/data/minilm_words_128.npz``; SIF weighting already
    # folded in). Empty (0 words, 0 dims) for a model trained without it.
    static_vocabulary: dict[str, int]
    static_table: FloatArray  # (n_static_words, static_dim)
    static_coef: FloatArray  # (static_dim, n_classes), the table's weight folded in
    # One indicator per service code whose guide cue words occur (``intents.keywords``), outside TF-IDF so
    # that a cue counts as much in a long message as in a short one.
    cue_codes: list[str]
    cue_coef: FloatArray  # (n_cues, n_classes), the indicators' weight folded in
    temperature: float = 1.0
    # The temperature of a message read through its Spanish or Chinese gloss alone (``Reading.gloss_only``):
    # a few keywords make the scores look surer than they are. None for a model trained before it existed.
    gloss_temperature: float | None = None
    # The (fine-tuned) MiniLM sentence encoder (``intents.encoder``) and the weights of its 384 numbers; None
    # for a model trained without it (``TrainingConfig(encoder=None)``, or before it existed).
    encoder: SentenceEncoder | None = None
    encoder_coef: FloatArray | None = None  # (encoder.dim, n_classes), the block's weight folded in
    # The guide prior: the encoder's embeddings of short example messages written from the labelling guide
    # (``intents.keywords.GUIDE_EXAMPLES``), grouped by code in ``prior_codes`` order, ``prior_counts`` of
    # each. A message's cosine to the closest example of each code is one feature per code. Empty for a
    # model trained without the encoder or without the prior.
    prior_codes: list[str] = field(default_factory=list)
    prior_counts: list[int] = field(default_factory=list)
    prior_examples: FloatArray | None = None  # (sum(prior_counts), encoder.dim)
    prior_coef: FloatArray | None = None  # (len(prior_codes), n_classes), the block's weight folded in
    # Answers the messages it is sure of without the encoder (None: every message gets the whole model).
    shortcut: Shortcut | None = None
    _token_cache: dict[str, tuple[int, ...]] = field(default_factory=dict, repr=False, compare=False)

    def vectorize(self, text: str) -> tuple[list[int], FloatArray]:
        """Indices and values of the message's l2-normalised sublinear TF-IDF vector (as sklearn has it)."""
        return self._vectorize(words(read_message(text).glossed))

    def _token_indices(self, token: str) -> tuple[int, ...]:
        indices = self._token_cache.get(token)
        if indices is None:
            if len(self._token_cache) >= _TOKEN_CACHE_SIZE:
                self._token_cache.clear()  # unbounded input must not mean unbounded memory
            vocabulary = self.vocabulary
            indices = tuple(i for name in token_features(token) if (i := vocabulary.get(name)) is not None)
            self._token_cache[token] = indices
        return indices

    def _vectorize(self, tokens: list[str]) -> tuple[list[int], FloatArray]:
        counts: Counter[int] = Counter()
        for token in tokens:
            counts.update(self._token_indices(token))
        vocabulary = self.vocabulary
        counts.update(i for name in pair_features(tokens) if (i := vocabulary.get(name)) is not None)
        if not counts:
            return [], np.zeros(0, dtype=np.float32)
        indices = list(counts)
        tf = 1.0 + np.log(np.fromiter(counts.values(), dtype=np.float32, count=len(indices)))
        values = (tf * self.idf[indices]).astype(np.float32)
        values /= np.float32(np.linalg.norm(values))
        return indices, values

    def embed(self, text: str) -> FloatArray:
        """The unit-length IDF-weighted mean of the message's word vectors (zeros when none is known)."""
        return embed_words(words(read_message(text).glossed), self.embedding_vocabulary, self.embeddings)

    def cues(self, text: str) -> FloatArray:
        return cue_indicators(text, self.cue_codes)

    def scores(self, text: str) -> FloatArray:
        """The whole model's scores (never the shortcut's)."""
        reading = read_message(text)
        return self._scores(reading, self._features(reading))

    def _features(self, reading: Reading) -> _Features:
        # The gloss and the tokens are computed once and shared by the kinds of features.
        tokens = words(reading.glossed)
        indices, values = self._vectorize(tokens)
        return _Features(
            indices,
            values,
            embed_words(tokens, self.embedding_vocabulary, self.embeddings),
            # The English-only table reads the whole message (place included) or, not in English, its gloss.
            embed_words(words(reading.english), self.static_vocabulary, self.static_table),
            _indicators(keyword_cues(reading.glossed), self.cue_codes),
        )

    def _scores(self, reading: Reading, features: _Features) -> FloatArray:
        scores = _linear_scores(
            features, self.intercept, self.coef, self.embedding_coef, self.static_coef, self.cue_coef
        )
        if self.encoder is not None and self.encoder_coef is not None:
            sentence = self.encoder.embed(reading.english)
            scores = scores + sentence @ self.encoder_coef
            if self.prior_examples is not None and self.prior_coef is not None:
                scores = (
                    scores + guide_prior(sentence, self.prior_examples, self.prior_counts) @ self.prior_coef
                )
        return np.asarray(scores, dtype=np.float32)

    def probabilities(self, text: str) -> FloatArray:
        reading = read_message(text)
        features = self._features(reading)
        quick = self._sure_shortcut(reading, features)
        if quick is not None:
            return quick
        temperature = self.temperature
        if reading.gloss_only and self.gloss_temperature is not None:
            temperature = self.gloss_temperature
        return softmax(self._scores(reading, features), temperature)

    def takes_shortcut(self, text: str) -> bool:
        """Whether ``text`` is answered by the shortcut, without the sentence encoder."""
        reading = read_message(text)
        return self._sure_shortcut(reading, self._features(reading)) is not None

    def _sure_shortcut(self, reading: Reading, features: _Features) -> FloatArray | None:
        """The shortcut's probabilities when it is sure enough of this message (None otherwise)."""
        shortcut = self.shortcut
        if shortcut is None or reading.gloss_only:
            return None
        quick = shortcut.probabilities(features)
        return quick if float(quick.max()) >= shortcut.threshold else None

    def save(self, directory: Path) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        meta = {
            "classes": self.classes,
            "temperature": self.temperature,
            "gloss_temperature": self.gloss_temperature,
            "terms": _ordered(self.vocabulary),
            "embedding_words": _ordered(self.embedding_vocabulary),
            "static_words": _ordered(self.static_vocabulary),
            "cue_codes": self.cue_codes,
        }
        arrays: dict[str, Any] = {}
        if self.encoder is not None and self.encoder_coef is not None:
            meta["encoder"] = _copy_encoder(self.encoder, directory)
            arrays["encoder_coef"] = self.encoder_coef.astype(np.float32)
        if self.prior_examples is not None and self.prior_coef is not None:
            meta["prior_codes"] = self.prior_codes
            meta["prior_counts"] = self.prior_counts
            arrays["prior_examples"] = self.prior_examples.astype(np.float32)
            arrays["prior_coef"] = self.prior_coef.astype(np.float32)
        if self.shortcut is not None:
            meta["shortcut"] = {
                "temperature": self.shortcut.temperature,
                "threshold": self.shortcut.threshold,
            }
            arrays["shortcut_coef"] = self.shortcut.coef.astype(np.float16)
            for name in ("intercept", "embedding_coef", "static_coef", "cue_coef"):
                arrays[f"shortcut_{name}"] = getattr(self.shortcut, name).astype(np.float32)
        (directory / _VOCABULARY_FILE).write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        # float16 halves the shipped size; the scores it changes are far below the calibration's precision.
        np.savez_compressed(
            directory / _WEIGHTS_FILE,
            idf=self.idf.astype(np.float16),
            coef=self.coef.astype(np.float16),
            intercept=self.intercept.astype(np.float32),
            embeddings=self.embeddings.astype(np.float16),
            embedding_coef=self.embedding_coef.astype(np.float32),
            static_table=self.static_table.astype(np.float16),
            static_coef=self.static_coef.astype(np.float32),
            cue_coef=self.cue_coef.astype(np.float32),
            **arrays,
        )

    @classmethod
    def load(cls, directory: Path) -> LinearTextModel:
        meta = json.loads((directory / _VOCABULARY_FILE).read_text(encoding="utf-8"))
        with np.load(directory / _WEIGHTS_FILE, allow_pickle=False) as arrays:
            # The large tables stay float16, as stored (half the memory: about 12 MB); a message reads a few
            # of their rows, widened to float32 there, so the scores are those of float32 copies exactly.
            loaded = {
                name: arrays[name] if name in _KEPT_HALF else arrays[name].astype(np.float32)
                for name in arrays.files
            }
        terms: list[str] = meta["terms"]
        n_classes = len(meta["classes"])
        embedding_terms: list[str] = meta["embedding_words"]
        # A model trained without the static table (before it existed, or with ``static_table=None``).
        static_terms: list[str] = meta.get("static_words", [])
        loaded.setdefault("static_table", np.zeros((0, 0), dtype=np.float32))
        loaded.setdefault("static_coef", np.zeros((0, n_classes), dtype=np.float32))
        expected = {
            "idf": (len(terms),),
            "coef": (len(terms), n_classes),
            "intercept": (n_classes,),
            "embeddings": (len(embedding_terms), loaded["embedding_coef"].shape[0]),
            "embedding_coef": (loaded["embeddings"].shape[1], n_classes),
            "static_table": (len(static_terms), loaded["static_coef"].shape[0]),
            "static_coef": (loaded["static_table"].shape[1], n_classes),
            "cue_coef": (len(meta["cue_codes"]), n_classes),
        }
        encoder = _load_encoder(directory, meta.get("encoder"))
        if encoder is not None:
            expected["encoder_coef"] = (encoder.dim, n_classes)
        # A model trained without the guide prior (or before it existed) has none of its arrays.
        prior_codes: list[str] = meta.get("prior_codes", [])
        prior_counts: list[int] = [int(n) for n in meta.get("prior_counts", [])]
        has_prior = encoder is not None and "prior_coef" in loaded
        if has_prior:
            assert encoder is not None
            expected["prior_examples"] = (sum(prior_counts), encoder.dim)
            expected["prior_coef"] = (len(prior_codes), n_classes)
        shortcut_meta = meta.get("shortcut")
        if shortcut_meta is not None:
            for name in ("coef", "intercept", "embedding_coef", "static_coef", "cue_coef"):
                expected[f"shortcut_{name}"] = expected[name]
        for name, shape in expected.items():
            if name not in loaded:
                raise ValueError(f"{directory}: {name} is missing from {_WEIGHTS_FILE}")
            if loaded[name].shape != shape:
                raise ValueError(f"{directory}: {name} has shape {loaded[name].shape}, expected {shape}")
        shortcut = (
            Shortcut(
                coef=np.ascontiguousarray(loaded["shortcut_coef"]),
                intercept=loaded["shortcut_intercept"],
                embedding_coef=loaded["shortcut_embedding_coef"],
                static_coef=loaded["shortcut_static_coef"],
                cue_coef=loaded["shortcut_cue_coef"],
                temperature=float(shortcut_meta["temperature"]),
                threshold=float(shortcut_meta["threshold"]),
            )
            if shortcut_meta is not None
            else None
        )
        return cls(
            classes=list(meta["classes"]),
            vocabulary={term: index for index, term in enumerate(terms)},
            idf=loaded["idf"],
            coef=np.ascontiguousarray(loaded["coef"]),
            intercept=loaded["intercept"],
            embedding_vocabulary={term: index for index, term in enumerate(embedding_terms)},
            embeddings=np.ascontiguousarray(loaded["embeddings"]),
            embedding_coef=loaded["embedding_coef"],
            static_vocabulary={term: index for index, term in enumerate(static_terms)},
            static_table=np.ascontiguousarray(loaded["static_table"]),
            static_coef=loaded["static_coef"],
            cue_codes=list(meta["cue_codes"]),
            cue_coef=loaded["cue_coef"],
            temperature=float(meta["temperature"]),
            gloss_temperature=_optional_float(meta.get("gloss_temperature")),
            encoder=encoder,
            encoder_coef=loaded.get("encoder_coef") if encoder is not None else None,
            prior_codes=prior_codes if has_prior else [],
            prior_counts=prior_counts if has_prior else [],
            prior_examples=np.ascontiguousarray(loaded["prior_examples"]) if has_prior else None,
            prior_coef=loaded["prior_coef"] if has_prior else None,
            shortcut=shortcut,
        )


def _copy_encoder(encoder: SentenceEncoder, directory: Path) -> dict[str, Any]:
    """Copies the encoder's files into the model directory (so it is self-contained); their record."""
    record: dict[str, Any] = {"max_tokens": encoder.max_tokens, "sha256": {}}
    for key, source in (("onnx", encoder.onnx_path), ("tokenizer", encoder.tokenizer_path)):
        target = directory / source.name
        if source.resolve() != target.resolve():
            shutil.copyfile(source, target)
        record[key] = source.name
        record["sha256"][source.name] = sha256_file(target)
    return record


def _load_encoder(directory: Path, record: dict[str, Any] | None) -> SentenceEncoder | None:
    """The encoder a model was trained with, from its own directory, checked against the recorded sha256s."""
    if record is None:
        return None
    paths = {key: directory / str(record[key]) for key in ("onnx", "tokenizer")}
    for path in paths.values():
        if not path.is_file():
            raise EncoderError(f"{directory}: the model's encoder file {path.name} is missing")
        if sha256_file(path) != record["sha256"][path.name]:
            raise EncoderError(f"{path}: not the encoder the model was trained with (sha256 differs)")
    return SentenceEncoder(paths["onnx"], paths["tokenizer"], int(record["max_tokens"]))


def _ordered(vocabulary: dict[str, int]) -> list[str]:
    terms = [""] * len(vocabulary)
    for term, index in vocabulary.items():
        terms[index] = term
    return terms


def cue_indicators(text: str, codes: Sequence[str]) -> FloatArray:
    """1 for each of ``codes`` whose cue words occur in the message (read with its English gloss, without
    its place: "Snow Hill St" is no snow)."""
    return _indicators(keyword_cues(read_message(text).glossed), codes)


def guide_prior(sentence: FloatArray, examples: FloatArray, counts: Sequence[int]) -> FloatArray:
    """For each code, the cosine between the message's (unit-length) embedding and the closest of that
    code's guide examples (``examples`` grouped by code, ``counts`` of each, all unit-length)."""
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.intp)
    return np.asarray(np.maximum.reduceat(examples @ sentence, starts), dtype=np.float32)


def _indicators(found: Sequence[str], codes: Sequence[str]) -> FloatArray:
    present = set(found)
    return np.array([code in present for code in codes], dtype=np.float32)


def embed_words(tokens: Sequence[str], vocabulary: dict[str, int], embeddings: FloatArray) -> FloatArray:
    """The unit-length sum of the (IDF-weighted) vectors of the known ``tokens``; zeros when none is known."""
    indices = [index for token in tokens if (index := vocabulary.get(token)) is not None]
    if not indices:
        return np.zeros(embeddings.shape[1], dtype=np.float32)
    total = embeddings[indices].astype(np.float32, copy=False).sum(axis=0)
    norm = float(np.linalg.norm(total))
    return np.asarray(total / norm if norm > 0 else total, dtype=np.float32)


def _optional_float(value: Any) -> float | None:
    return None if value is None else float(value)


def softmax(scores: FloatArray, temperature: float = 1.0) -> FloatArray:
    scaled = scores.astype(np.float64) / temperature
    scaled -= scaled.max(axis=-1, keepdims=True)
    exp = np.exp(scaled)
    return np.asarray(exp / exp.sum(axis=-1, keepdims=True), dtype=np.float32)


class ServiceClassifier:
    """The spaCy component: sets ``doc.cats`` to the calibrated probability of each service code."""

    def __init__(self, nlp: Language, name: str = COMPONENT_NAME) -> None:
        self.name = name
        self.model: LinearTextModel | None = None

    @property
    def labels(self) -> tuple[str, ...]:
        """The service codes it predicts (spaCy lists them in the pipeline's meta)."""
        return tuple(self.model.classes) if self.model is not None else ()

    def __call__(self, doc: Doc) -> Doc:
        if self.model is None:
            raise ValueError(f"the {self.name} component has no trained model: train one or load a model")
        probabilities = self.model.probabilities(doc.text)
        doc.cats = {code: float(p) for code, p in zip(self.model.classes, probabilities, strict=True)}
        return doc

    def pipe(self, stream: Iterable[Doc], *, batch_size: int = 128) -> Iterable[Doc]:
        for doc in stream:
            yield self(doc)

    def to_disk(self, path: str | Path, *, exclude: Sequence[str] = ()) -> None:
        if self.model is None:
            raise ValueError(f"the {self.name} component has no trained model to save")
        self.model.save(Path(path))

    def from_disk(self, path: str | Path, *, exclude: Sequence[str] = ()) -> ServiceClassifier:
        self.model = LinearTextModel.load(Path(path))
        return self


@Language.factory(COMPONENT_NAME)
def make_service_classifier(nlp: Language, name: str) -> ServiceClassifier:
    return ServiceClassifier(nlp, name)


def prediction_from_cats(cats: dict[str, float], alternatives: int = ALTERNATIVES) -> Prediction:
    """The best code, its confidence and the next best ``alternatives`` codes, best first."""
    ranked = sorted(cats.items(), key=lambda item: (-item[1], item[0]))
    best_code, best = ranked[0]
    return Prediction(
        service_code=best_code,
        confidence=round(best, 4),
        alternatives=tuple((code, round(p, 4)) for code, p in ranked[1 : 1 + alternatives]),
    )


def build_nlp(model: LinearTextModel, meta: dict[str, Any]) -> Language:
    """A blank pipeline (the tokenizer is language-neutral enough for en/es) with the trained classifier."""
    import spacy

    nlp = spacy.blank("en")
    component = nlp.add_pipe(COMPONENT_NAME)
    assert isinstance(component, ServiceClassifier)
    component.model = model
    nlp.meta.update(meta)
    return nlp
