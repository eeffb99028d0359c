"""The dashboard: HTML pages (Jinja2 shells) whose scripts call the same /api/v1 as every other client.

Pages hold no data of their own and read nothing from the store but who is logged in; everything shown comes
from the API, so TLP and organisation isolation are those of the API's query layer."""

from corridor.web.ui.pages import install

__all__ = ["install"]
