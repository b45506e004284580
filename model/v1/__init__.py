"""Suggestion model v1: code-set retrieval + sparse one-vs-rest classifier + calibrated ranker."""
