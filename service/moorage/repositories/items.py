from __future__ import annotations

from moorage.models import Item
from moorage.repositories.base import Reader, Repository


class ItemRepository(Repository[Item]):
    model = Item


class ItemReader(Reader[Item]):
    model = Item
