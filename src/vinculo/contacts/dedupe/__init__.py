"""Duplicate records: the background scan, the review queue and the merge."""
