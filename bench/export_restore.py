"""Export and restore at scale, both directions between SQLite and PostgreSQL.

    .venv/bin/python bench/export_restore.py [--events N] [--cases M] [--from sqlite,postgresql]

For each direction: import N generated events (M cases) into a fresh source database,
`casewatch export` it, `casewatch restore` the folder into a fresh database of the other
backend, export that again, and compare every file of the two exports (the audit log may
only grow by the restore's own row). Restore is timed against a plain `casewatch import`
of the same events into the same kind of database, in the same run. Prints one JSON line
per direction; docs/benchmarks.md and docs/reliability.md record the figures.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import tempfile
from pathlib import Path

from databases import fresh_database, run_measured, write_events

DIRECTIONS = (("sqlite", "postgresql"), ("postgresql", "sqlite"))
GROWING = "tables/audit_log.jsonl"


def casewatch(*args: str) -> list[str]:
    return [sys.executable, "-m", "casewatch", *args]


def digests_of(folder: Path) -> dict[str, str]:
    """Each file's SHA-256, read in blocks: holding the files would swell this process,
    and every child forked from it would then report the swollen size as its peak RSS."""
    digests = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != "manifest.json":
            digest = hashlib.sha256()
            with path.open("rb") as data:
                for block in iter(lambda: data.read(1 << 20), b""):
                    digest.update(block)
            digests[str(path.relative_to(folder))] = digest.hexdigest()
    return digests


def identical(first: Path, second: Path) -> bool:
    """Every file equal but the audit log, which may only grow by the restore's row."""
    before, after = digests_of(first), digests_of(second)
    if before.keys() != after.keys():
        return False
    same = all(before[name] == after[name] for name in before if name != GROWING)
    original = (first / GROWING).read_bytes().splitlines()
    grown = (second / GROWING).read_bytes().splitlines()
    return same and grown[: len(original)] == original and len(grown) == len(original) + 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--cases", type=int, default=100_000)
    parser.add_argument("--from", dest="sources", default="sqlite,postgresql",
                        help="source backends: each is restored into the other")  # fmt: skip
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        events_file = folder / "events.jsonl"
        write_events(events_file, args.events, args.cases)
        for source_backend, target_backend in DIRECTIONS:
            if source_backend not in args.sources.split(","):
                continue
            source, drop_source = fresh_database(source_backend, folder)
            target, drop_target = fresh_database(target_backend, folder)
            baseline, drop_baseline = fresh_database(target_backend, folder)
            first, second = folder / f"{source_backend}-1", folder / f"{source_backend}-2"
            try:
                run_measured(casewatch("import", str(events_file), "--db", source))
                export_s, export_rss, _ = run_measured(
                    casewatch("export", str(first), "--db", source)
                )
                restore_s, restore_rss, output = run_measured(
                    casewatch("restore", str(first), "--db", target)
                )
                restored = json.loads(output)
                run_measured(casewatch("export", str(second), "--db", target))
                import_s, _, _ = run_measured(
                    casewatch("import", str(events_file), "--db", baseline)
                )
            finally:
                drop_source()
                drop_target()
                drop_baseline()
            size = sum(p.stat().st_size for p in first.rglob("*") if p.is_file())
            print(
                json.dumps(
                    {
                        "from": source_backend,
                        "to": target_backend,
                        "events": restored["events"],
                        "cases": restored["cases_checked"],
                        "export_s": round(export_s, 1),
                        "export_peak_rss_mib": export_rss,
                        "export_mib": round(size / 2**20),
                        "restore_s": round(restore_s, 1),
                        "restore_peak_rss_mib": restore_rss,
                        "import_s": round(import_s, 1),
                        "restore_to_import": round(restore_s / import_s, 2),
                        "identical": identical(first, second),
                    }
                ),
                flush=True,
            )


if __name__ == "__main__":
    main()
