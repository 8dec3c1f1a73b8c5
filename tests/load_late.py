"""Loads every shared library of the build into a running program, as a plugin host would: a library
whose thread-locals use the initial-exec model fails here if glibc's reserve cannot hold them."""
import ctypes
import pathlib
import sys

root = pathlib.Path(sys.argv[1])
libraries = sorted(p for p in root.rglob("libroundtrip*.so") if not p.is_symlink() or p.resolve().exists())
core = [p for p in libraries if p.name == "libroundtrip.so"]
if not core:
    sys.exit("no libroundtrip.so under " + str(root))
for path in core + [p for p in libraries if p.name != "libroundtrip.so"]:
    ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)  # raises OSError, naming the library, if it cannot load
print(f"loaded {len(libraries)} libraries")
