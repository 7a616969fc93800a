"""moorage: a production FastAPI service packaged for Kubernetes."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("moorage")
except PackageNotFoundError:  # running from a source tree without an install
    __version__ = "0.0.0"
