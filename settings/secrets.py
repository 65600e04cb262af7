"""Settings whose values live in Prefect Secret blocks rather than in the environment.

`DONDOC_SECRET_BLOCKS='{"smtp.password": "dondoc-smtp-password"}'` makes every dondoc process
(worker, CLI, portal) read `smtp.password` from the Secret block `dondoc-smtp-password` of the
Prefect server it talks to. The environment then holds no password, only block names.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel

from settings import Settings


class SecretBlockError(RuntimeError):
    """A secret block is misnamed or cannot be read; the message never holds a secret."""


def _check_path(path: str) -> list[str]:
    """ "smtp.password" -> ["smtp", "password"], after checking it names one setting."""
    parts = path.split(".")
    model: type[BaseModel] = Settings
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if part not in model.model_fields:
            raise SecretBlockError(f"DONDOC_SECRET_BLOCKS names {path!r}, which is not a setting")
        annotation = model.model_fields[part].annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            if last:
                raise SecretBlockError(
                    f"DONDOC_SECRET_BLOCKS names {path!r}, a group, not one setting"
                )
            model = annotation
        elif part == "webhooks" and i == len(parts) - 2:
            return parts  # webhooks.<name>: the URL of one named webhook
        elif not last:
            raise SecretBlockError(f"DONDOC_SECRET_BLOCKS names {path!r}, which is not a setting")
    return parts


def secret_overrides(blocks: Mapping[str, str], load: Callable[[str], str]) -> dict[str, Any]:
    """The nested values to give Settings: {"smtp": {"password": <the block's value>}}."""
    overrides: dict[str, Any] = {}
    for path, block in blocks.items():
        parts = _check_path(path)
        try:
            value = load(block)
        except Exception as exc:  # no server, no such block: say which, never what
            raise SecretBlockError(
                f"cannot read the Prefect Secret block {block!r} for {path}: {type(exc).__name__}"
            ) from None
        node = overrides
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return overrides


def load_secret_block(name: str) -> str:
    """The value of a Prefect Secret block (from the configured Prefect API)."""
    from prefect.blocks.system import Secret

    return str(Secret.load(name).get())  # type: ignore[union-attr]


def from_secret_blocks(
    settings: Settings, load: Callable[[str], str] = load_secret_block
) -> Settings:
    """The settings again, with the values of `settings.secret_blocks` taken from the blocks
    (nested values merge with the environment's: the SMTP host stays, the password is added)."""
    return Settings(**secret_overrides(settings.secret_blocks, load))
