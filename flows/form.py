"""How a flow parameter is shown in the Prefect UI's run form: a Vietnamese title and help."""

from __future__ import annotations

from typing import Any

from pydantic import Field


def shown(title: str, description: str, **constraints: Any) -> Any:
    """Field metadata for `Annotated[T, shown(...)]` in a flow's signature.

    Prefect titles each parameter with its name and describes it with the docstring's Args;
    only the JSON-schema extra is applied after those, so the form's words go there.
    Constraints (pattern=..., ge=...) are checked by the form, by the server when a run is
    created (`prefect deployment run --param`) and by the flow before it starts.
    """
    return Field(json_schema_extra={"title": title, "description": description}, **constraints)
