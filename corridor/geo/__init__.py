"""Geography: the bundled gazetteer (Pakistan in depth, the world's capitals and big cities) and lookups."""

from corridor.geo.gazetteer import Gazetteer, Place, get_gazetteer

__all__ = ["Gazetteer", "Place", "get_gazetteer"]
