"""Statistics cores: arrays and floats in, results out; imports nothing of Heron."""
