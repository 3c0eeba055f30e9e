"""The Heron SDK: record LLM calls from an application at a cost of a few microseconds each.

The public surface is re-exported by :mod:`heron`; see ``client.py`` for the
lifecycle, ``buffer.py`` and ``worker.py`` for what happens to a record.
Importing this package starts nothing: no thread, no socket, no handler.
"""
