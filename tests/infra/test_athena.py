"""Issue 13, must show 3: the Athena part of template.yaml. The base table has
the report's columns in order, projection agrees with the location template,
every table parameter is a string, the workgroup is pinned, encrypted and
enforced, every check has its named query, and each view is exactly its SQL
file with the same columns in the Glue and Trino documents."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from credreports.findings.catalogue import CHECKS
from tests.infra.conftest import REPO, load_template

SQL = REPO / "sql"
FIXTURE = REPO.parent / "shared" / "fixtures" / "credential-reports" / "edge-cases.csv"
DATABASE = "credreports"
# Trino type in a view's document -> Hive type of its Glue column
VIEW_TYPES = {
    "varchar": "string",
    "boolean": "boolean",
    "timestamp(3)": "timestamp",
    "date": "date",
    "bigint": "bigint",
    "integer": "int",
    "double": "double",
}


@pytest.fixture(scope="module")
def resources() -> dict[str, Any]:
    resources: dict[str, Any] = load_template()["Resources"]
    return resources


def of_type(resources: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in resources.items() if r["Type"] == kind}


def glue_tables(resources: dict[str, Any], table_type: str) -> dict[str, dict[str, Any]]:
    return {
        p["TableInput"]["Name"]: p["TableInput"]
        for p in of_type(resources, "AWS::Glue::Table").values()
        if p["TableInput"]["TableType"] == table_type
    }


def sub_text(value: Any) -> str:
    """The text of a Fn::Sub, short or with its variable map."""
    sub = value["Fn::Sub"]
    return str(sub[0] if isinstance(sub, list) else sub)


def test_the_base_table_has_the_report_columns_in_report_order_as_strings(
    resources: dict[str, Any],
) -> None:
    # Given the header of a report as AWS writes it, and AWS's documented 23rd column
    with FIXTURE.open(encoding="utf-8") as report:
        header = next(csv.reader(report))
    expected = [*header, "additional_credentials_info"]

    # Then the base table reads exactly those, by position, all as strings
    table = glue_tables(resources, "EXTERNAL_TABLE")["credential_reports"]
    storage = table["StorageDescriptor"]
    assert [c["Name"] for c in storage["Columns"]] == expected
    assert len(expected) == 23
    assert {c["Type"] for c in storage["Columns"]} == {"string"}
    assert storage["SerdeInfo"]["SerializationLibrary"] == (
        "org.apache.hadoop.hive.serde2.OpenCSVSerde"
    )
    assert table["Parameters"]["skip.header.line.count"] == "1"


@pytest.mark.parametrize(
    ("table", "folder"), [("credential_reports", "reports"), ("run_manifests", "runs")]
)
def test_projection_agrees_with_the_location_template(
    resources: dict[str, Any], table: str, folder: str
) -> None:
    definition = glue_tables(resources, "EXTERNAL_TABLE")[table]
    parameters = definition["Parameters"]
    (key,) = definition["PartitionKeys"]
    name = key["Name"]

    # The one partition key is a projected date...
    assert key["Type"] == "date"
    assert parameters["projection.enabled"] == "true"
    assert parameters[f"projection.{name}.type"] == "date"
    assert parameters[f"projection.{name}.format"] == "yyyy-MM-dd"
    assert parameters[f"projection.{name}.range"] == "NOW-2YEARS,NOW"
    assert parameters[f"projection.{name}.interval"] == "1"
    assert parameters[f"projection.{name}.interval.unit"] == "DAYS"
    # ...which the location template places where the collector writes
    # (layout.py: {prefix}{folder}/date=YYYY-MM-DD/), escaped for Fn::Sub
    template = sub_text(parameters["storage.location.template"])
    location = sub_text(definition["StorageDescriptor"]["Location"])
    assert location == f"s3://${{Bucket}}/${{ReportPrefix}}{folder}/"
    assert template == f"{location}date=${{!{name}}}/"
    assert template.endswith("/")
    assert f"${{{name}}}" not in template
    projected = {k for k in parameters if k.startswith("projection.")}
    assert projected == {"projection.enabled"} | {
        f"projection.{name}.{part}"
        for part in ("type", "format", "range", "interval", "interval.unit")
    }


def test_every_table_and_serde_parameter_is_a_string(resources: dict[str, Any]) -> None:
    # Glue takes a map of strings: an unquoted true or 1 would not deploy as meant
    for properties in of_type(resources, "AWS::Glue::Table").values():
        table = properties["TableInput"]
        serde = table["StorageDescriptor"].get("SerdeInfo", {}).get("Parameters", {})
        for name, value in {**table.get("Parameters", {}), **serde}.items():
            assert isinstance(value, str) or set(value) == {"Fn::Sub"}, (table["Name"], name)


def test_the_workgroup_runs_engine_3_with_encrypted_results_it_enforces(
    resources: dict[str, Any],
) -> None:
    (workgroup,) = of_type(resources, "AWS::Athena::WorkGroup").values()
    configuration = workgroup["WorkGroupConfiguration"]

    assert configuration["EngineVersion"]["SelectedEngineVersion"] == "Athena engine version 3"
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["BytesScannedCutoffPerQuery"] == {"Ref": "AthenaBytesScannedCutoff"}
    results = configuration["ResultConfiguration"]
    assert sub_text(results["OutputLocation"]) == "s3://${Bucket}/${ReportPrefix}athena-results/"
    # encrypted in both branches: the report key when there is one, else SSE-S3
    condition, kms, s3 = results["EncryptionConfiguration"]["Fn::If"]
    assert condition == "UseKms"
    assert kms["EncryptionOption"] == "SSE_KMS" and kms["KmsKey"]
    assert s3 == {"EncryptionOption": "SSE_S3"}
    # ...and the report bucket expires them
    rules = resources["ReportBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
    (rule,) = [r for r in rules if r["Id"] == "expire-athena-results"]
    assert sub_text(rule["Prefix"]) == "${ReportPrefix}athena-results/"
    assert rule["ExpirationInDays"] == {"Ref": "AthenaResultsRetentionDays"}


def test_each_check_and_operator_question_has_its_named_query_of_sql(
    resources: dict[str, Any],
) -> None:
    queries = {q["Name"]: q for q in of_type(resources, "AWS::Athena::NamedQuery").values()}

    # One named query per check of the catalogue...
    assert {f"credreports-{check.id}" for check in CHECKS} <= set(queries)
    # ...and per file of sql/queries, carrying its text unchanged, in the workgroup
    files = {
        path.stem: path.read_text(encoding="utf-8") for path in (SQL / "queries").glob("*.sql")
    }
    assert set(queries) == set(files)
    for name, query in queries.items():
        assert query["QueryString"] == files[name], f"{name}: run make sync-sql"
        assert query["Database"] == {"Ref": "AthenaDatabase"}
        assert query["WorkGroup"] == {"Ref": "AthenaWorkGroup"}
        assert query["Description"] and len(query["Description"]) <= 1024


def view_document(table: dict[str, Any]) -> dict[str, Any]:
    """The JSON Athena reads a view from (base64 in the deployed text), as the
    stack writes it for the database credreports."""
    parts = table["ViewOriginalText"]["Fn::Join"][1]
    assert len(parts) == 3
    assert (parts[0], parts[2]) == ("/* Presto View: ", " */")
    text = sub_text(parts[1]["Fn::Base64"]).replace("${AthenaDatabase}", DATABASE)
    document: dict[str, Any] = json.loads(text)
    return document


@pytest.mark.parametrize("path", sorted((SQL / "views").glob("*.sql")), ids=lambda p: p.stem)
def test_each_view_round_trips_from_its_sql_file_with_matching_columns(
    resources: dict[str, Any], path: Path
) -> None:
    table = glue_tables(resources, "VIRTUAL_VIEW")[path.stem]
    document = view_document(table)

    assert document["originalSql"] == path.read_text(encoding="utf-8"), "run make sync-sql"
    assert (document["catalog"], document["schema"]) == ("awsdatacatalog", DATABASE)
    assert table["Parameters"] == {"presto_view": "true", "comment": "Presto View"}
    assert table["ViewExpandedText"] == "/* Presto View */"
    glue = [(c["Name"], c["Type"]) for c in table["StorageDescriptor"]["Columns"]]
    trino = [(c["name"], c["type"]) for c in document["columns"]]
    assert [name for name, _ in glue] == [name for name, _ in trino]
    assert glue == [(name, VIEW_TYPES[kind]) for name, kind in trino]


def test_the_views_of_the_template_are_those_of_sql(resources: dict[str, Any]) -> None:
    assert set(glue_tables(resources, "VIRTUAL_VIEW")) == {
        path.stem for path in (SQL / "views").glob("*.sql")
    }


def _statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    """The statements of the KMS branch, after checking the other branch is
    the same minus the KMS statement."""
    condition, with_key, without_key = policy["PolicyDocument"]["Statement"]["Fn::If"]
    assert condition == "UseKms"
    assert [s for s in with_key if s["Sid"] != "ReportKeyThroughS3"] == without_key
    statements: list[dict[str, Any]] = with_key
    return statements


def _resources_text(statement: dict[str, Any]) -> str:
    return json.dumps(statement["Resource"])


def test_the_analyst_policy_reads_reports_and_writes_only_query_results(
    resources: dict[str, Any],
) -> None:
    (policy,) = of_type(resources, "AWS::IAM::ManagedPolicy").values()
    statements = {s["Sid"]: s for s in _statements(policy)}
    actions = {
        action: s
        for s in statements.values()
        for action in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
        if s["Effect"] == "Allow"
    }

    # Athena on the stack's workgroup only; Glue reads on its database and tables
    assert "workgroup/${AthenaWorkGroup}" in _resources_text(actions["athena:StartQueryExecution"])
    assert {a for a in actions if a.startswith("glue:")} <= {
        "glue:GetDatabase",
        "glue:GetDatabases",
        "glue:GetTable",
        "glue:GetTables",
    }
    assert "table/${AthenaDatabase}/*" in _resources_text(actions["glue:GetTable"])
    # S3: reads reports and manifests, writes only under athena-results/
    reads = _resources_text(statements["ReadReportsAndManifests"])
    assert "reports/*" in reads and "runs/*" in reads and "failures" not in reads
    writes = [s for s in statements.values() if "s3:PutObject" in s["Action"]]
    assert len(writes) == 1 and "athena-results/*" in _resources_text(writes[0])
    assert "athena-results/*" in json.dumps(statements["ListReportsManifestsAndResults"])
    # KMS only through S3, the service name built from the partition's suffix
    kms = statements["ReportKeyThroughS3"]
    assert kms["Condition"]["StringEquals"]["kms:ViaService"] == {
        "Fn::Sub": "s3.${AWS::Region}.${AWS::URLSuffix}"
    }
    # nothing on every resource
    assert all(s["Resource"] != "*" for s in statements.values())
    outputs = load_template()["Outputs"]
    assert outputs["AthenaAnalystPolicyArn"]["Value"] == {"Ref": "AthenaAnalystPolicy"}
