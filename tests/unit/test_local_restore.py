"""`tandem restore`'s arguments."""

from datetime import date

import pytest

from tandem_local import cli


def test_restore_takes_a_date_and_optionally_one_table() -> None:
    args = cli._parser().parse_args(["restore", "--date", "2026-11-30", "--table", "OrdersTable"])
    assert (args.run, args.date, args.table) == (cli.cmd_restore, date(2026, 11, 30), "OrdersTable")
    assert cli._parser().parse_args(["restore", "--date", "2026-11-30"]).table is None


def test_restore_without_a_date_is_refused() -> None:
    with pytest.raises(SystemExit):
        cli._parser().parse_args(["restore"])
