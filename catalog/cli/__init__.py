"""The imagora command line."""
