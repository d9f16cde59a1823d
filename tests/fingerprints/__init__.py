"""Tests of cibscan.fingerprints."""
