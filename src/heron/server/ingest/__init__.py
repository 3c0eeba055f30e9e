"""Ingest: request decoding, the write-ahead log and the single store writer."""
