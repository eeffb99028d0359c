"""UI strings in catalogues (messages/<lang>.json), English first; Urdu and Chinese catalogues fall back to
English for keys they do not translate yet. The language comes from ?lang=, then the corridor_lang cookie,
then the browser's Accept-Language."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from starlette.requests import Request

MESSAGES = Path(__file__).parent / "messages"
LANGUAGES = {"en": "English", "ur": "اردو", "zh": "中文"}
RTL = frozenset({"ur"})
LANG_COOKIE = "corridor_lang"


@lru_cache(maxsize=8)
def catalogue(lang: str) -> dict[str, str]:
    """The messages of `lang`, English for what it lacks."""
    base: dict[str, str] = json.loads((MESSAGES / "en.json").read_text(encoding="utf-8"))
    if lang != "en" and lang in LANGUAGES:
        base = {**base, **json.loads((MESSAGES / f"{lang}.json").read_text(encoding="utf-8"))}
    return base


def pick_language(request: Request) -> str:
    for asked in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if asked in LANGUAGES:
            return str(asked)
    for part in request.headers.get("accept-language", "").split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def translate(lang: str, key: str, **values: object) -> str:
    text = catalogue(lang).get(key, key)
    return text.format(**values) if values else text
