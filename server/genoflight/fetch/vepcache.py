"""Unpacking a VEP cache tarball (``homo_sapiens_vep_115_GRCh38.tar.gz``) into a served directory.

The archive comes from the network, so it is not trusted: every member must be a plain file or
directory whose path stays inside the destination (no absolute paths, no ``..``, no links or
devices); permissions are ours, not the archive's. It is unpacked into a hidden staging
directory, checked to hold a VEP cache (``<species>/<version>_<assembly>/info.txt``), and then
moved into place, replacing an older copy of the same cache, so a served cache is never half
written.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
from pathlib import Path, PurePosixPath

from genoflight.fetch import FetchError

__all__ = ["unpack_vep_cache"]

CHUNK = 1 << 20


def _member_path(member: tarfile.TarInfo, archive: Path) -> PurePosixPath | None:
    """The member's safe relative path, None for the archive's root entry; raises on anything
    that could write outside the destination."""
    name = member.name.replace("\\", "/")
    path = PurePosixPath(name)
    parts = [p for p in path.parts if p not in ("", ".")]
    if path.is_absolute() or ".." in parts or (parts and ":" in parts[0]):
        raise FetchError(f"{archive.name}: refusing archive member {member.name!r}: path escapes")
    if not (member.isfile() or member.isdir()):
        raise FetchError(
            f"{archive.name}: refusing archive member {member.name!r}: not a plain file or "
            f"directory (a VEP cache holds none)"
        )
    return PurePosixPath(*parts) if parts else None


def _cache_dirs(root: Path) -> list[Path]:
    """``<species>/<version>_<assembly>`` directories under ``root`` holding ``info.txt``."""
    return sorted(p.parent for p in root.glob("*/*/info.txt") if p.parent.name[:1].isdigit())


def unpack_vep_cache(archive: Path, dest: Path) -> list[Path]:
    """Unpack ``archive`` into ``dest``; the cache directories it added (``dest/<sp>/<v_a>``)."""
    dest.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".unpack-", dir=dest))
    try:
        try:
            with tarfile.open(archive, "r|*") as tar:  # one pass: multi-GB archives
                for member in tar:
                    rel = _member_path(member, archive)
                    if rel is None:
                        continue
                    target = staging.joinpath(*rel.parts)
                    if member.isdir():
                        target.mkdir(parents=True, exist_ok=True)
                        continue
                    target.parent.mkdir(parents=True, exist_ok=True)
                    source = tar.extractfile(member)
                    if source is None:
                        continue
                    with source, target.open("wb") as out:
                        shutil.copyfileobj(source, out, CHUNK)
        except (tarfile.TarError, EOFError, OSError) as e:
            if isinstance(e, OSError) and e.filename is not None:
                raise
            raise FetchError(
                f"{archive.name}: not a readable tar.gz archive ({e}); delete it and rerun"
            ) from None
        found = _cache_dirs(staging)
        if not found:
            raise FetchError(
                f"{archive.name}: no VEP cache in the archive (no <species>/<version>_<assembly>/"
                f"info.txt)"
            )
        placed: list[Path] = []
        for cache in found:
            rel = cache.relative_to(staging)
            final = dest / rel
            final.parent.mkdir(parents=True, exist_ok=True)
            if final.exists():
                old = Path(tempfile.mkdtemp(prefix=".old-", dir=dest))
                os.replace(final, old / "cache")
                shutil.rmtree(old, ignore_errors=True)
            os.replace(cache, final)
            placed.append(final)
        return placed
    finally:
        shutil.rmtree(staging, ignore_errors=True)
