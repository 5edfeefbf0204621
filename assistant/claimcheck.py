"""Claim-level checks: does a source window that shares a claim's words also say what the claim says?

A lexical match ("the words of the claim occur in the passage sentence") accepts sentences that
change one detail of a true one, which is exactly how small models go wrong. After the verifier's
lexical test has found a window (one passage sentence, or two adjacent ones), :func:`conflict` aligns
the claim with the window's *primary sentence* (the one sharing most content words with the claim)
and looks for the one-detail changes, using the spaCy parse (:mod:`assistant.nlp`):

1. **Bound details**: numbers (digits and number words), months and weekdays of the claim must be in
   the primary sentence itself, not only in its neighbour ("In September 2022, the regime endorsed
   the invasion" against "In February 2022, ... endorsed" whose previous sentence says September).
2. **Name spelling**: a capitalised word of the claim (after its first word) must be capitalised in
   the source too ("Strategic Administration Cooperation" against "strategic cooperation").
3. **Quantifiers**: all, every, each, always, only, none, entire must be in the primary sentence
   ("All ASEAN members endorsed..." against "the only member of ASEAN").
4. **Content verbs and list items**: every verb of the claim that is not a light verb (be, have,
   say...), and every noun coordinated in a list, must be in the window by stem, lemma, a
   five-letter prefix ("invited" ~ "invitation"), a derivation ("agreed" ~ "agreement", "decided"
   ~ "decision": :func:`assistant.similarity.derived`), the one-word equivalent of a phrasal verb
   ("pulled out" ~ "withdrawal": :data:`assistant.similarity.PHRASAL`) or, with embeddings, a
   synonym (:mod:`assistant.similarity`: "lauded" ~ "praised", "built" ~ "construction"; never for
   names, numbers, times, amounts, directions or roles), so an added clause, a swapped predicate
   ("completed" for "suspended") or an invented list item ("..., helicopters, submarines") is caught.
5. **Polarity**: a verb negated in the claim must be negated in the source and vice versa (not,
   never, no, neither, nor, without), judged per verb, not per sentence.
6. **Time**: a claim verb in the past (simple past, or perfect) whose source verb is future or only
   planned (will, would, planned/set/slated/expected to; the object of a commitment: "an agreement/
   a deal/a pledge to restart"; a purpose infinitive: "signed a deal to reopen the pier", but not
   "the only member to endorse") is a tense shift ("signed" for "planned to sign", "has met" for
   "will meet", "has been restarted" for "signed an agreement to restart"), and the reverse. A past claim verb said in the source only by
   a nominalisation of a planned event ("the *eventual* construction", "with an eye to the
   construction", "plans for the construction") is a tense shift too ("has built").
7. **Roles**: the agent of the claim's main predicate (the subject, or the "by" phrase of a passive)
   must not be a different name than the source's agent of the same predicate, found through the
   parse: the subject, the subject of the governing clause (open complements, relative clauses), the
   "of"/possessive agent of a nominalisation ("at the invitation of Putin"), or the name an
   appositive describes ("Kan Zaw, the junta's investment minister"). "whose" resolves to the noun
   its clause modifies.
   A claim "X is Y" needs X and Y bound in the source within two arcs (apposition
   "Kan Zaw, the junta's investment minister", copula or compound), so "The speaker of the Duma is
   the Irrawaddy" is not supported by a sentence that names both far apart.
8. **Attachment**: a name or date that a preposition attaches to a content word in the claim ("visit
   *to Myanmar*") must sit within :data:`MAX_HOPS` dependency arcs of that word in the source.

What it cannot catch: paraphrases that reverse meaning without negation words or a different
agent ("balked at" vs "rushed to"), a verb swapped for a converse or co-hyponym that the embeddings
rate as similar ("sold" for "bought", 0.77: the synonym test cannot tell them apart), roles held by
pronouns or descriptions ("the head of the junta"), errors of the parser itself, and claims whose
every word and relation is in the source but whose implicature is false. What it rejects although
true: paraphrases that change two or more content words at once ("intended to issue ... agreements"
for "planned to adopt ... documents"), idioms ("in large numbers" for "en masse"), and metonymy that
needs knowledge the documents lack ("Moscow" for Russia, which the article never names: names stay
exact, since "Russia" and "Myanmar" are as close in the embeddings, 0.42, as many true synonyms).

Measured with MiniLM (``assistant eval`` on claim files, with the verifier's lexical test): on
``claims-dev.jsonl`` 24/24 unsupported claims rejected and 24/24 supported accepted; on a held-out
set written without seeing the rules, 20/20 rejected (tense shift through a nominalisation 2/2) and
15/20 accepted (paraphrase 2/7, the misses listed above). See the README ("How an answer is verified").
"""

from __future__ import annotations

from typing import Any

from assistant.nlp import parse
from assistant.questions import LIGHT_VERBS, number_value
from assistant.similarity import derived, phrasal_equivalents
from assistant.textutil import STOPWORDS, stem, words

#: Dependency arcs allowed between a prepositional name and the word it attaches to (rule 8).
MAX_HOPS = 3
_MONTHS_DAYS = frozenset(
    "january february march april may june july august september october november december "
    "monday tuesday wednesday thursday friday saturday sunday".split())
_QUANTIFIERS = frozenset("all every each always only none entire whole".split())
_NEGATIONS = frozenset("not n't never no neither nor without none nothing nobody".split())
#: Words whose infinitive complement is not (yet) done: plans and expectations, and commitments
#: ("signed an agreement to restart the port" does not say the port was restarted).
_PLANNING = frozenset("plan set slate expect intend aim hope schedule propose due potential able likely possible "
                      "chance try seek want agreement deal pact accord promise pledge vow decision "
                      "commitment bid effort attempt offer proposal".split())
#: "The only/first member to endorse it": the infinitive says what was done, not a purpose.
_ORDINALS = frozenset("only first last second third next".split())
#: Verbs linking a subject to what is said of it; they align with each other by their attribute.
_LINKING = frozenset("be remain become stay seem appear".split())
#: Prepositions of place, direction and time, whose object rule 8 checks.
_PLACE_PREPS = frozenset("to in at from into on onto near inside".split())
_PRONOUNS = frozenset("he she it they his her its their him them this these".split())
#: Words that make a nominalisation a plan, not an event that happened (rule 6 for nouns).
_PROSPECTIVE = frozenset("eventual future planned proposed potential possible prospective upcoming expected intended "
                         "envisaged eye view aim goal prospect plan hope".split())


def _key(tok: Any) -> set[str]:
    """Stems a token can match by: its surface form and its lemma."""
    return {stem(tok.text), stem(tok.lemma_)}


def _matches(a: Any, b: Any) -> bool:
    ka, kb = _key(a), _key(b)
    if ka & kb:
        return True
    return any(len(x) >= 5 and len(y) >= 5 and x[:5] == y[:5] for x in ka for y in kb)


def _derives(a: Any, b: Any) -> bool:
    """Rule 4 by form: same stem or prefix (:func:`_matches`), one word derived from the other
    ("withdrew" ~ "withdrawal"), or ``b`` derived from a one-word equivalent of ``a``'s phrasal verb
    ("pulled out" ~ "withdrawal")."""
    if _matches(a, b):
        return True
    forms = (a.lemma_.lower(), a.text.lower(), *phrasal_equivalents(a))
    return any(derived(f, g) for f in forms for g in (b.lemma_.lower(), b.text.lower()))


def _prospective(tok: Any) -> bool:
    """True for a nominalisation said of a planned or hoped-for event: "the *eventual* construction",
    "with an eye to the construction", "plans for the construction"."""
    if any(c.dep_ in ("amod", "compound") and c.lemma_.lower() in _PROSPECTIVE for c in tok.children):
        return True
    for a in tok.ancestors:  # the noun phrase around it, up to the verb that governs it
        if a.pos_ in ("VERB", "AUX"):
            return False
        if a.lemma_.lower() in _PROSPECTIVE:
            return True
    return False


def _is_content_verb(tok: Any) -> bool:
    return tok.pos_ == "VERB" and tok.lemma_.lower() not in LIGHT_VERBS and tok.text.lower() not in STOPWORDS


def _entity(tok: Any | None, depth: int = 0) -> str | None:
    """The name a token stands for: a proper noun with its compounds, a possessor's name, the noun a
    "whose/who/which" clause modifies; None for pronouns and descriptions."""
    if tok is None or depth > 4:
        return None
    low = tok.text.lower()
    if low in ("whose", "who", "which", "that"):
        before = [t for t in tok.doc[max(0, tok.i - 3):tok.i] if not t.is_punct]
        if before and (before[-1].pos_ == "PROPN" or before[-1].ent_type_):
            return _entity(before[-1], depth + 1)  # the antecedent stands right before the pronoun
        clause = tok.head
        while clause.dep_ not in ("relcl", "acl") and clause.head is not clause and depth < 4:
            clause = clause.head
            depth += 1
        return _entity(clause.head, depth + 1) if clause.dep_ in ("relcl", "acl") else None
    if tok.pos_ == "PROPN" or tok.ent_type_ in ("PERSON", "ORG", "GPE", "NORP"):
        parts = [t for t in tok.lefts if t.dep_ in ("compound", "flat") and t.pos_ == "PROPN"] + [tok]
        return " ".join(t.text for t in parts)
    for child in tok.children:
        if child.dep_ == "poss":
            return _entity(child, depth + 1)
    return None


def _agent(tok: Any, depth: int = 0) -> str | None:
    """The name acting in a predicate (a verb, a nominalisation or a noun described by a copula)."""
    if depth > 4:
        return None
    if tok.pos_ in ("VERB", "AUX"):
        for child in tok.children:
            if child.dep_ == "nsubj":
                return _entity(child)
            if child.dep_ == "agent":
                return next((_entity(g) for g in child.children if g.dep_ == "pobj"), None)
        if tok.dep_ in ("xcomp", "conj", "ccomp") and tok.head is not tok:
            return _agent(tok.head, depth + 1)
        if tok.dep_ in ("relcl", "acl"):
            return _holder(tok.head, depth + 1)
        return None
    return _holder(tok, depth)


def _holder(tok: Any, depth: int = 0) -> str | None:
    """For a noun: the name it is said of (appositive, copula subject, "of"/possessive agent)."""
    if depth > 4:
        return None
    if tok.dep_ == "appos":
        return _entity(tok.head)
    if tok.dep_ in ("attr", "acomp") and tok.head.pos_ in ("AUX", "VERB"):
        return _agent(tok.head, depth + 1)
    for child in tok.children:
        if child.dep_ == "appos" and _entity(child):
            return _entity(child)
        if child.dep_ == "poss" and _entity(child):
            return _entity(child)
        if child.dep_ == "prep" and child.text.lower() in ("of", "by"):
            obj = next((g for g in child.children if g.dep_ == "pobj"), None)
            if obj is not None and _entity(obj) and tok.pos_ == "NOUN" and tok.text.lower().endswith(("tion", "sion", "ment", "al")):
                return _entity(obj)
    if tok.dep_ in ("nsubj", "nsubjpass"):
        return _entity(tok)
    return None


def _participant(tok: Any | None) -> str | None:
    """A participant's name, or the lemma of a common noun ("authority")."""
    if tok is None:
        return None
    return _entity(tok) or (tok.lemma_.lower() if tok.pos_ == "NOUN" else None)


def _subject_object(verb: Any) -> tuple[Any | None, Any | None]:
    subj = next((c for c in verb.children if c.dep_ == "nsubj"), None)
    obj = next((c for c in verb.children if c.dep_ in ("dobj", "dative")), None)
    return subj, obj


def _swapped(claim_verb: Any, source_verb: Any) -> str | None:
    """Rule 7 for common nouns: the claim's subject is the source's object of the same verb, or the
    reverse ("The authority asked the mayor" against "The mayor asked the authority")."""
    cs, co = (_participant(t) for t in _subject_object(claim_verb))
    ss, so = (_participant(t) for t in _subject_object(source_verb))

    def same(a: str | None, b: str | None) -> bool:
        return bool(a and b and {w.lower() for w in words(a)} & {w.lower() for w in words(b)})

    if (same(cs, so) and not same(cs, ss)) or (same(co, ss) and not same(co, so)):
        return f"role: the source says {ss!r} {source_verb.text} {so!r}, the claim the other way round"
    return None


def verb_time(tok: Any) -> str | None:
    """``past``, ``future`` (will/would, planned/expected/agreed, or a purpose infinitive), or None for a verb token."""
    auxes = {c.text.lower() for c in tok.children if c.dep_ in ("aux", "auxpass")}
    if auxes & {"will", "would", "shall", "'ll"}:
        return "future"
    if tok.tag_ == "VB" and "to" in auxes and tok.dep_ == "advcl" and not any(
            w.lower_ in _ORDINALS for s in tok.head.children for w in (s, *s.children)):
        return "future"  # a purpose infinitive ("signed a deal to reopen the pier"); not "the only one to sign"
    head, hops = tok, 0
    while head.dep_ in ("xcomp", "conj", "acl") and head.head is not head and hops < 3:
        head = head.head
        hops += 1
        if head.lemma_.lower() in _PLANNING:
            return "future"
        if {c.text.lower() for c in head.children if c.dep_ == "aux"} & {"will", "would"}:
            return "future"
    if tok.tag_ == "VBD" or (tok.tag_ == "VBN" and auxes & {"has", "have", "had"}):
        return "past"
    return None


def _negated(tok: Any) -> bool:
    return any(c.text.lower() in _NEGATIONS or c.dep_ == "neg" for c in tok.children) or any(
        c.text.lower() in ("neither", "no") for s in tok.children if s.dep_ in ("nsubj", "nsubjpass") for c in s.children)


def _hops(a: Any, b: Any) -> int:
    """Number of dependency arcs between two tokens of one sentence."""
    up_a = [a] + list(a.ancestors)
    up_b = [b] + list(b.ancestors)
    for i, x in enumerate(up_a):
        for j, y in enumerate(up_b):
            if x.i == y.i:
                return i + j
    return 99


def conflict(claim: str, window: str, context: str = "", similar: Any = None) -> str | None:
    """The one-detail change that makes ``window`` fail to support ``claim``, or None.

    Args:
        claim: One answer sentence, without citation markers.
        window: The source text the lexical test matched (one or two sentences).
        context: Passage text before the window (names a pronoun of the window may refer to).
        similar: Optional ``(word, candidates) -> bool`` synonym test
            (:meth:`assistant.similarity.WordSimilarity.similar`); without it verbs match by form only.

    Returns:
        A reason naming the rule (see the module description), or None when no rule fires.
    """
    c_doc = parse(claim)
    w_doc = parse(window)
    claim_stems = {stem(t.text) for t in c_doc if t.is_alpha and t.text.lower() not in STOPWORDS}
    sents = list(w_doc.sents) or [w_doc[:]]
    primary = max(sents, key=lambda s: len(claim_stems & {stem(t.text) for t in s if t.is_alpha}))
    p_lower = {t.text.lower() for t in primary}
    p_numbers = {v for t in primary if (v := number_value(t.text)) is not None}

    # 1. numbers and dates bound to the primary sentence
    for t in c_doc:
        v = number_value(t.text)
        if v is not None and v not in p_numbers:
            return f"number {t.text!r} is not in the supporting sentence"
        if t.text.lower() in _MONTHS_DAYS and t.text.lower() not in p_lower:
            return f"date {t.text!r} is not in the supporting sentence"
    # 2. capitalised words keep their capital in the source
    caps = {t.text for t in w_doc if t.text[:1].isupper()} | {w for w in words(context) if w[:1].isupper()}
    for t in list(c_doc)[1:]:
        if t.text[:1].isupper() and t.is_alpha and t.text.lower() not in STOPWORDS and t.text not in caps \
                and t.text.rstrip("s") not in caps:
            return f"name {t.text!r} is not a name in the source"
    # 3. quantifiers
    for t in c_doc:
        if t.text.lower() in _QUANTIFIERS and t.text.lower() not in p_lower:
            return f"quantifier {t.text!r} is not in the supporting sentence"
    # 4. content verbs
    w_tokens = [t for t in w_doc if t.is_alpha]
    w_content = [t.text for t in w_tokens if t.text.lower() not in STOPWORDS]
    for t in c_doc:
        if _is_content_verb(t) and not any(_derives(t, s) for s in w_tokens) and not (
                similar is not None and any(similar(f, w_content) for f in (t.text, *phrasal_equivalents(t)))):
            return f"the verb {t.text!r} is not in the supporting sentence"
    # 4b. an item added to a list ("jet fighters, helicopters, submarines and ...") must be in the source
    for t in c_doc:
        if t.dep_ == "conj" and t.pos_ in ("NOUN", "PROPN") and t.head.pos_ in ("NOUN", "PROPN") \
                and not any(_matches(t, s) for s in w_tokens) \
                and not (similar is not None and similar(t.text, w_content)):
            return f"the list item {t.text!r} is not in the supporting sentence"
    # 5-6. polarity and time, per aligned verb
    for t in c_doc:
        if t.pos_ not in ("VERB", "AUX") or t.dep_ in ("aux", "auxpass"):
            continue
        linking = t.lemma_.lower() in _LINKING
        aligned = [s for s in w_doc if s.pos_ in ("VERB", "AUX") and s.dep_ not in ("aux", "auxpass")
                   and (_derives(t, s) or (linking and s.lemma_.lower() in _LINKING))]
        if not aligned:
            # a verb said only by a nominalisation of the source: "has built" against "the eventual construction"
            nouns = [s for s in w_doc if s.pos_ == "NOUN" and _is_content_verb(t) and (
                _derives(t, s) or (similar is not None and similar(t.lemma_.lower(), [s.text])))]
            if nouns and verb_time(t) == "past" and all(_prospective(s) for s in nouns):
                return f"tense: {t.text!r} is past in the claim, planned in the source ({nouns[0].text!r})"
            continue
        if linking:
            # copulas align by what they say of their subject: the attribute
            attr = {stem(c.text) for c in t.children if c.dep_ in ("attr", "acomp")}
            aligned = [s for s in aligned if attr & {stem(c.text) for c in s.children if c.dep_ in ("attr", "acomp")}]
            if not aligned:
                continue
        if all(_negated(s) != _negated(t) for s in aligned):
            return f"negation: {t.text!r} is {'negated' if _negated(t) else 'not negated'} in the claim but not in the source"
        ct = verb_time(t)
        if ct and all({ct, verb_time(s)} == {"past", "future"} for s in aligned):
            return f"tense: {t.text!r} is {ct} in the claim, {'future or planned' if ct == 'past' else 'past'} in the source"
    # 7. roles
    root = next((t for t in c_doc if t.dep_ == "ROOT"), None)
    if root is not None:
        anchor = root
        if root.lemma_.lower() in _LINKING:
            anchor = next((c for c in root.children if c.dep_ in ("attr", "acomp")), None)
        claim_agent = _agent(root) if anchor is not None else None
        scored = []
        if anchor is not None:
            for s in w_doc:
                if s.is_alpha and _matches(anchor, s):
                    near = {stem(x.text) for x in s.subtree}
                    scored.append((len(near & claim_stems), s))
            scored.sort(key=lambda x: -x[0])
        if scored and anchor is root and scored[0][1].pos_ in ("VERB", "AUX"):
            swapped = _swapped(root, scored[0][1])
            if swapped:
                return swapped
        if scored and claim_agent:
            src = scored[0][1]
            src_agent = _agent(src) if src.pos_ in ("VERB", "AUX") else _holder(src)
            if src_agent and not ({w.lower() for w in words(src_agent)} & {w.lower() for w in words(claim_agent)}):
                return f"role: the source says {src_agent!r} {anchor.text}, not {claim_agent!r}"
    # 7b. "X is Y": the source must bind the subject and the attribute (apposition, copula, compound)
    if root is not None and root.lemma_.lower() in _LINKING:
        subj = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        attr = next((c for c in root.children if c.dep_ in ("attr",)), None)
        if subj is not None and attr is not None and subj.pos_ in ("NOUN", "PROPN") and attr.pos_ in ("NOUN", "PROPN"):
            s_toks = [s for s in w_doc if s.is_alpha and _matches(subj, s)]
            a_toks = [s for s in w_doc if s.is_alpha and _matches(attr, s)]
            if s_toks and a_toks and min(_hops(a, b) for a in s_toks for b in a_toks) > 2:
                return f"role: the source does not say that {subj.text!r} is {attr.text!r}"
    # 7c. "the X that V-ed were A, B and C": each of A, B, C must be the source's agent of V
    if root is not None and root.lemma_.lower() in _LINKING:
        subj = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        attr = next((c for c in root.children if c.dep_ == "attr"), None)
        rel = next((c for c in subj.children if c.dep_ == "relcl" and _is_content_verb(c)), None) if subj is not None else None
        if rel is not None and attr is not None:
            listed = [t for t in [attr, *attr.conjuncts, *(c for c in attr.children if c.dep_ == "appos")]
                      if _entity(t)]
            src = [s for s in w_doc if s.pos_ == "VERB" and _matches(rel, s)]
            agents = {a for s in src if (a := _agent(s))}
            for t in listed:
                if agents and not any({w.lower() for w in words(_entity(t) or "")} & {w.lower() for w in words(a)}
                                      for a in agents):
                    return f"role: the source says {sorted(agents)[0]!r} {rel.text}, not {_entity(t)!r}"
    # 7d. possessors: "the regime's invasion" against "Putin's invasion"
    for t in c_doc:
        poss = next((c for c in t.children if c.dep_ == "poss"), None)
        if poss is None or poss.pos_ == "PRON" or t.pos_ != "NOUN":
            continue
        claim_owner = _entity(poss) or poss.lemma_.lower()
        for s in w_doc:
            s_poss = next((c for c in s.children if c.dep_ == "poss"), None)
            if s.pos_ == "NOUN" and _matches(t, s) and s_poss is not None and _entity(s_poss):
                owner = _entity(s_poss) or ""
                if not ({w.lower() for w in words(owner)} & {w.lower() for w in words(claim_owner)}):
                    return f"role: the source says {owner!r}'s {s.text}, not {claim_owner!r}'s"
    # 8. attachment of prepositional names and dates
    for t in c_doc:
        if t.dep_ != "pobj" or not (t.pos_ == "PROPN" or t.ent_type_ in ("GPE", "LOC", "DATE")):
            continue
        prep = t.head
        head = prep.head if prep.dep_ == "prep" else None
        if head is None or head.pos_ != "NOUN" or prep.text.lower() not in _PLACE_PREPS:
            continue
        targets = [s for s in w_doc if s.is_alpha and _matches(head, s)]
        names = [s for s in w_doc if s.text.lower() == t.text.lower()]
        if targets and names and min(_hops(a, b) for a in names for b in targets) > MAX_HOPS:
            return f"attachment: {prep.text} {t.text!r} is not said of {head.text!r} in the source"
    return None


def has_pronoun(text: str) -> bool:
    """True when ``text`` holds a pronoun or possessive that may refer to a name said before it."""
    return bool({w.lower() for w in words(text)} & _PRONOUNS)
