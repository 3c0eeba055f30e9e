"""Data-drift speed, and Evidently's DataDriftPreset on the same data.

1. ``drift_1m_s``: ``heron.stats.drift.compare`` on 1M reference vs 1M current
   rows x 10 columns (7 numeric, 3 categorical object-string columns, one
   numeric column with 1% NaN), of which 3 truly drift: a 15% latency increase,
   a 40% wider score, a changed model mix. Default tests (Wasserstein and
   Jensen–Shannon at this size), one thread; median of ``--repeat`` runs, the
   arrays already in memory. The same comparison at 10k and 100k rows is in
   the record's ``sizes``.
2. ``drift_embed_10k_s``: 10k vs 10k embeddings x 256 dims (current shifted by
   0.05 per dimension): the ``mmd`` test including its 500-permutation test
   (each side subsampled to 2,000 rows), median of ``--repeat`` runs; the
   ``classifier`` test (what the default rule picks at 10k) is in the record.
3. Evidently 0.7.23 needs ``pandas < 3``, so it runs in its own venv,
   ``bench/.venv-evidently`` (created on first use with ``python -m venv`` and
   pip), in a subprocess fed the same arrays through an ``.npz`` file. Its time
   is ``Report([DataDriftPreset()]).run`` plus reading the result, after the
   DataFrames are built; which columns each tool flags is compared column by
   column, and so are the statistics (``max_statistic_gap``; Evidently's
   Jensen–Shannon distance uses natural logarithms, so ours, base 2, is
   multiplied by sqrt(ln 2) for that comparison). ``--no-evidently`` skips it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from bench._common import ROOT, record
from heron.stats.drift import compare, detect

EVIDENTLY_VENV = ROOT / "bench" / ".venv-evidently"
EVIDENTLY_PINS = ["evidently==0.7.23", "pandas<3"]
DRIFTED = {"num_latency", "num_score", "cat_model"}

MODELS = np.array(["gpt-4o", "gpt-4o-mini", "claude-3-5-sonnet", "llama-3.1-70b", "gemini-1.5-pro"], dtype=object)
LANGS = np.array(["en", "de", "fr", "es", "it", "pt", "ja", "zh"], dtype=object)
STATUS = np.array(["ok", "error", "timeout"], dtype=object)

EVIDENTLY_SCRIPT = r"""
import json, resource, sys, time
import numpy as np, pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.presets import DataDriftPreset

data = np.load(sys.argv[1])
frames = {}
for side in ("reference", "current"):
    frames[side] = pd.DataFrame({k.split("/", 1)[1]: (data[k].astype(object) if data[k].dtype.kind == "U" else data[k])
                                 for k in data.files if k.startswith(side + "/")})
columns = list(frames["reference"].columns)
definition = DataDefinition(numerical_columns=[c for c in columns if c.startswith("num_")],
                            categorical_columns=[c for c in columns if c.startswith("cat_")])
reference = Dataset.from_pandas(frames["reference"], data_definition=definition)
current = Dataset.from_pandas(frames["current"], data_definition=definition)
started = time.perf_counter()
snapshot = Report([DataDriftPreset()]).run(current, reference)
metrics = snapshot.dict()["metrics"]
seconds = time.perf_counter() - started
columns = {}
for metric in metrics:
    config = metric["config"]
    if config.get("type", "").endswith("ValueDrift"):
        method, value, threshold = config["method"], float(metric["value"]), float(config["threshold"])
        drifted = value < threshold if "p_value" in method else value >= threshold
        columns[config["column"]] = {"method": method, "value": value, "drifted": drifted}
print(json.dumps({"seconds": seconds, "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "columns": columns}))
"""


def tabular(n: int, seed: int = 0) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)

    def side(drift: bool) -> dict[str, np.ndarray]:
        cost = rng.exponential(0.002, n)
        cost[rng.random(n) < 0.01] = np.nan
        return {
            "num_latency": rng.lognormal(6.15 if drift else 6.0, 0.5, n),
            "num_tokens_in": rng.poisson(200, n).astype(np.int64),
            "num_tokens_out": np.clip(rng.normal(300, 80, n), 1, None),
            "num_score": rng.normal(0.0, 1.4 if drift else 1.0, n),
            "num_cost": cost,
            "num_ttft": rng.gamma(2.0, 50.0, n),
            "num_temperature": rng.normal(0.7, 0.1, n),
            "cat_model": MODELS[rng.choice(5, n, p=[0.25, 0.25, 0.15, 0.1, 0.25] if drift else [0.4, 0.25, 0.15, 0.1, 0.1])],
            "cat_lang": LANGS[rng.choice(8, n, p=[0.5, 0.1, 0.1, 0.1, 0.05, 0.05, 0.05, 0.05])],
            "cat_status": STATUS[rng.choice(3, n, p=[0.95, 0.04, 0.01])],
        }

    return side(False), side(True)


def timed(run: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    samples, result = [], None
    for _ in range(repeat):
        started = time.perf_counter()
        result = run()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples), min(samples), result


def evidently_python() -> Path:
    python = EVIDENTLY_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {EVIDENTLY_VENV} ({', '.join(EVIDENTLY_PINS)})", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(EVIDENTLY_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *EVIDENTLY_PINS], check=True)
    return python


def run_evidently(python: Path, reference: dict[str, np.ndarray], current: dict[str, np.ndarray]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "drift.npz"
        arrays = {f"{name}/{k}": (v.astype(str) if v.dtype == object else v) for name, data in (("reference", reference), ("current", current)) for k, v in data.items()}
        np.savez(path, **arrays)  # type: ignore[arg-type]
        done = subprocess.run([str(python), "-c", EVIDENTLY_SCRIPT, str(path)], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"evidently failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def _as_evidently(result: Any) -> float:
    # Evidently's Jensen–Shannon distance uses natural logarithms; ours is base 2 (scipy's base=2).
    return float(result.statistic * np.sqrt(np.log(2)) if result.test == "jensenshannon" else result.statistic)


def bench_tabular(sizes: list[int], repeat: int, with_evidently: bool) -> None:
    python = evidently_python() if with_evidently else None
    rows: dict[str, dict[str, Any]] = {}
    for n in sizes:
        reference, current = tabular(n)
        median, best, report = timed(lambda: compare(reference, current), repeat)
        ours = {r.feature: r for r in report}
        flagged = sorted(f for f, r in ours.items() if r.drifted)
        row: dict[str, Any] = {"heron_s": round(median, 4), "heron_best_s": round(best, 4), "heron_flagged": flagged,
                               "heron_correct": set(flagged) == DRIFTED,
                               "tests": sorted({r.test for r in report})}
        print(f"{n:>9,} rows  heron {median:7.3f} s (best {best:.3f})  flags {flagged}", flush=True)
        if python is not None:
            theirs = run_evidently(python, reference, current)
            their_flags = sorted(c for c, v in theirs["columns"].items() if v["drifted"])
            agree = sum(ours[c].drifted == v["drifted"] for c, v in theirs["columns"].items())
            row.update(evidently_s=round(theirs["seconds"], 3), evidently_max_rss_mb=round(theirs["max_rss_mb"]),
                       evidently_flagged=their_flags, verdicts_agree=f"{agree}/{len(theirs['columns'])}",
                       speedup=round(theirs["seconds"] / median, 1),
                       max_statistic_gap=round(max(abs(_as_evidently(ours[c]) - v["value"]) for c, v in theirs["columns"].items()), 6))
            print(f"{'':>15}evidently {theirs['seconds']:7.2f} s  flags {their_flags}  verdicts agree {agree}/{len(theirs['columns'])}"
                  f"  max |statistic gap| {row['max_statistic_gap']}", flush=True)
        rows[f"{n}"] = row
    largest = str(max(sizes))
    label = "1m" if max(sizes) == 1_000_000 else largest
    record(f"drift_{label}_s", rows[largest]["heron_s"], "s", rows=int(largest), columns=10, drifted_columns=sorted(DRIFTED),
           sizes=rows, target="< 1")


def bench_embeddings(n: int, dim: int, repeat: int) -> None:
    rng = np.random.default_rng(1)
    reference, current = rng.normal(size=(n, dim)), rng.normal(size=(n, dim)) + 0.05
    same = rng.normal(size=(n, dim))
    mmd_s, mmd_best, shifted = timed(lambda: detect(reference, current, test="mmd"), repeat)
    null = detect(reference, same, test="mmd")
    clf_s, _, clf = timed(lambda: detect(reference, current, test="classifier"), repeat)
    clf_null = detect(reference, same, test="classifier")
    print(f"embeddings {n:,} x {dim}: mmd {mmd_s:.3f} s (p {shifted.p_value:.4f}, null p {null.p_value:.3f}); "
          f"classifier {clf_s:.3f} s (AUC {clf.statistic:.3f}, null AUC {clf_null.statistic:.3f})", flush=True)
    record("drift_embed_10k_s" if (n, dim) == (10_000, 256) else f"drift_embed_{n}x{dim}_s", mmd_s, "s",
           rows=n, dims=dim, test="mmd", n_permutations=500, subsample=2_000, best_s=round(mmd_best, 4),
           shift_detected=shifted.drifted, shift_p=shifted.p_value, null_detected=null.drifted, null_p=null.p_value,
           classifier_s=round(clf_s, 4), classifier_auc=round(clf.statistic, 4), classifier_detected=clf.drifted,
           classifier_null_auc=round(clf_null.statistic, 4), classifier_null_detected=clf_null.drifted, target="< 2")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-evidently", action="store_true")
    parser.add_argument("--embed-n", type=int, default=10_000)
    parser.add_argument("--embed-dim", type=int, default=256)
    args = parser.parse_args()
    bench_tabular([int(s) for s in args.sizes.split(",")], args.repeat, not args.no_evidently)
    bench_embeddings(args.embed_n, args.embed_dim, args.repeat)


if __name__ == "__main__":
    main()
