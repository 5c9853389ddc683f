"""The package version, in a module of its own: ``__init__``, ``cache`` and the build read it.

It imports nothing, so a room low in the package can know the version without importing the
package's ``__init__`` (no arrow runs back up).
"""

__version__ = "0.1.0"
