"""Eval question sets: loading, running (resumable), scoring, reports, and the naive RAG baseline."""
