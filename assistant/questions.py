"""What the user typed: a question (and which kind of answer it expects), small talk, or an instruction.

The expected answer type follows the coarse classes of Li & Roth, "Learning Question Classifiers"
(COLING 2002): HUMAN/ENTITY (who, which X), NUMERIC:date (when), LOCATION (where), NUMERIC:count
(how many), DESCRIPTION:reason (why), DESCRIPTION:definition (what does X stand for), plus yes/no
questions (an auxiliary verb first). It is read off the question's wording and its spaCy parse: no
model call, a few milliseconds.

The language check is the stop-word method (the share of a language's function words among the
question's words, as in Grefenstette, "Comparing two language identification schemes", JADT 1995).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from assistant.textutil import STOPWORDS, canonical_number, is_number, normalize_quotes, stem, words

AnswerType = Literal["entity", "date", "place", "number", "yes_no", "reason", "definition", "description"]
InputKind = Literal["question", "greeting", "thanks", "closing", "instruction"]

#: Verbs that frame a question rather than carry its content ("How is X described?", "What did
#: the office say?"); their absence from a sentence says nothing about whether it answers.
LIGHT_VERBS = frozenset(
    "be do have say happen make get go describe call name mean refer stand consider know think report state "
    "write note become accord remain seem take give put come keep identify list mention cite".split()
)

#: Words about the documents themselves ("according to the article"): they frame the question.
META_WORDS = frozenset("article document documents text passage passages source sources author according story "
                       "many much besides apart else exactly".split())

NUMBER_WORDS = {
    "zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6", "seven": "7",
    "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12", "twenty": "20", "thirty": "30",
    "hundred": "100", "thousand": "1000", "dozen": "12", "once": "1", "twice": "2",
}

#: Words of courtesy: greetings, thanks, acknowledgement and leave-taking ("hey, good evening :)",
#: "ok great", "got it, thanks", "bye for now"). A short message without a question mark made only
#: of these (and the filler words below) is small talk, whatever their order.
_GREETING_WORDS = frozenset("hi hello hey hiya howdy greetings morning afternoon evening hallo bonjour hola".split())
_THANKS_WORDS = frozenset("thanks thank thx ty cheers appreciated appreciate danke merci gracias".split())
_CLOSING_WORDS = frozenset(
    "ok okay okey alright great good nice cool perfect awesome excellent brilliant wonderful fine super "
    "got understood noted clear helpful helps help useful sense bye goodbye later cya".split())
_FILLER_WORDS = frozenset(
    "you so much a lot very that this it makes make for now all see that's it's thats i i'm see you'll "
    "will really indeed again oh ah and then much many the there everyone all folks team".split())
#: Requests to drop the instructions or act outside the documents (prompt injection, OWASP LLM01).
_INSTRUCTION = re.compile(
    r"\b(ignore|disregard|forget|override)\b.{0,40}\b(instructions?|rules|prompt|documents?|above|previous|context)\b|"
    r"\b(system prompt|your instructions|jailbreak|developer mode)\b|"
    r"^(pretend|act as|you are now|from now on|roleplay)\b|"
    r"^(write|compose|tell me|generate|translate|summari[sz]e everything)\b.{0,30}\b(poem|joke|story|song|essay|code|script)\b",
    re.I,
)
_AUX_FIRST = re.compile(r"^(is|are|was|were|do|does|did|has|have|had|can|could|will|would|should|shall|may|might|must)\b", re.I)
_COUNT = re.compile(r"\bhow (many|much|often|long|old)\b|\bnumber of\b|\bwhat (percentage|share|proportion)\b|"
                    r"\b(price|cost|population|budget|salary|revenue|worth|capacity)\b", re.I)
_ATTRIBUTE = re.compile(r"\b(price|cost|population|budget|salary|revenue|percentage|share|proportion|age|length|"
                        r"height|weight|distance|size|area|speed|temperature|value|worth|capacity|output)\b", re.I)
#: Counting words that say "how often", not what is counted ("how many times").
_GENERIC_COUNTERS = frozenset("times time occasions occasion instances instance".split())
#: Nouns naming people by role: "which ministers" asks for people, so the answer must name one.
_PERSON_ROLES = frozenset(
    "minister official officer leader president general person people man woman speaker chief head "
    "representative ambassador diplomat envoy spokesman spokeswoman spokesperson journalist author analyst "
    "commander king queen prime premier chairman director ceo founder".split())
_DATE = re.compile(r"^\s*(when)\b|\b(what|which) (year|date|month|day|time)\b|\bsince when\b|\bhow long ago\b", re.I)
_PLACE = re.compile(r"^\s*where\b|\b(in|at|to|from) (which|what) (\w+ )?(region|country|city|town|place|province|state)\b|"
                    r"^\s*(which|what) (region|country|city|town|place|province|state)\b", re.I)
_WHO = re.compile(r"(^|,\s*|\b(and|but|besides|apart from \w+)\s+)(who|whom|whose)\b|\bname of\b", re.I)
_WHICH_NOUN = re.compile(r"\b(which|what)\s+(?!(is|are|was|were|do|does|did|has|have|had|can|will|would)\b)"
                         r"((?:[\w-]+\s+){0,2}[\w-]+)\b", re.I)
_DEFINITION = re.compile(r"\bwhat (does|do|did) (?P<term>[A-Z][A-Za-z0-9.&-]{1,12}) (stand for|mean)\b|"
                         r"\bwhat is (?P<term2>[A-Z][A-Z0-9.&-]{1,12}) (short for|an abbreviation)", re.I)
#: "What is the SAC?": an abbreviation on its own (capitals, case-sensitive) asks for its expansion.
_ABBREVIATION = re.compile(r"^\s*(?i:what)\s+(?i:is|are|was|were)\s+(?:(?i:the)\s+)?(?P<term>[A-Z][A-Z0-9&]{1,7})\s*[?.!]*\s*$")
#: A lead-in announcing a question ("Quick question: ...", "separate question - ...", "One more
#: question, ..."): its words frame the question, they are not what it asks about.
_LEAD_IN = re.compile(r"^\s*(?:(?:a|one|another|separate|different|unrelated|new|next|quick|last|final|more|other|"
                      r"follow-up|small|simple)\s+)*question\s*[:\-–—,]+\s*", re.I)
_WHY = re.compile(r"^\s*(why|for what reason|how come)\b", re.I)

#: Function words of a few languages (the most frequent ones), for telling a non-English question.
_FOREIGN = {
    "de": "der die das und ist hat nach wer was wann wo wie warum nicht mit von für ein eine den dem des sind wurde".split(),
    "fr": "le la les est qui que quoi quand où pourquoi comment avec pour dans une des du au sont été a il elle sera".split(),
    "es": "el la los las es quién qué cuándo dónde por cómo con para una del al son fue ha".split(),
    "it": "il lo gli è chi che cosa quando dove perché come con per una del della sono stato ha".split(),
    "pt": "o os as é quem que quando onde porque como com para uma do da são foi tem".split(),
    "nl": "de het een is wie wat wanneer waar waarom hoe met voor van zijn heeft".split(),
}
#: Question words of those languages mapped to the English answer types.
_FOREIGN_QWORDS: dict[str, AnswerType] = {
    "wer": "entity", "wen": "entity", "wem": "entity", "qui": "entity", "quién": "entity", "quien": "entity",
    "chi": "entity", "quem": "entity", "wie": "description", "wann": "date", "quand": "date", "cuándo": "date",
    "quando": "date", "wanneer": "date", "wo": "place", "où": "place", "dónde": "place", "dove": "place",
    "onde": "place", "waar": "place", "warum": "reason", "pourquoi": "reason", "perché": "reason",
    "porque": "reason", "waarom": "reason",
}


@dataclass(frozen=True)
class QuestionAnalysis:
    """What a question asks for.

    Attributes:
        text: The question as analysed.
        kind: ``question``, ``greeting``, ``thanks``, ``closing`` (an acknowledgement or goodbye:
            "ok great", "bye for now") or ``instruction`` (a request to act outside the documents,
            such as "ignore your instructions").
        answer_type: The expected answer type (see the module description).
        language: ``en``, or the ISO 639-1 code of another language detected by its function words.
        terms: Content-word stems of the question (no stop words, no light verbs).
        names: Lower-cased capitalised words of the question (after its first word).
        numbers: Canonical numbers of the question (digits and number words).
        predicates: Stems of the content verbs of the question's main predicate (its root and the
            verbs it governs as complements), light verbs excluded.
        counted: Stems of the nouns a "how many X" question counts ("ASEAN member states"), or of the
            attribute a quantity question asks for ("price"); empty when any number answers.
        target_noun: Stem of the noun a "which X" question asks about ("which outlet" -> "outlet").
        person_target: True when that noun names people by their role ("which ministers"): the
            answer must then name a person.
        tense: ``past`` or ``future`` when the question's main verb says so ("will meet"), else None.
        term: The abbreviation a definition question asks about ("SAC"), or None.
        paraphrases: For each content verb of the main predicate: the question-term stems it
            stands for (the verb and its particle or comparative: "grown closer") and the word forms
            a sentence may say it with instead (the verb's lemma and surface form and the one-word
            equivalents of its phrasal verb, :data:`assistant.similarity.PHRASAL`).
    """

    text: str
    kind: InputKind = "question"
    answer_type: AnswerType = "description"
    language: str = "en"
    terms: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    numbers: frozenset[str] = frozenset()
    predicates: frozenset[str] = frozenset()
    counted: frozenset[str] = frozenset()
    target_noun: str | None = None
    term: str | None = None
    person_target: bool = False
    tense: str | None = None
    paraphrases: tuple[tuple[frozenset[str], tuple[str, ...]], ...] = ()

    @property
    def strict(self) -> bool:
        """True when the answer must fill the role the question names (who/when/where/how many/
        which/what-did-X-do): then the question's predicate must be in the evidence. Why, yes/no
        and open description questions are often answered in other words, so they are not strict.
        """
        return self.answer_type in ("entity", "date", "place", "number", "definition")


def detect_language(question: str) -> str:
    """``en`` or the code of the language whose function words dominate the question."""
    toks = [w.lower() for w in words(question)]
    if len(toks) < 3:
        return "en"
    english = sum(t in STOPWORDS and len(t) > 1 for t in toks)
    best, best_n = "en", english
    for lang, fw in _FOREIGN.items():
        n = sum(t in fw for t in toks)
        if n > best_n + 1 or (n >= 2 and english == 0 and n > best_n):
            best, best_n = lang, n
    return best


def number_value(word: str) -> str | None:
    """Canonical value of a digit token or an English number word, else None."""
    if is_number(word):
        return canonical_number(word)
    return NUMBER_WORDS.get(word.lower())


def _courtesy(text: str) -> InputKind | None:
    """``thanks``, ``greeting`` or ``closing`` when ``text`` is only courtesy (at most 8 words, no
    question mark, every word a courtesy or filler word, at least one courtesy word; emoticons and
    punctuation ignored), else None."""
    if "?" in text:
        return None
    ws = [w.lower().strip("'’") for w in re.findall(r"[\w'’]+", text)]
    if not ws or len(ws) > 8 or any(w not in _THANKS_WORDS | _GREETING_WORDS | _CLOSING_WORDS | _FILLER_WORDS
                                    for w in ws):
        return None
    if any(w in _THANKS_WORDS for w in ws):
        return "thanks"
    if any(w in _GREETING_WORDS for w in ws):
        return "greeting"
    if any(w in _CLOSING_WORDS for w in ws):
        return "closing"
    return None


_WH_TAGS = ("WRB", "WP", "WDT", "WP$")


def _do_question_verb(doc):  # noqa: ANN001, ANN202 - a spaCy Doc -> Token | None
    """The main verb of a wh-question with do-support that the small parser tagged as a noun:
    in "How much did the new stadium cost?" or "When did the mayor resign?" the noun phrase after
    "did" ends with the verb, which then ends the clause. Returns None when the parse already has a
    verb there or the pattern does not hold (at least two nouns in the phrase, the last one a
    common noun followed by the end, a preposition or an adverb)."""
    aux = next((t for t in doc if t.lower_ in ("did", "does", "do") and t.i > 0
                and any(x.tag_ in _WH_TAGS for x in doc[:t.i])), None)
    if aux is None:
        return None
    run = []
    for t in doc[aux.i + 1:]:
        if t.pos_ not in ("DET", "ADJ", "NOUN", "PROPN", "NUM", "PART"):
            break
        run.append(t)
    after = doc[run[-1].i + 1] if run and run[-1].i + 1 < len(doc) else None
    nouns = [t for t in run if t.pos_ in ("NOUN", "PROPN")]
    if len(nouns) < 2 or run[-1].pos_ != "NOUN" or not (after is None or after.pos_ in ("PUNCT", "ADP", "ADV", "SCONJ")):
        return None
    return run[-1]


def analyse(question: str) -> QuestionAnalysis:
    """Classify what the user typed and what kind of answer it expects."""
    q = normalize_quotes(question).strip()
    q = _LEAD_IN.sub("", q, count=1) or q
    courtesy = _courtesy(q)
    if courtesy:
        return QuestionAnalysis(q, kind=courtesy)
    if _INSTRUCTION.search(q):
        return QuestionAnalysis(q, kind="instruction")
    language = detect_language(q)
    ws = words(q)
    numbers = frozenset(v for w in ws if (v := number_value(w)) is not None)
    names = frozenset(w.lower() for w in ws[1:] if w[:1].isupper() and w.lower() not in STOPWORDS)

    answer_type: AnswerType = "description"
    term = None
    m = _DEFINITION.search(q)
    abbreviation = _ABBREVIATION.match(q)
    if m:
        answer_type, term = "definition", (m.group("term") or m.group("term2"))
    elif abbreviation:
        answer_type, term = "definition", abbreviation.group("term")
    elif _COUNT.search(q):
        answer_type = "number"
    elif _DATE.search(q):
        answer_type = "date"
    elif _PLACE.search(q):
        answer_type = "place"
    elif _WHY.search(q):
        answer_type = "reason"
    elif _WHO.search(q):
        answer_type = "entity"
    elif _AUX_FIRST.match(q):
        answer_type = "yes_no"
    elif language != "en" and ws and ws[0].lower() in _FOREIGN_QWORDS:
        answer_type = _FOREIGN_QWORDS[ws[0].lower()]

    predicates: set[str] = set()
    counted: set[str] = set()
    target = None
    person_target = False
    tense = None
    lemma_terms: set[str] = set()
    paraphrases: list[tuple[frozenset[str], tuple[str, ...]]] = []
    if language == "en":
        from assistant.nlp import parse

        doc = parse(q)
        # content verbs of the main clause: every verb but those of relative/adnominal clauses
        for tok in doc:
            if tok.pos_ == "VERB" and tok.dep_ not in ("relcl", "acl", "amod", "advcl") \
                    and tok.lemma_.lower() not in LIGHT_VERBS and tok.text.lower() not in META_WORDS:
                predicates.add(stem(tok.lemma_))
                from assistant.similarity import phrasal_equivalents, phrasal_part

                part = phrasal_part(tok)
                paraphrases.append((frozenset(stem(t.text) for t in [tok, part] if t is not None),
                                    tuple(dict.fromkeys([tok.lemma_.lower(), tok.text.lower(), *phrasal_equivalents(tok)]))))
        verb = _do_question_verb(doc)
        if verb is not None and verb.lemma_.lower() not in LIGHT_VERBS:
            predicates.add(stem(verb.lemma_))
            paraphrases.append((frozenset({stem(verb.text)}), (verb.lemma_.lower(), verb.text.lower())))
        light = {t.i for t in doc if t.pos_ in ("VERB", "AUX") and t.lemma_.lower() in LIGHT_VERBS}
        lemma_terms = {stem(t.text) for t in doc if t.i in light}
        if answer_type == "number":
            # the noun phrase right after "how many": "how many ASEAN member states endorsed ..."
            for tok in doc:
                if tok.text.lower() in ("many", "much") and tok.i > 0 and doc[tok.i - 1].text.lower() == "how":
                    for nxt in doc[tok.i + 1:]:
                        if nxt.pos_ not in ("NOUN", "PROPN", "ADJ"):
                            break
                        if nxt.pos_ in ("NOUN", "PROPN") and nxt.text.lower() not in _GENERIC_COUNTERS:
                            counted.add(stem(nxt.text))
        wm = _WHICH_NOUN.search(q)
        if wm and answer_type in ("description", "entity", "place"):
            nouns = [t for t in doc if t.text.lower() in wm.group(3).lower().split() and t.pos_ in ("NOUN", "PROPN")]
            if nouns:
                target = stem(nouns[-1].text)
                person_target = nouns[-1].lemma_.lower() in _PERSON_ROLES
                if answer_type == "description":
                    answer_type = "entity"
        from assistant.claimcheck import verb_time

        for tok in doc:
            if tok.pos_ == "VERB" and stem(tok.lemma_) in predicates:
                progressive = tok.tag_ == "VBG" and any(c.dep_ == "aux" and c.lemma_ == "be" for c in tok.children)
                tense = tense or verb_time(tok) or ("future" if progressive else None)  # "when is he meeting"
        # "who is the X (of Y)?": X names the role asked for
        if answer_type == "entity" and target is None and re.match(r"^\s*who\s+(is|was|are|were)\b", q, re.I):
            root = next((t for t in doc if t.dep_ == "ROOT"), None)
            role = next((c for c in root.children if c.dep_ in ("attr", "nsubj") and c.pos_ == "NOUN"), None) if root else None
            if role is not None:
                target = stem(role.text)
                person_target = role.lemma_.lower() in _PERSON_ROLES
    if answer_type == "number" and not counted and re.search(r"\bhow old\b", q, re.I):
        counted = {stem(w) for w in ("old", "aged", "age", "years")}  # an age: "68 years old", "aged 68"
    if answer_type == "number" and not counted:
        am = _ATTRIBUTE.search(q)
        if am:
            counted = {stem(am.group(1))}
    terms = frozenset(stem(w) for w in ws if w.lower() not in STOPWORDS and w.lower() not in META_WORDS
                      and number_value(w) is None) - lemma_terms
    return QuestionAnalysis(q, "question", answer_type, language, terms, names, numbers, frozenset(predicates),
                            frozenset(counted), target, term, person_target=person_target, tense=tense,
                            paraphrases=tuple(paraphrases))
