"""hardphone: firmware for a contact-center agent desk phone."""
from .version import __version__

__all__ = ["__version__"]
