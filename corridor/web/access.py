"""Who may call a route: roles, token scope, and which marked record (if any) its path names.

Every route declares its access with `access(...)`; the declaration both enforces the rule (a dependency)
and publishes it in the OpenAPI document (x-corridor-access), from which the authorisation-matrix test is
generated. A route without a declaration fails that test.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Depends

from corridor.store.visibility import ROLES

ALL = frozenset(ROLES)
EDITORS = frozenset({"admin", "analyst"})
ADMINS = frozenset({"admin"})


@dataclass(frozen=True)
class Access:
    roles: frozenset[str]
    scope: str  # read | write | admin (what an API token must carry)
    marked: str | None = None  # 'incident' | 'document': the record named by the path must be visible
    writes: bool = False  # the route changes the marked record (owner organisation's editors only)
    public: bool = False


def access(
    roles: frozenset[str] = ALL,
    scope: str = "read",
    marked: str | None = None,
    writes: bool = False,
    public: bool = False,
) -> dict[str, Any]:
    from corridor.web.deps import authorizer

    rule = Access(roles, scope, marked, writes, public)
    extra = {
        "x-corridor-access": {
            "roles": sorted(roles),
            "scope": scope,
            "marked": marked,
            "writes": writes,
            "public": public,
        }
    }
    deps = [] if public else [Depends(authorizer(rule))]
    return {"dependencies": deps, "openapi_extra": extra}
