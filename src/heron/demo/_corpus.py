"""Text material for the demo traffic: topics, paraphrases, replies, complaints.

Each topic lists *intents*, and each intent several paraphrases that share the
same slots, so a rephrased question really says the same thing in other words
(what a rephrase detector has to find) while two different questions do not.
Replies are assembled from topic sentences so they stay on topic and vary in
length. Everything here is plain data; the generator formats it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Topic:
    """The material for one topic; ``intents`` holds paraphrase groups, ``answers`` general sentences."""

    name: str
    slots: dict[str, tuple[str, ...]]
    intents: tuple[tuple[str, ...], ...]
    direct: tuple[str, ...]
    """The direct answer to each intent, aligned with ``intents``."""
    follow_ups: tuple[str, ...]
    answers: tuple[str, ...]


TOPICS: dict[str, Topic] = {}


def _topic(topic: Topic) -> None:
    TOPICS[topic.name] = topic


_topic(Topic(
    name="billing",
    slots={
        "plan": ("Pro", "Team", "Premium", "Family", "Starter"),
        "amount": ("$12.99", "$29.00", "$49", "$120", "$9.99"),
        "month": ("in March", "last month", "this month", "in January", "yesterday"),
        "card": ("Visa", "Mastercard", "Amex card", "PayPal account", "debit card"),
    },
    intents=(
        ("Why was I charged twice for my {plan} subscription {month}?",
         "I see two charges of {amount} on my {card} {month}, why?",
         "My {card} got billed {amount} twice {month}. Can you explain?",
         "there are 2 payments of {amount} for {plan} {month}??"),
        ("How do I cancel my {plan} plan?",
         "I want to stop my {plan} subscription, where do I do that?",
         "What are the steps to cancel {plan} before the next billing date?",
         "how to unsubscribe from {plan}"),
        ("Can I get a refund for the {amount} charge {month}?",
         "Is it possible to get my {amount} back? I didn't use {plan} {month}.",
         "I'd like a refund of {amount}, how does that work?"),
        ("How do I change the card on file to my {card}?",
         "I need to update my payment method to my {card}.",
         "Where can I switch billing to a new {card}?"),
        ("Where can I download the invoice for the {amount} payment {month}?",
         "I need a PDF invoice for {plan} {month} for my expense report.",
         "How do I get a receipt for the {amount} I paid {month}?"),
    ),
    direct=(
        "A second charge of {amount} is usually a temporary authorization hold that disappears within 3-5 "
         "business days; if it is still there after that, we refund it in full.",
        "To cancel {plan}, open Settings > Billing > Manage plan and choose Cancel subscription; you keep "
         "access until the end of the current period.",
        "You can request a refund of {amount} under Billing > History: select the payment and choose Request "
         "refund.",
        "To switch to your {card}, open Billing > Payment methods, add it and set it as the default.",
        "Invoices are under Billing > History; click the {amount} payment and choose Download PDF.",
    ),
    follow_ups=("How long does that usually take?", "Will I lose my {plan} features right away?",
                "Do I need to contact my bank as well?", "Is there a fee for that?",
                "Can I do that from the mobile app?", "What if I'm on an annual {plan} plan?"),
    answers=(
        "You can manage your subscription under Settings > Billing.",
        "A second charge of {amount} is often a temporary authorization hold that drops off within 3-5 business "
         "days.",
        "If the duplicate {amount} charge is still there after five days, we can refund it in full.",
        "Refunds go back to the original payment method and usually appear within 5-10 business days.",
        "Canceling stops future renewals; you keep your {plan} features until the end of the current period.",
        "To change your payment method, open Billing, choose Payment methods and add your {card}.",
        "Invoices are available as PDFs under Billing > History, one per payment.",
        "Annual {plan} plans can be refunded pro rata within the first 30 days.",
        "You don't need to contact your bank unless the charge stays pending for more than a week.",
        "There is no fee for canceling or switching plans.",
    ),
))

_topic(Topic(
    name="account",
    slots={
        "device": ("iPhone", "Android phone", "laptop", "work computer", "iPad"),
        "email": ("Gmail address", "Outlook address", "work email", "old Yahoo address"),
        "method": ("SMS code", "authenticator app", "security key", "backup code"),
    },
    intents=(
        ("I forgot my password and the reset email never arrives.",
         "The password reset link isn't coming to my {email}.",
         "How do I reset my password if I don't get the reset email?",
         "cant reset password, no email"),
        ("I'm locked out because I lost the phone with my {method}.",
         "My {method} doesn't work anymore, how do I log in?",
         "How can I get into my account without my {method}?"),
        ("How do I change the email on my account to my {email}?",
         "I want to switch my login email to my {email}.",
         "Can I update the email address I sign in with?"),
        ("The app keeps logging me out on my {device}.",
         "Why do I get signed out every few minutes on my {device}?",
         "I have to log in again constantly on my {device}, what's wrong?"),
        ("How do I delete my account and all my data?",
         "I want to permanently close my account.",
         "What's the process to remove my account completely?"),
    ),
    direct=(
        "If the reset email doesn't arrive, check your spam folder, then request a new link from the sign-in "
         "page; each link is valid for 30 minutes.",
        "Without your {method}, sign in with one of your backup codes; if you don't have them, support can "
         "verify your identity and reset two-factor authentication.",
        "Go to Settings > Account > Email, enter your {email} and confirm it from the link we send there.",
        "Frequent sign-outs on a {device} usually come from cleared cookies, a VPN or an outdated app; update "
         "the app and sign in again.",
        "Go to Settings > Account > Delete account; your data is removed after a 14-day grace period in which "
         "you can still cancel.",
    ),
    follow_ups=("Will I lose my saved data?", "How long is the link valid?", "Does this also work on my {device}?",
                "Can I turn on the {method} again afterwards?", "Do I need to sign out everywhere else?"),
    answers=(
        "Check your spam folder first; reset emails sometimes get filtered.",
        "You can request a new reset link from the sign-in page; each link is valid for 30 minutes.",
        "If you lost access to your {method}, use one of the backup codes you saved when you enabled it.",
        "Without backup codes, our support team can verify your identity and reset two-factor authentication.",
        "To change your email, go to Settings > Account and confirm the new {email} from the link we send.",
        "Frequent sign-outs on a {device} are usually caused by clearing cookies or a VPN changing your IP.",
        "Updating the app and signing in once more usually fixes session problems.",
        "Deleting your account removes all data after a 14-day grace period in which you can still cancel.",
        "You will be signed out of every other device once the change goes through.",
    ),
))

_topic(Topic(
    name="coding",
    slots={
        "lang": ("Python", "JavaScript", "TypeScript", "Go", "Rust", "Java"),
        "thing": ("a list of dictionaries", "a CSV file", "a JSON response", "a date string", "a nested array"),
        "error": ("TypeError", "KeyError", "null pointer exception", "timeout", "IndexError"),
        "lib": ("pandas", "React", "Django", "requests", "asyncio", "SQLAlchemy"),
    },
    intents=(
        ("How do I sort {thing} by a field in {lang}?",
         "What's the best way to order {thing} by one key in {lang}?",
         "In {lang}, how can I sort {thing}?"),
        ("Why am I getting a {error} when using {lib}?",
         "I keep hitting a {error} with {lib}, what causes it?",
         "{lib} throws a {error} and I don't understand why.",
         "getting {error} from {lib}, help"),
        ("How do I parse {thing} in {lang}?",
         "What's the simplest way to read {thing} with {lang}?",
         "Can you show me how to load {thing} in {lang}?"),
        ("How do I write a unit test for code that uses {lib}?",
         "What's a good way to mock {lib} in my tests?",
         "How should I test a function that calls {lib}?"),
        ("My loop over {thing} in {lang} is really slow, how do I speed it up?",
         "How can I make processing {thing} faster in {lang}?",
         "Performance tips for iterating {thing} in {lang}?"),
    ),
    direct=(
        "In {lang}, sort {thing} with the built-in sort and a key function that returns the field you want.",
        "A {error} from {lib} usually means a value is missing or has the wrong type; print the input right "
         "before the call.",
        "To parse {thing} in {lang}, use the standard library parser instead of splitting strings by hand.",
        "Mock {lib} at the boundary of your function so the test checks your own logic, not the library.",
        "To speed up the loop over {thing}, move unchanged work out of it and use a dictionary for lookups "
         "instead of a nested scan.",
    ),
    follow_ups=("Can you show a complete example?", "What about error handling?",
                "Is there a way to do it without {lib}?", "Does this work on older versions of {lang}?",
                "Why does that work?", "Can you add comments to the code?"),
    answers=(
        "In {lang}, the idiomatic approach is to pass a key function to the built-in sort.",
        "For example: `sorted(items, key=lambda item: item[\"date\"])` returns a new sorted list.",
        "A {error} usually means a value is missing or has a different type than {lib} expects.",
        "Add a breakpoint just before the failing line and inspect the value you pass to {lib}.",
        "Use the standard library parser rather than splitting strings by hand; it handles quoting and escapes.",
        "Mock {lib} at the boundary of your function so the test checks your logic, not the library.",
        "Move work that doesn't change out of the loop and use a dictionary for lookups instead of a nested scan.",
        "Profiling first tells you where the time actually goes; it is often I/O rather than the loop itself.",
        "```\nresult = [row for row in rows if row.get(\"status\") == \"active\"]\n```",
        "Wrap the call in a try/except and log the offending input so you can reproduce it.",
    ),
))

_topic(Topic(
    name="travel",
    slots={
        "city": ("Lisbon", "Tokyo", "Mexico City", "Rome", "Reykjavik", "Bangkok", "New York", "Cape Town"),
        "days": ("3", "4", "5", "7", "10"),
        "month": ("May", "October", "December", "the summer", "spring"),
        "budget": ("$1,500", "$3,000", "a tight budget", "$800"),
    },
    intents=(
        ("Can you plan a {days}-day trip to {city} in {month}?",
         "What should I do in {city} with {days} days in {month}?",
         "Give me a {days} day itinerary for {city}.",
         "{days} days in {city}, what do you recommend?"),
        ("Is {month} a good time to visit {city}?",
         "What's the weather like in {city} in {month}?",
         "Should I go to {city} in {month} or wait?"),
        ("How do I get from the airport to the center of {city}?",
         "What's the cheapest way from {city} airport into town?",
         "Airport transfer options in {city}?"),
        ("Can I do {city} for {days} days on {budget}?",
         "Is {budget} enough for {days} days in {city}?",
         "How far does {budget} go in {city} for {days} days?"),
    ),
    direct=(
        "Here's a {days}-day plan for {city}: the historic center first, a day for museums, one for food "
         "markets, and one kept free for a day trip.",
        "{month} is a good time for {city}: pleasant weather and fewer crowds than in peak season.",
        "From the airport, the train or express bus is the cheapest way into central {city}; a taxi costs about "
         "three times more.",
        "{budget} for {days} days in {city} works if you stay in guesthouses and use public transport.",
    ),
    follow_ups=("What about food, any must-try dishes?", "Is it safe to walk around at night?",
                "Can you add a day trip?", "Which neighborhood should I stay in?",
                "Do I need to book museums in advance?"),
    answers=(
        "Day 1: explore the historic center of {city} on foot and end with dinner in a local neighborhood.",
        "Day 2: visit the main museum in the morning and take a food tour in the afternoon.",
        "Keep one day flexible for a day trip outside {city}; trains are usually the easiest option.",
        "{month} is a pleasant time in {city}, though popular sights get crowded on weekends.",
        "The airport train or express bus is the cheapest way into central {city}; taxis cost about three times "
         "more.",
        "With {budget} for {days} days you can manage if you stay in guesthouses and eat where locals eat.",
        "Book the most popular museums online a few days ahead to skip the queues.",
        "Stay near the center so you can walk to most places and save on transport.",
        "Buying a multi-day transit pass in {city} usually pays off after the second day.",
    ),
))

_topic(Topic(
    name="cooking",
    slots={
        "dish": ("lasagna", "pad thai", "banana bread", "chicken curry", "risotto", "sourdough bread"),
        "ingredient": ("eggs", "butter", "heavy cream", "wheat flour", "coconut milk", "fish sauce"),
        "people": ("2", "4", "6", "12"),
        "diet": ("vegan", "gluten-free", "low-carb", "vegetarian", "dairy-free"),
    },
    intents=(
        ("Can you give me a recipe for {dish}?",
         "How do I make {dish} at home?",
         "What's a simple {dish} recipe?",
         "{dish} recipe pls"),
        ("What can I use instead of {ingredient} in {dish}?",
         "I'm out of {ingredient}, what's a good substitute for {dish}?",
         "Is there a replacement for {ingredient} in {dish}?"),
        ("How do I scale a {dish} recipe for {people} people?",
         "I need {dish} for {people} people, how much of everything?",
         "Can you adjust {dish} to serve {people}?"),
        ("How do I make {dish} {diet}?",
         "Is there a {diet} version of {dish}?",
         "Can {dish} be made {diet} without losing flavor?"),
        ("Why did my {dish} turn out dense and dry?",
         "My {dish} failed again, it's too dry. What went wrong?",
         "What makes {dish} come out dry?"),
    ),
    direct=(
        "For {dish}, prepare everything first, cook the base on medium heat, then assemble and let it rest ten "
         "minutes before serving.",
        "Instead of {ingredient} in {dish}, use a plant-based alternative in the same amount; the texture "
         "changes only slightly.",
        "To serve {people}, multiply every ingredient by the same factor, but add the salt gradually and taste.",
        "A {diet} {dish} works if you swap the dairy or flour for a {diet} equivalent and season a little more.",
        "Dry {dish} usually means it cooked too long or had too much flour; check it five minutes earlier next "
         "time.",
    ),
    follow_ups=("How long does it keep in the fridge?", "Can I freeze it?", "Can I prepare it the day before?",
                "What should I serve with it?", "How do I know when it's done?"),
    answers=(
        "Start by preparing all ingredients; {dish} comes together quickly once you start cooking.",
        "For {people} people, multiply each ingredient proportionally but keep the salt a little lower and taste.",
        "Instead of {ingredient}, you can usually use a plant-based alternative in the same amount.",
        "A {diet} {dish} works well if you replace the main dairy or flour with an equivalent ingredient.",
        "Dryness usually comes from overbaking or too much flour; check it five minutes earlier next time.",
        "Let it rest for ten minutes before serving so the texture sets.",
        "It keeps for three days in an airtight container in the fridge and freezes well for a month.",
        "Season in layers: a little salt at each stage gives a rounder flavor than adding it all at the end.",
        "Use medium heat; high heat browns the outside before the inside is cooked.",
    ),
))

_topic(Topic(
    name="returns",
    slots={
        "item": ("headphones", "running shoes", "a blender", "a winter jacket", "a phone case", "a coffee maker"),
        "days": ("10", "25", "40", "60"),
        "reason": ("it arrived damaged", "it's the wrong size", "it stopped working", "I changed my mind"),
        "order": ("#48213", "#77102", "#90551", "#31877", "#66420"),
    },
    intents=(
        ("How do I return {item}? {reason}.",
         "I want to send back the {item} from order {order} because {reason}.",
         "What's the return process for {item}? {reason}."),
        ("Where is my refund for order {order}?",
         "I returned {item} {days} days ago and still have no refund.",
         "When will I get my money back for order {order}?"),
        ("Can I exchange {item} for a different size?",
         "I'd like to swap {item} from order {order} for another size.",
         "Is an exchange possible for {item} instead of a refund?"),
        ("Can I still return {item} after {days} days?",
         "Is it too late to return something I bought {days} days ago?",
         "What's your return window? I bought {item} {days} days ago."),
    ),
    direct=(
        "Start the return from Orders > {order} > Return item and print the prepaid label; since {reason}, "
         "shipping is free.",
        "Refunds for order {order} are issued within 5 business days after the warehouse receives the package.",
        "Choose Exchange instead of Refund on order {order} and pick the new size before printing the label.",
        "Items can be returned within 30 days of delivery, and faulty items within 90 days.",
    ),
    follow_ups=("Do I have to pay for the return shipping?", "Do I need the original box?",
                "Can I drop it off in a store instead?", "What if I lost the receipt?",
                "How will I know you received it?"),
    answers=(
        "Start the return from Orders > {order} > Return item and print the prepaid label.",
        "Items can be returned within 30 days of delivery; damaged or faulty items within 90 days.",
        "Because {reason}, the return shipping is free.",
        "Refunds are issued within 5 business days after the warehouse receives the package.",
        "For an exchange, choose Exchange instead of Refund and pick the new size before printing the label.",
        "You don't need the original box, but please pack {item} securely.",
        "You can also drop it off at any store; bring the order number {order}.",
        "You'll get an email with tracking as soon as the return is scanned.",
    ),
))

_topic(Topic(
    name="health",
    slots={
        "goal": ("lose 5 kg", "run a 10k", "build muscle", "improve my sleep", "get more flexible"),
        "weeks": ("4", "8", "12", "16"),
        "time": ("20 minutes", "30 minutes", "an hour", "45 minutes"),
        "pain": ("knee", "lower back", "shoulder", "ankle"),
    },
    intents=(
        ("Can you make me a workout plan to {goal} in {weeks} weeks?",
         "I want to {goal} within {weeks} weeks, what routine should I follow?",
         "What's a realistic {weeks}-week plan to {goal}?"),
        ("What should I eat to {goal}?",
         "Diet tips to help me {goal}?",
         "How should I change my meals if I want to {goal}?"),
        ("My {pain} hurts after running, should I keep going?",
         "I get {pain} pain when I exercise, is that normal?",
         "Is it ok to train through {pain} pain?"),
        ("I only have {time} a day, what exercise is best?",
         "What's an effective {time} daily workout?",
         "Best routine if I can only train {time} per day?"),
    ),
    direct=(
        "For {weeks} weeks, do three strength sessions and two easy cardio sessions per week, adding about 10% "
         "load each week.",
        "To {goal}, build each meal around protein and vegetables and keep portions consistent from day to day.",
        "Pain in your {pain} that gets worse during exercise is a signal to stop and rest; if it persists, see "
         "a physiotherapist.",
        "With {time} a day, a circuit of squats, push-ups, lunges and planks covers the main muscle groups.",
    ),
    follow_ups=("How many rest days should I take?", "Do I need any equipment?",
                "What if I miss a week?", "How do I track progress?", "Should I take supplements?"),
    answers=(
        "A realistic plan for {weeks} weeks combines three strength sessions and two easy cardio sessions per "
         "week.",
        "Increase the load or distance by about 10% per week to avoid injury.",
        "To {goal}, consistency matters more than intensity; aim for small daily habits.",
        "Prioritize protein at each meal and keep most of your plate vegetables.",
        "Pain in your {pain} that gets worse during exercise is a signal to rest and see a professional.",
        "This is general information, not medical advice; check with a doctor before starting a new program.",
        "With {time} a day, a circuit of squats, push-ups, lunges and planks covers the main muscle groups.",
        "Sleep and recovery are part of training; take at least one full rest day per week.",
    ),
))

_topic(Topic(
    name="writing",
    slots={
        "doc": ("cover letter", "wedding toast", "LinkedIn summary", "blog post", "resignation letter",
                "product description"),
        "tone": ("formal", "friendly", "persuasive", "concise", "warm"),
        "audience": ("a hiring manager", "the team", "our customers", "a landlord", "new clients"),
        "words": ("100", "150", "300", "500"),
    },
    intents=(
        ("Can you write a {tone} {doc} for {audience}?",
         "Help me draft a {doc} addressed to {audience}, {tone} tone.",
         "Write a {doc} for {audience}, keep it {tone}."),
        ("Can you make my {doc} sound more {tone}?",
         "Rewrite this {doc} in a {tone} tone please.",
         "How do I make my {doc} more {tone}?"),
        ("Please shorten my {doc} to {words} words.",
         "Cut this {doc} down to about {words} words.",
         "Can you get my {doc} under {words} words?"),
        ("Can you proofread my {doc} before I send it to {audience}?",
         "Check my {doc} for grammar mistakes please.",
         "Any errors in this {doc}? It's for {audience}."),
    ),
    direct=(
        "Here's a {tone} {doc} for {audience}: it opens with why you're writing, gives one concrete example and "
         "closes with a clear next step.",
        "To make the {doc} more {tone}, I replaced passive constructions with active verbs and shortened the "
         "long sentences.",
        "Here's the {doc} cut to about {words} words, with the key point moved to the first sentence.",
        "I found two small issues in the {doc}: 'its' should be 'it's' in the second paragraph, and the last "
         "sentence needs a period.",
    ),
    follow_ups=("Can you make the opening stronger?", "Now make it a bit shorter.", "Can you give me two alternatives?",
                "Make it less formal.", "Add a sentence about my experience."),
    answers=(
        "Here's a {tone} draft of your {doc}:",
        "Dear reader, I'm writing to share how much this opportunity means to me and what I can bring to it.",
        "I've kept the {doc} to roughly {words} words and moved the key point to the first sentence.",
        "For {audience}, lead with the benefit to them, then give one concrete example.",
        "I replaced passive constructions with active verbs, which makes the text more {tone}.",
        "Two small fixes: 'its' should be 'it's' in the second paragraph, and the last sentence needs a period.",
        "Ending with a clear next step makes the {doc} more effective.",
        "Feel free to adjust the details so it sounds like you.",
    ),
))

# Topics outside the default mix: a "topic" incident makes one appear, as new product
# areas or news events do, so topic-drift detection has something to find.
_topic(Topic(
    name="taxes",
    slots={
        "form": ("W-2", "1099-NEC", "Schedule C", "1040"),
        "year": ("2024", "2025"),
        "thing": ("home office", "freelance income", "crypto sales", "student loan interest"),
    },
    intents=(
        ("Can I deduct my {thing} on my {year} taxes?",
         "Is {thing} deductible for {year}?",
         "Do I get a tax break for {thing} in {year}?"),
        ("Where do I report {thing} on the {form}?",
         "Which line of the {form} is for {thing}?",
         "How do I enter {thing} on form {form}?"),
        ("When is the deadline to file my {year} return?",
         "What's the last day to file taxes for {year}?",
         "Tax filing deadline {year}?"),
    ),
    direct=(
        "Whether {thing} is deductible for {year} depends on how you file; self-employed filers usually report "
         "it on Schedule C.",
        "Report {thing} in the income section of the {form} and attach the supporting schedule.",
        "The federal deadline for {year} returns is usually April 15, and you can request an extension until "
         "October.",
    ),
    follow_ups=("What documents do I need?", "What if I file late?", "Can I amend it later?"),
    answers=(
        "Whether {thing} is deductible depends on how you file; self-employed filers report it on Schedule C.",
        "Keep receipts and statements for at least three years in case of questions.",
        "The federal deadline is usually April 15; you can request an extension until October.",
        "This is general information; a tax professional can confirm it for your situation.",
        "Enter {thing} in the income section of the {form} and attach the supporting schedule.",
    ),
))

_topic(Topic(
    name="smart_home",
    slots={
        "device": ("thermostat", "smart plug", "doorbell camera", "smart bulbs", "robot vacuum"),
        "hub": ("Alexa", "Google Home", "HomeKit", "Home Assistant"),
    },
    intents=(
        ("My {device} keeps disconnecting from {hub}.",
         "Why does my {device} go offline in {hub}?",
         "{device} drops out of {hub} every day, how do I fix it?"),
        ("How do I set up a routine in {hub} for my {device}?",
         "Can {hub} turn my {device} on automatically?",
         "Automation for {device} with {hub}?"),
    ),
    direct=(
        "A {device} dropping out of {hub} usually has a weak 2.4 GHz signal; move it closer to the router or "
         "add a repeater.",
        "In {hub}, create a routine with a time or presence trigger and add the {device} as its action.",
    ),
    follow_ups=("Does it work without internet?", "Can I control it when I'm away?", "Is my data private?"),
    answers=(
        "Most disconnects come from a weak 2.4 GHz signal; move the {device} closer to the router.",
        "Remove the {device} from {hub}, restart it and add it again to refresh the connection.",
        "In {hub}, create a routine with a time or presence trigger and add the {device} as an action.",
        "Firmware updates for the {device} often fix connection drops.",
    ),
))

DEFAULT_TOPIC_MIX: dict[str, float] = {
    "coding": 0.20, "billing": 0.12, "account": 0.11, "travel": 0.11,
    "cooking": 0.11, "returns": 0.12, "health": 0.10, "writing": 0.13,
}
SUPPORT_TOPICS = frozenset({"billing", "account", "returns"})
"""Topics the chat feature answers with the help-center retrieval source."""

OPENERS = ("Sure! ", "Good question. ", "Happy to help. ", "", "", "Here's what I'd suggest. ", "Of course. ")
CLOSERS = ("", "", " Let me know if you need anything else.", " Hope that helps!",
           " Want me to go into more detail on any of these?")
APOLOGIES = ("I apologize for the confusion. ", "Sorry about that, let me try again. ",
             "You're right, my previous answer missed the point. ", "My apologies. ")
VAGUE = (
    "There are several factors to consider here, and the best approach depends on your specific situation.",
    "It's hard to say without more information.",
    "You may want to consult the relevant documentation or a professional.",
    "Generally speaking, there are many options available.",
    "Different people have different preferences, so it really depends.",
)
REFUSALS = (
    "I'm sorry, I can't help with that.",
    "I'm sorry, but I can't assist with that request.",
    "I'm unable to help with that. Is there something else I can do for you?",
    "I can't provide that information.",
)
COMPLAINTS = (
    "that's not what I asked", "you already said that", "this is useless",
    "That doesn't answer my question.", "No, that's wrong.", "Did you even read my question?",
    "I already tried that and it didn't work.", "why is this so hard", "That's not helpful at all.",
)
REPHRASE_PREFIXES = ("", "", "Let me rephrase: ", "To be clear, ", "I mean: ", "No, I'm asking: ", "Again: ")
THANKS = (
    "thanks, that worked!", "Perfect, thank you!", "Great, that's exactly what I needed.", "Thanks!",
    "Awesome, thanks a lot", "That helped, cheers.", "ok thank you", "Brilliant, thanks for the help!",
)
WELCOMES = (
    "You're welcome! Glad it worked.", "Happy to help, good luck!",
    "Anytime! Let me know if anything else comes up.", "Glad I could help!",
)
SUMMARIZE_REQUESTS = (
    "Summarize the following text:\n\n{doc}",
    "Can you give me a short summary of this?\n\n{doc}",
    "TL;DR please:\n\n{doc}",
    "Summarize this for my team in two sentences:\n\n{doc}",
)
SUMMARIZE_FOLLOW_UPS = ("Make it shorter.", "Can you turn that into bullet points?",
                        "Now in a more formal tone, please.", "What's the single most important point?")
SUMMARY_OPENERS = ("Summary: ", "In short: ", "Key points: ", "")

SYSTEM_PROMPTS = {
    ("chat", "v1"): "You are a helpful assistant.",
    ("chat", "v2"): "You are Heron Assistant, a friendly and concise helper. Answer the user's question "
                    "directly, ask for clarification when needed, and never invent account details.",
    ("chat", "v3"): "You are Heron Assistant. Be concise and specific. Start with the direct answer, then at "
                    "most three supporting points. If the request is unclear, ask one clarifying question. "
                    "Never invent account, order or billing details.",
    ("search", "v1"): "Answer the question using the context.",
    ("search", "v2"): "Answer the question using only the context below. Cite the source in brackets.",
    ("search", "v3"): "Answer from the context below only; cite sources in brackets; say 'not found' if the "
                      "context does not contain the answer.",
    ("summarize", "v1"): "Summarize the user's text.",
    ("summarize", "v2"): "Summarize the user's text in at most three sentences, keeping names and numbers.",
    ("summarize", "v3"): "Write a faithful, short summary of the user's text. Keep names and numbers exact.",
}
CLASSIFY_PROMPT = ("Classify the customer's message into exactly one of these intents: {labels}. "
                   "Reply with the intent name only.")

THUMBS_COMMENTS_GOOD = ("Great help, thanks!", "Quick and accurate.", "Exactly what I needed.",
                        "Clear explanation.", "Saved me a lot of time.")
THUMBS_COMMENTS_BAD = ("Didn't answer my question.", "Kept repeating itself.", "Too vague to be useful.",
                       "It refused a normal request.", "The answer was cut off.", "Wrong information.",
                       "Slow and unhelpful.")
COMMENTS_NEUTRAL = ("It was ok.", "Partly helpful.", "Got there in the end.")

ERROR_MESSAGES = {
    "RateLimitError": "Rate limit reached for {model} on tokens per min (TPM): Limit 200000, "
                      "Used 199412, Requested 1520. Please try again in 450ms.",
    "APITimeoutError": "Request timed out.",
    "InternalServerError": "The server had an error while processing your request. Sorry about that!",
    "APIConnectionError": "Connection error.",
}
