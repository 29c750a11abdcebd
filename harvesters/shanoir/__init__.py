"""Shanoir-NG harvester (Keycloak auth, studies/datasets/preclinical microservices)."""
