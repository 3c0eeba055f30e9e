"""The questions users ask of their data (retention, topics, flow), computed over the Store."""
