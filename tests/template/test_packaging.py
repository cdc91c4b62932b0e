"""Packaging honesty: each handler imports from the `sam build` output alone.

Locally, handlers could import whatever the emulator's or the project's
environment holds, so a dependency missing from the layer would pass unnoticed.
Here a clean virtual environment holds only what the Lambda runtime provides
(boto3); the function's code and its layers come from the build.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from tests.template.conftest import run_tool
from tests.template_model import ROOT, function_property, functions

pytestmark = pytest.mark.template


@pytest.fixture(scope="module")
def runtime_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh interpreter with what the Lambda runtime adds (boto3, our locked version) and nothing else."""
    venv = tmp_path_factory.mktemp("clean") / "venv"
    uv = Path(sys.executable).parent / "uv"
    assert run_tool(uv, "venv", "-q", "--python", sys.executable, venv).returncode == 0
    lock = (ROOT / "requirements/dev.lock").read_text()
    boto3 = re.search(r"^boto3==\S+", lock, re.M)
    assert boto3
    installed = run_tool(uv, "pip", "install", "-q", "--python", venv / "bin/python", boto3.group(0))
    assert installed.returncode == 0, installed.stderr
    return venv / "bin/python"


def _import(python: Path, handler: str, paths: list[Path]) -> tuple[int, str]:
    module, _, attribute = handler.rpartition(".")
    code = f"import importlib; assert callable(getattr(importlib.import_module({module!r}), {attribute!r}))"
    env = {"PYTHONPATH": os.pathsep.join(map(str, paths)), "PYTHONNOUSERSITE": "1"}
    result = run_tool(python, "-c", code, cwd=paths[0], env=env)
    return result.returncode, result.stderr


@pytest.mark.parametrize("function", sorted(functions()))
def test_handler_imports_from_its_package_and_layers_alone(
    function: str, host_build: Path, runtime_python: Path
) -> None:
    layers = [host_build / layer["Ref"] / "python" for layer in function_property(function, "Layers")]
    code, error = _import(
        runtime_python, function_property(function, "Handler"), [host_build / function, *layers]
    )
    assert code == 0, error


def test_without_its_layer_a_handler_does_not_import(host_build: Path, runtime_python: Path) -> None:
    # The check above can fail: the same import without the layer is refused.
    code, error = _import(
        runtime_python, function_property("ApiFunction", "Handler"), [host_build / "ApiFunction"]
    )
    assert code != 0
    assert "No module named 'aws_lambda_powertools'" in error


SYNCHRONOUS = ("ApiFunction", "AuthorizerFunction")
# The report writers of the documents layer (tandem.adapters.report_renderers).
DOCUMENT_WRITERS = ("xlsxwriter", "reportlab")


@pytest.mark.parametrize("function", SYNCHRONOUS)
def test_the_synchronous_path_never_loads_the_analytics_engine(function: str) -> None:
    # Not attached: the API's cold start and package never pay for DuckDB (≈ 65 MB unzipped).
    assert {"Ref": "AnalyticsLayer"} not in function_property(function, "Layers")
    # And not imported, even where it is installed (this venv has it): a lake module that crept
    # into the API's imports would load it at the first request.
    module = function_property(function, "Handler").rpartition(".")[0]
    code = f"import sys, {module}; sys.exit('duckdb' in sys.modules)"
    assert run_tool(sys.executable, "-c", code, cwd=ROOT).returncode == 0


@pytest.mark.parametrize("function", ["IngestWorkerFunction", "ReportWorkerFunction"])
def test_the_lake_workers_get_the_analytics_layer(function: str) -> None:
    # The intake curates with DuckDB; the report worker runs the lake's report kinds with it.
    assert {"Ref": "AnalyticsLayer"} in function_property(function, "Layers")


@pytest.mark.parametrize("function", SYNCHRONOUS)
def test_the_synchronous_path_never_loads_the_document_writers(function: str) -> None:
    # Not attached: XLSX and PDF are always written by the report worker (report_dispatch).
    assert {"Ref": "ReportDocumentsLayer"} not in function_property(function, "Layers")
    module = function_property(function, "Handler").rpartition(".")[0]
    code = f"import sys, {module}; sys.exit(any(m in sys.modules for m in {DOCUMENT_WRITERS!r}))"
    assert run_tool(sys.executable, "-c", code, cwd=ROOT).returncode == 0


def test_only_the_report_worker_gets_the_documents_layer() -> None:
    holders = [f for f in functions() if {"Ref": "ReportDocumentsLayer"} in function_property(f, "Layers")]
    assert holders == ["ReportWorkerFunction"]


def test_the_report_worker_writes_xlsx_and_pdf_from_its_package_and_layers_alone(
    host_build: Path, runtime_python: Path
) -> None:
    # The handler imports the writers lazily (a JSON job never loads them): render both here.
    layers = [
        host_build / layer["Ref"] / "python" for layer in function_property("ReportWorkerFunction", "Layers")
    ]
    code = (
        "from datetime import date\n"
        "from tandem.adapters.report_renderers import LibraryReportRenderer\n"
        "from tandem.logic.report_formats import sales_document\n"
        "from tandem.logic.sales import summarize_sales\n"
        "from tandem.models.records import ReportFormat\n"
        "from zoneinfo import ZoneInfo\n"
        "summary = summarize_sales('acme', [], date(2026, 1, 1), date(2026, 1, 2), ZoneInfo('UTC'))\n"
        "doc = sales_document(summary)\n"
        "assert LibraryReportRenderer().render(doc, ReportFormat.XLSX).body[:2] == b'PK'\n"
        "assert LibraryReportRenderer().render(doc, ReportFormat.PDF).body[:5] == b'%PDF-'\n"
    )
    paths = [host_build / "ReportWorkerFunction", *layers]
    env = {"PYTHONPATH": os.pathsep.join(map(str, paths)), "PYTHONNOUSERSITE": "1"}
    result = run_tool(runtime_python, "-c", code, cwd=paths[0], env=env)
    assert result.returncode == 0, result.stderr
