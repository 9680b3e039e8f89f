"""Reading exports: encodings, delimiters, quoting, workbooks, aliases, line items, rejections."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from relink.audit.exports import read_aliexpress, read_export
from relink.errors import ExportError

HEADER = ["Order No.", "Status", "Store", "Customer Name", "Shipping Address"]
ROWS = [
    ["#1001", "Awaiting payment", "Shop A", "Zoë Müller", "Straße 1, Köln"],
    ["#1002", "Fulfilled", "Shop A", "José Ñúñez", 'Flat "B", 2\nLine two'],
    ["#1001", "Cancelled", "Shop B", "Anaïs", "Rue; de la Paix"],
]


@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252", "utf-16"])
def test_every_delimiter_and_encoding_reads_the_same(write_csv, delimiter, encoding) -> None:
    path = write_csv([HEADER, *ROWS], delimiter=delimiter, encoding=encoding)
    export = read_export(path)
    assert export.rows_in == 3 and export.rejected.empty
    assert export.orders["order"].tolist() == ["#1001", "#1002", "#1001"]
    assert export.orders["store"].tolist() == ["Shop A", "Shop A", "Shop B"]
    assert export.orders["status_key"].tolist() == ["awaiting_payment", "fulfilled", "canceled"]
    assert export.orders["row"].tolist() == [2, 3, 4]


def test_quoted_fields_keep_delimiters_quotes_and_newlines(write_csv) -> None:
    rows = [["Order No.", "Note", "Status"], ["#1", 'say "hi", then\nleave', "Fulfilled"]]
    rows.append(["#2", "plain", "Awaiting order"])
    export = read_export(write_csv(rows))
    # The record spanning two physical lines is still one spreadsheet row.
    assert export.orders["row"].tolist() == [2, 3]
    assert export.orders["status_key"].tolist() == ["fulfilled", "awaiting_order"]


def test_only_wanted_columns_are_kept(write_csv) -> None:
    export = read_export(write_csv([HEADER, *ROWS]))
    assert "Customer Name" not in export.orders and "Shipping Address" not in export.orders
    assert not any("Zo" in str(v) for v in export.orders.to_numpy().ravel())


@pytest.mark.parametrize(
    ("order_header", "status_header"),
    [
        ("Order No.", "Status"),
        ("order_no", "ORDER STATUS"),
        ("ORDER NUMBER", "dsers-status"),
        ("Order ID", "Status"),
        ("Order", "Status"),
        ("Name", "Status"),
        (" order   no ", "status"),
    ],
)
def test_columns_are_found_by_alias(write_csv, order_header, status_header) -> None:
    export = read_export(write_csv([[order_header, status_header], ["#9", "Fulfilled"]]))
    assert export.orders.loc[0, "order"] == "#9"
    assert export.columns["order"] == order_header.strip()


def test_alias_precedence_prefers_the_more_specific_column(write_csv) -> None:
    header = ["Name", "Order No.", "Status", "DSers Status", "Shop", "Store"]
    export = read_export(write_csv([header, ["Bob", "#7", "x", "Fulfilled", "s1", "s2"]]))
    row = export.orders.iloc[0]
    assert (row["order"], row["status"], row["store"]) == ("#7", "Fulfilled", "s2")


def test_optional_columns(write_csv) -> None:
    header = ["Order No.", "Status", "AliExpress Order ID", "Tracking No.", "Created At"]
    export = read_export(write_csv([header, ["#1", "Fulfilled", "8180000000000001", "LP1", "d"]]))
    row = export.orders.iloc[0]
    assert row["aliexpress_order"] == "8180000000000001" and row["tracking"] == "LP1"
    assert row["store"] == ""


def test_line_item_rows_take_the_status_of_their_order(write_csv) -> None:
    rows = [
        ["Name", "Status", "Store"],
        ["#1", "Awaiting shipment", "A"],
        ["#2", "Fulfilled", "A"],
        ["#2", "", ""],  # continuation row, store left blank: the row above's store
        ["#1", "", "A"],  # nearest earlier row of (A, #1), not the row just above
        ["#1", "", "B"],  # another store's #1 has no earlier status: unknown
    ]
    orders = read_export(write_csv(rows)).orders
    assert orders["store"].tolist() == ["A", "A", "A", "A", "B"]
    assert orders["status_key"].tolist()[:4] == [
        "awaiting_shipment",
        "fulfilled",
        "fulfilled",
        "awaiting_shipment",
    ]
    assert pd.isna(orders.loc[4, "status_key"])
    assert orders["status"].tolist()[:4] == [
        "Awaiting shipment",
        "Fulfilled",
        "Fulfilled",
        "Awaiting shipment",
    ]


def test_unrecognised_and_empty_statuses_are_kept_not_dropped(write_csv) -> None:
    rows = [["Order No.", "Status"], ["#1", "On hold"], ["#2", ""], ["#3", "N/A"]]
    orders = read_export(write_csv(rows)).orders
    assert orders["order"].tolist() == ["#1", "#2", "#3"]
    assert orders["status_key"].isna().all()
    assert orders.loc[2, "status"] == "N/A"


def test_rows_without_order_number_are_rejected_with_spreadsheet_row(write_csv) -> None:
    rows = [
        ["Order No.", "Status"],
        ["#1", "Fulfilled"],
        ["", "Fulfilled"],
        ["  ", "x"],
        ["#4", ""],
    ]
    export = read_export(write_csv(rows))
    assert export.rejected.to_dict("records") == [
        {"row": 3, "reason": "no order number"},
        {"row": 4, "reason": "no order number"},
    ]
    assert export.rows_in == 4 == len(export.orders) + len(export.rejected)


BLANKS = (  # lines with no value in any column, as exporters and Excel write them
    'Order No.,Status,Customer\r\n#1,Fulfilled,Ann\r\n\r\n , ,\t\r\n"","",""\r\n'
    "#5,Fulfilled,Bo\r\n,,Main St\r\n,,\r\n"
)


@pytest.mark.parametrize(
    ("text", "arrow"),
    [
        (BLANKS, True),  # wanted columns read by Arrow, each blank row's line read to be sure
        (BLANKS.replace("\r\n", "\n"), True),
        (BLANKS.replace("Bo", '"Bo\r\nand Cy"'), False),  # a value spans lines: pandas reads
        (BLANKS + ",\r\n", False),  # a short row (fewer fields than the header): pandas reads
    ],
    ids=["crlf", "lf", "a-value-spanning-lines", "a-short-row"],
)
@pytest.mark.parametrize("encoding", ["utf-8", "utf-16"])
def test_blank_rows_are_not_orders_but_a_row_with_any_value_is(
    tmp_path, monkeypatch, text, arrow, encoding
) -> None:
    from relink.audit import csv_reader

    if arrow and encoding == "utf-8":  # pandas must not be needed to tell a blank row
        monkeypatch.setattr(csv_reader, "_parse_csv", None)
    path = tmp_path / "gaps.csv"
    path.write_bytes(text.encode(encoding))
    export = read_export(path)
    assert export.orders["row"].tolist() == [2, 6]  # spreadsheet row numbers kept
    # "Main St" is a value: a row with data but no order number is still rejected
    assert export.rejected.to_dict("records") == [{"row": 7, "reason": "no order number"}]
    blank = 4 + text.endswith(",\r\n,\r\n")  # empty, blanks, empty quotes, ",," (and ",")
    assert export.rows_blank == blank
    assert export.rows_in == 3 + blank == len(export.orders) + len(export.rejected) + blank


def test_blank_rows_in_a_workbook_formatted_or_empty_strings(tmp_path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.append(["Order No.", "Status", "Customer"])
    sheet.append(["#1", "Fulfilled", "Ann"])
    sheet.append(["", "", ""])  # a row of empty strings
    sheet.append(["#3", "Fulfilled", "Bo"])
    sheet.append([None, None, "note"])  # a value, no order number
    for row in range(6, 9):  # empty but formatted rows at the end, as Excel leaves them
        for column in range(1, 4):
            sheet.cell(row, column).font = Font(bold=True)
    sheet.cell(9, 2).value = "   "
    book.save(tmp_path / "orders.xlsx")
    export = read_export(tmp_path / "orders.xlsx")
    assert export.orders["row"].tolist() == [2, 4]
    assert export.rejected.to_dict("records") == [{"row": 5, "reason": "no order number"}]
    assert export.rows_blank == 5 and export.rows_in == 8


def test_a_workbook_longer_than_a_piece_reads_as_one(write_xlsx) -> None:
    from relink.audit.xlsx_reader import _ROWS_PER_PIECE as PIECE

    # Rows are turned into columns a piece at a time: a first piece of text order numbers, then
    # numbers, an empty row and a row of blanks, the sheet starting in column B.
    rows: list[list[object]] = [[None, "Order No.", "Status", "Note"]]
    rows += [[None, f"#{n}", "Fulfilled", None] for n in range(1, PIECE + 1)]
    rows += [[None, 5001, "Pending", 1.5], [None, None, None, None], [None, " ", "", " "]]
    rows += [[None, 5002.0, "Pending", None]] * 3
    export = read_export(write_xlsx({"S": rows}))
    assert export.rows_in == PIECE + 6 and export.rows_blank == 2 and export.rejected.empty
    orders = export.orders.sort_values("row")
    assert orders["order"].tolist() == [f"#{n}" for n in range(1, PIECE + 1)] + [
        "5001",
        *["5002"] * 3,
    ]
    last = [PIECE + 1, PIECE + 2, *range(PIECE + 5, PIECE + 8)]  # the header is row 1
    assert orders["row"].tolist()[PIECE - 1 :] == last


def test_a_file_of_blank_rows_has_no_data_rows(tmp_path: Path) -> None:
    path = tmp_path / "blank.csv"
    path.write_text("Order No.,Status\n,\n\n")
    with pytest.raises(ExportError, match="has a header but no data rows"):
        read_export(path)


def test_a_blank_row_of_the_aliexpress_file_is_skipped(write_csv) -> None:
    side = read_aliexpress(
        write_csv([["aliexpress_order_id", "order_status"], ["8001", "FINISH"], ["", ""]])
    )
    assert side.rejected.empty and side.rows_blank == 1 and side.rows_in == 2


@pytest.mark.parametrize("bad_row", [2, 3])
def test_rows_with_too_many_fields_make_the_file_unreadable(write_csv, bad_row) -> None:
    # An unquoted delimiter shifts every later cell: reading such a row would be a guess.
    rows = [["Order No.", "Status"], ["#1", "Fulfilled"], ["#2", "Fulfilled"]]
    rows[bad_row - 1] = [*rows[bad_row - 1], "123 Main St"]
    with pytest.raises(ExportError, match=rf"row {bad_row} has (3|more) fields"):
        read_export(write_csv(rows))


def test_xlsx_first_sheet_with_the_columns_is_used(write_xlsx) -> None:
    path = write_xlsx(
        {
            "Notes": [["Exported by DSers"], ["for support"]],
            "Orders": [
                ["Order No.", "Status", "AliExpress Order No.", "Quantity"],
                [1001, "Awaiting Payment", 8180123456789012, 2],
                [1002.0, "Fulfilled", None, 1],
                [None, "Fulfilled", None, 1],
            ],
            "Later": [["Order No.", "Status"], ["#x", "Pending"]],
        }
    )
    export = read_export(path)
    assert export.orders["order"].tolist() == ["1001", "1002"]
    assert export.orders.loc[0, "aliexpress_order"] == "8180123456789012"
    assert export.rejected.to_dict("records") == [{"row": 4, "reason": "no order number"}]


def test_xlsx_header_below_a_title_row(write_xlsx) -> None:
    path = write_xlsx({"S": [["Orders of shop A"], [], ["Order No.", "Status"], ["#1", "Pending"]]})
    export = read_export(path)
    assert export.orders["row"].tolist() == [4]


def test_xlsx_without_the_columns_names_what_it_found(write_xlsx) -> None:
    path = write_xlsx({"S": [["Order No.", "Customer"], ["#1", "Bob"]]})
    with pytest.raises(
        ExportError, match=r"no status column .*columns found: Order No\., Customer"
    ):
        read_export(path)


BAD = Path(__file__).parents[1] / "data" / "bad"


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("empty.csv", "is empty"),
        ("blank.csv", "is empty"),
        ("header_only.csv", "has a header but no data rows"),
        ("no_status.csv", "no status column"),
        ("no_order.csv", "no order column"),
        ("one_line.txt", "no order column"),
        ("orders.json", "no order column"),
        ("picture.csv", "not a CSV or XLSX"),
        ("report.pdf", "not a CSV or XLSX"),
        ("not_a_workbook.xlsx", "not a valid XLSX"),
        ("truncated.xlsx", "not a readable XLSX"),
    ],
)
def test_bad_inputs_raise_one_line_naming_the_file(name: str, message: str) -> None:
    with pytest.raises(ExportError) as caught:
        read_export(BAD / name)
    text = str(caught.value)
    assert text.startswith(str(BAD / name)) and message in text and "\n" not in text


def test_missing_file_and_directory(tmp_path: Path) -> None:
    with pytest.raises(ExportError, match="no such file"):
        read_export(tmp_path / "nope.csv")
    with pytest.raises(ExportError, match="is a directory"):
        read_export(tmp_path)


def test_aliexpress_side_file(write_csv) -> None:
    rows = [
        [
            "aliexpress_order_id",
            "order_status",
            "end_reason",
            "logistics_status",
            "tracking_number",
        ],
        ["8180000000000001", "FINISH", "buyer_cancel", "", ""],
        ["", "FINISH", "", "", ""],
        ["8180000000000002", "WAIT_BUYER_ACCEPT_GOODS", "", "IN_TRANSIT", "LP9"],
        ["8180000000000002", "WAIT_BUYER_ACCEPT_GOODS", "", "IN_TRANSIT", "LP9"],
        ["8180000000000001", "WAIT_SELLER_SEND_GOODS", "", "", ""],
    ]
    side = read_aliexpress(write_csv(rows, "ae.csv"))
    assert side.records["aliexpress_order"].tolist() == ["8180000000000001", "8180000000000002"]
    assert side.rejected["row"].tolist() == [3, 6]
    assert "repeats row 2" in side.rejected.loc[1, "reason"]
    assert side.repeats == 1
    assert side.rows_in == 5 == len(side.rejected) + len(side.records) + side.repeats


def test_an_order_export_is_not_an_aliexpress_file(write_csv) -> None:
    with pytest.raises(ExportError, match="no aliexpress_order column"):
        read_aliexpress(write_csv([HEADER, *ROWS]))


def test_identifiers_are_trimmed_and_blank_ones_are_missing(write_csv) -> None:
    rows = [
        ["Order No.", "Status", "Store", "AliExpress Order No."],
        [" #1 ", "Fulfilled", " A", " 8180000000000001 "],
        ["#1", "Awaiting payment", "A ", ""],
        ["   ", "Fulfilled", "A", ""],
    ]
    export = read_export(write_csv(rows))
    assert export.orders["order"].tolist() == ["#1", "#1"]
    assert export.orders["store"].tolist() == ["A", "A"]
    assert export.orders["order_key"].nunique() == 1
    assert export.orders.loc[0, "aliexpress_order"] == "8180000000000001"
    assert export.rejected["row"].tolist() == [4]


def test_excel_separator_hint_line(tmp_path) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes("sep=;\r\nOrder No.;Status\r\n#1;Fulfilled\r\n;Fulfilled\r\n".encode("cp1252"))
    export = read_export(path)
    assert export.orders["order"].tolist() == ["#1"]
    assert export.rejected["row"].tolist() == [3]  # Excel shows the header as row 1


def test_identifiers_keep_their_leading_zeros_and_every_digit(write_csv) -> None:
    rows = [
        ["Order No.", "Status", "AliExpress Order No."],
        ["0012", "Fulfilled", "9123456789012345678"],
        ["0012", "", ""],
    ]
    orders = read_export(write_csv(rows)).orders
    assert orders["order"].tolist() == ["0012", "0012"]
    assert orders.loc[0, "aliexpress_order"] == "9123456789012345678"
    assert orders.loc[1, "status_key"] == "fulfilled"
