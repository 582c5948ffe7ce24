"""berth's image builder: ``berth build`` and ``POST /build``, as Docker's classic builder.

The front end is pure and synchronous: :mod:`.dockerfile` turns the text into
instructions (directives, continuations, comments, heredocs, exec vs shell form),
:mod:`.expand` is Docker's variable substitution (``$VAR``, ``${VAR:-default}``, quotes),
:mod:`.args` reads each instruction's arguments (ENV/LABEL pairs, ARG, HEALTHCHECK,
EXPOSE, COPY/ADD sources, ``--chmod``) and :mod:`.dockerignore` decides which files of
the build context are sent. :mod:`.build` executes the instructions step by step through
an injected worker (the engine runs containers and commits layers), :mod:`.copy` does
COPY and ADD on the file system.

Errors are :class:`berth.errdefs.InvalidArgument` carrying Docker's own messages, since
clients compare them.
"""
