"""Phone numbers in E.164 where the number allows it, kept exactly as given where it does not.

:func:`to_e164` runs for two numbers of every ``call_records`` row, so it has three paths:

1. **Already E.164** (``+``, then 8 to 15 ASCII digits, the first 1-9): returned as it is,
   without parsing (one compiled ``fullmatch``). Most vendors send this form.
2. **No default region and no ``+``**: libphonenumber needs one or the other, so the
   number is returned as given at once (``15557571011`` when the vendor's
   ``default_phone_region`` is unset).
3. **Everything else** goes through an LRU cache of 65,536 ``(number, region)`` pairs.
   Behind it, a number holding a character no
   written phone number has (letters, ``@``, ``:``: extensions such as
   ``Extension-06047530219``, SIP URIs, names) is kept as given without parsing: the
   library would read the digits out of ``Extension-06047530219`` (region IN:
   ``+916047530219``) and letters as a keypad (``1-800-FLOWERS``), which are not the
   number the vendor meant. The rest (``919650134255`` with region IN, ``0 96501 34255``)
   is parsed by the ``phonenumbers`` library with the default region, far slower than a
   cache hit. A sync whose numbers repeat (a contact center's own numbers,
   returning customers) stays on cached hits; one where every customer number is new
   (an outbound campaign, with a default region set) pays the parse once per number.

A parsed number becomes E.164 only if it is a possible number with its area code
(``is_possible_number_with_reason`` is ``IS_POSSIBLE``): a local-only number (seven US
digits) has no E.164 form, and is kept as given. Nothing here knows a numbering plan:
the library's metadata decides.

``python -m tap_callrecords.core.phones`` measures each path's cost on this machine.
"""

from __future__ import annotations

import functools
import re
import typing as t

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, ValidationResult

#: Characters a written phone number may hold besides digits and a leading ``+``.
PHONE_CHARS = frozenset("0123456789+ -().")
#: Distinct ``(number, region)`` pairs remembered (about 16 MB when full).
CACHE_SIZE = 1 << 16
#: E.164 syntax: ``+``, then 8 to 15 ASCII digits, the first 1-9 (one C call, compiled once).
_is_e164 = re.compile(r"\+[1-9][0-9]{7,14}").fullmatch
REGION_HINT = "a two-letter region code known to phonenumbers, in upper case, such as IN, US or GB"
#: The vendors' ``default_phone_region`` setting, described once.
REGION_DESCRIPTION = ("ISO 3166-1 two-letter region, such as IN or US, of phone numbers written without "
                      "a country code: call_records reads them as numbers of this region and writes "
                      "them in E.164.")
REGION_UNSET = "Unset: such numbers are kept as given."


def to_e164(number: str | None, default_region: str | None) -> str | None:
    """``number`` in E.164 (``+919650134255``) if it is a possible number, else as given.

    ``default_region`` (``IN``, ``US``, ...) is the region of a number written without a
    country code; with none, such a number is kept as given. ``None`` and ``""`` are ``None``.
    """
    if not number:
        return None
    if type(number) is not str:
        number = str(number)
    if number[0] == "+":
        if _is_e164(number):
            return number
    elif default_region is None and "+" not in number:
        return number
    return _parsed(number, default_region)


@functools.lru_cache(maxsize=CACHE_SIZE)
def _parsed(number: str, default_region: str | None) -> str:
    """The slow path: libphonenumber, for numbers that are not E.164 already."""
    if not PHONE_CHARS.issuperset(number):
        return number
    try:
        parsed = phonenumbers.parse(number, default_region)
    except NumberParseException:
        return number
    if phonenumbers.is_possible_number_with_reason(parsed) != ValidationResult.IS_POSSIBLE:
        return number
    return phonenumbers.format_number(parsed, PhoneNumberFormat.E164)


def check_region(name: str, value: t.Any) -> str | None:
    """A message if the region setting ``name`` is set but is not a region phonenumbers knows."""
    if value is None or (isinstance(value, str) and value in phonenumbers.SUPPORTED_REGIONS):
        return None
    if isinstance(value, str) and value.upper() in phonenumbers.SUPPORTED_REGIONS:
        return f"{name} is {value!r}; write it in upper case: {value.upper()!r}."
    return (f"{name} is {value!r}; it must be {REGION_HINT} (ISO 3166-1 alpha-2), "
            "or be left out to keep numbers without a country code as given.")


def _measure() -> None:  # pragma: no cover - the figures of the module docstring
    import timeit

    cases = {
        "E.164 as is": ("+919650134255", "IN"),
        "no region, no + (as given)": ("15557571011", None),
        "extension (as given, cached)": ("Extension-06047530219", "IN"),
        "national, cached": ("919650134255", "IN"),
    }
    calls = 200_000
    for label, (number, region) in cases.items():
        scope = {"to_e164": to_e164, "number": number, "region": region}
        best = min(timeit.repeat("to_e164(number, region)", globals=scope, number=calls, repeat=5))
        print(f"{label:30} {best / calls * 1e6:6.3f} µs")
    numbers = [f"9196{n:08d}" for n in range(20_000)]
    scope = {"parse": _parsed.__wrapped__, "numbers": numbers}
    best = min(timeit.repeat("for n in numbers: parse(n, 'IN')", globals=scope, number=1, repeat=3))
    print(f"{'national, not cached':30} {best / len(numbers) * 1e6:6.3f} µs")


if __name__ == "__main__":  # pragma: no cover
    _measure()
