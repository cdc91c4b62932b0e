"""Tandem's local cloud: template.yaml deployed onto the MiniStack emulator, plus the `tandem` CLI.

Nothing here ships to Lambda; function code never imports it.
"""
