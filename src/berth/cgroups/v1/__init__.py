"""cgroup v1 controllers, one module each (Documentation/admin-guide/cgroup-v1/).

Each module has ``apply(resources, path)`` writing the OCI ``linux.resources`` fields it
owns into the group directory ``path`` of its hierarchy, and where the controller reports
usage, ``stats(path)`` returning the part of runc's ``events --stats`` data it fills.
"""
