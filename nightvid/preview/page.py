"""The browser page of the preview: the live MJPEG stream, the HUD figures and the controls.

Plain HTML and a few lines of script, no framework: the image is ``/stream.mjpg`` (the browser
shows each JPEG part as it arrives), the figures come from ``/status`` twice a second, and each
button posts to ``/control/...``, the same commands as the window's keys. The picture sits at
the page's top-left corner, nothing over it.
"""

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>nightvid preview</title>
<style>
  body { margin: 0; background: #111; color: #ddd; font: 14px system-ui, sans-serif; }
  #live { display: block; }
  #panel { padding: 8px 10px; }
  #hud { font: 13px ui-monospace, monospace; white-space: pre-wrap; margin: 6px 0; }
  button { background: #2a2a2a; color: #eee; border: 1px solid #555; border-radius: 4px;
           padding: 4px 10px; margin: 2px; cursor: pointer; }
  button.on { background: #35607f; border-color: #6fa8d0; }
  .group { display: inline-block; margin-right: 14px; }
  .label { color: #999; margin-right: 4px; }
</style>
</head>
<body>
<img id="live" src="/stream.mjpg" alt="live preview">
<div id="panel">
  <div id="hud">connecting...</div>
  <div class="group"><span class="label">view</span>
    <button data-cmd="view/split">split</button><button data-cmd="view/side">side by side</button>
    <button data-cmd="view/enhanced">enhanced</button>
    <button data-cmd="view/original">original</button></div>
  <div class="group"><span class="label">profile</span><span id="profiles"></span></div>
  <div class="group"><span class="label">stages</span><span id="stages"></span></div>
  <div class="group"><button data-cmd="adapt" id="adapt">adaptive</button>
    <button data-cmd="snapshot">snapshot</button>
    <button data-cmd="record" id="record">record</button></div>
</div>
<script>
function post(cmd) {
  fetch("/control/" + cmd, {method: "POST"}).then(r => r.json()).then(show);
}
function button(label, cmd, on) {
  const b = document.createElement("button");
  b.textContent = label; b.dataset.cmd = cmd; b.className = on ? "on" : "";
  b.onclick = () => post(cmd);
  return b;
}
function show(s) {
  if (s.error) { document.getElementById("hud").textContent = s.error; return; }
  document.getElementById("hud").textContent = s.hud.join("\\n");
  const prof = document.getElementById("profiles");
  prof.replaceChildren(...s.profiles.map(p => button(p, "profile/" + p, p === s.profile)));
  const st = document.getElementById("stages");
  st.replaceChildren(...Object.entries(s.stages).map(
    ([k, v]) => button(k, "toggle/" + k, v)));
  document.querySelectorAll("button[data-cmd^='view/']").forEach(
    b => b.className = b.dataset.cmd === "view/" + s.view ? "on" : "");
  document.getElementById("adapt").className = s.adaptive.enabled ? "on" : "";
  document.getElementById("record").className = s.recording ? "on" : "";
}
document.querySelectorAll("button[data-cmd]").forEach(b => b.onclick = () => post(b.dataset.cmd));
function poll() { fetch("/status").then(r => r.json()).then(show).catch(() => {}); }
poll(); setInterval(poll, 500);
</script>
</body>
</html>
"""
