"""Modeling tools' expressions, translated into the restricted evaluator's language at deploy time.

Camunda 7 writes JUEL inside ``${...}`` or ``#{...}`` (``${initiator}``, ``#{loan.amount > 1000}``);
Camunda 8 (Zeebe) writes FEEL after a leading ``=`` (``=applicant_user``, ``=["a", "b"]``). Neither
language is run here: the small subset both share is rewritten as an expression of
``engine.expressions.sandbox``, which is the only thing that ever evaluates it.

=====================  ==============================  ==========================  ==================
construct              JUEL (Camunda 7)                FEEL (Camunda 8)            translated to
=====================  ==============================  ==========================  ==================
variable path          ``a``, ``a.b``, ``a['b']``,     ``a``, ``a.b``              ``a["b"]``, ``a[0]``
                       ``a[0]``
text, number           ``'x'``, ``"x"``, ``3``,        ``"x"``, ``3``, ``-2.5``    ``'x'``, ``3``
                       ``-2.5``
list                   ``[a, 'b']``                    ``[a, "b"]``                ``[a, 'b']``
comparison             ``== != < <= > >=`` and         ``= != < <= > >=``          ``== != < ...``
                       ``eq ne lt le gt ge``
logic                  ``&& || !`` and                 ``and or not(x)``           ``and or not``
                       ``and or not``
arithmetic             ``+ - * / %``, ``div mod``,     ``+ - * /``, unary ``-``    ``+ - * / %``
                       unary ``-``
emptiness              ``empty x``, ``not empty x``    (none)                      ``x in (None, '',
                                                                                   [], {})``
conditional            ``a ? b : c``                   (none)                      ``b if a else c``
constants              ``true false null``             ``true false null``         ``True False None``
=====================  ==============================  ==========================  ==================

A Camunda 7 value may mix text and expressions (``${region}-clerks``): it becomes a concatenation
with ``str()``. Anything else (function and method calls, FEEL filters and 1-based indexes, ranges,
``instanceof``, names starting with ``_``) raises ``UntranslatableExpression``, which the deploy
turns into a 400 error naming the element and line. Arithmetic keeps Python's meaning: ``+`` joins
two texts (JUEL would try to read them as numbers), ``/`` always gives a decimal number.
"""

import re

from engine.exceptions import ScriptError
from engine.expressions import sandbox


class UntranslatableExpression(ValueError):
    """The expression uses something outside the subset this module translates."""


_TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
      | (?P<number>\d+(?:\.\d+)?(?![\w.]))
      | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>==|!=|<=|>=|&&|\|\||[<>=!()\[\],.\-+*/%?:])
    )""",
    re.VERBOSE,
)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r"}
_CONSTANTS = {"true": "True", "false": "False", "null": "None"}
_COMPARISONS = {
    "juel": {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">=",
             "eq": "==", "ne": "!=", "lt": "<", "le": "<=", "gt": ">", "ge": ">="},
    "feel": {"=": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="},
}  # fmt: skip
_OR = {"juel": {"||", "or"}, "feel": {"or"}}
_AND = {"juel": {"&&", "and"}, "feel": {"and"}}
_MULTIPLICATIVE = {
    "juel": {"*": "*", "/": "/", "%": "%", "div": "/", "mod": "%"},
    "feel": {"*": "*", "/": "/"},
}
_UNSUPPORTED_WORDS = {"div", "mod", "empty", "instanceof", "if", "then", "else", "for", "some", "every",
                      "in", "satisfies", "between", "function"}  # fmt: skip


def _tokens(text):
    tokens, position = [], 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if match is None or match.end() == position:
            raise UntranslatableExpression(f"unexpected {text[position:].strip()[:20]!r}")
        kind = match.lastgroup
        tokens.append((kind, match.group(kind)))
        position = match.end()
    return tokens


def _unquote(literal):
    body, out, index = literal[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char == "\\" and index + 1 < len(body):
            index += 1
            char = _ESCAPES.get(body[index], body[index])
        out.append(char)
        index += 1
    return "".join(out)


class _Parser:
    """Recursive descent over the tokens; each rule returns the translated text, parenthesised."""

    def __init__(self, text, dialect):
        self.tokens = _tokens(text)
        self.position = 0
        self.dialect = dialect

    def peek(self):
        return self.tokens[self.position][1] if self.position < len(self.tokens) else None

    def take(self, expected=None):
        if self.position >= len(self.tokens):
            raise UntranslatableExpression("the expression ends too early")
        kind, value = self.tokens[self.position]
        if expected is not None and value != expected:
            raise UntranslatableExpression(f"expected {expected!r}, found {value!r}")
        self.position += 1
        return kind, value

    def parse(self):
        if not self.tokens:
            raise UntranslatableExpression("the expression is empty")
        result = self.conditional()
        if self.position < len(self.tokens):
            raise UntranslatableExpression(f"{self.peek()!r} is not supported here")
        return result

    def logic(self, words, python_word):
        inner = (lambda: self.logic(_AND[self.dialect], "and")) if python_word == "or" else self.comparison
        parts = [inner()]
        while self.peek() in words:
            self.take()
            parts.append(inner())
        return parts[0] if len(parts) == 1 else "(" + f" {python_word} ".join(parts) + ")"

    def conditional(self):
        """JUEL's ``a ? b : c`` (the lowest precedence); FEEL has no such operator."""
        condition = self.logic(_OR[self.dialect], "or")
        if self.peek() != "?" or self.dialect != "juel":
            return condition
        self.take("?")
        when_true = self.conditional()
        self.take(":")
        when_false = self.conditional()
        return f"({when_true} if {condition} else {when_false})"

    def comparison(self):
        left = self.additive()
        operator = _COMPARISONS[self.dialect].get(self.peek())
        if operator is None:
            return left
        self.take()
        right = self.additive()
        if self.peek() in _COMPARISONS[self.dialect]:
            raise UntranslatableExpression("chained comparisons are not supported")
        return f"({left} {operator} {right})"

    def additive(self):
        result = self.multiplicative()
        while self.peek() in ("+", "-"):
            operator = self.take()[1]
            result = f"({result} {operator} {self.multiplicative()})"
        return result

    def multiplicative(self):
        operators = _MULTIPLICATIVE[self.dialect]
        result = self.unary()
        while self.peek() in operators:
            operator = operators[self.take()[1]]
            result = f"({result} {operator} {self.unary()})"
        return result

    def unary(self):
        word = self.peek()
        if word == "-":
            self.take()
            if self.position < len(self.tokens) and self.tokens[self.position][0] == "number":
                return "-" + self.take()[1]
            return f"(-{self.unary()})"
        if self.dialect == "juel" and word in ("!", "not"):
            self.take()
            return f"(not {self.unary()})"
        if self.dialect == "juel" and word == "empty":
            self.take()
            return f"({self.unary()} in (None, '', [], {{}}))"
        if self.dialect == "feel" and word == "not":
            self.take()
            self.take("(")
            inner = self.logic(_OR[self.dialect], "or")
            self.take(")")
            return f"(not {inner})"
        return self.operand()

    def operand(self):
        kind, value = self.take()
        if kind == "string":
            return repr(_unquote(value))
        if kind == "number":
            return value
        if value == "[":
            return self.list_literal()
        if value == "(":
            inner = self.conditional()
            self.take(")")
            return inner
        if kind == "name":
            return self.path(value)
        raise UntranslatableExpression(f"{value!r} is not supported")

    def list_literal(self):
        items = []
        while self.peek() != "]":
            items.append(self.logic(_OR[self.dialect], "or"))
            if self.peek() != ",":
                break
            self.take(",")
        self.take("]")
        return "[" + ", ".join(items) + "]"

    def path(self, name):
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        if name in _UNSUPPORTED_WORDS or name in _COMPARISONS[self.dialect] or name in ("and", "or", "not"):
            raise UntranslatableExpression(f"{name!r} is not supported")
        text, written = name, name
        while self.peek() in (".", "["):
            if self.take()[1] == ".":
                kind, key = self.take()
                if kind != "name":
                    raise UntranslatableExpression(f"expected a property name after '.', found {key!r}")
                text, written = text + f"[{key!r}]", written + "." + key
            else:
                key = self.index()
                text, written = text + f"[{key}]", written + f"[{key}]"
        if self.peek() == "(":
            raise UntranslatableExpression(f"calling functions or methods ({written}(...)) is not supported")
        return text

    def index(self):
        if self.dialect == "feel":
            raise UntranslatableExpression("FEEL filters and indexes are not supported")
        kind, value = self.take()
        if kind == "string":
            key = repr(_unquote(value))
        elif kind == "number" and value.isdigit():
            key = value
        else:
            raise UntranslatableExpression("an index must be a text or a whole number")
        self.take("]")
        return key


def _checked(translated):
    try:
        sandbox.check_syntax(translated, "eval")
    except ScriptError as problem:
        raise UntranslatableExpression(re.sub(r"\s*\(line \d+\)$", "", str(problem))) from None
    return translated


def feel(text):
    """The sandbox expression for a FEEL expression (the text after Zeebe's leading ``=``)."""
    return _checked(_Parser(text, "feel").parse())


def juel(text):
    """The sandbox expression for a JUEL expression (the text inside ``${...}`` or ``#{...}``)."""
    return _checked(_Parser(text, "juel").parse())


def _juel_parts(text):
    """Split Camunda 7 text into ("text", str) and ("expression", str) parts, honouring quotes."""
    parts, position = [], 0
    while position < len(text):
        start = min((index for index in (text.find("${", position), text.find("#{", position)) if index >= 0),
                    default=-1)
        if start < 0:
            parts.append(("text", text[position:]))
            break
        if start > position:
            parts.append(("text", text[position:start]))
        end = _closing_brace(text, start + 2)
        parts.append(("expression", text[start + 2:end]))
        position = end + 1
    return parts


def _closing_brace(text, position):
    quote = None
    while position < len(text):
        char = text[position]
        if quote:
            if char == "\\":
                position += 1
            elif char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "}":
            return position
        position += 1
    raise UntranslatableExpression("an expression is not closed with '}'")


def is_camunda_expression(text):
    return "${" in text or "#{" in text


def camunda_value(text):
    """A Camunda 7 attribute value: the sandbox expression when it holds ``${...}``/``#{...}``, else None."""
    if not is_camunda_expression(text):
        return None
    parts = _juel_parts(text)
    if len(parts) == 1:
        return juel(parts[0][1])
    pieces = [repr(value) if kind == "text" else f"str({juel(value)})" for kind, value in parts]
    return _checked(" + ".join(pieces))


def split_camunda_list(text):
    """A Camunda 7 comma-separated list (``a, ${b}, c``) as its stripped items; commas inside ``${}`` stay."""
    items, current, depth, quote = [], [], 0, None
    for char in text:
        if quote:
            quote = None if char == quote else quote
        elif depth and char in "'\"":
            quote = char
        elif char == "{":
            depth += 1
        elif char == "}":
            depth = max(depth - 1, 0)
        elif char == "," and not depth:
            items.append("".join(current))
            current = []
            continue
        current.append(char)
    items.append("".join(current))
    return [item.strip() for item in items if item.strip()]
