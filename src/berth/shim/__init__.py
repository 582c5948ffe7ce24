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
    create.err     the runtime's stderr during create (terminal containers)
    exit.json      {"id","pid","exit_code","signal","oom_killed","finished_at"}, written
                   atomically (temp, fsync, rename, fsync dir) as soon as init is reaped
    runtime.log    the runtime's --log (json); create's errors are reported from it
    shim.log       the shim's own stderr

A daemon reconnecting later (live restore) finds the socket alive, or exit.json.

Exec mode (``docker exec``): ``berth-shim --exec-id EID --process FILE --id ID --state-dir
DIR --runtime BIN --runtime-root R [--tty] [--stdin] [--stdin-once] [--linger S]`` starts
a second, short-lived shim per process exec'd in a running container. It runs ``<runtime>
--root R exec --process FILE --detach --pid-file DIR/exec.pid [--console-socket
DIR/console.sock] ID`` (runc's command line; FILE is an OCI ``process`` object whose
``terminal`` must agree with ``--tty``), and the command returns once the process has
started (the runtime has returned and the pid file is written). The shim is subreaper, so
the exec'd process is reparented to it and reaped with its status. Differences from the
container's shim:

- no json-file log (Docker logs no exec output): output goes to attached clients only, and
  what comes before the first attach is held for it (up to 1 MiB; more is dropped, never
  blocking the process), so a client attaching just after launch loses nothing;
- ``start`` is refused (the exec started at launch); ``kill`` signals the exec'd pid
  itself (``runtime kill`` would signal the init; ``all`` is ignored); ``delete`` ends
  the shim without a runtime delete (``force`` SIGKILLs a running exec first); linger
  ends it likewise;
- ``state`` and exit.json carry ``"exec_id"``; ``oom_killed`` is always false (the
  cgroup's count is the container's); ``id`` stays the container's id;
- when the runtime refuses (``exec: "nope": executable file not found in $PATH``,
  ``… permission denied``), the launch fails with ``berth-shim: MSG`` and a second line
  ``runtime: ITS-MESSAGE`` on stderr (:class:`berth.shim.client.OCIRuntimeError` keeps it
  as ``runtime_message``, from which the daemon tells Docker's 127 from 126).

In an exec's state dir ``exec.pid`` replaces ``init.pid`` and ``exec.err`` (the runtime's
stderr with a terminal) replaces ``create.err``.

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
