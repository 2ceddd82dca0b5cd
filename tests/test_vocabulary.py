"""One vocabulary across lectures (README, "Design notes: the vocabulary").

A page file and its lecture module share a name; the module's settings type is
``<Lecture>Settings``; an entry function is a verb, and its code generator is the same
name with ``_code``, taking the same settings (less the progress callback and the device,
which change how a run is made, not what it computes); its notebook, where it has one, is the
same name with ``_notebook`` and takes the code generator's arguments.
"""

import dataclasses
import importlib
import inspect
from pathlib import Path

import pytest

from ui.catalog import lecture_pages

NOT_IN_THE_CODE = {"progress", "device"}


def lecture_module(lecture):
    return importlib.import_module(lecture.module)


def settings_type_name(page: str) -> str:
    return "".join(part.capitalize() for part in Path(page).stem.split("_")) + "Settings"


@pytest.mark.parametrize("lecture", lecture_pages(), ids=lambda lecture: lecture.url_path)
def test_each_page_has_a_lecture_module_with_its_settings_type(lecture):
    module = lecture_module(lecture)
    name = settings_type_name(lecture.page)
    settings = getattr(module, name, None)
    assert settings is not None, f"ppl_models.{module.__name__} has no {name}"
    assert dataclasses.is_dataclass(settings) and settings.__dataclass_params__.frozen
    settings()  # every field has a default: the page's opening setting


@pytest.mark.parametrize("lecture", lecture_pages(), ids=lambda lecture: lecture.url_path)
def test_every_code_generator_is_named_for_its_entry_and_takes_its_arguments(lecture):
    module = lecture_module(lecture)
    generators = {
        name: function
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if name.endswith("_code") and function.__module__ == module.__name__ and not name.startswith("_")
    }
    entries = {name.removesuffix("_code") for name in generators}
    if lecture.default_run is not None:
        entry = lecture.default_run()[0]
        assert entry.__module__ == module.__name__, "the warm-up runs the lecture's own entry function"
        entries.add(entry.__name__)
    assert entries, f"{module.__name__} has no entry function with a code generator"
    for entry in entries:
        function = getattr(module, entry, None)
        generator = generators.get(f"{entry}_code")
        assert function is not None, f"{module.__name__}.{entry}_code names no entry function"
        assert generator is not None, f"{module.__name__}.{entry} has no {entry}_code"
        takes = [p for p in inspect.signature(function).parameters if p not in NOT_IN_THE_CODE]
        assert list(inspect.signature(generator).parameters) == takes


@pytest.mark.parametrize("lecture", lecture_pages(), ids=lambda lecture: lecture.url_path)
def test_every_notebook_builder_takes_its_code_generator_s_arguments(lecture):
    module = lecture_module(lecture)
    builders = {
        name: function
        for name, function in inspect.getmembers(module, inspect.isfunction)
        if name.endswith("_notebook") and function.__module__ == module.__name__ and not name.startswith("_")
    }
    for name, builder in builders.items():
        generator = getattr(module, name.removesuffix("_notebook") + "_code", None)
        assert generator is not None, f"{module.__name__}.{name} has no code generator beside it"
        assert list(inspect.signature(builder).parameters) == list(inspect.signature(generator).parameters)
