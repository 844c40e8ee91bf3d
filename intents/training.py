"""Training the service classifier, reproducibly.

From ``DATA/boston311/labelled.csv`` (less the held-out split, ``intents.splits``), the unlabelled pool
``DATA/boston311/unlabelled.csv.gz`` when present, and any operator corrections (CSV or JSON lines with
``text`` and ``service_code``):

1. word vectors are learnt from the whole pool (gensim word2vec, one worker and a fixed seed: the same
   vectors every run), so words the labelled data never saw still land near the ones it did;
2. the TF-IDF vocabulary and weights are fitted on the labelled texts and a fixed sample of the pool;
3. a linear SVM over those, the word-vector average, the static MiniLM word table's sum (below) and the
   guide's cue words is cross-validated
   (stratified folds, fixed seed) to get held-out scores for every labelled message; a softmax
   temperature fitted on those makes the confidences calibrated, and the lowest confidence at which
   95% of what would be filed is right, with a margin for sampling (``TrainingConfig.threshold_z``),
   becomes ``auto_file_threshold``;
4. the SVM is fitted on everything and saved as a spaCy pipeline whose ``meta.json`` records the data's
   sha256, the configuration and the cross-validated figures.

The static word table (``intents/data/minilm_words_128.npz``, ``TrainingConfig.static_table``) is a row of
128 numbers per glossed word, distilled from the all-MiniLM-L6-v2 sentence encoder so that the sum of a
message's rows approximates MiniLM's embedding of it: general English knowledge word2vec cannot learn from
Boston's text alone, at the cost of a table lookup. Training only reads it; it is built, once and outside this
project's environment, by ``scripts/distill_minilm_table.py``.

The sentence encoder (``intents/data/minilm_int8.onnx``, ``TrainingConfig.encoder``) is all-MiniLM-L6-v2
fine-tuned on the pool labels only (``scripts/finetune_minilm.py``: never on labelled.csv, so the
cross-validated figures stay honest), int8, run by onnxruntime (``intents.encoder``): its 384-number embedding
of each message is one more dense block. Its files are copied into the model directory, their sha256s
recorded. Both MiniLM blocks read a Spanish or Chinese message's English gloss, not its words
(``intents.features.read_message``).

The guide prior (``TrainingConfig.guide_prior``) adds, per service code, the cosine between that embedding and
the closest of the code's example messages written from the labelling guide (``intents.keywords``): domain
knowledge that holds in any city, embedded once here and stored in the model.

The sparse features, the word-vector average and the cue words read each message without the place it names
(``intents.features.without_place``), so the model cannot learn Boston's street names.
"""

from __future__ import annotations

import csv
import gzip
import hashlib
import math
import random
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, TypedDict

import numpy as np
from scipy.optimize import minimize_scalar
from scipy.sparse import csr_matrix, hstack
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import StratifiedKFold
from sklearn.svm import LinearSVC

from intents.classifier import (
    OTHER,
    FloatArray,
    LinearTextModel,
    Shortcut,
    build_nlp,
    cue_indicators,
    embed_words,
    guide_prior,
    softmax,
)
from intents.encoder import DEFAULT_DIR as DEFAULT_ENCODER_DIR
from intents.encoder import ONNX_FILE, TOKENIZER_FILE, SentenceEncoder, sha256_file
from intents.evaluation import (
    TARGET_PRECISION,
    Example,
    auto_file_threshold,
    classification_metrics,
    lowest_threshold,
    read_examples,
)
from intents.features import embedding_words, gloss_words_only, message_features, read_message, words
from intents.keywords import GUIDE_EXAMPLES, SERVICE_CODES
from intents.splits import is_heldout, labelled_file, normalised, unlabelled_file

MODEL_NAME = "open311_intents"
MODEL_VERSION = "1.2.0"
DEFAULT_STATIC_TABLE = Path(__file__).parent / "data" / "minilm_words_128.npz"
DEFAULT_POOL_LABELS = Path(__file__).parent / "data" / "pool_labels.csv"


@dataclass(frozen=True)
class TrainingConfig:
    seed: int = 13
    folds: int = 5
    # LinearSVC regularisation: chosen by cross-validation on the labelled set (0.3–1 are all within noise).
    svm_c: float = 0.5
    min_df: int = 3
    # Unlabelled messages sampled (fixed seed) into the TF-IDF vocabulary; the vectors use the whole pool.
    pool_sample: int = 40_000
    # Skip-gram with more epochs and rarer words than word2vec's defaults: +0.01 macro-F1 and about +5
    # points of auto-filed share in cross-validation over CBOW with 5 epochs.
    vector_size: int = 100
    vector_skip_gram: bool = True
    vector_min_count: int = 3
    vector_epochs: int = 10
    # How much the dense word-vector features count next to the (unit-length) sparse ones.
    vector_weight: float = 1.0
    # How much the guide's cue-word indicators (one per service code) count.
    cue_weight: float = 0.3
    # The distilled MiniLM word table (None: no such features); how much its unit-length sum counts.
    static_table: Path | None = DEFAULT_STATIC_TABLE
    static_weight: float = 1.0
    # The directory of the int8 MiniLM sentence encoder (None: no such features), how much its unit-length
    # embedding counts, and how many word pieces it reads. All chosen by 5-fold cross-validation (four fold
    # seeds): the encoder adds about +1.4 macro-F1 and +3.4 points of auto-filed share; 48 word pieces
    # score as 64 or 128 (32 lose 0.5 F1), and fewer pieces take less time (the median message has 21).
    encoder: Path | None = DEFAULT_ENCODER_DIR
    encoder_weight: float = 1.0
    encoder_max_tokens: int = 48
    # The guide prior (needs the encoder) and how much its cosines count: +1.1 macro-F1 and +1.4 points of
    # auto-filed share in cross-validation (four fold seeds); weights 1–4 all helped, 2 most evenly.
    guide_prior: bool = True
    prior_weight: float = 2.0
    # Messages of the unlabelled pool labelled by annotators following the guide
    # (``intents/data/POOL_LABELS.md``; None: without them). They train every fold, like operator corrections,
    # and are never scored: the cross-validated figures stay those of the project's own labelled set. Unsure
    # ones are kept: dropping them cost 1.3 macro-F1 and 3 points of auto-filed share in cross-validation.
    pool_labels: Path | None = DEFAULT_POOL_LABELS
    target_precision: float = TARGET_PRECISION
    # The threshold must reach target_precision with this margin (standard errors of the Wilson interval:
    # 1.645 is one-sided 95%), so that messages the model never saw are filed at that precision too.
    threshold_z: float = 1.645
    # Also train the shortcut (``intents.classifier.Shortcut``): the model without the encoder's blocks,
    # answering the messages it is sure enough of without running the encoder.
    shortcut: bool = True
    # The shortcut's threshold is the lowest confidence above which, in cross-validation, it loses at most
    # this share of the messages it answers to the whole model (right there, wrong in the shortcut). At 0
    # one message of 1,282 decided it (0.987: a third of the messages skipped the encoder); one in 500 lets
    # half of them skip it, for the same answers on every held-out and blind set we have, within one message.
    shortcut_tolerance: float = 0.002


@dataclass
class TrainingReport:
    model_dir: Path
    meta: dict[str, Any]
    cv_predictions: list[tuple[str, str, float]] = field(default_factory=list)  # (gold, predicted, conf)


class TrainingDataError(ValueError):
    """The training data cannot be used; the message says why."""


Progress = Callable[[str], None]
# What ``progress`` is called with, in order (a progress bar's steps).
TRAINING_STEPS = (
    "reading data",
    "learning word vectors from the unlabelled pool",
    "fitting TF-IDF features",
    "cross-validating",
    "fitting the final model",
    "saving",
)


def _no_progress(step: str) -> None:
    return None


def read_labelled(path: Path) -> list[Example]:
    """The labelled rows outside the held-out split."""
    return [example for example in read_examples(path) if not is_heldout(example.text)]


def read_pool_labels(path: Path, labelled_path: Path) -> list[Example]:
    """The annotated pool messages, without any that is also a labelled message (held-out ones included:
    a copy in training would inflate both the cross-validated and the held-out figures)."""
    labelled = {normalised(e.text) for e in read_examples(labelled_path)}
    return [e for e in read_examples(path) if normalised(e.text) not in labelled]


def read_pool(path: Path, exclude: set[str]) -> list[str]:
    """Every unlabelled message's text, in file order, without the ones also in ``exclude``."""
    with gzip.open(path, "rt", encoding="utf-8", newline="") as handle:
        return [row["text"] for row in csv.DictReader(handle) if row["text"] and row["text"] not in exclude]


def train(
    data_dir: Path,
    out_dir: Path,
    *,
    corrections: Sequence[Path] = (),
    extra_examples: Sequence[Example] = (),
    config: TrainingConfig | None = None,
    progress: Progress = _no_progress,
) -> TrainingReport:
    """Trains from ``data_dir``, corrections files and ``extra_examples``; saves to ``out_dir``."""
    config = config or TrainingConfig()
    labelled_path = labelled_file(data_dir)
    if not labelled_path.is_file():
        raise TrainingDataError(f"{labelled_path}: no labelled data (expected DATA/boston311/labelled.csv)")

    progress("reading data")
    examples = read_labelled(labelled_path)
    data_hashes = {str(labelled_path.relative_to(data_dir)): sha256_file(labelled_path)}
    added: list[Example] = list(extra_examples)
    pool_labelled: list[Example] = []
    if config.pool_labels is not None:
        pool_labelled = read_pool_labels(config.pool_labels, labelled_path)
        added.extend(pool_labelled)
        data_hashes[config.pool_labels.name] = sha256_file(config.pool_labels)
    for path in corrections:
        added.extend(read_examples(path))
        data_hashes[_unused_key(data_hashes, path)] = sha256_file(path)
    _check_codes(examples + added)
    pool_path = unlabelled_file(data_dir)
    pool: list[str] = []
    if pool_path.is_file():
        pool = read_pool(pool_path, exclude={e.text for e in examples + added})
        data_hashes[str(pool_path.relative_to(data_dir))] = sha256_file(pool_path)
    if extra_examples:
        data_hashes["extra_examples"] = _hash_examples(extra_examples)
    static_vocabulary: dict[str, int] = {}
    static_table = np.zeros((0, 0), dtype=np.float32)
    if config.static_table is not None:
        static_vocabulary, static_table = read_static_table(config.static_table)
        data_hashes[config.static_table.name] = sha256_file(config.static_table)
    encoder: SentenceEncoder | None = None
    if config.encoder is not None:
        encoder = SentenceEncoder.from_dir(config.encoder, config.encoder_max_tokens)
        for name in (ONNX_FILE, TOKENIZER_FILE):
            data_hashes[name] = sha256_file(config.encoder / name)

    texts = [e.text for e in examples]
    labels = np.array([e.service_code for e in examples])
    added_texts = [e.text for e in added]
    added_labels = np.array([e.service_code for e in added], dtype=labels.dtype)

    progress("learning word vectors from the unlabelled pool")
    vectors = _learn_vectors(texts + added_texts + pool, config)

    progress("fitting TF-IDF features")
    sample = random.Random(config.seed).sample(pool, min(config.pool_sample, len(pool)))
    vectorizer = TfidfVectorizer(
        analyzer=message_features,
        sublinear_tf=True,
        min_df=min(config.min_df, 1 + len(texts) // 50),
        dtype=np.float32,
    )
    # message_features reads the sample without its places too: street names do not enter the vocabulary.
    vectorizer.fit(texts + added_texts + sample)
    embedding_vocabulary, embeddings = _idf_weighted_vectors(vectors, vectorizer)

    cue_codes = [code for code in SERVICE_CODES if code != OTHER]
    prior_codes = list(GUIDE_EXAMPLES) if encoder is not None and config.guide_prior else []
    prior_counts = [len(GUIDE_EXAMPLES[code]) for code in prior_codes]
    prior_examples: FloatArray | None = None
    if encoder is not None and prior_codes:
        prior_examples = np.vstack(
            [encoder.embed(text) for code in prior_codes for text in GUIDE_EXAMPLES[code]]
        )
    n_sparse = len(vectorizer.vocabulary_)
    n_dense = embeddings.shape[1]
    n_static = static_table.shape[1]
    n_encoder = encoder.dim if encoder is not None else 0

    def featurize(batch: Sequence[str]) -> csr_matrix:
        if not batch:
            width = n_sparse + n_dense + n_static + len(cue_codes) + n_encoder + len(prior_codes)
            return csr_matrix((0, width), dtype=np.float32)
        readings = [read_message(t) for t in batch]
        tokens = [words(r.glossed) for r in readings]
        dense = np.vstack([embed_words(t, embedding_vocabulary, embeddings) for t in tokens])
        english = [words(r.english) for r in readings]
        static = np.vstack([embed_words(t, static_vocabulary, static_table) for t in english])
        cues = np.vstack([cue_indicators(t, cue_codes) for t in batch])
        blocks = [
            vectorizer.transform(batch),
            csr_matrix(dense * config.vector_weight),
            csr_matrix(static * config.static_weight),
            csr_matrix(cues * config.cue_weight),
        ]
        if encoder is not None:
            # One message at a time, as at inference: int8 activations are quantised per call, so a batch
            # would give each message numbers that depend on its batch mates.
            sentences = np.vstack([encoder.embed(r.english) for r in readings])
            blocks.append(csr_matrix(sentences * config.encoder_weight))
            if prior_examples is not None:
                prior = np.vstack([guide_prior(s, prior_examples, prior_counts) for s in sentences])
                blocks.append(csr_matrix(prior * config.prior_weight))
        return hstack(blocks).tocsr()

    features = featurize(texts)
    added_features = featurize(added_texts)
    # Each labelled message cut down to the words a Spanish or Chinese gloss can hold: what the model sees of
    # a message it reads through the lexicon, scored by the same held-out folds.
    reduced = [gloss_words_only(text) for text in texts]
    has_gloss_words = np.array([bool(text) for text in reduced])
    reduced_features = featurize([text for text in reduced if text])

    progress("cross-validating")
    oof_scores, classes, reduced_scores = _cross_validated_scores(
        features, labels, added_features, added_labels, config, also=(reduced_features, has_gloss_words)
    )
    temperature = _fit_temperature(oof_scores, labels, classes)
    gloss_temperature = _fit_temperature(reduced_scores, labels[has_gloss_words], classes)
    probabilities = softmax(oof_scores, temperature)
    # Columns: sparse, word2vec, static table, cues, then the encoder's blocks (embedding, guide prior).
    static_start = n_sparse + n_dense
    cue_start = static_start + n_static
    encoder_start = cue_start + len(cue_codes)
    prior_start = encoder_start + n_encoder
    shortcut_temperature: float | None = None
    shortcut_threshold: float | None = None
    shortcut_share = 0.0
    if config.shortcut and encoder is not None:
        # The same folds without the encoder's blocks; the shortcut answers where it is sure enough (never a
        # message read through its gloss alone), and the figures below are those of what is served.
        cheap_scores, _classes, _none = _cross_validated_scores(
            features[:, :encoder_start], labels, added_features[:, :encoder_start], added_labels, config
        )
        shortcut_temperature = _fit_temperature(cheap_scores, labels, classes)
        quick = softmax(cheap_scores, shortcut_temperature)
        eligible = np.array([not read_message(text).gloss_only for text in texts])
        gold_index = np.array([classes.index(str(label)) for label in labels])
        shortcut_threshold = shortcut_threshold_for(
            quick[eligible], probabilities[eligible], gold_index[eligible], config.shortcut_tolerance
        )
        if shortcut_threshold is not None:
            taken = eligible & (quick.max(axis=1) >= shortcut_threshold)
            probabilities = np.where(taken[:, None], quick, probabilities)
            shortcut_share = float(taken.mean())
    predicted = [classes[i] for i in probabilities.argmax(axis=1)]
    confidences = [float(p) for p in probabilities.max(axis=1)]
    gold = [str(label) for label in labels]
    threshold = auto_file_threshold(gold, predicted, confidences, config.target_precision, config.threshold_z)
    auto_threshold = 1.0 if threshold is None else threshold
    cv = classification_metrics(gold, predicted, confidences, auto_threshold)

    progress("fitting the final model")
    svm = _svm(config)
    svm.fit(_stack(features, added_features), np.concatenate([labels, added_labels]))
    coef = svm.coef_.T.astype(np.float32)
    # The weights of the blocks both heads read, each block's weight folded in (the columns in ``coef``).
    blocks = (n_sparse, static_start, cue_start, encoder_start)
    shortcut: Shortcut | None = None
    if shortcut_temperature is not None and shortcut_threshold is not None:
        cheap_svm = _svm(config)
        cheap_svm.fit(
            _stack(features[:, :encoder_start], added_features[:, :encoder_start]),
            np.concatenate([labels, added_labels]),
        )
        shortcut = Shortcut(
            **_linear_head(cheap_svm, blocks, config),
            temperature=shortcut_temperature,
            threshold=shortcut_threshold,
        )
    model = LinearTextModel(
        classes=[str(c) for c in svm.classes_],
        vocabulary={str(term): int(index) for term, index in vectorizer.vocabulary_.items()},
        idf=vectorizer.idf_.astype(np.float32),
        embedding_vocabulary=embedding_vocabulary,
        embeddings=embeddings,
        static_vocabulary=static_vocabulary,
        static_table=static_table,
        cue_codes=cue_codes,
        **_linear_head(svm, blocks, config),
        temperature=temperature,
        gloss_temperature=gloss_temperature,
        encoder=encoder,
        encoder_coef=np.ascontiguousarray(coef[encoder_start:prior_start] * config.encoder_weight)
        if encoder
        else None,
        prior_codes=prior_codes,
        prior_counts=prior_counts,
        prior_examples=prior_examples,
        prior_coef=np.ascontiguousarray(coef[prior_start:] * config.prior_weight) if prior_codes else None,
        shortcut=shortcut,
    )

    progress("saving")
    meta: dict[str, Any] = {
        "lang": "en",
        "name": MODEL_NAME,
        "version": MODEL_VERSION,
        "description": "open311-bot service classifier (service codes of the default taxonomy)",
        "labels": {"service_classifier": model.classes},
        "open311": {
            "auto_file_threshold": round(auto_threshold, 4),
            "target_precision": config.target_precision,
            "temperature": round(temperature, 6),
            "gloss_temperature": round(gloss_temperature, 6),
            # The share of the cross-validated messages the shortcut answered without the encoder.
            "shortcut": None
            if shortcut is None
            else {
                "threshold": round(shortcut.threshold, 6),
                "temperature": round(shortcut.temperature, 6),
                "cross_validated_share": round(shortcut_share, 4),
            },
            "training_config": _config_record(config),
            "data_sha256": data_hashes,
            "training_examples": len(examples),
            "added_examples": len(added),
            "pool_labelled_examples": len(pool_labelled),
            "pool_messages": len(pool),
            "cross_validation": {
                "folds": _fold_count(labels, config.folds),
                "accuracy": round(cv.accuracy, 4),
                "macro_f1": round(cv.macro_f1, 4),
                "ece": round(cv.ece, 4),
                "auto_file_share": round(cv.auto_file_share, 4),
                "auto_file_precision": None
                if math.isnan(cv.auto_file_precision)
                else round(cv.auto_file_precision, 4),
            },
        },
    }
    nlp = build_nlp(model, meta)
    out_dir.mkdir(parents=True, exist_ok=True)
    nlp.to_disk(out_dir)
    return TrainingReport(out_dir, meta, list(zip(gold, predicted, confidences, strict=True)))


def read_static_table(path: Path) -> tuple[dict[str, int], FloatArray]:
    """The word table's word → row map and its rows as float32 (plain arrays: ``np.load`` runs no code)."""
    try:
        with np.load(path, allow_pickle=False) as arrays:
            table_words = [str(word) for word in arrays["words"]]
            vectors = np.ascontiguousarray(arrays["vectors"], dtype=np.float32)
    except (OSError, KeyError, ValueError) as error:
        raise TrainingDataError(f"{path}: not a word table (.npz of words and vectors): {error}") from error
    if vectors.ndim != 2 or vectors.shape[0] != len(table_words):
        raise TrainingDataError(f"{path}: {len(table_words)} words but vectors of shape {vectors.shape}")
    return {word: row for row, word in enumerate(table_words)}, vectors


def _config_record(config: TrainingConfig) -> dict[str, Any]:
    # The table by its file name: its content is identified by the sha256 in data_sha256, and an absolute
    # path would make two identical trainings differ.
    record = asdict(config)
    record["static_table"] = config.static_table.name if config.static_table is not None else None
    record["encoder"] = ONNX_FILE if config.encoder is not None else None
    record["pool_labels"] = config.pool_labels.name if config.pool_labels is not None else None
    return record


def _unused_key(recorded: dict[str, str], path: Path) -> str:
    """The name a data file's sha256 is recorded under: its file name, or with its folders where another
    file of that name is recorded already (operator exports are all "corrections.csv")."""
    parts = path.parts
    for depth in range(1, len(parts) + 1):
        key = "/".join(parts[-depth:])
        if key not in recorded:
            return key
    return f"{path} ({len(recorded)})"


def _check_codes(examples: Sequence[Example]) -> None:
    unknown = Counter(e.service_code for e in examples if e.service_code not in SERVICE_CODES)
    if unknown:
        listed = ", ".join(f"{code!r} ({n})" for code, n in unknown.most_common())
        raise TrainingDataError(
            f"service codes outside the taxonomy: {listed}; known: {', '.join(SERVICE_CODES)}"
        )


def _hash_examples(examples: Sequence[Example]) -> str:
    digest = hashlib.sha256()
    for example in examples:
        digest.update(f"{example.text}\t{example.service_code}\n".encode())
    return digest.hexdigest()


def _learn_vectors(texts: Sequence[str], config: TrainingConfig) -> dict[str, FloatArray]:
    from gensim.models import Word2Vec

    class Sentences:
        # Re-iterable, so gensim can make its vocabulary pass and its training passes without a copy.
        def __iter__(self) -> Iterator[list[str]]:
            for text in texts:
                yield embedding_words(text)

    model = Word2Vec(
        Sentences(),
        vector_size=config.vector_size,
        window=5,
        min_count=min(config.vector_min_count, 1 + len(texts) // 1000),
        epochs=config.vector_epochs,
        sg=int(config.vector_skip_gram),
        seed=config.seed,
        # One worker thread and a fixed hash seed: the only way word2vec is exactly reproducible.
        workers=1,
        hashfxn=_stable_hash,
    )
    return {str(word): model.wv[word].astype(np.float32) for word in model.wv.index_to_key}


def _stable_hash(text: str) -> int:
    return int.from_bytes(hashlib.md5(text.encode("utf-8")).digest()[:4], "little")


def _idf_weighted_vectors(
    vectors: dict[str, FloatArray], vectorizer: TfidfVectorizer
) -> tuple[dict[str, int], FloatArray]:
    """The word vectors, each multiplied by its word's IDF (words rarer than the vocabulary's floor get
    the highest IDF), in a fixed (sorted) order."""
    vocabulary: dict[str, int] = vectorizer.vocabulary_
    idf: np.ndarray = vectorizer.idf_
    highest = float(idf.max()) if len(idf) else 1.0
    words = sorted(vectors)
    dim = len(next(iter(vectors.values()))) if vectors else 1
    matrix = np.zeros((len(words), dim), dtype=np.float32)
    for row, word in enumerate(words):
        index = vocabulary.get("w:" + word)
        weight = float(idf[index]) if index is not None else highest
        matrix[row] = vectors[word] * weight
    return {word: i for i, word in enumerate(words)}, matrix


def _svm(config: TrainingConfig) -> LinearSVC:
    # No class re-weighting: "balanced" made the model shy of "other", whose mistakes cost the most
    # (a request filed that a person should have seen); cross-validated macro-F1 was no better with it.
    return LinearSVC(C=config.svm_c, random_state=config.seed, max_iter=5000)


def _stack(first: csr_matrix, second: csr_matrix) -> csr_matrix:
    from scipy.sparse import vstack

    return vstack([first, second]).tocsr() if second.shape[0] else first


def _fold_count(labels: np.ndarray, folds: int) -> int:
    smallest = min(Counter(labels.tolist()).values())
    return max(2, min(folds, smallest))


def _cross_validated_scores(
    features: csr_matrix,
    labels: np.ndarray,
    added_features: csr_matrix,
    added_labels: np.ndarray,
    config: TrainingConfig,
    also: tuple[csr_matrix, np.ndarray] | None = None,
) -> tuple[FloatArray, list[str], FloatArray]:
    """Held-out SVM scores for every labelled message (operator corrections train every fold), and for
    ``also``'s rows (another view of the messages where its mask is true) by the fold that held each out
    (no rows without ``also``)."""
    classes = sorted(set(labels.tolist()) | set(added_labels.tolist()))
    if min(Counter(labels.tolist()).values()) < 2:
        raise TrainingDataError(
            "every service code in the labelled file needs at least 2 examples there (cross-validation "
            "scores them; pool labels and operator corrections train every fold but are never scored): "
            + ", ".join(f"{code} ({n})" for code, n in sorted(Counter(labels.tolist()).items()) if n < 2)
        )
    folds = StratifiedKFold(_fold_count(labels, config.folds), shuffle=True, random_state=config.seed)
    scores = np.zeros((len(labels), len(classes)), dtype=np.float32)
    also_features, also_mask = also or (features[:0], np.zeros(len(labels), dtype=bool))
    also_row = np.cumsum(also_mask) - 1  # the row of ``also_features`` for each masked message
    also_scores = np.zeros((also_features.shape[0], len(classes)), dtype=np.float32)
    for train_index, test_index in folds.split(np.zeros(len(labels)), labels):
        svm = _svm(config)
        svm.fit(
            _stack(features[train_index], added_features),
            np.concatenate([labels[train_index], added_labels]),
        )
        scores[test_index] = _full_scores(svm, features[test_index], classes)
        held_out = test_index[also_mask[test_index]]
        if len(held_out):
            also_scores[also_row[held_out]] = _full_scores(svm, also_features[also_row[held_out]], classes)
    return scores, classes, also_scores


class _HeadWeights(TypedDict):
    coef: FloatArray
    intercept: FloatArray
    embedding_coef: FloatArray
    static_coef: FloatArray
    cue_coef: FloatArray


def _linear_head(svm: LinearSVC, blocks: tuple[int, int, int, int], config: TrainingConfig) -> _HeadWeights:
    """The weights of every block but the encoder's (``intents.classifier._linear_scores`` reads them), from
    an SVM over columns laid out as sparse, word2vec, static table, cues (``blocks``: where the word2vec,
    static, cue and encoder columns start), each block's feature weight folded in."""
    n_sparse, static_start, cue_start, encoder_start = blocks
    coef = svm.coef_.T.astype(np.float32)
    return _HeadWeights(
        coef=np.ascontiguousarray(coef[:n_sparse]),
        intercept=svm.intercept_.astype(np.float32),
        embedding_coef=np.ascontiguousarray(coef[n_sparse:static_start] * config.vector_weight),
        static_coef=np.ascontiguousarray(coef[static_start:cue_start] * config.static_weight),
        cue_coef=np.ascontiguousarray(coef[cue_start:encoder_start] * config.cue_weight),
    )


def shortcut_threshold_for(
    quick: FloatArray, whole: FloatArray, gold: np.ndarray, tolerance: float = 0.0
) -> float | None:
    """The lowest confidence of the shortcut's (``quick``: cross-validated probabilities, one row a message)
    above which it is right at least as often as the whole model (``whole``) on the same messages, less
    ``tolerance`` of the messages it answers (0.002: one right answer in 500 may be lost); None when no such
    threshold exists. ``gold`` holds each message's class index."""
    confidence = quick.max(axis=1)
    order = np.argsort(-confidence, kind="stable")
    quick_right = np.cumsum(quick.argmax(axis=1)[order] == gold[order])
    whole_right = np.cumsum(whole.argmax(axis=1)[order] == gold[order])
    return lowest_threshold(
        [float(value) for value in confidence[order]],
        lambda count: bool(quick_right[count - 1] >= whole_right[count - 1] - tolerance * count),
    )


def _full_scores(svm: LinearSVC, features: csr_matrix, classes: list[str]) -> FloatArray:
    """The SVM's scores in ``classes`` order. A class absent from this fold's training data can never be
    predicted: it scores far below the rest."""
    fold_scores = svm.decision_function(features)
    full = np.full((features.shape[0], len(classes)), -10.0, dtype=np.float32)
    for column, code in enumerate(svm.classes_):
        full[:, classes.index(str(code))] = fold_scores[:, column]
    return full


def _fit_temperature(scores: FloatArray, labels: np.ndarray, classes: list[str]) -> float:
    """The softmax temperature minimising the negative log-likelihood of the held-out scores."""
    target = np.array([classes.index(str(label)) for label in labels])

    def nll(log_temperature: float) -> float:
        probabilities = softmax(scores, math.exp(log_temperature))
        return float(-np.log(probabilities[np.arange(len(target)), target] + 1e-12).mean())

    result = minimize_scalar(nll, bounds=(math.log(0.01), math.log(10.0)), method="bounded")
    return float(math.exp(result.x))
