"""Extraction: a pipeline of small stages over one document object (see pipeline.py)."""
