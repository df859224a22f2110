"""When two login email addresses are one: the rule for the addresses people log in with.

An address is read once, here, by every entry point (invitations, the importer, the
support account, login and the migration that keyed the existing users):

- its syntax is checked by `email-validator` (no DNS: nothing reaches the network);
- an address holding an invisible, control, bidirectional or other default-ignorable
  character, or whose local part mixes scripts (UTS #39 single-script restriction), is
  refused;
- its *key* is Unicode NFKC, then case folding (`ＯWNER@x` and `owner@x` are one key);
- its *skeleton* is ICU's UTS #39 confusable skeleton of the key with the domain
  IDNA-normalised: `оwner@x` (Cyrillic о) has the skeleton of `owner@x`. Two login
  addresses with one skeleton are one address. The database keeps a SHA-256 digest of
  the skeleton (fixed size, indexable on every database).

ICU (through PyICU) is the Unicode consortium's own implementation of UTS #39; its
confusable data comes with the ICU library the machine has (docs/decisions.md)."""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass

import email_validator
import icu

MAX_LENGTH = 254

# The special-use domains the server accepts although no mail reaches them: the support
# accounts' default addresses are under `.invalid`, and test servers use `.test`. The
# library documents its list as the place to change this.
ACCEPTED_SPECIAL_USE = ("invalid", "test")
email_validator.SPECIAL_USE_DOMAIN_NAMES[:] = [
    d for d in email_validator.SPECIAL_USE_DOMAIN_NAMES if d not in ACCEPTED_SPECIAL_USE
]

# One checker for the process: its checks and getSkeleton only read it.
_SKELETONS = icu.SpoofChecker()
_SCRIPTS = icu.SpoofChecker()
_SCRIPTS.setChecks(icu.USpoofChecks.RESTRICTION_LEVEL)
_SCRIPTS.setRestrictionLevel(icu.URestrictionLevel.SINGLE_SCRIPT_RESTRICTIVE)

_IGNORABLE = icu.UProperty.DEFAULT_IGNORABLE_CODE_POINT
_BIDI_CONTROL = icu.UProperty.BIDI_CONTROL
# Categories of characters that are never seen: controls, formats (zero-width, soft
# hyphen, bidi marks), separators other than the space (which syntax refuses anyway),
# private use, surrogates and unassigned code points.
_INVISIBLE_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Co", "Cs", "Cn"})


class InvalidEmail(ValueError):
    """An address that is not a valid login address; the message says why (no echo)."""


@dataclass(frozen=True)
class EmailIdentity:
    address: str  # what is stored and shown: the key (folded, as addresses always were)
    key: str  # NFKC then case folding: the login lookup
    skeleton: str  # UTS #39 skeleton of the key, domain IDNA-normalised

    @property
    def skeleton_digest(self) -> str:
        return skeleton_digest(self.skeleton)


def skeleton_digest(skeleton: str) -> str:
    return hashlib.sha256(skeleton.encode("utf-8")).hexdigest()


def hidden_character(value: str) -> str | None:
    """The name of the first character of `value` a reader cannot see, if any."""
    for char in value:
        if (
            unicodedata.category(char) in _INVISIBLE_CATEGORIES
            or icu.Char.hasBinaryProperty(char, _IGNORABLE)
            or icu.Char.hasBinaryProperty(char, _BIDI_CONTROL)
        ):
            return unicodedata.name(char, f"U+{ord(char):04X}")
    return None


def mixes_scripts(text: str) -> bool:
    """Whether `text` holds letters of more than one script (UTS #39 resolved script
    set; Common and Inherited characters such as digits, dots and `+` go with any)."""
    return bool(_SCRIPTS.check(text) & icu.USpoofChecks.RESTRICTION_LEVEL)


def skeleton(text: str) -> str:
    return str(_SKELETONS.getSkeleton(0, text))


def identify(raw: str) -> EmailIdentity:
    """The identity of a login address, or InvalidEmail."""
    value = raw.strip()
    if (name := hidden_character(value)) is not None:
        raise InvalidEmail(f"An email address cannot hold invisible or control characters ({name}).")
    value = unicodedata.normalize("NFKC", value)
    try:
        parsed = email_validator.validate_email(value, check_deliverability=False)
    except email_validator.EmailNotValidError as exc:
        raise InvalidEmail(str(exc)) from exc
    local = parsed.local_part.casefold()
    if mixes_scripts(local):
        raise InvalidEmail("The part before the @-sign mixes scripts (for example Latin and Cyrillic letters).")
    domain = unicodedata.normalize("NFKC", parsed.domain).casefold()  # the IDNA-normalised (Unicode) domain
    key = f"{local}@{domain}"
    if len(key) > MAX_LENGTH:
        raise InvalidEmail(f"An email address has at most {MAX_LENGTH} characters.")
    return EmailIdentity(address=key, key=key, skeleton=skeleton(key))


def lookup_key(raw: str) -> str:
    """The key to find a login account by (login, lookups by email): the identity's key
    for a valid address, else the folded text (which finds no account created since)."""
    try:
        return identify(raw).key
    except InvalidEmail:
        return unicodedata.normalize("NFKC", raw.strip()).casefold()


@dataclass(frozen=True)
class StoredAddress:
    """What an address stored before these rules keys to, and why it would be refused
    today (None when it is valid)."""

    key: str
    skeleton: str
    problem: str | None


def stored_address(raw: str) -> StoredAddress:
    try:
        found = identify(raw)
    except InvalidEmail as exc:
        key = unicodedata.normalize("NFKC", raw.strip()).casefold()
        # Compared without what nobody sees: `owner<zero width space>@x` is `owner@x`.
        visible = "".join(c for c in key if hidden_character(c) is None)
        return StoredAddress(key=key, skeleton=skeleton(visible), problem=str(exc))
    return StoredAddress(key=found.key, skeleton=found.skeleton, problem=None)


@dataclass(frozen=True)
class Flag:
    """A login account whose address clashes with another's, or that the rules refuse."""

    user_id: int
    clashes_with: int | None
    reason: str


def assign_addresses(rows: list[tuple[int, str]]) -> tuple[dict[int, tuple[str, str]], list[Flag]]:
    """Key login accounts stored before these rules. Given (id, stored login email)
    rows: {id: (login email, skeleton digest)} for the accounts that keep their address,
    and the flagged ones. Of a clashing group, a valid address keeps it first, then one
    already in its normal form, then the oldest; the others are flagged, never changed."""
    addresses = {user_id: stored_address(email) for user_id, email in rows}
    stored = dict(rows)
    holders = {email: user_id for user_id, email in rows}

    def rank(user_id: int) -> tuple[bool, bool, int]:
        address = addresses[user_id]
        return address.problem is not None, address.key != stored[user_id], user_id

    by_skeleton: dict[str, int] = {}
    kept: dict[int, tuple[str, str]] = {}
    flagged: list[Flag] = []
    for user_id in sorted(stored, key=rank):
        address = addresses[user_id]
        other = by_skeleton.get(address.skeleton)
        holder = holders.get(address.key)  # a new key must not be another's stored email
        if other is None and holder not in (None, user_id):
            other = holder
        if other is not None:
            flagged.append(Flag(user_id, other, "clash"))
            continue
        by_skeleton[address.skeleton] = user_id
        key = address.key if address.problem is None else stored[user_id]
        kept[user_id] = (key, skeleton_digest(address.skeleton))
        if address.problem is not None:
            flagged.append(Flag(user_id, None, f"invalid: {address.problem}"))
    return kept, flagged
