"""The harvester registry: `imagora harvest TYPE` looks TYPE up here."""

from __future__ import annotations

from catalog.registry import Registry
from harvesters.base import ItemHarvester

harvesters: Registry[ItemHarvester] = Registry(
    "harvester",
    "imagora.harvesters",
    {
        "dicom": "harvesters.dicom.harvester:DicomHarvester",
        "bids": "harvesters.bids.harvester:BidsHarvester",
        "bruker": "harvesters.bruker.harvester:BrukerHarvester",
        "xnat": "harvesters.xnat.harvester:XnatHarvester",
        "shanoir": "harvesters.shanoir.harvester:ShanoirHarvester",
        "ckan": "harvesters.ckan.harvester:CkanHarvester",
        # job output folders of the compute bridge (how pipeline outputs are catalogued)
        "compute": "compute_bridge.harvester:JobOutputHarvester",
    },
)
