"""Saved views: named GraphQL operations an admin registers for internal tools, served as
JSON or CSV at /views/<name> (hub/views.py)."""

from datetime import datetime

from sqlalchemy import DateTime, Text, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, id_column, slug_check, slug_column


class SavedView(Base):
    """A named query operation; its variables come from the view's query string."""

    __tablename__ = "saved_views"
    __table_args__ = (slug_check("name"),)

    id: Mapped[int] = id_column()
    name: Mapped[str] = slug_column()
    description: Mapped[str] = mapped_column(Text, server_default="")
    query: Mapped[str] = mapped_column(Text)
    saved_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now()
    )
