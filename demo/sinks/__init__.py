"""Local servers standing in for the outside world, on 127.0.0.1: one set for the demo, the
benchmarks and the tests.

An SMTP server (aiosmtpd) and one HTTP server speaking the Zalo OA, Zalo OA OAuth, Zalo Bot and
webhook contracts, both recording what they receive. The demo keeps the mail in an mbox file and
the webhooks in a JSON-lines log as well (`mail_sink`, `webhook_sink`).
"""

from demo.sinks.mail import HOST, Mail, SmtpServer, mail_sink, read_mailbox
from demo.sinks.zalo import (
    Request,
    ZaloHandler,
    ZaloServer,
    ZaloState,
    read_webhook_log,
    webhook_sink,
)
from deploy.server import free_port

__all__ = [
    "HOST",
    "Mail",
    "Request",
    "SmtpServer",
    "ZaloHandler",
    "ZaloServer",
    "ZaloState",
    "free_port",
    "mail_sink",
    "read_mailbox",
    "read_webhook_log",
    "webhook_sink",
]
