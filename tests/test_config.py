"""Unit tests of genoflight.config (no native module, no server)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from genoflight.config import (
    Config,
    ConfigError,
    LimitsConfig,
    ServerConfig,
    load_config,
    parse_config,
)

DESIGN_EXAMPLE = """
[server]
host = "127.0.0.1"
port = 50051
admin_port = 8080          # optional
[[paths]]                  # directories or files to serve
path = "/data/run42"
schema = "public"
[[tables]]                 # per-table options
name = "sample1"
path = "/data/run42/sample1.cram"
reference = "/data/ref/GRCh38.fa"
zero_based = false
[[vep_caches]]
name = "vep"
path = "/data/vep/homo_sapiens/114_GRCh38"
[auth]
token_ttl_s = 3600
[[auth.users]]
name = "alice"
password_hash = "$argon2id$..."   # from `genoflight hash-password`
[tls]
cert = "server.pem"
key = "server.key"
client_ca = "ca.pem"       # optional: mTLS
[limits]
memory_bytes = 4_000_000_000
query_timeout_s = 300
max_concurrent_queries = 16
max_result_rows = 50_000_000
"""


def write(tmp_path: Path, text: str, name: str = "genoflight.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def config_error(tmp_path: Path, text: str) -> str:
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert str(path) in message, f"the file is not named: {message}"
    return message


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ""))
    assert config.server == ServerConfig()
    assert config.limits == LimitsConfig()
    assert config.source == tmp_path / "genoflight.toml"
    assert config.to_native() == {
        "server": {
            "host": "127.0.0.1",
            "port": 50051,
            "admin_port": None,
            "pass_view_types": False,
            "allow_remote_without_auth": False,
            "shutdown_grace_s": 30,
        },
        "paths": [],
        "tables": [],
        "vep_caches": [],
        "auth": {"token_ttl_s": 3600, "users": []},
        "tls": None,
        "limits": {
            "memory_bytes": None,
            "query_timeout_s": None,
            "max_concurrent_queries": None,
            "max_result_rows": None,
            "max_result_bytes": None,
        },
    }


def test_design_example_parses_into_the_native_json(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, DESIGN_EXAMPLE))
    native = json.loads(config.to_native_json())
    assert native["server"] == {
        "host": "127.0.0.1",
        "port": 50051,
        "admin_port": 8080,
        "pass_view_types": False,
        "allow_remote_without_auth": False,
        "shutdown_grace_s": 30,
    }
    assert native["paths"] == [{"path": "/data/run42", "schema": "public"}]
    assert native["tables"] == [
        {
            "name": "sample1",
            "path": "/data/run42/sample1.cram",
            "schema": "public",
            "reference": "/data/ref/GRCh38.fa",
            "zero_based": False,
            "attributes": [],
            "tags": [],
        }
    ]
    assert native["vep_caches"] == [{"name": "vep", "path": "/data/vep/homo_sapiens/114_GRCh38"}]
    assert native["auth"] == {
        "token_ttl_s": 3600,
        "users": [{"name": "alice", "password_hash": "$argon2id$..."}],
    }
    # Relative TLS paths resolve against the config file's directory.
    assert native["tls"] == {
        "cert": str(tmp_path / "server.pem"),
        "key": str(tmp_path / "server.key"),
        "client_ca": str(tmp_path / "ca.pem"),
    }
    assert native["limits"] == {
        "memory_bytes": 4_000_000_000,
        "query_timeout_s": 300,
        "max_concurrent_queries": 16,
        "max_result_rows": 50_000_000,
        "max_result_bytes": None,
    }


def test_relative_paths_resolve_against_the_config_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    conf_dir = tmp_path / "conf"
    conf_dir.mkdir()
    monkeypatch.chdir(tmp_path)  # somewhere else than the config's directory
    text = """
[[paths]]
path = "data"
[[paths]]
path = "../shared/vcf"
schema = "shared"
[[tables]]
name = "t"
path = "./x/t.vcf.gz"
reference = "ref/genome.fa"
zero_based = true
"""
    config = load_config(write(conf_dir, text))
    assert [p.path for p in config.paths] == [conf_dir / "data", tmp_path / "shared" / "vcf"]
    assert [p.schema for p in config.paths] == ["public", "shared"]
    table = config.tables[0]
    assert table.path == conf_dir / "x" / "t.vcf.gz"
    assert table.reference == conf_dir / "ref" / "genome.fa"
    assert table.zero_based is True
    assert all(Path(p["path"]).is_absolute() for p in config.to_native()["paths"])


def test_home_directory_is_expanded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    config = load_config(write(tmp_path, '[[paths]]\npath = "~/data"\n'))
    assert config.paths[0].path == tmp_path / "home" / "data"


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("[serverr]\nport = 1\n", "serverr"),
        ("[server]\nprot = 1\n", "server.prot"),
        ("[limits]\nquery_timeout = 3\n", "limits.query_timeout"),
        ('[[paths]]\npath = "a"\nschem = "x"\n', "paths[0].schem"),
        (
            '[[tables]]\nname = "a"\npath = "a"\n[[tables]]\nname = "b"\npath = "b"\nzero = 1\n',
            "tables[1].zero",
        ),
        ('[[auth.users]]\nname = "a"\npassword = "x"\n', "auth.users[0].password"),
        ('[tls]\ncert = "a"\nkey = "b"\nca = "c"\n', "tls.ca"),
        ("top_level = 1\n", "top_level"),
    ],
)
def test_unknown_key_is_named(tmp_path: Path, text: str, key: str) -> None:
    message = config_error(tmp_path, text)
    assert f"`{key}`" in message
    assert "unknown key" in message


def test_unknown_key_suggests_the_close_one(tmp_path: Path) -> None:
    message = config_error(tmp_path, "[limits]\nquery_timeout = 3\n")
    assert "query_timeout_s" in message


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[limits]\nquery_timeout_s = "300"\n', "limits.query_timeout_s"),
        ("[limits]\nmemory_bytes = 1.5\n", "limits.memory_bytes"),
        ("[limits]\nquery_timeout_s = 0\n", "limits.query_timeout_s"),
        ("[limits]\nquery_timeout_s = nan\n", "limits.query_timeout_s"),
        ("[limits]\nmax_result_rows = true\n", "limits.max_result_rows"),
        ("[limits]\nmax_concurrent_queries = 0\n", "limits.max_concurrent_queries"),
        ('[server]\nport = "50051"\n', "server.port"),
        ("[server]\nport = true\n", "server.port"),
        ("[server]\nport = 70000\n", "server.port"),
        ("[server]\nadmin_port = 0\n", "server.admin_port"),
        ("[server]\nhost = 127\n", "server.host"),
        ('[server]\npass_view_types = "yes"\n', "server.pass_view_types"),
        ('[[tables]]\nname = "a"\npath = "a"\nzero_based = 1\n', "tables[0].zero_based"),
        ('[[tables]]\nname = "a"\npath = 3\n', "tables[0].path"),
        ('[[paths]]\npath = "a"\nschema = "bad name"\n', "paths[0].schema"),
        ('[[paths]]\npath = ""\n', "paths[0].path"),
        ("[auth]\ntoken_ttl_s = -1\n", "auth.token_ttl_s"),
        ('[paths]\npath = "a"\n', "paths"),
        ('paths = "a"\n', "paths"),
        ('server = "x"\n', "server"),
    ],
)
def test_wrong_type_or_value_is_named(tmp_path: Path, text: str, key: str) -> None:
    assert f"`{key}`" in config_error(tmp_path, text)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ('[[tables]]\nname = "a"\n', "tables[0].path"),
        ('[[tables]]\npath = "a"\n', "tables[0].name"),
        ("[[paths]]\nschema = 'x'\n", "paths[0].path"),
        ('[[vep_caches]]\nname = "v"\n', "vep_caches[0].path"),
        ('[tls]\ncert = "a"\n', "tls.key"),
        ('[[auth.users]]\nname = "a"\n', "auth.users[0].password_hash"),
    ],
)
def test_missing_required_key_is_named(tmp_path: Path, text: str, key: str) -> None:
    message = config_error(tmp_path, text)
    assert f"`{key}`" in message and "missing" in message


def test_duplicate_table_is_an_error(tmp_path: Path) -> None:
    text = '[[tables]]\nname = "a"\npath = "x"\n[[tables]]\nname = "a"\npath = "y"\n'
    assert "`tables[1].name`" in config_error(tmp_path, text)


def test_same_table_name_in_two_schemas_is_fine(tmp_path: Path) -> None:
    text = '[[tables]]\nname = "a"\npath = "x"\n[[tables]]\nname = "a"\npath = "y"\nschema = "s"\n'
    assert len(load_config(write(tmp_path, text)).tables) == 2


def test_invalid_toml_names_the_file_and_position(tmp_path: Path) -> None:
    message = config_error(tmp_path, "[server\nport = 1\n")
    assert "invalid TOML" in message and "line 1" in message


def test_missing_config_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml")


def test_config_file_is_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="directory"):
        load_config(tmp_path)


def test_cli_overrides_win(tmp_path: Path) -> None:
    config = load_config(
        write(tmp_path, '[server]\nhost = "0.0.0.0"\nport = 1234\n[[paths]]\npath = "a"\n')
    )
    merged = config.with_overrides(
        paths=["b", tmp_path / "a"], host="127.0.0.1", port=0, admin_port=9000, cwd=tmp_path / "w"
    )
    assert merged.server == ServerConfig(host="127.0.0.1", port=0, admin_port=9000)
    # Config paths first; CLI paths resolve against cwd; exact duplicates are dropped.
    assert [p.path for p in merged.paths] == [tmp_path / "a", tmp_path / "w" / "b"]
    untouched = config.with_overrides()
    assert untouched.server == ServerConfig(host="0.0.0.0", port=1234)


@pytest.mark.parametrize(
    ("kwargs", "flag"),
    [({"port": 70000}, "--port"), ({"admin_port": 0}, "--admin-port"), ({"host": " "}, "--host")],
)
def test_bad_cli_override(kwargs: dict, flag: str) -> None:
    with pytest.raises(ConfigError, match=flag):
        Config().with_overrides(**kwargs)


def test_check_paths_names_the_missing_one(tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    path = write(tmp_path, '[[paths]]\npath = "here"\n[[tables]]\nname = "t"\npath = "gone.vcf"\n')
    config = load_config(path)
    with pytest.raises(ConfigError) as err:
        config.check_paths()
    assert "tables[0].path" in str(err.value) and str(path) in str(err.value)
    assert "gone.vcf" in str(err.value)


def test_check_paths_accepts_existing(tmp_path: Path) -> None:
    (tmp_path / "here").mkdir()
    load_config(write(tmp_path, '[[paths]]\npath = "here"\n')).check_paths()


def test_parse_config_without_a_file_uses_cwd(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    config = parse_config({"paths": [{"path": "x"}]})
    assert config.paths[0].path == tmp_path / "x"
    with pytest.raises(ConfigError, match=r"`server\.port`") as err:
        parse_config({"server": {"port": "x"}})
    assert " in " not in str(err.value).split(":")[0]  # no file to name


def test_pass_view_types(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[server]\npass_view_types = true\n"))
    assert config.to_native()["server"]["pass_view_types"] is True


def test_query_timeout_may_be_fractional(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, "[limits]\nquery_timeout_s = 2.5\n"))
    assert config.to_native()["limits"]["query_timeout_s"] == 2.5


def test_gff_attributes_must_be_a_list_of_distinct_names(tmp_path: Path) -> None:
    base = '[[tables]]\nname = "genes"\npath = "/data/genes.gtf"\n'
    good = load_config(write(tmp_path, base + 'attributes = ["gene_id", "gene_name"]\n'))
    assert json.loads(good.to_native_json())["tables"][0]["attributes"] == ["gene_id", "gene_name"]
    for value, message in (
        ('"gene_id"', "expected a list of names"),
        ('["gene_id", "gene_id"]', "gene_id listed more than once"),
        ('["gene_id", 3]', "expected a string"),
    ):
        with pytest.raises(ConfigError, match=message):
            load_config(write(tmp_path, base + f"attributes = {value}\n"))
