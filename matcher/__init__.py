"""role-matcher: match a résumé to catalog roles, with evidence, gaps and an honest "no good fit"."""

from .core import Matcher
from .result import Evidence, MatchResult, RoleResult
from .version import __version__

__all__ = ["Evidence", "MatchResult", "Matcher", "RoleResult", "__version__"]
