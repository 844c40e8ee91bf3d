"""The int8 MiniLM sentence encoder loads offline from the repository's files and embeds meaning."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from intents.encoder import DEFAULT_DIR, ONNX_FILE, TOKENIZER_FILE, EncoderError, SentenceEncoder


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder.from_dir()


def test_it_loads_offline_and_gives_unit_vectors(encoder: SentenceEncoder) -> None:
    texts = ["Huge pothole at 5th and Market", "", "rats " * 500, "路灯坏了"]
    vectors = np.vstack([encoder.embed(text) for text in texts])
    assert vectors.shape == (4, encoder.dim) == (4, 384)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-4)
    # The same text, the same numbers (one thread, no randomness).
    np.testing.assert_array_equal(encoder.embed(texts[0]), vectors[0])


def test_it_knows_general_english(encoder: SentenceEncoder) -> None:
    rats, rodents, pothole = (
        encoder.embed(text)
        for text in ("Rats in the alley", "Rodents running behind the restaurant", "Pothole on the road")
    )
    assert rats @ rodents > rats @ pothole + 0.1


def test_a_batch_keeps_order_and_is_close_to_one_at_a_time(encoder: SentenceEncoder) -> None:
    texts = ["short", "a much longer message about a broken streetlight on the corner", "graffiti", "short"]
    batch = encoder.embed_batch(texts, batch_size=3)
    single = np.vstack([encoder.embed(text) for text in texts])
    # int8 activations are quantised per call, so padding and batch mates move the numbers a little.
    assert (batch * single).sum(axis=1).min() > 0.97
    assert encoder.embed_batch([]).shape == (0, encoder.dim)


def test_missing_or_broken_files_are_reported(tmp_path: Path) -> None:
    with pytest.raises(EncoderError, match="no such file"):
        SentenceEncoder.from_dir(tmp_path)
    (tmp_path / ONNX_FILE).write_bytes(b"not onnx")
    (tmp_path / TOKENIZER_FILE).write_bytes((DEFAULT_DIR / TOKENIZER_FILE).read_bytes())
    with pytest.raises(EncoderError, match="not a loadable ONNX model"):
        SentenceEncoder.from_dir(tmp_path)
