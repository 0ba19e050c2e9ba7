"""Operations the app's migrations share (imported by them, so keep this module stable).

``AddIndexOnline`` (and ``AddUniqueConstraintOnline``): an index added to a table that is
being written to. On PostgreSQL, ``CREATE INDEX CONCURRENTLY``: a plain CREATE INDEX blocks
every insert and update of the table while it builds (at a million rows, seconds per index, with claims and finishes
waiting); a migration using it cannot run in a transaction (``atomic = False``), so if it
stops halfway, drop the index PostgreSQL names as INVALID and migrate again. Elsewhere
(SQLite, the embedded default) a plain CREATE INDEX, with PostgreSQL's "C" collation left
out of expression indexes.
"""

from __future__ import annotations

from django.contrib.postgres.operations import AddIndexConcurrently
from django.db import models
from django.db.migrations.operations import AddConstraint, AddIndex
from django.db.models.functions import Collate


def _without_collation(index: models.Index) -> models.Index:
    _, args, kwargs = index.deconstruct()
    return models.Index(*(e.get_source_expressions()[0] if isinstance(e, Collate) else e for e in args), **kwargs)


class AddIndexOnline(AddIndexConcurrently):
    """``AddIndexConcurrently`` on PostgreSQL, ``AddIndex`` elsewhere."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if self.allow_migrate_model(schema_editor.connection.alias, model):
            schema_editor.add_index(model, _without_collation(self.index))

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor == "postgresql":
            return super().database_backwards(app_label, schema_editor, from_state, to_state)
        return AddIndex.database_backwards(self, app_label, schema_editor, from_state, to_state)


class AddUniqueConstraintOnline(AddConstraint):
    """A conditional ``UniqueConstraint`` added without blocking writes: on PostgreSQL it is a
    unique partial index (how Django builds a conditional one anyway), built ``CONCURRENTLY``
    for the reason ``AddIndexOnline`` gives. Elsewhere a plain ``AddConstraint``."""

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        if schema_editor.connection.vendor != "postgresql":
            return super().database_forwards(app_label, schema_editor, from_state, to_state)
        model = to_state.apps.get_model(app_label, self.model_name)
        if not self.allow_migrate_model(schema_editor.connection.alias, model):
            return None
        if self.constraint.condition is None:
            raise ValueError(
                f"{self.constraint.name}: only a conditional unique constraint is an index to build online"
            )
        sql = str(self.constraint.create_sql(model, schema_editor))
        schema_editor.execute(sql.replace("CREATE UNIQUE INDEX", "CREATE UNIQUE INDEX CONCURRENTLY", 1))
        return None
