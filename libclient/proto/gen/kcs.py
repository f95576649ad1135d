"""Reader for kc's protocol description files (*.kcs).

Format, one API per file:

    api <key> <Name> versions <range> flexible <range>

    request <MessageName>
      <Field> <type> <versions> [nullable <range>] [tag <n> <range>]
              [default <value>] [ignorable]
        <nested field of a struct or struct-array field, indented two more>
    common <StructName>
      <fields of a struct that several fields of the message above share>

    response <MessageName>
      ...

Ranges: "3+", "0-4", "7", "none". Types: bool int8 int16 uint16 int32 int64
float64 string bytes records uuid, a struct name (capitalised), or []T.
'#' starts a comment line.
"""
import re
import shlex

INF = 0x7FFF
PRIMS = {"bool", "int8", "int16", "uint16", "int32", "int64", "float64",
         "string", "bytes", "records", "uuid"}


class KcsError(Exception):
    pass


def parse_range(s, where):
    if s == "none":
        return None
    m = re.fullmatch(r"(\d+)(\+|-(\d+))?", s)
    if not m:
        raise KcsError("%s: bad version range %r" % (where, s))
    lo = int(m.group(1))
    if m.group(2) == "+":
        return (lo, INF)
    hi = int(m.group(3)) if m.group(3) else lo
    if hi < lo:
        raise KcsError("%s: empty version range %r" % (where, s))
    return (lo, hi)


def in_range(v, r):
    return r is not None and r[0] <= v <= r[1]


class Field:
    def __init__(self, name, typ, versions, where):
        self.name = name
        self.type = typ
        self.versions = versions
        self.nullable = None
        self.tag = None
        self.tagged = None
        self.default = None
        self.ignorable = False
        self.where = where
        self.struct = None  # Struct, for struct and struct-array fields
        self.children = []  # inline nested fields

    @property
    def is_array(self):
        return self.type.startswith("[]")

    @property
    def base(self):
        return self.type[2:] if self.is_array else self.type

    @property
    def is_struct(self):
        return self.base[:1].isupper()


class Struct:
    def __init__(self, name, fields):
        self.name = name
        self.fields = fields


class Message:
    def __init__(self, kind, name):
        self.kind = kind
        self.name = name
        self.fields = []
        self.commons = {}
        self.structs = []  # every struct, children before parents; root last
        self.root = None


class Api:
    def __init__(self, key, name, versions, flexible, path):
        self.key = key
        self.name = name
        self.versions = versions
        self.flexible = flexible
        self.path = path
        self.request = None
        self.response = None


def _parse_field(tokens, where):
    if len(tokens) < 3:
        raise KcsError("%s: a field needs a name, a type and versions" % where)
    f = Field(tokens[0], tokens[1], parse_range(tokens[2], where), where)
    if f.versions is None:
        raise KcsError("%s: field %s is in no version" % (where, f.name))
    i = 3
    while i < len(tokens):
        t = tokens[i]
        if t == "nullable" and i + 1 < len(tokens):
            f.nullable = parse_range(tokens[i + 1], where)
            i += 2
        elif t == "tag" and i + 2 < len(tokens):
            f.tag = int(tokens[i + 1])
            f.tagged = parse_range(tokens[i + 2], where)
            i += 3
        elif t == "default" and i + 1 < len(tokens):
            f.default = tokens[i + 1]
            i += 2
        elif t == "ignorable":
            f.ignorable = True
            i += 1
        else:
            raise KcsError("%s: unexpected %r" % (where, t))
    if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", f.name):
        raise KcsError("%s: field names are letters and digits: %r" % (where, f.name))
    if not f.is_struct and f.base not in PRIMS:
        raise KcsError("%s: unknown type %r" % (where, f.type))
    return f


def parse_file(path):
    with open(path, encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    api = None
    msg = None
    stack = []  # (indent, field list, owning field)
    for no, raw in enumerate(lines, 1):
        where = "%s:%d" % (path, no)
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        indent = len(raw) - len(raw.lstrip(" "))
        if indent % 2:
            raise KcsError("%s: indent by two spaces" % where)
        tokens = shlex.split(raw, posix=True)
        if indent == 0:
            kw = tokens[0]
            if kw == "api":
                if api or len(tokens) != 7 or tokens[3] != "versions" or tokens[5] != "flexible":
                    raise KcsError("%s: expected 'api KEY Name versions R flexible R'" % where)
                api = Api(int(tokens[1]), tokens[2], parse_range(tokens[4], where),
                          parse_range(tokens[6], where), path)
            elif kw in ("request", "response") and len(tokens) == 2:
                if api is None:
                    raise KcsError("%s: 'api' line must come first" % where)
                msg = Message(kw, tokens[1])
                if getattr(api, kw):
                    raise KcsError("%s: second %s" % (where, kw))
                setattr(api, kw, msg)
                stack = [(0, msg.fields, None)]
            elif kw == "common" and len(tokens) == 2:
                if msg is None:
                    raise KcsError("%s: 'common' outside a message" % where)
                fl = []
                msg.commons[tokens[1]] = fl
                stack = [(0, fl, None)]
            else:
                raise KcsError("%s: unknown line" % where)
            continue
        if not stack:
            raise KcsError("%s: field outside a message" % where)
        depth = indent // 2
        while len(stack) > depth:
            stack.pop()
        if len(stack) != depth:
            raise KcsError("%s: indented too far" % where)
        f = _parse_field(tokens, where)
        stack[-1][1].append(f)
        if f.is_struct:
            stack.append((depth, f.children, f))
    if api is None or api.request is None or api.response is None:
        raise KcsError("%s: needs an api line, a request and a response" % path)
    for m in (api.request, api.response):
        _link(api, m)
    return api


def _link(api, msg):
    """Resolves struct types, checks the rules the codec relies on, and orders
    the structs so that each comes after the structs it embeds."""
    by_name = {}
    order = []

    def visit(struct_name, fields, where):
        if struct_name in by_name:
            if fields:
                raise KcsError("%s: struct %s defined twice in %s" % (where, struct_name, msg.name))
            return by_name[struct_name]
        if not fields:
            if struct_name not in msg.commons:
                raise KcsError("%s: unknown struct %s" % (where, struct_name))
            fields = msg.commons[struct_name]
        s = Struct(struct_name, fields)
        by_name[struct_name] = s
        names = set()
        for f in fields:
            if f.name in names:
                raise KcsError("%s: duplicate field %s" % (f.where, f.name))
            names.add(f.name)
            _check(api, f)
            if f.is_struct:
                f.struct = visit(f.base, f.children, f.where)
        tags = [f.tag for f in fields if f.tag is not None]
        if len(tags) != len(set(tags)):
            raise KcsError("%s: duplicate tag in struct %s" % (where, struct_name))
        order.append(s)
        return s

    msg.root = visit(msg.name, msg.fields, api.path)
    msg.structs = order


def _check(api, f):
    if f.tagged is not None:
        if api.flexible is None or f.tagged[0] < api.flexible[0]:
            raise KcsError("%s: %s is tagged in a non-flexible version" % (f.where, f.name))
        if f.tag < 0:
            raise KcsError("%s: negative tag" % f.where)
    if f.nullable is not None and not (f.is_array or f.base in ("string", "bytes", "records")
                                       or f.is_struct):
        raise KcsError("%s: %s of type %s cannot be nullable" % (f.where, f.name, f.type))
    if f.is_struct and not f.is_array and f.nullable is not None:
        if f.default != "null":
            raise KcsError("%s: a nullable struct must default to null" % f.where)
        if f.tagged is not None:
            raise KcsError("%s: tagged nullable structs are not supported" % f.where)
    if f.is_struct and not f.is_array and f.default == "null" and f.nullable is None:
        raise KcsError("%s: a struct that defaults to null must be nullable" % f.where)
    if f.default is not None:
        d = f.default
        if d == "null":
            if not (f.is_array or f.is_struct or f.base in ("string", "bytes", "records")):
                raise KcsError("%s: only strings, bytes, arrays and structs default to null"
                               % f.where)
        elif f.is_array or f.is_struct or f.base in ("bytes", "records", "uuid"):
            raise KcsError("%s: unsupported default %r for %s" % (f.where, d, f.type))
        elif f.base == "bool":
            if d not in ("true", "false"):
                raise KcsError("%s: bool default must be true or false" % f.where)
        elif f.base == "float64":
            float(d)
        elif f.base != "string":
            v = int(d, 0)
            lim = {"int8": 7, "int16": 15, "int32": 31, "int64": 63}
            if f.base == "uint16":
                ok = 0 <= v <= 0xFFFF
            else:
                ok = -(1 << lim[f.base]) <= v < (1 << lim[f.base])
            if not ok:
                raise KcsError("%s: default %s out of range for %s" % (f.where, d, f.base))


def snake(name):
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    return s.lower()
