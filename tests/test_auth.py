"""Authentication and TLS: users with argon2 hashes, the Flight handshake (Basic -> expiring
bearer token) checked on every RPC, TLS and mutual TLS, and the loopback-only rule without
users. Exercised with pyarrow.flight, ADBC and the JDBC driver."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from _servers import (
    Certs,
    Served,
    adbc_connect_as,
    flight_client,
    flight_query,
    hash_password,
    make_certs,
    serve,
    write_config,
)
from _support import (
    CALL_TIMEOUT_S,
    VCF_DIR,
    ServerHandle,
    bcftools_record_count,
    pack_statement_query,
    require_shared_vcf_dir,
    table_ref,
)
from pyarrow import flight
from test_jdbc import RUN_SH, facts, jdbc_jar, single  # noqa: F401 (jdbc_jar is a fixture)

USER, PASSWORD = "alice", "correct horse battery staple"
COUNT_22 = f"SELECT count(*) FROM {table_ref('22')}"


@pytest.fixture(scope="module")
def certs(tmp_path_factory: pytest.TempPathFactory) -> Certs:
    return make_certs(tmp_path_factory.mktemp("certs"))


@pytest.fixture(scope="module")
def alice_hash() -> str:
    return hash_password(PASSWORD)


@pytest.fixture(scope="module")
def tls_server(
    certs: Certs, alice_hash: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """Users + TLS (a self-signed certificate), serving the shared VCF directory."""
    d = tmp_path_factory.mktemp("auth-tls")
    config = write_config(
        d / "genoflight.toml",
        {
            "paths": [{"path": require_shared_vcf_dir()}],
            "auth": {"token_ttl_s": 600},
            "auth.users": [
                {"name": USER, "password_hash": alice_hash},
                {"name": "bob", "password_hash": hash_password("bobs password")},
            ],
            "tls": {"cert": certs.server_cert, "key": certs.server_key},
        },
    )
    with serve(config, d, scheme="grpc+tls") as served:
        yield served


def count_22() -> int:
    return bcftools_record_count(VCF_DIR / "22.vcf.gz")


# --------------------------------------------------------------------------------------------
# hash-password


def test_hash_password_prints_a_salted_argon2id_hash(alice_hash: str) -> None:
    assert alice_hash.startswith("$argon2id$"), alice_hash
    assert "\n" not in alice_hash
    assert hash_password(PASSWORD) != alice_hash, "two hashes of one password must differ (salt)"
    proc = subprocess.run(
        [sys.executable, "-m", "genoflight", "hash-password"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "empty" in proc.stderr, proc.stderr


def test_plain_password_in_config_is_refused(tmp_path: Path) -> None:
    config = write_config(
        tmp_path / "g.toml",
        {"paths": [{"path": VCF_DIR}], "auth.users": [{"name": "x", "password_hash": "hunter2"}]},
    )
    proc = subprocess.run(
        [sys.executable, "-m", "genoflight", "serve", "--config", str(config), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "auth.users[0].password_hash" in proc.stderr and "hash-password" in proc.stderr


# --------------------------------------------------------------------------------------------
# pyarrow.flight


def test_flight_requires_a_token_on_every_call(tls_server: Served, certs: Certs) -> None:
    with flight_client(tls_server, certs) as client:
        with pytest.raises(flight.FlightUnauthenticatedError, match="authentication required"):
            flight_query(client, COUNT_22)
        with pytest.raises(flight.FlightUnauthenticatedError, match="user name or password"):
            client.authenticate_basic_token(USER, "wrong password")
        with pytest.raises(flight.FlightUnauthenticatedError):
            client.authenticate_basic_token("mallory", PASSWORD)
        header = client.authenticate_basic_token(USER, PASSWORD)
        assert header[0] == b"authorization" and header[1].startswith(b"Bearer ")
        table = flight_query(client, COUNT_22, headers=[header])
        assert table.column(0)[0].as_py() == count_22()

        # A statement ticket carries the SQL: DoGet must check the token too.
        options = flight.FlightCallOptions(timeout=CALL_TIMEOUT_S, headers=[header])
        info = client.get_flight_info(
            flight.FlightDescriptor.for_command(pack_statement_query(COUNT_22)), options
        )
        with pytest.raises(flight.FlightUnauthenticatedError):
            client.do_get(info.endpoints[0].ticket).read_all()
        forged = [(b"authorization", b"Bearer 0123456789abcdef")]
        with pytest.raises(flight.FlightUnauthenticatedError, match="invalid bearer token"):
            client.do_get(info.endpoints[0].ticket, flight.FlightCallOptions(headers=forged))
        with pytest.raises(flight.FlightUnauthenticatedError):
            list(
                client.do_action(flight.Action("CancelFlightInfo", b""), flight.FlightCallOptions())
            )
    # Plaintext against the TLS port fails.
    with (
        flight.connect(f"grpc://127.0.0.1:{tls_server.port}") as plain,
        pytest.raises(flight.FlightError),
    ):
        plain.authenticate_basic_token(USER, PASSWORD)
    assert tls_server.alive()


def test_flight_without_the_server_certificate_fails(tls_server: Served) -> None:
    with flight.connect(tls_server.uri) as client, pytest.raises(flight.FlightError):
        client.authenticate_basic_token(USER, PASSWORD)


# --------------------------------------------------------------------------------------------
# ADBC


def test_adbc_username_password_over_tls(tls_server: Served, certs: Certs) -> None:
    with adbc_connect_as(tls_server.uri, USER, PASSWORD, certs.server_cert) as conn:
        with conn.cursor() as cur:
            cur.execute(COUNT_22)
            assert cur.fetchone() == (count_22(),)
            cur.execute(f"SELECT chrom, start FROM {table_ref('22')} ORDER BY start LIMIT 3")
            assert len(cur.fetchall()) == 3
        objects = conn.adbc_get_objects(depth="tables").read_all().to_pylist()
        tables = {t["table_name"] for c in objects for s in c["catalog_db_schemas"] or []
                  for t in s["db_schema_tables"] or []}  # fmt: skip
        assert "22" in tables


def test_adbc_wrong_or_missing_credentials(tls_server: Served, certs: Certs) -> None:
    import adbc_driver_manager.dbapi as dbapi

    for user, password in [(USER, "nope"), (None, None)]:
        with pytest.raises(dbapi.Error) as err:
            conn = adbc_connect_as(tls_server.uri, user, password, certs.server_cert)
            with conn, conn.cursor() as cur:
                cur.execute(COUNT_22)
                cur.fetchall()
        message = str(err.value).lower()
        assert "unauthenticated" in message or "authentica" in message, message
    assert tls_server.alive()


# --------------------------------------------------------------------------------------------
# JDBC (the driver DBeaver uses)


def run_jdbc(served: Served, user: str, password: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["GENOFLIGHT_JDBC_EXTRA"] = "useEncryption=true&disableCertificateVerification=true"
    env.pop("GENOFLIGHT_JDBC_DEBUG", None)
    return subprocess.run(
        ["bash", str(RUN_SH), served.host, str(served.port), "22", user, password],
        capture_output=True,
        text=True,
        timeout=180,
        env=env,
        check=False,
    )


def test_jdbc_user_password_with_encryption(tls_server: Served, jdbc_jar: Path) -> None:  # noqa: F811
    proc = run_jdbc(tls_server, USER, PASSWORD)
    context = f"\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    assert proc.returncode == 0, context
    assert proc.stdout.splitlines()[-1] == "OK", context
    assert "useEncryption=true" in single(proc.stdout, "URL")[0]
    assert ["genoflight", "public"] in facts(proc.stdout, "SCHEMA"), context
    assert int(single(proc.stdout, "COUNT")[0]) == count_22(), context

    bad = run_jdbc(tls_server, USER, "wrong password")
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "ERROR\tconnect" in bad.stderr, bad.stderr
    assert tls_server.alive()


# --------------------------------------------------------------------------------------------
# Mutual TLS, token expiry, exposure


def test_mutual_tls_requires_a_client_certificate(
    certs: Certs, tmp_path_factory: pytest.TempPathFactory
) -> None:
    d = tmp_path_factory.mktemp("mtls")
    config = write_config(
        d / "g.toml",
        {
            "paths": [{"path": VCF_DIR}],
            "tls": {"cert": certs.server_cert, "key": certs.server_key, "client_ca": certs.ca_cert},
        },
    )
    with serve(config, d, scheme="grpc+tls") as served:
        ok = flight_client(
            served,
            certs,
            cert_chain=certs.client_cert.read_bytes(),
            private_key=certs.client_key.read_bytes(),
        )
        with ok:
            assert flight_query(ok, COUNT_22).column(0)[0].as_py() == count_22()
        stranger = flight_client(
            served,
            certs,
            cert_chain=certs.stranger_cert.read_bytes(),
            private_key=certs.stranger_key.read_bytes(),
        )
        for client in (flight_client(served, certs), stranger):
            with client, pytest.raises(flight.FlightError):
                flight_query(client, COUNT_22)
        assert served.alive()


def test_tokens_expire(alice_hash: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    d = tmp_path_factory.mktemp("ttl")
    config = write_config(
        d / "g.toml",
        {
            "paths": [{"path": VCF_DIR}],
            "auth": {"token_ttl_s": 1},
            "auth.users": [{"name": USER, "password_hash": alice_hash}],
        },
    )
    with serve(config, d) as served, flight_client(served) as client:
        header = client.authenticate_basic_token(USER, PASSWORD)
        assert flight_query(client, COUNT_22, [header]).num_rows == 1
        time.sleep(1.5)
        with pytest.raises(flight.FlightUnauthenticatedError, match="expired"):
            flight_query(client, COUNT_22, [header])
        fresh = client.authenticate_basic_token(USER, PASSWORD)
        assert flight_query(client, COUNT_22, [fresh]).num_rows == 1


def test_without_users_only_loopback_is_served(tmp_path: Path) -> None:
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "genoflight",
            "serve",
            str(VCF_DIR),
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--admin-port",
            "65000",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert "refusing to listen on 0.0.0.0" in proc.stderr, proc.stderr
    assert "allow_remote_without_auth" in proc.stderr, proc.stderr


def test_credentials_are_accepted_by_a_server_without_users(server: ServerHandle) -> None:
    """DBeaver users may fill in a user name anyway: a server without users still answers the
    handshake with a token, and every client goes on working."""
    with adbc_connect_as(server.uri, "anyone", "anything") as conn, conn.cursor() as cur:
        cur.execute(COUNT_22)
        assert cur.fetchone() == (count_22(),)
    with flight.connect(server.uri) as client:
        header = client.authenticate_basic_token("anyone", "anything")
        assert header[1].startswith(b"Bearer ")
        assert flight_query(client, COUNT_22, [header]).column(0)[0].as_py() == count_22()
