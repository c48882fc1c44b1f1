"""The Textual dashboard. Imported only by `liqwatch` / `liqwatch demo` (never by calc or watch)."""
