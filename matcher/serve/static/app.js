// role-matcher web page: plain JS, no dependencies, no build step.
// Every piece of text from the user or the API goes into the page through textContent / text nodes,
// never through innerHTML.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);
  const form = $("match-form");
  const textarea = $("resume-text");
  const fileInput = $("resume-file");
  const submitButton = $("submit");
  const errorBox = $("error");
  const results = $("results");
  const counter = $("text-count");

  const limits = { max_text_chars: 50000, max_upload_bytes: 5 * 1024 * 1024 };

  // -- small DOM helpers ---------------------------------------------------------------------------
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") el.className = value;
      else if (key === "dataset") Object.assign(el.dataset, value);
      else if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
      else el.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children.flat()) {
      if (child === null || child === undefined || child === false) continue;
      el.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return el;
  }

  const fmt = (x) => (x === null || x === undefined ? "–" : Number(x).toFixed(2));
  const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

  function megabytes(n) {
    if (n >= 1024 * 1024) return `${(n / 1024 / 1024).toFixed(1).replace(/\.0$/, "")} MB`;
    if (n >= 1024) return `${Math.round(n / 1024)} KB`;
    return `${n} bytes`;
  }

  // -- input state ---------------------------------------------------------------------------------
  function updateCounter() {
    const n = textarea.value.length;
    counter.textContent = `${n.toLocaleString("en")} / ${limits.max_text_chars.toLocaleString("en")} characters`;
    counter.classList.toggle("over", n > limits.max_text_chars);
  }

  function updateFile() {
    const file = fileInput.files && fileInput.files[0];
    $("file-chosen").hidden = !file;
    $("file-name").textContent = file ? `Selected: ${file.name} (${megabytes(file.size)})` : "";
    textarea.classList.toggle("muted", Boolean(file));
  }

  textarea.addEventListener("input", updateCounter);
  fileInput.addEventListener("change", updateFile);
  $("file-clear").addEventListener("click", () => {
    fileInput.value = "";
    updateFile();
    fileInput.focus();
  });
  $("reset").addEventListener("click", () => {
    textarea.value = "";
    fileInput.value = "";
    updateFile();
    updateCounter();
    showError(null);
    results.replaceChildren();
    textarea.focus();
  });

  fetch("v1/info").then((r) => (r.ok ? r.json() : null)).then((info) => {
    if (!info) return;
    Object.assign(limits, info.limits || {});
    $("upload-limit").textContent = `, up to ${megabytes(limits.max_upload_bytes)}`;
    updateCounter();
    const parts = ["role-matcher " + info.version];
    if (info.catalog) parts.push(`catalog “${info.catalog.name}” (${plural(info.catalog.roles, "role")})`);
    if (info.model) parts.push(info.model);
    $("service-info").textContent = parts.join(" · ");
  }).catch(() => {});
  updateCounter();

  // -- catalogs: a chooser when the server serves more than one ------------------------------------
  const catalogSelect = $("catalog");
  let catalogs = [];
  function describeCatalog() {
    const c = catalogs.find((x) => x.name === catalogSelect.value);
    const parts = c ? [`${plural(c.roles, "role")}`] : [];
    if (c && c.attribution) parts.push(c.attribution);
    $("catalog-help").textContent = parts.join(" · ");
  }
  function loadCatalogs(attempt) {
    fetch("v1/catalogs").then((r) => {
      if (r.status === 503 && attempt < 60) { setTimeout(() => loadCatalogs(attempt + 1), 1000); return null; }
      return r.ok ? r.json() : null;
    }).then((body) => {
      if (!body) return;
      catalogs = body.catalogs || [];
      catalogSelect.replaceChildren(...catalogs.map((c) =>
        h("option", { value: c.name }, c.title && c.title !== c.name ? `${c.title} (${c.name})` : c.name)));
      catalogSelect.value = body.default;
      $("catalog-field").hidden = catalogs.length < 2;
      describeCatalog();
    }).catch(() => {});
  }
  catalogSelect.addEventListener("change", describeCatalog);
  loadCatalogs(0);
  function catalogQuery() {
    return catalogs.length > 1 && catalogSelect.value ? `?catalog=${encodeURIComponent(catalogSelect.value)}` : "";
  }

  // -- errors --------------------------------------------------------------------------------------
  function showError(message) {
    errorBox.replaceChildren();
    errorBox.hidden = !message;
    if (message) errorBox.append(h("strong", {}, "Could not match: "), message);
  }

  async function errorMessage(response) {
    try {
      const body = await response.json();
      if (body && body.error && body.error.message) return body.error.message;
    } catch (_) { /* not JSON */ }
    return `the server answered ${response.status} ${response.statusText || ""}`.trim();
  }

  // -- submit --------------------------------------------------------------------------------------
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError(null);
    const file = fileInput.files && fileInput.files[0];
    let request;
    let sentText = null;
    if (file) {
      if (file.size > limits.max_upload_bytes) {
        showError(`${file.name} is ${megabytes(file.size)}; the limit is ${megabytes(limits.max_upload_bytes)}. ` +
                  "Send a smaller file or paste the text.");
        return;
      }
      const data = new FormData();
      data.append("file", file, file.name);
      request = fetch("v1/match/file" + catalogQuery(), { method: "POST", body: data });
    } else {
      sentText = textarea.value;
      request = fetch("v1/match" + catalogQuery(), {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ text: sentText }),
      });
    }
    submitButton.disabled = true;
    submitButton.textContent = "Matching…";
    results.setAttribute("aria-busy", "true");
    try {
      const response = await request;
      if (!response.ok) {
        showError(await errorMessage(response));
        results.replaceChildren(); // no stale result under an error
        state = null;
        return;
      }
      const doc = await response.json();
      render(doc, sentText !== null ? sentText : doc.text || "", file ? file.name : null);
    } catch (_) {
      showError("the server could not be reached. Check that it is running and try again.");
      results.replaceChildren();
      state = null;
    } finally {
      submitButton.disabled = false;
      submitButton.textContent = "Match";
      results.setAttribute("aria-busy", "false");
    }
  });

  // -- offsets -------------------------------------------------------------------------------------
  // The API counts characters as Unicode code points; JavaScript strings index UTF-16 code units.
  function offsetMapper(text) {
    if (text.length === Array.from(text).length) return (i) => i;
    const map = [];
    let unit = 0;
    for (const ch of text) { map.push(unit); unit += ch.length; }
    map.push(unit);
    return (i) => map[Math.min(i, map.length - 1)];
  }

  // -- rendering -----------------------------------------------------------------------------------
  let state = null;

  function render(doc, text, filename) {
    const byId = Object.fromEntries(doc.results.map((r) => [r.role_id, r]));
    state = { doc, text, byId, toUnits: offsetMapper(text), selected: doc.results.length ? doc.results[0].role_id : null };
    const top = doc.results[0];
    const children = [summary(doc, top, filename)];
    const grid = h("div", { class: "result-grid" },
      h("div", { class: "roles-col" },
        h("h2", { class: "section-title" }, "Roles, best first"),
        h("ol", { class: "roles" }, doc.results.map((r, i) => roleCard(r, i, doc))),
        contrast(doc)),
      h("aside", { class: "text-col", "aria-labelledby": "text-title" },
        h("h2", { class: "section-title", id: "text-title" }, filename ? "Text extracted from your file" : "Your text"),
        h("p", { class: "hint", id: "highlight-caption" }),
        h("div", { class: "doc", id: "doc" })));
    children.push(grid);
    results.replaceChildren(...children);
    highlight(state.selected);
    if (results.getBoundingClientRect().top > window.innerHeight * 0.6) {
      results.scrollIntoView({ behavior: "smooth", block: "start" });
    }
  }

  function summary(doc, top, filename) {
    const source = filename ? `${filename}: ` : "";
    const passages = `${source}${plural(doc.passages, "passage")} matched against ${plural(doc.results.length, "role")}.`;
    if (!top) return h("div", { class: "summary nofit" }, h("h2", {}, "No roles to show"));
    if (doc.best_fit) {
      return h("div", { class: "summary fit" },
        h("p", { class: "eyebrow" }, "Best fit"),
        h("h2", { id: "best-fit" }, top.title),
        // A large catalog's best fit can score under the line: close occupations share the
        // probability, and it is a fit because "none" holds little (README "What a score means").
        h("p", {}, top.score >= doc.threshold
          ? `Score ${fmt(top.score)} (the fit line is ${fmt(doc.threshold)}). ${passages}`
          : `Score ${fmt(top.score)}: the most likely role, with close roles sharing the probability. ${passages}`));
    }
    const readsLike = doc.reads_like && doc.reads_like.title
      ? ` It reads more like ${doc.reads_like.title}, which this catalog does not offer.` : "";
    return h("div", { class: "summary nofit" },
      h("p", { class: "eyebrow" }, "Result"),
      h("h2", { id: "best-fit" }, "No good fit"),
      h("p", {}, `No role in this catalog fits this text well enough: the best score is ${fmt(top.score)}, ` +
        `under the ${fmt(doc.threshold)} fit line.${readsLike} The closest roles are listed for reference.`),
      h("p", { class: "hint" }, passages));
  }

  function scoreBar(score, threshold, label) {
    const pct = Math.max(0, Math.min(1, Number(score) || 0)) * 100;
    const fill = h("span", { class: "bar-fill" });
    fill.style.width = `${pct}%`;
    const line = h("span", { class: "bar-line", title: `fit line ${fmt(threshold)}` });
    line.style.left = `${threshold * 100}%`;
    return h("span", { class: `bar ${score >= threshold ? "above" : "below"}`, role: "img",
      "aria-label": `${label} ${fmt(score)} out of 1` }, fill, line);
  }

  function subScore(name, value, threshold, help) {
    const missing = value === null || value === undefined;
    return h("div", { class: "sub", title: missing ? help : null },
      h("dt", {}, name),
      h("dd", {}, missing ? "–" : fmt(value), missing ? h("span", { class: "visually-hidden" }, ` (${help})`) : null,
        missing ? null : scoreBar(value, threshold, name)));
  }

  function pairRow(ev, roleId, number) {
    const passage = h("button", {
      type: "button", class: `passage ${ev.kind}`,
      title: "Show this passage in the text",
      "aria-label": `Show in text: ${ev.resume_passage}`,
      onclick: () => focusPassage(roleId, ev.start),
    }, number ? h("span", { class: "num", "aria-hidden": "true" }, String(number)) : null, ev.resume_passage);
    return h("li", { class: "pair" },
      h("div", { class: "pair-side" }, h("span", { class: "side-label" }, ev.kind === "interest" ? "Résumé · wants" : "Résumé"), passage),
      h("div", { class: "pair-link", "aria-hidden": "true" }, "↔"),
      h("div", { class: "pair-side" },
        h("span", { class: "side-label" }, `Role · ${ev.section}`),
        h("p", { class: "statement" }, ev.role_statement)),
      h("div", { class: "pair-sim" }, h("span", { class: "visually-hidden" }, "similarity "), fmt(ev.similarity)));
  }

  function roleCard(r, index, doc) {
    const fits = r.score >= doc.threshold;
    const details = h("details", { class: "role-details", open: index === 0 && doc.best_fit ? true : null },
      h("summary", {}, `Evidence (${r.evidence.length}) and gaps (${r.gaps.length})`),
      r.evidence.length
        ? h("ul", { class: "pairs", "aria-label": `Evidence for ${r.title}` }, r.evidence.map((ev, i) => pairRow(ev, r.role_id, i + 1)))
        : h("p", { class: "hint" }, "No passage comes close to this role's statements."),
      r.gaps.length ? h("div", { class: "gaps" },
        h("h4", {}, "Not covered"),
        h("ul", {}, r.gaps.map((g) => h("li", {}, g)))) : null);
    details.addEventListener("toggle", () => { if (details.open) highlight(r.role_id); });
    return h("li", { class: `role ${fits ? "fits" : "weak"}`, dataset: { role: r.role_id } },
      h("div", { class: "role-head" },
        h("span", { class: "rank", "aria-hidden": "true" }, String(index + 1)),
        h("h3", { class: "role-title" }, r.title),
        h("span", { class: "score" }, h("span", { class: "visually-hidden" }, "score "), fmt(r.score))),
      scoreBar(r.score, doc.threshold, "score"),
      h("dl", { class: "subs" },
        subScore("Experience", r.experience, doc.threshold, "no passages about past work"),
        subScore("Interest", r.interest, doc.threshold, "no goal sentences such as “I want to move into…”")),
      h("button", { type: "button", class: "link-button show-in-text", onclick: () => highlight(r.role_id, true) },
        "Show this role's evidence in the text"),
      details);
  }

  function contrast(doc) {
    const c = doc.contrast;
    if (!c) return null;
    const top = state.byId[c.role_id];
    const other = state.byId[c.versus];
    if (!top || !other) return null;
    const column = (title, evidence, roleId, empty) => h("div", { class: "contrast-col" },
      h("h4", {}, title),
      evidence.length ? h("ul", { class: "pairs compact" }, evidence.map((ev) => pairRow(ev, roleId, 0)))
        : h("p", { class: "hint" }, empty));
    return h("section", { class: "contrast panel", "aria-labelledby": "contrast-title" },
      h("h2", { class: "section-title", id: "contrast-title" }, `Why ${top.title} rather than ${other.title}`),
      h("div", { class: "contrast-grid" },
        column(`Favours ${top.title}`, c.favouring_top, c.role_id, "No passage clearly favours it."),
        column(`Favours ${other.title}`, c.favouring_runner_up, c.versus, "No passage clearly favours the runner-up.")));
  }

  // Draw the text with the chosen role's evidence passages marked, using the start/end offsets.
  function highlight(roleId, scroll) {
    if (!state) return;
    const role = state.byId[roleId];
    const docEl = $("doc");
    if (!role || !docEl) return;
    state.selected = roleId;
    for (const card of results.querySelectorAll(".role")) card.classList.toggle("selected", card.dataset.role === roleId);
    const caption = $("highlight-caption");
    caption.replaceChildren(role.evidence.length ? "Highlighted: evidence for " : "Nothing to highlight for ",
      h("strong", {}, role.title), role.evidence.length ? " (numbers match the evidence list)." : ".");
    const text = state.text;
    const spans = role.evidence.map((ev, i) => ({ ev, n: i + 1, s: state.toUnits(ev.start), e: state.toUnits(ev.end) }))
      .filter((x) => x.s >= 0 && x.e <= text.length && x.e > x.s)
      .sort((a, b) => a.s - b.s);
    const out = [];
    let pos = 0;
    for (const x of spans) {
      if (x.s < pos) continue; // overlapping passages: keep the first
      out.push(text.slice(pos, x.s));
      out.push(h("mark", { class: x.ev.kind, id: `m-${roleId}-${x.ev.start}`, tabindex: "-1",
        title: `${x.ev.role_statement} (${fmt(x.ev.similarity)})` },
      h("span", { class: "num", "aria-hidden": "true" }, String(x.n)), text.slice(x.s, x.e)));
      pos = x.e;
    }
    out.push(text.slice(pos));
    docEl.replaceChildren(...out);
    if (scroll) {
      const first = docEl.querySelector("mark");
      (first || docEl).scrollIntoView({ behavior: "smooth", block: "nearest" });
    }
  }

  function focusPassage(roleId, start) {
    if (state && state.selected !== roleId) highlight(roleId);
    let mark = document.getElementById(`m-${roleId}-${start}`);
    if (!mark) {
      // A contrast passage that is not among the role's own evidence: mark it alone.
      const ev = findEvidence(start);
      if (!ev) return;
      const text = state.text;
      const s = state.toUnits(ev.start), e = state.toUnits(ev.end);
      $("doc").replaceChildren(text.slice(0, s),
        h("mark", { class: ev.kind, id: `m-${roleId}-${start}`, tabindex: "-1" }, text.slice(s, e)), text.slice(e));
      mark = document.getElementById(`m-${roleId}-${start}`);
    }
    for (const m of document.querySelectorAll("mark.active")) m.classList.remove("active");
    mark.classList.add("active");
    mark.scrollIntoView({ behavior: "smooth", block: "center" });
    mark.focus({ preventScroll: true });
  }

  function findEvidence(start) {
    const c = state.doc.contrast;
    const all = state.doc.results.flatMap((r) => r.evidence)
      .concat(c ? c.favouring_top.concat(c.favouring_runner_up) : []);
    return all.find((ev) => ev.start === start);
  }
})();
