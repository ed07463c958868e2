"""role-matcher: match a résumé to catalog roles, with evidence, gaps and an honest "no good fit"."""

__version__ = "0.1.0"

from .core import Matcher
from .result import Evidence, MatchResult, RoleResult

__all__ = ["Evidence", "MatchResult", "Matcher", "RoleResult", "__version__"]
