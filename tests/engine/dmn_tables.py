"""Builds small DMN files for the decision table tests."""

from xml.sax.saxutils import escape

DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"


def table_xml(rules, *, inputs=("x",), outputs=("result",), hit_policy="UNIQUE", aggregation=None,
              output_values=None, decision_id="decision", namespace=DMN13, extra=""):
    """A DMN file with one decision table.

    ``rules`` are (input entries, output entries) tuples of cell texts; ``output_values`` maps an output
    name to its outputValues text (PRIORITY / OUTPUT ORDER).
    """
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        f'<definitions xmlns="{namespace}" id="defs" name="Tests" namespace="http://bureau.example/dmn">',
        f'  <decision id="{decision_id}" name="Decision">',
    ]
    aggregation_attribute = f' aggregation="{aggregation}"' if aggregation else ""
    lines.append(f'    <decisionTable id="table" hitPolicy="{hit_policy}"{aggregation_attribute}>')
    for index, expression in enumerate(inputs, start=1):
        lines.append(f'      <input id="input_{index}" label="Input {index}">'
                     f'<inputExpression id="input_expression_{index}"><text>{escape(expression)}</text>'
                     f'</inputExpression></input>')
    for index, name in enumerate(outputs, start=1):
        values = (output_values or {}).get(name)
        inner = f"<outputValues><text>{escape(values)}</text></outputValues>" if values else ""
        lines.append(f'      <output id="output_{index}" name="{name}">{inner}</output>')
    for index, (input_entries, output_entries) in enumerate(rules, start=1):
        lines.append(f'      <rule id="rule_{index}">')
        lines.extend(f"        <inputEntry><text>{escape(text)}</text></inputEntry>" for text in input_entries)
        lines.extend(f"        <outputEntry><text>{escape(text)}</text></outputEntry>" for text in output_entries)
        lines.append("      </rule>")
    lines += ["    </decisionTable>", "  </decision>", extra, "</definitions>"]
    return "\n".join(lines).encode("utf-8")
