"""Flow: collect the report files dropped in the inbox folder; none is ever lost."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from prefect import flow, get_run_logger

from flows.alerting import alert_admin, note_completed
from flows.form import shown
from intake import inbox as box
from settings import Settings
from tasks.intake import claim_inbox_files, collect_orphan_attachments, process_inbox_files
from tasks.startup import checked_settings

BATCH = 200

InboxParameter = Annotated[
    str | None,
    shown(
        "Thư mục hộp thư",
        "Thư mục chứa các tệp báo cáo cần nhận; đường dẫn tương đối tính từ thư mục "
        "DONDOC_HOME. Để trống: DONDOC_INBOX_DIR, hoặc <DONDOC_DATA_DIR>/inbox.",
    ),
]
BatchParameter = Annotated[
    int, shown("Số tệp mỗi lượt", "Số tệp được lưu trong một bước chạy.", ge=1)
]


def inbox_folder(settings: Settings, inbox: str | None = None) -> Path:
    """The folder to read: the argument (relative: in DONDOC_HOME), else settings.inbox_dir,
    else data_dir/inbox."""
    if inbox:
        return settings.path(inbox)
    return settings.inbox_dir or settings.data_dir / "inbox"


@flow(
    name="collect-submissions",
    on_failure=[alert_admin],
    on_crashed=[alert_admin],
    on_completion=[note_completed],
)
def collect_submissions(
    inbox: InboxParameter = None, batch_size: BatchParameter = BATCH
) -> dict[str, Any]:
    """Claim the inbox's files, store each as a submission, move it to processed/ or rejected/.

    Unit, obligation and period come from the file name (unit__obligation__period.xlsx) or
    the template's header. A rejected file gets a Vietnamese error report beside it. Each run
    first tidies the attachments folder (files a killed submission left, see intake.blobs).
    """
    folder = inbox_folder(checked_settings(), inbox)
    logger = get_run_logger()
    outcomes: list[dict[str, Any]] = []
    with box.exclusive(folder) as mine:
        if not mine:
            logger.info("inbox %s: another run is collecting it; nothing to do", folder)
            return {"inbox": str(folder), "processed": 0, "rejected": 0, "files": [], "busy": True}
        # Tidying is not the inbox's work: its failure is logged, the files are still taken.
        tidying = collect_orphan_attachments(datetime.now(UTC), return_state=True)
        tidied = tidying.result() if tidying.is_completed() else {"published": 0, "removed": 0}
        if not tidying.is_completed():
            logger.warning("attachments not tidied: %s", tidying.message)
        claimed = claim_inbox_files(str(folder))
        for start in range(0, len(claimed), batch_size):
            now = datetime.now(UTC)  # the receipt time of this batch's files
            batch = claimed[start : start + batch_size]
            outcomes += process_inbox_files(batch, str(folder), now)
    counts = {k: sum(o["outcome"] == k for o in outcomes) for k in ("processed", "rejected")}
    logger.info(
        "inbox %s: %d processed, %d rejected; attachments: %d published late, %d orphans removed",
        folder,
        counts["processed"],
        counts["rejected"],
        tidied["published"],
        tidied["removed"],
    )
    return {"inbox": str(folder), **counts, "files": outcomes, "busy": False}
