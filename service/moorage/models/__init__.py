from moorage.models.base import Base
from moorage.models.item import Item
from moorage.models.user import User

__all__ = ["Base", "Item", "User"]
