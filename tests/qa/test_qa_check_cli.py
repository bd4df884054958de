"""``credline batch check``: input errors with lines, exit codes, the JSON shape, the summary."""

from __future__ import annotations

import json
import re

import pytest
from qa_helpers import derived, write_csv

from credline.core.errors import BadInput
from credline.qa import read_batch
from credline.qa.stats import chi2_sf


def test_json_report_has_exactly_the_documented_shape(qa_cli, tmp_path):
    batch = derived(300)
    passwords = list(batch.passwords)
    passwords[5] = passwords[9]
    path = tmp_path / "b.csv"
    path.write_text("serial,password\n" + "".join(
        f"{s},{p}\n" for s, p in zip(batch.serials, passwords, strict=True)))
    result = qa_cli("batch", "check", str(path), "--json")
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert set(report) == {"ok", "checked", "violations"}
    assert report["ok"] is False and report["checked"] == 300
    for violation in report["violations"]:
        assert set(violation) == {"rule", "serials", "detail"}
        assert isinstance(violation["serials"], list)
    assert {"rule": "duplicate", "serials": [batch.serials[5], batch.serials[9]],
            "detail": "2 devices share one password"} in report["violations"]
    assert passwords[5] not in result.output


def test_clean_batch_exits_0_with_summary(qa_cli, tmp_path):
    path = write_csv(tmp_path / "b.csv", derived(2000))
    result = qa_cli("batch", "check", str(path), "--product", "acme-cam")
    assert result.exit_code == 0, result.output
    assert "checked 2000 passwords: OK" in result.stdout
    for rule in ("duplicate", "counter-like", "public-info", "guessable",
                 "unkeyed-derivation", "distribution", "policy"):
        assert rule in result.stdout


def test_human_summary_counts_and_first_serials(qa_cli, tmp_path):
    batch = derived(50)
    passwords = list(batch.passwords)
    passwords[3] = "PASSWORD123"  # guessable (and policy: length 11)
    passwords[4] = "AAAAAAAAAAAA"
    path = tmp_path / "b.csv"
    path.write_text("serial,password,extra\n" + "".join(
        f"{s},{p},x\n" for s, p in zip(batch.serials, passwords, strict=True)))
    result = qa_cli("batch", "check", str(path))
    assert result.exit_code == 1
    assert "guessable" in result.stdout and batch.serials[3] in result.stdout
    assert "PASSWORD123" not in result.output and "AAAAAAA" not in result.output


@pytest.mark.parametrize(("text", "message"), [
    ("serial,pass\nA1,X\n", "line 1: no 'password' column"),
    ("password\nX\n", "line 1: no 'serial' column"),
    ("serial,password\nSN1,ABCDEFGHJKMN\nSN 2,ABCDEFGHJKMP\n", "line 3: malformed serial"),
    ("serial,password\nSN1,ABCDEFGHJKMN\nSN2\n", "line 3: 1 field(s)"),
    ("serial,password\nSN1,ABCDEFGHJKMN\nSN1,ABCDEFGHJKMP\n", "line 3: serial SN1 repeats line 2"),
    ("serial,password\nSN1,\n", "line 2: empty password"),
    ("", "empty file"),
    ('serial,password\nSN1,ABCDEFGHJKMN\nSN2,"AB"C\n', "line 3: malformed CSV"),
])
def test_bad_input_names_the_line(tmp_path, text, message):
    path = tmp_path / "bad.csv"
    path.write_text(text)
    with pytest.raises(BadInput, match=re.escape(message)):
        read_batch(path)


def test_bad_input_exits_2(qa_cli, tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("serial,password\nSN1,SECRETPASSWD\nSN1,OTHERPASSWD1\n")
    with pytest.raises(SystemExit) as exit_info:
        from credline.cli import main

        main(["batch", "check", str(path)])
    assert exit_info.value.code == 2
    path.write_bytes(b"serial,password\nSN1,\xff\xfe\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", "check", str(path)])
    assert exit_info.value.code == 2
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", "check", str(tmp_path / "missing.csv")])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("text", ["serial,password\n", "serial,password,fingerprint\r\n\r\n"],
                         ids=["header", "header-and-blank-line"])
def test_a_header_without_rows_is_refused_not_ok(qa_cli, tmp_path, text):
    path = tmp_path / "empty.csv"
    path.write_text(text)
    for extra in ([], ["--json"]):
        result = qa_cli("batch", "check", str(path), *extra)
        assert result.exit_code == 2, result.output
        assert f"{path}: no rows to check, only a header" in result.stderr
        assert "OK" not in result.stdout and '"ok"' not in result.stdout


def test_main_exit_1_and_no_password_in_stderr(tmp_path, capsys):
    from credline.cli import main

    path = tmp_path / "b.csv"
    path.write_text("serial,password\nSN1,QWERTYUIOPAS\nSN2,QWERTYUIOPAT\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["batch", "check", str(path), "--json"])
    assert exit_info.value.code == 1
    out = capsys.readouterr()
    assert json.loads(out.out)["ok"] is False
    assert "QWERTY" not in out.out + out.err


def test_public_file_and_registry_option(qa_cli, tmp_path):
    batch = derived(30)
    passwords = list(batch.passwords)
    passwords[0] = "Q" + "BEEF00CAFE"[::-1] + "Z"
    path = tmp_path / "b.csv"
    path.write_text("serial,password\n" + "".join(
        f"{s},{p}\n" for s, p in zip(batch.serials, passwords, strict=True)))
    public = tmp_path / "public.txt"
    public.write_text("# MACs\nbe:ef:00:ca:fe\n")
    result = qa_cli("batch", "check", str(path), "--public", str(public), "--json")
    report = json.loads(result.stdout)
    assert [v["serials"] for v in report["violations"] if v["rule"] == "public-info"] == \
        [[batch.serials[0]]]
    result = qa_cli("batch", "check", str(path), "--registry", "sqlite:///x.db")
    assert result.exit_code == 2
    assert "--product" in result.output


def test_help_has_an_example(qa_cli):
    result = qa_cli("batch", "check", "--help")
    assert result.exit_code == 0 and "credline batch check batch-42.csv" in result.stdout


@pytest.mark.parametrize("x", [0.5, 1.0, 3.0, 10.0, 40.0, 200.0])
def test_chi2_sf_closed_forms(x):
    import math

    assert chi2_sf(x, 2) == pytest.approx(math.exp(-x / 2), rel=1e-10)
    assert chi2_sf(x, 1) == pytest.approx(math.erfc(math.sqrt(x / 2)), rel=1e-9)
    assert chi2_sf(x, 4) == pytest.approx(math.exp(-x / 2) * (1 + x / 2), rel=1e-10)


@pytest.mark.parametrize("df", [10, 30, 32, 58, 94])
@pytest.mark.parametrize("ratio", [0.5, 1.0, 1.5, 2.0, 3.0, 5.0])
def test_chi2_sf_even_df_closed_form(df, ratio):
    import math

    x = df * ratio
    k, z = df // 2, x / 2
    exact = math.exp(-z) * sum(z**i / math.factorial(i) for i in range(k))
    assert chi2_sf(x, df) == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize("x", [20.0, 31.0, 60.0, 86.0])
def test_chi2_sf_odd_df_by_integration(x):
    import math

    df = 31

    def pdf(t: float) -> float:
        return math.exp((df / 2 - 1) * math.log(t) - t / 2 - df / 2 * math.log(2)
                        - math.lgamma(df / 2))

    steps, hi = 20000, x + 400
    h = (hi - x) / steps
    total = pdf(x) + pdf(hi) + sum((4 if i % 2 else 2) * pdf(x + i * h) for i in range(1, steps))
    assert chi2_sf(x, df) == pytest.approx(total * h / 3, rel=1e-7)


def test_parallel_and_serial_reports_agree(profile):
    from credline.qa import Batch, check_batch

    batch = derived(2000)
    passwords = list(batch.passwords)
    passwords[1] = passwords[0]
    passwords[2] = "QWERTYUIOP12"
    passwords[3] = "SN00000003"[::-1] + "XY"
    planted = Batch(serials=list(batch.serials), passwords=passwords)
    serial = check_batch(planted, profile, workers=1)
    parallel = check_batch(planted, profile, workers=2, parallel_min_rows=100)
    assert serial.as_dict() == parallel.as_dict()
    assert serial.rules_fired() == {"duplicate", "guessable", "public-info", "policy"}


def test_registry_on_a_real_database(qa_cli, tmp_path):
    from credline.registry import open_registry

    batch = derived(20)
    assert batch.fingerprints is not None
    path = write_csv(tmp_path / "b.csv", batch, {"fingerprint": batch.fingerprints})
    url = f"sqlite:///{tmp_path / 'r.db'}"
    with open_registry(url) as reg:  # an earlier batch already holds serial 3's password
        reg.open_batch("OLD", "acme-cam", "e98c6960947e8461", "p", "st0")
        reg.reserve("OLD", "acme-cam", "OLD-1", "st0")
        reg.assign_fingerprint("OLD", "acme-cam", "OLD-1", lambda g: batch.fingerprints[3])
    result = qa_cli("batch", "check", str(path), "--product", "acme-cam", "--registry", url,
                    "--json")
    report = json.loads(result.stdout)
    assert result.exit_code == 1
    assert [v["serials"] for v in report["violations"] if v["rule"] == "duplicate"] == \
        [[batch.serials[3]]]
    missing = qa_cli("batch", "check", str(path), "--product", "acme-cam",
                     "--registry", f"sqlite:///{tmp_path / 'empty.db'}")
    assert missing.exit_code == 2 and "not a credline registry" in missing.stderr
    assert not (tmp_path / "empty.db").exists()  # a typo is not created on the way
    result = qa_cli("batch", "check", str(path), "--key", "k.key")
    assert result.exit_code == 2 and "--key only" in result.stderr


def test_registry_duplicates_through_check_file(tmp_path):
    from credline.qa import check_file

    batch = derived(50)
    assert batch.fingerprints is not None
    path = write_csv(tmp_path / "b.csv", batch, {"fingerprint": batch.fingerprints})
    report = check_file(path, registered=iter([("SN-OLD", batch.fingerprints[7]),
                                               (batch.serials[8], batch.fingerprints[8])]))
    assert [v.serials for v in report.violations] == [(batch.serials[7],)]
    no_column = write_csv(tmp_path / "c.csv", batch)
    with pytest.raises(BadInput, match="fingerprint"):
        check_file(no_column, registered=[])
