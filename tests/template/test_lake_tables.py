"""The lake's Glue tables and Athena workgroup in template.yaml, held to functions/tandem/logic/lake/
tables.py (the one definition of the tables): every table, every column in order, its Glue type
and comment; partitions projected onto the very keys the intake worker writes."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

import pytest

from tandem.logic.lake.tables import TABLES, Table, curated_prefix
from tandem_local.athena import Lake
from tests.template_model import resources, template

pytestmark = pytest.mark.template

PARQUET = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {"SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"},
}
# The Hive types Athena reads from Parquet that tables.py's DuckDB types become.
GLUE_TYPE = re.compile(r"^(?:string|int|bigint|boolean|date|timestamp|double|decimal\(\d+,\d+\))$")


def _glue_tables() -> dict[str, dict[str, Any]]:
    """Glue table name → its TableInput."""
    return {
        body["Properties"]["TableInput"]["Name"]: body["Properties"]["TableInput"]
        for body in resources("AWS::Glue::Table").values()
    }


def _sub(value: dict[str, Any], **names: str) -> str:
    """An Fn::Sub string filled in: ${Name} from `names`, ${!x} as CloudFormation writes it (${x})."""
    text: str = value["Fn::Sub"]
    for name, filled in names.items():
        text = text.replace(f"${{{name}}}", filled)
    return text.replace("${!", "${")


def test_there_is_a_glue_table_for_every_lake_table_and_no_other() -> None:
    assert set(_glue_tables()) == set(TABLES)
    for body in resources("AWS::Glue::Table").values():
        assert body["Properties"]["DatabaseName"] == {"Ref": "LakeDatabase"}
        assert body["Properties"]["CatalogId"] == {"Ref": "AWS::AccountId"}


@pytest.mark.parametrize("table", TABLES.values(), ids=list(TABLES))
def test_the_glue_columns_are_the_tables_columns_in_order_with_their_types(table: Table) -> None:
    columns = _glue_tables()[table.name]["StorageDescriptor"]["Columns"]
    assert [(c["Name"], c["Type"]) for c in columns] == [(c.name, c.athena_type) for c in table.columns]
    for column in table.columns:
        assert GLUE_TYPE.match(column.athena_type), f"{table.name}.{column.name}: {column.sql_type}"


@pytest.mark.parametrize("table", TABLES.values(), ids=list(TABLES))
def test_each_column_and_table_carries_its_description(table: Table) -> None:
    written = _glue_tables()[table.name]
    assert written["Description"] == table.description
    comments = [c.get("Comment", "") for c in written["StorageDescriptor"]["Columns"]]
    assert comments == [c.description for c in table.columns]
    assert all(len(comment) <= 255 for comment in comments)  # Glue's limit


@pytest.mark.parametrize("table", TABLES.values(), ids=list(TABLES))
def test_partitions_are_tenant_and_date_from_the_folders_not_the_files(table: Table) -> None:
    written = _glue_tables()[table.name]
    assert [(k["Name"], k["Type"]) for k in written["PartitionKeys"]] == [
        ("tenant", "string"),
        ("date", "string"),
    ]
    assert not {"tenant", "date"} & set(table.column_names)  # a column may not share a partition's name
    assert written["TableType"] == "EXTERNAL_TABLE"
    storage = written["StorageDescriptor"]
    assert {k: storage[k] for k in PARQUET} == PARQUET
    assert _sub(storage["Location"], DataBucket="b") == f"s3://b/curated/{table.name}/"


@pytest.mark.parametrize("table", TABLES.values(), ids=list(TABLES))
def test_projection_finds_exactly_the_keys_the_worker_writes(table: Table) -> None:
    parameters = _glue_tables()[table.name]["Parameters"]
    assert parameters["classification"] == "parquet"
    assert parameters["projection.enabled"] == "true"
    # injected: no list of tenants to keep up to date, and every query must state its tenants
    assert parameters["projection.tenant.type"] == "injected"
    assert parameters["projection.date.type"] == "date"
    assert parameters["projection.date.format"] == "yyyy-MM-dd"  # Java's pattern for date.isoformat()
    assert parameters["projection.date.range"] == "2000-01-01,NOW"
    assert (parameters["projection.date.interval"], parameters["projection.date.interval.unit"]) == (
        "1",
        "DAYS",
    )
    location = _sub(parameters["storage.location.template"], DataBucket="b")
    day = date(2010, 12, 1)
    filled = location.replace("${tenant}", "acme").replace("${date}", day.strftime("%Y-%m-%d"))
    assert filled == f"s3://b/{curated_prefix(table.name, 'acme', day)}"


def test_the_database_name_is_one_athena_accepts() -> None:
    name = resources("AWS::Glue::Database")["LakeDatabase"]["Properties"]["DatabaseInput"]["Name"]
    separator, (split_on, source) = name["Fn::Join"][0], name["Fn::Join"][1]["Fn::Split"]
    for stack in ("tandem-local", "tandem-e2e", "tandem"):
        joined = separator.join(_sub(source, **{"AWS::StackName": stack}).split(split_on))
        assert re.fullmatch(r"[a-z][a-z0-9_]*", joined), joined


def test_the_workgroup_enforces_encrypted_results_in_the_data_bucket_which_expire() -> None:
    config = resources("AWS::Athena::WorkGroup")["LakeWorkGroup"]["Properties"]["WorkGroupConfiguration"]
    assert config["EnforceWorkGroupConfiguration"] is True
    results = config["ResultConfiguration"]
    assert _sub(results["OutputLocation"], DataBucket="b") == "s3://b/athena-results/"
    assert results["EncryptionConfiguration"] == {"EncryptionOption": "SSE_S3"}
    assert config["BytesScannedCutoffPerQuery"] >= 10_000_000  # Athena's minimum
    rules = resources("AWS::S3::Bucket")["DataBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    [rule] = [r for r in rules if r.get("Prefix") == "athena-results/"]
    assert rule["Status"] == "Enabled"
    assert rule["ExpirationInDays"] <= 7
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] <= 7  # the bucket is versioned


def test_tandem_query_finds_the_workgroup_and_database_in_the_outputs() -> None:
    outputs = template()["Outputs"]
    assert outputs["LakeDatabaseName"]["Value"] == {"Ref": "LakeDatabase"}
    assert outputs["LakeWorkGroupName"]["Value"] == {"Ref": "LakeWorkGroup"}
    assert Lake.of({name: name for name in outputs}) == Lake("LakeWorkGroupName", "LakeDatabaseName")
