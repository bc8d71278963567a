"""The Piccolo app: the portal's tables and the top-level migrations/ folder."""

from pathlib import Path

from piccolo.conf.apps import AppConfig

from portal.tables import ALL_TABLES

APP_CONFIG = AppConfig(
    app_name="portal",
    migrations_folder_path=str(Path(__file__).resolve().parent.parent / "migrations"),
    table_classes=list(ALL_TABLES),
    migration_dependencies=[],
    commands=[],
)
