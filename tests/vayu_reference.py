"""Vayu's API as the official client (vayu-py 0.3.11, a dev dependency) carries it.

The client is generated from Vayu's OpenAPI document: each API class method builds its
request with `method=` and `resource_path=` and maps statuses to model names; its pydantic
models carry the field names (aliases), required fields and enums. The tests take the
vendor's paths, operation ids, models and enums from here, never from a file outside
the repository.
"""

import inspect
import re
import types
import typing
from dataclasses import dataclass
from enum import Enum
from functools import cache
from typing import Any

import openapi.api
import openapi.models
from pydantic import BaseModel

_SUFFIXES = ("_with_http_info", "_without_preload_content")


@dataclass(frozen=True)
class ClientOperation:
    name: str  # snake_case of the vendor's operationId
    method: str  # lower case
    path: str
    responses: dict[str, str]  # status -> model name ("None"/"object" when untyped)
    body: type[BaseModel] | None
    param_enums: dict[str, set[str]]  # snake_case parameter name -> enum values


def snake(operation_id: str) -> str:
    """The client's method name for an operationId (openapi-generator's snake_case)."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", operation_id).lower()


def _leaves(annotation: Any) -> list[Any]:
    """The concrete types inside Optional / Union / Annotated / list[...]."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _leaves(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType, list):
        return [leaf for arg in typing.get_args(annotation) for leaf in _leaves(arg)]
    return [annotation]


def _is_model(t: Any) -> bool:
    return isinstance(t, type) and issubclass(t, BaseModel)


@cache
def operations() -> dict[tuple[str, str], ClientOperation]:
    out = {}
    for _, cls in inspect.getmembers(openapi.api, inspect.isclass):
        for name, fn in inspect.getmembers(cls, inspect.isfunction):
            if name.startswith("_") or name.endswith(_SUFFIXES):
                continue
            build = inspect.getsource(getattr(cls, f"_{name}_serialize"))
            method = re.search(r"method='(\w+)'", build)
            path = re.search(r"resource_path='([^']+)'", build)
            assert method and path, name
            responses = dict(re.findall(r"'(\d{3})': \"?(\w+)\"?", inspect.getsource(fn)))
            params = inspect.signature(fn).parameters.values()
            bodies = [t for p in params for t in _leaves(p.annotation)]
            body = next((t for t in bodies if _is_model(t)), None)
            param_enums = {
                p.name: {str(m.value) for m in t}
                for p in params
                for t in _leaves(p.annotation)
                if isinstance(t, type) and issubclass(t, Enum)
            }
            op = ClientOperation(name, method.group(1).lower(), path.group(1), responses, body, param_enums)
            out[(op.method, op.path)] = op
    return out


def model(name: str) -> type[BaseModel] | None:
    found = getattr(openapi.models, name, None)
    return found if _is_model(found) else None


def enums(cls: type[BaseModel], prefix: str = "") -> dict[str, set[str]]:
    """Dotted field path (wire names) -> the enum's values, through nested models."""
    out: dict[str, set[str]] = {}
    for name, field in cls.model_fields.items():
        if name == "actual_instance" or name.startswith("oneof_schema"):
            continue  # a oneOf wrapper: its branches are other models
        key = prefix + (field.alias or name)
        for leaf in _leaves(field.annotation):
            if isinstance(leaf, type) and issubclass(leaf, Enum):
                out.setdefault(key, set()).update(str(m.value) for m in leaf)
            elif _is_model(leaf):
                for k, v in enums(leaf, key + ".").items():
                    out.setdefault(k, set()).update(v)
    return out


def required_fields(cls: type[BaseModel], prefix: str = "") -> set[str]:
    """Dotted paths of the required fields, through nested required models."""
    out = set()
    for name, field in cls.model_fields.items():
        if not field.is_required() or name == "actual_instance":
            continue
        key = prefix + (field.alias or name)
        out.add(key)
        for leaf in _leaves(field.annotation):
            if _is_model(leaf):
                out |= required_fields(leaf, key + ".")
    return out


def literal_enums(cls: type[BaseModel]) -> dict[str, set[str]]:
    """The generated client checks single-value 'enums' (error `type`/`code`) in
    validators named `<field>_validate_enum`; their allowed values, by wire name."""
    out = {}
    for attr in dir(cls):
        if attr.endswith("_validate_enum"):
            source = inspect.getsource(getattr(cls, attr))
            values = re.search(r"set\(\[([^\]]*)\]\)", source)
            assert values, attr
            out[attr.removesuffix("_validate_enum")] = set(re.findall(r"'([^']*)'", values.group(1)))
    return out
