"""Typed configuration: documented dataclass fields, validation, and loading from dicts/TOML.

Every model and the trainer describe their settings as dataclasses built with `param(...)`,
which records the help text and limits. The CLI turns each field into a flag, the app into a
form with tooltips, and `apply_values` coerces and validates user input (raising ConfigError).
"""

from __future__ import annotations

import dataclasses
import decimal
import math
import os
import re
import sys
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_type_hints

from gan_studio.errors import ConfigError, shorten
from gan_studio.user_files import RefusedFile, open_regular_fd, os_reason

MAX_CONFIG_BYTES = 1 << 20  # a recipe is a few hundred bytes
MAX_TEXT_CHARS = 4096  # a text setting (a dataset path): the longest path Linux accepts

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def param(default: Any, help: str, *, choices: tuple | None = None, low: float | None = None,
          high: float | None = None, advanced: bool = False, live: bool = False):  # fmt: skip
    """A config field with its documentation and limits (used by the CLI, the app and validation). `live`: it may
    change while the model trains (the app's live edits) and when a run resumes; the recipe reads it each step."""
    meta = {"help": help, "choices": choices, "low": low, "high": high, "advanced": advanced, "live": live}
    return field(default=default, metadata=meta)


def with_defaults(base: type, name: str, doc: str, **defaults: Any) -> type:
    """A config class like `base` with other defaults for some fields (a paper's settings, say).

    Each field keeps its help, limits and choices, so nothing is copied that could drift from the base.
    A default outside its field's limits, or a name `base` lacks, is an error here, at import.
    """
    fields = {f.name: f for f in dataclasses.fields(base)}
    unknown = sorted(set(defaults) - set(fields))
    if unknown:
        raise TypeError(f"{base.__name__} has no field {', '.join(unknown)}")
    hints = get_type_hints(base)
    changed = [
        (key, hints[key], field(default=value, metadata=fields[key].metadata)) for key, value in defaults.items()
    ]
    cls = dataclasses.make_dataclass(name, changed, bases=(base,))
    cls.__doc__, cls.__module__ = doc, base.__module__
    issues = problems(cls())
    if issues:
        raise TypeError(f"{name}: {'; '.join(issues)}")
    return cls


@dataclass(frozen=True)
class FieldSpec:
    """What a UI or CLI needs to know to present one config field."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple | None
    low: float | None
    high: float | None
    advanced: bool
    live: bool = False

    @property
    def flag(self) -> str:
        return flag_of(self.name)


def field_specs(config_cls) -> list[FieldSpec]:
    """The documented fields of a config dataclass, in declaration order."""
    hints = get_type_hints(config_cls)
    specs = []
    for f in dataclasses.fields(config_cls):
        if not f.init:
            continue
        meta = f.metadata
        specs.append(
            FieldSpec(
                name=f.name,
                type=_base_type(hints[f.name]),
                default=f.default,
                help=meta.get("help", ""),
                choices=meta.get("choices"),
                low=meta.get("low"),
                high=meta.get("high"),
                advanced=meta.get("advanced", False),
                live=meta.get("live", False),
            )
        )
    return specs


def live_fields(config_cls) -> tuple[str, ...]:
    """The fields of a config class declared `live` (they may change while training and on resume)."""
    return tuple(spec.name for spec in field_specs(config_cls) if spec.live)


def _base_type(hint) -> type:
    for candidate in (bool, int, float, str):
        if hint is candidate or hint == candidate.__name__:
            return candidate
    args = getattr(hint, "__args__", ())
    for candidate in (bool, int, float, str):
        if candidate in args:
            return candidate
    return str


def coerce(spec: FieldSpec, value: Any) -> Any:
    """Convert a user value (string from a flag or form, or TOML value) to the field's type."""
    if value is None:
        return None
    try:
        if spec.type is bool:
            if isinstance(value, bool):
                return value
            text = str(value).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(value, str) and not value.isascii():  # Python reads '١٠' and '１０' as 10: no user means that
            raise ValueError(value)
        if spec.type is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError(value)
            return whole_number(value) if isinstance(value, str) else int(value)
        if spec.type is float:
            if isinstance(value, bool):
                raise ValueError(value)
            return float(value)
        text = str(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        raise ConfigError(f"{spec.name} must be {KIND_WORDS.get(spec.type, 'text')}, got "
                          f"{shorten(repr(value), 80)}") from None  # fmt: skip
    if len(text) > MAX_TEXT_CHARS:
        raise ConfigError(f"{spec.name}: text of {len(text):,} characters (at most {MAX_TEXT_CHARS:,})")
    return text


KIND_WORDS = {int: "a whole number", float: "a number", bool: "true or false"}


def whole_number(text: str) -> int:
    """'64', '64.0', '6.4e1', '1e9' as an int; ValueError for '1.5' or '1.5e0' (it was cut to 1 without a word),
    'nan', or a number too long to be a setting of anything ('1e99999' would be a 100,000-digit int)."""
    try:
        return int(text.strip())
    except ValueError:
        pass
    try:
        number = decimal.Decimal(text.strip())
    except decimal.InvalidOperation:
        raise ValueError(text) from None
    if not number.is_finite() or number.adjusted() > 1000 or number != number.to_integral_value():
        raise ValueError(text)
    return int(number)


def check_value(spec: FieldSpec, value: Any) -> str | None:
    """The problem with `value` for this field, or None when it is valid."""
    if value is None:
        return None
    if spec.type in (int, float) and isinstance(value, float) and not math.isfinite(value):
        return f"{spec.name} must be a finite number, got {value}"
    if spec.choices is not None and value not in spec.choices:
        return f"{spec.name} must be one of {', '.join(map(str, spec.choices))}, got {value!r}"
    if spec.low is not None and value < spec.low:
        return f"{spec.name} must be >= {_number(spec.low)}, got {_number(value)}"
    if spec.high is not None and value > spec.high:
        return f"{spec.name} must be <= {_number(spec.high)}, got {_number(value)}"
    return None


def _number(value) -> str:
    """A number for a message: an int in full with thousands separators (65,536, not 65536 or 6.5536e+04), one too
    long to read (`--steps 9999...`) described; a float as %g."""
    if isinstance(value, int) and abs(value) >= 10**15:
        return f"a {len(str(abs(value)))}-digit number"
    return f"{value:,}" if isinstance(value, int) else f"{value:g}"


def problems(config) -> list[str]:
    """Every invalid field of a config instance (empty when valid); also runs its `check()`."""
    found = []
    for spec in field_specs(type(config)):
        issue = check_value(spec, getattr(config, spec.name))
        if issue:
            found.append(issue)
    extra = getattr(config, "check", None)
    if not found and callable(extra):
        found.extend(extra())
    return found


def apply_values(config, values: dict[str, Any], *, strict: bool = True):
    """A copy of `config` with `values` coerced and validated; unknown names are an error if strict."""
    specs = {s.name: s for s in field_specs(type(config))}
    changes = {}
    for name, value in values.items():
        key = name.replace("-", "_")
        if key not in specs:
            if strict:
                raise ConfigError(f"unknown setting '{shorten(name, 80)}' for {type(config).__name__}")
            continue
        changes[key] = coerce(specs[key], value)
    updated = dataclasses.replace(config, **changes)
    issues = problems(updated)
    if issues:
        raise ConfigError("; ".join(issues))
    return updated


def saved_values(config_cls: type, values: dict[str, Any]) -> dict[str, Any]:
    """A saved config's values (run.json's, a checkpoint's) with each setting added since it was saved set to
    what the code did before (`config_cls.OLDER_RUNS_HAD`), not to today's default: an old run loads as it was."""
    older = getattr(config_cls, "OLDER_RUNS_HAD", {})
    return {**{key: value for key, value in older.items() if key not in values}, **values}


def config_from_saved(config_cls: type, values: dict[str, Any]):
    """The config a run or checkpoint saved (settings since removed are ignored); ConfigError for bad values."""
    return apply_values(config_cls(), saved_values(config_cls, values), strict=False)


def to_dict(config) -> dict[str, Any]:
    return dataclasses.asdict(config)


def _read_config_bytes(path: Path) -> bytes:
    """The bytes of a config file: a regular file (a FIFO or device would block) of at most MAX_CONFIG_BYTES."""
    shown = shorten(path, 300)
    try:
        fd = open_regular_fd(path)
        try:
            with os.fdopen(fd, "rb", closefd=False) as fh:
                data = fh.read(MAX_CONFIG_BYTES + 1)
        finally:
            os.close(fd)
    except RefusedFile as exc:
        raise ConfigError(f"cannot use this config: {exc}", shown) from None
    except FileNotFoundError:
        raise ConfigError("config file not found", shown) from None
    except OSError as exc:
        raise ConfigError(f"cannot read config: {os_reason(exc)}", shown) from None
    except ValueError as exc:  # a NUL byte in the path
        raise ConfigError(f"invalid config path ({exc})", shown) from None
    if len(data) > MAX_CONFIG_BYTES:
        raise ConfigError(f"config file is larger than {MAX_CONFIG_BYTES // 1024} KB", shown)
    return data


def read_toml(path: str | Path) -> dict[str, Any]:
    """Parse a TOML file into a flat dict (tables are merged in), with clear errors."""
    path = Path(path)
    data_bytes = _read_config_bytes(path)
    try:
        data = tomllib.loads(data_bytes.decode("utf-8-sig"))  # a byte-order mark (Windows Notepad) is fine
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"invalid TOML: {shorten(exc, 300)}", path) from None
    except RecursionError:
        raise ConfigError("invalid TOML: values nested too deeply", path) from None
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for sub_key, sub_value in value.items():
                if isinstance(sub_value, (dict, list)):
                    raise ConfigError(f"unsupported nested value for '{shorten(key, 80)}.{shorten(sub_key, 80)}'",
                                      path)  # fmt: skip
                flat[sub_key] = sub_value
        elif isinstance(value, list):
            raise ConfigError(f"unsupported list value for '{shorten(key, 80)}'", path)
        else:
            flat[key] = value
    return flat


def flag_of(name: str) -> str:
    """A setting's command-line flag: 'lr_g' -> '--lr-g'."""
    return "--" + name.replace("_", "-")


def spelled_as(message: str, names: Iterable[str], spelling: Callable[[str], str]) -> str:
    """A validation message with the settings `names` spelled as its reader knows them: a form's labels
    ("lr g must be >= 0") or flags ("--lr-g must be >= 0"), not config names ("lr_g"). Longest names first."""
    for name in sorted(names, key=len, reverse=True):
        message = re.sub(rf"(?<![-\w]){re.escape(name)}\b", spelling(name), message)
    return message
