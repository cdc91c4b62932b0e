from datetime import date

import pytest
from pydantic import ValidationError

from tandem.models.api import ReportRequest
from tandem.models.checkout import CheckoutItem
from tandem.models.records import ReportFilters


def test_report_request_reads_from_and_to() -> None:
    request = ReportRequest.model_validate({"from": "2026-11-01", "to": "2026-11-27"})
    assert request.to_params().date_from == date(2026, 11, 1)
    assert request.to_params().date_to == date(2026, 11, 27)


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        ({"from": "2026-11-27", "to": "2026-11-01"}, "'to' must not be before 'from'"),
        ({"from": "2024-01-01", "to": "2026-01-01"}, "at most 366 days"),
        ({"from": "2026-11-01"}, "Field required"),
        ({"from": "yesterday", "to": "2026-11-01"}, "valid date"),
        ({"from": "2026-11-01", "to": "2026-11-02", "tenant_id": "other"}, "Extra inputs are not permitted"),
        ({"from": "2026-11-01", "to": "2026-11-02", "kind": "everything"}, "Input should be 'sales_summary'"),
    ],
)
def test_report_request_rejects_bad_periods_and_unknown_fields(body: dict[str, str], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem):
        ReportRequest.model_validate(body)


def test_a_quantity_is_any_json_integer_2_0_included_but_never_a_fraction_or_a_string() -> None:
    assert CheckoutItem.model_validate({"sku": "MUG", "quantity": 2.0}).quantity == 2
    for refused in (2.5, "2", True):
        with pytest.raises(ValidationError):
            CheckoutItem.model_validate({"sku": "MUG", "quantity": refused})


def test_a_sales_summary_with_a_filter_is_refused_not_quietly_unfiltered() -> None:
    period = {"from": "2026-11-01", "to": "2026-11-02"}
    with pytest.raises(ValidationError, match="filters apply to the lake's kinds"):
        ReportRequest.model_validate({**period, "filters": {"country": "GB"}})
    assert ReportRequest.model_validate({**period, "filters": {}}).to_params().filters == ReportFilters()
    lake = ReportRequest.model_validate(
        {**period, "kind": "product_performance", "filters": {"country": "GB"}}
    )
    assert lake.to_params().filters == ReportFilters(country="GB")
