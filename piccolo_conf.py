"""Piccolo's configuration for its CLI (migrations): the engine comes from PORTAL_DATABASE_URL."""

from piccolo.conf.apps import AppRegistry

from portal.db import engine_from_url
from portal.settings import Settings

DB = engine_from_url(Settings.from_env().database_url)

APP_REGISTRY = AppRegistry(apps=["portal.piccolo_app"])
