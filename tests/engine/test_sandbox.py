"""The restricted evaluator for BPMN scripts and conditions: what it runs, what it refuses, its limits."""

import ast
import time
from datetime import date, datetime
from pathlib import Path

import pytest

from engine.exceptions import ScriptError, ScriptForbiddenError, ScriptLimitError, ScriptSyntaxError
from engine.expressions import sandbox
from engine.expressions.sandbox import check_syntax, evaluate, execute


def run(script, **data):
    """Execute ``script`` on a fresh context built from ``data`` and return the context."""
    execute(script, data)
    return data


# ------------------------------------------------------------------------------- expressions


def test_arithmetic_follows_python():
    """Arithmetic operators, precedence and unary minus behave as in Python."""
    assert evaluate("1 + 2 * 3 - -4", {}) == 11
    assert evaluate("7 / 2, 7 // 2, 7 % 3, 2 ** 10", {}) == (3.5, 3, 1, 1024)
    assert evaluate("(base + 1) * rate", {"base": 9, "rate": 0.5}) == 5.0
    assert evaluate("'ab' * 3 + 'c'", {}) == "abababc"
    assert evaluate("{1, 2} | {3}", {}) == {1, 2, 3}


def test_condition_with_boolean_operators():
    """A typical gateway condition combines comparisons with and/or/not."""
    condition = "amount > 1000 and approved == True or not checked"
    assert evaluate(condition, {"amount": 2000, "approved": True, "checked": True}) is True
    assert evaluate(condition, {"amount": 500, "approved": True, "checked": True}) is False
    assert evaluate(condition, {"amount": 500, "approved": False, "checked": False}) is True


def test_boolean_operators_short_circuit_and_return_an_operand():
    """`and`/`or` stop early and return an operand, so `0 and 1/0` never divides."""
    assert evaluate("0 and 1 / 0", {}) == 0
    assert evaluate("name or 'anonymous'", {"name": ""}) == "anonymous"
    assert evaluate("a and b", {"a": 1, "b": [2]}) == [2]


def test_chained_comparisons():
    """Chained comparisons work and stop at the first false link."""
    assert evaluate("0 < x <= 10 < y", {"x": 10, "y": 11}) is True
    assert evaluate("0 < x <= 10 < y", {"x": 11, "y": 99}) is False
    assert evaluate("1 > 2 > undefined", {}) is False


def test_membership_and_identity_tests():
    """`in`, `not in`, `is None` and `is not None` work on plain values."""
    data = {"status": "open", "reviewer": None, "tags": {"a": 1}}
    assert evaluate("status in ['open', 'pending']", data) is True
    assert evaluate("'b' not in tags", data) is True
    assert evaluate("'pen' in status and 'shut' not in status", data) is True
    assert evaluate("reviewer is None and status is not None", data) is True


def test_conditional_expression():
    """`a if c else b` only evaluates the branch it picks."""
    assert evaluate("'big' if amount > 100 else 'small'", {"amount": 101}) == "big"
    assert evaluate("1 / 0 if False else 'safe'", {}) == "safe"


def test_lowercase_true_false_null_are_aliases_in_evaluate():
    """Modelling tools write true/false/null; evaluate reads them as True/False/None."""
    assert evaluate("approved == true and rejected == false", {"approved": True, "rejected": False}) is True
    assert evaluate("reviewer == null", {"reviewer": None}) is True


def test_aliases_give_way_to_context_values():
    """A context value named true/false/null wins over the alias."""
    assert evaluate("true", {"true": "yes"}) == "yes"
    assert evaluate("null", {"null": 0}) == 0


def test_aliases_do_not_exist_in_scripts():
    """Scripts must use True/False/None; `true` is an unknown name there."""
    with pytest.raises(ScriptError, match="name 'true' is not defined"):
        execute("x = true", {})


def test_fstrings_with_conversions_and_format_specs():
    """f-strings support !r/!s conversions, simple format specs and nested specs."""
    data = {"amount": 1234.5, "name": "Ana", "width": 6, "n": 42}
    assert evaluate("f'{name}: {amount:,.2f}'", data) == "Ana: 1,234.50"
    assert evaluate("f'{name!r}|{n:>{width}}|{n:05d}|{n:x}'", data) == "'Ana'|    42|00042|2a"
    assert evaluate("f'{[1, 2]} {None}'", data) == "[1, 2] None"


def test_fstring_of_a_date_uses_strftime():
    """A date in an f-string accepts strftime directives as its format spec."""
    assert evaluate("f'{due:%d/%m/%Y}'", {"due": date(2024, 3, 9)}) == "09/03/2024"


def test_subscripts_and_slices():
    """Indexing, negative indexes, slices with steps and nested lookups work."""
    data = {"items": [10, 20, 30, 40], "order": {"lines": [{"qty": 2}]}, "code": "ABCDEF"}
    assert evaluate("items[0] + items[-1]", data) == 50
    assert evaluate("items[1:3], items[::-2], code[:3]", data) == ([20, 30], [40, 20], "ABC")
    assert evaluate("order['lines'][0]['qty']", data) == 2


def test_displays_of_every_collection():
    """List, tuple, set and dict displays (with ** merging) build plain values."""
    assert evaluate("[1, (2, 3), {4}, {'k': 5}]", {}) == [1, (2, 3), {4}, {"k": 5}]
    assert evaluate("{**base, 'b': 3}", {"base": {"a": 1, "b": 2}}) == {"a": 1, "b": 3}


def test_whitelisted_builtins():
    """The whitelisted builtins behave as in Python; lazy ones return lists."""
    data = {"xs": [3, 1, 2], "price": 2.675}
    assert evaluate("len(xs), min(xs), max(xs), sum(xs), abs(-2)", data) == (3, 1, 3, 6, 2)
    assert evaluate("sorted(xs), sorted(xs, reverse=True), reversed(xs)", data) == (
        [1, 2, 3], [3, 2, 1], [2, 1, 3],
    )
    assert evaluate("round(price, ndigits=1), int('7'), float('1.5'), str(12), bool(0)", data) == (
        2.7, 7, 1.5, "12", False,
    )
    assert evaluate("range(3), list('ab'), tuple(xs), set([1, 1]), dict(a=1)", data) == (
        [0, 1, 2], ["a", "b"], (3, 1, 2), {1}, {"a": 1},
    )
    assert evaluate("enumerate('ab', start=1), zip(xs, 'abc')", data) == (
        [(1, "a"), (2, "b")], [(3, "a"), (1, "b"), (2, "c")],
    )
    assert evaluate("any(x > 2 for x in xs), all(x > 2 for x in xs), max([], default=0)", data) == (
        True, False, 0,
    )


def test_string_methods():
    """Whitelisted str methods work."""
    data = {"s": "  Hello World  "}
    assert evaluate("s.strip().lower(), s.upper().strip(), s.split()", data) == (
        "hello world", "HELLO WORLD", ["Hello", "World"],
    )
    assert evaluate("'-'.join(['a', 'b']), 'a.b'.replace('.', '/'), '7'.zfill(3)", data) == (
        "a-b", "a/b", "007",
    )
    assert evaluate("'abc'.startswith('a'), 'abc'.find('c'), 'x1'.isdigit(), 'ab'.title()", data) == (
        True, 2, False, "Ab",
    )


def test_dates_compare_add_and_expose_fields():
    """Dates, datetimes and timedeltas from the context compare, add and expose their fields."""
    data = {"submitted": date(2024, 1, 30), "at": datetime(2024, 1, 30, 14, 5)}
    assert evaluate("submitted + timedelta(days=3) > date(2024, 2, 1)", data) is True
    assert evaluate("(date(2024, 3, 1) - submitted).days", data) == 31
    assert evaluate("submitted.year, submitted.month, at.hour, at.minute, at.date() == submitted", data) == (
        2024, 1, 14, 5, True,
    )
    assert evaluate("submitted.isoformat(), submitted.weekday()", data) == ("2024-01-30", 1)
    assert evaluate("timedelta(hours=36).total_seconds()", data) == 129600.0


def test_multiline_condition_with_indentation_is_accepted():
    """Conditions copied out of BPMN XML may carry surrounding whitespace and newlines."""
    assert evaluate("\n      amount > 10\n    ", {"amount": 11}) is True


# ----------------------------------------------------------------------------------- scripts


def test_assignments_write_into_the_context():
    """Top-level assignments in a script set keys of the task data dict."""
    data = {"base": 21}
    execute("fee = base * 2\nlabel = f'fee {fee}'", data)
    assert data == {"base": 21, "fee": 42, "label": "fee 42"}


def test_tuple_unpacking_and_item_assignment():
    """Tuple unpacking, nested unpacking and subscript targets assign as in Python."""
    data = run("a, (b, c) = 1, [2, 3]\nd['k'] = a\nxs[0] = 'first'\nd['n'], xs[1] = b, c", d={}, xs=[0, 0])
    assert (data["a"], data["b"], data["c"]) == (1, 2, 3)
    assert data["d"] == {"k": 1, "n": 2}
    assert data["xs"] == ["first", 3]


def test_augmented_assignment():
    """`+=` and friends work on names and items; on a list `+=` extends it in place."""
    shared = [1]
    script = "total += 5\ncounts['a'] *= 3\nitems += [2]\ntotal -= 1"
    data = run(script, total=10, counts={"a": 2}, items=shared)
    assert (data["total"], data["counts"]) == (14, {"a": 6})
    assert shared == [1, 2]


def test_del_removes_names_and_items():
    """`del name` removes the key from the context; `del d[k]` and `del xs[i]` remove items."""
    data = run("del temp\ndel d['a'], xs[0]", temp=1, d={"a": 1, "b": 2}, xs=[1, 2])
    assert data == {"d": {"b": 2}, "xs": [2]}


def test_del_of_an_unknown_name_fails():
    """Deleting a name that is not set raises ScriptError naming it."""
    with pytest.raises(ScriptError, match="name 'ghost' is not defined"):
        execute("del ghost", {})


def test_if_elif_else():
    """if/elif/else picks the first true branch."""
    script = "if score > 80:\n    grade = 'A'\nelif score > 50:\n    grade = 'B'\nelse:\n    grade = 'C'"
    assert [run(script, score=s)["grade"] for s in (90, 60, 10)] == ["A", "B", "C"]


def test_for_loop_with_break_continue_and_else():
    """for loops support break, continue and else (run only when no break happened)."""
    script = """
total = 0
for x in xs:
    if x < 0:
        continue
    if x > 100:
        break
    total += x
else:
    total = -total
"""
    assert run(script, xs=[1, -5, 2])["total"] == -3
    assert run(script, xs=[1, 200, 2])["total"] == 1


def test_while_loop_with_else():
    """while loops run until the condition is false, then the else block."""
    data = run("n = 0\nwhile n < 5:\n    n += 1\nelse:\n    done = True")
    assert (data["n"], data["done"]) == (5, True)


def test_nested_loops_break_only_the_inner_loop():
    """break leaves only the innermost loop."""
    script = """
pairs = []
for a in range(3):
    for b in range(3):
        if b > a:
            break
        pairs.append((a, b))
"""
    assert run(script)["pairs"] == [(0, 0), (1, 0), (1, 1), (2, 0), (2, 1), (2, 2)]


def test_comprehensions_and_generator_expressions():
    """List, set and dict comprehensions and generator expressions, with filters and nesting."""
    data = {"xs": [1, 2, 3, 4], "names": ["a", "b"]}
    assert evaluate("[x * x for x in xs if x % 2 == 0]", data) == [4, 16]
    assert evaluate("{x % 2 for x in xs}", data) == {0, 1}
    assert evaluate("{n: i for i, n in enumerate(names)}", data) == {"a": 0, "b": 1}
    assert evaluate("sum(x for x in xs if x > 2)", data) == 7
    assert evaluate("[(n, x) for n in names for x in xs if x < 2]", data) == [("a", 1), ("b", 1)]
    assert evaluate("[[y for y in range(x)] for x in range(3)]", data) == [[], [0], [0, 1]]


def test_comprehension_variables_do_not_leak_into_the_context():
    """A comprehension has its own scope, as in Python 3."""
    data = run("squares = [x * x for x in range(3)]", x="outer")
    assert data == {"x": "outer", "squares": [0, 1, 4]}


def test_collection_methods():
    """Whitelisted list, dict and set methods work; dict views come back as lists."""
    script = """
xs.append(3)
xs.extend([4, 5])
xs.insert(0, 0)
last = xs.pop()
xs.remove(0)
xs.sort(reverse=True)
position = xs.index(2)
d.setdefault('list', []).append(1)
d.update({'b': 2})
keys = d.keys()
pairs = d.items()
got = d.get('missing', 'default')
s.add(2)
s.discard(1)
merged = s.union({9}).intersection({2, 9})
"""
    data = run(script, xs=[1, 2], d={"a": 1}, s={1})
    assert (data["xs"], data["last"], data["position"]) == ([4, 3, 2, 1], 5, 2)
    assert data["d"] == {"a": 1, "list": [1], "b": 2}
    assert (data["keys"], data["pairs"][0], data["got"]) == (["a", "list", "b"], ("a", 1), "default")
    assert (data["s"], data["merged"]) == ({2}, {2, 9})


def test_assert_raises_script_error_with_its_message():
    """A failing assert raises ScriptError carrying the assert's message and line."""
    with pytest.raises(ScriptError, match="amount must be positive") as info:
        execute("x = 1\nassert amount > 0, 'amount must be positive'", {"amount": -1})
    assert info.value.line_number == 2
    with pytest.raises(ScriptError, match="assertion failed"):
        execute("assert False", {})


def test_a_name_may_shadow_a_builtin():
    """Scripts may assign names like `sum`; calling the shadowed name is then a plain error."""
    assert run("sum = 3\ntotal = sum + 1")["total"] == 4
    with pytest.raises(ScriptError, match="'int' object is not callable"):
        execute("sum = 3\nx = sum([1])", {})


def test_indented_script_from_bpmn_xml_runs():
    """Scripts embedded in XML are usually indented as a whole; that indentation is ignored."""
    assert run("\n        a = 1\n        if a:\n            b = 2\n    ")["b"] == 2


def test_functions_are_not_values():
    """A builtin can only be called, not stored or passed around."""
    with pytest.raises(ScriptError, match="'len' is a function"):
        execute("f = len", {})
    with pytest.raises(ScriptError, match="'upper' is a method"):
        execute("f = 'a'.upper", {})


# ------------------------------------------------------------------------------- forbidden


@pytest.mark.parametrize("script", ["import os", "from os import path", "import subprocess as sp"])
def test_imports_are_forbidden(script):
    """Any import statement is refused."""
    with pytest.raises(ScriptForbiddenError, match="import"):
        execute(script, {})


@pytest.mark.parametrize(
    "expression",
    [
        "x.__class__",
        "().__class__.__bases__",
        "().__class__.__bases__[0].__subclasses__()",
        "x.__dict__",
        "__import__('os')",
        "__builtins__",
        "_private",
        "x._secret",
    ],
)
def test_underscore_names_and_attributes_are_forbidden(expression):
    """No name or attribute starting with `_` is reachable."""
    with pytest.raises(ScriptForbiddenError):
        evaluate(expression, {"x": 1, "_private": 2})


@pytest.mark.parametrize(
    "expression",
    [
        "open('/etc/passwd')",
        "getattr(x, 'real')",
        "setattr(x, 'a', 1)",
        "exec('import os')",
        "eval('1')",
        "compile('1', 'f', 'eval')",
        "globals()",
        "locals()",
        "vars()",
        "dir()",
        "type(x)",
        "breakpoint()",
        "input()",
        "print(x)",
        "iter(x)",
        "now()",
    ],
)
def test_calls_outside_the_whitelist_are_forbidden(expression):
    """Calling any function outside the whitelist is refused."""
    with pytest.raises(ScriptForbiddenError, match="is not allowed"):
        evaluate(expression, {"x": 1})


@pytest.mark.parametrize("name", ["open", "eval", "getattr", "type"])
def test_dangerous_builtins_are_not_reachable_as_names(name):
    """Python builtins outside the whitelist cannot even be referenced."""
    with pytest.raises(ScriptForbiddenError, match=f"name '{name}' is not allowed"):
        evaluate(f"[{name}]", {})


def test_a_context_value_may_be_named_like_a_forbidden_builtin():
    """Task data often has a field called `type`; reading it is fine."""
    assert evaluate("type == 'premium'", {"type": "premium"}) is True


@pytest.mark.parametrize(
    "script",
    [
        "f = lambda: 1",
        "def f():\n    pass",
        "class A:\n    pass",
        "with x:\n    pass",
        "try:\n    pass\nexcept Exception:\n    pass",
        "global x",
        "raise ValueError",
        "async def f():\n    pass",
    ],
)
def test_function_class_and_exception_constructs_are_forbidden(script):
    """lambda, def, class, with, try, global, raise and async are refused."""
    with pytest.raises(ScriptForbiddenError, match="is not allowed in scripts"):
        execute(script, {})


def test_str_format_attack_is_forbidden():
    """`str.format` can walk attributes (`{0.__class__}`), so it is not whitelisted."""
    with pytest.raises(ScriptForbiddenError, match="attribute 'format' is not allowed"):
        evaluate("'{0.__class__}'.format(x)", {"x": 1})


def test_percent_formatting_of_strings_is_forbidden():
    """`'%s' % x` (which can pad to any width) is refused; f-strings are the way."""
    with pytest.raises(ScriptForbiddenError, match="use an f-string"):
        evaluate("'%s' % x", {"x": 1})


def test_forbidden_attribute_error_names_the_attribute_and_line():
    """An attribute outside the whitelist is refused with its name and line in the message."""
    with pytest.raises(ScriptForbiddenError, match=r"attribute 'encode' is not allowed \(line 2\)") as info:
        execute("x = 'a'\ny = x.encode()", {})
    assert info.value.line_number == 2


def test_key_functions_are_forbidden():
    """`key=` arguments would need functions as values; they are refused."""
    with pytest.raises(ScriptForbiddenError, match="key="):
        evaluate("sorted(xs, key=len)", {"xs": ["bb", "a"]})


def test_calling_a_computed_value_is_forbidden():
    """Only names and methods can be called, never the result of an expression."""
    with pytest.raises(ScriptForbiddenError, match="only whitelisted functions"):
        evaluate("[len][0]('abc')", {})


def test_attributes_cannot_be_assigned():
    """Attribute assignment and deletion are refused."""
    with pytest.raises(ScriptForbiddenError):
        execute("d.year = 1", {"d": date(2024, 1, 1)})


def test_whitelisted_method_on_the_wrong_type_is_a_plain_error():
    """A whitelisted method name used on a type that lacks it is an ordinary ScriptError."""
    with pytest.raises(ScriptError, match="'NoneType' object has no attribute 'lower'") as info:
        evaluate("x.lower()", {"x": None})
    assert type(info.value) is ScriptError


def test_non_plain_context_values_are_refused():
    """An object that is not plain data is never handed to the script, so its attributes stay out of reach."""

    class Secret:
        password = "hunter2"

        def __eq__(self, other):
            raise AssertionError("must not be called")

    with pytest.raises(ScriptForbiddenError, match="values of type 'Secret' are not available"):
        evaluate("obj", {"obj": Secret()})
    with pytest.raises(ScriptForbiddenError):
        evaluate("obj == 1", {"obj": Secret()})
    with pytest.raises(ScriptForbiddenError, match="attribute 'password' is not allowed"):
        evaluate("obj.password", {"obj": Secret()})


def test_interpreter_never_calls_exec_eval_or_compile():
    """No module of the evaluator hands text to exec, eval or compile (checked on their syntax trees)."""
    package = Path(sandbox.__file__).parent
    modules = sorted(package.glob("*.py"))
    assert len(modules) > 2
    for module in modules:
        tree = ast.parse(module.read_text(encoding="utf-8"))
        called = {
            node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        }
        assert called.isdisjoint({"exec", "eval", "compile", "__import__"}), module.name


# ---------------------------------------------------------------------------------- limits


def test_infinite_loop_stops_fast():
    """`while True: pass` hits the step limit well under a second."""
    started = time.perf_counter()
    with pytest.raises(ScriptLimitError, match="script ran too long"):
        execute("while True:\n    pass", {})
    assert time.perf_counter() - started < 1.0


def test_huge_nested_comprehension_stops_fast():
    """A comprehension over a billion items is cut off by the step limit."""
    started = time.perf_counter()
    with pytest.raises(ScriptLimitError):
        evaluate("[1 for a in range(100000) for b in range(100000)]", {})
    assert time.perf_counter() - started < 1.0


@pytest.mark.parametrize(
    "script",
    [
        "x = 'a' * 10**10",
        "x = 10**10 * 'a'",
        "x = [0] * 10**9",
        "x = 2 ** 10**10",
        "x = 10 ** 100000",
        "x = 1 << 10**6",
        "x = range(10**9)",
        "x = 'a'.zfill(10**9)",
        "x = ('a' * 1000).replace('', 'b' * 1000)",
        "x = ('b' * 1000).join(['a'] * 10000)",
        "x = f'{1:>1000000000}'",
        "x = f'{1.5:.100000f}'",
        "x = int('9' * 100000)",
        "x = 'a' * 1000000\nx = x + x",
        "x = [1]\nwhile True:\n    x = x + x",
        "x = [1]\nwhile True:\n    x.extend(x)",
        "x = 3\nwhile True:\n    x = x * x",
    ],
)
def test_huge_values_are_refused_before_they_are_built(script):
    """Strings, lists and integers cannot grow past the size limits."""
    started = time.perf_counter()
    with pytest.raises(ScriptLimitError):
        execute(script, {})
    assert time.perf_counter() - started < 1.0


def test_printing_shared_nested_data_is_limited():
    """`str()` of data that shares references (cheap to build, huge to print) is refused before printing."""
    started = time.perf_counter()
    with pytest.raises(ScriptLimitError, match="too large to compare or print"):
        execute("a = ['x' * 1000] * 1000\nb = [a] * 1000\ns = str(b)", {})
    assert time.perf_counter() - started < 1.0


def test_comparing_shared_nested_data_is_limited():
    """Comparing nested data that would take a billion steps is refused up front."""
    script = "a = [0] * 1000\nb = [a] * 1000\nc = [b] * 1000\nd = [[[0] * 1000] * 1000] * 1000\nsame = c == d"
    started = time.perf_counter()
    with pytest.raises(ScriptLimitError):
        execute(script, {})
    assert time.perf_counter() - started < 1.0


def test_deep_nesting_is_limited():
    """Expressions nested past MAX_DEPTH are refused statically."""
    deep = "1" + " + 1" * (sandbox.MAX_DEPTH + 10)
    with pytest.raises(ScriptLimitError, match="nested too deeply"):
        check_syntax(deep, "eval")
    with pytest.raises(ScriptLimitError, match="nested too deeply"):
        evaluate("-" * 300 + "1", {})
    assert evaluate("1" + " + 1" * 50, {}) == 51


def test_overlong_source_is_refused():
    """Sources longer than MAX_SOURCE_LENGTH are refused before parsing."""
    with pytest.raises(ScriptLimitError):
        check_syntax("x = 1\n" * (sandbox.MAX_SOURCE_LENGTH // 6 + 1), "exec")


def test_step_budget_is_per_call():
    """Each call gets a fresh step budget."""
    script = "n = 0\nwhile n < 5000:\n    n += 1"
    for _ in range(3):
        assert run(script)["n"] == 5000


# ---------------------------------------------------------------------------------- errors


def test_unknown_name_is_reported_with_its_name_and_line():
    """An unknown name raises ScriptError naming the variable, with the line number."""
    with pytest.raises(ScriptError, match="name 'amount' is not defined") as info:
        execute("x = 1\n\ny = amount + 1", {})
    assert type(info.value) is ScriptError
    assert info.value.line_number == 3


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ("x = 1 / 0", "ZeroDivisionError: division by zero"),
        ("x = 1 + 'a'", "TypeError: unsupported operand"),
        ("x = {}['missing']", "KeyError: 'missing'"),
        ("x = [][3]", "IndexError: list index out of range"),
        ("x = int('abc')", "ValueError: invalid literal"),
        ("a, b = [1, 2, 3]", "cannot unpack 3 values into 2 targets"),
        ("x = min([])", "ValueError"),
        ("x = date(2024, 2, 30)", "ValueError: day is out of range"),
        ("x = (-8) ** 0.5", "complex"),
        ("for c in 5:\n    pass", "TypeError: 'int' object is not iterable"),
        ("x = 'abc'\nx[0] = 'z'", "does not support item assignment"),
        ("x = sum([[1]], [])", "sum\\(\\) adds numbers"),
        ("x = 10.0 ** 400", "OverflowError"),
    ],
)
def test_runtime_failures_become_script_errors(script, message):
    """Python runtime errors are wrapped into a plain ScriptError with a readable message and the line."""
    with pytest.raises(ScriptError, match=message) as info:
        execute(script, {})
    assert type(info.value) is ScriptError
    assert info.value.line_number is not None


def test_syntax_errors_carry_the_line_number():
    """A syntax error raises ScriptSyntaxError with the line where Python found it."""
    with pytest.raises(ScriptSyntaxError, match="line 3") as info:
        execute("a = 1\nb = 2\nc = (", {})
    assert info.value.line_number == 3


def test_syntax_error_line_numbers_count_leading_blank_lines_of_a_condition():
    """Stripping a condition's surrounding whitespace does not shift reported line numbers."""
    with pytest.raises(ScriptSyntaxError) as info:
        evaluate("\n\n  amount >", {})
    assert info.value.line_number == 3


def test_statements_are_not_expressions():
    """evaluate only accepts a single expression."""
    with pytest.raises(ScriptSyntaxError):
        evaluate("x = 1", {})


@pytest.mark.parametrize(
    "script",
    [
        "x: int = 1",
        "if (y := 1):\n    pass",
        "a, *rest = [1, 2]",
        "n = len(*args)",
        "x = b'raw'",
        "x = 1j",
        "x = a @ b",
        "match x:\n    case 1:\n        pass",
    ],
)
def test_constructs_outside_the_subset_are_syntax_errors(script):
    """Annotations, walrus, starred unpacking, bytes/complex literals and @ are not supported."""
    with pytest.raises(ScriptSyntaxError, match="not supported"):
        check_syntax(script, "exec")


def test_error_subclasses_share_the_script_error_base():
    """Callers can catch every sandbox failure with ScriptError."""
    for error in (ScriptForbiddenError, ScriptLimitError, ScriptSyntaxError):
        assert issubclass(error, ScriptError)


@pytest.mark.parametrize(
    "script",
    [
        "x = [1, 2][::0]",
        "x = {[1]: 2}",
        "x = {1} < 'a'",
        "d = {}\nfor k in d:\n    pass\nd2 = {'a': 1}\nfor k in d2:\n    d2['b'] = 1",
        "x = date(10**20, 1, 1)",
        "x = timedelta(days=10**12)",
        "x = round('a')",
        "x = 'abc'[10**30]",
        "x = range(1, 2, 0)",
        "x = float('inf')\ny = int(x)",
        "x = sorted([1, 'a'])",
        "x = [1]\nx.index(2)",
        "x = 'a'.split('')",
        "x = f'{[1]:>5}'",
        "x = f'{1:{\"Q\"}}'",
        "x = {}\nx.pop('k')",
        "x = zip([1], [1, 2], strict=True)",
        "x = datetime(2024, 1, 1) < date(2024, 1, 1)",
        "x = [i for i in 3]",
        "x = 'a'.year",
        "x = len",
        "x = true",
    ],
)
def test_no_raw_python_exception_escapes(script):
    """Whatever goes wrong, callers only ever see ScriptError (or a subclass)."""
    with pytest.raises(ScriptError):
        execute(script, {})


# ---------------------------------------------------------------------------- check_syntax


@pytest.mark.parametrize(
    ("source", "mode", "error"),
    [
        ("import os", "exec", ScriptForbiddenError),
        ("x.__class__", "eval", ScriptForbiddenError),
        ("open('f')", "eval", ScriptForbiddenError),
        ("lambda: 1", "eval", ScriptForbiddenError),
        ("def f():\n    return 1", "exec", ScriptForbiddenError),
        ("'{0.__class__}'.format(x)", "eval", ScriptForbiddenError),
        ("x = 1\nbreak", "exec", ScriptSyntaxError),
        ("amount >", "eval", ScriptSyntaxError),
        ("x = 1", "eval", ScriptSyntaxError),
    ],
)
def test_check_syntax_rejects_statically(source, mode, error):
    """check_syntax rejects forbidden constructs and bad syntax at deploy time."""
    with pytest.raises(error):
        check_syntax(source, mode)


def test_check_syntax_runs_nothing():
    """check_syntax accepts valid code without running it: unknown names and runtime errors pass."""
    assert check_syntax("undefined_name > 1 / 0", "eval") is None
    assert check_syntax("while True:\n    pass", "exec") is None
    assert check_syntax("for x in xs:\n    if x:\n        continue\n    break", "exec") is None


def test_forbidden_construct_is_reported_with_its_line():
    """Static rejection names the line of the offending construct."""
    with pytest.raises(ScriptForbiddenError, match=r"line 3") as info:
        check_syntax("a = 1\nb = 2\nimport os", "exec")
    assert info.value.line_number == 3
