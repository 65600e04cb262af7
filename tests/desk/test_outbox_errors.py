"""The outbox's stored delivery errors, each told to the office as a plain Vietnamese sentence."""

from __future__ import annotations

import pytest

from notifications.delivering import gave_up_note
from notifications.outbox_desk import explain

SMTP_DOWN = "Không kết nối được máy chủ thư (SMTP) 10.0.0.5:25: ConnectionRefusedError"


@pytest.mark.parametrize(
    ("stored", "told"),
    [
        (SMTP_DOWN, "Không kết nối được máy chủ thư điện tử"),
        ("Chưa cấu hình máy chủ thư (DONDOC_SMTP__HOST)", "Chưa khai báo máy chủ thư điện tử"),
        ("Máy chủ thư (SMTP) không nhận thư gửi tới a@b.vn", "kiểm tra lại địa chỉ thư"),
        ("Địa chỉ thư không hợp lệ: a@", "Địa chỉ thư điện tử của người nhận không hợp lệ"),
        ("Zalo OA: người nhận chưa quan tâm OA — x (mã lỗi -213)", "chưa quan tâm Zalo OA"),
        ("Zalo OA: access token không dùng được — x (mã lỗi -216)", "Tài khoản Zalo"),
        ("Zalo Bot: token của bot bị từ chối — Unauthorized", "Tài khoản Zalo"),
        ("Zalo OA: vượt giới hạn gửi — x (mã lỗi -32)", "tạm giới hạn số tin"),
        ("Không kết nối được Zalo OA: ConnectTimeout", "Không liên lạc được với máy chủ Zalo"),
        ("Webhook 'so' không còn trong cấu hình", "đã bị bỏ khỏi cấu hình"),
        ("Lỗi không lường trước: KeyError", "báo bộ phận kỹ thuật"),
        ("Gửi thay qua Thư điện tử (thông báo 1a2b3c4d)", "đã gửi thay qua kênh khác"),
        (f"Chưa thử gửi: {SMTP_DOWN}", "Chưa gửi thử lần nào: Không kết nối được máy chủ thư"),
        (
            gave_up_note(3, SMTP_DOWN),
            "Đã ngừng gửi vì quá 3 ngày làm việc vẫn chưa gửi được. Không kết nối được máy chủ",
        ),
        (gave_up_note(3, None), "Đã ngừng gửi vì quá 3 ngày làm việc vẫn chưa gửi được."),
    ],
)
def test_each_error_is_explained(stored: str, told: str) -> None:
    explained = explain(stored)
    assert told in explained
    assert "ConnectionRefusedError" not in explained and "mã lỗi" not in explained
    assert explained.endswith(".")


def test_an_error_no_rule_knows_is_shown_as_it_is() -> None:
    assert explain("Đã nộp báo cáo: không cần nhắc nữa") == "Đã nộp báo cáo: không cần nhắc nữa."
