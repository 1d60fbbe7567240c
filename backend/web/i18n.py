"""The web pages' words, Norwegian bokmål first and English where a user chooses it, and
dates and times as they are written in Norway (Europe/Oslo; dd.mm.yyyy, HH:MM).

The language is ``?lang=en`` (or ``nb``), kept afterwards in the ``lang`` cookie; without
either, bokmål. A label missing from English falls back to bokmål (a test keeps the two
dictionaries the same size, so that does not happen unnoticed).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

OSLO = ZoneInfo("Europe/Oslo")
DEFAULT_LANG = "nb"
LANGS = ("nb", "en")
LANG_COOKIE = "lang"

NB: dict[str, str] = {
    "app_name": "Folgja",
    "skip_to_main": "Hopp til hovedinnhold",
    "main_nav": "Hovedmeny",
    "home": "Forside",
    "sign_in": "Logg inn",
    "sign_out": "Logg ut",
    "signed_in_as": "Innlogget som",
    "username": "Brukernavn",
    "password": "Passord",
    "sign_in_failed": "Brukernavnet eller passordet er feil.",
    "too_many_attempts": "For mange mislykkede innlogginger. Prøv igjen om {seconds} sekunder.",
    "required": "Må fylles ut.",
    "language": "Språk",
    "other_language": "English",
    "other_language_code": "en",
    "welcome": "Velkommen",
    "your_pages": "Sidene dine",
    "forbidden_title": "Ingen tilgang",
    "forbidden_text": "Du har ikke tilgang til denne siden.",
    "not_found_title": "Finnes ikke",
    "not_found_text": "Det du ser etter finnes ikke, eller du har ikke tjenstlig behov for det.",
    "error_title": "Noe gikk galt",
    "error_summary": "Skjemaet har feil. Rett feltene som er merket.",
    "saved": "Lagret.",
    "submit": "Send",
    "none": "Ingen",
    "print": "Skriv ut",
    # concerns
    "concerns_raised": "Bekymringsmeldinger vi har sendt",
    "raise_concern": "Meld bekymring",
    "tenant_id": "Leietaker (ID)",
    "tenant_id_hint": "Leietakerens ID. Fyll ut leietaker, adresse eller begge.",
    "dwelling_id": "Adresse (bolig-ID)",
    "dwelling_id_hint": "Boligens ID fra sikkerhetsregisteret eller leieforholdet.",
    "category": "Kategori",
    "description": "Beskrivelse",
    "description_hint": "Hva har du sett? Skriv det du vet, ikke antakelser.",
    "choose": "Velg …",
    "not_a_valid_id": "Ikke en gyldig ID.",
    "tenant_or_address": "Oppgi leietaker, adresse eller begge.",
    "concern_raised": "Bekymringsmeldingen er sendt.",
    "status": "Status",
    "holder": "Hos",
    "waited": "Ventet",
    "raised_at": "Meldt",
    "about": "Gjelder",
    "address": "Adresse",
    "days": "{n} dager",
    "hours": "{n} timer",
    "no_concerns": "Ingen bekymringsmeldinger.",
    "cat_rent_arrears": "Husleierestanse",
    "cat_damage": "Skade på bolig",
    "cat_hoarding": "Samlemani",
    "cat_neighbour_conflict": "Nabokonflikt",
    "cat_fire_safety": "Brannsikkerhet",
    "cat_wellbeing": "Trivsel og helse",
    "cat_other": "Annet",
    "st_raised": "Meldt",
    "st_routed": "Videresendt",
    "st_acknowledged": "Bekreftet mottatt",
    "st_escalated": "Eskalert",
    "st_resolved": "Avsluttet",
    "svc_unassigned": "Ingen ennå",
    "tenant": "Leietaker",
    "too_long": "Høyst {n} tegn.",
    "choose_one": "Velg et av valgene.",
    "wrong_format": "Feil format.",
    "whole_number": "Skriv et helt tall.",
    "not_valid": "Ugyldig verdi.",
    "does_not_exist": "Finnes ikke, eller du har ikke tilgang.",
    "actions": "Handlinger",
    "overdue": "Forfalt",
    "safety_register": "Sikkerhetsregister for adresser",
    "no_flags": "Ingen adresser er flagget.",
    "flag_kind": "Type flagg",
    "flag_reason": "Grunn",
    "flag_two_person": "To personer",
    "flag_no_entry": "Ikke gå inn",
    "reason_threats_violence": "Trusler eller vold",
    "reason_weapons": "Våpen",
    "reason_aggressive_animal": "Aggressivt dyr",
    "reason_drug_environment": "Rusmiljø",
    "reason_infection_hygiene": "Smitte eller hygiene",
    "reason_other": "Annet",
    "review_on": "Vurderes på nytt (dato)",
    "set_flag": "Flagg en adresse",
    "change_flag": "Endre flagget",
    "review_flag": "Vurdert, beholdes",
    "lift_flag": "Fjern flagget",
    "lift_reason": "Hvorfor flagget fjernes",
    "change_review_lift": "Endre, vurder eller fjern",
    "report_arrears": "Meld husleierestanse",
    "arrears_reported": "Restansen er meldt.",
    "month": "Måned",
    "month_hint": "Som 2026-02 (år-måned).",
    "amount_nok": "Beløp (kroner)",
    "lease_id": "Leieforhold (ID)",
    "svc_tiltaksteamet": "Tiltaksteamet",
    "svc_fbe": "Boligforvaltningen (FBE)",
    "svc_nav": "NAV",
    "svc_innvandrersenteret": "Innvandrersenteret",
    "svc_omsorg": "Omsorgstjenesten",
    "svc_helse_psykiatri": "Psykisk helse",
    "svc_barn_og_unge": "Barn og unge",
    "svc_kriminalomsorgen": "Kriminalomsorgen",
    "svc_koordinerende_enhet": "Koordinerende enhet",
    "svc_admin": "Administrasjon",
    "nav_inbox": "Varsler til NAV",
    "nav_none": "Ingen varsler.",
    "born": "født",
    "nav_trigger": "Gjelder",
    "nav_basis": "Grunnlag for å varsle NAV",
    "basis_consent": "Leietakerens samtykke (gjelder fortsatt)",
    "basis_husleieloven_9_11": (
        "Husleieloven § 9-11: utleier kan varsle NAV skriftlig om steg mot utkastelse, "
        "så lenge leietaker ikke har reservert seg skriftlig"
    ),
    "total_owed": "Skyldig i alt",
    "sent_at": "Sendt",
    "nav_acknowledged": "Bekreftet",
    "nav_answered": "Besvart",
    "nav_unacknowledged": "Ikke bekreftet",
    "nav_acknowledge": "Bekreft mottatt",
    "nav_acknowledged_done": "Varselet er bekreftet mottatt.",
    "nav_answered_done": "Svaret er sendt.",
    "nav_answer": "Svar",
    "nav_answer_kind": "Hva NAV har gjort",
    "nav_answer_text": "Utdyping",
    "nav_answer_text_hint": "Må fylles ut når du velger «Annet». Skriv ikke mer enn nødvendig.",
    "nav_send_answer": "Send svar",
    "trig_arrears_reported": "Husleierestanse",
    "trig_eviction_warning": "Varsel om utkastelse",
    "trig_eviction_petition": "Begjæring om utkastelse",
    "trig_eviction_date_set": "Dato for utkastelse",
    "ans_economic_assistance_granted": "Økonomisk stønad innvilget",
    "ans_repayment_agreement_set_up": "Nedbetalingsavtale opprettet",
    "ans_no_action": "Ingen tiltak",
    "ans_other": "Annet",
}

EN: dict[str, str] = {
    "app_name": "Folgja",
    "skip_to_main": "Skip to main content",
    "main_nav": "Main menu",
    "home": "Home",
    "sign_in": "Sign in",
    "sign_out": "Sign out",
    "signed_in_as": "Signed in as",
    "username": "Username",
    "password": "Password",
    "sign_in_failed": "The username or the password is wrong.",
    "too_many_attempts": "Too many failed sign-ins. Try again in {seconds} seconds.",
    "required": "Required.",
    "language": "Language",
    "other_language": "Norsk (bokmål)",
    "other_language_code": "nb",
    "welcome": "Welcome",
    "your_pages": "Your pages",
    "forbidden_title": "No access",
    "forbidden_text": "You do not have access to this page.",
    "not_found_title": "Not found",
    "not_found_text": "What you are looking for does not exist, or you have no need to know it.",
    "error_title": "Something went wrong",
    "error_summary": "The form has errors. Correct the fields marked.",
    "saved": "Saved.",
    "submit": "Send",
    "none": "None",
    "print": "Print",
    "concerns_raised": "Concerns we raised",
    "raise_concern": "Raise a concern",
    "tenant_id": "Tenant (ID)",
    "tenant_id_hint": "The tenant's ID. Give the tenant, the address or both.",
    "dwelling_id": "Address (dwelling ID)",
    "dwelling_id_hint": "The dwelling's ID from the safety register or the lease.",
    "category": "Category",
    "description": "Description",
    "description_hint": "What did you see? Write what you know, not guesses.",
    "choose": "Choose …",
    "not_a_valid_id": "Not a valid ID.",
    "tenant_or_address": "Give the tenant, the address or both.",
    "concern_raised": "The concern was raised.",
    "status": "Status",
    "holder": "With",
    "waited": "Waited",
    "raised_at": "Raised",
    "about": "About",
    "address": "Address",
    "days": "{n} days",
    "hours": "{n} hours",
    "no_concerns": "No concerns.",
    "cat_rent_arrears": "Rent arrears",
    "cat_damage": "Damage to the home",
    "cat_hoarding": "Hoarding",
    "cat_neighbour_conflict": "Neighbour conflict",
    "cat_fire_safety": "Fire safety",
    "cat_wellbeing": "Wellbeing and health",
    "cat_other": "Other",
    "st_raised": "Raised",
    "st_routed": "Routed",
    "st_acknowledged": "Acknowledged",
    "st_escalated": "Escalated",
    "st_resolved": "Resolved",
    "svc_unassigned": "Nobody yet",
    "tenant": "Tenant",
    "too_long": "At most {n} characters.",
    "choose_one": "Choose one of the options.",
    "wrong_format": "Wrong format.",
    "whole_number": "Write a whole number.",
    "not_valid": "Not a valid value.",
    "does_not_exist": "Does not exist, or you have no access.",
    "actions": "Actions",
    "overdue": "Overdue",
    "safety_register": "Address safety register",
    "no_flags": "No address is flagged.",
    "flag_kind": "Kind of flag",
    "flag_reason": "Reason",
    "flag_two_person": "Two people",
    "flag_no_entry": "No entry",
    "reason_threats_violence": "Threats or violence",
    "reason_weapons": "Weapons",
    "reason_aggressive_animal": "Aggressive animal",
    "reason_drug_environment": "Drug environment",
    "reason_infection_hygiene": "Infection or hygiene",
    "reason_other": "Other",
    "review_on": "Review again on (date)",
    "set_flag": "Flag an address",
    "change_flag": "Change the flag",
    "review_flag": "Reviewed, kept",
    "lift_flag": "Lift the flag",
    "lift_reason": "Why the flag is lifted",
    "change_review_lift": "Change, review or lift",
    "report_arrears": "Report rent arrears",
    "arrears_reported": "The arrears were reported.",
    "month": "Month",
    "month_hint": "Like 2026-02 (year-month).",
    "amount_nok": "Amount (kroner)",
    "lease_id": "Lease (ID)",
    "svc_tiltaksteamet": "Outreach team",
    "svc_fbe": "Property manager (FBE)",
    "svc_nav": "NAV",
    "svc_innvandrersenteret": "Refugee centre",
    "svc_omsorg": "Care services",
    "svc_helse_psykiatri": "Mental health",
    "svc_barn_og_unge": "Children and youth",
    "svc_kriminalomsorgen": "Correctional service",
    "svc_koordinerende_enhet": "Coordinating unit",
    "svc_admin": "Administration",
    "nav_inbox": "Notifications to NAV",
    "nav_none": "No notifications.",
    "born": "born",
    "nav_trigger": "About",
    "nav_basis": "Basis for telling NAV",
    "basis_consent": "The tenant's consent (still in force)",
    "basis_husleieloven_9_11": (
        "Tenancy Act § 9-11: the landlord may tell NAV in writing of the steps towards "
        "eviction, as long as the tenant has not objected in writing"
    ),
    "total_owed": "Owed in all",
    "sent_at": "Sent",
    "nav_acknowledged": "Acknowledged",
    "nav_answered": "Answered",
    "nav_unacknowledged": "Not acknowledged",
    "nav_acknowledge": "Acknowledge",
    "nav_acknowledged_done": "The notification was acknowledged.",
    "nav_answered_done": "The answer was sent.",
    "nav_answer": "Answer",
    "nav_answer_kind": "What NAV has done",
    "nav_answer_text": "Details",
    "nav_answer_text_hint": "Required when you choose “Other”. Write no more than needed.",
    "nav_send_answer": "Send the answer",
    "trig_arrears_reported": "Rent arrears",
    "trig_eviction_warning": "Eviction warning",
    "trig_eviction_petition": "Eviction petition",
    "trig_eviction_date_set": "Eviction date",
    "ans_economic_assistance_granted": "Economic assistance granted",
    "ans_repayment_agreement_set_up": "Repayment agreement set up",
    "ans_no_action": "No action",
    "ans_other": "Other",
}

LABELS: dict[str, dict[str, str]] = {"nb": NB, "en": EN}


class Labels(Mapping[str, str]):
    """One language's labels; ``labels("key", n=3)`` fills in placeholders."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in LABELS else DEFAULT_LANG
        self._own = LABELS[self.lang]

    def __getitem__(self, key: str) -> str:
        return self._own.get(key) or NB.get(key) or key

    def __iter__(self) -> Any:
        return iter(NB)

    def __len__(self) -> int:
        return len(NB)

    def __call__(self, key: str, **values: Any) -> str:
        return self[key].format(**values)


def choose_lang(query: str | None, cookie: str | None) -> str:
    for candidate in (query, cookie):
        if candidate in LANGS:
            return candidate
    return DEFAULT_LANG


def oslo(moment: datetime) -> datetime:
    return moment.astimezone(OSLO)


def date_no(value: date | datetime | None) -> str:
    """dd.mm.yyyy (a moment: its date in Oslo)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = oslo(value)
    return value.strftime("%d.%m.%Y")


def datetime_no(value: datetime | None) -> str:
    """dd.mm.yyyy HH:MM in Oslo."""
    if value is None:
        return ""
    return oslo(value).strftime("%d.%m.%Y %H:%M")


def time_no(value: datetime | None) -> str:
    return "" if value is None else oslo(value).strftime("%H:%M")


def iso_local(value: datetime | None) -> str:
    """For ``<time datetime=...>``: the moment with Oslo's offset."""
    return "" if value is None else oslo(value).isoformat(timespec="minutes")
