"""relink: audit a DSers account's orders and change its linked AliExpress account safely."""

from relink.errors import RelinkError

__version__ = "0.1.0"
__all__ = ["RelinkError", "__version__"]
