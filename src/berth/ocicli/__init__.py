"""``berth-runtime``: runc's command line over :mod:`berth.runtime`.

One module per verb (``v_<verb>.py``) parses its flags and calls one library function;
:mod:`.main` handles the global flags, logging and exit codes, and imports only the verb
that runs — the whole command must start in a few milliseconds.
"""
