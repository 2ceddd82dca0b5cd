"""The repository deploys on Streamlit Community Cloud as it is."""

import tomllib

import pytest
from packaging.requirements import Requirement

from tests.conftest import ROOT

CLOUD = {"sys_platform": "linux", "platform_machine": "x86_64", "python_version": "3.12"}
ENVIRONMENTS = [
    CLOUD,
    {"sys_platform": "linux", "platform_machine": "x86_64", "python_version": "3.11"},
    {"sys_platform": "linux", "platform_machine": "aarch64", "python_version": "3.12"},
    {"sys_platform": "darwin", "platform_machine": "arm64", "python_version": "3.12"},
    {"sys_platform": "win32", "platform_machine": "AMD64", "python_version": "3.12"},
]


def _requirements() -> list[Requirement]:
    lines = (ROOT / "requirements.txt").read_text().splitlines()
    return [Requirement(line) for line in lines if line.strip() and not line.startswith("#")]


@pytest.mark.parametrize("environment", ENVIRONMENTS, ids=lambda e: "-".join(e.values()))
def test_every_environment_gets_exactly_one_torch_2_13(environment):
    torches = [r for r in _requirements() if r.name == "torch" and (r.marker is None or r.marker.evaluate(environment))]
    assert len(torches) == 1
    torch = torches[0]
    if torch.url:
        assert torch.url.split("/")[-1].startswith("torch-2.13.0%2Bcpu")
    else:
        assert str(torch.specifier) == "==2.13.0"


def test_cloud_gets_the_cpu_wheel_for_its_python():
    (torch,) = [r for r in _requirements() if r.name == "torch" and r.marker.evaluate(CLOUD)]
    assert torch.url.endswith("torch-2.13.0%2Bcpu-cp312-cp312-manylinux_2_28_x86_64.whl")


def test_every_other_runtime_dependency_is_pinned():
    for requirement in _requirements():
        if requirement.name != "torch":
            assert str(requirement.specifier).startswith("=="), requirement


def test_the_server_config_is_fit_for_a_classroom():
    config = tomllib.loads((ROOT / ".streamlit" / "config.toml").read_text())
    assert config["server"]["headless"] is True
    assert config["server"]["fileWatcherType"] == "none"
    assert config["client"]["showErrorDetails"] == "none"
    assert config["runner"]["postScriptGC"] is False
    assert (ROOT / "app.py").exists()


def test_streamlit_run_serves_app_py_as_an_st_app_so_the_warm_up_starts_with_the_server():
    """Cloud runs ``streamlit run app.py``; Streamlit must find the ``st.App`` whose lifespan starts the warm-up."""
    from streamlit.web.server.app_discovery import discover_asgi_app

    found = discover_asgi_app(ROOT / "app.py")
    assert found.is_asgi_app
    assert found.app_name == "app"
