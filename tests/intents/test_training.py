"""Training end to end on a tiny data set: reproducible, recorded, loadable, and learning what it is given."""

from __future__ import annotations

import csv
import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from intents.classifier import LinearTextModel, embed_words, softmax
from intents.encoder import DEFAULT_DIR as DEFAULT_ENCODER_DIR
from intents.encoder import ONNX_FILE, TOKENIZER_FILE, SentenceEncoder
from intents.features import read_message
from intents.pipeline import ModelError, load_pipeline
from intents.splits import is_heldout
from intents.training import (
    DEFAULT_STATIC_TABLE,
    TRAINING_STEPS,
    TrainingConfig,
    TrainingDataError,
    read_static_table,
    sha256_file,
    shortcut_threshold_for,
    train,
)
from tests.intents.tiny_data import TINY_LABELLED, write_tiny_data

# Without the shipped pool labels: the tiny data set alone (test_pool_labels_* add their own).
CONFIG = TrainingConfig(folds=3, vector_size=16, pool_sample=100, pool_labels=None)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_data(tmp_path_factory.mktemp("data"))


def _weights(model_dir: Path) -> LinearTextModel:
    return LinearTextModel.load(model_dir / "service_classifier")


def test_training_twice_gives_the_same_model_and_records_the_data(data_dir: Path, tmp_path: Path) -> None:
    steps: list[str] = []
    first = train(data_dir, tmp_path / "a", config=CONFIG, progress=steps.append)
    second = train(data_dir, tmp_path / "b", config=CONFIG)
    assert steps == list(TRAINING_STEPS)

    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert a.vocabulary == b.vocabulary
    assert a.embedding_vocabulary == b.embedding_vocabulary
    assert a.static_vocabulary == b.static_vocabulary
    names = ("idf", "coef", "intercept", "embeddings", "embedding_coef", "static_table", "static_coef")
    for name in (*names, "encoder_coef"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name), err_msg=name)
    assert a.temperature == b.temperature
    # Fitted on the held-out folds' scores of the messages cut down to the words a gloss can hold.
    assert a.gloss_temperature is not None
    assert a.gloss_temperature == b.gloss_temperature > 0
    assert first.meta["open311"] == second.meta["open311"]

    meta = json.loads((tmp_path / "a" / "meta.json").read_text(encoding="utf-8"))["open311"]
    labelled = data_dir / "boston311" / "labelled.csv"
    assert meta["data_sha256"]["boston311/labelled.csv"] == sha256_file(labelled)
    assert meta["data_sha256"]["boston311/unlabelled.csv.gz"] == sha256_file(
        data_dir / "boston311" / "unlabelled.csv.gz"
    )
    assert meta["training_config"]["seed"] == CONFIG.seed
    assert meta["gloss_temperature"] == pytest.approx(a.gloss_temperature, abs=1e-6)
    assert meta["training_config"]["static_table"] == "minilm_words_128.npz"
    assert meta["data_sha256"]["minilm_words_128.npz"] == sha256_file(DEFAULT_STATIC_TABLE)
    # The held-out split never reaches training.
    all_texts = [text for texts in TINY_LABELLED.values() for text in texts]
    assert meta["training_examples"] == sum(not is_heldout(text) for text in all_texts) < len(all_texts)


def test_the_trained_model_loads_and_classifies(data_dir: Path, tmp_path: Path) -> None:
    train(data_dir, tmp_path / "model", config=CONFIG)
    pipeline = load_pipeline(tmp_path / "model")
    assert pipeline.classify("a pothole in the road").service_code == "pothole"
    assert pipeline.classify("graffiti sprayed on the wall").service_code == "graffiti"
    assert pipeline.classify("question about the council meeting").service_code == "other"
    assert set(pipeline.service_codes) == {"pothole", "graffiti", "other"}


def test_the_static_word_table_is_shipped_with_the_model_and_counts(data_dir: Path, tmp_path: Path) -> None:
    train(data_dir, tmp_path / "with", config=CONFIG)
    model = _weights(tmp_path / "with")
    table_vocabulary, table = read_static_table(DEFAULT_STATIC_TABLE)
    # The whole table travels with the model (the tiny data's words are a few of its 14,666); float16 on disk.
    assert model.static_vocabulary == table_vocabulary
    np.testing.assert_array_equal(model.static_table, table.astype(np.float16).astype(np.float32))
    assert model.static_coef.shape == (table.shape[1], len(model.classes))
    assert np.abs(model.static_coef).max() > 0  # the SVM used the block

    # Words the table lacks add nothing; a message of only such words gets a zero vector, not an error.
    unknown = ["xqzv", "wrrbl"]
    assert not any(word in model.static_vocabulary for word in unknown)
    np.testing.assert_array_equal(embed_words(unknown, model.static_vocabulary, model.static_table), 0)
    assert np.isfinite(model.probabilities(" ".join(unknown))).all()

    # Without the table the block is empty and the model still trains, saves and loads.
    train(data_dir, tmp_path / "without", config=replace(CONFIG, static_table=None))
    bare = _weights(tmp_path / "without")
    assert bare.static_vocabulary == {}
    assert bare.static_table.shape == (0, 0)
    meta = json.loads((tmp_path / "without" / "meta.json").read_text(encoding="utf-8"))["open311"]
    assert "minilm_words_128.npz" not in meta["data_sha256"]
    assert meta["training_config"]["static_table"] is None
    assert load_pipeline(tmp_path / "without").classify("a pothole in the road").service_code == "pothole"


def test_the_sentence_encoder_is_copied_into_the_model_recorded_and_counts(
    data_dir: Path, tmp_path: Path
) -> None:
    train(data_dir, tmp_path / "with", config=CONFIG)
    component_dir = tmp_path / "with" / "service_classifier"
    meta = json.loads((tmp_path / "with" / "meta.json").read_text(encoding="utf-8"))["open311"]
    for name in (ONNX_FILE, TOKENIZER_FILE):
        # Self-contained: the model directory holds the very files training read.
        assert sha256_file(component_dir / name) == sha256_file(DEFAULT_ENCODER_DIR / name)
        assert meta["data_sha256"][name] == sha256_file(DEFAULT_ENCODER_DIR / name)
    assert meta["training_config"]["encoder"] == ONNX_FILE
    model = _weights(tmp_path / "with")
    assert model.encoder is not None
    assert model.encoder_coef is not None
    assert model.encoder.onnx_path.parent == component_dir
    assert model.encoder.max_tokens == CONFIG.encoder_max_tokens
    assert model.encoder_coef.shape == (model.encoder.dim, len(model.classes))
    text = "a pothole in the road"
    bare = replace(model, encoder_coef=np.zeros_like(model.encoder_coef))
    assert np.abs(bare.scores(text) - model.scores(text)).max() > 0.01  # the SVM used the block

    # A model whose encoder file is not the one it was trained with is refused, not silently misread.
    onnx = component_dir / ONNX_FILE
    onnx.write_bytes(onnx.read_bytes()[:-1] + b"x")
    with pytest.raises(ModelError, match="sha256"):
        load_pipeline(tmp_path / "with")

    # Without the encoder the model still trains, saves (no encoder files) and loads.
    train(data_dir, tmp_path / "without", config=replace(CONFIG, encoder=None))
    assert not (tmp_path / "without" / "service_classifier" / ONNX_FILE).exists()
    assert _weights(tmp_path / "without").encoder is None
    meta = json.loads((tmp_path / "without" / "meta.json").read_text(encoding="utf-8"))["open311"]
    assert ONNX_FILE not in meta["data_sha256"]
    assert load_pipeline(tmp_path / "without").classify(text).service_code == "pothole"


def test_the_shortcut_answers_what_it_is_sure_of_without_the_encoder(data_dir: Path, tmp_path: Path) -> None:
    report = train(data_dir, tmp_path / "model", config=CONFIG)
    model = _weights(tmp_path / "model")
    shortcut = model.shortcut
    assert shortcut is not None
    assert model.encoder is not None
    recorded = report.meta["open311"]["shortcut"]
    assert recorded["threshold"] == pytest.approx(shortcut.threshold, abs=1e-6)
    assert 0.0 <= recorded["cross_validated_share"] <= 1.0
    # The shortcut's own weights: trained without the encoder's blocks, so not the whole model's.
    assert shortcut.coef.dtype == np.float16
    assert shortcut.coef.shape == model.coef.shape
    assert not np.allclose(shortcut.intercept, model.intercept)

    encoder = _CountingEncoder(model.encoder)
    counted = replace(model, encoder=encoder)  # type: ignore[arg-type]
    taken = 0
    for text in (*(t for texts in TINY_LABELLED.values() for t in texts), "huge pothole", "grafiti?"):
        before = encoder.calls
        probabilities = counted.probabilities(text)
        reading = read_message(text)
        sure = float(shortcut.probabilities(counted._features(reading)).max())
        # "grafiti?" is read through its Spanish gloss alone: always the whole model, with its temperature.
        if sure >= shortcut.threshold and not reading.gloss_only:
            taken += 1
            assert encoder.calls == before, text  # answered without the encoder
            assert float(probabilities.max()) == pytest.approx(sure)
        else:
            assert encoder.calls == before + 1, text
            temperature = model.gloss_temperature if reading.gloss_only else model.temperature
            assert temperature is not None
            expected = softmax(model.scores(text), temperature)
            np.testing.assert_allclose(probabilities, expected, rtol=1e-5)
    assert taken > 0
    # A shortcut never sure enough leaves every message to the whole model, encoder and all.
    unsure = replace(counted, shortcut=replace(shortcut, threshold=1.01))
    before = encoder.calls
    np.testing.assert_allclose(
        unsure.probabilities("a pothole in the road"),
        softmax(model.scores("a pothole in the road"), model.temperature),
        rtol=1e-5,
    )
    assert encoder.calls == before + 1
    # Without it (a model trained before it existed, or TrainingConfig(shortcut=False)) every message gets
    # the whole model, and the model still saves and loads.
    train(data_dir, tmp_path / "whole", config=replace(CONFIG, shortcut=False))
    assert _weights(tmp_path / "whole").shortcut is None
    meta = json.loads((tmp_path / "whole" / "meta.json").read_text(encoding="utf-8"))["open311"]
    assert meta["shortcut"] is None


class _CountingEncoder:
    """The real encoder, counting the messages it embeds."""

    def __init__(self, encoder: SentenceEncoder) -> None:
        self._encoder = encoder
        self.calls = 0

    def embed(self, text: str) -> np.ndarray:
        self.calls += 1
        return self._encoder.embed(text)


def test_the_shortcut_threshold_costs_no_right_answer() -> None:
    # Four messages, most sure first by the shortcut: right, right, wrong, right; the whole model is right
    # on all but the first. Above 0.9 the shortcut has 2 right to the whole model's 1; above 0.7, 2 to 2;
    # above 0.6, 3 to 3: the lowest threshold that loses nothing is 0.6.
    quick = np.array([[0.95, 0.05], [0.9, 0.1], [0.3, 0.7], [0.6, 0.4]], dtype=np.float32)
    whole = np.array([[0.4, 0.6], [0.8, 0.2], [0.9, 0.1], [0.9, 0.1]], dtype=np.float32)
    gold = np.array([0, 0, 0, 0])
    assert shortcut_threshold_for(quick, whole, gold) == pytest.approx(0.6)
    # The shortcut wrong where the whole model is right, from the start: no threshold.
    assert shortcut_threshold_for(quick[2:3], whole[2:3], gold[2:3]) is None

    # With a tolerance the shortcut may lose that share of the answers it gives to the whole model. Its
    # surest message (0.95) is wrong where the whole model is right, its next (0.9) right: above 0.9 it has
    # 1 right of 2 against 2. Losing one in two is allowed at a tolerance of 0.5, not at 0.4 or 0.
    lost = np.array([[0.05, 0.95], [0.9, 0.1]], dtype=np.float32)
    right = np.array([[0.9, 0.1], [0.9, 0.1]], dtype=np.float32)
    assert shortcut_threshold_for(lost, right, np.array([0, 0])) is None
    assert shortcut_threshold_for(lost, right, np.array([0, 0]), tolerance=0.5) == pytest.approx(0.9)
    assert shortcut_threshold_for(lost, right, np.array([0, 0]), tolerance=0.4) is None


def test_a_bad_static_table_is_refused_clearly(data_dir: Path, tmp_path: Path) -> None:
    broken = tmp_path / "table.npz"
    broken.write_bytes(b"not a zip file")
    with pytest.raises(TrainingDataError, match="not a word table"):
        train(data_dir, tmp_path / "model", config=replace(CONFIG, static_table=broken))
    np.savez(broken, words=np.array(["pothole", "graffiti"]), vectors=np.zeros((3, 4), dtype=np.float16))
    with pytest.raises(TrainingDataError, match="2 words but vectors of shape"):
        train(data_dir, tmp_path / "model", config=replace(CONFIG, static_table=broken))
    assert not (tmp_path / "model").exists()


def test_operator_corrections_are_learnt_and_hashed(data_dir: Path, tmp_path: Path) -> None:
    corrections = tmp_path / "corrections.jsonl"
    noise = [
        "Loud music all night",
        "noise from the bar",
        "neighbours party is too loud",
        "barking dog all day",
    ]
    corrections.write_text(
        "\n".join(json.dumps({"text": text, "service_code": "noise"}) for text in noise) + "\n",
        encoding="utf-8",
    )
    # A second export of the same name, from another day's folder: both recorded (one replaced the other).
    (tmp_path / "later").mkdir()
    later = tmp_path / "later" / "corrections.jsonl"
    later.write_text(json.dumps({"text": "music blasting at 3am", "service_code": "noise"}) + "\n", "utf-8")
    report = train(data_dir, tmp_path / "model", corrections=[corrections, later], config=CONFIG)
    assert report.meta["open311"]["added_examples"] == 5
    assert report.meta["open311"]["data_sha256"]["corrections.jsonl"] == sha256_file(corrections)
    assert report.meta["open311"]["data_sha256"]["later/corrections.jsonl"] == sha256_file(later)
    assert load_pipeline(tmp_path / "model").classify("loud music from the party").service_code == "noise"


def test_pool_labels_train_the_model_but_never_copy_a_labelled_message(
    data_dir: Path, tmp_path: Path
) -> None:
    heldout = next(text for texts in TINY_LABELLED.values() for text in texts if is_heldout(text))
    pool_labels = tmp_path / "pool_labels.csv"
    rows = [
        ("Loud music all night", "noise"),
        ("noise from the bar", "noise"),
        ("neighbours party is too loud", "noise"),
        ("barking dog all day", "noise"),
        # The held-out message with different spacing and case, under another code: must be dropped.
        ("  " + heldout.upper().replace(" ", "  "), "noise"),
    ]
    with pool_labels.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["id", "text", "service_code", "sure", "location_text"])
        writer.writerows([(str(i), text, code, "sure", "") for i, (text, code) in enumerate(rows)])
    report = train(data_dir, tmp_path / "model", config=replace(CONFIG, pool_labels=pool_labels))
    record = report.meta["open311"]
    assert record["pool_labelled_examples"] == 4
    assert record["training_config"]["pool_labels"] == "pool_labels.csv"
    assert record["data_sha256"]["pool_labels.csv"] == sha256_file(pool_labels)
    assert load_pipeline(tmp_path / "model").classify("loud music from the party").service_code == "noise"


def test_bad_training_data_is_refused_clearly(data_dir: Path, tmp_path: Path) -> None:
    corrections = tmp_path / "corrections.csv"
    corrections.write_text("text,service_code\nbroken bench,park_furniture\n", encoding="utf-8")
    with pytest.raises(TrainingDataError, match="park_furniture"):
        train(data_dir, tmp_path / "model", corrections=[corrections], config=CONFIG)
    with pytest.raises(TrainingDataError, match="no labelled data"):
        train(tmp_path, tmp_path / "model", config=CONFIG)
    assert not (tmp_path / "model").exists()


def test_training_is_reproducible_across_processes(data_dir: Path, tmp_path: Path) -> None:
    # Different hash seeds change set and dict orders between processes: the model must not depend on them.
    import os
    import subprocess
    import sys

    script = (
        "import sys; from pathlib import Path; from intents.training import train, TrainingConfig;"
        "config = TrainingConfig(folds=3, vector_size=16, pool_sample=100, pool_labels=None);"
        "train(Path(sys.argv[1]), Path(sys.argv[2]), config=config)"
    )
    repo = Path(__file__).resolve().parents[2]
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": str(repo)}
        subprocess.run(
            [sys.executable, "-c", script, str(data_dir), str(tmp_path / seed)],
            env=env,
            check=True,
            timeout=240,
        )
    first, second = _weights(tmp_path / "1"), _weights(tmp_path / "2")
    assert first.vocabulary == second.vocabulary
    assert first.embedding_vocabulary == second.embedding_vocabulary
    for name in ("coef", "embeddings", "embedding_coef", "static_coef", "cue_coef"):
        np.testing.assert_array_equal(getattr(first, name), getattr(second, name), err_msg=name)


def test_the_guide_prior_places_words_the_labelled_data_never_used(data_dir: Path, tmp_path: Path) -> None:
    from intents.classifier import guide_prior
    from intents.features import read_message
    from intents.keywords import GUIDE_EXAMPLES, keyword_cues

    train(data_dir, tmp_path / "with", config=CONFIG)
    model = _weights(tmp_path / "with")
    assert model.encoder is not None
    assert model.prior_examples is not None
    assert model.prior_coef is not None
    # Every code's examples travel with the model, one feature per code, whatever codes the data has.
    assert model.prior_codes == list(GUIDE_EXAMPLES)
    assert model.prior_counts == [len(examples) for examples in GUIDE_EXAMPLES.values()]
    assert model.prior_coef.shape == (len(GUIDE_EXAMPLES), len(model.classes))

    # Messages in words none of the tiny set's messages use, about codes it has no message of: the closest
    # guide example is of the right code.
    unseen = {
        "The lamp on our block is dark at night": "streetlight",
        "Rodents running around the dumpster": "pests",
        "A man is camping under the overpass": "encampment",
        "The neighbours blast music every night": "noise",
        "Water pouring out of the ground": "water_sewer",
        "Somebody scrawled their initials across the mural": "graffiti",
    }
    for text, code in unseen.items():
        prior = guide_prior(
            model.encoder.embed(read_message(text).english), model.prior_examples, model.prior_counts
        )
        assert model.prior_codes[int(prior.argmax())] == code, text

    # With three codes and twelve messages each, the prior tips a message without cue words to its code.
    text = "Somebody scrawled their initials across the mural"
    assert not keyword_cues(text)
    assert load_pipeline(tmp_path / "with").classify(text).service_code == "graffiti"
    bare = replace(model, prior_coef=np.zeros_like(model.prior_coef))
    assert bare.classes[int(bare.scores(text).argmax())] == "other"

    # Without it the model still trains, saves and loads.
    train(data_dir, tmp_path / "without", config=replace(CONFIG, guide_prior=False))
    without = _weights(tmp_path / "without")
    assert without.prior_examples is None
    assert without.prior_codes == []
    assert without.encoder is not None


def test_the_place_a_message_names_is_not_a_feature(data_dir: Path, tmp_path: Path) -> None:
    from intents.features import message_features, read_message, without_place

    text = "Pothole on the road at 452 Hanover St"
    assert without_place(text) == "Pothole on the road at  "
    assert not any("hanover" in name for name in message_features(text))
    assert "Hanover" not in read_message(text).glossed
    assert read_message(text).english == text  # the MiniLM blocks read it all

    train(data_dir, tmp_path / "model", config=replace(CONFIG, encoder=None, static_table=None))
    model = _weights(tmp_path / "model")
    # Two messages that differ only in their street get the same scores (the MiniLM blocks aside).
    first = model.scores(text)
    np.testing.assert_array_equal(first, model.scores("Pothole on the road at 9 Salem Street"))
    assert not np.array_equal(first, model.scores("Pothole on the road at the school"))
