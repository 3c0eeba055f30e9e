"""Word lists and patterns behind the cue, complaint, refusal and rephrase signals (English).

Plain data: regular-expression fragments over *normalised* text (lower case,
curly quotes straightened; see :func:`normalise`). ``sentiment.py`` and
``frustration.py`` compile them once at import. Every fragment was written
for chat messages to an assistant and checked against the labelled sets in
``tests/enrich/data`` (docs/ux-quality.md has the numbers); when adding one,
add a positive and a negative case to the tests.

Negation: a trigger listed in a ``*_NEGATABLE`` tuple does not count when
one of :data:`NEGATORS` stands up to two words before it ("not useless",
"no rush", "it's not urgent"); phrases whose meaning *is* a negation ("not
helpful at all", "doesn't make sense") are written out as triggers.
"""

from __future__ import annotations

import re

_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00b4": "'"})


def normalise(text: str) -> str:
    """Lower case with straight quotes: what every pattern here expects."""
    return text.translate(_QUOTES).lower()


NEGATORS = (
    r"not|no|never|hardly|without|isn't|isnt|aren't|wasn't|wasnt|don't|dont|doesn't|doesnt|didn't|didnt"
    r"|can't|cant|cannot|won't|wont|wouldn't|shouldn't|n't"
)


def negated(words: str) -> str:
    """A pattern for ``words`` (an alternation) with a negator up to two words before it."""
    return rf"\b(?:{NEGATORS})\s+(?:[\w']+\s+){{0,2}}(?:{words})\b"


# --- emotional cues -------------------------------------------------------------------------------

GRATITUDE = (
    r"\bthanks?\b", r"\bthank\s*(?:you|u|ya)\b", r"\b(?:thx|thanx|tks|tysm|tyvm|ty)\b", r"\bcheers\b",
    r"\bappreciate(?:d|s)?\b", r"\b(?:much|greatly|really) appreciated\b", r"\bgrateful\b", r"\bthankful\b",
    r"\blife ?saver\b", r"\bkudos\b", r"\bmuch obliged\b", r"\bgracias\b", r"\bmerci\b", r"\bdanke\b",
)
GRATITUDE_BLOCK = (
    r"\bthanks for nothing\b", r"\bno,? thanks?\b", r"\bno,? thank you\b", r"\bthanks to\b",
    r"\bthank you for (?:contacting|reaching out|your patience)\b.{0,40}\b(?:pasted|email|ticket)\b",
    r"\b(?:would|'d|will) appreciate\b", r"\bcaptain obvious\b",
)
GRATITUDE_NEGATABLE = r"appreciate|grateful|thankful"

CONFUSION = (
    r"\b(?:i|i'm|i am)\s+(?:still\s+|really\s+|just\s+)?(?:do\s*not|don't|dont|didn't|didnt|did not|can't|cannot"
    r"|can not|couldn't)\s+(?:really\s+|quite\s+|fully\s+)?(?:understand|get it|get (?:the|what|why|how|this|that)"
    r"|follow|see (?:what|why|how)|figure out what)\b",
    r"\bwhat do you mean\b", r"\bwhat does (?:that|this|it) (?:even )?mean\b", r"\bwhat(?:'s| is) that supposed to mean\b",
    r"\bwhat are you (?:talking about|saying)\b", r"\bnot sure (?:what you(?:'re| are)? ?(?:mean|saying|asking)|i (?:follow|understand|get it))\b",
    r"\bnot sure what you mean\b", r"\bi'm not following\b", r"\bconfus(?:ed|ing|es)\b", r"\bpuzzled\b", r"\bbaffled\b",
    r"\bmakes? no sense\b", r"\b(?:doesn't|does not|doesnt|didn't|don't) make (?:any |much )?sense\b",
    r"\b(?:i'm|i am|im|a bit|totally|completely|so) lost\b", r"^\s*huh\b", r"^\s*(?:sorry,?\s*)?what\s*\?+\s*$",
    r"\b(?:explain|say) (?:that|this|it) again\b", r"\bclarify what you mean\b", r"\bcould you clarify\b",
    r"\bdidn't get (?:it|that|this)\b", r"\b(?:not|isn't|wasn't) (?:very |really )?clear\b", r"\bunclear\b",
    r"\bno idea what (?:you|that|this)\b", r"^\s*wait,? so\b", r"\bso (?:do|should|can) i\b.{0,60}\bor not\b",
    r"\bwhat(?:'s| is) the difference between (?:those|these|them|the two)\b", r"\bwhich (?:one|settings? \w+|button|page)\?",
    r"\byou said (?:two )?different things\b", r"\bcontradict",
)
CONFUSION_BLOCK = (r"\b(?:not|isn't|wasn't|never) (?:that |too |very |at all )?confusing\b",)

URGENCY = (
    r"\basap\b", r"\ba\.s\.a\.p\b", r"\burgent(?:ly)?\b", r"\bemergency\b", r"\bimmediately\b", r"\bright away\b",
    r"\bas soon as possible\b", r"\bhurry\b", r"\btime[- ]sensitive\b", r"\bcritical\b",
    r"\b(?:need|want|fix|answer|help|do|send|stop|give|get|respond|reply|restore|cancel|block|down|broken|failing)\b"
    r"[^.!?]{0,40}\bright now\b",
    r"\bneed\b[^.!?]{0,30}\b(?:now|today|tonight|by tomorrow|by \w+day)\b",
    r"\b(?:answer|respond|reply|help)(?: me)? (?:quickly|fast|now)\b", r"\bquick(?:ly)?,? please\b",
    r"\b(?:boards?|boarding|leaves?|leaving|starts?|starting|due|expires?|closes?|closing|submit\w*|deadline"
    r"|presentation|meeting|interview|call)\b[^.!?]{0,30}\bin (?:\d+|an?|one|two|five|ten|fifteen|twenty|thirty)"
    r" (?:min\w*|hours?|hrs?)\b",
    r"\b(?:have to|need to|must)\b[^.!?]{0,40}\bin (?:\d+|an?|one|two|five|ten|fifteen|twenty|thirty)"
    r" (?:min\w*|hours?|hrs?)\b",
    r"\b(?:expires?|due|deadline is|closes?)\s+(?:today|tonight|in an? hour)\b", r"\bbefore (?:my|the) (?:flight|call|meeting)\b",
    r"\b(?:site|server|production|prod|database|website|app) is down\b", r"\bproduction\b[^.!?]{0,30}\bdown\b",
)
URGENCY_BLOCK = (
    r"\bno (?:rush|hurry)\b", r"\bnot in a (?:rush|hurry)\b", r"\bwhenever you\b", r"\btake your time\b",
    r"\bemergency (?:contact|number|fund|room|exit)s?\b", r"\burgent care\b", r"\bcritical (?:thinking|path|section)\b",
)
URGENCY_NEGATABLE = r"urgent|urgently|emergency|critical|asap|hurry"

_FAILURE = r"\b(?:error|crash\w*|bug|fail\w*|useless|broke\w*|wrong|problem|issue|same|deleted|lost|down)\b"

ANGER = (
    r"\b(?:useless|pointless|worthless|hopeless|ridiculous|absurd|pathetic|garbage|trash|crap|crappy|rubbish"
    r"|stupid|dumb|idiot\w*|moron\w*|terrible|horrible|awful|worst|sucks|infuriating|unacceptable|disgrace\w*"
    r"|incompetent|nonsense)\b",
    r"\b(?:i|we)\s+(?:really\s+|absolutely\s+|just\s+)?(?:hate|despise|can't stand)\b", r"\bhate (?:this|it|you|that)\b",
    r"\b(?:i'm|i am|im|getting|so|really)\s+(?:so\s+|really\s+|very\s+|getting\s+)?(?:angry|furious|pissed|mad|annoyed"
    r"|irritated|frustrated|livid)\b",
    r"\bfrustrat(?:ed|ing)\b", r"\bannoy(?:ing|ed)\b", r"\b(?:fed up|sick of|tired of|done with this)\b",
    r"\bwast(?:e|ed|ing)(?: of)? (?:my |an? |so much |all my )?(?:time|hour|day|money)\b", r"\bwasting my time\b",
    r"\b(?:wtf|ffs|fml|stfu)\b", r"\bwhat the (?:hell|heck|fuck|f)\b", r"\bdamn\b", r"\bdammit\b", r"\bshit\w*\b",
    r"\bf+u+c+k\w*\b", r"\bf\*+\w*\b", r"\bbs\b", r"\bbullshit\b",
    r"\bfor (?:god|christ|pete|fuck|heaven)'?s sake\b", r"\bare you (?:kidding|serious|joking)\b", r"\byou(?:'re| are)? kidding\b",
    r"^\s*seriously\s*[?!]", r"[.!?]\s*seriously\s*[?!]", r"\bwhat is wrong with you\b", r"\bwhat's wrong with you\b",
    r"\bnot listening\b", r"\bdid you (?:even )?read\b", r"\byou (?:clearly |obviously )?didn't (?:even )?read\b",
    r"\bread what i (?:wrote|write|said)\b", r"\bjust answer the question\b",
    r"\b(?:not|isn't|wasn't|never) (?:very |at all |remotely |even )?(?:helpful|useful)(?: at all)?\b", r"\bunhelpful\b",
    r"\bless helpful\b", r"\b(?:didn't|did not|doesn't|does not) help (?:at all|one bit)\b",
    r"\bthanks for nothing\b", r"\bcaptain obvious\b", r"\bthis is a joke\b", r"\bwhat a joke\b", r"\bbad bot\b",
    r"\b(?:stop|quit) (?:giving|sending|repeating|spamming)\b", r"\bi asked (?:you )?(?:three|3|four|4|five|5|multiple|several|many|two|2) times\b",
    r"\bhow many times\b", r"\bi want (?:to (?:talk|speak) to )?a (?:real )?(?:human|person)\b", r"\bugh+\b", r"\bargh+\b",
    r"\btypical\s*[.!]*\s*$", r"\byou(?:'re| are) not even trying\b",
)

SARCASM = (
    r"\boh,? (?:great|sure|perfect|wonderful|brilliant|fantastic|lovely|joy)\b", r"\bjust (?:perfect|great|wonderful|brilliant)\b",
    r"(?:^|[.!,]\s*)not\s*[.!]*\s*$", r"\byeah,? right\b", r"\blove that for me\b",
    rf"\b(?:great|awesome|perfect|wonderful|brilliant|fantastic|lovely|nice)\b[^.!?]{{0,60}}"
    rf"(?:\b(?:another|again)\b[^.!?]{{0,30}}{_FAILURE}|{_FAILURE}[^.!?]{{0,20}}\b(?:another|again)\b)",
    r"\b(?:thanks|great|brilliant|perfect|wonderful)\b[^.!?]{0,60}\bnow\b[^.!?]{0,40}\b(?:won't|doesn't|can't|deleted"
    r"|broken|broke|crashed|lost|gone|nothing)\b",
    r"\?\s*(?:great|very helpful|wonderful|perfect) help\b",
)
"""Praise next to a failure ("oh great, another error"): anger, and it cancels any thanks."""
ANGER_NEGATABLE = (
    r"useless|pointless|worthless|hopeless|ridiculous|absurd|pathetic|garbage|trash|rubbish|stupid|dumb|terrible"
    r"|horrible|awful|worst|hate|annoying|annoyed|frustrated|frustrating|angry|mad|unacceptable|nonsense"
)
ANGER_BLOCK = (
    r"\bno (?:problem|worries)\b", r"\b(?:angry|annoyed|frustrated|upset) (?:customer|client|user|email|message)s?\b",
    r"\bdeal with an? (?:angry|annoyed|frustrated)\b", r"\b(?:hates|hated)\b", r"\bcan't complain\b",
)


# --- complaints about the answer -------------------------------------------------------------------

COMPLAINT = (
    r"\bnot what i (?:asked|meant|wanted|want|need|needed|was looking for|was asking|said|requested)\b",
    r"\b(?:that|this|it)(?:'s| is|s| was) not (?:what|it|right|correct|true|the (?:right|correct)|even close)\b",
    r"^\s*(?:no,?\s*)?that'?s not it\b",
    r"\byou(?:'ve| have)? (?:already|just) (?:said|told|gave|given|suggested|mentioned|sent|showed|recommended)\b",
    r"\byou keep (?:saying|repeating|giving|telling|suggesting|recommending|sending|ignoring|misunderstanding)\b",
    r"\b(?:same|identical) (?:answer|thing|response|reply|link|code|suggestion)s? (?:again|as before|twice)\b",
    r"\b(?:stop|quit) (?:repeating|saying|giving|recommending|sending|suggesting|making (?:things|stuff|it) up|ignoring"
    r"|changing)\b",
    r"\b(?:this|that|it|you|your (?:answer|reply|response|code|suggestion|advice|solution))(?:'s|'re| is| are| was|s)?"
    r" (?:completely |totally |utterly |so |just |really |absolutely )?(?:useless|pointless|worthless|garbage|nonsense"
    r"|rubbish|wrong|incorrect|not helpful|unhelpful|made up|a joke)\b",
    r"^\s*(?:\w+\s*[.!,]\s*)?(?:useless|pointless|wrong|incorrect|nope)\s*[.!]*\s*$", r"[.!]\s*useless\s*[.!]*\s*$",
    r"\bwrong (?:answer|again|info\w*|result|number|city|country|version|language|file|one)\b",
    r"\byou(?:'re| are) (?:not|n't) (?:even )?(?:listening|reading|helping|trying|understanding)\b",
    r"\b(?:are you|you're|you are) (?:even )?listening\b", r"\bdid you (?:even )?(?:read|look at|test|try|check|run)\b",
    r"\byou (?:clearly |obviously |just )?(?:didn't|did not|don't|do not) (?:even )?(?:read|listen|answer|understand|get it)\b",
    r"\bread (?:my question|what i (?:wrote|write|said|asked))\b",
    r"\bi (?:already )?told you\b", r"\b(?:as|like) i (?:already |just )?(?:said|mentioned|explained)\b",
    r"\bi (?:already|just|clearly) (?:said|asked)\b",
    r"\b(?:doesn't|does not|didn't|did not|you didn't|you did not|never) answer(?:ed)? (?:my|the) question\b",
    r"\b(?:just |please )?answer (?:my|the) (?:question|damn question)\b",
    r"\byou (?:misunderstood|misread|got it wrong|missed the point|ignored|forgot)\b",
    r"\b(?:you(?:'re| are)|stop) (?:making (?:things|stuff|it) up|hallucinating|inventing)\b", r"\bmade that up\b",
    r"\b(?:why|how) is (?:this|it) so (?:hard|difficult|complicated)\b",
    r"\bthis is (?:the|my) (?:second|third|fourth|fifth|2nd|3rd|4th|5th|\d+th) time\b",
    r"\bi (?:have |'ve )?asked (?:you )?(?:this )?(?:twice|three times|3 times|multiple times|several times|many times|already)\b",
    r"\bhow many times\b", r"\bthanks for nothing\b", r"\bcaptain obvious\b",
    r"\b(?:these|those|they|all of them)(?:'re| are)? (?:all )?(?:terrible|awful|boring|bad|useless|generic|wrong|the same"
    r"|horrible|rubbish|garbage|nonsense)\b",
    r"\b(?:that|this|it)(?:'s| is) (?:a|an) \w+(?: \w+)? (?:for|of) [\w ]{1,30}, not\b",
    r"\b(?:you gave me|you sent|you suggested|you recommended|you said|you told me|you wrote|you listed)\b[^.!?]{0,50}"
    r"\b(?:doesn't|does not|didn't|did not|isn't|is not|won't|dead|broken|wrong|404|fails?|failed|again|instead|but"
    r"|twice)\b",
    r"\byour (?:answer|code|query|function|script|solution|suggestion|advice|recipe|plan|link|command|example)"
    r" (?:is |was )?(?:wrong|incorrect|broken|doesn't|does not|didn't|did not|has an? (?:error|bug|typo)|throws|fails"
    r"|failed|says|returns|gives|deleted|broke)\b",
    r"\bwhy (?:are|did|do|would) you (?:keep )?(?:listing|giving|talking|recommending|suggesting|sending|telling|saying"
    r"|using|adding|ignoring|repeating|changing)\b",
    r"\bthink harder\b", r"\btry harder\b", r"\bnot even trying\b", r"\bstill (?:not|doesn't|isn't|wrong) (?:answer|what)",
    r"\bthat'?s (?:the )?(?:old|outdated|wrong) (?:version|one|answer|link|page|plan)\b",
)
"""Complaints that stand on their own."""

COMPLAINT_IN_CONVERSATION = (
    r"(?:^|[.,;!?]\s*)i (?:already |just |clearly )?(?:said|mentioned|explained|asked (?:for|about|how|you|if|whether"
    r"|which|what|why))\b",
    r"\b(?:still|again)\b[^.!?]{0,30}\b(?:doesn't|does not|don't|didn't|isn't|not|won't|can't|broken|wrong|fails?"
    r"|failing|same|error|too|getting|get|full|crash\w*)\b", r"\bstill \d+",
    r"\b(?:doesn't|does not|didn't|did not|don't|isn't|is not|won't) (?:work|help|compile|run|exist|answer|add up|fix"
    r"|make sense|load|open)\b",
    r"\b(?:it|this|that)(?:'s| is) (?:still )?not working\b",
    r"\bi (?:already |have already |'ve already |'ve )(?:tried|did|done|checked|restarted|rebooted|updated|cleaned"
    r"|reinstalled|installed|cleared|reset)\b",
    r"\bi (?:tried|did|checked|restarted|rebooted|updated|cleaned|reinstalled|installed|cleared) [^.!?]{0,40}\balready\b",
    r"\bthere(?:'s| is) no [\w ]{1,30}(?:page|button|tab|option|menu|setting|field|link)\b",
    r"\bi can(?:'t|not) find (?:that|the|this|it|any)\b[^.!?]{0,30}\b(?:button|option|setting|page|menu|tab|anywhere)\b",
    r"\bit'?s not there\b", r"(?:^|[.,;!]\s*)try again\s*[.!]*\s*$",
    r"\b(?:too|so|way too|still too) (?:generic|vague|long|complicated|complex|formal|aggressive|boring|short|technical)\b",
    r"\b(?:has|have|throws?|gives?|returns?) (?:a |an )?(?:syntax error|error|404|bug|typo)\b",
    r"\bcome on\b", r"^\s*(?:no,?\s*){2,}", r"\b(?:that|this|it) (?:doesn't|does not|don't) add up\b",
    r"\bthat'?s not (?:a|an) \w+\b",
)
"""Complaints only when the user has written before in the conversation (about an earlier answer)."""

COMPLAINT_BLOCK = (
    r"\bnot (?:a|an) (?:problem|issue|big deal)\b", r"\bno problem\b", r"\bnot (?:urgent|now|yet)\b",
    r"\b(?:what's|what is) wrong with (?:my|this|the)\b",
)


# --- refusals in the reply -------------------------------------------------------------------------

REFUSAL = (
    r"\bi(?:'m| am)? (?:really |so )?(?:can't|cannot|can not|won't|will not|am unable to|'m unable to|unable to"
    r"|am not able to|'m not able to|am not allowed to|'m not allowed to|must decline to|won't be able to|will not be able to"
    r"|am not permitted to|'m not permitted to|do not have the ability to|don't have the ability to|'d rather not|would rather not"
    r"|do not feel comfortable|don't feel comfortable|'m not comfortable|am not comfortable)"
    r" (?:help|assist|provide|do|answer|fulfil|fulfill|comply|generate|create|write|share|process|access|give|make|book"
    r"|continue|offer|support|engage|discuss|disclose|reveal|perform|complete|produce|browse|view|tell|recommend|that|this|with)\b",
    r"\bi must (?:respectfully )?decline\b", r"\bi'?m afraid i (?:can't|cannot|can not|won't)\b",
    r"\b(?:that's|that is|this is|it's|it is) (?:not something i can|outside (?:of )?(?:what i can|my)|beyond (?:what i can|my))\b",
    r"\bas an ai\b(?! (?:model|system)? ?(?:company|startup|engineer|researcher))",
    r"\bi(?:'m| am) (?:not able|unable) to (?:help|assist)\b", r"\b(?:can't|cannot) (?:help|assist) (?:you )?with (?:that|this)\b",
    r"\bi(?:'m| am) not comfortable\b",
    r"\bi(?:'m| am) (?:not able|not allowed|not permitted) to\b", r"\bi'?d rather not\b",
    r"\b(?:sorry|apologi[sz]e|afraid|unfortunately)\b[^.!?\n]{0,30}\bi (?:can't|cannot|can not|won't|will not)\s*(?:[.!]|$)",
)
"""English. :data:`REFUSAL_OTHER` has the same in the other languages Heron reads."""
_VERBS_ES = r"(?:ayudar(?:te|le)?|asistir(?:te|le)?|proporcionar(?:te|le)?|dar(?:te|le)?|hacer(?:lo)?|responder|compartir|generar|crear|escribir|realizar|ofrecer|facilitar)"
_VERBS_PT = r"(?:ajudar|auxiliar|fornecer|dar|fazer|responder|gerar|criar|escrever|compartilhar|partilhar|atender|realizar|oferecer)"
_VERBS_IT = r"(?:aiutar\w*|assister\w*|fornir\w*|dar\w*|far\w*|risponder\w*|generar\w*|crear\w*|scriver\w*|condivider\w*)"
REFUSAL_OTHER = (
    # es
    rf"\bno (?:puedo|podré|me es posible|estoy (?:autorizad[oa]|en condiciones) (?:a|de)|tengo permitido) (?:\w+ )?{_VERBS_ES}\b",
    r"\b(?:lo siento|disculpa|disculpe|perdón|lamentablemente)\b[^.!?\n]{0,30}\bno (?:puedo|me es posible)\b",
    r"\bdebo (?:rechazar|declinar)\b", r"\bno puedo ayudar",
    # de
    r"\b(?:ich kann|kann ich) (?:\w+ ){0,4}nicht (?:helfen|weiterhelfen|behilflich|beantworten|erstellen|schreiben|geben|teilen"
    r"|bereitstellen|ausführen|erfüllen|nachkommen|machen|tun|liefern|anbieten)\b",
    r"\bich darf (?:\w+ ){0,4}nicht\b", r"\bich darf keine\b", r"\bdas (?:kann|darf) ich (?:ihnen |dir )?(?:leider )?nicht\s*(?:[.!,;]|$|tun\b|machen\b|sagen\b|beantworten\b)", r"\b(?:es tut mir leid|leider|entschuldigung)\b[^.!?\n]{0,30}\b(?:ich kann|kann ich) (?:das |dabei |damit |hier )?(?:leider )?nicht\b",
    r"\bich bin (?:leider )?nicht in der lage\b", r"\bich muss (?:das |diese anfrage )?ablehnen\b",
    # fr
    r"\bje ne (?:peux|pourrai|suis pas (?:en mesure|autorisée?) (?:de|d'|à)) ?(?:pas )?(?:vous |t'|te )?(?:aider|répondre|fournir|donner|faire"
    r"|générer|créer|écrire|partager|assister|communiquer|proposer)\b",
    r"\bje ne suis pas en mesure\b", r"\bje dois refuser\b", r"\b(?:désolée?|malheureusement|je regrette)\b[^.!?\n]{0,30}\bje ne (?:peux|pourrai) pas\b",
    # pt
    rf"\b(?:eu )?não (?:posso|consigo|poderei|estou autorizad[oa] a|tenho permissão para) (?:te |lhe |o |a )?{_VERBS_PT}\b",
    r"\b(?:desculpe|desculpa|lamento|infelizmente|sinto muito)\b[^.!?\n]{0,30}\bnão (?:posso|consigo)\b",
    # it
    rf"\bnon (?:posso|sono in grado di|mi è possibile|sono autorizzat[oa] a) (?:\w+ )?{_VERBS_IT}\b",
    r"\b(?:mi dispiace|purtroppo|spiacente)\b[^.!?\n]{0,30}\bnon (?:posso|sono in grado)\b",
)
"""Refusals in Spanish, German, French, Portuguese and Italian ("Lo siento, pero no puedo ayudarte con eso",
"Ich kann Ihnen dabei leider nicht helfen", "Je ne peux pas vous aider", "Não posso ajudar com isso")."""
REFUSAL_WINDOW = 300
"""Refusals are looked for in the reply's first characters: where a model declines, it says so first."""


# --- rephrase markers, acknowledgements, stopwords, acronyms ---------------------------------------

REPHRASE_MARKERS = (
    r"\blet me (?:rephrase|try again|put it (?:another|differently)|be (?:more )?clear(?:er)?)\b", r"\bto be clear\b",
    r"\bin other words\b", r"^\s*(?:no,?\s*)?i mean\b", r"^\s*again\s*[:,]", r"\bi(?:'m| am) asking\b",
    r"\bmy question (?:is|was)\b", r"\bwhat i(?:'m| am) asking\b", r"\bi asked\b", r"\b(?:once|one more time)\b",
    r"\bto rephrase\b", r"\brephras",
)

ACKNOWLEDGEMENTS = frozenset({
    "ok", "okay", "k", "kk", "yes", "no", "yep", "yeah", "nope", "sure", "thanks", "thank", "you", "thx", "ty", "cool",
    "great", "nice", "good", "perfect", "got", "it", "hi", "hello", "hey", "bye", "continue", "go", "on", "next",
    "more", "please", "pls", "cheers", "awesome", "fine", "right", "alright", "y", "n", "and", "so", "lol", "yay",
})
"""A message made only of these is small talk: sending it twice is not a repeat."""

STOPWORDS = frozenset("""
a an the and or but if then so of to in on at for from by with about as into over after before than i me my mine
we us our you your yours he she it its they them their this that these those is am are was were be been being do
does did doing have has had having can could would should will shall may might must just also too very really please
pls what which who whom whose when where why how there here all any some no not only own same such again once now
hi hello hey ok okay thanks thank u ur im i'm it's that's what's don't can't let me i'd i'll i've you're
""".split())

ACRONYMS = frozenset("""
API APIS CSV JSON PDF PDFS SQL URL URLS HTML CSS AWS GCP USA UK EU US OK ID PC TV AI LLM GPU CPU RAM SSD HDD USB SMS FAQ
VPN DNS HTTP HTTPS REST NYC EUR USD GBP IBAN VAT PIN ATM ETA ASAP TLDR TL DR IT HR CEO CTO CV PM AM FYI BTW LOL OMG WTF
IRS NASA PHP JS TS CLI SDK UI UX IOS MAC NBA NFL FBI UTC GMT EST PST CET RSVP DIY PS XML YAML SSH SSL TLS IP TCP UDP LAN
WIFI GPS DM PR QA MVP ROI KPI B2B SAAS CRM ERP SLA TBD ETF IPO LLC INC PTO MBA PHD BMI HIIT PS5 XL XXL
""".split())

WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
"""A word: letters/digits, with one inner apostrophe ("don't")."""


# --- VADER lexicon overlay for messages to an assistant ---------------------------------------------

CHAT_LEXICON: dict[str, float] = {
    # Requests, politeness and product actions, not feelings, in a chat with an assistant ("please help",
    # "what's the weather like", "best way to", "how do I cancel", "not sure which"). Kept in the lexicon
    # at 0 so VADER's negation and booster rules treat the words exactly as before.
    **dict.fromkeys(
        ("please", "pls", "plz", "help", "helps", "like", "sure", "ok", "okay", "yes", "no", "best", "cancel",
         "cancelled", "canceled", "cancelling", "charged", "charges", "block", "stop", "emergency", "urgent"),
        0.0,
    ),
    # Chat words VADER lacks, valued like their nearest VADER entries (useless -1.8, crash -1.7, thx 1.5).
    "nope": -1.2, "pointless": -1.8, "garbage": -1.9, "unhelpful": -1.8, "incorrect": -1.5,
    "crashed": -1.7, "crashes": -1.7, "crashing": -1.7, "tysm": 2.0, "thanx": 1.5,
}
"""Applied on top of VADER's lexicon when ``SentimentEnricher(lexicon="chat")`` (the default)."""


def compile_any(patterns: tuple[str, ...] | list[str]) -> re.Pattern[str]:
    """One regex matching any of ``patterns``.

    The patterns that start at a word boundary share one leading ``\\b``, so the
    engine tries their alternatives only where a word starts: 5-8x faster than
    a plain alternation on chat messages.
    """
    bounded = [p[2:] for p in patterns if p.startswith(r"\b")]
    parts = [r"\b(?:" + "|".join(f"(?:{p})" for p in bounded) + ")"] if bounded else []
    parts += [f"(?:{p})" for p in patterns if not p.startswith(r"\b")]
    return re.compile("|".join(parts) or r"(?!)")
