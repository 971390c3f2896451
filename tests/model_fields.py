"""Looking inside pydantic fields: the type a field holds and every constraint on it.

pydantic keeps the constraints of a plain `Annotated[...]` field in `FieldInfo.metadata`, but
those of an optional one (`Annotated[...] | None`) stay inside the annotation. The tests
that compare models with documentation and with Slack's schema need both alike.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Union, get_args, get_origin

from pydantic.fields import FieldInfo


def unwrap(annotation: Any, metadata: list[Any] | None = None) -> tuple[Any, list[Any], bool]:
    """(the type without None or Annotated, all its constraints, whether None is allowed)."""
    found = list(metadata or [])
    optional = False
    while True:
        origin = get_origin(annotation)
        if origin in (Union, types.UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            optional = optional or len(args) < len(get_args(annotation))
            if len(args) != 1:
                raise TypeError(f"{annotation}: a union of several types is not supported here")
            annotation = args[0]
        elif origin is Annotated:
            annotation, *extra = get_args(annotation)
            for item in extra:
                found.extend(item.metadata if isinstance(item, FieldInfo) else [item])
        else:
            return annotation, found, optional


def field_type(field: FieldInfo) -> tuple[Any, list[Any], bool]:
    return unwrap(field.annotation, field.metadata)


def constraint(metadata: list[Any], name: str) -> Any:
    """The value of one constraint (`max_length`, `pattern`, `gt`, ...), or None."""
    for item in metadata:
        value = getattr(item, name, None)
        if value is not None:
            return value
    return None


def validators(metadata: list[Any]) -> list[Any]:
    """The functions of the Before/After validators among the constraints."""
    return [item.func for item in metadata if hasattr(item, "func")]
