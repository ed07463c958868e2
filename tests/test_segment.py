from matcher.segment import split_passages

RESUME = """Jane Doe
jane.doe@example.com | +1 (555) 123-4567 | https://linkedin.com/in/janedoe

EXPERIENCE
Acme Corp — Senior Product Manager, 2019–2023
- Built the internal Python SDK used by 40 teams. Cut onboarding time by 30%.
• Ran the deprecation of the v1 API across 12 services

HOBBIES
Trail running, chess and baking sourdough bread

I want to move into platform product management next.
"""


def test_offsets_point_into_the_original_text():
    passages = split_passages(RESUME)
    assert passages
    for p in passages:
        assert RESUME[p.start:p.end] == p.text


def test_contacts_headings_and_hobbies_are_dropped():
    texts = [p.text for p in split_passages(RESUME)]
    joined = " ".join(texts)
    assert "@" not in joined and "555" not in joined and "linkedin" not in joined
    assert "EXPERIENCE" not in texts and "HOBBIES" not in texts
    assert not any("sourdough" in t for t in texts)


def test_bullets_and_sentences_are_split():
    texts = [p.text for p in split_passages(RESUME)]
    assert "Built the internal Python SDK used by 40 teams." in texts
    assert "Cut onboarding time by 30%." in texts
    assert "Ran the deprecation of the v1 API across 12 services" in texts


def test_goals_are_tagged_interest_and_work_experience():
    kinds = {p.text: p.kind for p in split_passages(RESUME)}
    assert kinds["I want to move into platform product management next."] == "interest"
    assert kinds["Cut onboarding time by 30%."] == "experience"


def test_posting_boilerplate_is_dropped():
    posting = ("What you'll do\n- Own the roadmap for our recommendation models\n\n"
               "We are an equal opportunity employer and consider applicants without regard to race, "
               "color or religion.\nWe offer medical, dental and vision insurance and a 401(k) match.\n")
    texts = [p.text for p in split_passages(posting)]
    assert texts == ["Own the roadmap for our recommendation models"]


def test_long_run_on_text_is_cut_into_model_sized_pieces():
    text = ", ".join(["worked on data pipelines and dashboards for the finance team"] * 30)
    passages = split_passages(text)
    assert len(passages) > 1
    assert all(len(p.text) <= 400 for p in passages)
    assert all(text[p.start:p.end] == p.text for p in passages)


def test_nothing_matchable():
    assert split_passages("") == []
    assert split_passages("EXPERIENCE\n\nx\n") == []
