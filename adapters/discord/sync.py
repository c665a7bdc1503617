"""When to push the slash command definitions to Discord.

- With DISCORD_GUILD_ID: copy the commands to that server and sync there at every start.
  Server commands update instantly, which suits development and single-server bots.
- Without it: sync globally, but only when the definitions differ from what Discord
  already has. Discord caps command creations per day, so an unchanged bot must not
  re-register on every restart (and a fresh database must not make it think so either,
  hence the comparison with Discord's copy rather than a local marker).
"""

from __future__ import annotations

import logging
from typing import Any

import discord
from discord import app_commands

log = logging.getLogger(__name__)

_OPTION_FIELDS = {
    "type": None,
    "name": None,
    "description": None,
    "required": False,
    "choices": None,
    "min_value": None,
    "max_value": None,
    "min_length": None,
    "max_length": None,
    "autocomplete": False,
    "channel_types": None,
}
_COMMAND_FIELDS = {"type": 1, "name": None, "description": "", "default_member_permissions": None, "nsfw": False}


def _shape_option(option: dict[str, Any]) -> dict[str, Any]:
    shaped = {k: option.get(k, default) or default for k, default in _OPTION_FIELDS.items()}
    if shaped["choices"]:
        shaped["choices"] = [{"name": c["name"], "value": c["value"]} for c in shaped["choices"]]
    shaped["options"] = [_shape_option(o) for o in option.get("options") or []]
    return shaped


def shape(command: dict[str, Any]) -> dict[str, Any]:
    """The parts of a command definition we set, with Discord's defaults filled in."""
    shaped = {k: command.get(k, default) if command.get(k) is not None else default for k, default in _COMMAND_FIELDS.items()}
    if shaped["default_member_permissions"] is not None:
        shaped["default_member_permissions"] = str(shaped["default_member_permissions"])
    shaped["options"] = [_shape_option(o) for o in command.get("options") or []]
    return shaped


def same_commands(local: list[dict[str, Any]], remote: list[dict[str, Any]]) -> bool:
    by_name = lambda cmds: sorted((shape(c) for c in cmds), key=lambda c: (c["type"], c["name"]))  # noqa: E731
    return by_name(local) == by_name(remote)


async def sync_commands(tree: app_commands.CommandTree, *, guild_id: int | None) -> str:
    """Sync as described above. Returns what was done: "guild", "global" or "unchanged"."""
    client = tree.client
    if guild_id is not None:
        guild = discord.Object(id=guild_id)
        tree.copy_global_to(guild=guild)
        await tree.sync(guild=guild)
        log.info("slash commands synced to server %s", guild_id)
        return "guild"
    application_id = client.application_id
    local = [command.to_dict(tree) for command in tree.get_commands()]
    remote = await client.http.get_global_commands(application_id)
    if same_commands(local, remote):
        log.info("slash commands unchanged; not syncing")
        return "unchanged"
    await tree.sync()
    log.info("slash commands synced globally (they changed)")
    return "global"
