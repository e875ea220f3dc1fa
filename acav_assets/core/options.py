"""How every domain states its settings: one frozen dataclass per domain whose fields carry
their default and their help text.

Why: the Dagster config of an asset, the options of the ``acav`` command and the core code all
read a setting's default and meaning from the one field here, so a default changes in one
line (``defs/config.py`` derives the ``dg.Config`` classes, the CLI reads ``default_of`` and
``help_of``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any


def option(default: Any, help: str) -> Any:
    """A dataclass field with its default and the sentence a user reads about it (a dict
    default is copied for each instance)."""
    if isinstance(default, dict):
        return dataclasses.field(default_factory=lambda: dict(default), metadata={"help": help})
    return dataclasses.field(default=default, metadata={"help": help})


def nested(cls: type, help: str) -> Any:
    """A field holding another options dataclass, built from its own defaults."""
    return dataclasses.field(default_factory=cls, metadata={"help": help})


def _field(cls: type, name: str) -> dataclasses.Field:
    for field in dataclasses.fields(cls):
        if field.name == name:
            return field
    raise AttributeError(f"{cls.__name__} has no option {name!r}")


def help_of(cls: type, name: str) -> str:
    """The help text of option ``name`` of ``cls``."""
    return _field(cls, name).metadata.get("help", "")


def default_of(cls: type, name: str) -> Any:
    """The default of option ``name`` of ``cls``."""
    field = _field(cls, name)
    if field.default is not dataclasses.MISSING:
        return field.default
    return field.default_factory()  # type: ignore[misc]


class OptionError(ValueError):
    """A setting with a value it cannot take; ``option`` names the field."""

    def __init__(self, option: str, problem: str) -> None:
        self.option = option
        super().__init__(f"{option}: {problem}")


def check_choice(name: str, value: str, allowed: Iterable[str]) -> None:
    """Raise ``OptionError`` unless ``value`` is one of ``allowed``."""
    allowed = list(allowed)
    if value not in allowed:
        raise OptionError(name, f"{value!r} is not one of {allowed}")
