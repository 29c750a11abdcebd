"""Exporters: DOIs (Zenodo, DataCite), OAI-PMH, DCAT-AP, schema.org, PROV, citations."""
