"""XNAT harvester (REST API, XNAT 1.7-1.9)."""
