"""corridor: an open, self-hostable protective-security information exchange.

Reports come in (text, HTML, RSS), the extraction pipeline turns them into incident mentions with evidence,
mentions merge into canonical incidents in the store, and the other capabilities (risk, operations, sharing,
web) work from that incident picture.
"""

__version__ = "0.1.0"
