"""The ``dg.Config`` classes of the assets, derived from the core options dataclasses.

Why: each setting is declared once, in its domain's dataclass in core/ (default and help);
the run config the UI shows and validates is built from it here, so nothing restates a field,
a default or its help text.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable
from typing import Any, TypeVar

import dagster as dg
import pydantic

from acav_assets.core.options import default_of

T = TypeVar("T")


def _config_type(annotation: Any) -> Any:
    """Dagster config has lists, not tuples."""
    if typing.get_origin(annotation) is tuple:
        return list[typing.get_args(annotation)[0]]
    return annotation


def config_class(
    options: type,
    *,
    name: str,
    exclude: Iterable[str] = (),
    only: Iterable[str] | None = None,
    extra: dict[str, tuple[Any, Any]] | None = None,
) -> type[dg.Config]:
    """A ``dg.Config`` with the fields of dataclass ``options`` (nested dataclasses become
    nested configs), ``only`` some or less ``exclude``, plus ``extra`` (name -> (type,
    pydantic.Field))."""
    hints = typing.get_type_hints(options)
    wanted = None if only is None else set(only)
    fields: dict[str, Any] = {}
    for field in dataclasses.fields(options):
        if field.name in exclude or (wanted is not None and field.name not in wanted):
            continue
        annotation, help_text = hints[field.name], field.metadata.get("help")
        if dataclasses.is_dataclass(annotation):
            nested = config_class(annotation, name=f"{name}{annotation.__name__}")
            fields[field.name] = (nested, pydantic.Field(default_factory=nested,
                                                         description=help_text))  # fmt: skip
            continue
        default = default_of(options, field.name)
        if isinstance(default, tuple):
            default = list(default)
        fields[field.name] = (
            _config_type(annotation),
            pydantic.Field(default=default, description=help_text),
        )
    fields.update(extra or {})
    return pydantic.create_model(name, __base__=dg.Config, __doc__=options.__doc__, **fields)


def to_options(config: dg.Config, options: type[T], **overrides: Any) -> T:
    """The core options a config stands for (fields the config lacks keep their default)."""
    hints = typing.get_type_hints(options)
    values: dict[str, Any] = {}
    for field in dataclasses.fields(options):
        if field.name in overrides:
            values[field.name] = overrides[field.name]
        elif hasattr(config, field.name):
            value = getattr(config, field.name)
            annotation = hints[field.name]
            if dataclasses.is_dataclass(annotation):
                value = to_options(value, annotation)
            elif typing.get_origin(annotation) is tuple:
                value = tuple(value)
            values[field.name] = value
    return options(**values)


def to_config(config_cls: type[dg.Config], options: Any, **extra: Any) -> dg.Config:
    """The config of ``config_cls`` that stands for ``options`` (the CLI's way in)."""
    values = {}
    for name, info in config_cls.model_fields.items():
        if name in extra:
            values[name] = extra[name]
        elif hasattr(options, name):
            value = getattr(options, name)
            if dataclasses.is_dataclass(value):
                value = to_config(info.annotation, value)
            elif isinstance(value, tuple):
                value = list(value)
            values[name] = value
    return config_cls(**values)
