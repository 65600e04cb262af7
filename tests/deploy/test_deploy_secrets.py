"""Secrets from Prefect Secret blocks: DONDOC_SECRET_BLOCKS names them, the settings read them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from settings import get_settings
from settings.secrets import SecretBlockError, secret_overrides

pytestmark = pytest.mark.slow  # the Prefect test harness: a Prefect server process


@pytest.fixture
def fresh_settings() -> Iterator[None]:
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_settings_read_secret_blocks(
    prefect_api: None, monkeypatch: pytest.MonkeyPatch, fresh_settings: None
) -> None:
    from prefect.blocks.system import Secret

    Secret(value="mật-khẩu-smtp").save("dondoc-smtp-password", overwrite=True)
    Secret(value="json://127.0.0.1:9/hook?token=abc").save("dondoc-webhook-so", overwrite=True)
    monkeypatch.setenv("DONDOC_SMTP__HOST", "mail.example.gov.vn")
    monkeypatch.setenv(
        "DONDOC_SECRET_BLOCKS",
        '{"smtp.password": "dondoc-smtp-password", "webhooks.so": "dondoc-webhook-so"}',
    )
    settings = get_settings()
    assert settings.smtp.password is not None
    assert settings.smtp.password.get_secret_value() == "mật-khẩu-smtp"
    assert settings.smtp.host == "mail.example.gov.vn"  # the environment's values stay
    assert settings.webhooks["so"].get_secret_value() == "json://127.0.0.1:9/hook?token=abc"
    assert "mật-khẩu-smtp" not in repr(settings) and "token=abc" not in repr(settings)

    monkeypatch.setenv("DONDOC_SECRET_BLOCKS", '{"smtp.password": "no-such-block"}')
    get_settings.cache_clear()
    with pytest.raises(SecretBlockError, match=r"'no-such-block' for smtp\.password"):
        get_settings()


@pytest.mark.parametrize(
    ("path", "problem"),
    [
        ("smtp.pasword", "not a setting"),
        ("smtp", "a group, not one setting"),
        ("database_url.x", "not a setting"),
    ],
)
def test_misnamed_settings_are_refused(path: str, problem: str) -> None:
    with pytest.raises(SecretBlockError, match=problem):
        secret_overrides({path: "block"}, lambda _: "value")


def test_a_failing_block_never_shows_its_value() -> None:
    def load(name: str) -> str:
        raise RuntimeError("secret-value-leaked")

    with pytest.raises(SecretBlockError) as caught:
        secret_overrides({"zalo.secret_key": "dondoc-zalo"}, load)
    assert "secret-value-leaked" not in str(caught.value)
    assert "'dondoc-zalo' for zalo.secret_key" in str(caught.value)
