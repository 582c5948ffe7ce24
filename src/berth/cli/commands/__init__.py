"""One module per command: ``COMMAND`` (its spec) and ``run(cli, opts, args)``."""
