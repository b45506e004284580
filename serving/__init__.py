"""chartcoder's HTTP service: `serving.app.create_app(settings)`."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("chartcoder")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"
