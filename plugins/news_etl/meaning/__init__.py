"""Meaning: what the news says beyond its text (keywords, securities, stories, publishers, outlets)."""
