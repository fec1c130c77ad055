"""`python -m bot kb diff|apply|rollback|export|history` on a copy of knowledge/."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from bot.__main__ import main
from bot.clock import FixedClock
from bot.kb.admin import next_version
from bot.kb.loader import COLLECTIONS
from tests.conftest import KNOWLEDGE_DIR, TODAY

CLOCK = FixedClock.on(TODAY)


@pytest.fixture
def kdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    target = tmp_path / "knowledge"
    shutil.copytree(KNOWLEDGE_DIR, target, ignore=shutil.ignore_patterns(".lock", ".pending"))
    monkeypatch.chdir(tmp_path)  # no .env from the project
    monkeypatch.setenv("KNOWLEDGE_DIR", str(target))
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    return target


def write_change(tmp_path: Path, kdir: Path) -> Path:
    record = json.loads((kdir / "aid.json").read_text())[0]
    path = tmp_path / "aid.json"
    path.write_text(json.dumps({"upsert": [{**record, "id": "cli-scheme"}]}))
    return path


def test_diff_apply_history_rollback_export(kdir: Path, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    original = (kdir / "aid.json").read_bytes()
    version = json.loads((kdir / "meta.json").read_text())["version"]
    change = write_change(tmp_path, kdir)

    assert main(["kb", "diff", str(change)], clock=CLOCK) == 0
    out = capsys.readouterr().out
    assert f"against version {version}" in out and "aid: added cli-scheme" in out
    assert (kdir / "aid.json").read_bytes() == original

    assert main(["kb", "apply", str(change)], clock=CLOCK) == 0
    out = capsys.readouterr().out
    assert "version 2026." in out and f"(was {version})" in out
    assert "cli-scheme" in (kdir / "aid.json").read_text()
    assert main(["kb", "apply", str(change)], clock=CLOCK) == 0
    assert "no change" in capsys.readouterr().out

    assert main(["kb", "history"], clock=CLOCK) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and "\tcli:" in lines[0] and "\tapply\t" in lines[0]
    assert "+1 ~0 -0" in lines[0] and lines[0].endswith("aid.json")

    assert main(["kb", "rollback"], clock=CLOCK) == 0
    assert "applied" in capsys.readouterr().out
    assert json.loads((kdir / "aid.json").read_bytes()) == json.loads(original)
    assert main(["kb", "rollback", "1999.01.01-1"], clock=CLOCK) == 1
    assert "no backup of version" in capsys.readouterr().out

    out_dir = tmp_path / "export"
    assert main(["kb", "export", str(out_dir)], clock=CLOCK) == 0
    assert sorted(p.name for p in out_dir.iterdir()) == sorted(f"{n}.json" for n in COLLECTIONS)
    assert (out_dir / "aid.json").read_bytes() == (kdir / "aid.json").read_bytes()


def test_refused_files_exit_non_zero_and_change_nothing(kdir: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    before = {n: (kdir / f"{n}.json").read_bytes() for n in COLLECTIONS}
    bad = tmp_path / "aid.json"
    bad.write_text("[]")
    assert main(["kb", "apply", str(bad)], clock=CLOCK) == 1
    assert "refused (empties)" in capsys.readouterr().out
    bad.write_bytes(b"{nope")
    assert main(["kb", "apply", str(bad)], clock=CLOCK) == 1
    assert "refused (not_json)" in capsys.readouterr().out
    assert main(["kb", "apply", str(tmp_path / "missing.json")], clock=CLOCK) == 2
    assert "no such file" in capsys.readouterr().out
    assert main(["kb", "rollback"], clock=CLOCK) == 1
    assert "no earlier version" in capsys.readouterr().out
    assert {n: (kdir / f"{n}.json").read_bytes() for n in COLLECTIONS} == before


def test_check_finishes_an_interrupted_apply_before_judging(
        kdir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str]) -> None:
    import os

    from bot.kb.admin import MANIFEST, PENDING, KnowledgeAdmin

    admin = KnowledgeAdmin(kdir, tmp_path / "data", CLOCK)
    proposal = admin.propose_upload(write_change(tmp_path, kdir).read_bytes(), "aid.json")
    assert proposal.changes is not None
    real_replace = os.replace

    def crash_after_commit_point(src: object, dst: object) -> None:
        if Path(str(dst)).parent == kdir:  # moving a staged file in
            raise OSError("killed")
        real_replace(src, dst)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "replace", crash_after_commit_point)
    with pytest.raises(OSError):
        admin.apply(proposal.changes, "a")
    monkeypatch.setattr(os, "replace", real_replace)
    assert (kdir / PENDING / MANIFEST).exists()  # committed, no file moved in yet
    assert main(["kb", "check"], clock=CLOCK) == 0
    out = capsys.readouterr().out
    shipped = json.loads((KNOWLEDGE_DIR / "meta.json").read_text())["version"]
    assert f"Knowledge base {next_version(TODAY, [shipped])}" in out.splitlines()[0]
    assert not (kdir / PENDING).exists()


def test_check_names_what_the_files_cannot_hold(kdir: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    """Values that used to pass (or crash `kb check`) are errors by file, record and field."""
    aid = json.loads((kdir / "aid.json").read_text())
    first = next(r for r in aid if any(isinstance(c["value"], int) for c in r["criteria"]))
    index = next(i for i, c in enumerate(first["criteria"]) if isinstance(c["value"], int))
    first["criteria"][index]["value"] = 1.5  # a marker replaced by bare NaN below
    (kdir / "aid.json").write_text(json.dumps(aid).replace('"value": 1.5', '"value": NaN', 1))
    vie = json.loads((kdir / "vie_countries.json").read_text())
    us = next(r for r in vie if r["id"] == "us")
    us["allowances"][0]["geographic_eur"] = 1e308
    (kdir / "vie_countries.json").write_text(json.dumps(vie))
    (kdir / "landing.json").write_text("[" * 100_000 + "]" * 100_000)
    (kdir / "cities.json").write_text('[{"id": "paris", "id": "lyon"}]')
    (kdir / "sectors.json").write_text('[{"id": "saas", "n": ' + "9" * 5000 + "}]")
    assert main(["kb", "check"], clock=CLOCK) == 1
    out = capsys.readouterr().out
    assert f"aid.json [{first['id']}] criteria.{index}.value: NaN is not a number" in out
    assert "landing.json: nested more than 16 levels deep" in out
    assert "cities.json [lyon] id: this key is written more than once" in out
    assert "sectors.json [saas] n: a number of 5000 characters" in out
    assert out.rstrip().endswith("FAILED")
    # Once the files read, the allowance is judged by the model: too large for an amount.
    for name in ("aid", "landing", "cities", "sectors"):
        shutil.copy(KNOWLEDGE_DIR / f"{name}.json", kdir / f"{name}.json")
    assert main(["kb", "check"], clock=CLOCK) == 1
    out = capsys.readouterr().out
    assert "vie_countries.json [us] allowances.0.geographic_eur: Input should be less than " \
           "or equal to 1000000000" in out


def test_rollback_to_a_broken_backup_names_the_file(kdir: Path, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    version = json.loads((kdir / "meta.json").read_text())["version"]
    assert main(["kb", "apply", str(write_change(tmp_path, kdir))], clock=CLOCK) == 0
    after = {n: (kdir / f"{n}.json").read_bytes() for n in COLLECTIONS}
    (tmp_path / "data" / "kb_backups" / version / "meta.json").write_text('{"version": NaN}')
    capsys.readouterr()
    assert main(["kb", "rollback"], clock=CLOCK) == 2
    err = capsys.readouterr().err
    assert f"the backup of version {version} does not read" in err
    assert f"kb_backups/{version}/meta.json version: NaN is not a number" in err
    assert {n: (kdir / f"{n}.json").read_bytes() for n in COLLECTIONS} == after
