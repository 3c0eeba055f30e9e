"""Enrichment: what Heron derives from each interaction after ingest (sentiment, frustration, topics).

Runs off the acknowledgement path, in batches; each step is an :class:`~heron.enrich.base.Enricher`.
"""
