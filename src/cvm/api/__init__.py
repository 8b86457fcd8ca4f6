"""The REST API of the loyalty programme (FastAPI), built by `create_app`."""

from cvm.api.app import create_app

__all__ = ["create_app"]
