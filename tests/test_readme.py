"""README.md documents every rule exactly as the registry defines it."""
import io

from rules_table import README, section, table


def test_readme_rule_table_matches_the_registry():
    with io.open(README, encoding="utf-8") as f:
        assert section(f.read()) == table(), "run: python3 tests/rules_table.py --write"
