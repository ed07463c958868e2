"""Split free text (a résumé, a goals paragraph, a job posting) into passages worth matching.

Each passage keeps character offsets into the original text so callers can highlight it. Contact
details, headings and boilerplate (benefits, equal-opportunity text, hobbies, legal notices) are
dropped: they say nothing about which role fits, and they add noise to every role's score.
Passages are tagged ``experience`` (what the person has done) or ``interest`` (what they want next).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+\.(?:com|io|dev|org|net|me|ai|co)(?:/\S*)?\b", re.I)
PHONE = re.compile(r"(?:\+?\d[\d\s().-]{7,}\d)")
BULLET = re.compile(r"^\s*(?:[-*•·▪◦‣–—>]+|\(?\d{1,2}[.)])\s+")
SENTENCE_END = re.compile(r"(?<=[.!?;])\s+(?=[\"“(A-Z0-9])")
WORD = re.compile(r"[A-Za-zÀ-ÿ][A-Za-zÀ-ÿ'+#/-]*")

# Headings after which everything up to the next heading is noise for matching.
NOISE_HEADINGS = re.compile(
    r"^(hobbies|interests|personal( interests)?|references|volunteer(ing)?|languages|"
    r"benefits|perks|(our )?benefits( and|&| & )?perks|what we offer|compensation|salary|pay range|"
    r"equal (employment )?opportunity|eeo|diversity( statement)?|accommodations?|privacy( notice)?|"
    r"how to apply|about (us|the company)|who we are|our (mission|story|values)|life at .*|"
    r"why join us|why work (here|with us)|recruiting fraud.*)\s*:?$", re.I)
# Headings that open a section of the person's goals.
INTEREST_HEADINGS = re.compile(r"^(objective|career (objective|goals?)|goals?|what i('m| am) looking for)\s*:?$",
                               re.I)
# Sentences that are boilerplate wherever they appear (postings mostly). Generic phrasings only:
# detecting the kind of paragraph, not one company's wording.
BOILERPLATE = re.compile(
    r"equal (employment )?opportunity|without regard to|race, (color|colour)|sexual orientation|"
    r"gender identity|veteran status|reasonable accommodation|disabilit(y|ies)|e-?verify|"
    r"401\s?\(?k\)?|health(,|care| insurance|, dental)|dental|vision insurance|parental leave|paid time off|"
    r"\bPTO\b|unlimited (vacation|pto)|stipend|wellness|commuter|salary range|base (salary|pay)|"
    r"compensation (range|package)|\$\s?\d{2,3}[,.]?\d{0,3}\s?k?\s?(-|–|to)|equity (grant|package)|"
    r"privacy (policy|notice)|personal (data|information) (we|you)|applicant|recruiters? will never|"
    r"background check|visa sponsorship|sponsor(ship)? (a )?visa|we are (backed|funded)|series [a-e]\b|"
    r"backed by|headquartered in|offices in|remote[- ]first|hybrid (work|schedule|policy)|"
    r"references available|hobbies|in my (free|spare) time",
    re.I)
INTEREST = re.compile(
    r"\b(i|i'm|i am|i'd|i would|i have been|we)\b.{0,40}\b(want|hope|aim|plan|looking|eager|excited|"
    r"love to|like to|keen|interested|wish|aspire|intend|seek|ready|drawn|motivated|considering|exploring)\b|"
    r"\b(my goal|goal is|next (step|role|chapter|move)|move into|moving into|transition(ing)? (in)?to|"
    r"pivot(ing)? (in)?to|seeking|open to|drawn to|wants? to|hopes? to|aims? to|aspires? to|"
    r"looking (to|for)|long[- ]term|career goal|would (love|like) to|interested in (moving|becoming|a role))\b",
    re.I)

MIN_WORDS = 2
MAX_PASSAGE_CHARS = 400


@dataclass(frozen=True)
class Passage:
    """A span of the input: ``text == original[start:end]`` (modulo bullet markers)."""

    text: str
    start: int
    end: int
    kind: str  # "experience" or "interest"


def _is_heading(line: str) -> bool:
    words = WORD.findall(line)
    if not words or len(words) > 5:
        return False
    if line.rstrip().endswith(":"):
        return True
    # "What you'll do", "Work history": short, no sentence punctuation, no numbers or lists.
    if len(words) <= 4 and not re.search(r"[.,;!?\d%$]", line):
        return True
    letters = [c for c in line if c.isalpha()]
    return bool(letters) and all(c.isupper() for c in letters) and len(words) <= 4


def _strip_contacts(text: str) -> str:
    for pattern in (EMAIL, URL, PHONE):
        text = pattern.sub(" ", text)
    return text


def _pieces(line: str, offset: int) -> list[tuple[str, int, int]]:
    """Split one line into sentence-sized pieces, with absolute offsets."""
    if len(line) <= 160 and not SENTENCE_END.search(line[:-1]):
        return [(line, offset, offset + len(line))]
    out, pos = [], 0
    for m in SENTENCE_END.finditer(line):
        out.append((line[pos:m.start()], offset + pos, offset + m.start()))
        pos = m.end()
    out.append((line[pos:], offset + pos, offset + len(line)))
    # Very long run-on sentences: cut on commas/semicolons near the limit so each piece stays
    # well inside the model's window.
    final = []
    for text, s, _e in out:
        while len(text) > MAX_PASSAGE_CHARS:
            cut = max(text.rfind(", ", 0, MAX_PASSAGE_CHARS), text.rfind(" ", 0, MAX_PASSAGE_CHARS))
            cut = cut if cut > 40 else MAX_PASSAGE_CHARS
            final.append((text[:cut], s, s + cut))
            text, s = text[cut:].lstrip(", "), s + cut + (len(text[cut:]) - len(text[cut:].lstrip(", ")))
        final.append((text, s, s + len(text)))
    return final


def split_passages(text: str) -> list[Passage]:
    """Split ``text`` into matchable passages (see module docstring)."""
    passages: list[Passage] = []
    noise_section = False
    interest_section = False
    blank_since_noise = False
    for m in re.finditer(r"[^\r\n]*(?:\r\n|\n|\r|$)", text):
        raw, start = m.group(0).rstrip("\r\n"), m.start()
        if not raw.strip():
            blank_since_noise = noise_section
            if m.end() >= len(text):
                break
            continue
        bullet = BULLET.match(raw)
        body_start = start + (bullet.end() if bullet else 0)
        body = text[body_start:start + len(raw)]
        stripped = body.strip()
        if not stripped:
            continue
        body_start += len(body) - len(body.lstrip())
        if not bullet and _is_heading(stripped):
            title = stripped.rstrip(":").strip()
            noise_section = bool(NOISE_HEADINGS.match(title))
            interest_section = bool(INTEREST_HEADINGS.match(title))
            continue
        if noise_section:
            # A noise section (hobbies, benefits...) ends at the next heading, or at a paragraph of
            # prose after a blank line: people often end a résumé with a goals sentence.
            if blank_since_noise and not bullet and len(WORD.findall(stripped)) >= 8:
                noise_section = False
            else:
                continue
        # "Skills: Python, SQL" style lines: drop the label, keep the content.
        for piece, s, e in _pieces(stripped, body_start):
            piece_clean = _strip_contacts(piece)
            words = WORD.findall(piece_clean)
            if len(words) < MIN_WORDS or BOILERPLATE.search(piece):
                continue
            if piece_clean != piece and len(words) <= 4:  # a contact line: a name beside an email
                continue
            # Trim surrounding punctuation/space so offsets point at the words themselves.
            lead = len(piece) - len(piece.lstrip(" \t,;|•"))
            trail = len(piece) - len(piece.rstrip(" \t,;|"))
            s2, e2 = s + lead, e - trail
            clean = text[s2:e2]
            kind = "interest" if interest_section or INTEREST.search(clean) else "experience"
            passages.append(Passage(clean, s2, e2, kind))
    return passages


def one_line_query(text: str) -> list[Passage]:
    """A bare job title ("Registered Nurse") is the whole question, though :func:`split_passages` drops
    it as a heading; one short line is kept as one passage. Contact details alone still count as no text."""
    line = text.strip()
    if not line or len(line) > 200 or "\n" in line or "\r" in line or not WORD.search(line) \
            or any(p.search(line) for p in (EMAIL, URL, PHONE)):
        return []
    start = text.index(line)
    return [Passage(line, start, start + len(line), "interest" if INTEREST.search(line) else "experience")]
