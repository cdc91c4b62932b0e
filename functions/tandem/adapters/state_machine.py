"""The nightly state machine (Step Functions), started with the night's plan as its input."""

from typing import TYPE_CHECKING

from pydantic import BaseModel

from tandem.adapters import aws

if TYPE_CHECKING:
    from mypy_boto3_stepfunctions import SFNClient


class StepFunctionsRunner:
    def __init__(self, state_machine_arn: str, sfn: "SFNClient | None" = None) -> None:
        self._arn = state_machine_arn
        self._sfn = sfn or aws.stepfunctions()

    def start(self, name: str, plan: BaseModel) -> str:
        try:
            answer = self._sfn.start_execution(
                stateMachineArn=self._arn, name=name, input=plan.model_dump_json(by_alias=True)
            )
        except self._sfn.exceptions.ExecutionAlreadyExists:
            # The same firing retried: the run it started is the run.
            return self._arn.replace(":stateMachine:", ":execution:") + f":{name}"
        return answer["executionArn"]
