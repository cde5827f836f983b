"""The Runs table (offscreen): readable columns whatever a cell holds, sorting that survives the refresh,
and the keys and buttons a person uses on a row."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QApplication

from gan_studio.store.lock import RunLock
from gan_studio.store.rundir import RunDir
from gan_studio.ui.app import create_app
from gan_studio.ui.panels.runs import COLUMN_CAPS, COLUMNS, CREATED_COLUMN, RunsPanel, short_error

STEP_COLUMN = COLUMNS.index("Step")
STATUS_COLUMN = COLUMNS.index("Status")


def write_run(folder: Path, step: int, created: float, data: str = "toy", status: str = "stopped",
              model: str = "dcgan") -> Path:  # fmt: skip
    run = RunDir(folder)
    run.create()
    run.write_info({"model": model, "status": status, "created": created, "step": step, "steps_total": 1000,
                    "dataset": {"name": data}})  # fmt: skip
    return folder


def write_runs_with_metrics(workspace: Path, names: list[str], step: int, data: str) -> None:
    """Runs named `names`, newest last, each with a record of the four GAN metrics (a full Last metrics cell)."""
    from gan_studio.events import Metrics

    for i, name in enumerate(names):
        run = RunDir(write_run(workspace / name, step, time.time() + i, data=data))
        run.record(Metrics(200, values={"d_loss": 1.02, "g_loss": 0.939, "d_real": 0.485, "d_fake": 0.231}))


def column_texts(panel: RunsPanel, column: int) -> list[str]:
    return [panel.table.item(row, column).text() for row in range(panel.table.rowCount())]


@pytest.mark.parametrize("width", [1100, 600])
def test_an_unreadable_run_or_a_long_data_name_leaves_every_column_readable(qtbot, tmp_path, width):
    create_app()  # the app's style: its paddings and font widen every column
    workspace = tmp_path / "a-rather-long-workspace-folder-name-for-the-runs-of-this-test" / "runs"
    write_run(workspace / "good", 10, time.time(), data="very_long_folder_name_" * 12)
    broken = workspace / "zz-garbage-json"
    broken.mkdir(parents=True)
    (broken / "run.json").write_text('{"model": "dcgan", "status": ')
    panel = RunsPanel(workspace)
    qtbot.addWidget(panel)
    panel.resize(width, 300)
    panel.show()
    qtbot.waitExposed(panel)
    panel.refresh()
    qtbot.wait(20)
    assert panel.width() == width  # the long workspace path does not widen the panel: it is cut in its middle
    assert panel.workspace_label.toolTip() == str(workspace)
    if width < 1000:
        assert "…" in panel.workspace_label.text()
    row = next(r for r in range(panel.table.rowCount()) if panel.table.item(r, 0).text() == "zz-garbage-json")
    cell = panel.table.item(row, COLUMNS.index("Last metrics"))
    assert cell.text() == "broken: run.json: not valid JSON"  # short, without the path, and the word `runs` uses
    assert str(broken) in cell.toolTip() and "not valid JSON (" in cell.toolTip()  # the details stay reachable
    panel.current_run = workspace / "good"
    panel.select_run(broken)  # nothing to fork or compare in it; Open says why
    assert panel.open_button.isEnabled() and not panel.fork_button.isEnabled() and not panel.compare_button.isEnabled()
    data = panel.table.item(1 - row, COLUMNS.index("Data"))
    assert data.toolTip() == ("very_long_folder_name_" * 12)[:80]  # the whole name (as the summary keeps it)
    header = panel.table.horizontalHeader()
    for column, cap in enumerate(COLUMN_CAPS[:-1]):
        assert 20 <= panel.table.columnWidth(column) <= cap, COLUMNS[column]
    created_right = header.sectionViewportPosition(CREATED_COLUMN) + header.sectionSize(CREATED_COLUMN)
    assert created_right <= panel.table.viewport().width() + 1, created_right  # Created on screen, no scrolling
    assert panel.table.horizontalScrollBar().maximum() == 0
    date_width = panel.table.fontMetrics().horizontalAdvance("2026-11-30 15:34")
    assert header.sectionSize(CREATED_COLUMN) >= date_width  # the whole date
    if width > 1000:  # room enough: nothing of a short name is cut
        assert panel.table.columnWidth(0) >= panel.table.fontMetrics().horizontalAdvance("zz-garbage-json")

    header.resizeSection(COLUMNS.index("Data"), 60)  # the person drags a column: the refresh keeps it
    write_run(workspace / "newer", 3, time.time() + 5)
    panel.refresh()
    assert panel.table.rowCount() == 3 and panel.table.columnWidth(COLUMNS.index("Data")) == 60


def test_short_error_drops_the_path_and_the_details():
    assert short_error("/x/y/run.json: not valid JSON (line 1 column 30)", "/x/y") == "run.json: not valid JSON"
    assert short_error("/x/y: the run folder is a symlink", "/x/y") == "the run folder is a symlink"
    assert short_error("run.json is a directory") == "run.json is a directory"
    assert len(short_error("/r: " + "word " * 40)) <= 48


def test_the_table_sorts_by_a_clicked_header_numbers_as_numbers_and_keeps_it_over_refreshes(qtbot, tmp_path):
    workspace = tmp_path / "ws"
    now = time.time()
    for name, step, age in (("b-run", 9, 30), ("a-run", 1200, 10), ("c-run", 100, 20)):
        write_run(workspace / name, step, now - age * 86400)  # a month apart: dates sort as times, not text
    panel = RunsPanel(workspace)
    qtbot.addWidget(panel)
    panel.show()
    assert column_texts(panel, 0) == ["a-run", "c-run", "b-run"]  # newest first by default
    header = panel.table.horizontalHeader()
    header.sectionClicked.emit(STEP_COLUMN)  # what a click on the header does
    steps = column_texts(panel, STEP_COLUMN)
    assert steps in (["9", "100", "1,200"], ["1,200", "100", "9"])  # numerically, never "100" < "1,200" < "9"
    panel.table.sortByColumn(STEP_COLUMN, Qt.SortOrder.AscendingOrder)
    assert column_texts(panel, STEP_COLUMN) == ["9", "100", "1,200"]
    panel.table.sortByColumn(CREATED_COLUMN, Qt.SortOrder.AscendingOrder)
    assert column_texts(panel, 0) == ["b-run", "c-run", "a-run"]
    panel.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
    assert column_texts(panel, 0) == ["a-run", "b-run", "c-run"]

    panel.select_run(workspace / "c-run")
    panel.current_run = workspace / "b-run"
    write_run(workspace / "0-newest", 5, now)  # the periodic refresh finds a new run
    panel.refresh()
    assert column_texts(panel, 0) == ["0-newest", "a-run", "b-run", "c-run"]  # still sorted by name
    assert panel.selected_run() == workspace / "c-run"  # the selection follows its run, not its row
    bold = [panel.table.item(r, 0).text() for r in range(4) if panel.table.item(r, 0).font().bold()]
    assert bold == ["b-run"]  # the current run is still marked

    settings = QSettings(str(tmp_path / "prefs.ini"), QSettings.Format.IniFormat)
    panel.table.sortByColumn(STEP_COLUMN, Qt.SortOrder.DescendingOrder)
    panel.save_settings(settings)
    again = RunsPanel(tmp_path / "elsewhere")
    qtbot.addWidget(again)
    again.restore_settings(settings)
    assert again.workspace == workspace
    assert column_texts(again, STEP_COLUMN) == ["1,200", "100", "9", "5"]  # the sort is remembered


def test_return_opens_and_delete_asks_to_delete_the_selected_run(qtbot, tmp_path):
    workspace = tmp_path / "ws"
    write_run(workspace / "one", 5, time.time())
    panel = RunsPanel(workspace)
    qtbot.addWidget(panel)
    panel.show()
    qtbot.waitExposed(panel)
    opened, asked = [], []
    panel.open_requested.connect(opened.append)
    panel.confirm = lambda title, question: asked.append(question) or False
    panel.select_run(workspace / "one")
    panel.table.setFocus()
    QApplication.processEvents()
    qtbot.keyClick(panel.table, Qt.Key.Key_Return)
    assert opened == [workspace / "one"]
    qtbot.keyClick(panel.table, Qt.Key.Key_Delete)
    assert len(asked) == 1 and "one" in asked[0] and (workspace / "one").exists()  # asked; "No" keeps it


def test_deleting_the_selected_run_selects_no_other(qtbot, tmp_path):
    """After Delete…, the row below the deleted one was highlighted while every panel said "no run" (review
    s13V): the selection went to whatever run took the deleted row's place."""
    workspace = tmp_path / "ws"
    for age, name in enumerate(("one", "two", "three")):
        write_run(workspace / name, 5, time.time() - age)
    panel = RunsPanel(workspace)
    qtbot.addWidget(panel)
    panel.confirm = lambda title, question: True
    assert panel.select_run(workspace / "two")
    assert panel.delete_run(workspace / "two") and not (workspace / "two").exists()
    assert panel.selected_run() is None and panel.table.selectedItems() == []


def test_delete_is_disabled_with_a_reason_for_a_run_another_process_trains(qtbot, tmp_path):
    workspace = tmp_path / "ws"
    run = write_run(workspace / "busy", 5, time.time(), status="running")
    panel = RunsPanel(workspace)
    qtbot.addWidget(panel)
    with RunLock(run, who="gan-studio train"):
        panel.select_run(run)
        panel._update_buttons()
        assert not panel.delete_button.isEnabled() and "gan-studio train" in panel.delete_button.toolTip()
    panel._update_buttons()
    assert panel.delete_button.isEnabled()


def test_the_open_runs_step_follows_its_training_between_refreshes(qtbot, tmp_path):
    """The list re-reads the folder every few seconds; a fast run was hundreds of steps ahead of its row."""
    from gan_studio.events import Metrics
    from gan_studio.state.run_state import RunState

    workspace = tmp_path / "ws"
    now = time.time()
    write_run(workspace / "other", 5, now - 60)
    mine = write_run(workspace / "mine", 351, now, status="running")
    panel = RunsPanel(workspace)
    qtbot.addWidget(panel)
    panel.show()
    panel.set_run(RunState.load(mine))
    panel.on_event(Metrics(490, values={"d_loss": 1.0}))  # no refresh in between
    rows = dict(zip(column_texts(panel, 0), column_texts(panel, STEP_COLUMN), strict=True))
    assert rows == {"mine": "490", "other": "5"}


def test_the_rows_last_metrics_are_the_catalogues_summary_metrics(monkeypatch):
    """The panel kept a list of its own (D, G, loss, recon, KL): D(x), modes, Frechet and a newly registered
    metric reached `gan-studio runs` but never the app."""
    from gan_studio import metric_names
    from gan_studio.ui.panels.runs import metrics_summary

    last = {"d_loss": 0.5, "g_loss": 1.25, "d_real": 0.8, "modes": 7, "frechet_live": 12.5, "w_distance": 0.3}
    assert metrics_summary(last) == "D loss 0.5  G loss 1.25  D(x) 0.8  modes 7  FD 12.5"
    monkeypatch.setitem(
        metric_names.METRICS, "w_distance", metric_names.MetricInfo("w_distance", "W dist", summary=True)
    )
    assert metrics_summary(last).endswith("  W dist 0.3")


def test_spare_room_goes_to_the_last_metrics_before_created_pads_out(qtbot, tmp_path):
    """At 1440 px the metrics were cut at their cap while Created had ~500 px of nothing (review s12U)."""
    from gan_studio.ui.panels.runs import COLUMN_CAPS, COLUMNS

    create_app()
    run = RunDir(write_run(tmp_path / "runs" / "long-metrics", 10, time.time()))
    last = {f"extra_{i}": 0.123456 for i in range(12)}
    from gan_studio import metric_names

    for name in last:
        metric_names.register_metric(metric_names.MetricInfo(name, name, summary=True))
    try:
        from gan_studio.events import Metrics

        run.record(Metrics(10, values={"d_loss": 1.0, "g_loss": 2.0, **last}))
        panel = RunsPanel(tmp_path / "runs")
        qtbot.addWidget(panel)
        panel.resize(1800, 300)
        panel.show()
        qtbot.waitExposed(panel)
        panel.refresh()
        qtbot.wait(50)
        column = COLUMNS.index("Last metrics")
        assert panel.table.columnWidth(column) > COLUMN_CAPS[column]  # uncut: it had room
    finally:
        for name in last:
            del metric_names.METRICS[name]


def test_on_a_1366_wide_screen_the_run_names_stay_whole_and_the_workspace_sits_beside_the_buttons(qtbot, tmp_path):
    """At 1366x768 the Runs panel showed two rows, and the name of the run on view (bold) was cut in its middle
    while the last metrics kept their width (review s13V): the metrics give up room first, and the workspace
    moves beside the buttons when there is room for its path (a row more of runs), above the table when not."""

    create_app()
    workspace = tmp_path / "runs"
    names = [f"dcgan-my-photos-20261201-06{minute:02d}51" for minute in range(5)]
    write_runs_with_metrics(workspace, names, 200, "my-photos")
    panel = RunsPanel(workspace)
    qtbot.addWidget(panel)
    panel.resize(1030, 200)  # the Runs dock of a 1366-wide window
    panel.show()
    qtbot.waitExposed(panel)
    panel.current_run = workspace / names[2]  # the run on view: its row is bold
    panel.refresh()
    qtbot.wait(50)
    assert panel.workspace_beside_buttons()
    assert panel.workspace_label.text() == str(workspace)  # the whole path: there is room for it beside them
    row = next(r for r in range(panel.table.rowCount()) if panel.table.item(r, 0).text() == names[2])
    assert panel.table.item(row, 0).font().bold()
    assert panel.table.columnWidth(0) >= panel.table.sizeHintForColumn(0)  # the bold name whole: not shrunk
    metrics = COLUMNS.index("Last metrics")
    assert panel.table.columnWidth(metrics) < panel.table.sizeHintForColumn(metrics)  # the metrics gave way
    header = panel.table.horizontalHeader()
    created_right = header.sectionViewportPosition(CREATED_COLUMN) + header.sectionSize(CREATED_COLUMN)
    assert created_right <= panel.table.viewport().width() + 1
    panel.resize(640, 200)  # narrow: the workspace goes above the table, the buttons keep their row
    qtbot.wait(50)
    assert not panel.workspace_beside_buttons() and panel.width() == 640
    assert panel.workspace_row.y() < panel.table.y() < panel.open_button.y()
    panel.resize(1030, 200)
    qtbot.wait(50)
    assert panel.workspace_beside_buttons() and panel.workspace_row.y() > panel.table.y()


def test_gan_studio_runs_names_the_last_metrics_as_the_runs_panel_does(tmp_path, capsys):
    """`gan-studio runs` printed 'd_loss g_loss d_real d_fake' where the app's Runs panel printed 'D G D(x)
    D(G(z))' (review s13V): one set of names, the catalogue's."""
    from gan_studio.cli import main
    from gan_studio.events import Metrics
    from gan_studio.ui.panels.runs import metrics_summary

    run = RunDir(write_run(tmp_path / "runs" / "one", 10, time.time()))
    values = {"d_loss": 1.25, "g_loss": 0.75, "d_real": 0.5, "d_fake": 0.25}
    run.record(Metrics(10, values=values))
    assert main(["runs", str(tmp_path / "runs")]) == 0
    row = capsys.readouterr().out.splitlines()[1]
    assert row.endswith(metrics_summary(values)) and "D(G(z)) 0.25" in row and "d_loss" not in row


def test_gan_studio_runs_json_gives_scripts_every_run_its_metrics_and_saved_evaluation(tmp_path, capsys):
    """`runs --json` was refused (review s14W): a script had to parse the table, which holds no evaluation."""
    import json

    from gan_studio.cli import main
    from gan_studio.events import Metrics

    run = RunDir(write_run(tmp_path / "runs" / "one", 10, time.time(), status="finished"))
    run.record(Metrics(10, values={"d_loss": 1.25, "g_loss": float("nan")}))
    (run.path / "eval").mkdir()
    (run.path / "eval" / "report.json").write_text(json.dumps(
        {"step": 10, "seed": 3, "n": 500, "metrics": [{"key": "frechet", "value": 12.5}]}))  # fmt: skip
    (tmp_path / "runs" / "broken").mkdir()
    (tmp_path / "runs" / "broken" / "run.json").write_text("{not json")
    assert main(["runs", str(tmp_path / "runs"), "--json"]) == 0
    runs = {r["name"]: r for r in json.loads(capsys.readouterr().out)}  # strict JSON: no NaN in it
    one = runs["one"]
    assert (one["model"], one["status"], one["step"]) == ("dcgan", "finished", 10)
    assert one["last"]["d_loss"] == 1.25 and one["last"]["g_loss"] in (None, "nan")  # as metrics.jsonl has it
    assert one["eval"] == {"step": 10, "seed": 3, "n": 500, "metrics": {"frechet": 12.5}}
    assert "not valid JSON" in runs["broken"]["error"]


def test_compare_says_which_run_it_compares_with_and_warns_when_the_runs_are_unlike(qtbot, tmp_path):
    """Review s15Y #13: an MNIST cDCGAN was overlaid on a ring8 GAN without a word, and nothing said that Compare
    overlays the selected run on the open one. The warning names the runs' differences in the order it names the
    runs."""
    from gan_studio.events import Metrics
    from gan_studio.ui.main_window import MainWindow

    create_app()
    workspace = tmp_path / "runs"
    for name, data, model in (("ring-a", "ring8", "gan"), ("ring-b", "ring8", "gan"), ("digits", "mnist", "cdcgan")):
        write_run(workspace / name, 20, time.time(), data=data, model=model)
        RunDir(workspace / name).record(Metrics(20, values={"d_loss": 1.0, "g_loss": 0.7}))
    window = MainWindow(workspace=workspace, persist=False)
    qtbot.addWidget(window)
    try:
        assert window.open_run(workspace / "ring-a", wait=True)
        window.runs.select_run(workspace / "ring-b")
        assert "open run, ring-a" in window.runs.compare_button.toolTip()
        window.compare_run(workspace / "ring-b")
        qtbot.waitUntil(lambda: "ring-b" in window.plots.overlays)
        assert window.banner.level != "warning"  # alike: nothing to warn of
        window.compare_run(workspace / "digits")
        qtbot.waitUntil(lambda: "digits" in window.plots.overlays)
        assert window.banner.level == "warning"
        # each pair in the sentence's order (it read "digits is compared with ring-a, but they differ (dataset
        # ring8 vs mnist; ...)": review s17 #2)
        assert window.banner.message.startswith(
            "digits is compared with ring-a, but they differ (dataset mnist vs ring8; model cdcgan vs gan)"
        )
    finally:
        window.session.shutdown()


def test_a_run_whose_latest_advice_is_a_problem_is_flagged_in_its_status(qtbot, tmp_path):
    """A collapsed run (0 modes, D loss 143) was listed as a plain green "finished" (review s15Y #12): its status
    carries ⚑ in the advice's colour, and the tooltip says what the advisor found; information is no flag."""
    from gan_studio.events import Advice
    from gan_studio.ui.panels.runs import ADVICE_COLOURS

    workspace = tmp_path / "ws"
    now = time.time()
    for name, severity, age in (("blown", "error", 1), ("settled", "info", 2), ("plain", None, 3)):
        run = RunDir(write_run(workspace / name, 1500, now - age, status="finished"))
        if severity:
            run.record(Advice(700, code="blow_up", severity=severity, message="D loss is blowing up: 140", action="x"))
    panel = RunsPanel(workspace)
    qtbot.addWidget(panel)
    assert column_texts(panel, STATUS_COLUMN) == ["finished ⚑", "finished", "finished"]
    flagged = panel.table.item(0, STATUS_COLUMN)
    assert flagged.foreground().color().name().lower() == ADVICE_COLOURS["error"].lower()
    assert "step 700 (error): D loss is blowing up" in flagged.toolTip()
    assert panel.table.item(1, STATUS_COLUMN).foreground().color() != flagged.foreground().color()


def test_a_status_that_is_no_status_is_not_printed_as_one(tmp_path, capsys):
    """run.json's status {'a': 1} was printed as the run's status; a negative or textual step was taken (s15X #7)."""
    from gan_studio.cli import main

    run = write_run(tmp_path / "ws" / "odd", 5, time.time(), status="finished")
    info = RunDir(run).read_info()
    RunDir(run).write_info({**info, "status": {"a": 1}, "step": -5})
    assert main(["runs", str(tmp_path / "ws")]) == 0
    out = capsys.readouterr().out
    assert (
        "{'a': 1}" not in out.split("run.json's status")[0]
        and "run.json's status is {'a': 1}, not a run's status" in out
    )
    (row,) = [line for line in out.splitlines() if line.startswith("odd")]
    assert " ? " in row and "-5" not in row


def test_a_symlinked_run_reads_the_same_in_the_app_and_the_cli_and_open_opens_its_real_folder(qtbot, tmp_path, capsys):
    """A symlinked run in the workspace was "unreadable" in the app, "broken" in `runs`, and yet Open opened it through
    the link (review s15X #5): both say "link" with the real path, Open opens the real folder as the row says, and
    Resume and Delete (which would write through a link planted in the workspace) say why not."""
    from gan_studio.cli import main

    real = write_run(tmp_path / "elsewhere" / "real-run", 7, time.time(), status="finished")
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "linked").symlink_to(real, target_is_directory=True)
    assert main(["runs", str(workspace)]) == 0
    (row,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("linked")]
    assert row.split()[3] == "link" and str(real) in row
    panel = RunsPanel(workspace)
    qtbot.addWidget(panel)
    assert column_texts(panel, STATUS_COLUMN) == ["link"]
    assert column_texts(panel, COLUMNS.index("Step")) == [""]  # not "0": the run behind the link has 7 (s16R #8)
    assert column_texts(panel, COLUMNS.index("Last metrics"))[0].startswith("link: the run folder is a symlink")
    panel.select_run(workspace / "linked")
    assert panel.open_button.isEnabled() and not panel.resume_button.isEnabled()
    assert "resume it by its own path" in panel.resume_button.toolTip()
    with qtbot.waitSignal(panel.open_requested) as opened:
        panel.open_button.click()
    assert opened.args == [real]
    said = []
    panel.message.connect(lambda _level, text: said.append(text))
    assert not panel.delete_run(workspace / "linked")
    assert "is a symbolic link to" in said[-1] and "nothing was deleted" in said[-1]
    assert (real / "run.json").exists() and (workspace / "linked").is_symlink()


@pytest.mark.parametrize("size", [(1024, 728), (1280, 680)])
def test_on_small_screens_three_runs_are_in_view_with_whole_titles_dates_and_names_in_tooltips(qtbot, tmp_path, size):
    """At 1024x768 the Runs panel showed 1½-2 rows, one of them half scrolled, and the title 'Last metrics' cut to
    '.ast metric'; at 1280x720 Created was cut to '2026-1… 14:50' (review s16Z #11)."""
    from gan_studio.ui.main_window import MainWindow

    create_app()
    workspace = tmp_path / "runs"
    names = [f"dcgan-fork-mnist-20261201-14{minute:02d}51" for minute in range(6)]
    write_runs_with_metrics(workspace, names, 2_000_000, "mnist")
    win = MainWindow(workspace=workspace, persist=False, screen_size=(size[0], size[1] + 40))
    qtbot.addWidget(win)
    win.resize(*size)
    win.show()
    qtbot.waitExposed(win)
    win.lay_out_for_this_size()
    qtbot.wait(100)
    panel = win.runs
    panel.current_run = workspace / names[-1]  # its row in bold
    panel.refresh()
    qtbot.wait(100)
    table = panel.table
    whole_rows = [r for r in range(table.rowCount()) if table.rowViewportPosition(r) >= 0
                  and table.rowViewportPosition(r) + table.rowHeight(r) <= table.viewport().height()]  # fmt: skip
    assert len(whole_rows) >= 3, (len(whole_rows), table.viewport().height())
    header = table.horizontalHeader()
    for column, title in enumerate(COLUMNS):
        assert header.sectionSize(column) >= header.fontMetrics().horizontalAdvance(title) + 12, title  # no title cut
    created_right = header.sectionViewportPosition(CREATED_COLUMN) + header.sectionSize(CREATED_COLUMN)
    assert created_right <= table.viewport().width() + 1
    assert header.sectionSize(CREATED_COLUMN) >= table.sizeHintForColumn(CREATED_COLUMN)  # the whole date
    for row in range(table.rowCount()):  # a name cut in its middle is whole in its tooltip
        name = table.item(row, 0).text()
        assert (
            table.item(row, 0).toolTip().startswith(name + "\n")
            and str(workspace / name) in table.item(row, 0).toolTip()
        )


def test_a_folder_without_runs_points_to_the_runs_near_it(qtbot, tmp_path):
    """Choosing the folder GAN_STUDIO_HOME names (its runs are in runs/ below it), or a run's own folder, showed an
    empty table, as if the runs were gone: a line says where they are, and its link opens that folder."""
    home = tmp_path / "home"
    write_run(home / "runs" / "a", 10, time.time())
    write_run(home / "runs" / "b", 20, time.time() + 1)
    panel = RunsPanel(home)
    qtbot.addWidget(panel)
    assert panel.table.rowCount() == 0 and not panel.elsewhere_note.isHidden()
    assert f"{home / 'runs'} holds 2 runs" in panel.elsewhere_note.text()
    panel.elsewhere_note.linkActivated.emit(str(home / "runs"))  # what clicking "show them" does
    assert panel.workspace == home / "runs" and panel.table.rowCount() == 2 and panel.elsewhere_note.isHidden()
    panel.set_workspace(home / "runs" / "a")  # a run's own folder: its workspace
    assert f"{home / 'runs'} holds 2 runs" in panel.elsewhere_note.text() and not panel.elsewhere_note.isHidden()
    panel.set_workspace(tmp_path / "empty")  # nothing near: no line
    assert panel.elsewhere_note.isHidden()
