"""Storage: SQLModel tables, the session factory, queries and Alembic migrations.

The lowest layer. It imports only sqlmodel/sqlalchemy (and alembic for migrations), never `bot`,
`practices` or an adapter, so every other layer can rely on it without cycles.
"""
