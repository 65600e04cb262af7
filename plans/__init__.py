"""Plan files: the YAML format, its validation, and the plans dondoc ships."""

from pathlib import Path

CAO_LOC_2024 = Path(__file__).parent / "cao-loc-2024.yaml"
