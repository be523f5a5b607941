"""Fixed catalogues of the demo export: offices, measures, providers, names, planted hostile names.

Kept apart from the simulation so that the realism figures (sizes, shares, names) are in one
readable place and every scale draws from the same lists.
"""

from __future__ import annotations

#: the 17 local offices of Kreis Borken with a relative SGB II weight (population x density)
KREIS_OFFICES: tuple[tuple[str, str, float], ...] = (
    ("AHA", "Ahaus", 40.0 * 1.15),
    ("BOH", "Bocholt", 71.0 * 1.35),
    ("BOR", "Borken", 42.5 * 1.2),
    ("GES", "Gescher", 17.0),
    ("GRO", "Gronau", 49.0 * 1.6),
    ("HEE", "Heek", 8.5),
    ("HEI", "Heiden", 8.2),
    ("ISS", "Isselburg", 11.0),
    ("LEG", "Legden", 7.4),
    ("RAE", "Raesfeld", 11.5),
    ("REK", "Reken", 15.0),
    ("RHE", "Rhede", 19.5),
    ("SCH", "Schöppingen", 8.0),
    ("STA", "Stadtlohn", 20.5 * 1.1),
    ("SUE", "Südlohn", 9.5),
    ("VEL", "Velen", 13.0),
    ("VRE", "Vreden", 23.0),
)

#: (code, name, legal basis, category, counts_for_activation, mean days, cost from, cost to)
MEASURES: tuple[tuple[str, str, str, str, int, int, int, int], ...] = (
    ("AVGS-AKT", "Aktivierungscoaching (AVGS)", "P16_AVGS", "AKTIVIERUNG", 1, 90, 1200, 2800),
    ("AVGS-BEW", "Bewerbungscoaching (AVGS)", "P16_AVGS", "AKTIVIERUNG", 1, 45, 600, 1400),
    ("AVGS-GRZ", "Gründungscoaching (AVGS)", "P16_AVGS", "AKTIVIERUNG", 1, 60, 1500, 3000),
    ("MAT-MAG", "Maßnahme bei einem Arbeitgeber (MAG)", "P16_MAT", "AKTIVIERUNG", 1, 21, 0, 150),
    ("MAT-AKC", "Aktivcenter Westmünsterland", "P16_MAT", "AKTIVIERUNG", 1, 150, 1800, 3500),
    ("MAT-BOR", "Berufsorientierung junge Menschen", "P16_MAT", "AKTIVIERUNG", 1, 120, 1500, 3200),
    ("MAT-SPR", "Berufsbezogene Sprachförderung", "P16_MAT", "AKTIVIERUNG", 1, 180, 2000, 4500),
    ("FBW-BKF", "Berufskraftfahrer/in (Bildungsgutschein)", "P16_FBW", "QUALIFIZIERUNG", 1,
     120, 6000, 11000),
    ("FBW-PFH", "Pflegehelfer/in (Bildungsgutschein)", "P16_FBW", "QUALIFIZIERUNG", 1, 240, 4000,
     8000),
    ("FBW-LAG", "Umschulung Fachkraft Lagerlogistik", "P16_FBW", "QUALIFIZIERUNG", 1, 640, 14000,
     24000),
    ("FBW-STP", "Gabelstaplerschein", "P16_FBW", "QUALIFIZIERUNG", 1, 7, 250, 600),
    ("FBW-EDV", "EDV-Grundlagen und Office", "P16_FBW", "QUALIFIZIERUNG", 1, 60, 1200, 2600),
    ("FBW-KBM", "Teilzeitumschulung Kaufleute Büromanagement", "P16_FBW", "QUALIFIZIERUNG", 1, 900,
     16000, 26000),
    ("EGZ", "Eingliederungszuschuss", "P16_EGZ", "BESCHAEFTIGUNGSBEGLEITEND", 0, 300, 4000, 14000),
    ("EGZ-SB", "Eingliederungszuschuss schwerbehinderte Menschen", "P16_EGZ",
     "BESCHAEFTIGUNGSBEGLEITEND", 0, 540, 8000, 20000),
    ("16A-KIB", "Kinderbetreuung (§ 16a)", "P16A", "KOMMUNAL", 0, 300, 500, 2500),
    ("16A-SDB", "Schuldnerberatung (§ 16a)", "P16A", "KOMMUNAL", 0, 120, 300, 900),
    ("16A-SUB", "Suchtberatung (§ 16a)", "P16A", "KOMMUNAL", 0, 180, 300, 1200),
    ("16A-PSB", "Psychosoziale Betreuung (§ 16a)", "P16A", "KOMMUNAL", 0, 180, 400, 1500),
    ("16B-ESG", "Einstiegsgeld (§ 16b)", "P16B", "BESCHAEFTIGUNGSBEGLEITEND", 0, 300, 1000, 4000),
    ("16C-SEL", "Leistungen für Selbständige (§ 16c)", "P16C", "BESCHAEFTIGUNGSBEGLEITEND", 0,
     180, 500, 5000),
    ("AGH-MAE", "Arbeitsgelegenheit mit Mehraufwandsentschädigung", "P16D_AGH",
     "OEFFENTLICH_GEFOERDERT", 1, 240, 1500, 4000),
    ("AGH-JUW", "Arbeitsgelegenheit Jugendwerkstatt", "P16D_AGH", "OEFFENTLICH_GEFOERDERT", 1,
     270, 2000, 4500),
    ("16E-LZA", "Eingliederung von Langzeitarbeitslosen (§ 16e)", "P16E",
     "OEFFENTLICH_GEFOERDERT", 1, 700, 15000, 28000),
    ("16F-COA", "Freie Förderung: Ganzheitliches Coaching", "P16F", "AKTIVIERUNG", 1, 180, 1500,
     3500),
    ("16F-NAB", "Nachbetreuung nach Arbeitsaufnahme", "P16F", "BESCHAEFTIGUNGSBEGLEITEND", 0, 150,
     600, 1500),
    ("16H-JUG", "Förderung schwer zu erreichender junger Menschen (§ 16h)", "P16H", "AKTIVIERUNG",
     1, 240, 2500, 6000),
    ("16I-TAM", "Teilhabe am Arbeitsmarkt (§ 16i)", "P16I", "OEFFENTLICH_GEFOERDERT", 1, 1400,
     40000, 70000),
    ("16K-GAN", "Ganzheitliche Betreuung (§ 16k)", "P16K", "AKTIVIERUNG", 1, 240, 2000, 5000),
)

PROVIDERS: tuple[str, ...] = (
    "Bildungswerk Westmünsterland gGmbH",
    "Kolping-Bildungswerk Borken",
    "DAA Deutsche Angestellten-Akademie",
    "TÜV Nord Bildung",
    "Caritasverband für das Dekanat Borken",
    "Diakonisches Werk Borken",
    "AWO Unterbezirk Münsterland-Recklinghausen",
    "Aktuelles Forum VHS Ahaus",
    "Berufsbildungsstätte Westmünsterland",
    "Fahrschule Groß & Söhne",
    "O'Brien Sprachschule",
    "Smith & Sons <Training> GmbH",
    '=HYPERLINK("http://x","Träger")',
)
#: without ``--hostile-names`` the two test strings among the providers read as real ones
#: (drawn from the same list, so the random stream and every other value stay the same)
PLAIN_PROVIDERS = {"Smith & Sons <Training> GmbH": "Bildungswerk der Wirtschaft Münsterland",
                   '=HYPERLINK("http://x","Träger")': "Volkshochschule Borken"}

#: planted (last_name, first_name): the renderers must escape, quote and neutralise all of them
HOSTILE_PERSONS: tuple[tuple[str, str], ...] = (
    ("Müller", "Jürgen"),
    ("Groß", "Käthe"),
    ("Özdemir", "Ayşe"),
    ("O'Neill", "Seán"),
    ("D'Angelo", "Maria"),
    ('=HYPERLINK("http://x","y")', "Eve"),
    ("+49 Plus", "Paul"),
    ("-Minus", "Karl"),
    ("@Handle", "Alice"),
    ("\tTabulator", "Tabea"),
    ("＝Vollbreit", "Gleich"),
    ("＋Vollbreit", "Plus"),
    ("－Vollbreit", "Minus"),
    ("＠Vollbreit", "At"),
    ("<script>alert(1)</script>", "Mallory"),
    ("Smith & Sons", "Bob"),
    ('"Quoted"', "Quentin"),
)

#: planted staff display names (replace the first case managers' names of the first office)
HOSTILE_STAFF: tuple[str, ...] = (
    "Özdemir, Ayşe",
    "O'Neill, Seán",
    "=SUMME(A1:A9)",
    "Groß & Klein, <b>Fritz</b>",
)

GERMAN_LAST = (
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch "
    "Bauer Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann "
    "Lange Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König "
    "Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel "
    "Friedrich Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht "
    "Terhaar Tenbrink Böing Hüsing Wansing Schlüter Elsing Overbeck Bußmann Tebbe Rößing "
    "Heßling Schürmann Ebbing Kemper Lammers Wessels Brüning Tangelder Gerwing"
).split()
GERMAN_FIRST_M = (
    "Thomas Michael Andreas Stefan Frank Markus Christian Peter Klaus Jürgen Dirk Sven Tim Jan "
    "Lukas Leon Finn Jonas Paul Ben Niklas Maximilian Dennis Kevin Marcel Björn Jörg Uwe Heinz"
).split()
GERMAN_FIRST_W = (
    "Sabine Petra Andrea Claudia Nicole Stefanie Julia Anna Laura Lena Lea Mia Emma Sophie "
    "Sandra Melanie Katrin Birgit Jessica Jennifer Nadine Tanja Monika Jana Marie Hannah Jördis "
    "Bärbel Käthe"
).split()

#: name pools by country: (last names, male first names, female first names)
FOREIGN_NAMES: dict[str, tuple[list[str], list[str], list[str]]] = {
    "SY": ("Al-Ahmad Haddad Khalil Haj Mustafa Ibrahim Hussein Darwish Saleh Nasser".split(),
           "Mohammad Ahmad Omar Khaled Yousef Ali Hassan Mahmoud".split(),
           "Fatima Amina Rania Lina Noor Hiba Rasha Yasmin".split()),
    "IQ": ("Al-Jaburi Kareem Rashid Hamid Jabbar Ismail Murad Qasim".split(),
           "Haider Mustafa Karim Saif Ammar Ali Ahmed".split(),
           "Zainab Maryam Shahad Nour Sara Huda".split()),
    "AF": ("Ahmadi Hakimi Karimi Rahimi Sultani Noori Popal Wardak".split(),
           "Ahmad Mohammad Farid Jawad Hamid Naweed".split(),
           "Fariba Mariam Shabnam Zahra Nilofar Parwana".split()),
    "UA": ("Kovalenko Shevchenko Bondarenko Tkachenko Kravchenko Melnyk Boyko Lysenko"
           .split(),
           "Oleksandr Andrii Dmytro Serhii Mykola Ivan Yurii".split(),
           "Olena Iryna Natalia Tetiana Oksana Yulia Kateryna Svitlana".split()),
    "TR": ("Yılmaz Kaya Demir Şahin Çelik Yıldız Aydın Öztürk Arslan Doğan".split(),
           "Mehmet Mustafa Ahmet Ali Hüseyin Murat Emre".split(),
           "Ayşe Fatma Emine Hatice Zeynep Elif Merve".split()),
    "PL": ("Nowak Kowalski Wiśniewski Wójcik Kowalczyk Kamiński Lewandowski".split(),
           "Piotr Krzysztof Tomasz Paweł Marek".split(),
           "Anna Katarzyna Małgorzata Agnieszka Joanna".split()),
    "RO": ("Popescu Ionescu Popa Dumitru Stan Stoica Gheorghe".split(),
           "Andrei Ion Mihai Constantin Florin".split(),
           "Elena Maria Ioana Andreea Mihaela".split()),
    "NL": ("de Vries Jansen Bakker Visser Smit Meijer van Dijk".split(),
           "Jan Pieter Daan Sem Lucas".split(), "Sanne Emma Fleur Anouk Eva".split()),
}
#: countries of non-refugee foreigners: (code, residence status, name pool, weight)
OTHER_CITIZENSHIP: tuple[tuple[str, str, str, float], ...] = (
    ("PL", "EU", "PL", 5.0), ("RO", "EU", "RO", 4.0), ("BG", "EU", "RO", 2.0),
    ("NL", "EU", "NL", 3.0), ("IT", "EU", "DE", 1.0), ("GR", "EU", "DE", 1.0),
    ("TR", "SONSTIGE", "TR", 6.0), ("XK", "SONSTIGE", "DE", 1.5), ("RS", "SONSTIGE", "DE", 1.0),
    ("RU", "SONSTIGE", "UA", 1.5), ("MA", "SONSTIGE", "SY", 1.0), ("XX", "SONSTIGE", "SY", 0.5),
)
#: WZ 2008 sections of integrations (N, G, C, Q lead) and of marginal jobs
WZ_INTEGRATION: tuple[tuple[str, float], ...] = (
    ("N", 24), ("G", 16), ("C", 14), ("Q", 13), ("H", 8), ("I", 7), ("F", 6), ("M", 3),
    ("S", 3), ("P", 2), ("O", 2), ("A", 1), ("J", 0.5), ("K", 0.3), ("L", 0.4), ("E", 0.3),
    ("D", 0.1), ("R", 0.6), ("B", 0.1), ("T", 0.2), ("U", 0.05),
)
WZ_MARGINAL: tuple[tuple[str, float], ...] = (
    ("G", 30), ("I", 25), ("N", 15), ("S", 10), ("Q", 8), ("H", 7), ("R", 3), ("T", 2),
)
