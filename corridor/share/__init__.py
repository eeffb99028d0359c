"""Sharing between organisations and servers: STIX 2.1 bundles under TLP 2.0 (TAXII comes with its issue)."""
