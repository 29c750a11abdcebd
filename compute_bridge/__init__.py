"""Compute bridge: send datasets to pipelines, catalogue outputs with W3C PROV."""
