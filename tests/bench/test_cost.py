"""bench.cost's arithmetic, checked against sums done by hand: DynamoDB's item sizes and units,
the price of a flow's use, a night per night, and prices.yaml holding every price the model reads."""

from __future__ import annotations

import pytest

from bench import cost

# Round prices, so each expected dollar figure below is a sum that can be checked by eye.
PRICES = {
    "lambda": {"request": 1e-6, "gb_second": {"arm64": 1e-5, "x86_64": 2e-5}},
    "api_gateway_http": {"request": 2e-6},
    "dynamodb_on_demand": {"write_request_unit": 3e-6, "read_request_unit": 4e-7, "storage_gb_month": 0.5},
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


def test_a_count_query_is_billed_for_the_items_it_reads_though_none_comes_back() -> None:
    five_kb = {"blob": {"S": "x" * (5 * 1024 - 4)}}
    usage = cost.Usage()
    table = {"TableName": "test-count-table", "IndexName": "by_created_at"}
    cost._dynamodb(usage, "Query", table, {"Items": [five_kb, five_kb]})  # 10 KB, eventually: 3 / 2
    assert usage.rru == 1.5
    cost._dynamodb(usage, "Query", {**table, "Select": "COUNT"}, {"Count": 10, "ScannedCount": 10})
    assert usage.rru == 1.5 + 13 / 2  # 10 items of 5 KB: 50 KB, 13 units of 4 KB, halved
