#!/usr/bin/python3
"""test_web.py - the browser build (build/web/gptstep.html) in a real browser: Debian's chromium, headless,
opens the file from file:// with every host name unresolvable, and is driven through the DevTools protocol
with real key and mouse events. What the page shows (its <script id="gptstep-state"> JSON, written by the
same C code as the window's) is compared with the native build's `gptstep render --link ... --state` on the
same model and link: token ids, layer, head, the top 10 candidates and their probabilities to the digits the
screen shows. Also: every request the page makes is to file:, data: or blob: (none to a network), a lesson
plays to its end, a bad link gives a message and the page stays usable, screenshots are not blank.

    /usr/bin/python3 tests/test_web.py GPTSTEP OUTDIR [PAGE]
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import websocket

GS, OUT = sys.argv[1], sys.argv[2]
PAGE = os.path.abspath(sys.argv[3] if len(sys.argv) > 3 else os.environ.get('PAGE', 'build/web/gptstep.html'))
DIR = os.path.join(OUT, "web")
passed = failed = 0


def check(cond, what):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + what)
    else:
        failed += 1
        print("FAIL " + what)
    return cond


class Browser:
    """Headless chromium with one page, spoken to over the DevTools protocol."""

    def __init__(self, w=1280, h=720):
        self.profile = tempfile.mkdtemp(prefix="gptstep-chromium-")
        self.proc = subprocess.Popen(
            ["chromium", "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--remote-debugging-port=0", "--user-data-dir=" + self.profile, "--window-size=%d,%d" % (w, h),
             '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1', "--allow-file-access-from-files", "about:blank"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        for _ in range(300):
            if os.path.exists(port_file) and open(port_file).read().count("\n") >= 1:
                break
            time.sleep(0.1)
        port = open(port_file).read().split("\n")[0]
        # the page target: the browser's endpoint lists it
        self.ws = websocket.create_connection("ws://127.0.0.1:%s%s" % (port, open(port_file).read().split("\n")[1]),
                                              timeout=120)
        self.id = 0
        self.requests = []
        targets = self.call("Target.getTargets")["targetInfos"]
        page = [t for t in targets if t["type"] == "page"][0]
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]
        self.call("Network.enable", session=True)
        self.call("Page.enable", session=True)
        self.call("Runtime.enable", session=True)
        self.console = []

    def call(self, method, session=False, **params):
        self.id += 1
        msg = {"id": self.id, "method": method, "params": params}
        if session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        while True:
            r = json.loads(self.ws.recv())
            if r.get("method") == "Network.requestWillBeSent":
                self.requests.append(r["params"]["request"]["url"])
            elif r.get("method") == "Runtime.consoleAPICalled":
                self.console.append(" ".join(str(a.get("value", "")) for a in r["params"]["args"]))
            elif r.get("method") == "Runtime.exceptionThrown":
                self.console.append("exception: " + json.dumps(r["params"]["exceptionDetails"])[:300])
            if r.get("id") == self.id:
                if "error" in r:
                    raise RuntimeError("%s: %s" % (method, r["error"]))
                return r.get("result", {})

    def eval(self, expr):
        r = self.call("Runtime.evaluate", session=True, expression=expr, returnByValue=True)
        return r.get("result", {}).get("value")

    def open(self, fragment):
        self.call("Page.navigate", session=True, url="about:blank")
        time.sleep(0.2)
        self.call("Page.navigate", session=True, url="file://" + PAGE + "#" + fragment)
        return self.idle(60)

    def state(self):
        text = self.eval("document.getElementById('gptstep-state').textContent")
        try:
            return json.loads(text or "{}")
        except ValueError:
            return {}

    def idle(self, timeout=30, frame_after=None):
        """Waits for a frame (after frame_after) with the model loaded and no job; returns the state."""
        end = time.time() + timeout
        s = {}
        while time.time() < end:
            s = self.state()
            if s.get("loaded") and not s.get("busy") and not self.eval("GS.job_pending ? GS.job_pending() : 1") \
                    and (frame_after is None or s.get("frame", 0) > frame_after):
                return s
            time.sleep(0.05)
        return s

    def until(self, done, timeout=30):
        """Waits until the page is idle in a state done(state) accepts (or the time runs out); returns
        the state. For keys typed one by one: the frame key() waits for may be one that began before
        the last key reached the page."""
        end = time.time() + timeout
        s = self.idle(timeout)
        while not done(s) and time.time() < end:
            time.sleep(0.05)
            s = self.idle(max(end - time.time(), 0.1))
        return s

    def key(self, key, code, vk, text=None, modifiers=0):
        before = self.state().get("frame", 0)
        ev = {"key": key, "code": code, "windowsVirtualKeyCode": vk, "modifiers": modifiers}
        self.call("Input.dispatchKeyEvent", session=True, type="keyDown" if not text else "keyDown", text=text or "", **ev)
        self.call("Input.dispatchKeyEvent", session=True, type="keyUp", **ev)
        return self.idle(30, before)

    def click(self, x, y, button="left"):
        before = self.state().get("frame", 0)
        for t in ("mouseMoved", "mousePressed", "mouseReleased"):
            self.call("Input.dispatchMouseEvent", session=True, type=t, x=x, y=y, button=button, clickCount=1)
        return self.idle(30, before)

    def files(self, paths):
        """Chooses files in the page's file picker (as Ctrl+O would), then waits for the page to settle."""
        before = self.state().get("frame", 0)
        doc = self.call("DOM.getDocument", session=True)["root"]["nodeId"]
        node = self.call("DOM.querySelector", session=True, nodeId=doc, selector="#files")["nodeId"]
        self.call("DOM.setFileInputFiles", session=True, nodeId=node, files=[os.path.abspath(p) for p in paths])
        end = time.time() + 60
        while time.time() < end and self.state().get("frame", 0) <= before:
            time.sleep(0.05)
        return self.idle(60)

    def screenshot(self, path):
        data = self.call("Page.captureScreenshot", session=True, format="png")["data"]
        with open(path, "wb") as f:
            f.write(base64.b64decode(data))

    def close(self):
        try:
            self.ws.close()
        finally:
            self.proc.kill()
            self.proc.wait()
            shutil.rmtree(self.profile, ignore_errors=True)


class Firefox:
    """Debian's Firefox ESR, headless, spoken to over Marionette (its own protocol: length-prefixed JSON
    on a local port). Its profile sends any http(s) request to a closed local port: nothing can be fetched."""

    def __init__(self):
        import random
        import socket
        self.profile = tempfile.mkdtemp(prefix="gptstep-firefox-")
        self.port = random.randint(20000, 60000)
        with open(os.path.join(self.profile, "user.js"), "w") as f:
            for k, v in (("marionette.port", self.port), ("network.proxy.type", 1), ("network.proxy.http", "127.0.0.1"),
                         ("network.proxy.http_port", 9), ("network.proxy.ssl", "127.0.0.1"), ("network.proxy.ssl_port", 9),
                         ("browser.shell.checkDefaultBrowser", False), ("app.update.enabled", False),
                         ("datareporting.policy.dataSubmissionEnabled", False)):
                f.write("user_pref(%s, %s);\n" % (json.dumps(k), json.dumps(v)))
        self.proc = subprocess.Popen(["firefox-esr", "--headless", "--marionette", "--no-remote", "--profile", self.profile,
                                      "about:blank"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(300):
            try:
                self.sock = socket.create_connection(("127.0.0.1", self.port))
                break
            except OSError:
                time.sleep(0.1)
        self.f = self.sock.makefile("rb")
        self.recv()
        self.id = 0
        self.call("WebDriver:NewSession", capabilities={})

    def recv(self):
        n = b""
        while not n.endswith(b":"):
            n += self.f.read(1)
        return json.loads(self.f.read(int(n[:-1])))

    def call(self, cmd, **params):
        self.id += 1
        data = json.dumps([0, self.id, cmd, params]).encode()
        self.sock.sendall(str(len(data)).encode() + b":" + data)
        while True:
            r = self.recv()
            if r[1] == self.id:
                if r[2]:
                    raise RuntimeError("%s: %s" % (cmd, r[2]))
                return r[3]

    def open(self, fragment):
        self.call("WebDriver:Navigate", url="file://" + PAGE + "#" + fragment)
        s = {}
        for _ in range(300):
            text = self.call("WebDriver:ExecuteScript", script="return document.getElementById('gptstep-state').textContent",
                             args=[])["value"]
            s = json.loads(text or "{}")
            if s.get("loaded") and not s.get("busy"):
                break
            time.sleep(0.1)
        return s

    def screenshot(self, path):
        with open(path, "wb") as f:
            f.write(base64.b64decode(self.call("WebDriver:TakeScreenshot", full=False)["value"]))

    def close(self):
        self.proc.kill()
        self.proc.wait()
        shutil.rmtree(self.profile, ignore_errors=True)


def native(link, model="storybook"):
    """The native build's state for the same link (drawn at the page's size)."""
    path = os.path.join(DIR, "native.json")
    r = subprocess.run([GS, "render", "--model", model, "--link", link, "--view", "all", "--size", "1280x720",
                        "-o", os.path.join(DIR, "native.png"), "--state", path], capture_output=True, text=True)
    if r.returncode:
        print("native render failed: " + r.stderr.strip())
        return {}
    return json.load(open(path))


def same_numbers(web, nat, what):
    """Tokens, position, layer, head and the top 10 with their probabilities as shown."""
    keys = ("tokens", "position", "layer", "head", "ablated", "step")
    diff = [k for k in keys if web.get(k) != nat.get(k)]
    wt = [(t["id"], t["shown"]) for t in web.get("top", [])]
    nt = [(t["id"], t["shown"]) for t in nat.get("top", [])]
    if wt != nt or len(wt) != 10:
        diff.append("top")
    # the probabilities themselves: the same float32 math, but no fused multiply-add and no threads in the page
    worst = max([abs(a["p"] - b["p"]) for a, b in zip(web.get("top", []), nat.get("top", []))] or [1])
    ok = check(not diff and worst < 5e-5, "%s: the page shows the native build's numbers (tokens %s, top: %s; largest "
               "probability difference %.1e)" % (what, web.get("tokens"), ", ".join("%s %s" % (t["piece"], t["shown"])
                                                                                      for t in web.get("top", [])[:3]), worst))
    if not ok:
        print("     differs in: %s\n     page:   %s\n     native: %s" % (diff, json.dumps({k: web.get(k) for k in keys + ("top",)})[:900],
                                                                        json.dumps({k: nat.get(k) for k in keys + ("top",)})[:900]))


def main():
    if not os.path.exists(PAGE):
        print("web: %s not built (make web)" % PAGE)
        return 1
    if not shutil.which("chromium"):
        print("web: chromium missing (make deps-test installs Debian's)")
        return 1
    os.makedirs(DIR, exist_ok=True)
    size = os.path.getsize(PAGE)
    check(size <= 25e6, "the page is one file of %.1f MB (at most 25)" % (size / 1e6))
    b = Browser()
    try:
        t0 = time.time()
        link = "prompt=The%20little%20dragon&steps=3&seed=7&layer=3&head=3"
        s = b.open(link)
        check(s.get("loaded") and s.get("model", {}).get("name") == "storybook",
              "the page opened from file:// on the storybook model in %.1f s" % (time.time() - t0))
        b.screenshot(os.path.join(DIR, "opened.png"))
        same_numbers(s, native(link), "a link with a prompt, 3 steps, seed 7, layer 3, head 3")
        # keys: Right generates the next token; the page and native agree on the result
        s = b.key("ArrowRight", "ArrowRight", 39)
        check(s.get("step") == 4, "Right: the next token (step %s)" % s.get("step"))
        same_numbers(s, native(link.replace("steps=3", "steps=4")), "after Right")
        s = b.key("ArrowDown", "ArrowDown", 40)
        check(s.get("layer") == 3, "Down at the last layer stays there (layer %s)" % s.get("layer"))
        s = b.key("2", "Digit2", 50, "2")
        check(s.get("head") == 2, "2: head %s" % s.get("head"))
        s = b.key("x", "KeyX", 88, "x")
        check(s.get("ablated") == "3.2 (zero)", "X knocks out the head (%s)" % s.get("ablated"))
        same_numbers(s, native(link.replace("steps=3", "steps=4").replace("head=3", "head=2") + "&ablate=3.2"),
                     "with head 3.2 knocked out")
        s = b.key("g", "KeyG", 71, "g")
        check(s.get("main") == "grid", "G: the grid (%s)" % s.get("main"))
        # the sampler's keys: T lowers the temperature, K the top-k; the distribution follows, as natively
        t0, k0 = s.get("sampler", {}).get("temperature"), s.get("sampler", {}).get("top_k")
        s = b.key("t", "KeyT", 84, "t")
        s = b.key("k", "KeyK", 75, "k")
        smp = s.get("sampler", {})
        check(smp.get("temperature", 1) < t0 and smp.get("top_k", 40) < k0, "T and K lower the temperature and top-k (%s -> %s, %s -> %s)" %
              (t0, smp.get("temperature"), k0, smp.get("top_k")))
        s = b.key("l", "KeyL", 76, "l")
        check(s.get("presenter") is True, "L: presenter mode in the page")
        b.screenshot(os.path.join(DIR, "presenter.png"))
        s = b.key("l", "KeyL", 76, "l")
        # a right-click on a head of the grid (the grid fills the attention panel's area)
        s = b.key("Tab", "Tab", 9)
        b.screenshot(os.path.join(DIR, "tab.png"))
        check(s.get("view") not in (None, "all"), "Tab shows one view alone (%s)" % s.get("view"))
        s = b.key("v", "KeyV", 86, "v")
        s = b.key("?", "Slash", 191, "?", modifiers=8)
        b.screenshot(os.path.join(DIR, "help.png"))
        s = b.key("Escape", "Escape", 27)
        # the prompt editor: Enter opens it with the prompt selected; typing replaces it; Enter runs it
        b.key("Enter", "Enter", 13, "\r")
        for ch in "The dragon flew":
            code = "Space" if ch == " " else "Key" + ch.upper()
            b.call("Input.dispatchKeyEvent", session=True, type="keyDown", key=ch, text=ch, code=code,
                   windowsVirtualKeyCode=ord(ch.upper()))
            b.call("Input.dispatchKeyEvent", session=True, type="keyUp", key=ch, code=code, windowsVirtualKeyCode=ord(ch.upper()))
        b.key("Enter", "Enter", 13, "\r")
        s = b.until(lambda s: s.get("prompt") == "The dragon flew")
        check(s.get("prompt") == "The dragon flew", "the prompt editor runs a typed prompt (%r)" % s.get("prompt"))
        # a click on a token selects it as the query
        b.screenshot(os.path.join(DIR, "prompt.png"))
        b.click(40, 52)
        # the frame click() waits for can be one the pointer's move began before the press reached the
        # page (CI, 2026-12-05: position still 2): wait for the press's own frame, 10 s at most
        s = b.until(lambda s: s.get("position") == 0, timeout=10)
        check(s.get("position") == 0, "a click on the first token selects position 0 (%s)" % s.get("position"))
        # U copies a link to what is shown (the page's clipboard hook, watched here)
        b.eval("window.copied = ''; Module.gsCopy = function (t) { window.copied = t.charAt(0) === '#' ? location.href.split('#')[0] + t : t; }")
        b.key("u", "KeyU", 85, "u")
        copied = b.eval("window.copied") or ""
        check(copied.startswith("file://" + PAGE + "#prompt=The%20dragon%20flew"), "U copies a link to the page's state (%s)" % copied[:90])
        # a command typed at the ':' prompt: direct logit attribution, drawn in the experiment view
        b.key(":", "Semicolon", 186, ":", modifiers=8)
        for ch in "attribute":
            b.call("Input.dispatchKeyEvent", session=True, type="keyDown", key=ch, text=ch, code="Key" + ch.upper(),
                   windowsVirtualKeyCode=ord(ch.upper()))
            b.call("Input.dispatchKeyEvent", session=True, type="keyUp", key=ch, code="Key" + ch.upper(), windowsVirtualKeyCode=ord(ch.upper()))
        b.key("Enter", "Enter", 13, "\r")
        s = b.until(lambda s: s.get("experiment") == "attribution")
        check(s.get("experiment") == "attribution" and s.get("view") == "experiment", ":attribute runs in the page (%s, %s)" %
              (s.get("experiment"), s.get("view")))
        b.screenshot(os.path.join(DIR, "attribute.png"))
        b.key("v", "KeyV", 86, "v")
        # a lesson with an error, chosen in the file picker: its file:line:column message, the page stays
        bad_lesson = os.path.join(DIR, "broken.lesson")
        with open(bad_lesson, "w") as f:
            f.write("title Broken\nmodel storybook\n## One\nlayer banana\n")
        s = b.files([bad_lesson])
        check(s.get("message_is_error") and "broken.lesson:4" in s.get("message", ""),
              "a lesson with an error gives its file:line message (%s)" % s.get("message"))
        s = b.key("ArrowRight", "ArrowRight", 39)
        check(s.get("loaded") and not s.get("busy"), "and the page still answers keys")
        # the link of what is shown, read back by native: the same screen
        b.key("v", "KeyV", 86, "v")
        s = b.state()
        same_numbers(s, native(s["link"]), "the page's own link, opened by the native build")
        # exports: E downloads a PNG, Shift+E a PDF, drawn by cairo in the page
        b.key("e", "KeyE", 69, "e")
        png = b.eval("lastExport")
        check(png and png["name"].endswith(".png") and png["size"] > 10000, "E downloads a PNG (%s)" % png)
        b.key("E", "KeyE", 69, "E", modifiers=8)
        pdf = b.eval("lastExport")
        check(pdf and pdf["name"].endswith(".pdf") and pdf["size"] > 10000, "Shift+E downloads a PDF (%s)" % pdf)
        # the user's own checkpoint, chosen in the file picker: it loads and runs, with the native numbers
        tiny = os.path.join(OUT, "tiny-f32")
        s = b.files([os.path.join(tiny, "model.safetensors"), os.path.join(tiny, "config.json")])
        check(s.get("model", {}).get("name") == "model-1" and not s.get("message_is_error"),
              "a checkpoint chosen in the file picker loads (%s; %s)" % (s.get("model", {}).get("name"), s.get("message")))
        # F16 and BF16 checkpoints too: the page shows what the native build shows for each
        for kind in ("f16", "bf16"):
            d = os.path.join(OUT, "tiny-" + kind)
            s = b.files([os.path.join(d, "model.safetensors"), os.path.join(d, "config.json")])
            before = b.state().get("frame", 0)
            b.eval("GS.command('prompt Hello there'); after()")
            s = b.idle(30, before)
            nat = native(s.get("link", ""), d)
            same_numbers(s, nat, "a %s checkpoint chosen in the file picker" % kind.upper())
        # a corrupt one, and one too big for WebAssembly's memory: a line each, the page keeps its model
        junk = os.path.join(DIR, "junk")
        os.makedirs(junk, exist_ok=True)
        with open(os.path.join(junk, "model.safetensors"), "wb") as f:
            f.write(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json at all}" + bytes(100))
        s = b.files([os.path.join(junk, "model.safetensors")])
        check(s.get("message_is_error") and "model.safetensors" in s.get("message", "") and s.get("model", {}).get("name") == "model-3",
              "a corrupt checkpoint gives one line and the page keeps its model (%s)" % s.get("message"))
        xl = os.path.join(DIR, "xl")
        os.makedirs(xl, exist_ok=True)
        # GPT-2 XL's real names and shapes in F16 (1.56 billion parameters); the header alone is enough
        C, shapes = 1600, {"wte.weight": [50257, 1600], "wpe.weight": [1024, 1600], "ln_f.weight": [1600], "ln_f.bias": [1600]}
        for l in range(48):
            for name, shape in (("ln_1.weight", [C]), ("ln_1.bias", [C]), ("attn.c_attn.weight", [C, 3 * C]),
                                ("attn.c_attn.bias", [3 * C]), ("attn.c_proj.weight", [C, C]), ("attn.c_proj.bias", [C]),
                                ("ln_2.weight", [C]), ("ln_2.bias", [C]), ("mlp.c_fc.weight", [C, 4 * C]),
                                ("mlp.c_fc.bias", [4 * C]), ("mlp.c_proj.weight", [4 * C, C]), ("mlp.c_proj.bias", [C])):
                shapes["h.%d.%s" % (l, name)] = shape
        hdr, off = {}, 0
        for name, shape in shapes.items():
            n = 2
            for d in shape:
                n *= d
            hdr[name] = {"dtype": "F16", "shape": shape, "data_offsets": [off, off + n]}
            off += n
        h = json.dumps(hdr).encode()
        with open(os.path.join(xl, "model.safetensors"), "wb") as f:
            f.write(len(h).to_bytes(8, "little") + h + bytes(4))
        s = b.files([os.path.join(xl, "model.safetensors")])
        check(s.get("message_is_error") and "4 GB" in s.get("message", "") and s.get("model", {}).get("name") == "model-3",
              "a GPT-2 XL-sized checkpoint is refused in one line (%s)" % s.get("message"))
        # a bad link: one line in the page, and the page still works
        s = b.open("prompt=Hello&layer=99&colour=red")
        msg = s.get("message", "")
        check(s.get("loaded") and "layer" in msg or "colour" in msg, "a bad link gives a message (%s)" % msg)
        s = b.key("ArrowRight", "ArrowRight", 39)
        check(s.get("step") == 1, "after a bad link the page still steps (step %s)" % s.get("step"))
        # a lesson as the link opens it, played to its end with the clicker's PageDown
        s = b.open("lesson=09")
        steps = int(s.get("lesson", {}).get("progress", "step 0 / 0").split("/")[-1].split()[0] or 0)
        check(steps >= 5 and not s.get("message_is_error"), "lesson 9 opens in the page (%s)" % s.get("lesson", {}).get("progress"))
        errors = []
        t0 = time.time()
        for k in range(steps - 1):
            s = b.key("PageDown", "PageDown", 34)
            if s.get("message_is_error"):
                errors.append(s.get("message"))
        check(s.get("lesson", {}).get("progress", "").startswith("step %d / %d" % (steps, steps)) and not errors,
              "PageDown plays lesson 9 to its last step in %.1f s (%s)%s" % (time.time() - t0, s.get("lesson", {}).get("progress"),
                                                                     "; errors: " + "; ".join(errors) if errors else ""))
        b.screenshot(os.path.join(DIR, "lesson.png"))
        png = open(os.path.join(DIR, "lesson.png"), "rb").read()
        check(len(png) > 20000, "the lesson's screenshot is not blank (%d bytes)" % len(png))
        # a lesson as its own page (gptstep lesson X --html): it opens on the lesson, and plays
        mine = os.path.join(DIR, "the-mask.html")
        r = subprocess.run([GS, "lesson", "lessons/04-the-mask.lesson", "--html", mine], capture_output=True, text=True,
                           env=dict(os.environ, GPTSTEP_WEB_PAGE=PAGE))
        check(r.returncode == 0 and os.path.getsize(mine) > os.path.getsize(PAGE), "lesson --html writes the page (%s)" %
              (r.stdout.strip() or r.stderr.strip()))
        b.call("Page.navigate", session=True, url="about:blank")
        b.call("Page.navigate", session=True, url="file://" + os.path.abspath(mine))
        s = b.idle(60)
        check(s.get("lesson", {}).get("progress", "").startswith("step 1 / ") and "mask" in s.get("lesson", {}).get("title", "").lower(),
              "the lesson's page opens on its first step (%s, %s)" % (s.get("lesson", {}).get("title"), s.get("lesson", {}).get("progress")))
        s = b.key("PageDown", "PageDown", 34)
        check(s.get("lesson", {}).get("progress", "").startswith("step 2 / "), "and PageDown steps it (%s)" % s.get("lesson", {}).get("progress"))
        net = [u for u in b.requests if not u.startswith(("file:", "data:", "blob:"))]
        check(not net, "nothing was fetched from a network (%d requests, all file:/data:/blob:)%s" %
              (len(b.requests), (": " + ", ".join(net[:5])) if net else ""))
        bad = [c for c in b.console if "exception" in c or "Aborted" in c]
        check(not bad, "no exception in the page's console" + (": " + bad[0] if bad else ""))
    finally:
        b.close()
    # Firefox: the same page from file://, the same numbers
    if shutil.which("firefox-esr"):
        ff = Firefox()
        try:
            link = "prompt=The%20little%20dragon&steps=3&seed=7&layer=3&head=3"
            same_numbers(ff.open(link), native(link), "in Firefox ESR")
            ff.screenshot(os.path.join(DIR, "firefox.png"))
            check(os.path.getsize(os.path.join(DIR, "firefox.png")) > 20000, "Firefox's screenshot is not blank")
        finally:
            ff.close()
    else:
        print("SKIP 2 checks: firefox-esr is not installed (make deps-test installs it)")
    # from a static web server (on this machine's loopback): the same page, the same numbers
    import http.server, socketserver, threading, functools
    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *a):
            pass
    handler = functools.partial(Quiet, directory=os.path.dirname(PAGE))
    with socketserver.TCPServer(("127.0.0.1", 0), handler) as httpd:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
        b = Browser()
        try:
            b.call("Page.navigate", session=True, url="http://127.0.0.1:%d/%s#prompt=The%%20little%%20dragon&steps=3" %
                   (httpd.server_address[1], os.path.basename(PAGE)))
            s = b.idle(60)
            same_numbers(s, native("prompt=The%20little%20dragon&steps=3"), "served by a static web server")
            other = [u for u in b.requests if not u.startswith(("http://127.0.0.1:%d/" % httpd.server_address[1], "data:", "blob:"))]
            check(not other, "from the server, nothing but the page itself was requested (%d requests)" % len(b.requests))
        finally:
            b.close()
            httpd.shutdown()
    print("web: %d passed, %d failed" % (passed, failed))
    return 1 if failed or not passed else 0


if __name__ == "__main__":
    sys.exit(main())
