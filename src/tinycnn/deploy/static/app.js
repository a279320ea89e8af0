// tinycnn serve: draw, send the drawing, show what comes back. No libraries, no network but ours.
"use strict";
const pad = document.getElementById("pad"), ctx = pad.getContext("2d");
const inputView = document.getElementById("input"), rfView = document.getElementById("rf");
const SCALE = 8, INK = 18; // input view: 28 px × 8; pen width on the 280 px pad
let info = null, drawing = false, last = null, inFlight = false, again = false, fields = {};

function clearPad() {
  ctx.fillStyle = "#000"; ctx.fillRect(0, 0, pad.width, pad.height);
  document.getElementById("prediction").textContent = "–";
  document.getElementById("bars").innerHTML = "";
  document.getElementById("features").innerHTML = "";
  inputView.getContext("2d").clearRect(0, 0, inputView.width, inputView.height);
  rfView.getContext("2d").clearRect(0, 0, rfView.width, rfView.height);
  document.body.dataset.state = "empty";
}

function at(e) {
  const r = pad.getBoundingClientRect();
  return [(e.clientX - r.left) * pad.width / r.width, (e.clientY - r.top) * pad.height / r.height];
}
function stroke(from, to) {
  ctx.strokeStyle = "#fff"; ctx.lineWidth = INK; ctx.lineCap = ctx.lineJoin = "round";
  ctx.beginPath(); ctx.moveTo(...from); ctx.lineTo(...to); ctx.stroke();
}
pad.addEventListener("pointerdown", e => { drawing = true; last = at(e); stroke(last, last); pad.setPointerCapture(e.pointerId); });
pad.addEventListener("pointermove", e => { if (!drawing) return; const p = at(e); stroke(last, p); last = p; predict(); });
const end = () => { if (drawing) { drawing = false; predict(); } };
pad.addEventListener("pointerup", end); pad.addEventListener("pointercancel", end);

// Receptive fields from the layer table: where each conv output pixel looks in the input.
function receptiveFields() {
  let start = 0.5; // centre of the first output pixel, in input pixels
  for (const L of info.layers) {
    const k = L.kernel || 1, p = L.padding || 0;
    if (L.j_in !== null) start += ((k - 1) / 2 - p) * L.j_in;
    if (L.kind === "conv") fields[L.name] = { start, j: L.j_out, r: L.r_out };
  }
}
function showField(name, a, b) {
  const f = fields[name], g = rfView.getContext("2d");
  g.clearRect(0, 0, rfView.width, rfView.height);
  if (!f || f.r === null) return;
  const cy = f.start + a * f.j, cx = f.start + b * f.j, h = f.r / 2;
  g.strokeStyle = "#ffd400"; g.lineWidth = 2;
  g.strokeRect((cx - h) * SCALE, (cy - h) * SCALE, f.r * SCALE, f.r * SCALE);
  document.getElementById("rfnote").textContent =
    `${name} at (${a}, ${b}) sees ${f.r}×${f.r} input pixels (jump ${f.j}).`;
}

function grey(canvas, values, w, h) {
  const g = canvas.getContext("2d"), img = g.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    img.data[4 * i] = img.data[4 * i + 1] = img.data[4 * i + 2] = values[i]; img.data[4 * i + 3] = 255;
  }
  return img;
}
function showInput(values) {
  const [c, h, w] = info.input_shape, tmp = document.createElement("canvas");
  tmp.width = w; tmp.height = h;
  tmp.getContext("2d").putImageData(grey(tmp, values.slice(0, h * w), w, h), 0, 0);
  const g = inputView.getContext("2d");
  g.imageSmoothingEnabled = false; g.clearRect(0, 0, inputView.width, inputView.height);
  g.drawImage(tmp, 0, 0, inputView.width, inputView.height);
}
function showBars(probs) {
  const order = probs.map((p, i) => [p, i]).sort((a, b) => b[0] - a[0]);
  const bars = document.getElementById("bars");
  bars.innerHTML = "";
  order.forEach(([p, i], rank) => {
    const row = document.createElement("div");
    row.className = "bar" + (rank === 0 ? " top" : "");
    row.dataset.label = info.classes[i]; row.dataset.p = p;
    row.innerHTML = `<span class="name"></span><span class="track"><span class="fill"></span></span><span class="pct"></span>`;
    row.querySelector(".name").textContent = info.classes[i];
    row.querySelector(".fill").style.width = `${(100 * p).toFixed(1)}%`;
    row.querySelector(".pct").textContent = `${(100 * p).toFixed(1)}%`;
    bars.appendChild(row);
  });
}
function showFeatures(features) {
  const box = document.getElementById("features");
  box.innerHTML = "";
  for (const f of features) {
    const [n, h, w] = f.shape, fd = fields[f.name] || {};
    const layer = document.createElement("div");
    layer.className = "layer";
    layer.innerHTML = `<h3>${f.name} <span>${n} maps ${h}×${w} · receptive field ${fd.r}×${fd.r} · jump ${fd.j}</span></h3><div class="maps"></div>`;
    const maps = layer.querySelector(".maps");
    // the last layer's 1×1 maps, one per class, are the logits: each is labelled with its class
    const logits = h === 1 && w === 1 && n === info.classes.length && f === features[features.length - 1];
    for (let m = 0; m < n; m++) {
      const c = document.createElement("canvas");
      c.className = "fmap"; c.width = w; c.height = h; c.dataset.layer = f.name;
      c.getContext("2d").putImageData(grey(c, f.maps.slice(m * h * w, (m + 1) * h * w), w, h), 0, 0);
      c.addEventListener("mousemove", e => {
        const r = c.getBoundingClientRect();
        showField(f.name, Math.floor((e.clientY - r.top) * h / r.height), Math.floor((e.clientX - r.left) * w / r.width));
      });
      if (logits) {
        const box = document.createElement("span");
        box.className = "fmap-box"; box.appendChild(c);
        const label = document.createElement("span");
        label.className = "fmap-label"; label.textContent = info.classes[m];
        box.appendChild(label); maps.appendChild(box);
      } else {
        maps.appendChild(c);
      }
    }
    box.appendChild(layer);
  }
}

async function predict() {
  if (inFlight) { again = true; return; }
  inFlight = true; document.body.dataset.state = "busy";
  try {
    const res = await fetch("/api/predict", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ image: pad.toDataURL("image/png") }),
    });
    const out = await res.json();
    const err = document.getElementById("error");
    if (!res.ok) { err.textContent = out.error; document.body.dataset.state = "error"; return; }
    err.textContent = "";
    window.lastResult = out;
    document.getElementById("prediction").textContent = out.top[0].name;
    showBars(out.probs); showInput(out.input); showFeatures(out.features);
    document.body.dataset.state = "ready";
  } finally {
    inFlight = false;
    if (again) { again = false; setTimeout(predict, 50); }
  }
}

// for tests and scripts: true once the last drawing's answer is shown and none is pending
window.tinycnnIdle = () => !inFlight && !again && !drawing && document.body.dataset.state === "ready";

document.getElementById("clear").addEventListener("click", clearPad);
document.getElementById("save").addEventListener("click", () => {
  const a = document.createElement("a");
  a.href = pad.toDataURL("image/png"); a.download = "digit.png"; a.click();
});

fetch("/api/info").then(r => r.json()).then(i => {
  info = i; receptiveFields();
  document.getElementById("about").textContent =
    `${i.model} · ${i.params.toLocaleString()} params · trained on ${i.data} · run ${i.run} · ${i.engine}`;
  clearPad();
});
