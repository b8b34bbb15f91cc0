// Kiln's dashboard: polls the coordinator's JSON API with the caller's bearer token and follows a
// build's log as Server-Sent Events. Every value from the API is hostile input (app names, build
// logs): it is only ever put on the page with textContent, never parsed as markup.
"use strict";

(() => {
  const POLL_MILLIS = 1500;
  const TOKEN_KEY = "kiln.token";
  const RECENT_LIMIT = 50;

  let token = null;
  let selectedBuild = null;
  let logFollow = null; // AbortController of the log being followed
  let pollTimer = null;
  let generation = 0; // bumped when the token changes: an older poll loop stops

  const $ = (id) => document.getElementById(id);

  // --- the token: from #token=… (a fragment never reaches the server) or sessionStorage ---

  function takeTokenFromFragment() {
    const fragment = new URLSearchParams(location.hash.slice(1));
    const fromUrl = fragment.get("token");
    if (fromUrl) {
      sessionStorage.setItem(TOKEN_KEY, fromUrl);
      // Out of the address bar and the history, so it is not copied along with a link.
      history.replaceState(null, "", location.pathname + location.search);
    }
    return sessionStorage.getItem(TOKEN_KEY);
  }

  function setStatus(text) {
    $("status").textContent = text;
  }

  async function api(path, init = {}) {
    const headers = Object.assign({}, init.headers, { Authorization: "Bearer " + token });
    const response = await fetch(path, Object.assign({}, init, { headers, cache: "no-store" }));
    if (response.status === 401) {
      throw new Error("the token was refused; enter a valid one");
    }
    return response;
  }

  async function apiJson(path) {
    const response = await api(path, { headers: { Accept: "application/json" } });
    const body = await response.json();
    if (!response.ok) {
      throw new Error(body.error || "HTTP " + response.status);
    }
    return body;
  }

  // --- formatting ---

  function millisBetween(from, to) {
    return from && to ? Math.max(0, Date.parse(to) - Date.parse(from)) : null;
  }

  function duration(millis) {
    if (millis === null || millis === undefined) {
      return "–";
    }
    if (millis < 1000) {
      return millis + " ms";
    }
    const seconds = millis / 1000;
    if (seconds < 60) {
      return seconds.toFixed(1) + " s";
    }
    const minutes = Math.floor(seconds / 60);
    if (minutes < 60) {
      return minutes + " min " + Math.floor(seconds % 60) + " s";
    }
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  const FINAL = new Set(["SUCCEEDED", "FAILED", "CANCELLED"]);

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text;
    if (className) {
      td.className = className;
    }
    row.appendChild(td);
    return td;
  }

  // --- the build tables ---

  function renderBuilds(tbody, builds, now, emptyText) {
    const rows = builds.map((build) => {
      const row = document.createElement("tr");
      row.dataset.buildId = build.buildId;
      if (build.buildId === selectedBuild) {
        row.classList.add("selected");
      }
      cell(row, build.buildId, "build-id");
      cell(row, build.tenant + " / " + build.app, "app");
      const state = cell(row, build.state.toLowerCase(), "state state-" + build.state);
      if (build.failureCode) {
        state.title = build.failureCode;
      }
      cell(row, duration(millisBetween(build.createdAt, now)) + " ago", "age");
      const end = FINAL.has(build.state) ? build.updatedAt : now;
      cell(row, duration(millisBetween(build.createdAt, end)), "duration");
      row.addEventListener("click", () => select(build.buildId));
      return row;
    });
    if (rows.length === 0) {
      const row = document.createElement("tr");
      row.className = "empty";
      const td = cell(row, emptyText);
      td.colSpan = 5;
      rows.push(row);
    }
    tbody.replaceChildren(...rows);
  }

  function renderSummary(summary) {
    $("summary-finished").textContent = String(summary.finished);
    $("summary-throughput").textContent = summary.buildsPerMinute.toFixed(2) + " builds/min";
    $("summary-hit-ratio").textContent =
      summary.cacheHitRatio === null || summary.cacheHitRatio === undefined
        ? "– (no installs)"
        : Math.round(summary.cacheHitRatio * 100) +
          " % (" + summary.installsCached + " of " + summary.installsNeeded + ")";
    $("summary-running").textContent = String(summary.running);
    $("summary-queued").textContent = String(summary.queued);
    $("scope").textContent = summary.scope === "farm" ? "whole farm" : "tenant " + summary.scope;
  }

  // --- one build: steps and live log ---

  // A skipped step was answered by the action cache, except an INSTALL of a plan that names no
  // package manager: nothing needed installing.
  function cacheStatus(build, step) {
    if (!step.skipped) {
      return "ran";
    }
    const nothingToInstall = step.kind === "INSTALL" && build.plan && !build.plan.packageManager;
    return nothingToInstall ? "not needed" : "cached";
  }

  function renderDetail(build) {
    $("detail-id").textContent = build.buildId;
    const parts = [build.push.tenant + " / " + build.push.app, build.state.toLowerCase()];
    if (build.failure) {
      parts.push(build.failure.code + ": " + build.failure.message);
    }
    if (build.image) {
      parts.push(build.image);
    }
    $("detail-summary").textContent = parts.join(" · ");
    const rows = build.steps.map((step) => {
      const row = document.createElement("tr");
      row.dataset.step = step.kind;
      cell(row, step.kind.toLowerCase(), "step");
      cell(row, step.worker || "–", "worker");
      cell(row, step.skipped ? "–" : duration(step.durationMillis), "step-duration");
      cell(row, duration(step.waitedMillis), "waited");
      cell(row, cacheStatus(build, step), "cache");
      return row;
    });
    $("detail-steps").tBodies[0].replaceChildren(...rows);
  }

  function appendLogLine(line) {
    const div = document.createElement("div");
    div.className = "log-line level-" + line.level;
    div.textContent = line.text;
    const log = $("build-log");
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.appendChild(div);
    if (atBottom) {
      log.scrollTop = log.scrollHeight;
    }
  }

  // EventSource cannot send an Authorization header, so the stream is read with fetch() and
  // parsed here: events are separated by a blank line, "event:" and "data:" lines make them.
  async function followLog(buildId, signal) {
    $("build-log").replaceChildren();
    $("log-state").textContent = "(following)";
    const response = await api("/v1/builds/" + encodeURIComponent(buildId) + "/log", {
      headers: { Accept: "text/event-stream" },
      signal,
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.error || "HTTP " + response.status);
    }
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        break;
      }
      buffer += value.replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        handleEvent(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
      }
    }
  }

  function handleEvent(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith(":")) {
        continue; // a keep-alive comment
      }
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
      if (field === "event") {
        event = value;
      } else if (field === "data") {
        data.push(value);
      }
    }
    if (data.length === 0) {
      return;
    }
    const payload = JSON.parse(data.join("\n"));
    if (event === "log") {
      appendLogLine(payload);
    } else if (event === "end") {
      $("log-state").textContent = "(" + payload.outcome + ")";
    }
  }

  function select(buildId) {
    selectedBuild = buildId;
    $("build-detail").hidden = false;
    document.querySelectorAll("tr[data-build-id]").forEach((row) => {
      row.classList.toggle("selected", row.dataset.buildId === buildId);
    });
    if (logFollow) {
      logFollow.abort();
    }
    const follow = new AbortController();
    logFollow = follow;
    followLog(buildId, follow.signal).catch((e) => {
      if (!follow.signal.aborted) {
        $("log-state").textContent = "(" + e.message + ")";
      }
    });
    refreshDetail().catch((e) => setStatus(e.message));
  }

  async function refreshDetail() {
    if (selectedBuild) {
      renderDetail(await apiJson("/v1/builds/" + encodeURIComponent(selectedBuild)));
    }
  }

  // --- polling ---

  async function poll(mine) {
    if (mine !== generation) {
      return;
    }
    try {
      const [builds, summary] = await Promise.all([
        apiJson("/v1/farm/builds?limit=" + RECENT_LIMIT),
        apiJson("/v1/farm/summary"),
      ]);
      if (mine !== generation) {
        return; // asked with a token that has since been replaced
      }
      renderBuilds($("running-builds").tBodies[0], builds.running, builds.now, "nothing running");
      renderBuilds($("recent-builds").tBodies[0], builds.recent, builds.now, "no builds yet");
      renderSummary(summary);
      await refreshDetail();
      setStatus("updated " + new Date().toLocaleTimeString());
      document.body.dataset.loaded = "true";
    } catch (e) {
      setStatus(e.message);
    }
    if (mine === generation) {
      pollTimer = setTimeout(() => poll(mine), POLL_MILLIS);
    }
  }

  /** (Re)starts with the current token: nothing another token showed stays on the page. */
  function start() {
    clearTimeout(pollTimer);
    generation++;
    if (logFollow) {
      logFollow.abort();
      logFollow = null;
    }
    selectedBuild = null;
    $("build-detail").hidden = true;
    $("running-builds").tBodies[0].replaceChildren();
    $("recent-builds").tBodies[0].replaceChildren();
    $("scope").textContent = "";
    document.querySelectorAll("#summary dd").forEach((dd) => {
      dd.textContent = "–";
    });
    if (!token) {
      setStatus("enter a token to see builds");
      return;
    }
    poll(generation);
  }

  document.addEventListener("DOMContentLoaded", () => {
    token = takeTokenFromFragment();
    $("token-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const typed = $("token").value.trim();
      if (typed) {
        sessionStorage.setItem(TOKEN_KEY, typed);
        token = typed;
        $("token").value = "";
        start();
      }
    });
    $("forget-token").addEventListener("click", () => {
      sessionStorage.removeItem(TOKEN_KEY);
      token = null;
      start();
    });
    start();
  });

  // For the browser test and the console: the same rendering the page uses.
  window.kilnDashboard = { appendLogLine, renderBuilds, handleEvent, cacheStatus };
})();
