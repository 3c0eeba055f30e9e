"""Data drift between a reference and a current sample, feature by feature.

Each test is a registered unit (``registry.register``) with its threshold:
numeric ``ks``, ``wasserstein``, ``psi``; categorical ``chi2``,
``jensenshannon`` (and ``psi``); embeddings ``mmd``, ``classifier``.
:func:`compare` infers each feature's kind, picks a test by kind and sample size
(see ``compare.py``) and returns a :class:`DriftReport`. See docs/drift.md.
"""

from __future__ import annotations

from heron.stats.drift import chi2, classifier, jensenshannon, ks, mmd, psi, wasserstein  # noqa: F401  (registration)
from heron.stats.drift._samples import infer_kind
from heron.stats.drift.compare import compare, default_test, detect
from heron.stats.drift.registry import KINDS, DriftTest, Measured, UnknownTestError, get, keys, register
from heron.stats.drift.result import DriftReport, DriftResult

__all__ = [
    "KINDS",
    "DriftReport",
    "DriftResult",
    "DriftTest",
    "Measured",
    "UnknownTestError",
    "compare",
    "default_test",
    "detect",
    "get",
    "infer_kind",
    "keys",
    "register",
]
