"""cli: ``berth``, docker's command line against berthd (ARCHITECTURE.md L9).

:mod:`~berth.cli.main` dispatches to one module per command in
:mod:`berth.cli.commands`; :mod:`~berth.cli.args` parses flags as docker does;
:mod:`~berth.cli.format` is ``--format`` for every command; :mod:`~berth.cli.tabwriter`
and :mod:`~berth.cli.human` lay output out. Only the standard library's light modules
are imported on the way to a command: start-up time is a feature.
"""
