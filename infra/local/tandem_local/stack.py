"""The deployed stack as CloudFormation describes it: physical names, outputs, processed template."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from tandem_local.config import LocalCloud


@dataclass(frozen=True)
class Stack:
    physical: dict[str, str]  # logical id → physical id
    types: dict[str, str]  # logical id → resource type
    outputs: dict[str, str]
    parameters: dict[str, str]
    processed: dict[str, Any]  # the template after the SAM transform

    @classmethod
    def describe(cls, cloud: LocalCloud) -> Stack:
        cfn = cloud.client("cloudformation")
        resources = cfn.describe_stack_resources(StackName=cloud.stack_name)["StackResources"]
        description = cfn.describe_stacks(StackName=cloud.stack_name)["Stacks"][0]
        body = cfn.get_template(StackName=cloud.stack_name, TemplateStage="Processed")["TemplateBody"]
        return cls(
            physical={r["LogicalResourceId"]: r["PhysicalResourceId"] for r in resources},
            types={r["LogicalResourceId"]: r["ResourceType"] for r in resources},
            outputs={o["OutputKey"]: o["OutputValue"] for o in description.get("Outputs", [])},
            parameters={p["ParameterKey"]: p["ParameterValue"] for p in description.get("Parameters", [])},
            processed=json.loads(body) if isinstance(body, str) else body,
        )

    def of_type(self, resource_type: str) -> dict[str, str]:
        return {
            logical: self.physical[logical] for logical, kind in self.types.items() if kind == resource_type
        }

    def value(self, written: Any) -> Any:
        """A property as deployed: a `Ref` to a parameter resolved, anything else as written."""
        if isinstance(written, dict) and set(written) == {"Ref"} and written["Ref"] in self.parameters:
            return self.parameters[written["Ref"]]
        return written

    def functions(self) -> dict[str, str]:
        return self.of_type("AWS::Lambda::Function")
