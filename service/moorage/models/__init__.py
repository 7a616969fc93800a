from moorage.models.base import Base, Entity
from moorage.models.item import Item
from moorage.models.user import User

__all__ = ["Base", "Entity", "Item", "User"]
