"""Finding and registering plugins: the built-in ones, entry points, and objects passed in."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import pluggy

from . import builtin, hookspecs
from .errors import ConfigError

if TYPE_CHECKING:
    from .stores.base import Store

__all__ = ["DISABLE_AUTOLOAD_ENV", "ENTRY_POINT_GROUP", "make_plugin_manager", "open_store"]

log = logging.getLogger("escalate.plugins")

#: The entry-point group outside plugins publish themselves under.
ENTRY_POINT_GROUP = "escalate"
#: Set this environment variable to a non-empty value to skip entry-point plugins.
DISABLE_AUTOLOAD_ENV = "ESCALATE_DISABLE_PLUGIN_AUTOLOAD"


class _EscalatePluginManager(pluggy.PluginManager):
    """Treats every `escalate_*` function as a hook implementation, so a typo is caught."""

    def parse_hookimpl_opts(self, plugin: Any, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("escalate_") and callable(getattr(plugin, name, None)):
            return {}
        return opts


def make_plugin_manager(plugins: Iterable[object] = (), *,
                        autoload: bool | None = None) -> pluggy.PluginManager:
    """A plugin manager with the built-in plugin, entry-point plugins and `plugins`.

    `autoload` None follows the ESCALATE_DISABLE_PLUGIN_AUTOLOAD environment variable.
    A plugin that implements a hook escalate does not define raises ConfigError.
    """
    manager = _EscalatePluginManager("escalate")
    manager.add_hookspecs(hookspecs)
    manager.register(builtin, name="escalate.builtin")
    if autoload is None:
        autoload = not os.environ.get(DISABLE_AUTOLOAD_ENV)
    if autoload:
        _load_entry_points(manager)
    for plugin in plugins:
        manager.register(plugin)
    try:
        manager.check_pending()
    except pluggy.PluginValidationError as exc:
        raise ConfigError("plugins", f"{exc}; check the spelling against the hook reference "
                                     "in docs/hooks.md") from None
    return manager


def _load_entry_points(manager: pluggy.PluginManager) -> None:
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if manager.get_plugin(entry.name) is not None or manager.is_blocked(entry.name):
            continue
        try:
            plugin = entry.load()
        except Exception as exc:  # a broken plugin must not stop the others
            log.error("escalate plugin %r (%s) failed to load and was skipped: %s: %s",
                      entry.name, entry.value, type(exc).__name__, exc)
            continue
        manager.register(plugin, name=entry.name)


def open_store(manager: pluggy.PluginManager, url: str) -> Store:
    """The store serving `url`, asked of the plugins of `manager` (built-in ones last).

    Raises ConfigError for a malformed URL or one that no installed store serves.
    """
    if not isinstance(url, str) or ("://" not in url and not url.startswith("sqlite:")):
        raise ConfigError("store", f"{url!r} is not a store URL; use 'sqlite:///cases.db', "
                                   "'memory://' or a plugin's scheme such as 'postgresql://'")
    try:
        store = manager.hook.escalate_open_store(url=url)
    except ValueError as exc:
        raise ConfigError("store", str(exc)) from None
    if store is None:
        scheme = url.split(":", 1)[0]
        raise ConfigError("store", f"no installed store serves {scheme!r} URLs; built in are "
                                   "memory:// and sqlite:///, install a plugin such as "
                                   "escalate-postgres for postgresql://")
    return store  # type: ignore[no-any-return]
