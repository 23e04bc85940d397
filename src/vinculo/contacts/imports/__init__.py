"""Imports of CSV and XLSX files into any kind of record: reading, mapping, preview, the
background run with its cursor, matching, the report of failed rows, and undo."""
