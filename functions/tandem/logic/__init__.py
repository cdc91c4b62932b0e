"""Use cases. Plain Python: collaborators arrive as arguments typed by the Protocols in ports.py."""
