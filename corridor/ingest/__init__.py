"""Ingest: read reports (files, folders, RSS/Atom, URLs) into documents, idempotently and transactionally."""
