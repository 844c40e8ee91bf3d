"""The shipped classifier through the Pipeline facade, its calibration on held-out real messages, its files,
and the metrics that judge it."""

from __future__ import annotations

import contextlib
import json
import math
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sklearn.metrics import f1_score

from intents.classifier import (
    COMPONENT_NAME,
    LinearTextModel,
    ServiceClassifier,
    prediction_from_cats,
    softmax,
)
from intents.encoder import DEFAULT_DIR as ENCODER_DIR
from intents.encoder import ONNX_FILE, TOKENIZER_FILE
from intents.evaluation import (
    auto_file_share,
    auto_file_threshold,
    classification_metrics,
    expected_calibration_error,
    read_examples,
    wilson_lower_bound,
)
from intents.keywords import SERVICE_CODES
from intents.pipeline import SHIPPED_MODEL_DIR, ModelError, Pipeline, load_model, load_pipeline
from intents.splits import default_data_dir, is_heldout, labelled_file
from intents.training import DEFAULT_STATIC_TABLE, read_static_table, sha256_file

MULTILINGUAL = Path(__file__).parent / "data" / "multilingual.jsonl"
MULTILINGUAL_BLIND = Path(__file__).parent / "data" / "multilingual_blind.jsonl"


@pytest.fixture(scope="module")
def pipeline() -> Pipeline:
    return load_pipeline()


def test_the_shipped_model_is_a_spacy_pipeline_with_calibrated_cats(pipeline: Pipeline) -> None:
    assert pipeline.nlp.pipe_names == [COMPONENT_NAME]
    doc = pipeline.nlp("Streetlight out in front of 12 Elm St")
    assert set(doc.cats) == set(SERVICE_CODES)
    assert sum(doc.cats.values()) == pytest.approx(1.0, abs=1e-4)
    prediction = pipeline.classify("Streetlight out in front of 12 Elm St")
    assert prediction.service_code == max(doc.cats, key=doc.cats.__getitem__) == "streetlight"
    confidences = [prediction.confidence] + [p for _, p in prediction.alternatives]
    assert confidences == sorted(confidences, reverse=True)
    assert len(prediction.alternatives) == 3
    assert prediction.service_code not in {code for code, _ in prediction.alternatives}


def test_a_bot_reading_new_words_for_weeks_keeps_none_of_them(pipeline: Pipeline) -> None:
    # spaCy keeps every string a Doc meets in the shared vocabulary for the life of the process; a bot
    # reading case numbers, links and typos would grow without bound.
    pipeline.classify("warm up: pothole on Elm St")
    strings = len(pipeline.nlp.vocab.strings)
    for number in range(200):
        pipeline.classify(f"Case #{number}x{number * 7919} still open, see https://example.org/r/{number}q")
    assert len(pipeline.nlp.vocab.strings) == strings


def test_messages_read_from_many_threads_never_share_a_memory_zone() -> None:
    # The bot classifies from worker threads. spaCy's memory zones share one vocabulary: a zone ending in
    # one thread forgot words another thread was still reading, and from then on every message with such a
    # word ("Van Ness") failed until a restart. Each zone is held a little, so overlapping ones would meet.
    pipeline = load_pipeline()
    real_zone = pipeline.nlp.memory_zone
    guard = threading.Lock()
    active, most = 0, 0

    @contextlib.contextmanager
    def watched_zone(*args: Any, **kwargs: Any) -> Iterator[None]:
        nonlocal active, most
        with guard:
            active += 1
            most = max(most, active)
        try:
            time.sleep(0.005)
            with real_zone(*args, **kwargs):
                yield
        finally:
            with guard:
                active -= 1

    texts = [f"pothole at Zq{n}vell Ave and Van Ness, near the Blorp{n} cafe" for n in range(64)]
    expected = [pipeline.classify(text) for text in texts]
    pipeline.nlp.memory_zone = watched_zone  # type: ignore[method-assign]
    with ThreadPoolExecutor(max_workers=8) as pool:
        got = list(pool.map(pipeline.classify, texts))
    assert most == 1
    assert got == expected
    assert pipeline.classify("pothole at Van Ness Ave and Geary Blvd").service_code == "pothole"


def test_classifying_runs_no_tokenizer_and_agrees_with_the_whole_pipeline(pipeline: Pipeline) -> None:
    # The service classifier reads a Doc's text, never its tokens: a message is handed to spaCy as one token,
    # so no message pays for splitting words nobody reads. The answer is the pipeline's own, bit for bit.
    text = "Streetlight out in front of 12 Elm St,  flickering\nall night!!"
    with pipeline.nlp.memory_zone():
        cats = pipeline.nlp(text).cats
    tokenizer = pipeline.nlp.tokenizer

    def refuse(_text: str) -> Any:
        raise AssertionError("the tokenizer ran")

    pipeline.nlp.tokenizer = refuse
    try:
        prediction = pipeline.classify(text)
        empty = pipeline.classify("")
    finally:
        pipeline.nlp.tokenizer = tokenizer
    assert prediction == prediction_from_cats(cats)
    assert prediction.service_code == "streetlight"
    assert empty.service_code in SERVICE_CODES


def test_the_model_records_how_it_was_made(pipeline: Pipeline) -> None:
    meta = pipeline.nlp.meta["open311"]
    assert set(meta["data_sha256"]) >= {"boston311/labelled.csv"}
    assert all(len(digest) == 64 for digest in meta["data_sha256"].values())
    assert meta["training_config"]["seed"] == 13
    assert 0.5 < pipeline.auto_file_threshold < 1.0
    assert pipeline.auto_file_threshold == meta["auto_file_threshold"]
    assert load_pipeline(auto_file_threshold=0.99).auto_file_threshold == 0.99


def test_the_shipped_model_carries_the_distilled_word_table_it_was_trained_with(pipeline: Pipeline) -> None:
    meta = pipeline.nlp.meta["open311"]
    assert meta["data_sha256"]["minilm_words_128.npz"] == sha256_file(DEFAULT_STATIC_TABLE)
    component = pipeline.nlp.get_pipe(COMPONENT_NAME)
    assert isinstance(component, ServiceClassifier)
    model = component.model
    assert model is not None
    vocabulary, table = read_static_table(DEFAULT_STATIC_TABLE)
    assert model.static_vocabulary == vocabulary
    np.testing.assert_array_equal(model.static_table, table)
    # The block carries weight: without it the scores of an ordinary message move.
    text = "Rodents running around the dumpsters behind the restaurant"
    bare = replace(model, static_coef=np.zeros_like(model.static_coef))
    assert np.abs(bare.scores(text) - model.scores(text)).max() > 0.01


def test_the_shipped_model_carries_the_sentence_encoder_it_was_trained_with(pipeline: Pipeline) -> None:
    meta = pipeline.nlp.meta["open311"]
    component = pipeline.nlp.get_pipe(COMPONENT_NAME)
    assert isinstance(component, ServiceClassifier)
    model = component.model
    assert model is not None
    assert model.encoder is not None
    assert model.encoder_coef is not None
    # The model directory's own copy, identical to the repository's encoder that training read.
    assert model.encoder.onnx_path.parent == SHIPPED_MODEL_DIR / COMPONENT_NAME
    for name in (ONNX_FILE, TOKENIZER_FILE):
        assert meta["data_sha256"][name] == sha256_file(ENCODER_DIR / name)
    text = "Rodents running around the dumpsters behind the restaurant"
    bare = replace(model, encoder_coef=np.zeros_like(model.encoder_coef))
    assert np.abs(bare.scores(text) - model.scores(text)).max() > 0.01


def test_the_shipped_model_carries_the_guide_prior_and_reads_messages_without_their_place(
    pipeline: Pipeline,
) -> None:
    from intents.keywords import GUIDE_EXAMPLES

    component = pipeline.nlp.get_pipe(COMPONENT_NAME)
    assert isinstance(component, ServiceClassifier)
    model = component.model
    assert model is not None
    assert model.prior_coef is not None
    assert model.prior_examples is not None
    assert model.prior_codes == list(GUIDE_EXAMPLES)
    # Each code's cosine counts for that code, and for nearly every code among the three codes it counts most
    # for. Not for every one: cosines to examples of close codes move together, and a retrain may give their
    # weight to either (the closeness to abandoned vehicles' examples counts most for illegal parking; a
    # prior wired to the wrong codes would put a code among its own top three about 3 times in 17).
    in_top_three = []
    for row, code in enumerate(model.prior_codes):
        top_three = [model.classes[int(i)] for i in np.argsort(model.prior_coef[row])[-3:]]
        in_top_three.append(code in top_three)
        assert model.prior_coef[row][model.classes.index(code)] > 0, code
    assert sum(in_top_three) >= len(in_top_three) - 2, in_top_three
    # The place a message names is no feature of the sparse block: the same words elsewhere read the same.
    boston_indices, boston_values = model.vectorize("Pothole in front of 452 Hanover St")
    other_indices, other_values = model.vectorize("Pothole in front of 9 Elm Street")
    assert boston_indices == other_indices
    np.testing.assert_array_equal(boston_values, other_values)


PLAIN_MESSAGES = [
    # Written the way residents of other cities write, not copied from the training data.
    ("There's a giant pothole on Broadway that blew out my tire", "pothole"),
    ("Someone tagged the wall of the library with spray paint", "graffiti"),
    ("Somebody dumped an old mattress and a couch in the alley", "illegal_dumping"),
    ("Our recycling was not picked up this week", "missed_collection"),
    ("The street light at the corner has been out for days", "streetlight"),
    ("Car blocking my driveway, can't get out", "illegal_parking"),
    ("Huge tree branch fell and is blocking the sidewalk", "tree"),
    ("Loud music from the apartment upstairs every night past 2am", "noise"),
    ("Water main break flooding the street", "water_sewer"),
    ("Sidewalk not shoveled, solid ice all the way down the block", "snow_ice"),
    ("Rats running around the dumpsters behind the restaurant", "pests"),
    ("Used needles on the playground", "street_cleaning"),
    ("Homeless encampment with tents under the overpass", "encampment"),
    ("The walk signal at Main and 3rd is broken", "traffic_signal_sign"),
    ("Van with flat tires hasn't moved in a month, looks abandoned", "abandoned_vehicle"),
    ("Who do I talk to about my property tax bill?", "other"),
]


def test_plain_messages_get_their_code(pipeline: Pipeline) -> None:
    misses = [(text, code, pipeline.classify(text)) for text, code in PLAIN_MESSAGES]
    misses = [miss for miss in misses if miss[2].service_code != miss[1]]
    # A statistical model, not a rule list: one miss in sixteen is allowed.
    assert len(misses) <= 1, misses


def test_other_cities_words_read_as_the_training_datas(pipeline: Pipeline) -> None:
    from intents.features import read_message

    # A tag on a wall is graffiti; Boston's "tags" (licence plates) and "tagged" cars (tickets) are not.
    assert read_message("Fresh tagging on the walls of the underpass").glossed.endswith(" graffiti")
    for vehicle in ("expired tags on this car", "my car got tagged again for street cleaning"):
        assert "graffiti" not in read_message(vehicle).glossed
    cases = [
        ("Someone tagged the side of the Marigny Opera House last night", "graffiti"),
        ("Rim-bender in the middle of our road right past the stop sign", "pothole"),
        ("my car got tagged again for street cleaning", "illegal_parking"),
        # Chicago's elevated train stands on pillars; its garbage goes in black carts.
        ("tagging on the L pillars along Lake St by Damen", "graffiti"),
        ("my black cart is still full they came by and didnt dump it", "missed_collection"),
        # "They did not come by for the trash": street_cleaning 0.59 before.
        ("no pasaron por la basura esta semana", "missed_collection"),
        # A fall, people sleeping out, a pickup to book, trash that stinks: illegal_parking 0.53,
        # illegal_parking 0.26, illegal_dumping 0.46 and other 0.63 before (a tester writing for ten cities).
        ("un árbol se cayó en la calle Whittier Blvd y está bloqueando un carril", "tree"),
        ("Hay gente durmiendo en la parada del bus en Georgia Ave NW y Columbia Rd", "encampment"),
        ("¿Cuándo recogen los muebles viejos? necesito programar una recolección", "missed_collection"),
        ("Canal St和Mott St有好多垃圾，臭死了", "street_cleaning"),
        # Tyres a pothole burst are no dumped tyres (illegal_dumping 0.96 before); dumped ones still are.
        ("un bache me poncho dos llantas", "pothole"),
        ("Tiraron muebles viejos y llantas en el callejón", "illegal_dumping"),
        # Insects and trees other cities name (water_sewer 0.84, tree 0.66, street_cleaning 0.84 before).
        ("centipedes and cockroaches coming out of the storm drain", "pests"),
        ("termites in the old tree in the park", "pests"),
        ("dead eucalyptus in Balboa Park leaning toward the path", "tree"),
        ("coconut palm with dead fronds hanging over the sidewalk", "tree"),
        ("pothole on Palm Ave near 5th", "pothole"),
        # "The trash did not come by today" is the truck (street_cleaning 0.92, auto-filed, before); loose
        # dogs are no pothole (0.36 before).
        ("la basura no pasó hoy en Pebble Hills Blvd", "missed_collection"),
        ("el camión de la basura no vino", "missed_collection"),
        ("hay perros sueltos en la calle y atacan a la gente", "other"),
    ]
    assert [(text, pipeline.classify(text).service_code) for text, _ in cases] == cases


def test_spanish_and_chinese_common_problems_are_understood(pipeline: Pipeline) -> None:
    examples = read_examples(MULTILINGUAL)
    right = sum(pipeline.classify(e.text).service_code == e.service_code for e in examples)
    assert right / len(examples) >= 0.85


def test_a_message_read_through_its_gloss_alone_has_its_own_temperature(pipeline: Pipeline) -> None:
    model = pipeline.nlp.get_pipe(COMPONENT_NAME).model
    assert model.gloss_temperature is not None
    assert model.gloss_temperature != model.temperature
    spanish = "hay un bache enorme en la calle"
    expected = softmax(model.scores(spanish), model.gloss_temperature)
    np.testing.assert_allclose(model.probabilities(spanish), expected, rtol=1e-6)
    # (An English message the shortcut is not sure of: the whole model, with the English temperature.)
    english = "water everywhere on the corner"
    assert not model.takes_shortcut(english)
    np.testing.assert_allclose(
        model.probabilities(english), softmax(model.scores(english), model.temperature), rtol=1e-6
    )


def test_the_shipped_model_answers_plain_messages_without_the_encoder(pipeline: Pipeline) -> None:
    model = pipeline.nlp.get_pipe(COMPONENT_NAME).model
    shortcut = model.shortcut
    assert shortcut is not None
    # Chosen in training where, in cross-validation, it lost at most one right answer in 500: about half the
    # messages.
    recorded = pipeline.nlp.meta["open311"]["shortcut"]
    assert shortcut.threshold == pytest.approx(recorded["threshold"])
    assert 0.2 < recorded["cross_validated_share"] < 0.6
    plain = ["huge pothole in the street", "Car blocking my driveway at 452 Hanover St"]
    unclear = ["water everywhere on the corner", "can someone look at this please"]
    spanish = "hay un bache enorme en la calle"  # read through its gloss: always the whole model
    assert [model.takes_shortcut(text) for text in [*plain, *unclear, spanish]] == [True] * 2 + [False] * 3
    for text in plain:
        # The shortcut's answer is the whole model's code, at its own calibrated confidence.
        whole = softmax(model.scores(text), model.temperature)
        quick = model.probabilities(text)
        assert quick.argmax() == whole.argmax()
        assert float(quick.max()) >= shortcut.threshold
        assert not np.allclose(quick, whole)


def test_spanish_and_chinese_written_by_someone_who_never_saw_the_lexicon(pipeline: Pipeline) -> None:
    # 100 Spanish and 100 Chinese messages (Mexican, Caribbean, Spain; simplified, traditional, Cantonese),
    # every code, often without the obvious word, written and labelled by a helper that read only the
    # guide; the lexicon was then extended by another helper that never saw them. 51.5% before, 75.0% now.
    rows = [json.loads(line) for line in MULTILINGUAL_BLIND.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 200
    assert all(pipeline.detect_language(row["text"]) == row["language"] for row in rows)
    right = sum(pipeline.classify(row["text"]).service_code == row["service_code"] for row in rows)
    assert right / len(rows) >= 0.70


def test_the_english_only_blocks_read_the_gloss_of_a_message_not_in_english(pipeline: Pipeline) -> None:
    from intents.features import read_message

    # Read raw, "calle" (street) and "mi" pulled this to pothole through the MiniLM word table.
    spanish = "La farola de mi calle está apagada desde hace una semana"
    assert read_message(spanish).english == "streetlight street out week"
    assert read_message(spanish).glossed.startswith(spanish)
    assert pipeline.classify(spanish).service_code == "streetlight"
    assert read_message("路灯坏了").english == "streetlight broken"
    # English keeps its own words; a lexicon word English shares ("graffiti") does not make it Spanish.
    english = "Graffiti on the stop sign"
    assert read_message(english).english == read_message(english).glossed == f"{english} graffiti"
    assert read_message("Pothole on Elm St").english == "Pothole on Elm St"


def test_how_long_a_car_has_stood_is_read_in_spanish_and_chinese(pipeline: Pipeline) -> None:
    # Only "meses", "semanas" and "几个月" were glossed: "un mes", "成個月", "一个月" said nothing, and a
    # counted car ("一辆车", "一架車") was no car, so these read as illegal parking or "other".
    from intents.features import read_message

    assert read_message("hay un carro parqueado hace un mes").english.split() == ["car", "parked", "month"]
    assert read_message("有架車泊咗成個月").english == "car parked months"
    assert read_message("门口有辆车停了一个月").english == "car months"
    assert pipeline.classify("有架車泊咗成個月喺門口").service_code == "abandoned_vehicle"
    assert pipeline.classify("门口有辆车停了一个月").service_code == "abandoned_vehicle"
    # A car's tyres all flat are no tyres dumped: this was filed as illegal dumping (0.81, above threshold).
    assert read_message("有一辆废弃的车，轮胎都没气了").english == "abandoned car flat tires"
    assert (
        pipeline.classify("5th St和Market St有一辆废弃的车，轮胎都没气了").service_code == "abandoned_vehicle"
    )
    assert pipeline.classify("路边有人扔了很多旧轮胎").service_code == "illegal_dumping"


@pytest.mark.parametrize(
    ("text", "english", "code"),
    [
        ("otra vez el streetlight de mi cuadra no prende", "streetlight", "streetlight"),
        ("我家门口的sidewalk裂开了", "sidewalk cracked", "sidewalk"),
        ("門口個streetlight壞咗", "streetlight", "streetlight"),
    ],
)
def test_english_problem_words_inside_spanish_or_chinese_are_read_with_the_gloss(
    pipeline: Pipeline, text: str, english: str, code: str
) -> None:
    # Read through the gloss alone, the English-only blocks lost them: "streetlight" in a Spanish message
    # the lexicon knew only "otra vez" of was "other", as was "sidewalk" before Han characters.
    from intents.features import read_message

    reading = read_message(text)
    assert reading.gloss_only
    assert reading.english.startswith(english), reading.english
    assert pipeline.classify(text).service_code == code


def test_confidence_is_calibrated_and_the_threshold_holds_on_held_out_messages(pipeline: Pipeline) -> None:
    data_dir = default_data_dir()
    if data_dir is None:
        pytest.skip("the shared data directory (../shared/data) is not beside this checkout")
    held_out = [e for e in read_examples(labelled_file(data_dir)) if is_heldout(e.text)]
    assert 200 < len(held_out) < 400
    predictions = [pipeline.classify(e.text) for e in held_out]
    gold = [e.service_code for e in held_out]
    predicted = [p.service_code for p in predictions]
    confidences = [p.confidence for p in predictions]
    # A model whose confidences were raw scores or uncalibrated would miss these by a wide margin.
    assert (
        expected_calibration_error(confidences, [g == p for g, p in zip(gold, predicted, strict=True)]) < 0.12
    )
    share, precision = auto_file_share(gold, predicted, confidences, pipeline.auto_file_threshold)
    assert share > 0.15
    assert precision >= 0.88  # 95% targeted; a few hundred messages leave a few points of noise


def test_understand_finds_and_geocodes_the_place(pipeline: Pipeline) -> None:
    understanding = pipeline.understand("huge pothole at 5th and Market")
    assert understanding.prediction.service_code == "pothole"
    assert understanding.language == "en"
    assert understanding.location is not None
    assert understanding.location.text == "5th and Market"
    assert understanding.place is not None
    assert understanding.place.lat == pytest.approx(37.7840, abs=0.002)
    assert understanding.place.long == pytest.approx(-122.4081, abs=0.002)


def test_model_files_round_trip_and_corruption_is_reported(tmp_path: Path) -> None:
    component = load_model().get_pipe(COMPONENT_NAME)
    assert isinstance(component, ServiceClassifier)
    assert component.model is not None
    component.model.save(tmp_path / "copy")
    copy = LinearTextModel.load(tmp_path / "copy")
    text = "Abandoned car with no plates on Elm Street"
    np.testing.assert_allclose(copy.probabilities(text), component.model.probabilities(text), atol=1e-6)

    vocabulary = json.loads((tmp_path / "copy" / "vocabulary.json").read_text(encoding="utf-8"))
    vocabulary["terms"] = vocabulary["terms"][:-1]
    (tmp_path / "copy" / "vocabulary.json").write_text(json.dumps(vocabulary), encoding="utf-8")
    with pytest.raises(ValueError, match="shape"):
        LinearTextModel.load(tmp_path / "copy")
    with pytest.raises(ModelError, match="not a trained model"):
        load_model(tmp_path)
    assert (SHIPPED_MODEL_DIR / "meta.json").is_file()


def test_metrics_by_hand() -> None:
    gold = ["pothole", "pothole", "graffiti", "other", "tree", "other"]
    predicted = ["pothole", "pothole", "pothole", "other", "tree", "tree"]
    confidences = [0.99, 0.9, 0.8, 0.95, 0.7, 0.6]
    metrics = classification_metrics(gold, predicted, confidences, threshold=0.85)
    assert metrics.accuracy == pytest.approx(4 / 6)
    assert metrics.macro_f1 == pytest.approx(
        f1_score(gold, predicted, average="macro", labels=sorted(set(gold)))
    )
    assert metrics.confused_pairs[0][2] == 1
    # At 0.85 the two potholes are filed (the "other" never is): 2 of 6 messages, both right.
    assert (metrics.auto_file_share, metrics.auto_file_precision) == (pytest.approx(2 / 6), 1.0)
    # Lower thresholds add the wrong graffiti→pothole at 0.8: 2/3 < 95%, so 0.9 is the lowest that holds.
    assert auto_file_threshold(gold, predicted, confidences) == 0.9
    assert auto_file_threshold(["a"], ["b"], [0.9]) is None
    # With a margin: one wrong in every 25 is 96% right, enough for the bare 95% at the lowest threshold;
    # but the Wilson lower bound (one-sided 95%, z=1.645) of 96 of 100 is 91.4%, and no run of right answers
    # before the first error (24 of 24: 89.9%) reaches 95% either.
    gold = ["tree" if i % 25 == 24 else "pothole" for i in range(100)]
    many = [1.0 - i / 1000 for i in range(100)]
    assert auto_file_threshold(gold, ["pothole"] * 100, many) == pytest.approx(0.901)
    assert auto_file_threshold(gold, ["pothole"] * 100, many, z=1.645) is None
    assert wilson_lower_bound(96, 100, 1.645) == pytest.approx(0.9138, abs=1e-4)
    assert wilson_lower_bound(24, 24, 1.645) == pytest.approx(0.8987, abs=1e-4)
    assert wilson_lower_bound(96, 100, 0.0) == 0.96
    # Four hundred right answers in a row carry the bound past 95% (99.3%).
    assert auto_file_threshold(["pothole"] * 400, ["pothole"] * 400, [0.99] * 400, z=1.645) == 0.99
    # One bin at 0.9 with half right, one at 0.3 all wrong: |0.9-0.5|*2/3 + |0.3-0|*1/3.
    ece = expected_calibration_error([0.9, 0.9, 0.3], [True, False, False])
    assert ece == pytest.approx(0.4 * 2 / 3 + 0.3 / 3)
    assert math.isnan(expected_calibration_error([], []))


def test_inference_reads_the_same_features_training_did(pipeline: Pipeline) -> None:
    # Training vectorises with scikit-learn over message_features; inference has its own cached path.
    from collections import Counter

    from intents.features import message_features

    component = pipeline.nlp.get_pipe(COMPONENT_NAME)
    assert isinstance(component, ServiceClassifier)
    model = component.model
    assert model is not None
    texts = [text for text, _ in PLAIN_MESSAGES] + [
        "Hay basura en la acera",
        "Market街的路灯坏了",
        "",
        "a a a a",
    ]
    for text in texts:
        counts = Counter(
            i for name in message_features(text) if (i := model.vocabulary.get(name)) is not None
        )
        indices, values = model.vectorize(text)
        assert dict(zip(indices, [counts[i] for i in indices], strict=True)) == dict(counts)
        if counts:
            expected = (1 + np.log([counts[i] for i in indices])) * model.idf[indices]
            np.testing.assert_allclose(values, expected / np.linalg.norm(expected), rtol=1e-5)


def test_the_evaluation_report_says_when_nothing_is_filed_rather_than_precision_nan() -> None:
    from intents.evaluation import classification_metrics, format_classification

    gold = ["pothole", "noise", "other"]
    metrics = classification_metrics(gold, ["pothole", "noise", "other"], [0.5, 0.6, 0.9], 0.95)
    report = format_classification(metrics, "model")
    assert "at the model's threshold 0.950 (nothing filed)" in report
    assert "nan" not in report


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("🐀🐀🐀 everywhere behind 24th and Mission", "pests"),
        ("huge 🕳️ in the road at 5th and Market", "pothole"),
        ("💡 out at Castro and 18th", "streetlight"),
        ("🌳 fell on a car at Haight and Ashbury", "tree"),
        ("💩💩 on the sidewalk at 16th St and Mission St", "street_cleaning"),
        # Glossed after the message, "rats" dangled at the end of a short one: read as "other" at 0.88.
        ("🐀🐀🐀 behind the dumpsters on W Division", "pests"),
    ],
)
def test_an_emoji_that_names_the_problem_is_read_as_its_word(
    pipeline: Pipeline, text: str, expected: str
) -> None:
    """On social media the problem is often an emoji: "🐀🐀🐀", "🕳️" and "💡" were "other", "🌳 fell on a
    car" was "other", and "💩💩 on the sidewalk" was filed automatically as a broken sidewalk."""
    prediction = pipeline.classify(text)
    assert (prediction.service_code, prediction.confidence >= pipeline.auto_file_threshold) == (
        expected,
        True,
    )
