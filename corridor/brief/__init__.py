"""The daily security brief of an organisation: what happened near its sites, how the risk at them changed,
and tomorrow's movements, as one self-contained HTML file or a PDF (docs/brief.md).

`service.gather` reads the store (plain Python, no HTTP); `render` turns a `Brief` into HTML or PDF;
`charts` draws its map and chart."""

from corridor.brief.service import Brief, BriefError, gather

__all__ = ["Brief", "BriefError", "gather"]
