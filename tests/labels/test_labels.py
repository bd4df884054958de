"""Labels: ZPL structure, PDF rendering (pdftoppm), QR decoding (zbarimg), file permissions."""

from __future__ import annotations

import shutil
import stat
import subprocess
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import segno

from credline.core.errors import PrinterError, ProfileError
from credline.core.profile import parse_profile
from credline.labels import Label, LabelSink, LabelSpec, spec_from_profile, zpl
from credline.labels.model import DEFAULT_LAYOUT, QrKind, parse_template, qr_content
from credline.labels.output import send_to_printer

REPO = Path(__file__).resolve().parents[2]
SN0001_PASSWORD = "WW4V6P8BPYR2"  # credline-v1, test key, acme-cam, SN0001, generation 0

needs_poppler = pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils")
needs_zbar = pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbar-tools")

Make = Callable[..., Label]


def decode_qr(image: Path) -> list[str]:
    out = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable",
                          str(image)], capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.splitlines()


def test_label_groups_password_and_qr_holds_it(make: Make) -> None:
    label = make()
    assert label.password_grouped == "WW4V-6P8B-PYR2"
    query = parse_qs(urlsplit(label.qr_content).query)
    assert label.qr_content.startswith("credline:v1?")
    assert query == {"product": ["acme-cam"], "serial": ["SN0001"],
                     "password": [SN0001_PASSWORD]}
    assert SN0001_PASSWORD not in repr(label)


def test_wifi_qr_escapes_special_characters() -> None:
    text = qr_content(QrKind.WIFI, "acme-router", "R7-0042", 'a;b"c:d\\e')
    assert text == 'WIFI:T:WPA;S:acme-router-0042;P:a\\;b\\"c\\:d\\\\e;;'


def test_zpl_structure_fields_and_qr(make: Make, spec: LabelSpec) -> None:
    text = zpl.render(make(), spec)
    fields = zpl.parse(text)
    data = [f.data for f in fields]
    assert "S/N SN0001" in data and "WW4V-6P8B-PYR2" in data
    assert any("key " in d and "batch B-42" in d for d in data)
    qr = [f for f in fields if f.is_qr]
    assert len(qr) == 1 and qr[0].data.startswith("MM,B0064credline:v1?")
    assert qr[0].data.endswith(f"password={SN0001_PASSWORD}")
    assert f"^PW{spec.width_dots}" in text and spec.width_dots == 400


def test_zpl_escapes_caret_and_tilde_in_passwords(spec: LabelSpec) -> None:
    label = Label(product="p", product_name="P", serial="S1", key_id="00", batch="b",
                  generation=0, password_grouped="^XZ~JR_x", qr_content="QA^FS")
    text = zpl.render(label, spec)
    assert text.count("^XZ") == 1 and "~JR" not in text
    assert "^XZ~JR_x" in [f.data for f in zpl.parse(text)]


def test_template_without_fh_is_refused() -> None:
    with pytest.raises(ProfileError, match="no \\^FH"):
        zpl.check_template("^XA^FO1,1^A0N,20,20^FD{password}^FS^XZ")
    with pytest.raises(ProfileError, match="unknown field"):
        zpl.check_template("^XA^FO1,1^FH^FD{pasword}^FS^XZ")
    with pytest.raises(ProfileError, match="\\^XA"):
        zpl.check_template("^FO1,1^FH^FD{password}^FS")


def test_factory_default_template_is_the_built_in_layout() -> None:
    path = REPO / "factory/labels/default.toml"
    assert parse_template(path.read_text(), str(path)) == DEFAULT_LAYOUT


def test_profile_template_path_is_relative_to_profile(tmp_path: Path) -> None:
    (tmp_path / "labels").mkdir()
    (tmp_path / "labels" / "mine.zpl").write_text("^XA^FO1,1^FH^FD{serial}^FS^XZ")
    text = '[product]\nid = "x"\n[label]\ntemplate = "labels/mine.zpl"\nqr = "wifi"\n'
    spec = spec_from_profile(parse_profile(text, str(tmp_path / "x.toml")))
    assert spec.template is not None and "{serial}" in spec.template and spec.qr is QrKind.WIFI
    missing = text.replace("mine", "gone")
    with pytest.raises(ProfileError, match=r"gone\.zpl"):
        spec_from_profile(parse_profile(missing, str(tmp_path / "x.toml")))


def test_sink_files_are_owner_only(make: Make, spec: LabelSpec, tmp_path: Path) -> None:
    sink = LabelSink(tmp_path / "labels", spec, "B-42")
    path = sink.emit(make())
    sheet = sink.write_sheet([make()])
    assert path is not None and sheet is not None
    for written in (path, sheet):
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert not list((tmp_path / "labels").glob(".*.tmp"))


def test_printer_fifo_receives_zpl(make: Make, spec: LabelSpec, tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "zebra"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    send_to_printer(str(fifo), zpl.render(make(), spec))
    reader.join(10)
    assert received and received[0].startswith(b"^XA")
    with pytest.raises(PrinterError, match="not found"):
        send_to_printer(str(tmp_path / "nothing"), "^XA^XZ")


@needs_poppler
@needs_zbar
def test_pdf_sheet_renders_and_qr_decodes(make: Make, spec: LabelSpec, tmp_path: Path) -> None:
    labels = [make(f"SN{i:04d}") for i in range(1, 4)]
    sink = LabelSink(tmp_path, spec, "B-42")
    sheet = sink.write_sheet(labels)
    assert sheet is not None and sheet.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-r", "200", "-png", "-singlefile", str(sheet),
                    str(tmp_path / "page")], check=True, timeout=60)
    decoded = sorted(decode_qr(tmp_path / "page.png"))
    assert decoded == sorted(label.qr_content for label in labels)


@needs_poppler
def test_pdf_sheet_many_pages(make: Make, spec: LabelSpec, tmp_path: Path) -> None:
    sheet = LabelSink(tmp_path, spec, "B").write_sheet([make(f"S{i}") for i in range(40)])
    assert sheet is not None
    info = subprocess.run(["pdfinfo", str(sheet)], capture_output=True, text=True, check=True)
    pages = [line.split()[-1] for line in info.stdout.splitlines() if line.startswith("Pages:")]
    assert pages == ["2"]


@needs_zbar
def test_zpl_qr_payload_decodes_as_qr(make: Make, spec: LabelSpec, tmp_path: Path) -> None:
    # A Zebra renders ^BQ's data after "QA,"; encode that payload and decode it back.
    (qr_field,) = [f for f in zpl.parse(zpl.render(make(), spec)) if f.is_qr]
    payload = qr_field.data.removeprefix("MM,B0064")
    assert len(payload.encode()) == 64
    segno.make_qr(payload).save(str(tmp_path / "qr.png"), scale=6)
    assert decode_qr(tmp_path / "qr.png") == [payload]
