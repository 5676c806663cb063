"""OData $filter / $orderby parsing for the Defender emulator.

Supports what the Graph alerts_v2 and MDE /api/alerts endpoints document for
incremental pulls: comparisons (eq ne gt ge lt le) of a property with a literal,
'and' / 'or' / 'not' and parentheses. Datetime literals are unquoted OData
DateTimeOffset values (0-7 fraction digits, Z or +hh:mm); comparing a datetime
property with a quoted string is a type error, as on the real services. Lambdas
(any/all) and functions are rejected with ODataError. No state.
"""

import re

from emu_util import parse_datetime

OPS = {'eq', 'ne', 'gt', 'ge', 'lt', 'le'}
OP_NAMES = {'eq': 'Equal', 'ne': 'NotEqual', 'gt': 'GreaterThan',
            'ge': 'GreaterThanOrEqual', 'lt': 'LessThan', 'le': 'LessThanOrEqual'}

_TOKEN_RE = re.compile(r"""
    (?P<ws>\s+)
  | (?P<lp>\() | (?P<rp>\)) | (?P<comma>,)
  | (?P<str>'(?:[^']|'')*')
  | (?P<dt>\d{4}-\d{2}-\d{2}T[0-9:.]+(?:Z|[+-]\d{2}:\d{2})?)
  | (?P<num>-?\d+(?:\.\d+)?)
  | (?P<ident>[A-Za-z_$][A-Za-z0-9_./]*)
""", re.VERBOSE)


class ODataError(Exception):
    """A query the service would reject with HTTP 400."""


def _tokenize(text):
    pos, out = 0, []
    while pos < len(text):
        m = _TOKEN_RE.match(text, pos)
        if not m:
            raise ODataError("Invalid filter clause: syntax error at position %d in '%s'."
                             % (pos, text))
        pos = m.end()
        kind = m.lastgroup
        if kind != 'ws':
            out.append((kind, m.group(kind)))
    return out


class Property:
    """A filterable property: kind is 'datetime', 'string', 'enum' or 'number';
    get(alert) returns ticks / str / int / None."""

    def __init__(self, name, kind, get, values=None, edm=None):
        self.name, self.kind, self.get, self.values = name, kind, get, values
        self.edm = edm or {'datetime': 'Edm.DateTimeOffset', 'string': 'Edm.String',
                           'enum': 'microsoft.graph.security.' + name,
                           'number': 'Edm.Int64'}[kind]


class _Parser:
    def __init__(self, tokens, schema, case_insensitive_names):
        self.toks, self.i = tokens, 0
        self.schema = schema
        self.ci = case_insensitive_names
        self.lower = {k.lower(): v for k, v in schema.items()}

    def peek(self, off=0):
        j = self.i + off
        return self.toks[j] if j < len(self.toks) else (None, None)

    def take(self):
        tok = self.peek()
        self.i += 1
        return tok

    def is_kw(self, word, off=0):
        kind, val = self.peek(off)
        return kind == 'ident' and val == word

    def parse_or(self):
        left = self.parse_and()
        while self.is_kw('or'):
            self.take()
            right = self.parse_and()
            left = (lambda a, b: lambda x: a(x) or b(x))(left, right)
        return left

    def parse_and(self):
        left = self.parse_unary()
        while self.is_kw('and'):
            self.take()
            right = self.parse_unary()
            left = (lambda a, b: lambda x: a(x) and b(x))(left, right)
        return left

    def parse_unary(self):
        if self.is_kw('not'):
            self.take()
            inner = self.parse_unary()
            return lambda x: not inner(x)
        kind, _ = self.peek()
        if kind == 'lp':
            self.take()
            inner = self.parse_or()
            if self.take()[0] != 'rp':
                raise ODataError("Invalid filter clause: ')' expected.")
            return inner
        return self.parse_comparison()

    def prop(self, name):
        p = self.schema.get(name)
        if p is None and self.ci:
            p = self.lower.get(name.lower())
        if p is None:
            raise ODataError("Invalid filter clause: Could not find a property named '%s' "
                             "on type 'microsoft.graph.security.alert', or the property "
                             "is not filterable." % name)
        return p

    def literal(self, p, op):
        kind, val = self.take()
        if kind is None:
            raise ODataError("Invalid filter clause: literal expected after '%s'." % op)
        if kind == 'ident' and val == 'null':
            return None
        if p.kind == 'datetime':
            if kind != 'dt':
                found = 'Edm.String' if kind == 'str' else 'Edm.Int32' if kind == 'num' else val
                raise ODataError("A binary operator with incompatible types was detected. "
                                 "Found operand types '%s' and '%s' for operator kind '%s'."
                                 % (p.edm, found, OP_NAMES[op]))
            try:
                return parse_datetime(val)
            except ValueError as e:
                raise ODataError("Invalid filter clause: %s." % e) from None
        if p.kind == 'number':
            if kind != 'num':
                raise ODataError("A binary operator with incompatible types was detected. "
                                 "Found operand types '%s' and 'Edm.String' for operator "
                                 "kind '%s'." % (p.edm, OP_NAMES[op]))
            return int(float(val))
        if kind != 'str':
            raise ODataError("A binary operator with incompatible types was detected. "
                             "Found operand types '%s' and '%s' for operator kind '%s'."
                             % (p.edm, 'Edm.DateTimeOffset' if kind == 'dt' else 'Edm.Int32',
                                OP_NAMES[op]))
        text = val[1:-1].replace("''", "'")
        if p.kind == 'enum' and p.values is not None and text not in p.values:
            raise ODataError("The string '%s' is not a valid enumeration type constant."
                             % text)
        return text

    def parse_comparison(self):
        kind, name = self.take()
        if kind != 'ident':
            raise ODataError("Invalid filter clause: property name expected, found '%s'."
                             % (name or 'end of input'))
        if self.peek()[0] == 'lp' or '/' in name:
            raise ODataError("Invalid filter clause: '%s' (functions and lambda operators) "
                             "is not supported by this service." % name)
        p = self.prop(name)
        okind, op = self.take()
        if okind != 'ident' or op not in OPS:
            raise ODataError("Invalid filter clause: comparison operator expected after '%s'."
                             % name)
        lit = self.literal(p, op)
        get = p.get
        if lit is None:
            if op not in ('eq', 'ne'):
                raise ODataError("Invalid filter clause: null can only be compared with eq/ne.")
            return (lambda x: get(x) is None) if op == 'eq' else (lambda x: get(x) is not None)
        return _compare(get, op, lit)


def _compare(get, op, lit):
    if op == 'eq':
        return lambda x: get(x) == lit
    if op == 'ne':
        return lambda x: get(x) != lit

    def cmp(x):
        v = get(x)
        if v is None:
            return False
        if op == 'gt':
            return v > lit
        if op == 'ge':
            return v >= lit
        if op == 'lt':
            return v < lit
        return v <= lit
    return cmp


def parse_filter(text, schema, case_insensitive_names=False):
    """Compile a $filter string into predicate(alert) -> bool. Raises ODataError."""
    tokens = _tokenize(text)
    if not tokens:
        raise ODataError("Invalid filter clause: the $filter expression is empty.")
    p = _Parser(tokens, schema, case_insensitive_names)
    pred = p.parse_or()
    if p.i != len(tokens):
        raise ODataError("Invalid filter clause: syntax error at '%s'." % p.peek()[1])
    return pred


def parse_orderby(text, schema, case_insensitive_names=False):
    """'$orderby=lastUpdateDateTime asc, id desc' -> list of (Property, descending)."""
    out = []
    lower = {k.lower(): v for k, v in schema.items()}
    for part in text.split(','):
        words = part.split()
        if not words or len(words) > 2:
            raise ODataError("Invalid $orderby clause '%s'." % text)
        p = schema.get(words[0]) or (lower.get(words[0].lower())
                                     if case_insensitive_names else None)
        if p is None:
            raise ODataError("Order by '%s' is not supported." % words[0])
        direction = words[1].lower() if len(words) == 2 else 'asc'
        if direction not in ('asc', 'desc'):
            raise ODataError("Invalid $orderby direction '%s'." % words[1])
        out.append((p, direction == 'desc'))
    return out


def sort_key(order, alert):
    """A tuple giving the total order of $orderby plus id as tie-breaker. Descending
    numeric/datetime keys are negated, descending strings become negated code points
    with a sentinel so that longer strings sort first."""
    key = []
    for p, desc in order:
        v = p.get(alert)
        if p.kind in ('datetime', 'number'):
            v = -1 if v is None else v
            key.append(-v if desc else v)
        else:
            v = v or ''
            key.append(tuple(-ord(c) for c in v) + (1,) if desc else tuple(ord(c) for c in v))
    key.append(alert['id'])
    return tuple(key)
