"""News: feeds, articles, annotations, tags, and full-text search (FTS5 on SQLite, tsvector on PostgreSQL).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 17:00:45.829438
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

import myassistant.core.db

revision: str = "0002"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=True),
        sa.Column("etag", sa.String(length=512), nullable=True),
        sa.Column("last_modified", sa.String(length=128), nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=True),
        sa.Column("last_http_status", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_fetched_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_success_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("consecutive_failures", sa.Integer(), nullable=False),
        sa.Column("created_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feeds")),
        sa.UniqueConstraint("url", name=op.f("uq_feeds_url")),
    )
    op.create_table(
        "articles",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False
        ),
        sa.Column("url", sa.String(length=2048), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("source", sa.String(length=200), nullable=False),
        sa.Column("feed_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("guid", sa.String(length=1024), nullable=True),
        sa.Column("published_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("published_status", sa.String(length=16), nullable=False),
        sa.Column("first_seen_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name=op.f("fk_articles_feed_id_feeds"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_articles")),
        sa.UniqueConstraint("url", name=op.f("uq_articles_url")),
    )
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.create_index("ix_articles_first_seen_at", ["first_seen_at"], unique=False)

    op.create_table(
        "article_annotations",
        sa.Column(
            "article_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("lang", sa.String(length=8), nullable=True),
        sa.Column("lang_score", sa.Double(), nullable=True),
        sa.Column("compound", sa.Double(), nullable=True),
        sa.Column("pos", sa.Double(), nullable=True),
        sa.Column("neg", sa.Double(), nullable=True),
        sa.Column("neu", sa.Double(), nullable=True),
        sa.Column("tags", sa.JSON().with_variant(postgresql.JSONB(), "postgresql"), nullable=False),
        sa.Column("analyzer_version", sa.String(length=32), nullable=False),
        sa.Column("analyzed_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_annotations_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", name=op.f("pk_article_annotations")),
    )
    with op.batch_alter_table("article_annotations", schema=None) as batch_op:
        batch_op.create_index("ix_article_annotations_lang", ["lang"], unique=False)

    op.create_table(
        "article_tags",
        sa.Column(
            "article_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("tag", sa.String(length=32), nullable=False),
        sa.Column("first_seen_at", myassistant.core.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["article_id"],
            ["articles.id"],
            name=op.f("fk_article_tags_article_id_articles"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("article_id", "tag", name=op.f("pk_article_tags")),
    )
    with op.batch_alter_table("article_tags", schema=None) as batch_op:
        batch_op.create_index("ix_article_tags_tag_first_seen_at", ["tag", "first_seen_at"], unique=False)

    _create_full_text_search()


# SQLite: an external-content FTS5 table kept in sync with `articles` by triggers.
SQLITE_FTS = (
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title, summary, content='articles', content_rowid='id', "
    "tokenize='porter unicode61 remove_diacritics 2')",
    "CREATE TRIGGER articles_fts_ai AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
    "CREATE TRIGGER articles_fts_ad AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, summary) VALUES ('delete', old.id, old.title, old.summary); END",
    "CREATE TRIGGER articles_fts_au AFTER UPDATE OF title, summary ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, summary) VALUES ('delete', old.id, old.title, old.summary); "
    "INSERT INTO articles_fts(rowid, title, summary) VALUES (new.id, new.title, new.summary); END",
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
)
# PostgreSQL: a stored tsvector (title weighted A, summary B) and its GIN index.
POSTGRES_FTS = (
    "ALTER TABLE articles ADD COLUMN fts_tsv tsvector GENERATED ALWAYS AS ("
    "setweight(to_tsvector('english', coalesce(title, '')), 'A') || "
    "setweight(to_tsvector('english', coalesce(summary, '')), 'B')) STORED",
    "CREATE INDEX ix_articles_fts_tsv ON articles USING gin (fts_tsv)",
)


def _sqlite_has_fts5() -> bool:
    bind = op.get_bind()
    return bool(bind.exec_driver_sql("SELECT sqlite_compileoption_used('ENABLE_FTS5')").scalar()) or any(
        row[0] == "fts5" for row in bind.exec_driver_sql("PRAGMA module_list").fetchall()
    )


def _create_full_text_search() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        statements: tuple[str, ...] = POSTGRES_FTS
    elif dialect == "sqlite" and _sqlite_has_fts5():
        statements = SQLITE_FTS
    else:
        return  # search falls back to LIKE
    for statement in statements:
        op.execute(statement)


def _drop_full_text_search() -> None:
    dialect = op.get_bind().dialect.name
    if dialect == "postgresql":
        op.execute("DROP INDEX IF EXISTS ix_articles_fts_tsv")
        op.execute("ALTER TABLE articles DROP COLUMN IF EXISTS fts_tsv")
    elif dialect == "sqlite":
        for trigger in ("articles_fts_ai", "articles_fts_ad", "articles_fts_au"):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute("DROP TABLE IF EXISTS articles_fts")


def downgrade() -> None:
    _drop_full_text_search()
    with op.batch_alter_table("article_tags", schema=None) as batch_op:
        batch_op.drop_index("ix_article_tags_tag_first_seen_at")

    op.drop_table("article_tags")
    with op.batch_alter_table("article_annotations", schema=None) as batch_op:
        batch_op.drop_index("ix_article_annotations_lang")

    op.drop_table("article_annotations")
    with op.batch_alter_table("articles", schema=None) as batch_op:
        batch_op.drop_index("ix_articles_first_seen_at")

    op.drop_table("articles")
    op.drop_table("feeds")
