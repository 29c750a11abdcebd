"""The de-identification gate (DICOM PS3.15 basic profile, BIDS, NIfTI, Bruker) and the
package it builds; see `gate.py`."""
