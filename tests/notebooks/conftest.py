"""Fixture accounts for the notebook and batch tests: small exports written in a temp folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

HEADER = ["Order No.", "Store", "DSers Status", "AliExpress Order No.", "Customer Email"]
BLOCKED_ROWS = [
    ["#1001", "Shop A", "Awaiting payment", "8100000000000001", "zoe.private@example.com"],
    ["#1002", "Shop A", "Fulfilled", "8100000000000002", "jose.private@example.com"],
    ["#1001", "Shop B", "Awaiting order", "8100000000000003", "anais.private@example.com"],
    ["#1003", "Shop B", "On hold", "", "liam.private@example.com"],
    ["", "Shop B", "Fulfilled", "", "nobody.private@example.com"],  # rejected: no order number
]
SAFE_ROWS = [
    ["#2001", "Shop A", "Fulfilled", "8200000000000001", "mia.private@example.com"],
    ["#2002", "Shop A", "Canceled", "", "noah.private@example.com"],
]
ALIEXPRESS_ROWS = [
    ["aliexpress_order_id", "order_status", "end_reason"],
    ["8100000000000001", "PLACE_ORDER_SUCCESS", ""],
    ["8100000000000002", "FINISH", ""],
    ["8100000000000003", "WAIT_SELLER_SEND_GOODS", ""],  # drift: a hidden in-flight order
]


@pytest.fixture
def personal_data() -> list[str]:
    """The e-mail addresses in the fixture exports: they must never appear in any output."""
    return [row[4] for row in BLOCKED_ROWS + SAFE_ROWS]


@pytest.fixture
def fixture_accounts(write_csv: Callable[..., Path]) -> dict[str, Path]:
    """A blocked export with its AliExpress file, a safe export, and an export lacking a column."""
    return {
        "blocked": write_csv([HEADER, *BLOCKED_ROWS], "blocked.csv"),
        "aliexpress": write_csv(ALIEXPRESS_ROWS, "blocked-aliexpress.csv"),
        "safe": write_csv([HEADER, *SAFE_ROWS], "safe.csv"),
        "broken": write_csv([["Order No.", "Store"], ["#1", "Shop A"]], "broken.csv"),
    }
