"""Heron's errors cross process boundaries (the OTLP decode worker) intact."""

from __future__ import annotations


def test_errors_survive_pickling_across_the_decode_process() -> None:
    import pickle

    from heron.errors import OverloadedError, PayloadError, UnknownKeyError, ValidationError

    for error in (ValidationError("a.b", "too long"), PayloadError("body", "bad"), OverloadedError("full", retry_after=3.0), UnknownKeyError("test", "x", ["a"])):
        again = pickle.loads(pickle.dumps(error))
        assert type(again) is type(error) and str(again) == str(error)
        assert getattr(again, "field", None) == getattr(error, "field", None)
        assert getattr(again, "retry_after", None) == getattr(error, "retry_after", None)
