"""The web layer: a FastAPI app over the services (REST API under /api/v1). Thin: no SQL, no rules."""
