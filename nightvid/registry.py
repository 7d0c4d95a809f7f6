"""Name -> implementation registries for sources and sinks (lookup by name or suffix)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Generic, TypeVar

from .errors import UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A case-insensitive map of names and file suffixes to registered classes or functions."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._by_name: dict[str, T] = {}
        self._by_suffix: dict[str, str] = {}

    def register(self, name: str, suffixes: tuple[str, ...] = ()) -> Callable[[T], T]:
        """Decorator: register ``obj`` under ``name`` and the given suffixes (".dng")."""

        def deco(obj: T) -> T:
            self._by_name[name.lower()] = obj
            for s in suffixes:
                self._by_suffix[s.lower()] = name.lower()
            return obj

        return deco

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def suffixes(self) -> dict[str, str]:
        return dict(sorted(self._by_suffix.items()))

    def get(self, name: str) -> T:
        try:
            return self._by_name[name.lower()]
        except KeyError:
            raise UnknownNameError(
                f"{self.kind}: unknown name {name!r}; registered: {', '.join(self.names())}"
            ) from None

    def for_path(self, path: str | Path) -> tuple[str, T]:
        """The (name, entry) registered for ``path``'s suffix."""
        suffix = Path(path).suffix.lower()
        name = self._by_suffix.get(suffix)
        if name is None:
            known = ", ".join(self._by_suffix) or "none"
            raise UnknownNameError(f"{path}: no {self.kind} handles {suffix or 'no suffix'!r}; "
                                   f"known: {known}")
        return name, self._by_name[name]
