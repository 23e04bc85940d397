"""Exports of list views to CSV and XLSX files, written by the worker for large lists."""
