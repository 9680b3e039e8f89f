"""relink batch never changes accounts by accident: every guard is checked before any kernel.

No kernel starts here: ``KernelPool`` is replaced by one that fails the test if constructed.
The runs themselves (tickets, lights, the token) are in tests/notebooks/test_batch_tickets.py.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from relink.batch import runner as batch
from relink.batch.manifest import AccountJob, collect_jobs
from relink.batch.parameters import Template, check_parameters, destructive_steps
from relink.batch.summary import files as summary_files
from relink.cli import main
from relink.errors import BatchError
from relink.filenames import safe_name

EXPORT = "Order No.,Status\n#1,Fulfilled\n"
RUNBOOK_PARAMETERS = """\
account: str = "northwind-home"
target_aliexpress_account: str = "ae-new@example.com"
ticket: str = ""
operator: str = ""
export_path: str = ""
aliexpress_path: str = ""
steps: str = {steps!r}
confirm: bool = False
"""


class KernelStarted(AssertionError):
    """A kernel pool was constructed: validation let a batch through."""


@pytest.fixture(autouse=True)
def no_kernels(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise KernelStarted("a kernel pool was started")

    monkeypatch.setattr(batch, "KernelPool", refuse)


def write_runbook(folder: Path, *, steps: str = "") -> Path:
    """A notebook with the runbook's parameters (its body is never run here)."""
    cells = [
        nbformat.v4.new_code_cell(RUNBOOK_PARAMETERS.format(steps=steps)),
        nbformat.v4.new_code_cell("raise SystemExit('this notebook must never run')"),
    ]
    cells[0].metadata["tags"] = ["parameters"]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "language": "python"}
    path = folder / f"runbook-{len(steps)}.ipynb"
    nbformat.write(notebook, path)
    return path


@pytest.fixture
def inputs(tmp_path: Path) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("north", "south"):
        (folder / f"{name}.csv").write_text(EXPORT)
    (folder / "manifest.csv").write_text(
        "account,export,target,ticket\n"
        "north,north.csv,ae-north@example.com,T-1\n"
        "south,south.csv,ae-south@example.com,T-2\n"
    )
    return folder


def invoke(*args: object) -> tuple[int, str]:
    outcome = CliRunner().invoke(main, ["batch", *map(str, args)])
    return outcome.exit_code, outcome.output


def refused(args: list[object], *expected: str) -> str:
    """Run `relink batch ARGS`: it must exit 2 with one line naming every ``expected``."""
    code, output = invoke(*args)
    assert code == 2, output
    lines = output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("relink: error: "), output
    assert "Traceback" not in output
    for text in expected:
        assert text in lines[0], (text, lines[0])
    return lines[0]


DESTRUCTIVE = ["-p", "steps", "audit,unlink,relink,verify", "-p", "confirm", "true"]


def test_unlink_steps_need_allow_destructive(inputs: Path, tmp_path: Path) -> None:
    notebook = write_runbook(tmp_path)
    out = tmp_path / "out"
    base = [inputs / "manifest.csv", "--out", out, "--notebook", notebook]
    refused([*base, *DESTRUCTIVE], "steps unlink,relink change accounts", "--allow-destructive")
    refused([*base, "-p", "steps", "relink"], "steps relink", "--allow-destructive")
    # --allow-destructive is on top of -p confirm true, not instead of it
    refused([*base, "-p", "steps", "unlink", "--allow-destructive"], "-p confirm true")
    assert not out.exists()


def test_the_notebook_must_take_target_and_ticket(inputs: Path, tmp_path: Path) -> None:
    notebook = tmp_path / "no-ticket.ipynb"
    node = nbformat.read(write_runbook(tmp_path), as_version=4)
    node.cells[0].source = node.cells[0].source.replace('ticket: str = ""\n', "")
    nbformat.write(node, notebook)
    args = [inputs / "manifest.csv", "--out", tmp_path / "out", "--notebook", notebook]
    refused([*args, *DESTRUCTIVE, "--allow-destructive"], "no-ticket.ipynb takes no ticket")


def test_the_notebooks_default_steps_count(inputs: Path, tmp_path: Path) -> None:
    notebook = write_runbook(tmp_path, steps="audit,unlink")
    out = tmp_path / "out"
    refused(
        [inputs / "manifest.csv", "--out", out, "--notebook", notebook, "-p", "confirm", "true"],
        "steps unlink change accounts",
        "--allow-destructive",
    )
    assert not out.exists()


@pytest.mark.parametrize("plain", ["north.csv", "."])
def test_plain_exports_and_folders_are_refused(inputs: Path, tmp_path: Path, plain: str) -> None:
    notebook = write_runbook(tmp_path)
    args = [inputs / plain, "--out", tmp_path / "out", "--notebook", notebook, *DESTRUCTIVE]
    message = refused([*args, "--allow-destructive"], "north (north.csv)", "manifest")
    assert "target and ticket" in message


@pytest.mark.parametrize(
    ("south_row", "missing"),
    [
        ("south,south.csv,,T-2", "no target"),
        ("south,south.csv,ae-south@example.com,", "no ticket"),
        ("south,south.csv,,", "no target and no ticket"),
    ],
)
def test_a_row_without_target_or_ticket_is_named(
    inputs: Path, tmp_path: Path, south_row: str, missing: str
) -> None:
    manifest = inputs / "manifest.csv"
    manifest.write_text(
        f"account,export,target,ticket\nnorth,north.csv,ae-north@example.com,T-1\n{south_row}\n"
    )
    notebook = write_runbook(tmp_path)
    args = [manifest, "--out", tmp_path / "out", "--notebook", notebook, *DESTRUCTIVE]
    refused([*args, "--allow-destructive"], "manifest.csv: entry 2 (account south)", missing)
    assert not (tmp_path / "out").exists()


def test_a_manifest_without_target_columns_is_refused(inputs: Path, tmp_path: Path) -> None:
    manifest = inputs / "old.csv"
    manifest.write_text("account,export\nnorth,north.csv\n")
    notebook = write_runbook(tmp_path)
    args = [manifest, "--out", tmp_path / "out", "--notebook", notebook, *DESTRUCTIVE]
    refused([*args, "--allow-destructive"], "entry 1 (account north)", "no target and no ticket")


def test_duplicate_tickets_and_accounts_are_refused(inputs: Path, tmp_path: Path) -> None:
    manifest = inputs / "manifest.csv"
    manifest.write_text(
        "account,export,target,ticket\nnorth,north.csv,ae-a@x.com,T-1\nsouth,south.csv,ae-b@x.com,T-1\n"
    )
    with pytest.raises(BatchError, match="entry 2: ticket T-1 already given to north"):
        collect_jobs([manifest])
    manifest.write_text(
        "account,export,target,ticket\nnorth,north.csv,ae-a@x.com,T-1\nnorth,south.csv,ae-b@x.com,T-2\n"
    )
    notebook = write_runbook(tmp_path)
    args = [manifest, "--out", tmp_path / "out", "--notebook", notebook, *DESTRUCTIVE]
    refused([*args, "--allow-destructive"], "entry 2: account north is listed twice")


@pytest.mark.parametrize("name", ["ticket", "target_aliexpress_account"])
def test_target_and_ticket_are_per_account(inputs: Path, tmp_path: Path, name: str) -> None:
    notebook = write_runbook(tmp_path)
    args = [inputs / "manifest.csv", "--out", tmp_path / "out", "--notebook", notebook]
    refused(
        [*args, *DESTRUCTIVE, "--allow-destructive", "-p", name, "x-1"],
        f"-p {name}: per account, from the manifest",
    )


def test_no_override_in_a_batch(inputs: Path, tmp_path: Path) -> None:
    notebook = tmp_path / "override.ipynb"
    node = nbformat.read(write_runbook(tmp_path), as_version=4)
    node.cells[0].source += 'override_reason: str = ""\n'
    nbformat.write(node, notebook)
    args = [inputs / "manifest.csv", "--out", tmp_path / "out", "--notebook", notebook]
    refused([*args, "-p", "override_reason", "the merchant agreed"], "never in a batch")


def test_a_guarded_batch_gets_past_validation(inputs: Path, tmp_path: Path) -> None:
    notebook = write_runbook(tmp_path)
    jobs = collect_jobs([inputs / "manifest.csv"])
    parameters = {"steps": "audit,unlink,relink,verify", "confirm": "true"}
    with pytest.raises(KernelStarted):
        batch.run_batch(
            jobs, tmp_path / "out", notebook=notebook, parameters=parameters, allow_destructive=True
        )


@pytest.mark.parametrize(
    "parameters",
    [{}, {"steps": "audit,sync"}, {"steps": "audit", "target_aliexpress_account": "ae@x.com"}],
)
def test_non_destructive_batches_need_no_manifest(
    inputs: Path, tmp_path: Path, parameters: dict[str, str]
) -> None:
    notebook = write_runbook(tmp_path)
    jobs = collect_jobs([inputs / "north.csv", inputs])
    with pytest.raises(KernelStarted):
        batch.run_batch(jobs, tmp_path / "out", notebook=notebook, parameters=parameters)


def test_the_audit_notebook_is_never_destructive(inputs: Path, tmp_path: Path) -> None:
    jobs = collect_jobs([inputs / "north.csv"])
    with pytest.raises(KernelStarted):
        batch.run_batch(jobs, tmp_path / "out")


@pytest.mark.parametrize(
    "header",
    [
        "account,export,target,ticket",
        "account,export,to,ticket",
        "Account,Export,Target_AliExpress_Account,Ticket",
    ],
)
def test_manifest_target_spellings(inputs: Path, header: str) -> None:
    manifest = inputs / "m.csv"
    manifest.write_text(f"{header}\nnorth,north.csv, ae-n@x.com , T-9 \n")
    (job,) = collect_jobs([manifest])
    assert (job.target, job.ticket, job.source) == ("ae-n@x.com", "T-9", f"{manifest}: entry 1")


def test_yaml_manifest_target_and_ticket(inputs: Path) -> None:
    manifest = inputs / "m.yaml"
    manifest.write_text(
        "- {account: north, export: north.csv, to: ae-n@x.com, ticket: T-1}\n"
        "- {account: south, export: south.csv}\n"
    )
    north, south = collect_jobs([manifest])
    assert (north.target, north.ticket) == ("ae-n@x.com", "T-1")
    assert (south.target, south.ticket, south.from_manifest) == ("", "", True)
    (plain,) = collect_jobs([inputs / "north.csv"])
    assert not plain.from_manifest
    manifest.write_text("- {account: n, export: north.csv, to: a@x.com, target: b@x.com}\n")
    with pytest.raises(BatchError, match="both name the target"):
        collect_jobs([manifest])
    manifest.write_text("- {account: n, export: north.csv, ticket: 12}\n")
    with pytest.raises(BatchError, match="ticket must be text, not int"):
        collect_jobs([manifest])


def test_a_token_from_dot_env_is_refused_in_parameters(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELINK_API_TOKEN", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / ".env").write_text(
        'RELINK_API_URL=https://api.example.com\nRELINK_API_TOKEN="dotenv-tok-77"\n'
    )
    template = Template(tmp_path / "t.ipynb", None, {"account": "str", "note": "str"})
    assert check_parameters(template, {"note": "hello"}) == {"note": "hello"}
    with pytest.raises(BatchError, match="secrets never go in parameters"):
        check_parameters(template, {"note": "dotenv-tok-77"})


def test_destructive_steps() -> None:
    def template(default: str) -> Template:
        return Template(Path("t.ipynb"), None, {"steps": "str"}, {"steps": default})

    assert destructive_steps(template('""'), {}) == []
    assert destructive_steps(template('"audit, Unlink"'), {}) == ["unlink"]
    assert destructive_steps(template('""'), {"steps": "relink,unlink"}) == [
        "relink",
        "unlink",
    ]
    assert destructive_steps(template('"unlink"'), {"steps": "audit,sync"}) == []
    assert destructive_steps(template("os.environ['X']"), {}) == ["relink", "unlink"]
    no_steps = Template(Path("t.ipynb"), None, {"account": "str"})
    assert destructive_steps(no_steps, {"steps": "unlink"}) == []


def job(account: str, **kwargs: str) -> AccountJob:
    return AccountJob(account, Path(f"/x/{account}.csv"), None, safe_name(account), **kwargs)


def ticket_result(light: str, **more: object) -> dict[str, object]:
    linked = {"green": "ae-new@x.com", "amber": "ae-old@x.com", "red": None}[light]
    return {
        "ticket": "T-1",
        "from_aliexpress_account": "ae-old@x.com",
        "target_aliexpress_account": "ae-new@x.com",
        "steps": [{"step": "audit", "outcome": "done", "message": "ok"}],
        "steps_done": ["audit", "unlink"] if light == "red" else ["audit", "unlink", "relink"],
        "light": light,
        "linked_aliexpress_account": linked,
        "override": None,
        "api": "SANDBOX",
        "finished": light == "green",
        "verdict": "safe",
        "orders": 3,
        "blocked_orders": 0,
        "blocking": {},
        **more,
    }


def test_ticket_summary_lists_red_first(tmp_path: Path) -> None:
    green = batch.AccountRun(job("green-co"), batch.COMPLETED, result=ticket_result("green"))
    override = {"reason": "merchant cancelled the orders", "blockers": 2}
    amber = ticket_result("amber", override=override, ticket="T-2", api="dsers.example.com")
    amber_run = batch.AccountRun(job("amber-co"), batch.COMPLETED, result=amber)
    red = batch.AccountRun(job("red-co"), batch.FAILED, result=ticket_result("red", ticket="T-3"))
    red.error = batch.LEFT_RED
    assert red.left_red and not green.left_red
    report = batch.BatchReport(tmp_path, Path("runbook.ipynb"), 2, [green, amber_run, red])
    batch.write_summary(report)

    rows = list(csv.DictReader((tmp_path / "summary.csv").open(encoding="utf-8")))
    assert [r["account"] for r in rows] == ["red-co", "green-co", "amber-co"]
    assert rows[0]["status"] == "failed" and rows[0]["error"].startswith("left red: nothing linked")
    assert (rows[1]["ticket"], rows[1]["target"], rows[1]["light"]) == (
        "T-1",
        "ae-new@x.com",
        "green",
    )
    assert rows[1]["steps_done"] == "audit,unlink,relink" and rows[1]["api"] == "SANDBOX"
    assert rows[2]["override"] == "merchant cancelled the orders"
    assert (rows[2]["linked"], rows[2]["api"]) == ("ae-old@x.com", "dsers.example.com")
    document = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert [a["account"] for a in document["accounts"]] == ["red-co", "green-co", "amber-co"]
    assert document["accounts"][0]["result"]["light"] == "red"
    page = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert page.index("red-co") < page.index("green-co") < page.index("amber-co")
    assert "ticket summary" in page and "<th>ticket</th>" in page and "<th>light</th>" in page
    assert ">RED<" in page and ">GREEN<" in page and ">AMBER<" in page
    assert "1 left red" in page and "merchant cancelled the orders" in page and "T-3" in page


def test_audit_summary_keeps_its_shape(tmp_path: Path) -> None:
    result = {"verdict": "safe", "orders": 1, "blocked_orders": 0, "blocking": {}}
    runs = [batch.AccountRun(job("a"), batch.COMPLETED, result=result)]
    batch.write_summary(batch.BatchReport(tmp_path, Path("audit.ipynb"), 1, runs))
    (row,) = csv.DictReader((tmp_path / "summary.csv").open(encoding="utf-8"))
    assert all(row[key] == "" for key in ("ticket", "target", "light", "steps_done", "override"))
    page = (tmp_path / "summary.html").read_text(encoding="utf-8")
    assert "audit summary" in page and "<th>ticket</th>" not in page and ">SAFE<" in page


@pytest.mark.filterwarnings("ignore:Glyph")  # a tab in an account name, on the chart
def test_csv_cells_never_start_a_formula(tmp_path: Path) -> None:
    accounts = ['=HYPERLINK("http://x")', "+1", "-2", "@SUM(A1)", "\tx", "\rx", "plain"]
    runs = [batch.AccountRun(job(name), batch.FAILED) for name in accounts]
    for run in runs:
        run.error = "=cmd|' /C calc'!A0"
    batch.write_summary(batch.BatchReport(tmp_path, Path("audit.ipynb"), 1, runs))
    with (tmp_path / "summary.csv").open(newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    expected = [*("'" + name for name in accounts[:-1]), "plain"]
    assert [r["account"] for r in rows] == [name.replace("\r", "\n") for name in expected]
    assert all(r["error"] == "'=cmd|' /C calc'!A0" for r in rows)
    document = json.loads((tmp_path / "summary.json").read_text(encoding="utf-8"))
    assert [a["account"] for a in document["accounts"]] == accounts  # only the CSV is changed
    assert summary_files.csv_safe(-3) == -3 and summary_files.csv_safe(None) is None
