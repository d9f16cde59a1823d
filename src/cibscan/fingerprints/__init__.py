"""Operator fingerprints: what the accounts of one network have in common."""
