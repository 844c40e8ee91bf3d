"""``open311-bot classify``, ``eval`` and ``train`` as real subprocesses, as a script or CI runs them."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from intents.gazetteer import distance_metres
from intents.keywords import SERVICE_CODES
from tests.intents.tiny_data import write_tiny_data

REPO = Path(__file__).resolve().parents[2]
SF_MESSAGES = Path(__file__).parent / "data" / "sf_messages.jsonl"


def _run(
    args: list[str], cwd: Path, stdin: str | bytes = "", timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPEN311_BOT_")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-m", "bot.cli", *args],
        input=stdin.encode("utf-8") if isinstance(stdin, str) else stdin,
        capture_output=True,
        cwd=cwd,
        env=env,
        timeout=timeout,
        check=False,
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, result.stdout.decode("utf-8"), result.stderr.decode("utf-8")
    )


def test_classify_answers_every_line_and_survives_bad_ones(tmp_path: Path) -> None:
    lines = [
        json.dumps({"text": "huge pothole at 5th and Market"}),
        "this is not json",
        json.dumps({"text": 42}),
        json.dumps(["a", "list"]),
        json.dumps({"id": "m-7", "text": "Hay basura en la acera de Valencia St"}),
        json.dumps({"text": "路灯坏了"}),
        json.dumps({"text": ""}),
        "",  # a blank line is answered too: answers match questions by position
        '{"id": 9, "text": "lone surrogate \\ud800 pothole"}',
    ]
    # The byte-order mark a Windows tool writes first must not cost the first line its answer.
    raw = (
        b"\xef\xbb\xbf"
        + ("\n".join(lines) + "\n").encode("utf-8")
        + b'{"text": "bad bytes \xff\xfe graffiti"}\n'
    )
    result = _run(["classify"], tmp_path, stdin=raw)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == len(lines) + 1

    pothole = out[0]
    assert set(pothole) == {"service_code", "confidence", "alternatives", "location", "language"}
    assert pothole["service_code"] == "pothole"
    assert 0.0 < pothole["confidence"] <= 1.0
    assert [set(alt) for alt in pothole["alternatives"]] == [{"service_code", "confidence"}] * 3
    assert pothole["location"]["text"] == "5th and Market"
    assert pothole["location"]["kind"] == "intersection"
    assert pothole["location"]["lat"] == pytest.approx(37.784, abs=0.002)
    assert pothole["location"]["long"] == pytest.approx(-122.408, abs=0.002)
    assert pothole["language"] == "en"

    assert set(out[1]) == {"error"}
    assert "not JSON" in out[1]["error"]
    assert "'text' must be a string" in out[2]["error"]
    assert "JSON object" in out[3]["error"]
    assert out[4]["id"] == "m-7"
    assert out[4]["service_code"] == "street_cleaning"
    assert out[4]["language"] == "es"
    assert out[5]["service_code"] == "streetlight"
    assert out[5]["language"] == "zh"
    assert out[5]["location"] is None
    # An empty message is still answered (a person will have to look), not an error.
    assert out[6]["service_code"] in SERVICE_CODES
    assert out[6]["location"] is None
    assert out[7] == {"error": "empty line"}
    assert out[8]["id"] == 9
    assert out[8]["service_code"] == "pothole"
    assert out[9]["service_code"] == "graffiti"


def test_classify_places_sf_messages_within_50_metres(tmp_path: Path) -> None:
    # 250 messages written the way San Francisco residents tweet and text (typos, lower case, "divis",
    # "05th ave & irving", "lat: 37.7359 lon: -122.3815"), each naming a gazetteer address, corner, stretch
    # or typed point, or no place: written by a helper who never read the finder or the geocoder.
    rows = [json.loads(line) for line in SF_MESSAGES.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 250
    stdin = "".join(json.dumps({"id": row["id"], "text": row["text"]}) + "\n" for row in rows)
    result = _run(["classify"], tmp_path, stdin=stdin)
    assert result.returncode == 0, result.stderr
    answers = {answer["id"]: answer["location"] for answer in map(json.loads, result.stdout.splitlines())}
    misses = []
    for row in rows:
        location = answers[row["id"]]
        if row["kind"] == "none":
            if location is not None:
                misses.append((row["text"], location))
            continue
        if (
            location is None
            or location["lat"] is None
            or distance_metres(location["lat"], location["long"], row["lat"], row["long"]) > 50
        ):
            misses.append((row["text"], location))
    # The requirement is 95% within 50 m; 245 of 250 are today (229 when the set was written). The misses:
    # a corner the city records twice 132 m apart, "divis", "St. Elmo Way", "mariposa n rhode island" and
    # "at page and stanyan" (everyday words joined by "and": no corner, as "elm and main" is none).
    assert len(misses) <= 6, misses


def test_eval_prints_every_figure_and_the_baseline(tmp_path: Path) -> None:
    data_dir = write_tiny_data(tmp_path / "data")
    examples = [
        {
            "text": "Big pothole at 452 Hanover St",
            "service_code": "pothole",
            "location_text": "452 Hanover St",
        },
        {"text": "pothole on the road", "service_code": "pothole", "location_text": ""},
        {
            "text": "Graffiti on the wall at 5th and Market",
            "service_code": "graffiti",
            "location_text": "5th and Market",
        },
        {"text": "graffiti tags everywhere", "service_code": "graffiti", "location_text": ""},
        {"text": "When is the council meeting?", "service_code": "other", "location_text": ""},
    ]
    # Saved by Excel as "CSV UTF-8": a byte-order mark before the header.
    file = tmp_path / "set.csv"
    with file.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["text", "service_code", "location_text"])
        writer.writeheader()
        writer.writerows(examples)
    result = _run(["eval", str(file), "--data", str(data_dir)], tmp_path)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for expected in (
        "5 messages",
        "accuracy",
        "macro-F1",
        "ECE",
        "auto-filed share",
        "95% precision",
        "most confused",
        "== location spans",
        "span F1",
        "== baseline: TF-IDF + logistic regression",
    ):
        assert expected in out, expected
    model_part, baseline_part = out.split("== baseline")
    assert "\npothole " in model_part
    assert "\ngraffiti " in baseline_part

    assert "codes the model does not know" not in result.stderr
    # A label the model does not know (a typo, another taxonomy) is scored as a miss, and said.
    typo = tmp_path / "typo.csv"
    typo.write_text(
        "text,service_code\npothole on 5th,pothole\ngraffiti on a wall,grafiti\n", encoding="utf-8"
    )
    result = _run(["eval", str(typo), "--data", str(data_dir)], tmp_path)
    assert result.returncode == 0, result.stderr
    assert "1 message is labelled with codes the model does not know, counted as misses: 'grafiti' (1)" in (
        result.stderr
    )

    broken = tmp_path / "broken.csv"
    broken.write_text("text,service_code\nfine,pothole\n,graffiti\n", encoding="utf-8")
    result = _run(["eval", str(broken)], tmp_path)
    assert result.returncode == 2
    assert "broken.csv:3: missing or empty 'text'" in result.stderr


def test_train_shows_progress_and_writes_a_usable_model(tmp_path: Path) -> None:
    data_dir = write_tiny_data(tmp_path / "data")
    # The tiny data alone: the 40,000 shipped pool labels would make this a ten-minute training.
    model_dir = tmp_path / "model"
    arguments = ["train", "--data", str(data_dir), "--without-pool-labels", "--out", str(model_dir)]
    result = _run(arguments, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads((model_dir / "meta.json").read_text())["open311"]["pool_labelled_examples"] == 0
    assert "6/6" in result.stderr  # tqdm's bar reached the last step
    assert "no unlabelled messages" not in result.stderr
    assert f"model saved to {tmp_path / 'model'}" in result.stdout
    share = json.loads((model_dir / "meta.json").read_text())["open311"]["shortcut"]["cross_validated_share"]
    assert f"{share:.1%} answered without the encoder" in result.stdout
    result = _run(
        ["classify", "--model", str(tmp_path / "model")],
        tmp_path,
        stdin=json.dumps({"text": "graffiti on the wall"}),
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["service_code"] == "graffiti"

    result = _run(["train", "--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "m2")], tmp_path)
    assert result.returncode == 2
    assert "no labelled data" in result.stderr
    assert "no unlabelled messages" not in result.stderr  # the error that matters, alone

    # Without the unlabelled pool training still works, and says the model is the weaker for it.
    (data_dir / "boston311" / "unlabelled.csv.gz").unlink()
    result = _run([*arguments[:-1], str(tmp_path / "m3")], tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"no unlabelled messages at {data_dir / 'boston311' / 'unlabelled.csv.gz'}" in result.stderr


def test_classify_stops_quietly_when_the_reader_stops_or_on_ctrl_c(tmp_path: Path) -> None:
    """`open311-bot classify < messages | head -1` printed a BrokenPipeError traceback and exited 1; Ctrl-C
    a KeyboardInterrupt one."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPEN311_BOT_")}
    env["PYTHONPATH"] = str(REPO)
    lines = "".join(
        json.dumps({"text": f"pothole number {n} at 5th St and Market St"}) + "\n" for n in range(3000)
    )
    (tmp_path / "in.jsonl").write_text(lines, encoding="utf-8")
    command = (
        f'{sys.executable} -m bot.cli classify < in.jsonl | head -1; echo "status ${{PIPESTATUS[0]}}" >&2'
    )
    result = subprocess.run(
        ["bash", "-c", command],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=240,
        check=False,
    )
    assert json.loads(result.stdout)["service_code"] == "pothole"
    assert result.stderr.strip() == "status 0", result.stderr
    # Ctrl-C (SIGINT) while it reads: status 130, no traceback.
    process = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "classify"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=tmp_path,
        env=env,
        text=True,
    )
    assert process.stdin is not None
    assert process.stdout is not None
    process.stdin.write(json.dumps({"text": "pothole at 5th St and Market St"}) + "\n")
    process.stdin.flush()
    assert process.stdout.readline()  # the model is loaded and the line answered
    process.send_signal(signal.SIGINT)
    _out, error = process.communicate(timeout=60)
    assert process.returncode == 130
    assert "Traceback" not in error


def test_the_held_out_split_writer_answers_help_instead_of_writing_a_file_named_help(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPEN311_BOT_")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-m", "intents.splits", "--help"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0
    assert "usage:" in result.stdout
    assert list(tmp_path.iterdir()) == []  # before: "wrote 296 held-out messages to --help"


def test_eval_warns_when_the_file_holds_messages_the_model_was_trained_on(tmp_path: Path) -> None:
    """A data scientist who evaluated 200 rows of labelled.csv read 0.94 (the held-out split reads 0.83),
    and nothing said those rows had trained the model."""
    labelled = REPO.parent / "shared" / "data" / "boston311" / "labelled.csv"
    if not labelled.is_file():
        pytest.skip("the shared data (../shared/data) is not beside the project")
    from intents.splits import is_heldout

    with labelled.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    trained = [r for r in rows if not is_heldout(r["text"])][:6]
    heldout = [r for r in rows if is_heldout(r["text"])][:4]
    for name, picked in (("mixed.csv", trained + heldout), ("heldout.csv", heldout)):
        with (tmp_path / name).open("w", encoding="utf-8", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=["text", "service_code"], extrasaction="ignore")
            writer.writeheader()
            writer.writerows(picked)
    mixed = _run(["eval", "mixed.csv", "--data", str(labelled.parents[1])], tmp_path)
    assert mixed.returncode == 0, mixed.stderr
    assert "6 of 10 messages are ones the shipped model was trained on" in mixed.stderr
    # Which ones: the lines of the file (a header, then the six trained-on rows), to find and drop them.
    assert "lines 2, 3, 4, 5, 6, 7)" in mixed.stderr
    clean = _run(["eval", "heldout.csv", "--data", str(labelled.parents[1])], tmp_path)
    assert "trained on" not in clean.stderr


def test_eval_writes_each_miss_and_scores_each_group_of_a_field(tmp_path: Path) -> None:
    """A data scientist evaluating 277 messages of their own cities had to write a script to find any miss,
    and eval ignored the file's `city` field."""
    data_dir = write_tiny_data(tmp_path / "data")
    rows = [
        {
            "id": "Z-1",
            "city": "Zurich",
            "text": "huge pothole at 5th and Market",
            "service_code": "pothole",
            "location_text": "5th and Market",
            "note": "right",
        },
        # Labelled wrongly on purpose: the model reads graffiti, so the code is a miss (the span is right).
        {
            "id": "Z-2",
            "city": "Zurich",
            "text": "graffiti all over the wall at 452 Hanover St",
            "service_code": "pothole",
            "location_text": "452 Hanover St",
            "note": "code",
        },
        # The code is right, the labelled place is not the one found: a span miss.
        {
            "id": "Z-3",
            "city": "Zurich",
            "text": "streetlight out at Valencia St and 16th St",
            "service_code": "streetlight",
            "location_text": "Mission St",
            "note": "span",
        },
        {
            "id": "B-1",
            "city": "Boise",
            "text": "graffiti tags everywhere",
            "service_code": "graffiti",
            "location_text": "",
            "note": "right",
        },
        {
            "id": "B-2",
            "city": "Boise",
            "text": "pothole on the road",
            "service_code": "pothole",
            "location_text": "",
            "note": "right",
        },
    ]
    file = tmp_path / "nlu.jsonl"
    file.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    misses_file = tmp_path / "misses.jsonl"
    arguments = ["eval", str(file), "--data", str(data_dir), "--misses", str(misses_file), "--by", "city"]
    result = _run(arguments, tmp_path)
    assert result.returncode == 0, result.stderr
    misses = [json.loads(line) for line in misses_file.read_text(encoding="utf-8").splitlines()]
    assert [miss["id"] for miss in misses] == ["Z-2", "Z-3"]
    code_miss, span_miss = misses
    # The input's own fields come back as they were, then what was expected and what the model said.
    assert {key: code_miss[key] for key in rows[1]} == rows[1]
    assert code_miss["wrong"] == ["service_code"]
    assert code_miss["expected_service_code"] == "pothole"
    assert code_miss["predicted_service_code"] == "graffiti"
    assert 0.5 < code_miss["confidence"] <= 1.0
    assert [set(alt) for alt in code_miss["alternatives"]] == [{"service_code", "confidence"}] * 3
    assert "graffiti" not in [alt["service_code"] for alt in code_miss["alternatives"]]
    assert code_miss["expected_location_text"] == code_miss["predicted_location_text"] == "452 Hanover St"
    assert span_miss["wrong"] == ["location_text"]
    assert span_miss["predicted_service_code"] == "streetlight"
    assert span_miss["expected_location_text"] == "Mission St"
    assert span_miss["predicted_location_text"] == "Valencia St and 16th St"
    assert (
        f"misses: 2 of 5 messages (1 wrong service code, 1 wrong place) written to {misses_file}"
        in result.stdout
    )

    # Groups by size, largest first; the span figures of a group with no place to find are not zeros.
    by_city = result.stdout.split("== by city")[1].split("==")[0].splitlines()
    assert by_city[0].strip() == "(2 groups)"
    assert by_city[1].split() == ["city", "messages", "accuracy", "macro-F1", "span-P", "span-R", "span-F1"]
    assert by_city[2].split() == ["Zurich", "3", "0.667", "0.833", "0.667", "0.667", "0.667"]
    assert by_city[3].split() == ["Boise", "2", "1.000", "1.000", "-", "-", "-"]

    # Without span labels (a CSV of text and codes), only code misses are written and no span is scored.
    plain = tmp_path / "plain.csv"
    plain.write_text("text,service_code\npothole on the road,graffiti\ngraffiti tags everywhere,graffiti\n")
    result = _run(["eval", str(plain), "--data", str(data_dir), "--misses", str(misses_file)], tmp_path)
    assert result.returncode == 0, result.stderr
    [miss] = [json.loads(line) for line in misses_file.read_text(encoding="utf-8").splitlines()]
    assert miss["line"] == 2
    assert miss["predicted_service_code"] == "pothole"
    assert "expected_location_text" not in miss
    assert "misses: 1 of 2 messages (1 wrong service code) written to" in result.stdout

    # No place, labelled or found, is null on both sides (as `classify` writes it), not "" against null.
    placeless = tmp_path / "placeless.jsonl"
    row = {"text": "graffiti tags everywhere", "service_code": "pothole", "location_text": ""}
    placeless.write_text(json.dumps(row) + "\n", encoding="utf-8")
    result = _run(["eval", str(placeless), "--data", str(data_dir), "--misses", str(misses_file)], tmp_path)
    assert result.returncode == 0, result.stderr
    [miss] = [json.loads(line) for line in misses_file.read_text(encoding="utf-8").splitlines()]
    assert miss["expected_location_text"] is None
    assert miss["predicted_location_text"] is None
    # The auto-filed share says that an answer "other" is never filed, however sure.
    assert "an answer 'other' always goes to a person" in result.stdout

    # A field the file does not have is named, with the fields it has, before the model is loaded.
    result = _run(["eval", str(file), "--by", "cty"], tmp_path)
    assert result.returncode == 2
    assert (
        f"--by cty: no such field in {file}; its fields: id, city, text, service_code, location_text, note"
        in result.stderr
    )
    # A --data that holds no labelled messages is an error, as it is for train (it printed "baseline:
    # skipped (no training data; pass --data DIR)" to someone who had passed --data).
    result = _run(["eval", str(file), "--data", str(tmp_path / "nowhere")], tmp_path)
    assert result.returncode == 2
    assert f"no labelled messages at {tmp_path / 'nowhere' / 'boston311' / 'labelled.csv'}" in result.stderr

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert "--misses" in readme
    assert "--by FIELD" in readme
