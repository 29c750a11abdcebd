"""BIDS harvester: catalogues a BIDS dataset (raw and derivatives) from its files.

The path of a file is authoritative in BIDS (entities, datatype, suffix); JSON sidecars
add acquisition metadata through the inheritance principle; `dataset_description.json`
and `participants.tsv` describe the collection and its subjects; `scans.tsv` dates the
acquisitions; `.bidsignore` (raw root and each derivative root) marks files that are
not data and are left out.  The modules are:

- `paths`: file-name parsing (entities, suffix, extension, datatype) and dataset roots;
- `normalize`: BIDS values to catalogue values (SPDX licences, NCBITaxon species, units);
- `nifti`: the NIfTI-1/-2 header reader (matrix, voxel size), no voxel data;
- `ignore`: the `.bidsignore` matcher (gitignore patterns) applied in `discover`;
- `reader`: one file to `FileFacts` (the cached, expensive step);
- `scans`: scans.tsv rows to acquisition dates and extra columns;
- `inheritance`: which sidecars apply to which data file, closest last;
- `validation`: schema-driven checks (bidsschematools) kept as a quality report;
- `assemble`: facts to the record hierarchy; `harvester`: the plugin class;
- `sample`: a small realistic dataset writer for the demo and the benchmark.
"""
