"""``tsae plugins`` and ``tsae models``: what is installed, what it registers, and each family's parameters."""
from __future__ import annotations

import functools
import json
from typing import Any

import click

from tsae.cli.common import quiet_option


def _plugin_rows() -> list[dict]:
    from tsae import plugins

    root = click.get_current_context().find_root().command
    if hasattr(root, "load_plugin_commands"):  # so the commands each plugin adds are listed too
        root.load_plugin_commands()
    rows = []
    for info in plugins.plugin_infos():
        rows.append({
            "name": info.name, "version": info.version, "distribution": info.distribution,
            "module": info.module, "hooks": list(info.hooks),
            **{kind: list(getattr(info, kind)) for kind in plugins.KINDS},
            "disabled": info.disabled, "errors": info.errors, "error": info.error,
            "load_seconds": None if info.load_seconds is None else round(info.load_seconds, 3),
        })
    return rows


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@quiet_option
def plugins_command(as_json: bool, quiet: bool) -> None:
    """List installed plugins: version, what each registers per hook, and every failure.

    Disable a plugin with TSAE_DISABLE_PLUGINS=name,...; `tsae --debug plugins` shows tracebacks.
    """
    from tsae.plugins import DISABLE_ENV, KINDS, SLOW_IMPORT_SECONDS

    rows = _plugin_rows()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no tsae plugins installed")
        return
    width = max(len(r["name"]) for r in rows)
    vwidth = max(len(r["version"] or "-") for r in rows)
    for r in rows:
        head = f"{r['name']:<{width}}  {r['version'] or '-':<{vwidth}}"
        source = r["distribution"] or r["module"]
        if r["disabled"]:
            click.echo(f"{head}  {source}  disabled ({DISABLE_ENV})")
            continue
        if r["errors"] and not r["hooks"]:
            click.echo(f"{head}  BROKEN ({source}): {r['error']}")
            continue
        named = [kind for kind in KINDS if r[kind]]
        what = [f"{kind}: " + ", ".join(r[kind]) for kind in named]
        other = [h for h in r["hooks"] if h not in {f"register_{kind}" for kind in named}]
        if other:
            what.append("hooks: " + ", ".join(other))
        line = f"{head}  {source}  " + ("; ".join(what) or "registers nothing")
        if (r["load_seconds"] or 0.0) > SLOW_IMPORT_SECONDS:
            line += f"  (slow import: {r['load_seconds']:.1f} s)"
        click.echo(line)
        for error in r["errors"]:
            click.echo(f"{'':<{width}}  ERROR: {error}")
    broken = [r["name"] for r in rows if r["errors"]]
    if broken and not quiet:
        click.echo(f"{len(broken)} plugin(s) with errors: {', '.join(broken)} (the others work; "
                   "`tsae --debug plugins` shows tracebacks)", err=True)


def _describe(family: Any) -> dict[str, Any]:
    return {
        "description": getattr(family, "description", "") or (family.__doc__ or "").strip().split("\n")[0],
        "params": {k: p.describe() for k, p in family.describe_params().items()},
    }


def _describe_by_name(name: str) -> dict[str, Any]:
    from tsae import plugins

    return _describe(plugins.get_model_family(name))


def _family_rows(name: str | None) -> list[dict]:
    from tsae import plugins
    from tsae.cli.family_cache import describe

    names = plugins.family_names()
    if name is not None and name not in names:
        plugins.get_model_family(name)  # raises: unknown, or registered but broken (and why)
    rows = []
    for family_name in names if name is None else [name]:
        family = plugins.registered_family(family_name)
        info = plugins.model_plugin_info(family_name)
        try:
            if isinstance(family, plugins.LazyFamily):  # described without importing it, when cached
                row = describe(family_name, family.target, functools.partial(_describe_by_name, family_name))
            else:
                row = _describe(family)
        except Exception as error:  # noqa: BLE001 - one broken family must not hide the others
            if name is not None:  # asked for by name: its error is the command's
                raise
            from tsae.errors import first_line

            row = {"description": "", "params": {}, "error": first_line(error)}
        rows.append({"name": family_name, "description": row["description"],
                     "plugin": info.name if info else None, "version": info.version if info else None,
                     "distribution": info.distribution if info else None,
                     "params": row["params"], **({"error": row["error"]} if "error" in row else {})})
    return rows


@click.command("models")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
@quiet_option
def models_command(name: str | None, as_json: bool, quiet: bool) -> None:
    """List model families (or one, NAME) with their parameters, defaults and help.

    Set parameters with `tsae train --family NAME --param key=value`.
    """
    rows = _family_rows(name)
    if as_json:
        click.echo(json.dumps(rows, indent=2, default=str))
        return
    if not rows:
        click.echo("no model families installed (see `tsae plugins`)")
        return
    for i, row in enumerate(rows):
        if i:
            click.echo("")
        origin = "registered at run time"
        if row["plugin"]:
            origin = f"plugin {row['plugin']} {row['version'] or ''}".rstrip()
            if row["distribution"] and row["distribution"] != row["plugin"]:  # the package to upgrade or remove
                origin += f", package {row['distribution']}"
        if "error" in row:
            click.echo(f"{row['name']}: BROKEN [{origin}]: {row['error']}")
            continue
        click.echo(f"{row['name']}: {row['description'] or '(no description)'} [{origin}]")
        lines = [(key, "(required)" if p.get("required") else repr(p["default"]), p["type"] + _bounds(p),
                  p["help"] + (f" (one of: {', '.join(str(c) for c in p['choices'])})" if "choices" in p else ""))
                 for key, p in row["params"].items()]
        widths = [max((len(line[i]) for line in lines), default=0) for i in range(3)]
        for key, default, kind, text in lines:
            click.echo(f"  {key:<{widths[0]}} = {default:<{widths[1]}}  {kind:<{widths[2]}}  {text}")


def _bounds(param: dict) -> str:
    """`` >= 1 <= 9`` for the parameter's bounds."""
    return "".join(f" {sign} {param[key]}" for key, sign in (("min", ">="), ("max", "<=")) if key in param)
