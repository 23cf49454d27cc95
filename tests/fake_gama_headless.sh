#!/usr/bin/env bash
# A fake of GAMA's headless/gama-headless.sh for tests/test_gama_launcher.py. Like GAMA's script it
# prints a banner, creates a .workspace folder in its working directory (.workspace1, ... when taken)
# and runs the server as a CHILD process (not exec): here python serving tests/gama_standin.py's
# GamaStandIn on the -socket port, printing "Server started ... at port N" once it listens.
#
# Fault modes (environment variables):
#   FAKE_GAMA_NEVER_READY=1      the server never listens (it prints that it starts, then sleeps)
#   FAKE_GAMA_EXIT_EARLY=CODE    the script fails before the server starts (a missing Java, say)
#   FAKE_GAMA_DIE_AFTER_STEPS=N  the server dies (exit 137) on its (N+1)-th step command (or step_worlds expression); only once per
#                                folder (a .died marker is left) unless FAKE_GAMA_DIE_ALWAYS=1
#   FAKE_GAMA_PORT_TAKEN=1       something else holds the port when the server binds it: the server
#                                prints Java's BindException and stays up without listening (as GAMA does)
#   FAKE_GAMA_IGNORE_TERM=1      the script and the server ignore SIGTERM (only SIGKILL stops them)
#   FAKE_GAMA_PYTHON             the python to run (default python3)
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
port=""
while [ $# -gt 0 ]; do
  case "$1" in
    -socket) port="${2:-}"; shift 2 ;;
    -m|-ws) shift 2 ;;
    *) shift ;;
  esac
done
echo "******************************************************************"
echo "* GAMA (fake headless launcher of the sb3_forager tests)         *"
echo "******************************************************************"
if [ -z "$port" ]; then echo "usage: gama-headless.sh -socket PORT" >&2; exit 1; fi
ws=".workspace"; k=0
while [ -e "$ws" ]; do k=$((k + 1)); ws=".workspace$k"; done
mkdir "$ws"
if [ -n "${FAKE_GAMA_EXIT_EARLY:-}" ]; then
  echo "Error: could not start the JVM (fake failure)" >&2
  exit "$FAKE_GAMA_EXIT_EARLY"
fi
if [ "${FAKE_GAMA_IGNORE_TERM:-}" = 1 ]; then trap '' TERM; fi
echo "$$" > "$ws/script.pid"
export FAKE_GAMA_HERE="$here"
"${FAKE_GAMA_PYTHON:-python3}" - "$port" "$ws" <<'PYTHON'
import json, os, signal, socket, sys, time
here = os.environ["FAKE_GAMA_HERE"]
sys.path[:0] = [here, os.path.dirname(here)]
port, ws = int(sys.argv[1]), sys.argv[2]
with open(os.path.join(ws, "server.pid"), "w") as f:
    f.write(str(os.getpid()))
if os.environ.get("FAKE_GAMA_IGNORE_TERM") == "1":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
print(f"Starting the GAMA server on port {port}", flush=True)
if os.environ.get("FAKE_GAMA_NEVER_READY") == "1":
    while True:
        time.sleep(3600)
import websockets
from gama_standin import GamaStandIn

squatter = None
if os.environ.get("FAKE_GAMA_PORT_TAKEN") == "1":  # another program got the port first
    squatter = socket.socket()
    squatter.bind(("127.0.0.1", port))
    squatter.listen()

die_after = os.environ.get("FAKE_GAMA_DIE_AFTER_STEPS")
marker = ".died"
steps = [0]


class FakeGama(GamaStandIn):
    async def _open(self):  # the stand-in on the -socket port (GamaStandIn takes a free one)
        self._server = await websockets.serve(self._handler, self.host, port, ping_interval=None,
                                              ping_timeout=None, max_size=None, compression=None, close_timeout=1)
        self.port = port

    async def _on_message(self, conn, message):
        if die_after is not None:
            try:
                request = json.loads(message)
                kind = request.get("type")
                if kind == "expression" and "step_worlds(" in str(request.get("expr")):
                    kind = "step"  # a step of a W-world simulation (--gama-worlds-per-sim)
            except (ValueError, AttributeError):
                kind = None
            if kind == "step":
                steps[0] += 1
                if steps[0] > int(die_after) and (os.environ.get("FAKE_GAMA_DIE_ALWAYS") == "1" or not os.path.exists(marker)):
                    open(marker, "w").close()
                    print(f"fatal: the fake GAMA server dies at step command {steps[0]}", flush=True)
                    os._exit(137)
        return await super()._on_message(conn, message)


try:
    server = FakeGama().start()
except RuntimeError as exc:
    print(f"java.net.BindException: Address already in use ({exc})", flush=True)
    print("\tat java.base/sun.nio.ch.Net.bind0(Native Method)", flush=True)
    while True:  # GAMA's JVM stays up when its WebSocket server could not bind
        time.sleep(3600)
print(f"Server started on host 127.0.0.1 at port {port}", flush=True)
while True:
    time.sleep(3600)
PYTHON
status=$?
echo "GAMA exited with status $status"
exit $status
