"""A wheel of the checkout installed into a fresh virtual environment, for the install tests.

The environment has no pip and no packages of its own: each test decides what else it may see
(through a ``.pth`` file in ``purelib``), so installing torch afresh is never needed.
"""
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass
class FreshEnvironment:
    venv: Path
    python: Path
    purelib: Path  # its site-packages

    def see(self, folder: Path, name: str = "_test_deps") -> None:
        """Make the packages in ``folder`` importable here (a ``.pth`` line is not processed further)."""
        (self.purelib / f"{name}.pth").write_text(f"{folder}\n")


def build_wheel(tmp_path: Path) -> Path:
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
                    "-w", str(wheels), str(REPO)], check=True, cwd=tmp_path, timeout=300)
    return next(wheels.glob("course_lib-*.whl"))


def fresh_environment(tmp_path: Path) -> FreshEnvironment:
    venv = tmp_path / "fresh"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    purelib = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                  capture_output=True, text=True, check=True).stdout.strip())
    return FreshEnvironment(venv, python, purelib)


def install_wheel(env: FreshEnvironment, wheel: Path) -> None:
    """Install ``wheel`` without dependencies, console scripts included, with the test's own pip."""
    subprocess.run([sys.executable, "-m", "pip", "--python", str(env.python), "install", "--quiet", "--no-deps",
                    "--no-warn-script-location", str(wheel)], check=True, timeout=300)
