"""Raw vendor records -> schema-typed records: one conversion for every stream, compiled
from the stream's JSON schema.

The schema is the one description of a record's shape; a vendor's ``records.py`` only
declares what a schema cannot say (:class:`RecordConversion`'s arguments). The rest is
the same for every vendor:

- The record has every schema property, in schema order; one the vendor did not send is
  null. Keys the schema does not know go into ``extra`` as sent (null if there are
  none): nothing a vendor sends is dropped.
- Scalars take their schema type, leniently (:mod:`~tap_callrecords.core.convert`): text
  as sent (anything else as its string form), integers and numbers from numeric text
  too, booleans from ``"Yes"``/``"No"``, ``"TRUE"``/``"false"`` and ``1``/``0`` too.
  ``format: date-time`` becomes the tap's UTC form, a time without an offset read in the
  conversion's ``zone``. A value that cannot be read is null, so a field never fails a
  record, with one exception: a *required* date-time (the replication key) that is
  present but unreadable raises, and the stream rejects the record as unreadable.
- Arrays: each item converted, null items dropped. Objects with
  ``additionalProperties: false``: their properties, typed. Other objects: the keys as
  sent, the declared ones typed, the others typed by the ``additionalProperties`` schema
  if it is one. They are typed in place: a fetcher hands over freshly decoded records,
  which the conversion owns.
- Nothing of an unexpected shape is lost (vendors document a type and sample another): a
  value the typed column cannot hold (a list or a string where an object belongs, a
  string where a list does, an object or a list where a scalar does, at any depth) goes
  into ``extra`` under its top-level key, as sent, and the column is null; a closed
  object with keys it does not declare keeps its typed properties in the column and the
  object as sent in ``extra``. One odd value inside a field sends the whole field.

It runs once per record on million-record syncs, so a record costs a few C-level calls
where it can. One merge onto a template of the schema's fields puts every value in its
place, in schema order. The rest is planned once per *key set* (a :class:`_Layout`: all of
a page's or a file's records share one): the raw key of each field, the keys for
``extra``, and the fields by how they are read. A record's scalars are typed by one look
at the types they came in: the plan for that pattern (worked out once) names the few
fields to convert, none for well-typed JSON, through
:class:`~tap_callrecords.core.convert.Lookup` tables for a CSV's text (each distinct text
converted once). A record's times are converted in one call, the UTC minute of each
local minute computed once.
"""

from __future__ import annotations

import itertools
import json
import operator
import typing as t
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources

from tap_callrecords.core.convert import UTC, Lookup, as_bool, as_int, as_number, as_text, utc_times

if t.TYPE_CHECKING:
    from datetime import tzinfo
    from types import ModuleType

Reader = Callable[[t.Any], t.Any]
Raw = Mapping[str, t.Any]
#: The property that holds the keys a schema does not know.
EXTRA = "extra"
NULL = type(None)
NULL_ONLY = frozenset((NULL,))
LIST_OR_NULL = frozenset((list, NULL))
#: Key sets remembered per conversion (a vendor's records have a handful), and type
#: patterns per key set.
MAX_LAYOUTS = 64
MAX_PLANS = 256
_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,), "integer": (int,), "number": (int, float), "boolean": (bool,),
}
# How a field is read within a record, by group: a scalar, checked with the record's
# other scalars and converted through a lookup table if it needs to be; an array of
# scalars, checked as a whole; a time, converted with the record's other times; anything
# else (a declared reader, an object, a required time: a key) called.
SCALAR, ARRAY, TIME, CALLED = "scalar", "array", "time", "called"


def load_schema(package: ModuleType, filename: str) -> dict[str, t.Any]:
    """A stream's JSON schema from its vendor's ``schemas`` package."""
    schema: dict[str, t.Any] = json.loads((resources.files(package) / filename).read_text())
    return schema


def schema_type(prop: Mapping[str, t.Any]) -> str | None:
    """The property's JSON type other than ``null`` (``None``: any)."""
    declared = prop.get("type")
    types = [declared] if isinstance(declared, str) else list(declared or [])
    return next((name for name in types if name != "null"), None)


@dataclass(frozen=True)
class _Field:
    """How one field's value is read.

    ``accepts``: the types kept as they are (``None`` always is); ``read``: the
    conversion of any value (it never raises, but for a required time); ``fast``: the
    same as a C-level call where there is one (it may raise ``TypeError`` for an
    unhashable value); ``table``: a typed scalar's lookup; ``items``: the types of an
    array's items kept as they are.
    """

    group: str
    accepts: frozenset[type]
    read: Reader
    fast: Reader
    table: Lookup | None = None
    items: frozenset[type] = frozenset()


class Misfit(Exception):
    """A value the schema's column cannot hold (``sent``), found while typing a field; the
    field's value as sent goes into ``extra``. ``typed``: what the column holds instead,
    meaningful only when ``sent`` is the field's own value (a closed object's properties)."""

    def __init__(self, sent: t.Any, typed: t.Any = None) -> None:
        super().__init__()
        self.sent = sent
        self.typed = typed


#: Types that no scalar column holds.
CONTAINERS = (list, dict)


def _as_sent(value: t.Any) -> t.Any:
    return value


def _any_object(value: t.Any) -> dict[str, t.Any] | None:
    if value is None or isinstance(value, dict):
        return value
    raise Misfit(value)


def _then(first: Reader, second: Reader) -> Reader:
    def read(value: t.Any) -> t.Any:
        return second(first(value))

    return read


def _typed(reader: Reader, accepts: frozenset[type], coerce: Reader) -> Reader:
    """``reader``, its result finished by the schema type's coercion."""
    def read(value: t.Any) -> t.Any:
        result = reader(value)
        return result if type(result) in accepts else coerce(result)

    return read


def _checked(accepts: frozenset[type], table: Lookup) -> Reader:
    def read(value: t.Any) -> t.Any:
        if type(value) in accepts:
            return value
        if isinstance(value, CONTAINERS):
            raise Misfit(value)
        return table.read(value)

    return read


def _list_of(item: _Field) -> Reader:
    read = item.read
    typed = item.accepts - NULL_ONLY if item.group == SCALAR else None

    def read_list(value: t.Any) -> list[t.Any] | None:
        if not isinstance(value, list):
            if value is None:
                return None
            raise Misfit(value)
        if typed is not None and typed.issuperset(map(type, value)):
            return value
        try:
            return [entry for entry in map(read, value) if entry is not None]
        except Misfit:
            pass
        # An item the column cannot hold: closed objects with other keys keep their typed
        # properties (the list goes to ``extra`` as sent); anything else sends the list whole.
        result = []
        for entry in value:
            try:
                converted = read(entry)
            except Misfit as misfit:
                if misfit.sent is not entry or misfit.typed is None:
                    raise Misfit(value) from None
                converted = misfit.typed
            if converted is not None:
                result.append(converted)
        raise Misfit(value, result)

    return read_list


def _closed_object(fields: Mapping[str, _Field]) -> Reader:
    names = tuple(fields)
    names_set = frozenset(names)
    accepts = tuple(field.accepts for field in fields.values())
    readers = tuple(field.read for field in fields.values())

    def read_closed(value: t.Any) -> dict[str, t.Any] | None:
        if not isinstance(value, dict):
            if value is None:
                return None
            raise Misfit(value)
        if tuple(value) == names and all(map(operator.contains, accepts, map(type, value.values()))):
            return value  # exactly its properties, typed
        values = tuple(map(value.get, names))
        if all(map(operator.contains, accepts, map(type, values))):
            typed = dict(zip(names, values, strict=True))
        else:
            typed = {name: read(entry) for name, read, entry in zip(names, readers, values, strict=True)}
        if not names_set.issuperset(value):  # keys it does not declare: kept, as sent, in extra
            raise Misfit(value, typed)
        return typed

    return read_closed


def _open_object(fields: Mapping[str, _Field], rest: _Field | None) -> Reader:
    known = {key: (field.accepts, field.read) for key, field in fields.items()}
    others = (rest.accepts, rest.read) if rest is not None else None

    def read_open(value: t.Any) -> dict[str, t.Any] | None:
        if not isinstance(value, dict):
            if value is None:
                return None
            raise Misfit(value)
        check = known.get
        typed: dict[str, t.Any] | None = None  # a copy once a value changes: the sent one stays as sent
        for key, entry in value.items():
            field = check(key, others)
            if field is not None and type(entry) not in field[0]:
                if typed is None:
                    typed = dict(value)
                typed[key] = field[1](entry)
        return value if typed is None else typed

    return read_open


class _Fields:
    """Builds each field's :class:`_Field` from its schema and the vendor's declarations."""

    def __init__(self, readers: Mapping[str, Reader], integer: Reader, zone: tzinfo) -> None:
        self.declared = dict(readers)
        self.used: set[str] = set()
        self.times = utc_times(zone)
        self.coercions: dict[str, Reader] = {
            "string": as_text, "integer": integer, "number": as_number, "boolean": as_bool,
        }
        self._tables: dict[Reader, Lookup] = {}

    def table(self, convert: Reader) -> Lookup:
        """One lookup per conversion, shared by every field it converts."""
        if convert not in self._tables:
            self._tables[convert] = Lookup(convert)
        return self._tables[convert]

    def field(self, path: str, prop: Mapping[str, t.Any], *, required: bool = False) -> _Field:
        kind = schema_type(prop)
        declared = self.declared.get(path)
        if declared is not None:
            self.used.add(path)
        if kind in _PYTHON_TYPES and prop.get("format") != "date-time":
            accepts = frozenset((*_PYTHON_TYPES[kind], NULL))
            coerce = self.coercions[kind]
            if declared is not None:
                table = Lookup(_typed(declared, accepts, coerce))
                return _Field(CALLED, NULL_ONLY, _checked(NULL_ONLY, table), table.__getitem__)
            table = self.table(coerce)
            read = _checked(accepts, table)
            return _Field(SCALAR, accepts, read, read, table)
        group = CALLED
        items: frozenset[type] = frozenset()
        if kind == "string":  # a date-time
            reader: Reader = self.times.strict if required else self.times.read
            if declared is None and not required:
                group = TIME
        elif kind == "array":
            item = self.field(f"{path}[]", prop.get("items") or {})
            reader = _list_of(item)
            if item.group == SCALAR and declared is None:
                group, items = ARRAY, item.accepts - NULL_ONLY
        elif kind == "object":
            reader = self.object(path, prop)
        else:
            reader = _as_sent
        if declared is not None:
            reader = _then(declared, reader)
        return _Field(group, NULL_ONLY, reader, reader, items=items)

    def object(self, path: str, prop: Mapping[str, t.Any]) -> Reader:
        fields = {key: self.field(f"{path}.{key}", sub) for key, sub in prop.get("properties", {}).items()}
        rest = prop.get("additionalProperties", True)
        if rest is False:
            return _closed_object(fields)
        rest_field = self.field(f"{path}.*", rest) if isinstance(rest, dict) else None
        if not fields and rest_field is None:
            return _any_object
        return _open_object(fields, rest_field)


Member = tuple[str, str, _Field]


def _misfit(record: dict[str, t.Any], name: str, key: str, sent: t.Any, misfit: Misfit | None = None) -> None:
    """``sent`` (raw ``key``'s value) as sent in ``extra``; the column ``name`` holds what
    it can of it: a closed object's typed properties, else null."""
    record[name] = misfit.typed if misfit is not None and misfit.sent is sent else None
    extra = record[EXTRA]
    if extra is None:
        record[EXTRA] = {key: sent}
    else:
        extra[key] = sent


def _getter(members: Sequence[Member]) -> Callable[[Raw], tuple[t.Any, ...]]:
    """``itemgetter`` of the members' keys that always returns a tuple (it returns a bare
    value for one key; asking twice for that key gives a pair, and ``zip`` with one name
    stops at one)."""
    keys = [key for _, key, _ in members]
    return operator.itemgetter(*keys) if len(keys) > 1 else operator.itemgetter(keys[0], keys[0])


class _Layout:
    """How records with one set of keys are typed: which raw key feeds which field, the
    fields by how they are read, and where the other keys go. Every raw key is read, so a
    record of another key set (of the same size) raises ``KeyError``.

    A group's fields are plain loops over prepared tuples: for the few fields of each,
    they cost less than ``dict.update(zip(...))``.
    """

    def __init__(self, keys: Sequence[str], conversion: RecordConversion) -> None:
        self.keys = frozenset(keys)
        renames, fields = conversion.renames, conversion.fields
        members: dict[str, list[Member]] = {group: [] for group in (SCALAR, ARRAY, TIME, CALLED)}
        moves: list[tuple[str, str]] = []
        extra: list[str] = []
        for key in keys:
            name = renames.get(key, key)
            field = fields.get(name)
            if field is None or (name != key and name in keys):  # a renamed key beside its field's
                extra.append(key)
                continue
            members[field.group].append((name, key, field))
            if name != key:
                moves.append((key, name))
        #: After the merge: each renamed key's value to its field.
        self.moves = tuple(moves)
        #: Keys for ``extra``; those the template lacks leave the record, the others (named
        #: like a field no key fills) are reset.
        self.extra = tuple(extra)
        self.unknown = tuple(key for key in extra if key not in conversion.template)
        self.reset = tuple(key for key in extra if key in conversion.template)
        scalars = members[SCALAR]
        self.scalars = _getter(scalars) if scalars else None
        self.scalar_fields = tuple((name, field.accepts, field.table, field.read)
                                   for name, _, field in scalars)
        self.scalar_keys = tuple(key for _, key, _ in scalars)
        #: The types a record's scalars came in -> which of them to convert (see :meth:`plan`).
        self.plans: dict[tuple[type, ...], tuple[tuple[int, str, Lookup, Reader], ...]] = {}
        arrays: dict[frozenset[type], list[Member]] = {}
        for member in members[ARRAY]:
            arrays.setdefault(member[2].items, []).append(member)
        #: Arrays of scalars by their items' types, each set checked in two calls.
        self.arrays = tuple(
            (items, _getter(group), tuple((name, key, field.read) for name, key, field in group))
            for items, group in arrays.items())
        if len(members[TIME]) == 1:  # a lone time costs less called
            members[CALLED] += members.pop(TIME)
        times = members.get(TIME)
        self.times = (tuple(name for name, _, _ in times), tuple(key for _, key, _ in times)
                      ) if times else None
        self.called = tuple((name, key, field.fast, field.read) for name, key, field in members[CALLED])
        self.utc = conversion.times.many

    def plan(self, types: tuple[type, ...]) -> tuple[tuple[int, str, Lookup, Reader], ...]:
        """The scalars whose type is not their schema type's, for records whose scalars came
        in ``types``: none for a vendor's well-typed JSON, the typed fields for a CSV's
        text. The same few patterns repeat through a page or a file, so each is worked
        out once."""
        plan = tuple((position, name, t.cast("Lookup", table), read)
                     for position, ((name, accepts, table, read), kind)
                     in enumerate(zip(self.scalar_fields, types, strict=False)) if kind not in accepts)
        if len(self.plans) < MAX_PLANS:
            self.plans[types] = plan
        return plan


class RecordConversion:
    """A stream's conversion from a vendor's raw record to the schema-typed record.

    ``readers``
        Field path (``"duration"``; nested: ``"sla.time_to_reply"``, an array's items
        ``"call_flow[]"`` and their fields ``"call_flow[].time"``, the values of an
        object's other keys ``"contact_details.*"``) -> a function from the value as
        sent to one the schema's typing then finishes: ``hh:mm:ss`` to seconds, a day
        fraction to seconds, a bare value to a list. It never raises: what it cannot
        read is ``None``.
    ``integer``
        How this vendor's integers are read (default
        :func:`~tap_callrecords.core.convert.as_int`).
    ``computed``
        Field -> a function of the whole raw record, for a field read from other keys
        (India date + time as a UTC start, a charge's amount); a raw key of its name goes
        into ``extra``.
    ``renames``
        Raw key -> field, for a vendor's other spelling of a key; sent beside the
        field's own key, it goes into ``extra``.
    ``zone``
        Where date-times without an offset are (a report job's timezone).
    """

    def __init__(self, schema: Mapping[str, t.Any], *, readers: Mapping[str, Reader] | None = None,
                 integer: Reader = as_int, computed: Mapping[str, Callable[[Raw], t.Any]] | None = None,
                 renames: Mapping[str, str] | None = None, zone: tzinfo = UTC) -> None:
        properties: Mapping[str, t.Any] = schema["properties"]
        computed = dict(computed or {})
        self.renames = dict(renames or {})
        if EXTRA not in properties:
            raise ValueError(f"the schema has no {EXTRA!r} for the keys it does not know")
        builder = _Fields(readers or {}, integer, zone)
        required = set(schema.get("required", ()))
        #: Every field read from a raw key of its own, in schema order.
        self.fields = {name: builder.field(name, prop, required=name in required)
                       for name, prop in properties.items() if name != EXTRA and name not in computed}
        undeclared = (builder.declared.keys() - builder.used) | (set(computed) - set(properties)) \
            | (set(self.renames.values()) - set(self.fields))
        if undeclared:
            raise ValueError(f"declared for no field of the schema: {', '.join(sorted(undeclared))}")
        #: Every field, in schema order, all null.
        self.template: dict[str, t.Any] = dict.fromkeys(properties)
        self.computed = tuple(computed.items())
        self.times = builder.times
        self._layouts: dict[frozenset[str], _Layout] = {}
        self._by_size: dict[int, _Layout] = {}

    def __call__(self, raw: Raw) -> dict[str, t.Any]:
        """The schema-typed record of ``raw``."""
        layout = self._by_size.get(len(raw)) or self._layout(raw)
        # Every value in its field's place, in schema order, in one C call (keys the
        # template lacks are appended); the layout's groups then type what needs it.
        record = {**self.template, **raw}
        try:
            for key, name in layout.moves:
                record[name] = record.pop(key)
            if layout.extra:
                for key in layout.unknown:
                    del record[key]
                for key in layout.reset:
                    record[key] = None
                record[EXTRA] = {key: raw[key] for key in layout.extra}
            if layout.scalars is not None:
                values = layout.scalars(raw)
                types = tuple(map(type, values))
                plan = layout.plans.get(types)
                for position, name, table, _read in layout.plan(types) if plan is None else plan:
                    value = values[position]
                    try:
                        record[name] = table[value]
                    except TypeError:  # an unhashable value (a list where a number belongs)
                        _misfit(record, name, layout.scalar_keys[position], value)
            for items, get, arrays in layout.arrays:
                values = get(raw)
                if not (LIST_OR_NULL.issuperset(map(type, values))
                        and items.issuperset(map(type, itertools.chain.from_iterable(filter(None, values))))):
                    for name, key, read in arrays:
                        value = raw[key]
                        try:
                            record[name] = read(value)
                        except Misfit:
                            _misfit(record, name, key, value)
            if layout.times is not None:
                names, keys = layout.times
                for name, value in zip(names, layout.utc(map(raw.__getitem__, keys)), strict=True):
                    record[name] = value
            for name, key, fast, read in layout.called:
                value = raw[key]
                try:
                    try:
                        record[name] = fast(value)
                    except TypeError:  # an unhashable value for a lookup, or a reader's own error, again
                        record[name] = read(value)
                except Misfit as misfit:
                    _misfit(record, name, key, value, misfit)
        except KeyError:  # another key set of the same size (or a reader's own KeyError)
            if layout.keys == frozenset(raw):
                raise
            self._layout(raw)
            return self(raw)
        for name, compute in self.computed:
            record[name] = compute(raw)
        return record

    def _layout(self, raw: Raw) -> _Layout:
        keys = frozenset(raw)
        layout = self._layouts.get(keys)
        if layout is None:
            layout = _Layout(tuple(raw), self)
            if len(self._layouts) < MAX_LAYOUTS:  # beyond: built per record, slower but right
                self._layouts[keys] = layout
        self._by_size[len(raw)] = layout
        return layout
