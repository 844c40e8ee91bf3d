"""The all-MiniLM-L6-v2 sentence encoder, fine-tuned on the pool labels (``scripts/finetune_minilm.py``), int8
ONNX, run by onnxruntime: general English knowledge, taught which service a message is about, for the service
classifier (one more dense feature block, ``intents.classifier``).

The graph (``intents/data/minilm_int8.onnx``, built by ``scripts/export_minilm_onnx.py``) takes token ids
and an attention mask and returns the unit-length mean-pooled embedding, 384 numbers; the tokenizer is the
model's own ``tokenizer.json`` read by the ``tokenizers`` package. Both load offline from files. The
session runs on one thread, sequentially: the bot serves one message at a time per process, and a thread
pool would only fight the other processes for the cores.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

ONNX_FILE: Final = "minilm_int8.onnx"
TOKENIZER_FILE: Final = "minilm_tokenizer.json"
DEFAULT_DIR: Final = Path(__file__).resolve().parent / "data"
# Tokens read per message. Boston messages are 21 word pieces at the median and 86 at the 99th percentile;
# the encoder was trained on up to 128 (and the distilled word table's targets used 128).
MAX_TOKENS: Final = 128
BATCH_SIZE: Final = 32

FloatArray = npt.NDArray[np.float32]


class EncoderError(ValueError):
    """The encoder files are missing or unreadable; the message says which."""


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class SentenceEncoder:
    """Embeds texts into unit vectors with the int8 MiniLM graph, one at a time or in batches."""

    def __init__(self, onnx_path: Path, tokenizer_path: Path, max_tokens: int = MAX_TOKENS) -> None:
        import onnxruntime  # type: ignore[import-untyped]
        from tokenizers import Tokenizer

        for path in (onnx_path, tokenizer_path):
            if not path.is_file():
                raise EncoderError(f"{path}: no such file (build it with scripts/export_minilm_onnx.py)")
        self.onnx_path = onnx_path
        self.tokenizer_path = tokenizer_path
        self.max_tokens = max_tokens
        try:
            self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        except Exception as error:  # the tokenizers package raises its own Exception subclass
            raise EncoderError(f"{tokenizer_path}: not a tokenizer.json: {error}") from error
        # The file pads every message to 128 tokens: pad only within a batch, to its longest message.
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(max_tokens)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # warnings about unused initialisers are not the caller's business
        try:
            self._session = onnxruntime.InferenceSession(
                str(onnx_path),
                options,
                providers=["CPUExecutionProvider"],
                # Its CPU kernel is several times slower than the LayerNormalization and Add it would replace
                # (measured: 1.1 against 1.7 ms for a 24-piece message); scripts/export_minilm_onnx.py leaves
                # them unfused for the same reason.
                disabled_optimizers=["SkipLayerNormFusion"],
            )
        except Exception as error:  # onnxruntime raises its own Exception subclasses
            raise EncoderError(f"{onnx_path}: not a loadable ONNX model: {error}") from error
        self.dim = int(self._session.get_outputs()[0].shape[-1])

    @classmethod
    def from_dir(cls, directory: Path = DEFAULT_DIR, max_tokens: int = MAX_TOKENS) -> SentenceEncoder:
        return cls(directory / ONNX_FILE, directory / TOKENIZER_FILE, max_tokens)

    def embed(self, text: str) -> FloatArray:
        """The unit-length embedding of one text, shape (dim,)."""
        ids = np.array([self._tokenizer.encode(text).ids], dtype=np.int64)
        return np.asarray(self._run(ids, np.ones_like(ids))[0], dtype=np.float32)

    def embed_batch(self, texts: Sequence[str], batch_size: int = BATCH_SIZE) -> FloatArray:
        """The embeddings of ``texts``, shape (len(texts), dim), in their order. Texts of similar length are
        run together (sorted by length within the call), so padding wastes little."""
        result = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return result
        encodings = self._tokenizer.encode_batch(list(texts))
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            chunk = order[start : start + batch_size]
            longest = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), longest), dtype=np.int64)
            mask = np.zeros((len(chunk), longest), dtype=np.int64)
            for row, index in enumerate(chunk):
                tokens = encodings[index].ids
                ids[row, : len(tokens)] = tokens
                mask[row, : len(tokens)] = 1
            result[chunk] = self._run(ids, mask)
        return result

    def _run(self, ids: npt.NDArray[np.int64], mask: npt.NDArray[np.int64]) -> FloatArray:
        (embedding,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
        return np.asarray(embedding, dtype=np.float32)
