"""CKAN portal harvester (package_search through ckanapi)."""
