"""The Heron server: the one place that picks concrete backends; nothing imports it."""
