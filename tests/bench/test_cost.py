"""bench.cost's arithmetic, checked against sums done by hand: DynamoDB's item sizes and units,
the price of a flow's use, a night per night, and prices.yaml holding every price the model reads."""

from __future__ import annotations

import pytest

from bench import cost
from tests.bench import run_benchmark

# Round prices, so each expected dollar figure below is a sum that can be checked by eye.
PRICES = {
    "lambda": {"request": 1e-6, "gb_second": {"arm64": 1e-5, "x86_64": 2e-5}},
    "api_gateway_http": {"request": 2e-6},
    "dynamodb_on_demand": {
        "write_request_unit": 3e-6,
        "read_request_unit": 4e-7,
        "storage_gb_month": 0.5,
        "streams_read_request_by_lambda": 9e-8,
    },
    "sqs": {"request": 5e-7},
    "s3_standard": {"put_request": 6e-6, "get_request": 7e-7},
    "ses": {"email": 1e-4},
    "step_functions_standard": {"state_transition": 2e-5},
    "secrets_manager": {"api_call": 8e-6},
    "cloudwatch_logs": {"ingestion_gb": 0.5},
}


def test_item_sizes_follow_dynamodbs_rules() -> None:
    assert cost.item_bytes({"S": "abc"}) == 3
    assert cost.item_bytes({"N": "12345"}) == 4  # (5 digits + 1) // 2 + 1
    assert cost.item_bytes({"pk": {"S": "T#1"}, "n": {"N": "7"}}) == (2 + 3) + (1 + 2)
    assert cost.item_bytes({"m": {"M": {"a": {"BOOL": True}}}}) == 1 + 3 + 1 + 1


def test_read_and_write_units() -> None:
    five_kb = {"blob": {"S": "x" * (5 * 1024 - 4)}}  # 4 bytes of name: 5 KB exactly
    assert cost.item_bytes(five_kb) == 5 * 1024
    assert cost.read_units([five_kb], consistent=True) == 2
    assert cost.read_units([five_kb], consistent=False) == 1
    assert cost.read_units([], consistent=True) == 1  # an empty answer still costs a unit
    assert cost.write_units(five_kb) == 5
    usage = cost.Usage()
    cost._dynamodb(usage, "TransactWriteItems", {"TransactItems": [{"Put": {"Item": five_kb}}]}, {})
    assert usage.wru == 10  # transactional: twice


def test_a_flows_price_is_the_sum_of_its_uses_times_their_prices() -> None:
    use = {
        "calls": {
            "s3.PutObject": 2,
            "s3.ListObjectsV2": 1,
            "s3.GetObject": 3,
            "email.SendEmail": 1,
            "secretsmanager.GetSecretValue": 1,
            "streams.dynamodb.GetRecords": 2,
        },
        "rru": 10,
        "wru": 4,
        "sqs_requests": 3,
        "log_bytes": 2e9,
        "api_requests": 2,
        "invocations": {"ApiFunction": 2, "ReportWorkerFunction": 1},
        "lambda_ms": {"ApiFunction": 1000, "ReportWorkerFunction": 500},
        "transitions": 4,
    }
    memory = {"ApiFunction": 512, "ReportWorkerFunction": 1024}
    lines = cost.price(use, PRICES, "arm64", memory)
    # By hand: 3 invocations; 1 s x 0.5 GB + 0.5 s x 1 GB = 1 GB-s; S3: 3 of the PUT class, 3 GETs.
    assert lines["lambda requests"] == pytest.approx(3e-6)
    assert lines["lambda duration"] == pytest.approx(1e-5)
    assert lines["api gateway"] == pytest.approx(4e-6)
    assert lines["dynamodb writes"] == pytest.approx(12e-6)
    assert lines["dynamodb reads"] == pytest.approx(4e-6)
    assert lines["s3 requests"] == pytest.approx(18e-6 + 2.1e-6)
    assert lines["sqs"] == pytest.approx(1.5e-6)
    assert lines["ses"] == pytest.approx(1e-4)
    assert lines["step functions"] == pytest.approx(8e-5)
    assert lines["secrets manager calls"] == pytest.approx(8e-6)
    assert lines["dynamodb streams reads"] == pytest.approx(1.8e-7)
    assert lines["cloudwatch logs"] == pytest.approx(1.0)
    assert cost.price(use, PRICES, "x86_64", memory)["lambda duration"] == pytest.approx(2e-5)


def test_a_night_is_priced_per_night_from_bench_nights_figures() -> None:
    night = {
        "nights": 2,
        "steps": [
            {"step": "ingest (raw files put)", "runs": 1, "total_s": 9.0, "aws_calls": 9,
             "by_operation": {"s3.PutObject": 9}},
            {"step": "lake: erp_orders", "runs": 2, "total_s": 1.0, "aws_calls": 10,
             "by_operation": {"s3.GetObject": 6, "dynamodb.Query": 4}},
        ],
    }  # fmt: skip
    use = cost.night_use(night)
    assert use["calls"] == {"s3.GetObject": 3, "dynamodb.Query": 2}  # the shop's uploads left out
    assert use["invocations"]["NightlyLakeFunction"] == 1
    # (1.0 s + 10 calls x 4 ms) over 2 nights
    assert use["lambda_ms"]["NightlyLakeFunction"] == pytest.approx((1.0 + 10 * 0.004) / 2 * 1000)
    assert use["transitions"] == 1 + 6


def test_prices_yaml_has_every_price_the_model_reads() -> None:
    prices = cost.load_prices()
    assert prices["region"] == "eu-west-1"
    assert "check" in prices["as_of"]
    use = cost.night_use({"nights": 1, "steps": []})
    lines = cost.price(use, prices, "arm64", {"NightlyLakeFunction": 1769, "NightlyFunction": 512})
    assert lines["lambda duration"] == pytest.approx(0.5 * 1.0 * prices["lambda"]["gb_second"]["arm64"])
    assert prices["lambda"]["gb_second"]["arm64"] < prices["lambda"]["gb_second"]["x86_64"]
    # Relied on for the orders stream (AWS's rule: a Lambda trigger's GetRecords are free).
    assert prices["dynamodb_on_demand"]["streams_read_request_by_lambda"] == 0
    assert prices["ses"]["email"] == pytest.approx(0.10 / 1000)


def test_a_count_query_is_billed_for_the_items_it_reads_though_none_comes_back() -> None:
    five_kb = {"blob": {"S": "x" * (5 * 1024 - 4)}}
    usage = cost.Usage()
    table = {"TableName": "test-count-table", "IndexName": "by_created_at"}
    cost._dynamodb(usage, "Query", table, {"Items": [five_kb, five_kb]})  # 10 KB, eventually: 3 / 2
    assert usage.rru == 1.5
    cost._dynamodb(usage, "Query", {**table, "Select": "COUNT"}, {"Count": 10, "ScannedCount": 10})
    assert usage.rru == 1.5 + 13 / 2  # 10 items of 5 KB: 50 KB, 13 units of 4 KB, halved


def test_a_write_is_billed_on_the_stored_item_when_it_is_larger_than_the_request() -> None:
    key = {"pk": {"S": "T#1"}}
    usage = cost.Usage()
    cost._dynamodb(usage, "UpdateItem", {"Key": key}, {}, stored=[3 * 1024 + 1])  # 3 KB and a byte
    assert usage.wru == 4
    cost._dynamodb(usage, "UpdateItem", {"Key": key}, {}, stored=[0])  # no item: the request's 1 unit
    assert usage.wru == 4 + 1
    transaction = {"TransactItems": [{"Update": {"Key": key}}, {"Put": {"Item": key}}]}
    cost._dynamodb(usage, "TransactWriteItems", transaction, {}, stored=[2 * 1024, 10])
    assert usage.wru == 5 + 2 * 2 + 2 * 1  # each item twice, by its own size
    assert cost.write_targets("TransactWriteItems", {"TransactItems": [
        {"ConditionCheck": {"TableName": "a", "Key": key}}, {"Delete": {"TableName": "b", "Key": key}}
    ]}) == [("a", {}), ("b", key)]  # fmt: skip


def _record(event: str, old: str | None, new: str | None) -> dict[str, object]:
    images = {"OldImage": {"status": {"S": old}}} if old else {}
    if new:
        images["NewImage"] = {"status": {"S": new}}
    return {"eventName": event, "dynamodb": {"Keys": {}, **images}}


def test_only_a_confirmation_passes_the_templates_stream_filter() -> None:
    (pattern,) = cost.stream_filters()
    assert cost.matches(pattern, _record("MODIFY", "pending", "confirmed"))
    assert not cost.matches(pattern, _record("INSERT", None, "pending"))  # the hold
    assert not cost.matches(pattern, _record("MODIFY", "confirmed", "confirmed"))  # effects, follow-ups
    assert not cost.matches(pattern, _record("MODIFY", "pending", "cancelled"))
    with pytest.raises(ValueError, match="does not apply"):
        cost.matches({"eventName": [{"prefix": "MOD"}]}, _record("MODIFY", "pending", "confirmed"))


def test_the_measured_checkouts_sit_where_the_model_shops_mean_order_of_the_day_does() -> None:
    for size in cost.SIZES.values():
        seeded = cost.seeded_picks(size)
        # The k-th order of the day reads k documents: the cold one's, the seeded ones, then one more each.
        positions = [1 + seeded + n for n in range(1, size.checkouts + 1)]
        assert sum(positions) / len(positions) == pytest.approx(
            (cost.MODEL_SHOP["orders_per_day"] + 1) / 2, abs=0.5
        )


def test_the_month_counts_each_orders_follow_ups_and_a_poller_per_triggering_queue() -> None:
    assert cost.worker_queues() == ["FollowUpQueue", "IngestQueue", "OrderEventsRedriveQueue", "ReportQueue"]
    prices = {
        **PRICES,
        "eventbridge_scheduler": {"invocation": 0.0},
        "secrets_manager": {"secret_month": 0.0},
        "lambda": {"request": 0.0, "gb_second": {"arm64": 0.0}},
        "dynamodb_on_demand": {"storage_gb_month": 0.0},
    }
    results = {
        "per_run_usd": {
            "checkout": 1e-5,
            "checkout effects": 2e-4,
            "report inline": 0.0,
            "report async": 0.0,
        },
        "architecture": "arm64",
        "worker_queues": ["A", "B"],
        "order_item_bytes": 0,
    }
    month = cost.month(results, prices)
    orders = 300 * 30
    assert month["flows_usd"]["checkouts (POST /orders)"] == pytest.approx(orders * 1e-5)
    assert month["flows_usd"]["checkouts' follow-ups (stream, e-mail, pick, courier)"] == pytest.approx(
        orders * 2e-4
    )
    # 2 queues x 5 pollers x 3 long polls a minute x 43,200 minutes x $5e-7
    assert month["fixed_usd"]["sqs pollers' idle receives (2 queues)"] == pytest.approx(
        2 * 15 * 43_200 * 5e-7
    )
    assert month["usd"] == pytest.approx(orders * 2.1e-4 + 2 * 15 * 43_200 * 5e-7)


def test_the_smoke_run_counts_what_follows_each_checkout() -> None:
    """bench.cost at smoke size, end to end: every checkout's stream record, e-mail, pick and courier call."""
    output, figures = run_benchmark("cost", "--size", "smoke")
    assert figures["size_name"] == "smoke"
    checkouts = figures["size"]["checkouts"]
    effects = figures["use"]["checkout effects"]
    assert effects["runs"] == checkouts
    # Per checkout: one confirmation through the filter, one run of each function, one e-mail.
    assert effects["stream_records_delivered"] == 1
    assert effects["stream_records"] > 1  # the hold, the worker's own writes: read, not delivered
    assert effects["invocations"] == {"FollowUpWorkerFunction": 1, "OrderEventsFunction": 1}
    assert effects["calls"]["email.SendEmail"] == 1
    assert effects["calls"]["sqs.SendMessageBatch"] == 1
    assert effects["calls"]["dynamodb.TransactWriteItems"] >= 2  # the effects', a ledger entry's
    assert effects["lambda_ms"]["FollowUpWorkerFunction"] > 0
    assert figures["effects"]["courier_calls"] == checkouts + 1  # the cold one too
    assert figures["effects"]["mean_pick_documents_read"] == pytest.approx(
        301 / 2, abs=0.5
    )  # the shop's mean order
    assert "email.SendEmail" not in figures["use"]["checkout"]["calls"]  # POST /orders sends none
    prices = cost.load_prices()
    lines = figures["lines_usd"]
    assert lines["checkout effects"]["ses"] == pytest.approx(prices["ses"]["email"])
    assert lines["checkout effects"]["dynamodb streams reads"] == 0  # Lambda's reads are free
    sync, follow = (sum(lines[flow].values()) for flow in ("checkout", "checkout effects"))
    assert figures["usd_per_1000_checkouts_sync"] == pytest.approx(1000 * sync)
    assert figures["usd_per_1000_checkouts_effects"] == pytest.approx(1000 * follow)
    assert figures["usd_per_1000_checkouts"] == pytest.approx(1000 * (sync + follow))
    shop = figures["model_shop_month"]["flows_usd"]
    assert shop["checkouts' follow-ups (stream, e-mail, pick, courier)"] == pytest.approx(300 * 30 * follow)
    assert "POST /orders $" in output
    assert "what follows $" in output
