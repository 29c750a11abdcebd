"""Web layer: FastAPI app, JSON API routes and server-rendered pages."""
