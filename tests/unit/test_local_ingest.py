"""`tandem ingest`: which day a raw file holds (on the shared files, read independently with the
csv module), which files a path names, and the upload under moto: bytes unchanged, each file's
failure its own, the exit code, and the worker's manifests read back with --wait."""

from __future__ import annotations

import gzip
import io
import json
import shutil
from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import boto3
import pytest
from moto import mock_aws
from rich.console import Console

from tandem.logic.lake.layout import RunManifest, manifest_key, raw_key
from tandem.logic.lake.sources import EXPORT_SOURCES, sources
from tandem.models.lake import FileManifest
from tandem.models.lake_config import LakeConfig
from tandem_local import cli
from tandem_local.config import LocalCloud
from tandem_local.ingest import DAY_OF_ROW, FileRefused, NoSingleDay, day_of, files_in, read
from tandem_local.stack import Stack
from tandem_local.upload import Consoles, IngestRequest, ingest
from tests.shared_data import SHARED_DATA, read_rows

LONDON = ZoneInfo("Europe/London")
SAO_PAULO = ZoneInfo("America/Sao_Paulo")
SOURCES = sources(LakeConfig(), "Europe/London")
BY_DAY = SHARED_DATA / "online_retail" / "by-day"
FIRST_DAY = BY_DAY / "2010-12-01.csv"
ADS = SHARED_DATA / "ads" / "KAG_conversion_data.csv"
PRODUCTS = SHARED_DATA / "olist" / "olist_products_dataset.csv"
LEADS = SHARED_DATA / "olist" / "olist_marketing_qualified_leads_dataset.csv"
DEALS = SHARED_DATA / "olist" / "olist_closed_deals_dataset.csv"
needs_data = pytest.mark.skipif(
    not all(p.is_file() for p in (FIRST_DAY, ADS, PRODUCTS, LEADS, DEALS)),
    reason="../shared/data is not beside this clone",
)
BUCKET = "tandem-data"
REGION = "eu-west-1"


def _day_of(source: str, path: Path) -> date:
    return day_of(SOURCES[source], read(path.name, path.read_bytes()), LONDON)


# --- which day a file holds -------------------------------------------------------------------


@needs_data
def test_a_day_of_orders_is_filed_under_that_day() -> None:
    # the file's InvoiceDate column, read independently: UK local times, all on the 1st
    assert {row["InvoiceDate"][:10] for row in read_rows(FIRST_DAY)} == {"2010-12-01"}
    assert _day_of("erp_orders", FIRST_DAY) == date(2010, 12, 1)


@needs_data
def test_a_gzipped_day_is_the_same_day(tmp_path: Path) -> None:
    packed = tmp_path / "2010-12-01.csv.gz"
    packed.write_bytes(gzip.compress(FIRST_DAY.read_bytes()))
    assert _day_of("erp_orders", packed) == date(2010, 12, 1)


@needs_data
@pytest.mark.parametrize(
    ("source", "path", "column", "day_first"),
    [
        ("ads_spend", ADS, "Date", True),  # 31-08-2023
        ("crm_leads", LEADS, "first_contact_date", True),  # 01-02-2018
        ("crm_deals", DEALS, "won_date", False),  # 2018-02-26 19:58:54, in the zone it is read in
    ],
    ids=["ads", "leads", "deals"],
)
def test_a_file_of_several_days_is_refused_naming_them(
    source: str, path: Path, column: str, day_first: bool
) -> None:
    texts = {row[column][:10] for row in read_rows(path) if row[column]}
    days = sorted(date.fromisoformat("-".join(reversed(t.split("-"))) if day_first else t) for t in texts)
    with pytest.raises(NoSingleDay) as refused:
        _day_of(source, path)
    assert list(refused.value.days) == days
    assert len(days) > 1
    message = str(refused.value)
    assert f"holds {len(refused.value.days)} days" in message
    assert str(refused.value.days[0]) in message
    assert str(refused.value.days[-1]) in message
    assert "--date" in message


@needs_data
def test_products_carry_no_date_and_ask_for_one() -> None:
    with pytest.raises(NoSingleDay, match=r"erp_products rows carry no date: pass --date") as refused:
        _day_of("erp_products", PRODUCTS)
    assert refused.value.days == ()


def test_every_source_is_either_dated_or_refused_for_having_no_date() -> None:
    dated = {name for name in EXPORT_SOURCES if SOURCES[name].connector.row_model in DAY_OF_ROW}
    assert dated == set(EXPORT_SOURCES) - {"erp_products"}


def _deal(won: str) -> dict[str, str]:
    return {"mql_id": "m1", "seller_id": "s1", "won_date": won}


def test_an_instant_is_dated_in_the_tenants_zone_not_in_utc(tmp_path: Path) -> None:
    deals = sources(LakeConfig(), "America/Sao_Paulo")["crm_deals"]
    # 23:30 in São Paulo is 02:30 UTC the next day: still the 26th for the shop
    file = tmp_path / "deals.jsonl"
    file.write_text(json.dumps(_deal("2018-02-26 23:30:00")) + "\n")
    assert day_of(deals, read(file.name, file.read_bytes()), SAO_PAULO) == date(2018, 2, 26)

    summer = tmp_path / "orders.csv"  # 00:30 BST is 23:30 UTC the day before
    summer.write_text(
        "InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country\n"
        "1,85123A,MUG,1,2021-06-01 00:30:00,2.55,17850.0,United Kingdom\n"
    )
    assert _day_of("erp_orders", summer) == date(2021, 6, 1)


def test_a_file_without_a_usable_date_asks_for_one(tmp_path: Path) -> None:
    file = tmp_path / "deals.csv"
    file.write_text("mql_id,seller_id,won_date\nm1,s1,not a date\n")
    with pytest.raises(NoSingleDay, match=r"no crm_deals row of it has a usable date \(1 rows read\)"):
        _day_of("crm_deals", file)


def test_a_format_the_lake_does_not_read_is_refused() -> None:
    with pytest.raises(FileRefused, match="the lake cannot read it"):
        read("export.xlsx", b"PK\x03\x04")
    with pytest.raises(FileRefused, match="the lake cannot read it"):
        read("day.csv.gz", b"not gzip")


# --- which files a path names -----------------------------------------------------------------


def _tree(root: Path, names: list[str]) -> None:
    for name in names:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("a\n")


def test_a_folder_gives_its_lake_files_recursively_sorted_hidden_ones_left_out(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        [
            "b.csv",
            "a/2.jsonl.gz",
            "a/1.csv.gz",
            "c.ndjson",
            "d.json",
            "README.md",
            ".hidden.csv",
            ".git/x.csv",
            "a/.cache/y.csv",
            "notes.txt",
        ],
    )
    expanded = files_in([tmp_path])
    assert [p.relative_to(tmp_path).as_posix() for p in expanded.files] == [
        "a/1.csv.gz",
        "a/2.jsonl.gz",
        "b.csv",
        "c.ndjson",
        "d.json",
    ]
    assert expanded.problems == []


def test_named_files_are_taken_as_named_once_each_and_missing_paths_are_problems(tmp_path: Path) -> None:
    _tree(tmp_path, ["in/x.csv", "notes.txt", "empty/README.md"])
    expanded = files_in([tmp_path / "notes.txt", tmp_path / "in", tmp_path / "in" / "x.csv", tmp_path / "no"])
    assert expanded.files == [tmp_path / "notes.txt", tmp_path / "in" / "x.csv"]
    assert expanded.problems == [f"{tmp_path / 'no'}: no such file or folder"]
    [problem] = files_in([tmp_path / "empty"]).problems
    assert "no .csv" in problem


# --- the upload, under moto -------------------------------------------------------------------


@pytest.fixture
def s3() -> Iterator[Any]:
    with mock_aws():
        client = boto3.client("s3", region_name=REGION)
        client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        yield client


def _consoles() -> tuple[Consoles, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    # Wide: a message names a file by its absolute path (longer under pytest-xdist's tmp folders).
    return Consoles(Console(file=out, width=1000), Console(file=err, width=1000)), out, err


def _request(
    paths: list[Path], source: str = "erp_orders", day: date | None = None, wait: float | None = None
) -> IngestRequest:
    return IngestRequest("demo", SOURCES[source], paths, LONDON, day=day, wait=wait)


def _keys(s3: Any) -> list[str]:
    return sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []))


@pytest.fixture
def days(tmp_path: Path) -> Path:
    """Two days of orders in a folder of folders, as a shop's export might be kept."""
    if not BY_DAY.is_dir():
        pytest.skip("../shared/data is not beside this clone")
    for name in ("2010-12-01.csv", "2010-12-02.csv"):
        (tmp_path / "export" / name[:7]).mkdir(parents=True, exist_ok=True)
        shutil.copy(BY_DAY / name, tmp_path / "export" / name[:7] / name)
    return tmp_path / "export"


def test_a_folder_goes_up_byte_for_byte_each_file_under_its_day(s3: Any, days: Path) -> None:
    consoles, out, _ = _consoles()
    assert ingest(s3, BUCKET, _request([days]), consoles) == 0
    expected = [raw_key("demo", "erp_orders", date(2010, 12, d), f"2010-12-0{d}.csv") for d in (1, 2)]
    assert _keys(s3) == expected
    for key in expected:
        stored = s3.get_object(Bucket=BUCKET, Key=key)
        assert stored["Body"].read() == (BY_DAY / key.rsplit("/", 1)[1]).read_bytes()
        assert stored["ServerSideEncryption"] == "AES256"
    printed = out.getvalue()
    assert all(key in printed for key in expected)
    assert f"tandem aws s3 cp s3://{BUCKET}/{manifest_key('demo', date(2010, 12, 1))} -" in printed


def test_a_file_that_cannot_be_dated_fails_alone_and_the_exit_code_says_so(
    s3: Any, days: Path, tmp_path: Path
) -> None:
    first, second = (days / "2010-12" / f"2010-12-0{d}.csv" for d in (1, 2))
    both = tmp_path / "both.csv"  # two days in one file, the header once
    both.write_text(first.read_text() + second.read_text().split("\n", 1)[1])
    consoles, _, err = _consoles()
    assert ingest(s3, BUCKET, _request([both, days]), consoles) == 1
    assert len(_keys(s3)) == 2  # the one-day files went
    assert f"{both}: holds 2 days (2010-12-01, 2010-12-02)" in err.getvalue()
    assert "1 of 3 failed" in err.getvalue()


@needs_data
def test_with_a_date_every_file_goes_under_it(s3: Any) -> None:
    consoles, _, _ = _consoles()
    assert ingest(s3, BUCKET, _request([ADS], "ads_spend", day=date(2023, 8, 31)), consoles) == 0
    assert _keys(s3) == [raw_key("demo", "ads_spend", date(2023, 8, 31), ADS.name)]


def test_names_the_lake_refuses_and_clashing_names_fail_alone(s3: Any, days: Path, tmp_path: Path) -> None:
    (tmp_path / "my orders.csv").write_bytes((days / "2010-12" / "2010-12-01.csv").read_bytes())
    (tmp_path / "again").mkdir()
    shutil.copy(days / "2010-12" / "2010-12-02.csv", tmp_path / "again")
    consoles, _, err = _consoles()
    code = ingest(s3, BUCKET, _request([tmp_path / "my orders.csv", days, tmp_path / "again"]), consoles)
    assert code == 1
    assert len(_keys(s3)) == 2
    assert "not a file name the lake keeps: 'my orders.csv'; rename it" in err.getvalue()
    assert "2010-12-02.csv already goes to raw/demo/erp_orders/2010-12-02/2010-12-02.csv" in err.getvalue()
    assert "2 of 4 failed" in err.getvalue()


def test_a_missing_path_fails_and_nothing_at_all_is_a_failure(s3: Any, tmp_path: Path) -> None:
    consoles, _, err = _consoles()
    assert ingest(s3, BUCKET, _request([tmp_path / "nope"]), consoles) == 1
    assert "no such file or folder" in err.getvalue()


def test_an_upload_that_fails_is_that_files_failure(s3: Any, days: Path) -> None:
    consoles, _, err = _consoles()
    assert ingest(s3, BUCKET + "-gone", _request([days]), consoles) == 1
    assert "upload to s3://tandem-data-gone/raw/demo/erp_orders/2010-12-01/2010-12-01.csv failed" in (
        err.getvalue()
    )


# --- --wait: the worker's manifests read back -------------------------------------------------


def _worker(s3: Any, days: Path, error: str | None = None) -> Callable[[float], None]:
    """A stand-in for the worker: its first poll finds nothing; then each day's manifest is there."""

    def sleep(_seconds: float) -> None:
        for file in sorted(days.rglob("*.csv")):
            day = date.fromisoformat(file.stem)
            entry = FileManifest(
                file=file.name,
                rows_in=10,
                rows_curated=7,
                rows_quarantined=2,
                quarantined_by_reason={"missing_sku": 1, "zero_price": 1},
                duplicates_removed=1,
                error=error,
            )
            manifest = RunManifest(tenant_id="demo", date=day, sources={"erp_orders": [entry]})
            s3.put_object(Bucket=BUCKET, Key=manifest_key("demo", day), Body=manifest.to_json())

    return sleep


def test_waiting_prints_what_the_worker_made_of_each_file(s3: Any, days: Path) -> None:
    consoles, out, _ = _consoles()
    code = ingest(s3, BUCKET, _request([days], wait=30), consoles, sleep=_worker(s3, days))
    assert code == 0
    rows = [[c.strip() for c in line.split("│")[1:-1]] for line in out.getvalue().splitlines()]
    assert [row for row in rows if row and row[0].startswith(("2010", "all"))] == [
        ["2010-12-01.csv", "2010-12-01", "10", "7", "2 (missing_sku 1, zero_price 1)", "1"],
        ["2010-12-02.csv", "2010-12-02", "10", "7", "2 (missing_sku 1, zero_price 1)", "1"],
        ["all", "", "20", "14", "4 (missing_sku 2, zero_price 2)", "2"],
    ]


def test_a_file_the_worker_could_not_read_is_a_failure(s3: Any, days: Path) -> None:
    consoles, out, _ = _consoles()
    code = ingest(s3, BUCKET, _request([days], wait=30), consoles, sleep=_worker(s3, days, "broken"))
    assert code == 1
    assert "unreadable: broken" in out.getvalue()


def test_a_manifest_older_than_the_upload_is_not_its_result_and_waiting_ends(s3: Any, days: Path) -> None:
    _worker(s3, days)(0)  # manifests of an earlier upload of the same files
    clock = iter(range(100))
    slept: list[float] = []
    consoles, out, err = _consoles()
    request = _request([days], wait=3)
    real_head = s3.head_object

    def later(**kwargs: Any) -> Any:  # the upload, a minute after those manifests by S3's clock
        answer = real_head(**kwargs)
        return {**answer, "LastModified": answer["LastModified"] + timedelta(minutes=1)}

    s3.head_object = later
    code = ingest(s3, BUCKET, request, consoles, sleep=slept.append, clock=lambda: float(next(clock)))
    assert code == 1
    assert slept == [1.0, 1.0]  # polled at 1, 2 and 3 s: the deadline
    assert "2010-12-01.csv: not in manifests/demo/2010-12-01.json after 3 s" in err.getvalue()
    assert out.getvalue() == ""


# --- the command line -------------------------------------------------------------------------


def test_the_command_finds_the_bucket_and_the_zone_in_the_stack(
    s3: Any, days: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    stack = Stack({}, {}, {"DataBucketName": BUCKET}, {"ReportingTimezone": "Europe/London"}, {})
    monkeypatch.setattr(cli, "_stack", lambda _cloud: stack)
    monkeypatch.setattr(LocalCloud, "client", lambda _self, _service: s3)
    code = cli.main(["ingest", "--tenant", "demo", "--source", "erp_orders", str(days)])
    assert code == 0
    assert len(_keys(s3)) == 2
    assert "uploaded 2 files" in capsys.readouterr().out


@pytest.mark.parametrize(
    "arguments",
    [
        ["--tenant", "Demo", "--source", "erp_orders", "x.csv"],
        ["--tenant", "demo", "--source", "erp_invoices", "x.csv"],
        ["--tenant", "demo", "--source", "erp_orders", "--date", "01/12/2010", "x.csv"],
        ["--tenant", "demo", "--source", "erp_orders", "--wait", "0", "x.csv"],
        ["--tenant", "demo", "--source", "erp_orders"],
    ],
    ids=["tenant", "source", "date", "wait", "no path"],
)
def test_the_command_refuses_bad_arguments_before_anything(arguments: list[str]) -> None:
    with pytest.raises(SystemExit) as refused:
        cli.main(["ingest", *arguments])
    assert refused.value.code == 2


def test_the_zone_is_the_deployments_or_the_templates_default() -> None:
    written = {"Parameters": {"ReportingTimezone": {"Default": "Europe/Paris"}}}
    assert cli._reporting_zone(Stack({}, {}, {}, {}, written)) == "Europe/Paris"
    deployed = Stack({}, {}, {}, {"ReportingTimezone": "Asia/Tokyo"}, written)
    assert cli._reporting_zone(deployed) == "Asia/Tokyo"
