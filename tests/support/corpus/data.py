"""Fixed corpus data: dates, owner, marker words, charsets, word and name lists, ``PEOPLE``."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

END = datetime(2025, 6, 30, 18, 0, 0, tzinfo=UTC)
SPAN_DAYS = 3 * 365
START = END - timedelta(days=SPAN_DAYS)

OWNER_NAME = "Alice Example"
OWNER_ADDRESS = "alice@example.test"

#: Rare words and the probability that a given message contains each (in its text body).
MARKER_WORDS: dict[str, float] = {
    "zorbulate": 0.10,
    "quixotron": 0.01,
    "blorptastic": 0.001,
    "snarfwidget": 0.0001,
}

CHARSETS = (
    "utf-8",
    "us-ascii",
    "iso-8859-1",
    "windows-1252",
    "koi8-r",
    "iso-2022-jp",
    "shift_jis",
)

# --------------------------------------------------------------------------- vocabulary

_WORDS = """
the of and to a in is that for it as was with be by on not he this are or his from at which
but have an they you were her she there been one all we their has would when if so no will
more out up what about who can its into only time some could them other than then now first
also new any these two may people like over such our after most made should very just where
through back years much well before must between under never same three another while last
might great old year off come since against go came right used take long being still without
here both end few those place until around during every again high once upon last small large
next early young important public private report project meeting team budget review plan
schedule customer client server database release version update deploy build test issue bug
feature request support invoice payment order delivery contract proposal draft final agenda
minutes decision deadline quarter revenue cost estimate forecast analysis summary document
attached please thanks regards morning afternoon tomorrow yesterday today week month friday
monday tuesday wednesday thursday office travel flight hotel conference workshop training
design prototype feedback approval manager director engineer developer analyst designer
account password login security network backup storage migration performance latency cluster
service interface protocol message channel notification calendar invitation reminder follow
discuss share send receive confirm review check need want know think make sure let help
question answer problem solution option detail note change improve reduce increase move
quickly slowly carefully clearly probably certainly maybe perhaps actually finally already
soon later together however therefore although because unless whether either neither
""".split()  # noqa: SIM905 - a word list reads better as text

_EN_OPENERS = (
    "Hi {first},",
    "Hello {first},",
    "Dear {first},",
    "Hey {first},",
    "Good morning {first},",
    "{first},",
)
_EN_CLOSERS = ("Thanks,", "Best regards,", "Cheers,", "Kind regards,", "Best,", "Talk soon,")

_LATIN_SENTENCES = (
    "Könnten Sie mir bitte die Unterlagen bis Freitag schicken?",
    "Die Besprechung findet im großen Saal statt.",
    "Vielen Dank für Ihre schnelle Rückmeldung.",
    "Je vous remercie pour votre réponse rapide.",
    "La réunion est reportée à jeudi prochain à 14 h.",
    "Pourriez-vous vérifier le délai de livraison ?",
    "¿Podrías enviarme el presupuesto del año pasado?",
    "Mañana revisamos la propuesta con el señor Núñez.",
    "Vi ses på mødet i morgen, hilsen Søren.",
    "Grüße aus München und bis bald.",
    "Le café est offert à tous les participants.",
    "Die Änderungen sind ab sofort gültig.",
)
_CP1252_SENTENCES = (
    "The total is €1,250 \u2013 please confirm.",
    "She said \u201cwe\u2019ll ship it on Monday\u201d \u2013 fingers crossed.",
    "Price per unit: €19.99 \u2022 minimum order 10 units.",
    "It\u2019s the \u201cfinal\u201d version\u2026 hopefully.",
)
_RU_SENTENCES = (
    "Добрый день, коллеги.",
    "Отправляю отчёт за прошлый квартал.",
    "Пожалуйста, проверьте данные до пятницы.",
    "Встреча переносится на следующую неделю.",
    "Спасибо за быстрый ответ.",
    "Сервер будет недоступен ночью из-за обновления.",
    "Бюджет проекта утверждён руководством.",
    "С уважением, отдел продаж.",
)
_JA_SENTENCES = (
    "お疲れ様です。",
    "会議の議事録を送ります。",
    "明日の打ち合わせは十時からです。",
    "資料を確認していただけますか。",
    "よろしくお願いいたします。",
    "来週の出張の予定を教えてください。",
    "見積書を添付しました。",
    "サーバーの移行は金曜日に行います。",
)
_INTL_SENTENCES = (
    "我们下周二开会讨论这个问题。",
    "다음 주에 회의가 있습니다.",
    "Το έγγραφο είναι έτοιμο για έλεγχο.",
    "Great work everyone \U0001f389 see you at the release party!",
    "Coffee \u2615 at 10 tomorrow?",
    "Zażółć gęślą jaźń \u2013 test of Polish letters.",
)

_SUBJECTS_EN = (
    "Quarterly budget review",
    "Lunch on Friday?",
    "Server migration plan",
    "Invoice {n}",
    "Meeting notes {d}",
    "Build failure on main",
    "Welcome to the team",
    "Vacation request",
    "Project status update",
    "Question about the contract",
    "Release {v} checklist",
    "Customer feedback summary",
    "Conference travel arrangements",
    "Password reset policy",
    "Weekly report",
    "Design review for the new dashboard",
    "Database backup failed",
    "Offsite agenda",
    "Reminder: timesheets due",
    "Can you review my draft?",
)
_SUBJECTS_LATIN = (
    "Réunion de l'équipe",
    "Überprüfung der Angebote",
    "Presupuesto año {y}",
    "Rückfrage zur Rechnung {n}",
    "Café et croissants vendredi",
    "Änderung im Zeitplan",
)
_SUBJECTS_CP1252 = ("Budget \u2013 final \u201cv{v}\u201d", "Offer: €{n} discount")
_SUBJECTS_RU = ("Отчёт за квартал", "Встреча в понедельник", "Счёт № {n}", "Обновление сервера")
_SUBJECTS_JA = ("会議の議事録", "見積書の送付", "出張の予定について", "サーバー移行のお知らせ")
_SUBJECTS_INTL = ("项目进度 {d}", "회의 일정", "Release party \U0001f389", "Ανασκόπηση εγγράφων")

_LISTS = (
    ("dev", "Commhub developers", "dev.lists.example.org"),
    ("users", "Commhub users", "users.lists.example.org"),
    ("announce", "Example Corp announcements", "announce.example.com"),
    ("security", "Security advisories", "security.lists.example.net"),
)

# language -> (sentences, subjects, [(charset, weight)], header charset order)
_LANGS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[tuple[str, float], ...]]] = {
    "en": (
        (),
        _SUBJECTS_EN,
        (("utf-8", 0.55), ("us-ascii", 0.15), ("iso-8859-1", 0.15), ("windows-1252", 0.15)),
    ),
    "latin": (
        _LATIN_SENTENCES,
        _SUBJECTS_LATIN,
        (("iso-8859-1", 0.45), ("windows-1252", 0.2), ("utf-8", 0.35)),
    ),
    "ru": (_RU_SENTENCES, _SUBJECTS_RU, (("koi8-r", 0.6), ("utf-8", 0.4))),
    "ja": (
        _JA_SENTENCES,
        _SUBJECTS_JA,
        (("iso-2022-jp", 0.5), ("shift_jis", 0.25), ("utf-8", 0.25)),
    ),
    "intl": (_INTL_SENTENCES, _SUBJECTS_INTL, (("utf-8", 1.0),)),
}
_LANG_WEIGHTS = (("en", 0.62), ("latin", 0.14), ("ru", 0.08), ("ja", 0.08), ("intl", 0.08))

# --------------------------------------------------------------------------- people

_FIRST = (
    ("James", "james"),
    ("Mary", "mary"),
    ("John", "john"),
    ("Patricia", "patricia"),
    ("Robert", "robert"),
    ("Jennifer", "jennifer"),
    ("Michael", "michael"),
    ("Linda", "linda"),
    ("David", "david"),
    ("Susan", "susan"),
    ("Daniel", "daniel"),
    ("Karen", "karen"),
    ("Paul", "paul"),
    ("Nancy", "nancy"),
    ("Mark", "mark"),
    ("Emily", "emily"),
    ("Carol", "carol"),
    ("Dave", "dave"),
    ("Erin", "erin"),
    ("Frank", "frank"),
    ("Grace", "grace"),
    ("Heidi", "heidi"),
    ("Ivan", "ivan"),
    ("Judy", "judy"),
    ("Mallory", "mallory"),
    ("Oscar", "oscar"),
    ("Peggy", "peggy"),
    ("Trent", "trent"),
    ("Victor", "victor"),
    ("Walter", "walter"),
    ("Olivia", "olivia"),
    ("Noah", "noah"),
)
_FIRST_INTL = (
    ("Jürgen", "juergen"),
    ("Zoë", "zoe"),
    ("José", "jose"),
    ("François", "francois"),
    ("Łukasz", "lukasz"),
    ("Søren", "soren"),
    ("Ana María", "anamaria"),
    ("Björn", "bjorn"),
    ("Дмитрий", "dmitry"),
    ("Анна", "anna"),
    ("太郎", "taro"),
    ("花子", "hanako"),
    ("伟", "wei"),
    ("Renée", "renee"),
    ("Çağla", "cagla"),
    ("Åsa", "asa"),
)
_LAST = (
    ("Smith", "smith"),
    ("Johnson", "johnson"),
    ("Williams", "williams"),
    ("Brown", "brown"),
    ("Jones", "jones"),
    ("Garcia", "garcia"),
    ("Miller", "miller"),
    ("Davis", "davis"),
    ("Wilson", "wilson"),
    ("Taylor", "taylor"),
    ("Clark", "clark"),
    ("Lewis", "lewis"),
    ("Walker", "walker"),
    ("Young", "young"),
    ("King", "king"),
    ("Wright", "wright"),
    ("Hill", "hill"),
    ("Green", "green"),
    ("Baker", "baker"),
    ("Nelson", "nelson"),
)
_LAST_INTL = (
    ("Müller", "mueller"),
    ("Núñez", "nunez"),
    ("Lefèvre", "lefevre"),
    ("Wójcik", "wojcik"),
    ("Østergaard", "ostergaard"),
    ("Иванов", "ivanov"),
    ("Смирнова", "smirnova"),
    ("山田", "yamada"),
    ("佐藤", "sato"),
    ("李", "li"),
    ("Schäfer", "schaefer"),
    ("O'Brien", "obrien"),
    ("Dubois-Léger", "duboisleger"),
    ("Håkansson", "hakansson"),
)
_DOMAINS = (
    "example.com",
    "example.org",
    "example.net",
    "mail.example.com",
    "corp.example.org",
    "lists.example.org",
    "example.test",
    "partner.example.net",
    "uni.example.edu",
)
_MAILERS = (
    "Mozilla Thunderbird 115.6.0",
    "Apple Mail (2.3731.700.6)",
    "Microsoft Outlook 16.0",
    "Evolution 3.46.4",
    "Mutt/2.2.9 (2022-11-12)",
    "Roundcube Webmail/1.6.5",
    "K-9 Mail for Android",
)


@dataclass(frozen=True, slots=True, eq=False)  # identity equality: fast, pool is unique
class Person:
    name: str  # display name ("" for a bare address)
    address: str

    @property
    def first(self) -> str:
        return self.name.split(" ")[0] if self.name else self.address.split("@")[0]


def _build_people(count: int = 500) -> tuple[Person, ...]:
    rng = random.Random(20240229)  # the pool is fixed, whatever the corpus seed
    people = [Person(OWNER_NAME, OWNER_ADDRESS), Person("Bob Example", "bob@example.test")]
    used = {p.address for p in people}
    while len(people) < count:
        intl = rng.random() < 0.27
        first = rng.choice(_FIRST_INTL if intl and rng.random() < 0.6 else _FIRST)
        last = rng.choice(_LAST_INTL if intl else _LAST)
        if first[0][0] > "\u2e80" and last[0][0] > "\u2e80":  # CJK: family name first
            name = f"{last[0]} {first[0]}"
        else:
            name = f"{first[0]} {last[0]}"
        local = rng.choice((f"{first[1]}.{last[1]}", f"{first[1][0]}{last[1]}", first[1]))
        domain = rng.choice(_DOMAINS)
        address = f"{local}@{domain}"
        n = 2
        while address in used:
            address = f"{local}{n}@{domain}"
            n += 1
        used.add(address)
        people.append(Person("" if rng.random() < 0.06 else name, address))
    return tuple(people)


PEOPLE: tuple[Person, ...] = _build_people()
