"""The one engine behind /kb and `python -m bot kb`: propose, apply, roll back, export, history.

On disk:
- KNOWLEDGE_DIR/*.json: the live collections. An apply stages every new file in
  KNOWLEDGE_DIR/.pending/, writes MANIFEST.json there last (the commit point), then moves the
  files in. Whoever next takes the lock finishes a committed apply, or drops an uncommitted one,
  so a crash leaves one version or the other, never a mix.
- KNOWLEDGE_DIR/.lock: held (flock) while reading or writing, so the bot and the command line
  never interleave.
- DATA_DIR/kb_backups/<version>/: the files of each version an apply replaced (the last 20).
- DATA_DIR/kb_audit.jsonl: one line per apply or rollback: who, when, what, from and to which
  version.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import os
import re
import shutil
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from bot.clock import SYSTEM_CLOCK, Clock
from bot.kb.changes import (
    Changes,
    Diff,
    Refusal,
    RefusalKind,
    diff,
    merge,
    parse_upload,
)
from bot.kb.check import Report, review_raw
from bot.kb.loader import COLLECTIONS, KnowledgeError, Problem, read_raw, upgraded
from bot.kb.snapshot import KnowledgeBase
from bot.kb.stale import fingerprint, still_true

PENDING = ".pending"
MANIFEST = "MANIFEST.json"
LOCK = ".lock"
BACKUPS = "kb_backups"
AUDIT = "kb_audit.jsonl"
KEEP_BACKUPS = 20
_VERSION = re.compile(r"^(\d{4}\.\d{2}\.\d{2})-(\d+)$")


class Unreadable(KnowledgeError):
    """The live files, or those of the backed-up version `backup`, do not read (missing, not
    JSON, or refused by the strict parse); nothing was changed. `problems` name each file."""

    def __init__(self, problems: list[Problem], backup: str | None = None) -> None:
        super().__init__(problems)
        self.backup = backup
        if backup is not None:
            self.args = (f"the backup of version {backup} does not read: {self.args[0]}",)


@dataclass
class Proposal:
    """A change judged against the live base: the diff to show, or the refusal."""

    base_version: str
    changes: Changes | None = None
    raw: dict[str, Any] | None = None
    diff: Diff = field(default_factory=Diff)
    report: Report | None = None
    refusal: Refusal | None = None
    kb: KnowledgeBase | None = None

    @property
    def ok(self) -> bool:
        return self.refusal is None


@dataclass(frozen=True)
class Status:
    kb: KnowledgeBase | None
    report: Report
    history: list[dict[str, Any]]
    backups: int


@dataclass(frozen=True)
class Applied:
    """The outcome of apply or rollback. status: "applied", "no_change" (the base already
    says this), "conflict" (the base moved on since the diff was shown), "refused"."""

    status: str
    version: str
    previous: str | None = None
    diff: Diff = field(default_factory=Diff)
    kb: KnowledgeBase | None = None
    raw: dict[str, Any] | None = None
    refusal: Refusal | None = None


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_file(path: Path, data: bytes) -> None:
    with open(path, "wb") as handle:
        handle.write(data)
        handle.flush()
        os.fsync(handle.fileno())


def dump(value: Any) -> bytes:
    """A collection as the knowledge files hold it: indented UTF-8 JSON, newline at the end."""
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode("utf-8")


def version_key(version: str) -> tuple[str, int]:
    """Orders YYYY.MM.DD-N versions by day, then N as a number (-10 after -9)."""
    m = _VERSION.match(version)
    return (m.group(1), int(m.group(2))) if m else (version, -1)


def next_version(today: dt.date, known: list[str]) -> str:
    """YYYY.MM.DD-N, N one above any version of that day already known."""
    day = today.strftime("%Y.%m.%d")
    taken = [int(m.group(2)) for v in known if (m := _VERSION.match(v)) and m.group(1) == day]
    return f"{day}-{max(taken, default=0) + 1}"


class KnowledgeAdmin:
    def __init__(self, knowledge_dir: Path, data_dir: Path, clock: Clock = SYSTEM_CLOCK
                 ) -> None:
        self.knowledge_dir = knowledge_dir
        self.backup_dir = data_dir / BACKUPS
        self.audit_path = data_dir / AUDIT
        self.clock = clock

    @property
    def today(self) -> dt.date:
        return self.clock.today()

    # --- locking and recovery --------------------------------------------------------------

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Exclusive use of the knowledge directory across processes; finishes or drops an
        interrupted apply first."""
        try:
            handle = open(self.knowledge_dir / LOCK, "a")  # noqa: SIM115 (closed below)
        except OSError:  # a read-only knowledge directory: nobody can apply, nothing to guard
            yield
            return
        with handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                self._recover()
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def _recover(self) -> None:
        stage = self.knowledge_dir / PENDING
        if not stage.exists():
            return
        if (stage / MANIFEST).exists():  # committed: finish moving the files in
            self._roll_forward(stage)
        shutil.rmtree(stage, ignore_errors=True)

    def _roll_forward(self, stage: Path) -> None:
        path = stage / MANIFEST
        try:
            manifest = json.loads(path.read_bytes().decode("utf-8"))
            names = manifest["files"]
            if not (isinstance(names, list) and all(
                    isinstance(n, str) and n == Path(n).name for n in names)):
                raise ValueError("no list of file names")
        except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
            raise KnowledgeError([Problem(
                f"{PENDING}/{MANIFEST}", None, None,
                f"damaged ({exc}): an apply was interrupted and cannot be finished; check the "
                f"live files (`python -m bot kb check`), then delete {stage} to start with them, "
                "or restore a backup")]) from None
        for name in names:
            staged = stage / name
            if staged.exists():  # not yet moved
                os.replace(staged, self.knowledge_dir / name)
        _fsync_dir(self.knowledge_dir)
        (stage / MANIFEST).unlink()

    # --- reading ---------------------------------------------------------------------------

    def read(self) -> dict[str, Any]:
        """The live collections (after recovery); Unreadable if a file does not read."""
        with self.locked():
            return self._read()

    def _read(self) -> dict[str, Any]:
        raw, problems = read_raw(self.knowledge_dir)
        if problems:
            raise Unreadable(problems)
        return raw

    def load(self) -> tuple[KnowledgeBase, dict[str, Any]]:
        """The live base, validated, and its collections."""
        raw = self.read()
        kb, report = review_raw(raw, self.today)
        if kb is None:
            raise KnowledgeError(report.errors)
        return kb, raw

    def status(self, history: int) -> Status:
        """What /kb shows: the live base judged by the rules of `kb check` (the snapshot is None
        if it does not build), the latest audit entries, how many versions are backed up.
        Unreadable if a live file does not read."""
        kb, report = review_raw(self.read(), self.today)
        return Status(kb, report, self.history(history), len(self.backups()))

    # --- proposals -------------------------------------------------------------------------

    def propose_upload(self, data: bytes, file_name: str | None) -> Proposal:
        """Judge an uploaded file against the live base."""
        with self.locked():
            current = self._read()
            try:
                changes = parse_upload(data, file_name)
            except Refusal as refusal:
                return Proposal(_version(current), refusal=refusal)
            return self._judge(current, changes)

    def propose_rollback(self, version: str | None = None) -> Proposal:
        """Going back to a backed-up version (the latest one by default)."""
        with self.locked():
            current = self._read()
            target = self._backup_raw(version)
            changes: Changes = {name: target[name] for name in COLLECTIONS}
            return self._judge(current, changes)

    def _judge(self, current: dict[str, Any], changes: Changes) -> Proposal:
        base = _version(current)
        try:
            new = merge(current, changes)
        except Refusal as refusal:
            return Proposal(base, changes, refusal=refusal)
        kb, report = review_raw(new, self.today)
        if report.blocking:
            return Proposal(base, changes, new, report=report,
                            refusal=Refusal(RefusalKind.invalid,
                                            problems=tuple(report.blocking)))
        return Proposal(base, changes, new, diff(current, new), report, kb=kb)

    # --- apply -----------------------------------------------------------------------------

    def apply(self, changes: Changes, who: str, *, base_version: str | None = None,
              action: str = "apply", source: str = "") -> Applied:
        """Write the changes as a new version, unless they change nothing, are refused, or the
        base moved on since `base_version` (the version the admin saw the diff against)."""
        with self.locked():
            current = self._read()
            previous = _version(current)
            proposal = self._judge(current, changes)
            if proposal.refusal is not None:
                return Applied("refused", previous, refusal=proposal.refusal)
            if proposal.diff.empty:
                return Applied("no_change", previous)
            if base_version is not None and base_version != previous:
                return Applied("conflict", previous, diff=proposal.diff)
            assert proposal.raw is not None and proposal.kb is not None
            version = next_version(self.today, [previous, *self._known_versions()])
            new = dict(proposal.raw)
            new["meta"] = {**new["meta"], "version": version,
                           "updated": self.today.isoformat()}
            # Only meta's managed fields differ from what was just validated.
            kb = replace(proposal.kb, meta=proposal.kb.meta.model_copy(
                update={"version": version, "updated": self.today}))
            self._backup(previous)
            self._commit(new)
            self._audit(who=who, action=action, source=source, previous=previous,
                        version=version, change=proposal.diff)
            self._prune_backups()
            return Applied("applied", version, previous, proposal.diff, kb, new)

    def recheck(self, collection: str, rid: str | None, seen: str, who: str) -> Applied | None:
        """Record today's check of a record's first source (`/kb stale`: "still true") as a new
        version; None when the record changed or went since the admin saw it (`seen`, its
        fingerprint), so nothing unseen is marked checked."""
        with self.locked():
            current = self._read()
            if fingerprint(current, collection, rid) != seen:
                return None
            changes = still_true(current, collection, rid, self.today)
        if changes is None:
            return None
        return self.apply(changes, who, base_version=_version(current), action="recheck",
                          source=f"kb stale: {collection} {rid or ''}".strip())

    def adopt(self, raw: dict[str, Any], entry: Mapping[str, Any] | None = None) -> bool:
        """Make the live files those of a version applied elsewhere (another replica, through
        Redis): the version they replace is backed up, and the apply's audit entry (who, what,
        from which version) is recorded here too, marked `via: redis`. Damaged live files are
        replaced. False when the files hold these very contents already."""
        version = _version(raw)
        with self.locked():
            try:
                current: dict[str, Any] | None = self._read()
            except Unreadable:
                current = None
            previous = _version(current) if current is not None else ""
            new = upgraded(raw)
            if current == new:
                return False
            if current is not None:
                # Another version of the same name (a change made here on a base that had
                # moved on) is kept beside it, not lost.
                self._backup(previous if previous != version else f"{previous}-replaced")
            self._commit(new)
            entry = entry or {}
            self._audit(who=entry.get("who", ""), action=entry.get("action", "apply"),
                        source=entry.get("source", ""),
                        previous=entry.get("previous", previous), version=version,
                        change=diff(current, new) if current is not None else Diff(),
                        via="redis", applied_at=entry.get("at", ""))
            self._prune_backups()
            return True

    def rollback(self, version: str | None, who: str, *, base_version: str | None = None
                 ) -> Applied:
        with self.locked():
            target = self._backup_raw(version)
        changes: Changes = {name: target[name] for name in COLLECTIONS}
        return self.apply(changes, who, base_version=base_version, action="rollback",
                          source=_version(target))

    def _commit(self, new: Mapping[str, Any]) -> None:
        stage = self.knowledge_dir / PENDING
        shutil.rmtree(stage, ignore_errors=True)
        stage.mkdir()
        names = [f"{name}.json" for name in COLLECTIONS]
        for name in COLLECTIONS:
            _write_file(stage / f"{name}.json", dump(new[name]))
        _write_file(stage / f"{MANIFEST}.tmp", dump({"files": names}))
        os.replace(stage / f"{MANIFEST}.tmp", stage / MANIFEST)
        _fsync_dir(stage)  # the commit point: from here recovery finishes the apply
        self._roll_forward(stage)
        shutil.rmtree(stage, ignore_errors=True)

    # --- backups, audit, export ------------------------------------------------------------

    def _backup(self, version: str) -> None:
        target = self.backup_dir / version
        if target.exists():
            return
        self.backup_dir.mkdir(parents=True, exist_ok=True)
        tmp = self.backup_dir / f".{version}.tmp"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        for name in COLLECTIONS:
            with contextlib.suppress(FileNotFoundError):  # a collection newer than this version
                shutil.copy2(self.knowledge_dir / f"{name}.json", tmp / f"{name}.json")
        _write_file(tmp / "saved_at", self.clock.now().isoformat(
            timespec="microseconds").encode())
        os.replace(tmp, target)

    def backups(self) -> list[str]:
        """Backed-up versions, newest first."""
        if not self.backup_dir.exists():
            return []
        found = [p for p in self.backup_dir.iterdir()
                 if p.is_dir() and not p.name.startswith(".")]
        found.sort(key=lambda p: ((p / "saved_at").read_text() if (p / "saved_at").exists()
                                  else "", *version_key(p.name)), reverse=True)
        return [p.name for p in found]

    def _prune_backups(self) -> None:
        for version in self.backups()[KEEP_BACKUPS:]:
            shutil.rmtree(self.backup_dir / version, ignore_errors=True)

    def _backup_raw(self, version: str | None) -> dict[str, Any]:
        available = self.backups()
        if version is None:
            if not available:
                raise LookupError("no earlier version to roll back to")
            version = available[0]
        if version not in available:
            raise LookupError(f"no backup of version {version!r}")
        raw, problems = read_raw(self.backup_dir / version)
        if problems:
            raise Unreadable([replace(p, file=f"{BACKUPS}/{version}/{p.file}") for p in problems],
                             backup=version)
        return upgraded(raw)

    def _known_versions(self) -> list[str]:
        return [*self.backups(), *(e.get("version", "") for e in self.history())]

    def _audit(self, **entry: Any) -> None:
        change: Diff = entry.pop("change")
        record = {"at": self.clock.stamp(), **entry,
                  "counts": change.counts(), "diff": change.as_dict()}
        self.audit_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.audit_path, "a", encoding="utf-8") as handle:
            handle.write(json.dumps(record, ensure_ascii=False) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def history(self, limit: int | None = None) -> list[dict[str, Any]]:
        """Audit entries, newest first (a torn last line from a crash is skipped)."""
        try:
            lines = self.audit_path.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []
        entries: list[dict[str, Any]] = []
        for line in reversed(lines):
            with contextlib.suppress(ValueError):
                entries.append(json.loads(line))
            if limit is not None and len(entries) >= limit:
                break
        return entries

    def files(self) -> list[tuple[str, bytes]]:
        """The live files, for export."""
        with self.locked():
            return [(f"{name}.json", path.read_bytes()) for name in COLLECTIONS
                    if (path := self.knowledge_dir / f"{name}.json").exists()]

    def export(self, directory: Path) -> list[Path]:
        directory.mkdir(parents=True, exist_ok=True)
        written = []
        for name, data in self.files():
            (directory / name).write_bytes(data)
            written.append(directory / name)
        return written


def _version(raw: Mapping[str, Any]) -> str:
    meta = raw.get("meta")
    return str(meta.get("version", "")) if isinstance(meta, dict) else ""
