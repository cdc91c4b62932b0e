"""template.yaml as the tests see it: parsed once, with a small resolver for its intrinsic functions.

Tests read names, wiring and settings from here instead of restating them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "template.yaml"


class _CfnLoader(yaml.SafeLoader):
    """Reads !Ref, !GetAtt, !Sub … as their long forms ({"Ref": …}, {"Fn::GetAtt": […]} …)."""


def _intrinsic(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CfnLoader.add_multi_constructor("!", _intrinsic)


@cache
def template() -> dict[str, Any]:
    return yaml.load(TEMPLATE.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader subclass


def resources(kind: str | None = None) -> dict[str, dict[str, Any]]:
    return {
        name: body for name, body in template()["Resources"].items() if kind is None or body["Type"] == kind
    }


def functions() -> dict[str, dict[str, Any]]:
    return resources("AWS::Serverless::Function")


def function_events(kind: str) -> list[tuple[str, dict[str, Any]]]:
    """(function, the event's Properties) of every function event of `kind` (SQS, DynamoDB, ...)."""
    return [
        (name, event["Properties"])
        for name, body in functions().items()
        for event in body["Properties"].get("Events", {}).values()
        if event["Type"] == kind
    ]


def function_property(name: str, prop: str) -> Any:
    own = functions()[name]["Properties"]
    default = template()["Globals"]["Function"].get(prop)
    if prop == "Layers":  # SAM appends a function's own layers to the global ones
        return [*(default or []), *own.get(prop, [])]
    return own.get(prop, default)


def parameter_defaults() -> dict[str, Any]:
    return {name: spec.get("Default") for name, spec in template()["Parameters"].items()}


@dataclass
class Resolver:
    """Resolves intrinsics against physical ids, as CloudFormation would after a deploy."""

    physical: dict[str, str]
    attributes: dict[tuple[str, str], str] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=parameter_defaults)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, dict) and len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.parameters[arg] if arg in self.parameters else self.physical[arg]
            if key == "Fn::GetAtt":
                return self.attributes[(arg[0], arg[1])]
            if key == "Fn::Sub":
                return re.sub(r"\$\{([^}]+)\}", lambda m: str(self({"Ref": m.group(1)})), arg)
            if key == "Fn::If":
                condition, when_true, when_false = arg
                return self(when_true if self.condition(condition) else when_false)
            if key == "Fn::Equals":
                left, right = arg
                return self(left) == self(right)
        if isinstance(value, dict):
            return {k: self(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self(v) for v in value]
        return value

    def condition(self, name: str) -> bool:
        """A template condition's value under these parameters."""
        return bool(self(template().get("Conditions", {})[name]))

    def globals_environment(self) -> dict[str, str]:
        variables = template()["Globals"]["Function"]["Environment"]["Variables"]
        return {name: str(self(value)) for name, value in variables.items()}

    def environment(self, function: str) -> dict[str, str]:
        """The environment a function gets in AWS: Globals' variables, then its own."""
        variables = dict(template()["Globals"]["Function"]["Environment"]["Variables"])
        own = functions()[function]["Properties"].get("Environment", {}).get("Variables", {})
        variables.update(own)
        return {name: str(self(value)) for name, value in variables.items()}
