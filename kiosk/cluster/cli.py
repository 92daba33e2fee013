"""``kiosk balancer``: the nginx config routing a witness to its node (kiosk.cluster.routing)."""

from __future__ import annotations

import click

from kiosk.cluster.routing import BalancedNode, balancer_config, site_config


@click.command()
@click.option("--node", "specs", multiple=True, required=True, metavar="NODE_ID=HOST:PORT",
              help="a node (its node_id setting and the address it listens on); repeat")
@click.option("--listen", default="127.0.0.1:8080", show_default=True,
              help="nginx's listen address (put TLS in front, or edit the listen line)")
@click.option("--prefix", metavar="DIR",
              help="a whole nginx.conf for `nginx -p DIR` (pid, logs, temp files in DIR); "
                   "without it, the lines to include in an existing http block")
def balancer(specs, listen, prefix) -> None:
    """Print the nginx config that sends /n/<node>/ to each node and the rest to any node.

    Regenerate it and reload nginx (`nginx -s reload`) whenever a node is added or moved;
    docs/operations.md, *Routing a witness to its node*."""
    try:
        nodes = [BalancedNode.parse(s) for s in specs]
        text = (balancer_config(nodes, listen, prefix) if prefix
                else site_config(nodes, listen))
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--node") from None
    click.echo(text, nl=False)
