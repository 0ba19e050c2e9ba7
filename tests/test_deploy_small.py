"""The small profile (deploy/small.env.example) is made of real settings: each is read by the
Procfile's command for its process or by Flower itself, and documented like every other; the
footprint benchmark measures exactly these lines."""

from __future__ import annotations

import re

from bench.footprint import small_profile
from bench.stack import procfile
from tests.conftest import ROOT


def test_the_small_profile_sets_the_knobs_the_footprint_figure_measures():
    assert small_profile() == {"WEB_CONCURRENCY": "1", "WORKER_CONCURRENCY": "2", "FLOWER_MAX_TASKS": "2000"}


def test_each_setting_of_the_small_profile_is_read_by_the_process_it_is_for():
    commands = " ".join(procfile().values())
    from flower.options import options

    for name in small_profile():
        if name.startswith("FLOWER_"):
            # Flower reads FLOWER_<OPTION> from the environment for each of its options (tornado
            # keeps their names with "-").
            assert name.removeprefix("FLOWER_").lower().replace("_", "-") in options._options, name
        else:
            assert f"${{{name}:-" in commands, f"no Procfile line reads {name}"


def test_each_setting_of_the_small_profile_is_documented():
    env_example = (ROOT / ".env.example").read_text()
    readme = (ROOT / "README.md").read_text()
    for name, value in small_profile().items():
        assert re.search(rf"^# {name}=", env_example, re.M), f"{name} not in .env.example"
        assert f"`{name}`" in readme, f"{name} not in the README's settings"
        assert f"{name}={value}" in readme, f"{name}={value} not in the README's small profile"
