"""Where MiniStack differs from AWS in a way that matters to Tandem, and the glue that closes each gap.

Every gap has a test in tests/e2e/test_emulator_gaps.py that fails when the gap
reopens (our glue stops working) or closes upstream (the glue can go).

1. HTTP API routes: SAM writes every HttpApi route and authorizer into the
   OpenAPI `Body` of AWS::ApiGatewayV2::Api, which MiniStack's CloudFormation
   ignores: the API deploys and answers 404 everywhere. `recreate_http_api_routes`
   re-creates authorizers, integrations and routes from the processed template.
2. Scheduler context attributes: AWS fills `<aws.scheduler.scheduled-time>` into
   a schedule's Input; MiniStack passes the placeholder through verbatim.
   `drop_unfilled_schedule_placeholders` removes such fields from the deployed
   targets' Input, so the function falls back to its invocation time (which, on
   a schedule that fires on time, is the same moment).
3. Schedule time zones: MiniStack evaluates cron() in UTC, ignoring
   ScheduleExpressionTimezone. No glue: the code computes "yesterday" in the
   reporting time zone from the moment it runs, and `tandem schedule list`
   shows the fire times AWS would use.
4. A stable API URL: MiniStack serves each HTTP API under
   /_aws/execute-api/{apiId}/; `tandem_local.proxy` forwards 127.0.0.1:3000 there.
5. Dead-letter redrive: MiniStack has no StartMessageMoveTask; `tandem_local.redrive`
   moves the messages back itself (`tandem redrive ReportDeadLetterQueue`).
"""

from __future__ import annotations

import json
import re
from typing import Any

from tandem_local.config import LocalCloud
from tandem_local.stack import Stack

_FUNCTION_ARN_REF = re.compile(r"\$\{(\w+)\.Arn\}")
_PLACEHOLDER = re.compile(r"^<aws\.scheduler\.[a-z-]+>$")


def _function_logical_id(uri: Any) -> str:
    """The function behind an integration or authorizer URI as SAM writes them (Fn::Sub forms)."""
    sub = uri["Fn::Sub"]
    if isinstance(sub, list):  # ["…${__FunctionArn__}…", {"__FunctionArn__": {"Fn::GetAtt": [name, "Arn"]}}]
        return str(next(iter(sub[1].values()))["Fn::GetAtt"][0])
    match = _FUNCTION_ARN_REF.search(sub)
    if not match:
        raise ValueError(f"unexpected integration uri: {uri}")
    return match.group(1)


def recreate_http_api_routes(cloud: LocalCloud, stack: Stack) -> list[str]:
    """Make the deployed HTTP APIs route as their OpenAPI bodies say. Idempotent; returns the route keys."""
    apigw = cloud.client("apigatewayv2")
    lambda_ = cloud.client("lambda")
    arns = {
        logical: lambda_.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
        for logical, name in stack.functions().items()
    }

    def invocation_uri(function: str) -> str:
        return (
            f"arn:aws:apigateway:{cloud.region}:lambda:path/2015-03-31/functions/{arns[function]}/invocations"
        )

    created: list[str] = []
    for logical, resource in stack.processed["Resources"].items():
        if resource["Type"] != "AWS::ApiGatewayV2::Api" or "Body" not in resource["Properties"]:
            continue
        api_id = stack.physical[logical]
        body = resource["Properties"]["Body"]
        _clear(apigw, api_id)
        authorizers = {
            name: apigw.create_authorizer(
                ApiId=api_id,
                Name=name,
                AuthorizerType="REQUEST",
                AuthorizerUri=invocation_uri(_function_logical_id(spec["authorizerUri"])),
                AuthorizerPayloadFormatVersion=spec.get("authorizerPayloadFormatVersion", "2.0"),
                EnableSimpleResponses=spec.get("enableSimpleResponses", False),
                IdentitySource=spec.get("identitySource", []),
                AuthorizerResultTtlInSeconds=spec.get("authorizerResultTtlInSeconds", 0),
            )["AuthorizerId"]
            for name, scheme in body.get("components", {}).get("securitySchemes", {}).items()
            if (spec := scheme.get("x-amazon-apigateway-authorizer"))
        }
        for path, operations in body.get("paths", {}).items():
            for method, operation in operations.items():
                integration = operation["x-amazon-apigateway-integration"]
                integration_id = apigw.create_integration(
                    ApiId=api_id,
                    IntegrationType="AWS_PROXY",
                    IntegrationMethod="POST",
                    IntegrationUri=invocation_uri(_function_logical_id(integration["uri"])),
                    PayloadFormatVersion=integration.get("payloadFormatVersion", "2.0"),
                )["IntegrationId"]
                verb = "ANY" if method == "x-amazon-apigateway-any-method" else method.upper()
                route: dict[str, Any] = {"ApiId": api_id, "RouteKey": f"{verb} {path}"}
                security = [name for requirement in operation.get("security", []) for name in requirement]
                authorizer = next((authorizers[n] for n in security if n in authorizers), None)
                if authorizer:
                    route.update(AuthorizationType="CUSTOM", AuthorizerId=authorizer)
                apigw.create_route(Target=f"integrations/{integration_id}", **route)
                created.append(route["RouteKey"])
    return created


def count_routes(cloud: LocalCloud, stack: Stack) -> int:
    apigw = cloud.client("apigatewayv2")
    return sum(
        len(apigw.get_routes(ApiId=api_id)["Items"])
        for api_id in stack.of_type("AWS::ApiGatewayV2::Api").values()
    )


def _clear(apigw: Any, api_id: str) -> None:
    for route in apigw.get_routes(ApiId=api_id)["Items"]:
        apigw.delete_route(ApiId=api_id, RouteId=route["RouteId"])
    for integration in apigw.get_integrations(ApiId=api_id)["Items"]:
        apigw.delete_integration(ApiId=api_id, IntegrationId=integration["IntegrationId"])
    for authorizer in apigw.get_authorizers(ApiId=api_id)["Items"]:
        apigw.delete_authorizer(ApiId=api_id, AuthorizerId=authorizer["AuthorizerId"])


def drop_unfilled_schedule_placeholders(cloud: LocalCloud, stack: Stack) -> list[str]:
    """Remove `<aws.scheduler.…>` fields from deployed schedules' Input; returns the schedules changed."""
    scheduler = cloud.client("scheduler")
    changed: list[str] = []
    for name in stack.of_type("AWS::Scheduler::Schedule").values():
        schedule = scheduler.get_schedule(Name=name)
        target = schedule["Target"]
        payload = json.loads(target.get("Input") or "{}")
        kept = {k: v for k, v in payload.items() if not (isinstance(v, str) and _PLACEHOLDER.match(v))}
        if kept == payload:
            continue
        target["Input"] = json.dumps(kept)
        update = {
            key: schedule[key]
            for key in (
                "Name",
                "GroupName",
                "ScheduleExpression",
                "ScheduleExpressionTimezone",
                "FlexibleTimeWindow",
                "State",
                "Description",
                "StartDate",
                "EndDate",
            )
            if key in schedule
        }
        scheduler.update_schedule(Target=target, **update)
        changed.append(name)
    return changed
