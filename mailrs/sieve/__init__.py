"""Sieve (RFC 5228) filtering at delivery: parsing, evaluation, per-user storage, vacation."""
