"""The only package that talks to the kernel: ctypes syscalls behind one seam
(:mod:`berth.linux.syscalls`), capabilities, seccomp, procfs and careful filesystem helpers."""
