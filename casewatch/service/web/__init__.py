"""The HTTP service: the JSON API under /api/v1 and the server-rendered pages."""
