"""The ASGI application for uvicorn: settings from the environment."""

from portal.app import create_app
from portal.settings import Settings

app = create_app(Settings.from_env())
