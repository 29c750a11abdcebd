"""Typed records, enums and errors shared by every layer (no I/O here)."""
