"""One layout model for ZPL and PDF: every field in its own box inside the label, nothing cut,
every QR decodes at the label's dpi. Checked on every shipped template and profile, on the
rendered PDF (pdftoppm at the dpi, zbarimg, pdftotext) and on the ZPL parsed back."""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import segno
from hypothesis import given, settings
from hypothesis import strategies as st

from credline.core.derive import Deriver
from credline.core.errors import ProfileError
from credline.core.ids import Serial
from credline.core.policy import Profile
from credline.core.profile import parse_profile
from credline.keystore.base import LocalKey
from credline.labels import Label, LabelSink, make_label, spec_from_profile, zpl
from credline.labels.layout import Font, Want, check, layout
from credline.labels.model import LabelFormat, LabelSpec, plan

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((REPO / "factory/labels").glob("*.toml"))
PROFILES = sorted((REPO / "factory/profiles").glob("*.toml"))
SERIALS = ["SN0001", "SN0002", "AC-2026-11-000042", "R7.0099:X", "1", "ZZZZZZZZZZZZZZZZ"]

needs_tools = pytest.mark.skipif(
    not all(shutil.which(t) for t in ("pdftoppm", "pdftotext", "zbarimg")),
    reason="poppler-utils and zbar-tools")


def with_template(profile_path: Path, template: Path, tmp: Path, extra: str = "") -> Profile:
    """The shipped profile, its [label] template set to ``template`` (and ``extra`` lines)."""
    text = profile_path.read_text()
    text = re.sub(r'(?m)^template = .*\n', "", text)
    if "[label]" not in text:
        text += "\n[label]\n"
    text = text.replace("[label]\n", f"[label]\ntemplate = \"{template}\"\n{extra}", 1)
    path = tmp / profile_path.name
    path.write_text(text)
    return parse_profile(text, str(path))


def labels_for(profile: Profile, spec: LabelSpec, key: LocalKey) -> list[Label]:
    deriver = Deriver(key, profile.format)
    return [make_label(profile, spec, serial=s,
                       password=deriver.password(profile.product, Serial(s), 0),
                       key_id=deriver.key_id, batch="2026-11-A", generation=0)
            for s in SERIALS]


def decode(image: Path) -> list[str]:
    out = subprocess.run(["zbarimg", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable",
                          str(image)], capture_output=True, text=True, timeout=60)
    return out.stdout.splitlines()


def squash(text: str) -> str:
    return re.sub(r"\s+", " ", text)


@needs_tools
@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.stem)
@pytest.mark.parametrize("profile_path", PROFILES, ids=lambda p: p.stem)
def test_pdf_reads_and_every_qr_decodes_at_the_label_dpi(
        profile_path: Path, template: Path, tmp_path: Path, master_key: LocalKey) -> None:
    profile = with_template(profile_path, template, tmp_path)
    # A ZPL-only profile (demo-esp) gets a sheet here too: the layout is the same model.
    spec = dataclasses.replace(spec_from_profile(profile), format=LabelFormat.BOTH)
    labels = labels_for(profile, spec, master_key)
    sheet = LabelSink(tmp_path / "out", spec, "2026-11-A").write_sheet(labels)
    assert sheet is not None
    subprocess.run(["pdftoppm", "-r", str(spec.dpi), "-png", str(sheet), str(tmp_path / "p")],
                   check=True, timeout=120)
    decoded = [c for png in sorted(tmp_path.glob("p*.png")) for c in decode(png)]
    assert sorted(decoded) == sorted(label.qr_content for label in labels)
    text = squash(subprocess.run(["pdftotext", "-layout", str(sheet), "-"], check=True,
                                 capture_output=True, text=True, timeout=60).stdout)
    for label in labels:
        assert label.password_grouped in text
        assert f"S/N {label.serial}" in text
    words = squash(subprocess.run(["pdftotext", "-raw", str(sheet), "-"], check=True,
                                  capture_output=True, text=True, timeout=60).stdout)
    assert words.count(labels[0].product_name) == len(labels)


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: p.stem)
@pytest.mark.parametrize("profile_path", PROFILES, ids=lambda p: p.stem)
def test_zpl_fields_inside_the_label_and_apart(profile_path: Path, template: Path,
                                               tmp_path: Path, master_key: LocalKey) -> None:
    profile = with_template(profile_path, template, tmp_path)
    spec = spec_from_profile(profile)
    for label in labels_for(profile, spec, master_key):
        model = plan(label, spec)
        assert check(model) == []
        text = zpl.render(label, spec)
        width, height, boxes = zpl.geometry(text)
        assert (width, height) == (spec.width_dots, spec.height_dots) == (model.width,
                                                                          model.height)
        for _, box in boxes:
            assert box.inside(width, height), box
        assert all(not a.overlaps(b) for i, (_, a) in enumerate(boxes)
                   for _, b in boxes[i + 1:])
        # The ZPL is the model: the QR's box and every line's box are the model's.
        assert dict(boxes)["qr"] == model.qr.box if model.qr else "qr" not in dict(boxes)
        lines = [b for name, b in boxes if name != "qr"]
        assert len(lines) == sum(len(t.lines) for t in model.texts)
        zpl.check_geometry(text, str(template))


CONTACT = "https://acme.example.com/security"


@needs_tools
def test_support_period_and_contact_on_the_label_and_in_the_qr(
        tmp_path: Path, master_key: LocalKey) -> None:
    profile = with_template(PROFILES[0], TEMPLATES[0], tmp_path,
                            'support = true\nqr_support = true\n')
    # acme-cam's [compliance] names its security contact (Schedule 1 para 2).
    assert profile.section("compliance")["security_contact"] == CONTACT
    spec = spec_from_profile(profile)
    labels = labels_for(profile, spec, master_key)[:2]
    query = parse_qs(urlsplit(labels[0].qr_content).query)
    assert query["support_end"] == ["2031-12-31"]
    assert query["contact"] == [CONTACT]
    sheet = LabelSink(tmp_path / "out", spec, "B").write_sheet(labels)
    assert sheet is not None
    subprocess.run(["pdftoppm", "-r", str(spec.dpi), "-png", "-singlefile", str(sheet),
                    str(tmp_path / "p")], check=True, timeout=60)
    assert sorted(decode(tmp_path / "p.png")) == sorted(lb.qr_content for lb in labels)
    words = squash(subprocess.run(["pdftotext", "-raw", str(sheet), "-"], check=True,
                                  capture_output=True, text=True).stdout)
    assert "Security updates until 2031-12-31" in words
    assert CONTACT in words.replace("/ ", "/")
    assert check(plan(labels[0], spec)) == []


def test_support_needs_its_compliance_values(tmp_path: Path) -> None:
    base = '[product]\nid = "x"\n[label]\nsupport = true\n'
    with pytest.raises(ProfileError, match=r"\[compliance\] support_period_end"):
        spec_from_profile(parse_profile(base, str(tmp_path / "x.toml")))
    wifi = ('[product]\nid = "x"\n[label]\nqr = "wifi"\nqr_support = true\n[compliance]\n'
            'support_period_end = "2030-01-01"\nsecurity_contact = "security@x.example"\n')
    with pytest.raises(ProfileError, match='qr_support = true needs qr = "credline"'):
        spec_from_profile(parse_profile(wifi, str(tmp_path / "x.toml")))


def test_hand_written_template_that_overflows_is_refused(
        tmp_path: Path, master_key: LocalKey) -> None:
    # The old router template: a QR at x=330, magnification 4, on a 400-dot label.
    (tmp_path / "t.zpl").write_text("^XA\n^PW{width_dots}\n^LL{height_dots}\n"
                                    "^FO16,104^A0N,30,30^FH^FD{password}^FS\n"
                                    "^FO330,14^BQN,2,4^FH^FDQA,{qr}^FS\n^XZ\n")
    text = '[product]\nid = "acme-cam"\n[label]\ntemplate = "t.zpl"\nformat = "zpl"\n'
    profile = parse_profile(text, str(tmp_path / "x.toml"))
    spec = spec_from_profile(profile)
    sink = LabelSink(tmp_path / "out", spec, "B")
    with pytest.raises(ProfileError, match="outside the 400x240-dot label"):
        sink.emit(labels_for(profile, spec, master_key)[0])
    assert not (tmp_path / "out").exists()


def test_label_too_small_for_its_fields_is_refused() -> None:
    with pytest.raises(ProfileError, match="cannot hold"):
        layout(120, 80, 203, [Want("title", "A long product name " * 6, Font.BOLD, 3.0)], "")
    with pytest.raises(ProfileError, match="too small for its QR code"):
        layout(120, 80, 203, [], "x" * 300)


names = st.text(st.characters(min_codepoint=32, max_codepoint=126), min_size=1, max_size=80)


@settings(max_examples=150, deadline=None)
@given(title=names, serial=st.from_regex(r"[0-9A-Za-z._:-]{1,40}", fullmatch=True),
       password=st.from_regex(r"[0-9A-Z]{4}(-[0-9A-Z]{4}){1,5}", fullmatch=True),
       width=st.integers(30, 120), height=st.integers(20, 80),
       dpi=st.sampled_from([203, 300, 600]), qr=st.booleans())
def test_any_layout_fits_or_is_refused_and_never_cuts(
        title: str, serial: str, password: str, width: int, height: int, dpi: int,
        qr: bool) -> None:
    wants = [Want("title", title, Font.BOLD, 3.0), Want("serial", f"S/N {serial}", Font.SANS, 2.4),
             Want("password", password, Font.MONO, 3.6, max_lines=1),
             Want("footer", "key 0011223344556677  batch B-1", Font.SANS, 1.4, bottom=True)]
    content = f"credline:v1?serial={serial}&password={password}" if qr else ""
    try:
        model = layout(round(width / 25.4 * dpi), round(height / 25.4 * dpi), dpi, wants,
                       content)
    except ProfileError:
        return
    assert check(model) == []
    by_name = {t.name: t for t in model.texts}
    for want in wants:
        placed = by_name[want.name]
        assert "".join(placed.lines).replace(" ", "") == want.text.replace(" ", "")
        assert len(placed.lines) <= want.max_lines
    if qr:
        assert model.qr is not None and model.qr.module / dpi * 25.4 >= 0.33


@settings(max_examples=150, deadline=None)
@given(st.text(min_size=1, max_size=300))
def test_the_cheap_qr_shape_is_the_drawn_symbols_shape(content: str) -> None:
    """Layout sizes a QR without segno's mask search (per length for ASCII): it must be the
    size of the symbol the PDF draws and the printer's ^BQ makes."""
    from credline.labels.layout import qr_shape, qr_symbol

    try:
        symbol = qr_symbol(content)
    except segno.DataOverflowError:
        return
    assert qr_shape(content) == (symbol.symbol_size(scale=1, border=0)[0], symbol.version)


@settings(max_examples=500, deadline=None)
@given(text=st.text(max_size=40), font=st.sampled_from(list(Font)),
       size=st.floats(min_value=1, max_value=200))
def test_text_widths_are_reportlabs_own(text: str, font: Font, size: float) -> None:
    """The station measures every label's text from reportlab's width tables, read once:
    the same number reportlab's stringWidth gives, for any text (unencodable letters go
    through reportlab itself)."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from credline.labels.layout import _width

    assert _width(text, font, size) == stringWidth(text, font.value, size)


@pytest.mark.parametrize("note", ["", "Password: {password}", "{qr!s}"])
def test_laying_out_a_label_keeps_no_password(note: str, master_key: LocalKey) -> None:
    """The texts every label of a batch shares are fitted once and kept; a text that holds
    the password (the password itself, or a template naming it) is fitted afresh and never
    kept: a second label with another password adds nothing to what is kept."""
    from credline.labels import layout as layout_module

    profile = parse_profile(
        '[product]\nid = "cam"\n[password]\nlength = 12\n[label]\n'
        f'template = "{REPO / "factory/labels/default.toml"}"\n', "cam.toml")
    spec = dataclasses.replace(spec_from_profile(profile), layout=dataclasses.replace(
        spec_from_profile(profile).layout, note=note))
    deriver = Deriver(master_key, profile.format)
    first, second = (make_label(profile, spec, serial="SN0001", password=deriver.password(
        profile.product, Serial("SN0001"), generation), key_id=deriver.key_id, batch="B1",
        generation=generation) for generation in (0, 1))
    layout_module._fit_known.cache_clear()
    plan(first, spec)
    kept = layout_module._fit_known.cache_info().currsize
    assert kept > 0  # the shared texts are kept
    drawn = plan(second, spec)
    assert layout_module._fit_known.cache_info().currsize == kept
    assert any(second.password_grouped in line for text in drawn.texts for line in text.lines)
