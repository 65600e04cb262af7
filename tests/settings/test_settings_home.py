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


def test_prefects_api_is_read_from_the_homes_env_file_and_given_to_prefects_client(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """PREFECT_API_URL and its login, in the home's .env only: a portal or CLI started in
    another directory talks to that API (the environment, when it names one, wins)."""
    from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL

    from settings.prefect import prefect_client

    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    (home / ".env").write_text(
        "PREFECT_API_URL=http://prefect.example:4200/api\nPREFECT_API_AUTH_STRING=admin:bi-mat\n",
        encoding="utf-8",
    )
    for key in ("PREFECT_API_URL", "PREFECT_API_AUTH_STRING"):
        clean_env.delenv(key, raising=False)
    clean_env.chdir(elsewhere)
    clean_env.setenv("DONDOC_HOME", str(home))

    settings = Settings()
    assert settings.prefect_api_url == "http://prefect.example:4200/api"
    assert "bi-mat" not in repr(settings)  # the login is a secret like every other
    with prefect_client(settings):
        assert PREFECT_API_URL.value() == "http://prefect.example:4200/api"
        assert PREFECT_API_AUTH_STRING.value() == "admin:bi-mat"

    clean_env.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert Settings().prefect_api_url == "http://127.0.0.1:4200/api"
