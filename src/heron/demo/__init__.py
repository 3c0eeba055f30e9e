"""Demo material: simulated chat traffic (:mod:`heron.demo.generator`) and a fake LLM."""
