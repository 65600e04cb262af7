"""The `dondoc` command: one Typer app, each area's commands in its own module."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.markup import escape

from cli import calendar, demo, deploy, escalation, intake, plan, report, serve, status
from cli.common import err_console
from cli.vietnamese import speak_vietnamese
from wording.validation import pydantic_reason

app = typer.Typer(
    name="dondoc",
    help="dondoc: đôn đốc hạn báo cáo và nhiệm vụ được giao theo kế hoạch của chính quyền "
    "địa phương.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(plan.init)
app.command()(plan.dues)
app.add_typer(calendar.calendar_app, name="calendar")
app.add_typer(plan.plan_app, name="plan")
app.command()(status.status)
app.command()(status.extend)
app.command()(status.exempt)
app.command()(escalation.remind)
app.command()(escalation.outbox)
app.command()(serve.serve)
app.command()(deploy.deploy)
app.command()(demo.demo)
app.command("compile")(report.compile_report)
app.add_typer(intake.token_app, name="token")
app.command()(intake.template)
app.command("submit")(intake.submit_file)
app.command()(intake.portal)
app.add_typer(intake.request_app, name="request")
app.add_typer(intake.period_app, name="period")
app.command()(intake.inbox)
# Last: every command registered above, and any added later, speaks Vietnamese.
speak_vietnamese(app)


def main() -> None:
    try:
        app()
    except ValidationError as exc:
        if exc.title != "Settings":
            raise
        # A DONDOC_* setting that cannot be read: named, in Vietnamese, without a traceback.
        err_console.print(f"[bold red]Lỗi:[/] {escape(settings_problems(exc))}", soft_wrap=True)
        raise SystemExit(2) from None


def settings_problems(exc: ValidationError) -> str:
    """Each unreadable setting by its environment variable, and why."""
    said = []
    for error in exc.errors(include_url=False):
        loc = "__".join(str(part) for part in error["loc"]).upper()
        reason = pydantic_reason(error)
        said.append(f"DONDOC_{loc}: {reason}" if loc else reason)
    return "cấu hình chưa đúng: " + "; ".join(said)
