"""A setting that cannot be read stops every command with a Vietnamese line, not a traceback."""

from __future__ import annotations

import pytest

from cli.main import main
from settings import get_settings


@pytest.mark.parametrize(
    ("variable", "value", "said"),
    [
        ("DONDOC_HOME", "var", "DONDOC_HOME phải là đường dẫn tuyệt đối"),
        ("DONDOC_ESCALATION__CHASE_WORKING_DAYS", "abc", "DONDOC_ESCALATION__CHASE_WORKING_DAYS:"),
    ],
)
def test_a_setting_that_cannot_be_read_is_named_in_vietnamese(
    variable: str,
    value: str,
    said: str,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv(variable, value)
    monkeypatch.setattr("sys.argv", ["dondoc", "dues"])
    get_settings.cache_clear()
    try:
        with pytest.raises(SystemExit) as stopped:
            main()
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert stopped.value.code == 2
    assert "Lỗi: cấu hình chưa đúng" in err and said in err
    assert "Traceback" not in err and "Value error" not in err and "Input should" not in err
