"""Settings are read the same way wherever a process starts: the .env file and every relative
path belong to dondoc's home (DONDOC_HOME), never to the current directory."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from settings import Settings


def write_env(folder: Path, **values: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [f"DONDOC_{k.upper()}={v}" for k, v in values.items()]
    (folder / ".env").write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_the_env_file_and_relative_paths_belong_to_the_home_not_the_current_directory(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "run-1234"
    write_env(
        home,
        database_url="sqlite:///db/dondoc.sqlite3",
        data_dir="du-lieu",
        inbox_dir="hop-thu",
        portal_url="https://baocao.example.gov.vn",
    )
    # What a worker's temporary folder might hold: it is not read.
    write_env(elsewhere, portal_url="https://wrong.example", data_dir="wrong")
    clean_env.chdir(elsewhere)
    clean_env.setenv("DONDOC_HOME", str(home))

    settings = Settings()

    assert settings.home == home
    assert settings.portal_url == "https://baocao.example.gov.vn"
    assert settings.data_dir == home / "du-lieu"
    assert settings.inbox_dir == home / "hop-thu"
    assert settings.database_url == f"sqlite:///{home}/db/dondoc.sqlite3"
    assert settings.path("bao-cao") == home / "bao-cao"
    assert settings.path("/srv/bao-cao") == Path("/srv/bao-cao")


def test_without_a_home_the_current_directory_is_the_home_as_in_a_checkout(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_env(tmp_path, admin_email="vanphong@example.gov.vn")
    clean_env.chdir(tmp_path)

    settings = Settings()

    assert settings.home == tmp_path
    assert settings.admin_email == "vanphong@example.gov.vn"
    assert settings.data_dir == tmp_path / "var"
    assert settings.database_url == f"sqlite:///{tmp_path}/dondoc.sqlite3"


def test_the_environment_wins_over_the_env_file_and_absolute_values_stay(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_env(tmp_path, data_dir="du-lieu", database_url="sqlite:///a.sqlite3")
    clean_env.setenv("DONDOC_HOME", str(tmp_path))
    clean_env.setenv("DONDOC_DATA_DIR", "/srv/dondoc")
    clean_env.setenv("DONDOC_DATABASE_URL", "postgresql+psycopg://dondoc:pw@db/dondoc")

    settings = Settings()

    assert settings.data_dir == Path("/srv/dondoc")
    assert settings.database_url == "postgresql+psycopg://dondoc:pw@db/dondoc"
    assert Settings(database_url="sqlite://").database_url == "sqlite://"
    assert (
        Settings(database_url="sqlite:////srv/x.sqlite3").database_url == "sqlite:////srv/x.sqlite3"
    )


def test_a_home_given_in_code_is_where_the_env_file_is_read(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    write_env(tmp_path / "home", data_dir="du-lieu")
    settings = Settings(home=tmp_path / "home")
    assert settings.data_dir == tmp_path / "home" / "du-lieu"


def test_the_home_is_never_taken_from_an_env_file(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # It says where the .env is: a home named inside one would leave runs elsewhere reading
    # another file than the one that named it.
    write_env(tmp_path, home="/srv/elsewhere", data_dir="du-lieu")
    clean_env.chdir(tmp_path)

    settings = Settings()

    assert settings.home == tmp_path
    assert settings.data_dir == tmp_path / "du-lieu"


def test_a_relative_home_is_refused_by_name(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("DONDOC_HOME", "var/lib/dondoc")
    with pytest.raises(ValidationError, match="DONDOC_HOME phải là đường dẫn tuyệt đối"):
        Settings()


def test_a_blank_home_means_the_current_directory(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.chdir(tmp_path)
    clean_env.setenv("DONDOC_HOME", "")
    assert Settings().home == tmp_path


def test_deploy_hands_an_implicit_home_to_the_runs_and_leaves_an_explicit_one_to_workers(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from types import SimpleNamespace

    from cli.deploy import pass_home_to_runs

    clean_env.chdir(tmp_path)
    implicit = [
        SimpleNamespace(job_variables={"env": {"TZ": "UTC"}}),
        SimpleNamespace(job_variables=None),
    ]
    pass_home_to_runs(implicit)
    assert [d.job_variables for d in implicit] == [
        {"env": {"TZ": "UTC", "DONDOC_HOME": str(tmp_path)}},
        {"env": {"DONDOC_HOME": str(tmp_path)}},
    ]

    clean_env.setenv("DONDOC_HOME", str(tmp_path))
    explicit = [SimpleNamespace(job_variables={})]
    pass_home_to_runs(explicit)
    assert explicit[0].job_variables == {}
