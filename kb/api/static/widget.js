/* RTC troubleshooting widget: a search box for help-centre pages.
 *
 *   <script src="https://kb.example.com/widget.js" data-lang="zh" data-scenario="voice-room"
 *           data-platform="android" data-target="#kb-help"></script>
 *
 * No dependencies. Everything lives in a shadow root so the host page's CSS does not leak in.
 * Data from the API is inserted with textContent; the only HTML inserted is the article HTML
 * the API renders with raw HTML disabled (markdown-it), and it is sanitised again here.
 */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var cfg = script.dataset || {};
  var api = (cfg.api || new URL(script.src, location.href).origin).replace(/\/$/, "");
  var lang = cfg.lang || "";
  var T = {
    en: { placeholder: "Describe the problem, e.g. viewers hear an echo", search: "Search",
          fix: "Fix", verify: "Verify", full: "Open the full article", helpful: "Was this helpful?",
          yes: "Yes", no: "No", thanks: "Thanks for the feedback.", maybe: "Maybe:",
          searching: "Searching…", failed: "Search is unavailable right now." },
    zh: { placeholder: "描述问题，例如：连麦时观众听到回声", search: "搜索", fix: "解决方法",
          verify: "验证", full: "打开完整文章", helpful: "这个回答有帮助吗？", yes: "有帮助",
          no: "没有帮助", thanks: "感谢反馈。", maybe: "可能相关：", searching: "正在搜索…",
          failed: "搜索暂时不可用。" }
  };
  function t(key, l) { return (T[l] || T.en)[key]; }

  var host = document.createElement("div");
  host.className = "kb-widget";
  var target = cfg.target ? document.querySelector(cfg.target) : null;
  if (target) target.appendChild(host); else script.parentNode.insertBefore(host, script);
  var root = host.attachShadow({ mode: "open" });

  var style = document.createElement("style");
  style.textContent = [
    ":host{all:initial;display:block;font:15px/1.5 system-ui,sans-serif;color:#1f2328}",
    "form{display:flex;gap:8px}",
    "input{flex:1;padding:8px 10px;border:1px solid #8c959f;border-radius:6px;font:inherit}",
    "button{padding:8px 14px;border:0;border-radius:6px;background:#0969da;color:#fff;",
    "font:inherit;cursor:pointer}",
    "button.secondary{background:#eaeef2;color:#1f2328}",
    ".answer{margin-top:12px;padding:12px;border:1px solid #d0d7de;border-radius:8px}",
    ".title{font-size:17px;font-weight:600;margin:0 0 4px}",
    ".match{font-size:12px;padding:1px 6px;border-radius:10px;background:#eaeef2}",
    "h4{margin:10px 0 2px}.muted{color:#57606a}.feedback{margin-top:10px;display:flex;",
    "gap:8px;align-items:center}a{color:#0969da}",
    "table{display:block;overflow-x:auto;border-collapse:collapse;font-size:13px}",
    "th,td{border:1px solid #d0d7de;padding:2px 6px;text-align:left;vertical-align:top}"
  ].join("");
  root.appendChild(style);

  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function safeUrl(url) {
    try {
      var u = new URL(url, api);
      return u.protocol === "https:" || u.protocol === "http:" ? u.href : null;
    } catch (e) { return null; }
  }
  // Defence in depth for the one HTML we insert: keep a small set of tags, no attributes but
  // http(s) hrefs, so even a changed server cannot run script here.
  var ALLOWED = { P: 1, OL: 1, UL: 1, LI: 1, STRONG: 1, EM: 1, CODE: 1, PRE: 1, A: 1, BR: 1,
                  BLOCKQUOTE: 1, TABLE: 1, THEAD: 1, TBODY: 1, TR: 1, TH: 1, TD: 1 };
  function sanitisedFragment(html) {
    var doc = new DOMParser().parseFromString(html, "text/html");
    var out = document.createDocumentFragment();
    function copy(src, dst) {
      src.childNodes.forEach(function (n) {
        if (n.nodeType === 3) { dst.appendChild(document.createTextNode(n.nodeValue)); return; }
        if (n.nodeType !== 1) return;
        if (!ALLOWED[n.tagName]) { copy(n, dst); return; }
        var clean = document.createElement(n.tagName.toLowerCase());
        if (n.tagName === "A") {
          var href = safeUrl(n.getAttribute("href") || "");
          if (href) { clean.setAttribute("href", href); clean.setAttribute("target", "_blank");
                      clean.setAttribute("rel", "noopener noreferrer"); }
        }
        copy(n, clean);
        dst.appendChild(clean);
      });
    }
    copy(doc.body, out);
    return out;
  }
  function getJson(path) {
    return fetch(api + path, { headers: { Accept: "application/json" } }).then(function (r) {
      if (!r.ok) throw new Error("HTTP " + r.status);
      return r.json();
    });
  }

  var form = el("form", { role: "search" });
  var input = el("input", { type: "search", name: "q", "aria-label": t("search", lang),
                            placeholder: t("placeholder", lang), maxlength: "500" });
  var button = el("button", { type: "submit" }, t("search", lang));
  form.appendChild(input); form.appendChild(button);
  var out = el("div", { class: "answer", hidden: "", "aria-live": "polite" });
  root.appendChild(form); root.appendChild(out);

  function section(article, key) {
    return (article.sections || []).filter(function (s) { return s.key === key; })[0];
  }
  function feedbackRow(searchId, l) {
    var row = el("div", { class: "feedback" });
    row.appendChild(el("span", { class: "muted" }, t("helpful", l)));
    [["yes", true], ["no", false]].forEach(function (pair) {
      var b = el("button", { type: "button", class: "secondary", "data-helpful": pair[0] },
                 t(pair[0], l));
      b.addEventListener("click", function () {
        fetch(api + "/v1/feedback", { method: "POST", headers: { "Content-Type":
              "application/json" }, body: JSON.stringify({ search_id: searchId,
              helpful: pair[1] }) }).then(function () {
          row.textContent = ""; row.appendChild(el("span", { class: "thanks" }, t("thanks", l)));
        });
      });
      row.appendChild(b);
    });
    return row;
  }
  function show(result, article) {
    var l = result.lang;
    out.textContent = "";
    out.hidden = false;
    if (!result.confident || !article) {
      out.appendChild(el("p", { class: "guidance" }, result.guidance || ""));
      if ((result.maybe || []).length) {
        out.appendChild(el("p", { class: "muted" }, t("maybe", l)));
        var list = el("ul");
        result.maybe.forEach(function (m) {
          var li = el("li"); var href = safeUrl(m.url);
          var a = el("a", href ? { href: href, target: "_blank", rel: "noopener noreferrer" }
                     : {}, m.title);
          li.appendChild(a); list.appendChild(li);
        });
        out.appendChild(list);
      }
    } else {
      var title = el("p", { class: "title" }, article.title);
      title.appendChild(document.createTextNode(" "));
      title.appendChild(el("span", { class: "match" }, result.match));
      out.appendChild(title);
      ["fix", "verify"].forEach(function (key) {
        var s = section(article, key);
        if (!s) return;
        out.appendChild(el("h4", {}, t(key, l)));
        var body = el("div", { class: key });
        body.appendChild(sanitisedFragment(s.html));
        out.appendChild(body);
      });
      var href = safeUrl(article.url);
      if (href) {
        out.appendChild(el("a", { class: "full", href: href, target: "_blank",
                                  rel: "noopener noreferrer" }, t("full", l)));
      }
    }
    if (result.search_id !== null && result.search_id !== undefined) {
      out.appendChild(feedbackRow(result.search_id, l));
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var q = input.value.trim();
    if (!q) return;
    var params = new URLSearchParams({ q: q, top_k: "3" });
    if (lang) params.set("lang", lang);
    if (cfg.scenario) params.set("scenario", cfg.scenario);
    if (cfg.platform) params.set("platform", cfg.platform);
    out.hidden = false;
    out.textContent = t("searching", lang || "en");
    getJson("/v1/search?" + params).then(function (result) {
      var top = result.results && result.results[0];
      if (!result.confident || !top) return show(result, null);
      return getJson("/v1/articles/" + encodeURIComponent(top.id) + "?lang=" + top.lang)
        .then(function (article) { show(result, article); });
    }).catch(function () { out.textContent = t("failed", lang || "en"); });
  });
})();
