"""Channel name → channel class, imported lazily, and the channels a deployment runs built from settings.

Lazy imports keep a missing optional extra (``pip install open311-bot[telegram]``) from breaking the
channels that are installed: a channel's module is imported only when that channel is enabled.
Adding a channel means one new module and one line in ``CHANNELS``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from channels.base import Channel, MessageHandler


@dataclass(frozen=True, slots=True)
class ChannelEntry:
    # "package.module:ClassName", imported only when the channel is enabled.
    target: str
    # The attribute of the settings object that holds this channel's section.
    settings_section: str
    # The pip extra that installs the provider's library, for the error message when it is missing.
    extra: str | None = None


# One line per channel.
CHANNELS: dict[str, ChannelEntry] = {
    "local": ChannelEntry("channels.local:LocalChannel", "local"),
    "sms": ChannelEntry("channels.sms:SmsChannel", "twilio", extra="sms"),
    "telegram": ChannelEntry("channels.telegram:TelegramChannel", "telegram", extra="telegram"),
    "twitter": ChannelEntry("channels.twitter:TwitterChannel", "twitter", extra="twitter"),
}


class ChannelUnavailable(RuntimeError):
    """An enabled channel cannot be loaded (unknown name, or its provider library is not installed)."""


def channel_class(name: str) -> type[Channel]:
    entry = CHANNELS.get(name)
    if entry is None:
        raise ChannelUnavailable(f"unknown channel {name!r}; known channels: {', '.join(sorted(CHANNELS))}")
    module_name, _, class_name = entry.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        hint = f" (install it with: pip install 'open311-bot[{entry.extra}]')" if entry.extra else ""
        raise ChannelUnavailable(f"channel {name!r} cannot be loaded: {exc}{hint}") from exc
    cls: type[Channel] = getattr(module, class_name)
    return cls


def enabled_channel_names(settings: Any) -> list[str]:
    """The channels whose settings section says ``enabled = true``, in registry order."""
    names: list[str] = []
    for name, entry in CHANNELS.items():
        section = getattr(settings, entry.settings_section, None)
        if section is not None and getattr(section, "enabled", False):
            names.append(name)
    return names


def build_channels(settings: Any, handler: MessageHandler) -> dict[str, Channel]:
    """Builds every enabled channel from its settings section; ``settings`` is ``bot.config.Settings``.

    Typed as ``Any`` because channels never import ``bot``; only the attributes read here are used.
    """
    public_url: str = settings.server.public_url
    channels: dict[str, Channel] = {}
    for name in enabled_channel_names(settings):
        section = getattr(settings, CHANNELS[name].settings_section)
        channels[name] = channel_class(name).from_config(section, handler, public_url=public_url)
    return channels
