"""Managed GAMA servers (:class:`sb3_forager.gama.GamaServers`, ``--gama-launch``) against a fake
``gama-headless.sh`` (``tests/fake_gama_headless.sh``: GAMA's banner, a ``.workspace`` folder in its
working directory, the server as a child process) and its fault modes. After every test no process
of any server survives: checked by process group and pid, not by name."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
pytest.importorskip("gama_standin")
pytest.importorskip("sb3_forager.gama")

from sb3_forager.gama import GamaConnectionLostError, GamaLaunchError, GamaServers
from sb3_forager.gama.probe import probe_servers

pytestmark = [
    pytest.mark.timeout(300),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups checked through /proc"),
]

TESTS = Path(__file__).resolve().parent
ROOT = TESTS.parent
FAKE = TESTS / "fake_gama_headless.sh"
FAULTS = ("NEVER_READY", "EXIT_EARLY", "DIE_AFTER_STEPS", "DIE_ALWAYS", "PORT_TAKEN", "IGNORE_TERM")


@pytest.fixture(autouse=True)
def fake_env(monkeypatch):
    """The fake runs this Python (with this checkout's sb3_forager); no fault unless a test sets one.
    After the test, no process of any fake may be left (they are killed, and the test fails)."""
    monkeypatch.setenv("FAKE_GAMA_PYTHON", sys.executable)
    for name in FAULTS:
        monkeypatch.delenv(f"FAKE_GAMA_{name}", raising=False)
    monkeypatch.delenv("GAMA_HEADLESS", raising=False)
    yield
    wait_for(lambda: not fake_processes(), 5.0)  # a process killed just now may take a moment to go
    left = fake_processes()
    kill_leftovers([], left)
    assert left == [], f"processes of the fake gama-headless.sh survived the test: {left}"


def fake_processes() -> list[int]:
    """Live processes of any fake: its scripts (by command line) and their servers (by the variable the
    script exports to them)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes()
                env = Path(f"/proc/{entry}/environ").read_bytes()
            except OSError:
                continue
            if (str(FAKE).encode() in cmd or b"\0FAKE_GAMA_HERE=" in b"\0" + env) and alive(int(entry)):
                found.append(int(entry))
    return found


# ------------------------------------------------------------------------------------- helpers
def live_members(pgid: int) -> list[int]:
    """Processes of group ``pgid`` that are not zombies (read from /proc, independently of the code tested)."""
    out = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            fields = stat[stat.rfind(b")") + 2 :].split()
            if fields[0] not in (b"Z", b"X") and int(fields[2]) == pgid:
                out.append(int(entry))
    return out


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_bytes()
    except OSError:
        return False
    return state[state.rfind(b")") + 2 : state.rfind(b")") + 3] not in (b"Z", b"X")


def server_pids(folder: Path) -> list[int]:
    """The script and server pids the fake wrote into each of its ``.workspace*`` folders."""
    pids = []
    for ws in sorted(folder.glob(".workspace*")):
        for name in ("script.pid", "server.pid"):
            if (ws / name).is_file():
                pids.append(int((ws / name).read_text()))
    return pids


def wait_for(predicate, timeout: float = 30.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.05)
    return bool(predicate())


def assert_no_survivors(pgids, pids, timeout: float = 0.0) -> None:
    wait_for(lambda: not any(live_members(g) for g in pgids) and not any(alive(p) for p in pids), timeout)
    assert [g for g in pgids if live_members(g)] == [], "a server's process group survived"
    assert [p for p in pids if alive(p)] == [], "a server process survived"


def kill_leftovers(pgids, pids) -> None:
    for g in pgids:
        try:
            os.killpg(g, signal.SIGKILL)
        except OSError:
            pass
    for p in pids:
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


def child_env() -> dict[str, str]:
    return dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), str(TESTS)]), PYTHONWARNINGS="ignore")


# ------------------------------------------------------------------------------ start and stop
def test_servers_start_in_their_folders_answer_and_stop(tmp_path, monkeypatch):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    with GamaServers(FAKE, n_servers=2, workdir=tmp_path / "gama", start_timeout=90) as servers:
        addresses = servers.addresses
        pgids = [p for p in servers.pids if p is not None]
        probe_servers(addresses, connect_timeout=5.0)  # GAMA's handshake and greeting on each
        folders = servers.folders
        pids = [p for f in folders for p in server_pids(f)]
        assert len(pids) == 4 and all(alive(p) for p in pids)
        for pgid in pgids:  # the script and its server child in one group of their own
            assert len(live_members(pgid)) == 2 and os.getpgid(pgid) != os.getpgid(0)
    assert len(set(addresses)) == 2 and all(a.startswith("127.0.0.1:") for a in addresses)
    assert [f.name for f in folders] == ["gama-server-0", "gama-server-1"]
    for i, folder in enumerate(folders):
        assert (folder / ".workspace").is_dir()
        log = (folder / "gama.log").read_text()
        assert "GAMA (fake headless launcher" in log and f"at port {addresses[i].split(':')[1]}" in log
    assert not list(cwd.iterdir()), "GAMA's .workspace must not land in the current directory"
    assert_no_survivors(pgids, pids)
    servers.close()  # idempotent
    with pytest.raises(RuntimeError, match="closed"):
        servers.start()


def test_a_temporary_workdir_is_removed_and_an_exception_stops_the_servers(tmp_path):
    with pytest.raises(ZeroDivisionError):
        with GamaServers(FAKE, start_timeout=90) as servers:
            workdir, pgids = servers.workdir, list(servers.pids)
            pids = server_pids(servers.folders[0])
            assert workdir.name.startswith("sb3_forager-gama-") and workdir.is_dir()
            1 / 0
    assert not workdir.exists()
    assert_no_survivors(pgids, pids)


def test_the_envs_run_on_managed_servers(tmp_path):
    import gymnasium as gym

    import sb3_forager  # noqa: F401 (registers the ids)
    from sb3_forager import forager_coop_v0
    from sb3_forager.make import make_gama_vec_env

    with GamaServers(FAKE, n_servers=2, workdir=tmp_path, start_timeout=90) as servers:
        venv = make_gama_vec_env("coop", n_worlds=2, servers=servers, timeout=10.0)
        obs = venv.reset()
        assert obs.shape == (4, 15)
        for _ in range(3):
            obs, _, _, _ = venv.step(np.zeros((4, 2), dtype=np.float32))
        venv.close()
        env = gym.make("sb3_forager/GamaForager-v0", servers=servers)
        first, _ = env.reset(seed=0)
        assert first.shape == (13,)
        env.step(np.zeros(2, dtype=np.float32))
        env.close()
        pair = forager_coop_v0.parallel_env(backend="gama", servers=servers.addresses[1:])
        observations, _ = pair.reset(seed=0)
        assert sorted(observations) == ["forager_0", "forager_1"]
        pair.close()


# ----------------------------------------------------------------------------------- fault modes
def _failed_start(monkeypatch, tmp_path, env: dict[str, str], **kwargs) -> tuple[str, Path]:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    servers = GamaServers(FAKE, workdir=tmp_path, **kwargs)
    with pytest.raises(GamaLaunchError) as err:
        servers.start()
    folder = tmp_path / "gama-server-0"
    assert_no_survivors([p for p in [_script_pid(folder)] if p], server_pids(folder))
    assert servers.closed
    return str(err.value), folder


def _script_pid(folder: Path) -> int | None:
    pid = folder / ".workspace" / "script.pid"
    return int(pid.read_text()) if pid.is_file() else None


def test_a_server_that_never_listens_times_out_quoting_its_log(monkeypatch, tmp_path):
    message, folder = _failed_start(monkeypatch, tmp_path, {"FAKE_GAMA_NEVER_READY": "1"}, start_timeout=3)
    assert "did not accept connections within 3 s (start_timeout)" in message
    assert f"the last lines of {folder / 'gama.log'}:" in message and "Starting the GAMA server on port" in message


def test_a_server_that_exits_early_says_so_with_its_log(monkeypatch, tmp_path):
    message, folder = _failed_start(monkeypatch, tmp_path, {"FAKE_GAMA_EXIT_EARLY": "3"}, start_timeout=60)
    assert "exited with code 3 before accepting connections" in message
    assert "could not start the JVM (fake failure)" in message and "GAMA (fake headless launcher" in message


def test_a_server_that_finds_its_port_taken_says_so(monkeypatch, tmp_path):
    # the fake holds the port with a plain socket (it accepts TCP but is no GAMA), then fails to bind it
    message, _ = _failed_start(monkeypatch, tmp_path, {"FAKE_GAMA_PORT_TAKEN": "1"}, start_timeout=60)
    assert "could not listen on port" in message and "the port is taken" in message
    assert "java.net.BindException: Address already in use" in message


def test_a_fixed_port_already_taken_starts_nothing(tmp_path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        with pytest.raises(GamaLaunchError, match=f"127.0.0.1:{port}: the port is taken by another program"):
            GamaServers(FAKE, workdir=tmp_path, ports=[port]).start()
    assert not (tmp_path / "gama-server-0").exists()


def test_a_server_that_ignores_sigterm_is_killed_after_the_grace_period(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("FAKE_GAMA_IGNORE_TERM", "1")
    servers = GamaServers(FAKE, workdir=tmp_path, start_timeout=90, stop_timeout=1.0).start()
    pgid, pids = servers.pids[0], server_pids(servers.folders[0])
    os.killpg(pgid, signal.SIGTERM)  # what the stop sends first: ignored by the script and by its server
    time.sleep(0.5)
    assert all(alive(p) for p in pids)
    with caplog.at_level("WARNING", logger="sb3_forager.gama.launcher"):
        servers.close()
    assert "did not stop within 1.0 s of SIGTERM: killing it" in caplog.text
    assert_no_survivors([pgid], pids)


def test_bad_arguments_start_nothing(tmp_path, monkeypatch):
    not_exec = tmp_path / "gama-headless.sh"
    not_exec.write_text("#!/bin/sh\n")
    cases = [
        ((tmp_path / "missing.sh",), {}, "does not exist"),
        ((not_exec,), {}, "is not executable"),
        ((tmp_path,), {}, "is a folder"),
        ((FAKE,), {"n_servers": 0}, "must be an integer >= 1, got 0"),
        ((None,), {}, "set GAMA_HEADLESS"),
    ]
    for args, kwargs, text in cases:
        with pytest.raises(ValueError, match=text):
            GamaServers(*args, workdir=tmp_path / "w", **kwargs)
    assert not (tmp_path / "w").exists()
    monkeypatch.setenv("GAMA_HEADLESS", str(FAKE))  # the default path
    assert GamaServers(workdir=tmp_path / "w").launch == FAKE


# ------------------------------------------------------------------------ restart and recovery
def _actions(n_steps: int, n_slots: int) -> np.ndarray:
    return np.random.default_rng(3).uniform(-1, 1, (n_steps, n_slots, 2)).astype(np.float32)


def test_a_server_that_dies_mid_run_is_restarted_and_its_worlds_restored(monkeypatch, tmp_path, caplog):
    from sb3_forager.make import make_gama_vec_env, make_vec_env

    monkeypatch.setenv("FAKE_GAMA_DIE_AFTER_STEPS", "7")  # dies once, at its 8th step command
    actions = _actions(20, 4)
    embedded = make_vec_env("coop", 2)
    expected = [embedded.reset()] + [embedded.step(a)[0] for a in actions]
    with GamaServers(FAKE, workdir=tmp_path, start_timeout=90) as servers:
        venv = make_gama_vec_env("coop", n_worlds=2, servers=servers, timeout=10.0)
        with caplog.at_level("WARNING"):
            got = [venv.reset()] + [venv.step(a)[0] for a in actions]
        venv.close()
        folder, pids = servers.folders[0], server_pids(servers.folders[0])
        pgid = servers.pids[0]
    log = (folder / "gama.log").read_text()
    assert "dies at step command 8" in log and log.count("=== sb3_forager:") == 2
    assert (folder / ".workspace1").is_dir()  # the restarted GAMA took a new workspace in the same folder
    assert "the managed GAMA server 0" in caplog.text and "restarted the GAMA server 0" in caplog.text
    assert "replaying" in caplog.text
    np.testing.assert_allclose(np.array(got), np.array(expected), atol=1e-6)  # the same episodes as without a death
    assert_no_survivors([pgid], pids)


def test_a_server_that_keeps_dying_ends_in_todays_failure(monkeypatch, tmp_path):
    from sb3_forager.make import make_gama_vec_env

    monkeypatch.setenv("FAKE_GAMA_DIE_AFTER_STEPS", "2")
    monkeypatch.setenv("FAKE_GAMA_DIE_ALWAYS", "1")
    with GamaServers(FAKE, workdir=tmp_path, start_timeout=90, max_restarts=3) as servers:
        venv = make_gama_vec_env("forager", n_worlds=1, servers=servers, timeout=10.0)
        venv.reset()
        with pytest.raises(GamaConnectionLostError) as err:  # the retries of one step are bounded ...
            for a in _actions(40, 1):
                venv.step(a)
        assert "it failed again after restarting the managed GAMA server 0 2 time(s)" in str(err.value)
        assert "call reset() to reconnect" in str(err.value)  # ... then today's failure
        venv.reset()
        with pytest.raises(GamaConnectionLostError) as err:  # ... and so are a server's restarts
            for a in _actions(40, 1):
                venv.step(a)
        assert "died again after 3 restart(s) (the limit, max_restarts=3)" in str(err.value)
        folder = servers.folders[0]
    assert (folder / "gama.log").read_text().count("=== sb3_forager:") == 4
    assert_no_survivors([], server_pids(folder), timeout=10)


def test_a_dead_unmanaged_address_is_left_to_todays_failure(gama):
    """Servers not started by GamaServers are not restarted (nothing changes for --gama-servers)."""
    from sb3_forager.gama.launcher import managed
    from sb3_forager.make import make_gama_vec_env

    assert managed(f"127.0.0.1:{gama.port}") is None
    venv = make_gama_vec_env("forager", n_worlds=1, servers=[f"127.0.0.1:{gama.port}"], timeout=5.0)
    venv.reset()
    gama.faults.drop_after_n_commands = 0
    with pytest.raises(GamaConnectionLostError):
        venv.step(np.zeros((1, 2), dtype=np.float32))
    venv.close()


# -------------------------------------------------------------------- the trainer's way out
_HOLDER = textwrap.dedent(
    """
    import sys, time
    from sb3_forager.gama import GamaServers
    s = GamaServers({fake!r}, n_servers=2, workdir={workdir!r}, start_timeout=90).start()
    print(" ".join(str(p) for p in s.pids), flush=True)
    time.sleep(600)
    """
)


def _holder(tmp_path: Path) -> tuple[subprocess.Popen, list[int], list[int]]:
    code = _HOLDER.format(fake=str(FAKE), workdir=str(tmp_path / "gama"))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True, env=child_env())
    line = proc.stdout.readline()
    assert line.strip(), "the child did not start its servers"
    pgids = [int(p) for p in line.split()]
    pids = [p for i in range(2) for p in server_pids(tmp_path / "gama" / f"gama-server-{i}")]
    assert len(pids) == 4 and all(alive(p) for p in pids)
    return proc, pgids, pids


def _watchdog_of(proc: subprocess.Popen) -> int:
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                cmd = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
                stat = Path(f"/proc/{entry}/stat").read_bytes()
            except OSError:
                continue
            ppid = int(stat[stat.rfind(b")") + 2 :].split()[1])
            if ppid == proc.pid and b"-c" in cmd and any(b"kill_all" in c for c in cmd):
                return int(entry)
    raise AssertionError("no watchdog process")


def test_sigkill_of_the_process_that_started_them_kills_every_server(tmp_path):
    proc, pgids, pids = _holder(tmp_path)
    try:
        proc.kill()  # SIGKILL: no finally, no atexit: PDEATHSIG and the watchdog must do it
        proc.wait()
        assert_no_survivors(pgids, pids, timeout=15)
    finally:
        kill_leftovers(pgids, pids)


def test_pdeathsig_alone_kills_each_launch_script(tmp_path):
    """Without the watchdog (killed first), the kernel's parent-death signal still kills each script;
    it does not reach the script's own child (the JVM, here the fake's server): that is the watchdog's job."""
    proc, pgids, pids = _holder(tmp_path)
    try:
        os.kill(_watchdog_of(proc), signal.SIGKILL)
        proc.kill()
        proc.wait()
        assert wait_for(lambda: not any(alive(g) for g in pgids), 15), "PDEATHSIG did not kill a launch script"
        children = [p for p in pids if p not in pgids]
        assert children and all(alive(p) for p in children)  # what PDEATHSIG alone leaves behind
    finally:
        kill_leftovers(pgids, pids)
        wait_for(lambda: not any(alive(p) for p in pids), 10.0)


def _train_args(logdir: Path, *extra: str) -> list[str]:
    return [
        "--env", "coop", "--n-worlds", "2", "--eval-freq", "0", "--checkpoint-freq", "0", "--no-progress-bar",
        "--hyperparams", "n_steps=16", "batch_size=32", "n_epochs=1", "--logdir", str(logdir), "--run-name", "r",
        "--gama-launch", str(FAKE), *extra,
    ]  # fmt: skip


@pytest.mark.parametrize("sig, code", [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_sigterm_or_ctrl_c_of_a_training_process_saves_and_stops_its_servers(tmp_path, sig, code):
    cmd = [sys.executable, "-m", "sb3_forager", "train", *_train_args(tmp_path, "--timesteps", "10000000",
                                                                         "--gama-n-servers", "2")]  # fmt: skip
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=child_env())
    run, pgids, pids = tmp_path / "r", [], []
    try:
        assert wait_for(lambda: (run / "tb_1").is_dir(), 120), "training did not start"
        time.sleep(1.0)
        pids = [p for i in range(2) for p in server_pids(run / "gama" / f"gama-server-{i}")]
        pgids = [int((run / "gama" / f"gama-server-{i}" / ".workspace" / "script.pid").read_text()) for i in range(2)]
        assert len(pids) == 4 and all(alive(p) for p in pids)
        proc.send_signal(sig)
        out, _ = proc.communicate(timeout=120)
        assert proc.returncode == code, out
        assert (run / "model.zip").is_file() and "continue with --resume" in out
        assert_no_survivors(pgids, pids)
    finally:
        if proc.poll() is None:
            proc.kill()
        kill_leftovers(pgids, pids)


# ------------------------------------------------------------------------------------- the CLIs
def test_train_and_evaluate_through_gama_launch(tmp_path, monkeypatch, capsys):
    from sb3_forager.cli import evaluate, train

    monkeypatch.setenv("FAKE_GAMA_DIE_AFTER_STEPS", "20")  # and one server dies during training
    assert train.main(_train_args(tmp_path, "--timesteps", "128", "--gama-n-servers", "2")) == 0
    out = capsys.readouterr().out
    folders = [tmp_path / "r" / "gama" / f"gama-server-{i}" for i in range(2)]
    assert all((f / ".workspace").is_dir() and "Server started" in (f / "gama.log").read_text() for f in folders)
    assert "model: " in out and (tmp_path / "r" / "model.zip").is_file()
    logs = "".join((f / "gama.log").read_text() for f in folders)
    assert "dies at step command 21" in logs and "restarted the GAMA server" in out
    assert_no_survivors([], [p for f in folders for p in server_pids(f)])

    monkeypatch.delenv("FAKE_GAMA_DIE_AFTER_STEPS")
    argv = [str(tmp_path / "r"), "--gama-launch", str(FAKE), "--episodes", "1", "--no-baselines", "--mode",
            "deterministic"]  # fmt: skip
    assert evaluate.main(argv) == 0
    out = capsys.readouterr().out
    assert "started 1 GAMA server(s) at 127.0.0.1:" in out and "gama backend" in out


def test_check_fidelity_and_bench_gama_through_gama_launch(capsys):
    from sb3_forager.benchmarks import gama as bench_gama
    from sb3_forager.cli import check_fidelity

    assert check_fidelity.main(["--gama-launch", str(FAKE), "--groups", "forager", "--episodes", "0"]) == 0
    out = capsys.readouterr().out
    assert "started 1 GAMA server(s)" in out and "OK: every difference is within" in out
    argv = ["--gama-launch", str(FAKE), "--gama-n-servers", "2", "--n", "2", "--steps", "20", "--no-stock"]
    assert bench_gama.main(argv) == 0
    out = capsys.readouterr().out
    assert "started 2 GAMA server(s)" in out and "| 2 |" in out


def _cli(name: str):
    from sb3_forager.benchmarks import gama as bench_gama
    from sb3_forager.cli import check_fidelity, evaluate, train

    return {"train": train.main, "evaluate": evaluate.main, "check-fidelity": check_fidelity.main,
            "bench gama": bench_gama.main}[name]  # fmt: skip


@pytest.mark.parametrize("command", ["train", "evaluate", "check-fidelity", "bench gama"])
def test_bad_launch_input_is_one_error_line_exit_2_and_nothing_started(command, tmp_path, capsys, monkeypatch):
    marker = tmp_path / "started"
    launcher = tmp_path / "gama-headless.sh"
    launcher.write_text(f"#!/bin/sh\ntouch {marker}\nsleep 60\n")
    launcher.chmod(0o755)
    not_exec = tmp_path / "plain.sh"
    not_exec.write_text("#!/bin/sh\n")
    model = [str(tmp_path)] if command == "evaluate" else []
    cases = [
        (["--gama-launch", str(launcher), "--gama-n-servers", "0"], "argument --gama-n-servers: must be in [1, 256], got 0"),
        (["--gama-launch", str(tmp_path / "nope.sh")], f"the GAMA launch script '{tmp_path / 'nope.sh'}' does not exist"),
        (["--gama-launch", str(not_exec)], f"the GAMA launch script '{not_exec}' is not executable"),
        (["--gama-launch", str(launcher), "--gama-servers", "127.0.0.1:1001"], "give --gama-launch or --gama-servers, not both"),
        (["--gama-n-servers", "2"], "--gama-n-servers 2 needs --gama-launch"),
        (["--gama-launch"], "no GAMA launch script given"),
    ]  # fmt: skip
    for flags, text in cases:
        try:
            code = _cli(command)([*model, *flags])
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        err = capsys.readouterr().err
        assert code == 2, (flags, err)
        assert err.count("error:") == 1 and len(err.strip().splitlines()) == 1 and text in err, (flags, err)
    assert not marker.exists(), "a server was started on bad input"


def test_a_server_that_does_not_start_fails_the_command_with_its_log(tmp_path, capsys, monkeypatch):
    from sb3_forager.cli import train

    monkeypatch.setenv("FAKE_GAMA_EXIT_EARLY", "5")
    assert train.main(_train_args(tmp_path, "--timesteps", "64")) == 1
    err = capsys.readouterr().err
    assert "error: the GAMA server 0" in err and "exited with code 5" in err and "could not start the JVM" in err
    assert not (tmp_path / "r").exists()  # nothing was trained: the run folder is removed, as for any early failure


def test_servers_started_from_a_short_lived_thread_outlive_it(tmp_path):
    """Linux's parent-death signal follows the thread that forked the server, not the process."""
    import threading

    box: list[GamaServers] = []
    starter = threading.Thread(target=lambda: box.append(GamaServers(FAKE, workdir=tmp_path, start_timeout=90).start()))
    starter.start()
    starter.join()
    servers = box[0]
    try:
        time.sleep(1.0)
        assert servers.exit_code(0) is None
        probe_servers(servers.addresses, connect_timeout=5.0)
    finally:
        servers.close()


def test_other_bad_input_of_evaluate_starts_no_server(tmp_path, capsys):
    from sb3_forager.cli import evaluate

    marker = tmp_path / "started"
    launcher = tmp_path / "gama-headless.sh"
    launcher.write_text(f"#!/bin/sh\ntouch {marker}\nsleep 60\n")
    launcher.chmod(0o755)
    assert evaluate.main([str(tmp_path / "no-run"), "--gama-launch", str(launcher)]) == 2
    assert f"{tmp_path / 'no-run'} does not exist" in capsys.readouterr().err
    assert not marker.exists()
