"""Load params.yaml and validate it against workflow/schemas/params.schema.yaml.

The Snakefile validates through the same function, so the CLI and the workflow accept
exactly the same params. Defaults declared in the schema are filled in; data set names
are checked against mixbatch.data.datasets (where they are written once). Errors name
the key and what is allowed, with a spelling suggestion.
"""

from __future__ import annotations

import copy
import difflib
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from mixbatch.data import datasets
from mixbatch.errors import MixbatchError

SCHEMA_PATH = Path(__file__).parent / "schemas" / "params.schema.yaml"


def load_schema() -> dict:
    with open(SCHEMA_PATH, encoding="utf-8") as f:
        return yaml.safe_load(f)


def _extend_with_defaults(validator_class):
    """A validator that fills `default` values into the instance while validating."""
    validate_properties = validator_class.VALIDATORS["properties"]

    def set_defaults(validator, properties, instance, schema):
        if isinstance(instance, dict):
            for name, subschema in properties.items():
                if "default" in subschema and name not in instance:
                    instance[name] = copy.deepcopy(subschema["default"])
        yield from validate_properties(validator, properties, instance, schema)

    return jsonschema.validators.extend(validator_class, {"properties": set_defaults})


_DefaultFillingValidator = _extend_with_defaults(jsonschema.Draft202012Validator)


def _key_path(error: jsonschema.ValidationError) -> str:
    parts = []
    for p in error.absolute_path:
        parts.append(f"[{p}]" if isinstance(p, int) else (("." if parts else "") + str(p)))
    return "".join(parts) or "<top level>"


def _describe(error: jsonschema.ValidationError) -> str:
    key = _key_path(error)
    if error.validator == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(allowed))
        hints = []
        for name in unknown:
            close = difflib.get_close_matches(str(name), allowed, n=1)
            hints.append(f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        where = f"under '{key}'" if error.absolute_path else "at the top level"
        return f"unknown key {', '.join(hints)} {where}; allowed keys: {', '.join(allowed)}"
    if error.validator == "enum":
        allowed = [str(v) for v in error.validator_value]
        close = [a for a in allowed if a.lower() == str(error.instance).lower()]
        close = close or difflib.get_close_matches(str(error.instance), allowed, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return f"{key}: {error.instance!r} is not allowed{hint}; allowed: {', '.join(allowed)}"
    return f"{key}: {error.message}"


def _unknown_names(key: str, names: list[str], allowed: tuple[str, ...]) -> list[str]:
    problems = []
    for name in names:
        if name not in allowed:
            close = difflib.get_close_matches(name, allowed, n=1)
            hint = f" (did you mean '{close[0]}'?)" if close else ""
            problems.append(f"{key}: {name!r} is not allowed{hint}; allowed: {', '.join(allowed)}")
    return problems


def _dataset_problems(params: dict[str, Any]) -> list[str]:
    """Data set names and the grid's consistency, which a JSON schema cannot express."""
    problems = _unknown_names("grid.datasets", params["grid"]["datasets"], datasets.EVALUATIONS)
    problems += _unknown_names("split.datasets", params["split"]["datasets"], datasets.TRAINABLE)
    for name in params["grid"]["datasets"]:
        source = datasets.source_of(name)
        if source != name and source not in params["split"]["datasets"]:
            problems.append(f"grid.datasets: {name!r} is {source}'s held-out split; add {source!r} to split.datasets")
    return problems


def validate_params(params: dict[str, Any], source: str = "params") -> dict[str, Any]:
    """Validate (a deep copy of) params, fill defaults, and return it.

    Raises MixbatchError listing every problem, each naming its key.
    """
    params = copy.deepcopy(params) if params is not None else {}
    validator = _DefaultFillingValidator(load_schema())
    errors = sorted(validator.iter_errors(params), key=lambda e: list(map(str, e.absolute_path)))
    problems = [_describe(e) for e in errors] or _dataset_problems(params)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise MixbatchError(f"{source}: invalid params:\n{lines}")
    return params


def load_params(path: str | Path = "params.yaml") -> dict[str, Any]:
    """Read a params file, validate it and fill in defaults."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8") as f:
            raw = yaml.safe_load(f)
    except FileNotFoundError:
        raise MixbatchError(f"{path}: params file not found") from None
    except yaml.YAMLError as e:
        raise MixbatchError(f"{path}: not valid YAML: {e}") from None
    if raw is not None and not isinstance(raw, dict):
        raise MixbatchError(f"{path}: expected a mapping of sections, got {type(raw).__name__}")
    return validate_params(raw or {}, source=str(path))
