"""Executors: how a job's runner command is started, watched and stopped (one per module)."""
