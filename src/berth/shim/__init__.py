"""berth-shim: one small process per container, detached from berthd.

It drives an OCI runtime binary through runc's command line (berth-runtime, runc, crun:
``<runtime> --root R create --bundle B --pid-file P [--console-socket S] ID``, ``start``,
``kill``, ``delete``), becomes a child subreaper so the container's init (reparented to it
when ``create`` exits) can be reaped with its status, holds the container's stdio (pipes;
with a terminal the pty master it receives over a console socket), writes the output to
the json-file log (:mod:`berth.logs`) and serves a control socket. Started with
``berth-shim`` (:mod:`berth.shim.main`): the command returns once the container is
created, printing the shim's pid; the shim itself runs in its own session and survives
its caller.

State dir (given on the command line, one per container)::

    shim.sock      control socket (exists while the shim lives)
    console.sock   console socket (terminal containers, during create only)
    init.pid       the init's pid, written by the runtime
    exit.json      {"id","pid","exit_code","signal","oom_killed","finished_at"}, written
                   atomically (temp, fsync, rename, fsync dir) as soon as init is reaped
    runtime.log    the runtime's --log (json); create's errors are reported from it
    shim.log       the shim's own stderr

A daemon reconnecting later (live restore) finds the socket alive, or exit.json.

Control protocol (one request per connection is typical, several allowed): the client
sends one JSON object per line; the shim answers one JSON object per line, ``{"ok":true,
…}`` or ``{"ok":false,"kind":K,"error":MSG}`` with K one of ``conflict``, ``invalid``,
``internal`` (the errdefs categories). Requests:

- ``{"op":"state"}`` → ``{"ok":true,"id","status":"created|running|stopped","pid",
  "tty","exit":null|{…exit.json…}}``
- ``{"op":"start"}`` → runtime start
- ``{"op":"kill","signal":N,"all":false}`` → runtime kill
- ``{"op":"resize","height":H,"width":W}`` → TIOCSWINSZ on the pty master
- ``{"op":"wait"}`` → answered when the init has exited and its output is drained, with
  the exit record
- ``{"op":"delete","force":false}`` → runtime delete; the shim exits after answering
- ``{"op":"attach","stdin":B}`` → ``{"ok":true,"tty":B}``, then the connection is a raw
  byte pipe: the shim sends live output (raw bytes for a terminal, multiplexed frames
  ``[stream,0,0,0,len BE32]`` otherwise, stream 1 stdout, 2 stderr); bytes from the client
  go to the process's stdin; the client's half-close closes that stdin when the shim was
  started with ``--stdin-once``; the shim closes the connection once the process has
  exited and its output is drained.
"""
