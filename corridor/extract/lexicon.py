"""Word patterns the incident stages share: violence triggers, event-type cues, background and reference cues."""

from __future__ import annotations

import re

from corridor.extract import prefilter

I = re.I

# A violent event is being talked about.
TRIGGER = prefilter.compile(
    r"\b(bomb(?:s|ing|ings|ed|er|ers)?|blasts?|explosions?|exploded|explosives?|IEDs?|grenades?|detonat\w+|"
    r"suicide|gunm[ae]n|gunfire|opened\s+fire|fired\s+(?:[\w.-]+\s+){0,3}(?:rounds|shots|bullets)|shootings?|fired\s+(?:at|on|upon)|firing|shooting|shot|ambush\w*|attack(?:s|ed|ers?)?|"
    r"assault(?:s|ed)?|raid(?:s|ed)?|stormed|storming|gun\s+battle|killed|killing|martyred|injured|wounded|stabb\w*|"
    r"VBIEDs?|KIA|WIA|"
    r"assassinat\w+|gunned\s+down|kidnap\w*|abduct\w*|hostages?|hijack\w*|rockets?|mortars?|landmine|"
    r"(?:blew|blow|blows|blowing|blown)\s+(?:himself|herself|themselves)?\s*up|set\s+(?:on\s+)?fire|torched|sabotage\w*)\b",
    I,
)
# Words that name one specific event ("a blast", "the attack", "yesterday's bombing").
_EVENT_NOUN = (
    r"(?:[\w-]+\s+){0,3}?(?:bomb(?:ing|er|ers)?|blast|explosion|attack|attackers?|assault|shooting|ambush|raid|"
    r"hijacking|kidnapping|abduction|strike|incident|firing|siege|gunfight|gun\s+battle|gunm[ae]n|assailants?|"
    r"stabbing|VBIED|IED)\b"
)
# An event introduced as new to the reader: "a blast", "gunmen opened fire", "killed".
INTRODUCES = prefilter.compile(
    rf"\b(?:a|an)\s+{_EVENT_NOUN}|\b(?:exploded|went\s+off|opened\s+fire|stormed|ambushed|attacked|shot|"
    r"kidnapped|abducted|hijacked|detonated|blew\s+(?:himself|herself|themselves)\s+up|rammed|struck|targeted|"
    r"killed|killing|injured|injuring|wounded|wounding|martyred|gunned\s+down)\b",
    I,
)
# An event referred to as already known: "the attack", "yesterday's bombing".
REFERS = prefilter.compile(rf"\b(?:the|this|that|yesterday's|today's|last\s+\w+'s|\w+day's)\s+{_EVENT_NOUN}", I)
SPECIFIC = prefilter.compile(f"(?:{INTRODUCES.pattern})|(?:{REFERS.pattern})", I)

# Background: aggregates, trends and generic talk of attacks (not one incident).
AGGREGATE = prefilter.compile(
    r"\b(?:over|in|during|within)\s+the\s+(?:past|last|previous)\s+(?:decade|few\s+years|\w+\s+years|years|months|"
    r"\w+\s+months|year)|\bsince\s+(?:19|20)\d\d|\bsince\s+(?:the\s+)?(?:start|beginning|launch)|so\s+far\s+this\s+year|"
    r"this\s+year\s+alone|in\s+recent\s+(?:years|months|weeks|times)|\b(?:a|the)\s+(?:series|string|spate|wave|"
    r"number|rise|surge|increase|spike|uptick)\s+(?:of|in)\s+(?:\w+\s+){0,2}(?:attacks|violence|incidents|killings)|"
    r"\battacks\s+(?:on|against|targeting)\s+(?:\w+\s+){0,2}(?:chinese|foreign|foreigners|security|cpec|police)|"
    r"\bsince\s+(?:january|february|march|april|may|june|july|august|september|october|november|december)\b(?!\s+\d)|"
    r"\b(?:repeated|frequent|recurring|sporadic|recurrent)\s+(?:[\w-]+\s+)?(?:clashes|attacks|violence|killings|"
    r"bombings|ambushes)\b|"
    r"\bsimilar\s+attacks|\b(?:attacked|targeted|hit|struck)\s+(?:twice|three\s+times|several\s+times|repeatedly)\b|\b(?:many|several|numerous|multiple|repeated|frequent|recurring|deadly|sporadic|separate)\s+attacks|"
    r"\b(?:have|has)\s+been\s+(?:killed|targeted|attacked)\s+in\s+(?:similar|various|several|multiple|different)|"
    r"\bacross\s+the\s+(?:province|country|region|city|district)|\battacks\s+were\b|"
    r"\b(?:both|all|the\s+two|the\s+three|these|two|three|four|five|six|several|\d+)\s+(?:(?:separate|different|"
    r"coordinated|simultaneous|parallel|deadly|similar|twin|related)\s+)?(?:attacks|incidents|bombings|blasts)\b|"
    r"\bin\s+the\s+first\s+(?:\w+\s+)?(?:months?|weeks?|half|quarter)\b|\b\d+(?:\.\d+)?\s*(?:percent|per\s+cent|%)|"
    r"\bin\s+total\b|\baltogether\b|\bcumulative|\bdeadliest\s+year|\bannual\s+(?:report|review)",
    I,
)
# Hypothetical or future: not an incident that happened.
MODAL = prefilter.compile(
    r"\b(?:could|would|might|may|plans?\s+to|planning\s+to|threat\s+of|risk\s+of|fears?\s+of|"
    r"prevent(?:ed|ing)?|foiled|thwarted|averted)\b",
    I,
)
FOILED = prefilter.compile(r"\b(?:foiled|thwarted|averted|defused|prevented)\b", I)
# The sentence refers back to an earlier event.
BACKREF = prefilter.compile(
    r"\b(?:(?:targeted|attacked|hit|struck)\s+before\b|in\s+the\s+past\b|follows?|following(?!\s+(?:day|morning|afternoon|evening|night|week))|came\s+after|comes\s+after|comes?\s+(?:weeks|months|days|a\s+year)\s+after|"
    r"(?:weeks|months|days|years|a\s+year|a\s+month|a\s+week)\s+after|previous(?:ly)?|earlier\s+(?:attack|bombing|incident|"
    r"assault)|last\s+(?:year|month|January|February|March|April|May|June|July|August|September|October|November|"
    r"December)|recalled|recalling|recall|citing|pointing\s+to|in\s+the\s+wake\s+of|anniversary|a\s+year\s+ago|months\s+ago|years\s+ago|"
    r"similar\s+(?:attack|incident|bombing)|was\s+the\s+(?:latest|second|third)|reminiscent|back\s+in)\b",
    I,
)
# "comes five months after three teachers were killed": the trigger after the cue is another, earlier event.
RELATIVE_TO = prefilter.compile(
    r"\b(?P<n>\d+|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|several|few)"
    r"\s+(?P<unit>days?|weeks?|months?|years?)\s+(?:after|since|before)\b",
    I,
)
NEW_EVENT = prefilter.compile(
    r"\b(?:in\s+(?:a|another)\s+(?:separate|similar|different)?\s*(?:incident|attack)|separately|"
    r"in\s+another|another\s+(?:attack|blast|bombing|incident|explosion)|elsewhere)\b",
    I,
)

# Event-type cues, strongest first.
TYPE_CUES: list[tuple[str, re.Pattern[str]]] = [
    (
        "hijacking",
        prefilter.compile(
            r"\bhijack\w*|\b(?:train|bus|plane|aircraft|passengers)\b[^.]{0,60}\bhostages?\b|"
            r"\bhostages?\b[^.]{0,60}\b(?:train|bus|passengers)\b|"
            # "seized the Jaffar Express with 400 passengers aboard"
            r"\b(?:seized|took\s+over|commandeered|took\s+control\s+of)\s+(?:the\s+|a\s+)?(?:[\w-]+\s+){0,3}?"
            r"(?:train|express|bus|coach|plane|aircraft|ferry|boat)\b",
            I,
        ),
    ),
    (
        "kidnapping",
        prefilter.compile(r"\b(?:kidnap\w*|abduct\w*|taken\s+hostage|held\s+hostage|whisked\s+away)\b", I),
    ),
    (
        "suicide_bombing",
        prefilter.compile(
            r"\bsuicide\s+(?:bomb\w*|attack\w*|blast|car|vest|jacket|vehicle|explosion|"
            r"squad|assault|VBIED|IED)|\b(?:blew|blow|blows|blowing|blown)\s+(?:himself|herself|themselves)\s+up|"
            r"\bself-detonat\w*|\bdetonat\w+\s+(?:his|her|their)\s+(?:suicide\s+|explosives?\s+)?(?:vest|jacket|belt)s?\b|"
            r"\bfidayee?n\b|\bsuicide\s+(?:bomber|attacker)s?\b"
            # a vehicle packed with explosives driven into its target has a driver who dies with it
            r"|\b(?:explosives?[- ](?:laden|packed|filled|rigged)|bomb[- ]laden|(?:laden|packed|loaded)\s+with\s+"
            r"explosives)\b[^.;]{0,60}?\b(?:rammed|crashed|slammed|drove|driven)\b"
            r"|\b(?:rammed|crashed|slammed|drove)\s+(?:[\w-]+\s+){0,3}?"
            r"(?:explosives?[- ](?:laden|packed|filled|rigged)|bomb[- ]laden)\b",
            I,
        ),
    ),
    (
        "attack_on_facility",
        prefilter.compile(
            r"\b(?:stormed|storming|laid\s+siege|besieged|breached|entered|forced\s+their\s+way\s+into|complex\s+attack|"
            r"attack(?:ed)?\s+(?:on\s+)?(?:the|a|an|their|its|his|two|three|several)\s+(?:[\w'’-]+\s+){0,3}"
            r"(?:camp|base|complex|compound|consulate|airbase|check\s*-?posts?|checkpoints?|posts?|outposts?|"
            r"police\s+stations?|"
            r"air\s+base|cantonment|naval\s+(?:air\s+)?station|garrison|headquarters|office|port|facility|installation|plant|"
            r"project\s+site|prison|jail)|(?:blew\s+up|damaged|destroyed|torched|set\s+(?:on\s+)?fire)\s+(?:\w+\s+){0,3}"
            r"(?:pipeline|railway\s+track|track|tower|pylon|bridge|transmission|grid|school|gas|power))\b",
            I,
        ),
    ),
    (
        "bombing",
        prefilter.compile(
            r"\b(?:bomb(?:s|ing|ings|ed)?|blasts?|explosions?|exploded|explosives?|IEDs?|"
            r"improvised\s+explosive|grenades?|detonat\w+|landmine|mine\s+blast|rockets?|mortars?|VBIEDs?|"
            r"magnetic\s+bomb|sticky\s+bomb)\b",
            I,
        ),
    ),
    (
        "targeted_killing",
        prefilter.compile(
            r"\b(?:shot\s+dead|gunned\s+down|assassinat\w+|target(?:ed)?\s+killings?|"
            r"killed\s+in\s+a\s+targeted|shot\s+and\s+killed)\b",
            I,
        ),
    ),
    (
        "armed_assault",
        prefilter.compile(
            r"\b(?:gunm[ae]n|gunfire|opened\s+fire|fired\s+(?:at|on|upon)|firing|shooting|"
            r"shot|ambush\w*|gun\s+battle|armed\s+(?:men|assailants|attackers|group|gang|militants)|assault\w*|"
            r"fired\s+(?:[\w.-]+\s+){0,3}(?:rounds|shots|bullets)|"
            r"attack(?:s|ed|ers?)?|raid\w*|stabbed|stabbing|knife)\b",
            I,
        ),
    ),
    (
        # arson at a site (GTD's facility/infrastructure attack): the incident's type only when nothing else
        # happened; trucks set on fire after a shooting leave it an armed assault
        "arson",
        prefilter.compile(
            r"\b(?:torched|set\s+(?:on\s+)?fire(?:\s+to)?|burnt|burned|set\s+ablaze)\s+(?:[\w-]+\s+){0,3}?"
            r"(?:trucks?|vehicles?|machinery|equipment|cranes?|excavators?|bulldozers?|containers?|tankers?|camp|site|"
            r"offices?|buildings?|dumpers?|generators?)\b",
            I,
        ),
    ),
    (
        "threat",
        prefilter.compile(
            r"\b(?:threat(?:s|ened|ening)?\s+(?:to\s+attack|letter|call)|warned\s+of\s+attacks|"
            r"bomb\s+threat|hoax)\b",
            I,
        ),
    ),
]

# Diplomacy, statements, policy: events, not incidents.
MEETING = prefilter.compile(
    r"\b(?:met|meeting|meets|talks|held\s+talks|summit|conference|sidelines|visit(?:ed|ing|s)?|"
    r"delegation|dialogue|discussions?|discussed|discussing)\b",
    I,
)
STATEMENT = prefilter.compile(
    r"\b(?:said|says|stated|statement|pledged|pledges|assured|affirmed|condemned|condemns|urged|"
    r"urges|emphasi[sz]ed|stressed|announced|vowed|expressed|called\s+(?:on|for)|spokes(?:person|man|woman)|"
    r"told\s+reporters|press\s+conference|highlighted|acknowledged|underscored)\b",
    I,
)
POLICY = prefilter.compile(
    r"\b(?:approved|signed|agreement|memorandum|MoU|policy|plan|framework|deploy(?:ed|ment)?|"
    r"standard\s+operating\s+procedures|SOPs?|security\s+force|special\s+security\s+division|"
    r"budget|allocated|initiative)\b",
    I,
)
