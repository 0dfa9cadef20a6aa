"""| regsvr32detect through the real chunked protocol, as splunkd drives it (see chunked.py)."""
import os

import pytest

from support import chunked
from regsvr32_detector import OUTPUT_FIELDS

from support.allowlists import ALLOW_WS_FIN_07, BAD_RULE_ID, HEADER
from support.samples import BENIGN, BY_ID, MALICIOUS, SAMPLES


def score(row):
    return int(row["regsvr32_score"])


def as_list(value):
    return value if isinstance(value, list) else ([value] if value else [])


def write_lookup(app, name, text):
    (app / "lookups" / name).write_text(text, encoding="utf-8")


def run_in(app, args=(), chunks=((),), **kw):
    return chunked.run(args, chunks, script=str(app / "bin" / "regsvr32detect.py"), **kw)


def test_getinfo_declares_a_distributed_streaming_command():
    # a fresh interpreter, as splunkd starts it: the command starts from nothing
    result = chunked.run(fresh=True)
    assert result.getinfo["type"] == "streaming"  # "stateful" would mean search head only
    assert result.returncode == 0 and not result.alerts


def test_every_row_gets_every_field_and_rows_keep_their_order_over_chunks():
    # Three chunks of different shapes (Sysmon, 4688, CIM), as splunkd sends them.
    chunks = [SAMPLES[0:4], SAMPLES[4:8], SAMPLES[8:]]
    result = chunked.run(chunks=chunks)
    assert result.returncode == 0, result.stderr
    assert [len(chunked.from_csv(body)) for _, body in result.replies] == [len(c) for c in chunks]
    assert result.replies[-1][0]["finished"] is True
    rows = result.rows
    assert [r["sample_id"] for r in rows] == [s["sample_id"] for s in SAMPLES]
    for sent, row in zip(SAMPLES, rows):
        assert set(OUTPUT_FIELDS) <= set(row)
        assert {k: row[k] for k in sent} == sent  # input fields pass through unchanged
        assert 0 <= score(row) <= 100
        assert row["regsvr32_error"] == ""


@pytest.mark.parametrize(("sample_id", "suspicious"), [
    ("sysmon1-squiblydoo", True),
    ("cim-squiblydoo-unc", True),
    ("sysmon1-notepad", False),
])
def test_scores_reach_splunk(sample_id, suspicious):
    (row,) = chunked.run(chunks=[[BY_ID[sample_id]]]).rows
    assert (score(row) > 0) == suspicious
    assert bool(as_list(row["regsvr32_rules"])) == suspicious
    assert row["regsvr32_severity"] != "none" if suspicious else row["regsvr32_severity"] == "none"


def test_multivalue_fields_travel_both_ways():
    result = chunked.run(chunks=[[BY_ID["multivalue-tags"], BENIGN]])
    body = result.replies[0][1].decode("utf-8")
    # Input multivalue field comes back encoded as splunkd expects, "$" doubled.
    assert "$process$;$execution$;$cost=$$5$" in body
    row = result.rows[0]
    assert row["tag"] == ["process", "execution", "cost=$5"]
    # A Squiblydoo over https gives several rules and reasons: multivalue output.
    assert isinstance(row["regsvr32_rules"], list) and len(row["regsvr32_rules"]) > 1
    assert len(row["regsvr32_reasons"]) >= len(row["regsvr32_rules"])
    assert "__mv_regsvr32_rules" in body.splitlines()[0]


@pytest.mark.parametrize(("args", "expected"), [
    ([], [s["sample_id"] for s in SAMPLES]),
    (["mode=annotate", "min_score=100"], [s["sample_id"] for s in SAMPLES]),  # min_score only filters
    (["mode=filter", "min_score=0"], [s["sample_id"] for s in SAMPLES]),
])
def test_annotate_and_min_score_zero_keep_every_row(args, expected):
    assert [r["sample_id"] for r in chunked.run(args, [SAMPLES[:5], SAMPLES[5:]]).rows] == expected


@pytest.mark.parametrize("min_score", [1, 30, 60, 90, 100])
def test_filter_passes_exactly_the_rows_at_or_above_min_score(min_score):
    annotated = chunked.run(chunks=[SAMPLES]).rows
    expected = [r["sample_id"] for r in annotated if score(r) >= min_score]
    filtered = chunked.run(["mode=filter", "min_score=%d" % min_score], [SAMPLES[:5], SAMPLES[5:]]).rows
    assert [r["sample_id"] for r in filtered] == expected
    assert all(score(r) >= min_score for r in filtered)


def test_filter_by_default_passes_low_and_up_and_drops_informational_rows():
    # min_score defaults to 20 (low): a finding an allowlist did not clear passes, context alone
    # (1-19) does not. Rows at 20 and at 5, as scored in annotate mode, pin that line.
    def row(sample_id, line):
        return {"sample_id": sample_id, "EventCode": "1", "CommandLine": line,
                "Image": "C:\\Windows\\System32\\regsvr32.exe",
                "ParentImage": "C:\\Windows\\explorer.exe"}
    rows = [row("other-drive", "regsvr32 /s D:\\tools\\x.dll"),
            row("program-files", 'regsvr32 /s "C:\\Program Files\\Foo\\a.dll"')]
    assert [score(r) for r in chunked.run(chunks=[rows]).rows] == [20, 5]
    assert [r["sample_id"] for r in chunked.run(["mode=filter"], [rows]).rows] == ["other-drive"]


def test_filter_default_threshold_drops_clean_rows():
    rows = chunked.run(["mode=filter"], [[BENIGN, MALICIOUS, BENIGN]]).rows
    assert [r["sample_id"] for r in rows] == [MALICIOUS["sample_id"]]


@pytest.mark.parametrize(("include", "listed"), [
    ([], True), (["include_allowlisted=true"], True), (["include_allowlisted=f"], False),
])
def test_local_allowlist_clears_findings_and_says_so(app_copy, include, listed):
    write_lookup(app_copy, "regsvr32_allowlist_local.csv", HEADER + ALLOW_WS_FIN_07)
    rows = run_in(app_copy, include, [[MALICIOUS, BY_ID["cim-squiblydoo-unc"]]]).rows
    cleared, other = rows
    assert score(cleared) == 0 and score(other) > 0
    assert bool(as_list(cleared["regsvr32_allowlisted"])) == listed
    assert as_list(other["regsvr32_allowlisted"]) == []


def test_bad_lookup_rows_warn_with_file_and_line_and_the_rest_apply(app_copy):
    write_lookup(app_copy, "regsvr32_allowlist_local.csv",
                 HEADER + BAD_RULE_ID + ALLOW_WS_FIN_07)
    result = run_in(app_copy, [], [[MALICIOUS]])
    warnings = result.texts("WARN")
    assert len(warnings) == 1 and "regsvr32_allowlist_local.csv:2" in warnings[0]
    assert score(result.rows[0]) == 0  # the good row on line 3 still applies
    assert result.getinfo.get("inspector")  # reported at getinfo: once per search, not per chunk


@pytest.mark.parametrize(("remove", "warned"), [
    ("regsvr32_allowlist_local.csv", False),   # the admin has not made one: normal
    ("regsvr32_allowlist_default.csv", True),  # the shipped list is gone: say so
])
def test_missing_lists(app_copy, remove, warned):
    path = app_copy / "lookups" / remove
    if path.exists():
        path.unlink()
    result = run_in(app_copy, [], [[MALICIOUS]])
    assert result.returncode == 0 and len(result.rows) == 1
    assert any(remove in w for w in result.texts("WARN")) == warned


@pytest.mark.parametrize("args", [
    ["allowlists=regsvr32_allowlist_local.csv"],
    ["allowlists=regsvr32_allowlist_default,regsvr32_allowlist_default.csv,regsvr32_allowlist_local"],
])
def test_missing_local_list_is_silent_however_named_and_a_list_named_twice_loads_once(app_copy, args):
    result = run_in(app_copy, args, [[MALICIOUS]])
    assert result.alerts == [] and len(result.rows) == 1


def test_named_allowlists_are_the_only_ones_read(app_copy):
    write_lookup(app_copy, "regsvr32_allowlist_local.csv", HEADER + ALLOW_WS_FIN_07)
    write_lookup(app_copy, "team_b.csv", HEADER)
    (row,) = run_in(app_copy, ["allowlists=team_b"], [[MALICIOUS]]).rows
    assert score(row) > 0
    (row,) = run_in(app_copy, ["allowlists=team_b,regsvr32_allowlist_local.csv"], [[MALICIOUS]]).rows
    assert score(row) == 0


@pytest.mark.parametrize(("args", "says"), [
    (["mode=bogus"], "mode must be annotate or filter"),
    (["mode={0}"], "mode must be annotate or filter"),
    (["mode={x}"], "mode must be annotate or filter"),
    (["min_score=101"], "min_score must be an integer from 0 to 100"),
    (["min_score=-1"], "min_score must be an integer from 0 to 100"),
    (["min_score=high"], "min_score must be an integer from 0 to 100"),
    (["include_allowlisted=maybe"], "include_allowlisted must be true or false"),
    (["allowlists=../x"], "allowlists must be comma-separated lookup names"),
    (["allowlists=/etc/passwd"], "allowlists must be comma-separated lookup names"),
    (["allowlists=regsvr32_allowlist_default,sub/x"], "allowlists must be comma-separated lookup names"),
    (["allowlists=..\\x"], "allowlists must be comma-separated lookup names"),
    (["allowlists="], "allowlists must be comma-separated lookup names"),
    (["colour=red"], "the options are allowlists, include_allowlisted, min_score, mode"),
    (["CommandLine"], "takes no field names"),
    (["logging_configuration=/tmp/evil.conf"], "logging_configuration cannot be set from a search"),
    (["record=t"], "record cannot be set from a search"),
    (["record=true"], "record cannot be set from a search"),
    (["record={x}"], "record cannot be set from a search"),
    (["show_configuration=true"], "show_configuration cannot be set from a search"),
    (["logging_level=DEBUG"], "logging_level cannot be set from a search"),
    (["logging_level={0}"], "logging_level cannot be set from a search"),
])
def test_bad_options_stop_the_search_and_say_what_is_allowed(args, says):
    result = chunked.run(args, [[MALICIOUS]])
    errors = result.texts("ERROR")
    assert any(says in e for e in errors), errors
    assert len(result.messages) == 1, result.messages        # said once, not again by splunklib
    assert result.replies == [] and result.returncode != 0
    assert "Traceback" not in result.stderr


def test_record_option_writes_nothing_outside_the_app(tmp_path):
    # record=t made splunklib write the dispatch folder and the conversation under SPLUNK_HOME.
    home = tmp_path / "splunk"
    home.mkdir()
    env = dict(os.environ, SPLUNK_HOME=str(home))
    result = chunked.run(["record=t"], [[MALICIOUS]], env=env)
    assert result.returncode != 0 and result.replies == []
    assert list(home.rglob("*")) == []


def test_symlink_out_of_the_lookups_folder_is_refused(app_copy, tmp_path):
    outside = tmp_path / "outside.csv"
    outside.write_text(HEADER, encoding="utf-8")
    os.symlink(str(outside), str(app_copy / "lookups" / "sneaky.csv"))
    result = run_in(app_copy, ["allowlists=sneaky"], [[MALICIOUS]])
    assert any("resolves outside this app's lookups folder" in e for e in result.texts("ERROR"))
    assert result.replies == [] and result.returncode != 0


def test_symlink_inside_the_lookups_folder_is_fine(app_copy):
    write_lookup(app_copy, "regsvr32_allowlist_local.csv", HEADER + ALLOW_WS_FIN_07)
    os.symlink("regsvr32_allowlist_local.csv", str(app_copy / "lookups" / "alias.csv"))
    (row,) = run_in(app_copy, ["allowlists=alias"], [[MALICIOUS]]).rows
    assert score(row) == 0


def test_logs_go_to_splunk_log_folder_and_stdout_is_only_protocol(app_copy, tmp_path):
    home = tmp_path / "splunk"
    (home / "var" / "log" / "splunk").mkdir(parents=True)
    write_lookup(app_copy, "regsvr32_allowlist_local.csv", HEADER + BAD_RULE_ID)
    env = dict(os.environ, SPLUNK_HOME=str(home))
    result = run_in(app_copy, ["mode=filter"], [[MALICIOUS], [BENIGN]], env=env)  # frames parsed strictly
    assert result.returncode == 0 and len(result.rows) == 1
    log = (home / "var" / "log" / "splunk" / "regsvr32detect.log").read_text(encoding="utf-8")
    assert "mode=filter" in log and "regsvr32_allowlist_local.csv:2" in log


def test_empty_chunks_and_a_search_with_no_rows():
    result = chunked.run(chunks=[[], [MALICIOUS], []])
    assert [r["sample_id"] for r in result.rows] == [MALICIOUS["sample_id"]]
    assert result.returncode == 0


POISON = "# test only: the detector fails on rows marked poison, to reach its error path\n" \
         "_normalize = normalize\n\n\n" \
         "def normalize(record, plan=None):\n" \
         "    if record.get('sample_id') == 'poison':\n" \
         "        raise ValueError('poisoned row')\n" \
         "    return _normalize(record, plan)\n"


@pytest.mark.parametrize(("args", "expected"), [
    ([], ["sysmon1-squiblydoo", "poison", "sysmon1-notepad"]),
    (["mode=filter"], ["sysmon1-squiblydoo", "poison"]),  # an unevaluated row is never dropped silently
    (["mode=filter", "min_score=100"], ["sysmon1-squiblydoo", "poison"]),  # the Squiblydoo scores 100
])
def test_a_row_the_detector_cannot_evaluate_flows_through_with_an_error(app_copy, args, expected):
    with open(str(app_copy / "bin" / "regsvr32_detector" / "fields.py"), "a") as f:
        f.write("\n\n" + POISON)
    # a regsvr32 row: rows that cannot concern regsvr32 never reach normalize (regsvr32_fastpath)
    poison = dict(MALICIOUS, sample_id="poison")
    rows = run_in(app_copy, args, [[MALICIOUS, poison], [BENIGN]]).rows
    assert [r["sample_id"] for r in rows] == expected
    bad = [r for r in rows if r["sample_id"] == "poison"][0]
    assert "poisoned row" in bad["regsvr32_error"] and bad["regsvr32_score"] == "0"
    assert all(r["regsvr32_error"] == "" for r in rows if r is not bad)
