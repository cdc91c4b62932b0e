"""The sweeper fails report jobs after the time a ReportQueue message can live: its settings must
be the queue's own, never a copy that drifts."""

from tests.template_model import function_property, resources


def test_the_sweeper_reads_the_queues_own_visibility_and_max_receives() -> None:
    queue = resources("AWS::SQS::Queue")["ReportQueue"]["Properties"]
    environment = function_property("SweeperFunction", "Environment")["Variables"]
    assert environment["REPORT_QUEUE_VISIBILITY_TIMEOUT"] == queue["VisibilityTimeout"]
    assert environment["REPORT_MAX_RECEIVE_COUNT"] == queue["RedrivePolicy"]["maxReceiveCount"]
    # Template parameters, not numbers: one place to change both.
    assert queue["VisibilityTimeout"] == {"Ref": "ReportQueueVisibilityTimeout"}
    assert queue["RedrivePolicy"]["maxReceiveCount"] == {"Ref": "ReportMaxReceiveCount"}
    assert environment["JOBS_TABLE_NAME"] == {"Ref": "JobsTable"}


def test_the_sweep_index_is_sparse_on_attributes_only_open_jobs_carry() -> None:
    table = resources("AWS::DynamoDB::Table")["JobsTable"]["Properties"]
    indexes = {index["IndexName"]: index for index in table["GlobalSecondaryIndexes"]}
    keys = [key["AttributeName"] for key in indexes["by_sweep"]["KeySchema"]]
    assert keys == ["sweep_shard", "idle_since"]
    assert [key["AttributeName"] for key in indexes["by_created_at"]["KeySchema"]] == [
        "tenant_id",
        "created_at",
    ]
