"""Persistence layer: SQLAlchemy 2.0 models, engine and session factory, migrations.

Nothing here knows about Qt or about the domain services in app/; app/ builds on it.
"""
