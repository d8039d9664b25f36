"""``genoflight fetch``: download Ensembl variation VCFs (and a VEP cache) from a mirror, verify
them, and convert the VCFs to sorted per-chromosome Parquet that ``genoflight serve`` serves.

One job per module:

- :mod:`.checksum`: BSD ``sum`` (Ensembl's ``CHECKSUMS``) and MD5, file parsing.
- :mod:`.mirror`: what the mirror holds (directory listing, ``CHECKSUMS``) and what to fetch.
- :mod:`.download`: one file over HTTP(S): ``.part`` resume with Range, retries, verification.
- :mod:`.state`: the manifest that makes a rerun skip what is complete and verified.
- :mod:`.convert`: VCF -> sorted Parquet through ``genoflight._native.export``.
- :mod:`.vepcache`: unpacking a VEP cache tarball safely.
- :mod:`.progress`: progress bars on stderr (a summary line only when not a terminal).
- :mod:`.command`: the ``genoflight fetch`` subcommand that ties them together.
"""

from __future__ import annotations

__all__ = ["FetchError"]


class FetchError(RuntimeError):
    """A fetch failure to show as one ``genoflight: error:`` line (what failed, what to do)."""
