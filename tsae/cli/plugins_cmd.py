"""``tsae plugins`` and ``tsae models``: what is installed, what it registers, and each family's parameters."""
from __future__ import annotations

import json
from typing import Any

import click


def _plugin_rows() -> list[dict]:
    from tsae import plugins

    rows = []
    for info in plugins.plugin_infos():
        rows.append({
            "name": info.name, "version": info.version, "distribution": info.distribution,
            "module": info.module, "hooks": list(info.hooks), "models": list(info.models),
            "sources": list(info.sources), "sinks": list(info.sinks), "pipelines": list(info.pipelines),
            "error": info.error,
        })
    return rows


@click.command("plugins")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def plugins_command(as_json: bool) -> None:
    """List installed plugins: version, hooks, what each registers, and any that failed to load."""
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
        if r["error"] and not r["hooks"]:
            click.echo(f"{head}  BROKEN ({source}): {r['error']}")
            continue
        what = []
        named = [kind for kind in ("models", "sources", "sinks", "pipelines") if r[kind]]
        what += [f"{kind}: " + ", ".join(r[kind]) for kind in named]
        other = [h for h in r["hooks"] if h not in {f"register_{kind}" for kind in named}]
        if other:
            what.append("hooks: " + ", ".join(other))
        line = f"{head}  {source}  " + ("; ".join(what) or "registers nothing")
        if r["error"]:
            line += f"  ERROR: {r['error']}"
        click.echo(line)
    broken = [r["name"] for r in rows if r["error"]]
    if broken:
        click.echo(f"{len(broken)} plugin(s) with errors: {', '.join(broken)} (the others work)", err=True)


def _family_rows(name: str | None) -> list[dict]:
    from tsae import plugins

    families = plugins.model_families()
    if name is not None and name not in families:
        known = ", ".join(sorted(families)) or "none"
        raise click.ClickException(f"unknown model family {name!r} (installed: {known})")
    rows = []
    for family_name in sorted(families):
        if name is not None and family_name != name:
            continue
        family: Any = families[family_name]
        info = plugins.model_plugin_info(family_name)
        rows.append({
            "name": family_name,
            "description": getattr(family, "description", "") or (family.__doc__ or "").strip().split("\n")[0],
            "plugin": info.name if info else None,
            "version": info.version if info else None,
            "params": {k: {"default": p.default, "type": type(p.default).__name__, "help": p.help}
                       for k, p in family.describe_params().items()},
        })
    return rows


@click.command("models")
@click.argument("name", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")
def models_command(name: str | None, as_json: bool) -> None:
    """List model families (or one, NAME) with their parameters, defaults and help.

    Set parameters with ``tsae train --family NAME --param key=value``.
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
        click.echo(f"{row['name']}: {row['description']} [{origin}]")
        pwidth = max((len(k) for k in row["params"]), default=0)
        dwidth = max((len(repr(p["default"])) for p in row["params"].values()), default=0)
        for key, p in row["params"].items():
            click.echo(f"  {key:<{pwidth}} = {p['default']!r:<{dwidth}}  {p['help']}")
