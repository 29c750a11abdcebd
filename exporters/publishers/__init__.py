"""Publishers: side effects that put a record version on a DOI service (Zenodo, DataCite).

A plugin kind of their own (registry in `registry.py`), called only by
`catalog.services.publish.PublishService`, which checks permission, runs the
de-identification gate (`exporters.deid`) and records the result.
"""
