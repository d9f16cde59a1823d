"""Hardening tests: adversarial input, pathological data, interrupted runs, determinism."""
