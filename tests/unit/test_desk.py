"""`relink open --no-lab`: one folder and one filled-in runbook per ticket; the template untouched.

Everything runs in-process on a temporary desk; no kernel, no server. The account API is never
called: a ``RELINK_API_URL`` in the environment only says "not the practice sandbox".
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import nbformat
import pytest
from click.testing import CliRunner

from relink.cli import main
from relink.desk import app
from relink.desk.folder import has_run
from relink.resources import RUNBOOK_NOTEBOOK

TOKEN = "tok-desk-7c1f0e9a-never-a-parameter"
TARGET = "ae-new@example.com"


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A working directory without .env, the real API's settings, and a desk in it."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("RELINK_DESK", raising=False)
    monkeypatch.setenv("RELINK_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RELINK_API_TOKEN", TOKEN)
    return tmp_path / "desk"


def relink_open(*args: str | Path) -> tuple[int, str, str]:
    outcome = CliRunner().invoke(main, ["open", *map(str, args)])
    return outcome.exit_code, outcome.stdout, outcome.stderr


def parameters_of(notebook: Path) -> dict[str, object]:
    node = nbformat.read(notebook, as_version=4)
    return dict(node.metadata["papermill"]["parameters"])


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_a_ticket_gets_its_folder_notebook_and_journal(desk: Path) -> None:
    code, out, err = relink_open("acme-1", "--to", TARGET, "--ticket", "HD-4411", "--desk", desk,
                                 "--operator", "sam", "--no-lab")  # fmt: skip
    assert code == 0, err
    folder = desk / "acme-1" / "HD-4411"
    assert sorted(p.name for p in folder.iterdir()) == ["HD-4411.ipynb", "ticket.json"]
    assert "Ticket HD-4411: acme-1 to ae-new@example.com (new; the account API)" in out
    assert f"notebook: {folder / 'HD-4411.ipynb'}" in out
    assert f"journal: {folder / 'journal.jsonl'}" in out
    record = json.loads((folder / "ticket.json").read_text())
    assert {k: record[k] for k in ("ticket", "account", "target", "api")} == {
        "ticket": "HD-4411", "account": "acme-1", "target": TARGET, "api": "deployment",
    }  # fmt: skip


def test_the_copy_holds_the_tickets_values_and_no_stored_output(desk: Path) -> None:
    code, _, err = relink_open("acme-1", "--to", TARGET, "--ticket", "HD-1", "--desk", desk,
                               "--operator", "sam", "--no-lab")  # fmt: skip
    assert code == 0, err
    notebook = desk / "acme-1" / "HD-1" / "HD-1.ipynb"
    node = nbformat.read(notebook, as_version=4)
    tags = [cell.metadata.get("tags", []) for cell in node.cells]
    assert ["injected-parameters"] not in tags
    source = node.cells[tags.index(["parameters"])].source
    assert 'account: str = "acme-1"  # DSers account id' in source
    assert 'ticket: str = "HD-1"  #' in source and 'operator: str = "sam"  #' in source
    assert f'target_aliexpress_account: str = "{TARGET}"  #' in source
    journal = desk.resolve() / "acme-1" / "HD-1" / "journal.jsonl"
    assert f'journal_path: str = "{journal}"  #' in source
    assert 'steps: str = ""  #' in source and "confirm: bool = False  #" in source
    assert parameters_of(notebook)["ticket"] == "HD-1"
    assert not has_run(notebook)  # the template's sample outputs are not this account's
    assert TOKEN not in notebook.read_text()  # the kernel reads it from its environment


def test_running_the_copy_headless_keeps_the_ticket(desk: Path) -> None:
    """papermill -p steps ... on the ticket's copy injects only what it is given."""
    from papermill.parameterize import parameterize_notebook

    assert relink_open("acme-1", "--to", TARGET, "--ticket", "HD-2", "--desk", desk,
                       "--operator", "sam", "--no-lab")[0] == 0  # fmt: skip
    notebook = desk / "acme-1" / "HD-2" / "HD-2.ipynb"
    again = parameterize_notebook(nbformat.read(notebook, as_version=4), {"steps": "audit"})
    wanted = {"parameters", "injected-parameters"}
    namespace: dict[str, object] = {}
    for cell in again.cells:
        if wanted & set(cell.metadata.get("tags", [])):
            exec(cell.source, namespace)  # the copy's own assignments, in the order a run does
    assert namespace["steps"] == "audit" and namespace["ticket"] == "HD-2"
    assert namespace["operator"] == "sam"
    assert str(namespace["journal_path"]).endswith("HD-2/journal.jsonl")


def test_the_template_is_never_modified(desk: Path) -> None:
    before = sha256(RUNBOOK_NOTEBOOK)
    for _ in range(2):
        assert relink_open("acme-1", "--to", TARGET, "--desk", desk, "--no-lab")[0] == 0
    assert sha256(RUNBOOK_NOTEBOOK) == before


def test_opening_again_reuses_the_ticket_and_keeps_a_notebook_that_ran(desk: Path) -> None:
    code, out, _ = relink_open("acme-1", "--to", TARGET, "--desk", desk, "--no-lab")
    assert code == 0
    ticket = re.search(r"Ticket (T-\d{8}-\d{4}-[0-9a-f]{4}):", out).group(1)  # a new id
    notebook = desk / "acme-1" / ticket / f"{ticket}.ipynb"
    code, out, _ = relink_open("acme-1", "--to", TARGET, "--desk", desk, "--no-lab")
    assert code == 0 and f"Ticket {ticket}: acme-1 to {TARGET} (reopened;" in out
    assert "had not been run: filled in again" in out
    assert [p.name for p in (desk / "acme-1").iterdir()] == [ticket]

    node = nbformat.read(notebook, as_version=4)  # the analyst ran it: outputs saved
    node.cells[3].execution_count = 1
    node.cells[3].outputs = [nbformat.v4.new_output("stream", text="Ticket opened\n")]
    nbformat.write(node, notebook)
    ran = notebook.read_bytes()
    code, out, _ = relink_open("acme-1", "--to", TARGET, "--desk", desk, "--no-lab",
                               "--operator", "kim")  # fmt: skip
    assert code == 0
    assert f"kept: {ticket}.ipynb has been run: it is the ticket's record" in out
    assert notebook.read_bytes() == ran


def test_practice_tickets_are_numbered_and_keep_their_journal_beside_the_notebook(
    desk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELINK_API_URL")
    monkeypatch.delenv("RELINK_API_TOKEN")
    code, out, _ = relink_open("northwind-home", "--to", TARGET, "--desk", desk, "--no-lab")
    assert code == 0 and "Ticket PRACTICE-1: northwind-home" in out and "practice" in out
    notebook = desk / "northwind-home" / "PRACTICE-1" / "PRACTICE-1.ipynb"
    journal = notebook.parent / "journal.jsonl"
    assert f"journal: {journal}" in out  # `relink journal` finds the practice afterwards
    assert parameters_of(notebook)["journal_path"] == str(journal)
    assert relink_open("northwind-home", "--to", TARGET, "--desk", desk, "--no-lab",
                       "--ticket", "PRACTICE-2")[0] == 0  # fmt: skip
    code, out, _ = relink_open("northwind-home", "--to", TARGET, "--desk", desk, "--no-lab")
    assert "Ticket PRACTICE-2:" in out  # the latest ticket of this target, continued
    # A practice ticket that has been run is over (its sandbox died with its kernel): the
    # same command opens the next one instead of continuing it.
    ran = desk / "northwind-home" / "PRACTICE-2" / "PRACTICE-2.ipynb"
    book = nbformat.read(ran, as_version=4)
    book.cells[-1].execution_count = 1
    nbformat.write(book, ran)
    code, out, _ = relink_open("northwind-home", "--to", TARGET, "--desk", desk, "--no-lab")
    assert "Ticket PRACTICE-3:" in out
    # a practice ticket is never continued on a real account API, nor the other way round
    monkeypatch.setenv("RELINK_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("RELINK_API_TOKEN", TOKEN)
    code, _, err = relink_open("northwind-home", "--to", TARGET, "--desk", desk, "--no-lab",
                               "--ticket", "PRACTICE-1")  # fmt: skip
    assert code == 2 and "a practice ticket and a real one are never the same ticket" in err


def test_the_desk_comes_from_relink_desk(desk: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RELINK_DESK", str(desk / "elsewhere"))
    assert relink_open("acme-1", "--to", TARGET, "--ticket", "HD-2", "--no-lab")[0] == 0
    assert (desk / "elsewhere" / "acme-1" / "HD-2" / "HD-2.ipynb").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["", "--to", TARGET], "account: empty"),
        (["acme\x1b[2J", "--to", TARGET], "use printable characters"),
        (["acme-1", "--to", "ae new@example.com"], "no spaces in an account id"),
        (["acme-1", "--to", TARGET, "--ticket", "../../etc"], "use letters, digits"),
        (["acme-1", "--to", TARGET, "--operator", TOKEN], "secrets never go in parameters"),
        (["acme-1", "--to", TARGET, "--operator", f" {TOKEN}"], "of RELINK_API_TOKEN: secrets"),
        (["acme-1", "--to", TARGET, "--ticket", f"HD-{TOKEN}"], "of RELINK_API_TOKEN: secrets"),
        (["acme-1", "--to", TARGET, "--export", "missing.csv"], "missing.csv: no such file"),
    ],
)
def test_bad_input_is_refused_in_one_line(desk: Path, args: list[str], message: str) -> None:
    code, out, err = relink_open(*args, "--desk", desk, "--no-lab")
    assert code == 2 and out == ""
    assert err.startswith("relink: error: ") and err.count("\n") == 1, err
    assert message in err and "Traceback" not in err
    assert "\x1b" not in err
    assert not desk.exists()  # nothing written for a refused ticket


def test_a_ticket_keeps_its_target_and_its_folder(desk: Path) -> None:
    assert relink_open("acme-1", "--to", TARGET, "--ticket", "HD/7", "--desk", desk,
                       "--no-lab")[0] == 0  # fmt: skip
    code, _, err = relink_open("acme-1", "--to", "ae-other@example.com", "--ticket", "HD/7",
                               "--desk", desk, "--no-lab")  # fmt: skip
    assert code == 2 and "a change of target is a new ticket" in err and err.count("\n") == 1
    # HD-7 makes the same folder name as HD/7: refused, never mixed into its folder
    code, _, err = relink_open("acme-1", "--to", TARGET, "--ticket", "HD-7", "--desk", desk,
                               "--no-lab")  # fmt: skip
    assert code == 2 and "holds ticket HD/7 of acme-1: pass another --ticket" in err


def test_lab_listens_on_loopback_with_the_token_out_of_the_command_line(
    desk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELINK_API_URL")
    monkeypatch.delenv("RELINK_API_TOKEN")
    Path(".env").write_text(f"RELINK_API_URL=http://127.0.0.1:9\nRELINK_API_TOKEN={TOKEN}\n")
    started: list[tuple[list[str], dict[str, str]]] = []
    monkeypatch.setattr(app.os, "execve", lambda _path, argv, env: started.append((argv, env)))
    code, out, err = relink_open("acme-1", "--to", TARGET, "--ticket", "HD-9", "--desk", desk,
                                 "--port", "18123")  # fmt: skip
    assert code == 0, err
    [(argv, env)] = started
    assert argv[1:4] == ["-m", "jupyter", "lab"]
    assert "--ServerApp.ip=127.0.0.1" in argv and "--ServerApp.port=18123" in argv
    assert f"--ServerApp.root_dir={desk.resolve()}" in argv
    assert str(desk.resolve() / "acme-1" / "HD-9" / "HD-9.ipynb") in argv
    url = "http://127.0.0.1:18123/lab/tree/acme-1/HD-9/HD-9.ipynb?token="
    assert f"JupyterLab: {url}{env['JUPYTER_TOKEN']}" in out
    # what to do next, right under the address: nothing runs until Run All
    lines = out.splitlines()
    assert lines[lines.index(f"JupyterLab: {url}{env['JUPYTER_TOKEN']}") + 1] == (
        "Next, in JupyterLab: Run > Run All Cells; the panel appears under 'The panel' "
        "(its buttons run the steps)."
    )
    assert not any(env["JUPYTER_TOKEN"] in arg or TOKEN in arg for arg in argv)
    # the kernels run in the ticket's folder: .env's API settings reach them in their environment
    assert env["RELINK_API_TOKEN"] == TOKEN and env["RELINK_API_URL"] == "http://127.0.0.1:9"


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.5", "example.com", "::"])
def test_the_app_refuses_a_host_beyond_loopback(host: str) -> None:
    outcome = CliRunner().invoke(main, ["app", "--host", host])
    assert outcome.exit_code == 2 and outcome.stdout == ""
    assert outcome.stderr.count("\n") == 1 and "not a loopback address" in outcome.stderr
    assert "--allow-remote" in outcome.stderr


def test_loopback_hosts() -> None:
    assert all(app.is_loopback(h) for h in ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost"))
    app.check_host("0.0.0.0", allow_remote=True)  # explicitly allowed: no error


def test_the_app_leaves_out_what_only_makes_sense_with_the_code_in_view() -> None:
    node = nbformat.read(RUNBOOK_NOTEBOOK, as_version=4)
    shown = app.hide_code_view_cells(None, node, ".")
    ids = [cell.get("id") for cell in shown.cells]
    assert {"intro", "parameters", "open", "steps", "panel-title", "panel"} <= set(ids)
    assert not {"intro-how", "blockers", "record"} & set(ids)


def test_the_app_page_starts_with_the_panel_and_explains_after() -> None:
    node = nbformat.read(RUNBOOK_NOTEBOOK, as_version=4)
    page = app.app_page_cells(None, node, ".")
    ids = [cell.get("id") for cell in page.cells]
    assert page.cells[0].source == app.APP_CELL_SOURCE  # refusals shown on the page
    code = [cell.get("id") for cell in page.cells[1:] if cell.cell_type == "code"]
    assert code == ["parameters", "open", "steps", "panel"]  # in the notebook's order
    text = [cell for cell in page.cells if cell.cell_type == "markdown"]
    assert text[0].source == "## About this page" and text[0] is page.cells[ids.index("panel") + 1]
    assert [cell.get("id") for cell in text[1:]] == ["intro", "panel-title"]  # after the panel
    assert not {"intro-how", "blockers", "record"} & set(ids)


def test_a_refusal_is_shown_on_the_app_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """Voilà replaces every error with "There was an error when executing cell [N]": the
    app's page shows relink's refusal as the cell's output instead, and the cell still fails."""
    from IPython.core.interactiveshell import InteractiveShell
    from IPython.utils.capture import capture_output

    monkeypatch.setattr(app, "_SERVING_APP_PAGE", False)
    shell = InteractiveShell.instance()
    try:
        app.as_app_page()
        assert app.serving_app_page()
        with capture_output() as captured:
            result = shell.run_cell(
                "from relink.errors import InputError\n"
                "raise InputError('ticket PRACTICE-2 is open in another runbook: carry on there')"
            )
        assert type(result.error_in_exec).__name__ == "InputError"  # the page stops here
        [shown] = captured.outputs
        assert 'class="relink-refusal"' in shown.data["text/html"]
        assert (
            "ticket PRACTICE-2 is open in another runbook: carry on there"
            in (shown.data["text/html"])
        )
        assert "Traceback" not in captured.stdout + captured.stderr
    finally:
        shell.set_custom_exc((), None)


def test_a_practice_ticket_with_a_journal_is_over_on_the_desk(
    desk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The app never saves the notebook: a practice ticket a runbook opened (its journal says
    so) is over all the same, and the same command opens the next one."""
    monkeypatch.delenv("RELINK_API_URL")
    monkeypatch.delenv("RELINK_API_TOKEN")
    assert relink_open("northwind-home", "--to", TARGET, "--desk", desk, "--no-lab")[0] == 0
    journal = desk / "northwind-home" / "PRACTICE-1" / "journal.jsonl"
    code, out, _ = relink_open("northwind-home", "--to", TARGET, "--desk", desk, "--no-lab")
    assert "Ticket PRACTICE-1:" in out  # never opened by a runbook: still the one
    entry = {"phase": "ticket", "ticket": "PRACTICE-1", "account": "northwind-home"}
    journal.write_text(json.dumps(entry) + "\n", encoding="utf-8")
    code, out, _ = relink_open("northwind-home", "--to", TARGET, "--desk", desk, "--no-lab")
    assert code == 0 and "Ticket PRACTICE-2:" in out


def test_a_ticket_folder_never_exists_without_its_record(
    desk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another open seeing the folder before its record would take it for a foreign folder
    and refuse (exit 2): the folder appears with its record, in one rename."""
    from relink.desk import folder as desks

    folder = desk / "acme-1" / "HD-8"
    seen: list[bool] = []
    write = desks.write_atomically

    def watching(path: Path, data: str, **options: object) -> Path:
        if Path(path).name == "ticket.json":
            seen.append(folder.exists())  # while the record is written
        return write(path, data, **options)  # type: ignore[arg-type]

    monkeypatch.setattr(desks, "write_atomically", watching)
    assert relink_open("acme-1", "--to", TARGET, "--ticket", "HD-8", "--desk", desk,
                       "--no-lab")[0] == 0  # fmt: skip
    assert seen == [False] and (folder / "ticket.json").is_file()
    assert [p.name for p in (desk / "acme-1").iterdir()] == ["HD-8"]  # nothing left aside


def test_two_opens_of_one_ticket_at_once_share_one_whole_record(desk: Path) -> None:
    """Two analysts open the same ticket at the same moment: one record, whole, and no leftovers."""
    import subprocess
    import sys

    command = [sys.executable, "-m", "relink", "open", "acme-1", "--to", TARGET,
               "--ticket", "HD-7", "--desk", str(desk), "--no-lab"]  # fmt: skip
    runs = [subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(8)]  # fmt: skip
    outcomes = [(run.wait(timeout=120), *run.communicate()) for run in runs]
    assert [code for code, _, _ in outcomes] == [0] * 8, outcomes
    folder = desk / "acme-1" / "HD-7"
    assert sorted(p.name for p in folder.iterdir()) == ["HD-7.ipynb", "ticket.json"]
    assert json.loads((folder / "ticket.json").read_text())["ticket"] == "HD-7"
    assert sum("(new;" in out for _, out, _ in outcomes) >= 1


def test_an_account_the_practice_sandbox_lacks_is_refused_before_any_folder(
    desk: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RELINK_API_URL")
    monkeypatch.delenv("RELINK_API_TOKEN")
    code, out, err = relink_open("nosuch-account", "--to", TARGET, "--desk", desk, "--no-lab")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "'nosuch-account' is not on the practice sandbox (it has northwind-home" in err
    assert not desk.exists()
    assert relink_open("northwind-home", "--to", TARGET, "--desk", desk, "--no-lab")[0] == 0


def test_a_deployment_that_does_not_answer_opens_the_ticket_and_says_unchecked(desk: Path) -> None:
    code, out, _err = relink_open("acme-1", "--to", TARGET, "--desk", desk, "--no-lab")
    assert code == 0  # RELINK_API_URL is a port nobody listens on
    assert "account not checked: the account API did not answer" in out


def test_serving_beyond_loopback_says_what_crosses_the_network_in_clear(desk: Path) -> None:
    outcome = CliRunner().invoke(
        main, ["app", "--host", "0.0.0.0", "--allow-remote", "--desk", str(desk)]
    )
    warning = outcome.stderr.splitlines()[0]
    assert "serving plain HTTP on 0.0.0.0: the access token in the URL" in warning
    assert "TLS reverse proxy" in warning
    assert app.plain_http_warning("127.0.0.1") == "" and app.plain_http_warning("::1") == ""
