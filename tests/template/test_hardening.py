"""template.yaml: the settings a real deploy must not run without (issue 7, "Template hardening").

Each test reads the template as written; the linters' own findings are in test_template.py
and `make lint` (cfn-lint with the serverless rules, checkov).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from tandem.handlers import sweeper as sweeper_handler
from tests.template_model import TEMPLATE, function_events, functions, parameter_defaults, resources, template

pytestmark = pytest.mark.template

# Tables whose loss loses nothing: each says why in a comment above it in the template.
# Rebuilt from elsewhere (test payments, live counters, the rollups re-run from the lake): not retained,
# and the only tables a function may delete items from.
DISPOSABLE_TABLES = {"SandboxPaymentsTable", "LiveCountersTable", "RollupsTable"}
# Business data that must be restorable to any second of the last 35 days.
POINT_IN_TIME_RECOVERY = {
    "ApiKeysTable",
    "TenantsTable",
    "OrdersTable",
    "ProductsTable",
    "AuditTable",
    "FraudSignalsTable",
}


def _tables() -> dict[str, dict[str, Any]]:
    return resources("AWS::DynamoDB::Table")


def test_every_business_table_is_retained_and_protected_from_deletion() -> None:
    assert set(_tables()) > DISPOSABLE_TABLES
    for name, table in _tables().items():
        if name in DISPOSABLE_TABLES:
            continue
        assert table.get("DeletionPolicy") == "Retain", name
        assert table.get("UpdateReplacePolicy") == "Retain", name
        assert table["Properties"].get("DeletionProtectionEnabled") is True, name


def test_business_tables_have_point_in_time_recovery() -> None:
    for name in POINT_IN_TIME_RECOVERY:
        specification = _tables()[name]["Properties"].get("PointInTimeRecoverySpecification", {})
        assert specification.get("PointInTimeRecoveryEnabled") is True, name


def _ref(value: Any) -> str | None:
    if isinstance(value, dict) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, dict) and "Fn::GetAtt" in value:
        return str(value["Fn::GetAtt"][0])
    if isinstance(value, dict) and "Fn::If" in value:
        return _ref(value["Fn::If"][1])  # what a deploy with the condition true refers to
    return None


def test_every_bucket_refuses_requests_without_tls() -> None:
    buckets = resources("AWS::S3::Bucket")
    assert buckets
    policies = {
        _ref(policy["Properties"]["Bucket"]): policy["Properties"]["PolicyDocument"]["Statement"]
        for policy in resources("AWS::S3::BucketPolicy").values()
    }
    for bucket in buckets:
        denials = [
            statement
            for statement in policies.get(bucket, [])
            if statement["Effect"] == "Deny"
            and statement["Principal"] == "*"
            and statement["Action"] == "s3:*"
            and statement.get("Condition") == {"Bool": {"aws:SecureTransport": "false"}}
        ]
        assert len(denials) == 1, f"{bucket} has no TLS-only bucket policy"
        covered = denials[0]["Resource"]
        assert {"Fn::GetAtt": [bucket, "Arn"]} in covered, bucket  # the bucket's own calls
        assert {"Fn::Sub": f"${{{bucket}.Arn}}/*"} in covered, bucket  # and every object


def test_every_bucket_is_versioned_and_old_report_versions_expire() -> None:
    for name, bucket in resources("AWS::S3::Bucket").items():
        assert bucket["Properties"].get("VersioningConfiguration") == {"Status": "Enabled"}, name
    rules = resources("AWS::S3::Bucket")["ReportsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    assert any(
        rule["Status"] == "Enabled" and rule.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays")
        for rule in rules
    )


# ---------------------------------------------------------------- IAM

# SAM policy templates that grant a whole table or bucket (DynamoDBCrudPolicy, S3ReadPolicy …).
BROAD_TEMPLATES = ("DynamoDB", "S3")

# Every S3 grant: (function, action) → the object ARNs, as `${Bucket.Arn}/prefix/*`.
# What the lake's functions read, and what they rewrite (never raw/, but the checkout's export)
LAKE_READS = ("raw", "config", "curated", "quarantine", "manifests")
LAKE_WRITES = ("curated", "quarantine", "manifests")
S3_GRANTS = {
    ("ApiFunction", "s3:GetObject"): {
        "${DataBucket.Arn}/models/fraud/*",
        "${DataBucket.Arn}/compliance/*",
        "${ReportsBucket.Arn}/reports/*",
        # the night's inventory suggestions (GET /inventory/suggestions)
        "${DataBucket.Arn}/inventory/*",
        # the tenant's lake.json (GET /dashboard/kpis: currency and FX rates of the live revenue)
        "${DataBucket.Arn}/config/*",
    },
    # Raw files sent over the API (POST /ingest/{source}), inline or by presigned PUT.
    # ... and claim checks: report messages over SQS's limit (adapters/queue.py).
    ("ApiFunction", "s3:PutObject"): {"${DataBucket.Arn}/raw/*", "${DataBucket.Arn}/claims/*"},
    # ... and table exports (POST /exports) as its jobs: backups/ in the data bucket.
    ("ReportWorkerFunction", "s3:PutObject"): {
        "${ReportsBucket.Arn}/reports/*",
        "${DataBucket.Arn}/backups/*",
    },
    # the morning report's stock alerts: the night's inventory suggestions
    # ... and the bodies of messages that arrived as claim checks
    # ... and the lake's report kinds: the period's curated Parquet and the tenant's lake.json
    ("ReportWorkerFunction", "s3:GetObject"): {
        "${DataBucket.Arn}/inventory/*",
        "${DataBucket.Arn}/claims/*",
        "${DataBucket.Arn}/curated/*",
        "${DataBucket.Arn}/config/*",
    },
    # The night: its plan lists raw files and manifest parts; its steps rewrite the lake, export
    # the checkout's orders (the only raw files it writes) and put the rollups.
    ("NightlyFunction", "s3:GetObject"): {"${DataBucket.Arn}/raw/*", "${DataBucket.Arn}/manifests/*"},
    # The inventory product reads the latest document (an older night's re-run keeps it) and writes its own;
    # the fraud model's retraining: labelled examples, versions, index, current.json.
    ("NightlyLakeFunction", "s3:GetObject"): {
        f"${{DataBucket.Arn}}/{prefix}/*" for prefix in (*LAKE_READS, "inventory", "models/fraud")
    },
    ("NightlyLakeFunction", "s3:PutObject"): {
        f"${{DataBucket.Arn}}/{prefix}/*"
        for prefix in (
            "raw/*/checkout",
            "curated",
            "quarantine",
            "manifests",
            "rollups",
            "inventory",
            "models/fraud",
            "backups",
            "claims",  # the morning report's message, if ever over SQS's limit
        )
    },
    ("NightlyLakeFunction", "s3:DeleteObject"): {
        f"${{DataBucket.Arn}}/{prefix}/*" for prefix in ("raw/*/checkout", *LAKE_WRITES)
    },
    # The intake worker reads a partition's raw files and the tenant's lake configuration, and
    # rewrites the partition's curated parts, quarantine and manifests (never raw/ itself).
    ("IngestWorkerFunction", "s3:GetObject"): {
        f"${{DataBucket.Arn}}/{prefix}/*"
        for prefix in ("raw", "config", "curated", "quarantine", "manifests")
    },
    ("IngestWorkerFunction", "s3:PutObject"): {
        f"${{DataBucket.Arn}}/{prefix}/*" for prefix in ("curated", "quarantine", "manifests")
    },
    ("IngestWorkerFunction", "s3:DeleteObject"): {
        f"${{DataBucket.Arn}}/{prefix}/*" for prefix in ("curated", "quarantine", "manifests")
    },
    # The warehouse pick: each order's document and the day's batch list, rebuilt from the documents.
    ("FollowUpWorkerFunction", "s3:PutObject"): {"${DataBucket.Arn}/picks/*"},
    ("FollowUpWorkerFunction", "s3:GetObject"): {"${DataBucket.Arn}/picks/*"},
}


def _statements(function: str) -> Iterator[dict[str, Any]]:
    """Every statement of the function's inline policies; a conditional one as if its condition held."""
    for policy in functions()[function]["Properties"].get("Policies", []):
        if isinstance(policy, dict) and "Statement" in policy:
            for statement in policy["Statement"]:
                if "Fn::If" in statement:
                    _, statement, otherwise = statement["Fn::If"]
                    assert otherwise == {"Ref": "AWS::NoValue"}, function
                yield statement


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _grants() -> Iterator[tuple[str, str, Any, dict[str, Any]]]:
    """(function, action, resource, statement) of every Allow in the functions' inline policies."""
    for function in functions():
        for statement in _statements(function):
            assert statement["Effect"] == "Allow", (function, statement)
            for action in _as_list(statement["Action"]):
                for resource in _as_list(statement["Resource"]):
                    yield function, action, resource, statement


def test_no_function_gets_a_whole_table_or_bucket_policy_template() -> None:
    for name, function in functions().items():
        for policy in function["Properties"].get("Policies", []):
            templates = [policy] if isinstance(policy, str) else [k for k in policy if k != "Statement"]
            broad = [t for t in templates if t.startswith(BROAD_TEMPLATES)]
            assert not broad, f"{name}: {broad}: grant the calls the adapters make, on the resources they use"


def test_every_grant_names_its_actions_and_resources() -> None:
    for function, action, resource, _ in _grants():
        assert "*" not in action, (function, action)
        assert resource != "*", (function, action)


def test_s3_access_is_limited_to_the_prefixes_each_function_uses() -> None:
    granted: dict[tuple[str, str], set[str]] = {}
    for function, action, resource, statement in _grants():
        if not action.startswith("s3:"):
            continue
        if action == "s3:ListBucket":
            # Only so that a missing key reads as NoSuchKey, and only under the prefixes it reads.
            prefixes = statement["Condition"]["StringLike"]["s3:prefix"]
            reads = {r.split(".Arn}/", 1)[1] for r in S3_GRANTS[(function, "s3:GetObject")]}
            assert set(prefixes) <= reads, (function, prefixes)
            continue
        granted.setdefault((function, action), set()).add(resource["Fn::Sub"])
    assert granted == S3_GRANTS


def test_the_audit_trail_is_append_only_and_no_function_deletes_an_item() -> None:
    for function, action, resource, _ in _grants():
        table = _ref(resource)
        if table == "AuditTable":
            # appended to, and read whole by a backup: never changed
            assert action in ("dynamodb:PutItem", *BACKUP_READS), (function, action)
        if table not in DISPOSABLE_TABLES:
            assert action not in ("dynamodb:DeleteItem", "dynamodb:BatchWriteItem"), (function, action, table)


# Every DynamoDB grant: (function, table or index) → actions. The calls each function's adapters make;
# a TransactWriteItems is authorized as each of its items' PutItem / UpdateItem.
DYNAMODB_GRANTS = {
    ("AuthorizerFunction", "ApiKeysTable"): {"GetItem"},
    ("ApiFunction", "JobsTable"): {"GetItem", "PutItem"},
    ("ApiFunction", "JobsTable/index/by_created_at"): {"Query"},  # GET /reports
    # a day's rollup replaced: its items queried, then put and the stale ones deleted in a batch
    ("NightlyLakeFunction", "RollupsTable"): {"Query", "BatchWriteItem"},
    ("ApiFunction", "ProductsTable"): {"GetItem", "BatchGetItem", "PutItem", "UpdateItem", "Query"},
    ("ApiFunction", "OrdersTable"): {"GetItem", "PutItem", "UpdateItem"},
    ("ApiFunction", "OrdersTable/index/by_created_at"): {"Query"},
    # a customer's recent payments (the checkout), a tenant's hours (the dashboard)
    ("ApiFunction", "LiveCountersTable"): {"Query"},
    ("ApiFunction", "RollupsTable"): {"Query"},  # the dashboard: the nights' days
    ("ApiFunction", "FraudSignalsTable"): {"BatchGetItem", "PutItem", "UpdateItem"},
    ("ApiFunction", "AuditTable"): {"PutItem"},
    ("ApiFunction", "SandboxPaymentsTable"): {"GetItem", "PutItem", "UpdateItem"},
    # PUT /settings/webhooks: the tenant's webhook attribute
    ("ApiFunction", "TenantsTable"): {"UpdateItem"},
    ("ReportWorkerFunction", "JobsTable"): {"GetItem", "PutItem"},
    ("ReportWorkerFunction", "OrdersTable/index/by_created_at"): {"Query"},
    # the morning report: the day's rollups and the tenant's report_email
    ("ReportWorkerFunction", "RollupsTable"): {"Query"},
    ("ReportWorkerFunction", "TenantsTable"): {"GetItem"},
    # the morning report product: its job read and created, the tenant's record read
    ("NightlyLakeFunction", "JobsTable"): {"GetItem", "PutItem"},
    ("NightlyLakeFunction", "TenantsTable"): {"GetItem"},
    ("NightlyFunction", "TenantsTable"): {"Scan"},
    ("NightlyLakeFunction", "OrdersTable/index/by_created_at"): {"Query"},
    ("NightlyLakeFunction", "ProductsTable"): {"BatchGetItem"},  # the inventory product's stock on hand
    ("OrderEventsFunction", "OrdersTable"): {"GetItem", "UpdateItem"},
    ("OrderEventsFunction", "LiveCountersTable"): {"UpdateItem"},
    ("OrderEventsFunction", "FraudSignalsTable"): {"UpdateItem"},
    ("SweeperFunction", "OrdersTable/index/by_sweep"): {"Query"},
    # stuck report jobs: read from the sparse index, failed with a versioned put
    ("SweeperFunction", "JobsTable/index/by_sweep"): {"Query"},
    ("SweeperFunction", "JobsTable"): {"PutItem"},
    ("SweeperFunction", "TenantsTable"): {"GetItem"},  # a timed-out job announced to its tenant
    ("SweeperFunction", "OrdersTable"): {"GetItem", "UpdateItem"},
    ("SweeperFunction", "ProductsTable"): {"UpdateItem"},
    ("SweeperFunction", "SandboxPaymentsTable"): {"GetItem", "UpdateItem"},
    # the order, and its follow-ups' claims and done records on its item; the shop's name and reply-to
    ("FollowUpWorkerFunction", "OrdersTable"): {"GetItem", "UpdateItem"},
    ("FollowUpWorkerFunction", "TenantsTable"): {"GetItem"},
    # the sale's stock-ledger entry and its id's marker (conditional puts), read back on a replay
    ("FollowUpWorkerFunction", "ProductsTable"): {"PutItem", "GetItem"},
}
# A backup (logic/backups.py) reads each table's key schema and scans it; the nightly backup step and
# the report worker (table exports, POST /exports) make one, of every table in BACKUP_TABLES.
BACKUP_READS = ("dynamodb:DescribeTable", "dynamodb:Scan")
BACKUP_FUNCTIONS = ("NightlyLakeFunction", "ReportWorkerFunction")
# Every table but the sandbox gateway's ledger, which exists only in a sandbox deploy (a reference
# to it outside an Fn::If would fail other deploys) and holds only fake authorizations, and the
# dashboard's rollups, which re-running the nights rebuilds from the lake (itself in S3).
NOT_BACKED_UP = {"SandboxPaymentsTable", "RollupsTable"}
BACKED_UP_TABLES = {
    "ApiKeysTable",
    "TenantsTable",
    "JobsTable",
    "OrdersTable",
    "ProductsTable",
    "LiveCountersTable",
    "AuditTable",
    "FraudSignalsTable",
}
for _table in BACKED_UP_TABLES:
    # POST /exports estimates an export from each table's ItemCount: metadata only, never a Scan.
    DYNAMODB_GRANTS.setdefault(("ApiFunction", _table), set()).add("DescribeTable")
for _function in BACKUP_FUNCTIONS:
    for _table in BACKED_UP_TABLES:
        DYNAMODB_GRANTS.setdefault((_function, _table), set()).update(
            action.removeprefix("dynamodb:") for action in BACKUP_READS
        )


def _table_or_index(resource: Any) -> str:
    if name := _ref(resource):
        return name
    table, _, index = resource["Fn::Sub"].removeprefix("${").partition(".Arn}")
    return table + index


def test_each_function_gets_exactly_the_dynamodb_calls_its_adapters_make() -> None:
    granted: dict[tuple[str, str], set[str]] = {}
    for function, action, resource, _ in _grants():
        if action.startswith("dynamodb:"):
            granted.setdefault((function, _table_or_index(resource)), set()).add(
                action.removeprefix("dynamodb:")
            )
    assert granted == DYNAMODB_GRANTS


def test_the_stream_consumer_may_write_only_the_amount_histories_of_the_fraud_signals() -> None:
    (statement,) = [
        s
        for f, action, resource, s in _grants()
        if f == "OrderEventsFunction" and _ref(resource) == "FraudSignalsTable"
    ]
    # Histories are H#… partitions (adapters/fraud_signals.py); velocity slices V#…, the blocklist B#….
    assert statement["Condition"] == {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": ["H#*"]}}


def _references(node: Any, under_if: tuple[str, ...] = ()) -> Iterator[tuple[str, tuple[str, ...]]]:
    """(resource referred to, the conditions of the Fn::If branches it sits in) for every Ref and GetAtt."""
    if isinstance(node, dict):
        if "Fn::If" in node:
            condition, when_true, when_false = node["Fn::If"]
            yield from _references(when_true, (*under_if, condition))
            yield from _references(when_false, under_if)
            return
        if (name := _ref(node)) is not None:
            yield name, under_if
        if "Fn::Sub" in node and isinstance(node["Fn::Sub"], str):
            for name in re.findall(r"\$\{([A-Za-z0-9]+)[.}]", node["Fn::Sub"]):
                yield name, under_if
        for value in node.values():
            yield from _references(value, under_if)
    elif isinstance(node, list):
        for value in node:
            yield from _references(value, under_if)


def test_the_sandbox_ledger_exists_only_with_the_sandbox_gateway_and_is_referred_to_only_then() -> None:
    assert template()["Conditions"]["IsSandbox"] == {"Fn::Equals": [{"Ref": "PaymentGateway"}, "sandbox"]}
    assert resources()["SandboxPaymentsTable"]["Condition"] == "IsSandbox"
    uses = [
        (name, conditions)
        for name, body in resources().items()
        for referred, conditions in _references(body)
        if referred == "SandboxPaymentsTable"
    ]
    # A deploy with another gateway would fail on a reference to a resource it does not create.
    assert {name for name, _ in uses} == {"ApiFunction", "SweeperFunction"}
    for name, conditions in uses:
        assert "IsSandbox" in conditions, name
    for function in ("ApiFunction", "SweeperFunction"):
        assert _variables(function)["SANDBOX_PAYMENTS_TABLE_NAME"] == {
            "Fn::If": ["IsSandbox", {"Ref": "SandboxPaymentsTable"}, ""]
        }


def test_every_table_a_function_is_told_about_is_granted_and_no_other() -> None:
    for function, body in functions().items():
        variables = body["Properties"].get("Environment", {}).get("Variables", {})
        told = {_ref(value) for name, value in variables.items() if name.endswith("_TABLE_NAME")}
        told |= set(_backup_tables(function))
        granted = {
            _table_or_index(resource).split("/", 1)[0]
            for f, action, resource, _ in _grants()
            if f == function and action.startswith("dynamodb:")
        }
        assert told == granted, function


# ---------------------------------------------------------------- throttling, failures


def test_the_http_api_stage_is_throttled_by_parameters() -> None:
    settings = resources("AWS::Serverless::HttpApi")["HttpApi"]["Properties"]["DefaultRouteSettings"]
    defaults = parameter_defaults()
    for limit in ("ThrottlingRateLimit", "ThrottlingBurstLimit"):
        parameter = settings[limit]["Ref"]
        assert template()["Parameters"][parameter]["Type"] == "Number"
        assert int(defaults[parameter]) >= 1
    assert int(defaults[settings["ThrottlingBurstLimit"]["Ref"]]) >= int(
        defaults[settings["ThrottlingRateLimit"]["Ref"]]
    )


def _alarmed_queues() -> set[str]:
    return {
        str(_ref(dimension["Value"]))
        for alarm in resources("AWS::CloudWatch::Alarm").values()
        if alarm["Properties"].get("Namespace") == "AWS/SQS"
        for dimension in alarm["Properties"].get("Dimensions", [])
        if dimension["Name"] == "QueueName"
    }


def test_the_nightly_functions_errors_land_in_a_queue_with_an_alarm() -> None:
    config = functions()["NightlyFunction"]["Properties"]["EventInvokeConfig"]
    on_failure = config["DestinationConfig"]["OnFailure"]
    assert on_failure["Type"] == "SQS"
    queue = _ref(on_failure["Destination"])
    assert queue in resources("AWS::SQS::Queue")
    assert queue in _alarmed_queues()


def test_every_queue_that_collects_failures_has_an_alarm() -> None:
    dead_letters = {
        _ref(queue["Properties"]["RedrivePolicy"]["deadLetterTargetArn"])
        for queue in resources("AWS::SQS::Queue").values()
        if "RedrivePolicy" in queue["Properties"]
    }
    for body in functions().values():
        for event in body["Properties"].get("Events", {}).values():
            if "DeadLetterConfig" in event["Properties"]:
                dead_letters.add(_ref(event["Properties"]["DeadLetterConfig"]["Arn"]))
            # A stream's batches that failed every retry (their shard and sequence numbers).
            if on_failure := event["Properties"].get("DestinationConfig", {}).get("OnFailure"):
                dead_letters.add(_ref(on_failure["Destination"]))
        destination = body["Properties"].get("EventInvokeConfig", {}).get("DestinationConfig", {})
        if "OnFailure" in destination:
            dead_letters.add(_ref(destination["OnFailure"]["Destination"]))
    assert {"OrderEventsDeadLetterQueue", "SweeperFailureQueue"} <= dead_letters
    assert dead_letters <= _alarmed_queues(), dead_letters - _alarmed_queues()


def test_the_orders_stream_feeds_its_consumer_with_retries_a_backstop_and_a_dead_letter_queue() -> None:
    orders = resources("AWS::DynamoDB::Table")["OrdersTable"]["Properties"]
    assert orders["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}
    streams = [
        (name, event["Properties"])
        for name, body in functions().items()
        for event in body["Properties"].get("Events", {}).values()
        if event["Type"] == "DynamoDB"
    ]
    assert [name for name, _ in streams] == ["OrderEventsFunction"]
    ((_, stream),) = streams
    assert stream["Stream"] == {"Fn::GetAtt": ["OrdersTable", "StreamArn"]}
    assert stream["StartingPosition"] == "TRIM_HORIZON"
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert stream["BisectBatchOnFunctionError"] is True
    assert 1 <= stream["MaximumRetryAttempts"] <= 10
    # A backstop under the stream's 24-hour retention: MiniStack enforces nothing else.
    assert 60 <= stream["MaximumRecordAgeInSeconds"] < 86_400
    on_failure = stream["DestinationConfig"]["OnFailure"]
    assert (on_failure["Type"], _ref(on_failure["Destination"])) == ("SQS", "OrderEventsDeadLetterQueue")
    # The function parks records there itself, and is told where.
    assert _variables("OrderEventsFunction")["ORDER_EVENTS_DEAD_LETTER_QUEUE_URL"] == {
        "Ref": "OrderEventsDeadLetterQueue"
    }
    # Only PENDING → CONFIRMED changes are delivered.
    (pattern,) = [json.loads(f["Pattern"]) for f in stream["FilterCriteria"]["Filters"]]
    assert pattern == {
        "eventName": ["MODIFY"],
        "dynamodb": {
            "OldImage": {"status": {"S": ["pending"]}},
            "NewImage": {"status": {"S": ["confirmed"]}},
        },
    }


def test_parked_order_events_can_be_redriven_to_their_consumer() -> None:
    queue = resources("AWS::SQS::Queue")["OrderEventsRedriveQueue"]["Properties"]
    # `tandem redrive OrderEventsDeadLetterQueue` moves messages to the queue whose DLQ it is.
    assert _ref(queue["RedrivePolicy"]["deadLetterTargetArn"]) == "OrderEventsDeadLetterQueue"
    consumers = [
        name for name, event in function_events("SQS") if _ref(event["Queue"]) == "OrderEventsRedriveQueue"
    ]
    assert consumers == ["OrderEventsFunction"]


def test_the_follow_up_queue_alarms_when_its_oldest_message_waits_too_long() -> None:
    (alarm,) = [
        a["Properties"]
        for a in resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ApproximateAgeOfOldestMessage"
    ]
    assert alarm["Dimensions"] == [
        {"Name": "QueueName", "Value": {"Fn::GetAtt": ["FollowUpQueue", "QueueName"]}}
    ]
    retention = resources("AWS::SQS::Queue")["FollowUpQueue"]["Properties"]["MessageRetentionPeriod"]
    assert 0 < alarm["Threshold"] * alarm["EvaluationPeriods"] < retention
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"


def test_the_sweeper_runs_every_minute_and_its_failures_are_recorded() -> None:
    sweeper = functions()["SweeperFunction"]["Properties"]
    (event,) = sweeper["Events"].values()
    assert (event["Type"], event["Properties"]["ScheduleExpression"]) == ("ScheduleV2", "rate(1 minute)")
    assert int(sweeper["Timeout"]) < 60  # a run ends before the next one starts
    on_failure = sweeper["EventInvokeConfig"]["DestinationConfig"]["OnFailure"]
    assert _ref(on_failure["Destination"]) in _alarmed_queues()
    hold = template()["Parameters"]["CheckoutHoldSeconds"]
    assert (hold["Type"], hold["Default"], hold["MinValue"]) == ("Number", 120, 15)
    assert _variables("ApiFunction")["CHECKOUT_HOLD_SECONDS"] == {"Ref": "CheckoutHoldSeconds"}
    # A hold must outlast the checkout that took it.
    assert hold["MinValue"] > int(template()["Globals"]["Function"]["Timeout"])
    # An order the sweeper keeps failing on is logged each minute and counted: alarmed if it lasts.
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    (alarm,) = [
        a["Properties"]
        for a in resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == sweeper_handler.METRICS["failed"]
    ]
    assert alarm["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Dimensions"] == [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]


def test_every_function_logs_to_a_group_with_a_retention() -> None:
    groups = {
        group["Properties"]["LogGroupName"]["Fn::Sub"]: group["Properties"]
        for group in resources("AWS::Logs::LogGroup").values()
        if "Fn::Sub" in group["Properties"].get("LogGroupName", {})
    }
    for function in functions():
        group = groups.get(f"/aws/lambda/${{{function}}}")
        assert group is not None, (
            f"{function} has no log group: Lambda would create one that keeps logs forever"
        )
        assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}, function


# ---------------------------------------------------------------- secrets and settings


def _variables(function: str) -> dict[str, Any]:
    variables: dict[str, Any] = (
        functions()[function]["Properties"].get("Environment", {}).get("Variables", {})
    )
    return variables


# The API fingerprints cards with it; the stream consumer keys the histories the API reads with it;
# the sweeper's sandbox gateway checks it is a proper key.
PEPPER_READERS = {"ApiFunction", "OrderEventsFunction", "SweeperFunction"}


def test_the_card_pepper_is_a_generated_secret_that_only_its_readers_read() -> None:
    assert "CardPepper" not in template()["Parameters"], "a parameter has a default and lands in plain text"
    secret = resources("AWS::SecretsManager::Secret")["CardPepperSecret"]
    assert secret["DeletionPolicy"] == secret["UpdateReplacePolicy"] == "Retain"
    assert "SecretString" not in secret["Properties"]
    assert secret["Properties"]["GenerateSecretString"]["PasswordLength"] >= 32
    # Rotating it would make every known card look new to the fraud rules.
    assert not resources("AWS::SecretsManager::RotationSchedule")
    globals_variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    for function in functions():
        peppers = {k: v for k, v in {**globals_variables, **_variables(function)}.items() if "PEPPER" in k}
        expected = (
            {"CARD_PEPPER_SECRET_ARN": {"Ref": "CardPepperSecret"}} if function in PEPPER_READERS else {}
        )
        assert peppers == expected, function
    readers = {(f, action) for f, action, resource, _ in _grants() if action.startswith("secretsmanager:")}
    assert readers == {(f, "secretsmanager:GetSecretValue") for f in PEPPER_READERS}
    assert {
        _ref(resource) for _, action, resource, _ in _grants() if action.startswith("secretsmanager:")
    } == {"CardPepperSecret"}


def test_every_function_knows_its_stage_and_the_api_its_payment_gateway() -> None:
    assert template()["Globals"]["Function"]["Environment"]["Variables"]["STAGE"] == {"Ref": "Stage"}
    gateway = template()["Parameters"]["PaymentGateway"]
    assert gateway["Default"] == "sandbox"
    assert gateway["AllowedValues"] == ["sandbox", "stripe", "adyen"]
    for function in ("ApiFunction", "SweeperFunction"):
        assert _variables(function)["PAYMENT_GATEWAY"] == {"Ref": "PaymentGateway"}, function


def test_refused_screenings_raise_an_alarm_on_the_metric_the_api_emits() -> None:
    variables = template()["Globals"]["Function"]["Environment"]["Variables"]
    (alarm,) = [
        a["Properties"]
        for a in resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"].get("MetricName") == "ScreeningUnavailable"
    ]
    # Powertools Metrics publishes to POWERTOOLS_METRICS_NAMESPACE with the dimension service.
    assert alarm["Namespace"] == variables["POWERTOOLS_METRICS_NAMESPACE"]
    assert alarm["Dimensions"] == [{"Name": "service", "Value": variables["POWERTOOLS_SERVICE_NAME"]}]
    assert (alarm["Statistic"], alarm["Period"], alarm["Threshold"]) == ("Sum", 300, 0)
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold"
    assert alarm["TreatMissingData"] == "notBreaching"


# ---------------------------------------------------------------- lint suppressions


def test_every_checkov_suppression_says_why() -> None:
    skips = [
        (name, skip)
        for name, body in template()["Resources"].items()
        for skip in body.get("Metadata", {}).get("checkov", {}).get("skip", [])
    ]
    assert skips
    for name, skip in skips:
        assert len(skip.get("comment", "")) >= 20, f"{name} skips {skip['id']} without a reason"


def test_every_cfn_lint_suppression_says_why() -> None:
    lines = TEMPLATE.read_text().splitlines()
    ignores = [i for i, line in enumerate(lines) if "ignore_checks" in line]
    assert ignores
    for i in ignores:
        assert "#" in lines[i] or lines[i - 1].strip().startswith("#"), (
            f"template.yaml:{i + 1} says no reason"
        )


# ---------------------------------------------------------------- backups


def _backup_tables(function: str) -> dict[str, str]:
    """BACKUP_TABLES (or EXPORT_TABLES, the API's estimate of an export) of the function: logical
    name → the resource its physical name refers to."""
    variables = _variables(function)
    value = variables.get("BACKUP_TABLES", variables.get("EXPORT_TABLES"))
    if value is None:
        return {}
    pairs = [part.split("=", 1) for part in value["Fn::Sub"].split(",")]
    return {logical: physical.removeprefix("${").removesuffix("}") for logical, physical in pairs}


def test_every_table_but_the_sandbox_ledger_and_the_rollups_is_backed_up_under_its_own_name() -> None:
    assert set(_tables()) - NOT_BACKED_UP == BACKED_UP_TABLES
    for function in BACKUP_FUNCTIONS:
        tables = _backup_tables(function)
        assert tables == {name: name for name in BACKED_UP_TABLES}, function
    # Only the backup's functions are told about every table (and the API, which only counts them:
    # DescribeTable, test_the_api_estimates_exports_over_exactly_the_tables_the_worker_exports).
    told = {f for f in functions() if _backup_tables(f)}
    assert told == {*BACKUP_FUNCTIONS, "ApiFunction"}


def test_the_nightly_backup_runs_after_the_tenants_and_its_failure_reaches_the_outcome() -> None:
    states = resources()["NightlyStateMachine"]["Properties"]["Definition"]["States"]
    assert states["Tenants"]["Next"] == "Backup"
    backup = states["Backup"]
    assert backup["Parameters"]["Payload"] == {"step": "backup", "date.$": "$.date"}
    assert backup["Next"] == "Outcome"
    assert backup["Catch"] == [
        {"ErrorEquals": ["States.ALL"], "ResultPath": "$.backup_result", "Next": "Outcome"}
    ]
    assert states["Outcome"]["Parameters"]["Payload"]["backup_result.$"] == "$.backup_result"


def test_the_api_estimates_exports_over_exactly_the_tables_the_worker_exports() -> None:
    exported = _backup_tables("ReportWorkerFunction")
    assert exported
    assert _backup_tables("ApiFunction") == exported
    assert _variables("ApiFunction")["EXPORT_TABLES"] == _variables("ReportWorkerFunction")["BACKUP_TABLES"]
